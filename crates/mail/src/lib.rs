//! Email. Outbound: composing messages from what other crates queued, and the outbox
//! worker that delivers them to the configured relay over verified TLS, retrying with
//! back-off and never sending one message from two nodes at once. Inbound: the strict,
//! pure parsers of mail identities (`mailbox`) and received messages (`message`) that
//! every later decision (authentication, threading, display) relies on.

mod command;
mod compose;
mod data;
mod dkim;
mod dns_check;
mod error;
mod files;
mod imap;
mod inbound;
mod listener;
mod lookalike;
mod mailbox;
mod message;
mod notify;
mod outbox;
mod provider;
mod reception;
mod smtp_client;
mod threading;
mod tls;
mod verdict;

pub use command::{Command, CommandRejection, MAX_COMMAND_LINE, parse_command};
pub use compose::compose;
pub use data::{DataProgress, DataReader, FramingViolation};
pub use dkim::{DkimSettings, dkim_public_key, generate_dkim_key};
pub use dns_check::{Finding, Level, OwnDomainCheck, evaluate_dkim, evaluate_dmarc, evaluate_spf};
pub use error::MailError;
pub use files::{FileLimits, FilesRejection, clean_name, files_of};
pub use imap::{ImapAuth, ImapIntake, ImapMailbox, ImapRound, TAKEN as IMAP_TAKEN_KEYWORD};
pub use inbound::{Inbound, LOOKALIKE_TAG, RELEASED_TAG, Redact};
pub use listener::{ListenerSettings, SessionLimits, SmtpListener};
pub use lookalike::{Lookalike, LookalikeReason, lookalike};
pub use mailbox::{IdentityRejection, Mailbox, parse_from_header, parse_smtp_path};
pub use message::{HeaderField, MessageRejection, StrictMessage, check_line_endings, read_message};
pub use notify::{
    Delivery, MAIL_TICKET_ACK, MAIL_TICKET_REPLY, MAIL_TICKET_SURVEY, ReplyFiles, ReplyNotifier,
};
pub use outbox::{OutboxWorker, RelaySettings, RelayTls};
pub use provider::{ProviderTrust, provider_verdict};
pub use reception::{Accepted, Arrival, Deliver, DeliverFuture, Reception, RecordBounce, Reply};
pub use threading::{Placement, Recipient, ReplyKeys, Threading, place};
pub use verdict::{AuthMethod, Envelope, Findings, SenderVerifier, Verdict, aligned, arc_assertion};
