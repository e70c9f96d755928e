//! The web crate's integration tests, through the real router, on SQLite and PostgreSQL.
//! One binary for the crate's integration tests: the server is linked once, not once
//! per file. Each module is one concern; `common` holds the shared fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

mod abuse;
mod admin_area;
mod anomaly;
mod api_tokens;
mod article_files;
mod assistant;
mod assistant_model;
mod bulk;
mod collaborators;
mod company_sharing;
mod custom_fields;
mod customer_merge;
mod customers_pages;
mod factor_reset;
mod hardening;
mod health;
mod help_centre;
mod isolation;
mod languages;
mod macros;
mod masking;
mod merging;
mod mfa;
mod notices;
mod notifications;
mod oauth;
mod operations;
mod originals;
mod passkeys;
mod presence;
mod previews;
mod privacy;
mod quarantine;
mod redaction;
mod redaction_reach;
mod reply_files;
mod reports;
mod reset;
mod retention;
mod route_matrix;
mod routing;
mod rules;
mod runtime_settings;
mod satisfaction;
mod saved_views;
mod scanning;
mod search_reach;
mod service_levels;
mod sessions;
mod sso;
mod subject_access;
mod ticket_fields;
mod ticket_mail;
mod webhooks;
mod widget;
mod working_queue;
