//! Email: for now the outbound half — composing messages from what other crates
//! queued, and the outbox worker that delivers them to the configured relay over
//! verified TLS, retrying with back-off and never sending one message from two nodes
//! at once. (The inbound SMTP listener, strict parsing and sender verdicts come here
//! too.)

mod compose;
mod error;
mod outbox;
mod smtp_client;

pub use compose::compose;
pub use error::MailError;
pub use outbox::{OutboxWorker, RelaySettings, RelayTls};
