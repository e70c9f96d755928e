//! Storage scenarios on SQLite and PostgreSQL.
//! One binary for the crate's integration tests: the server is linked once, not once
//! per file. Each module is one concern; `common` holds the shared fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod audit_handover;
mod common;
mod conversations;
mod erasure;
mod limits;
mod readiness;
mod retention;
mod root_rotation;
mod rotation;
mod storage;
mod token_ids;
