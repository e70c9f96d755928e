//! The mail crate's integration tests: the real listener, dnsmasq, swaks and the store on both backends.
//! One binary for the crate's integration tests: the server is linked once, not once
//! per file. Each module is one concern; `common` holds the shared fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

mod arc;
mod attachments;
mod bounces;
mod composition_kills;
mod concurrency;
mod html;
mod imap;
mod inbound;
mod listener;
mod lookalikes;
mod outbox;
mod redaction;
mod scanning;
mod threading;
mod verdict;
