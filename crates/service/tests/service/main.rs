//! The service layer's integration tests: its use cases on SQLite and PostgreSQL
//! (`desk`, `merged_mail`), the domain-event dispatcher (`dispatch`), and the layering it stands for, checked over the workspace's source
//! (`layering`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod desk;
mod dispatch;
mod layering;
mod merged_mail;
