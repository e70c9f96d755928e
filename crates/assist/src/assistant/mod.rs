//! The support assistant's decisions that need no I/O: what a message asks for
//! (`intent`), which articles answer it (`grounding`), the optional language model
//! (`model`) and the checks its drafts must pass (`vet`), and the notice a customer sees
//! before the first message. The web layer runs conversations with these, as the
//! conversation's own principal.

mod grounding;
mod intent;
pub mod model;
mod notices;
mod vet;

pub use grounding::{Passage, Thresholds, ground};
pub use intent::{Intent, Reading, SensitiveTopic, read};
pub use model::{ModelProvider, ModelReply, ModelRequest, ModelSettings, OpenAiCompatible, build_prompt};
pub use notices::{NOTICE_VERSIONS, NoticeVersion, current_notice, notice_version};
pub use vet::{Discard, VetContext, Vetted, quotable, vet};

/// Changes whenever [`NOTICE`] changes: consent is recorded against it.
pub const NOTICE_VERSION: &str = "2026-11-22";

/// Shown before the first message of every conversation.
pub const NOTICE: &str = "You are talking to an automated assistant, not a person. It answers from our \
help centre and can hand you over to our support team at any time. Support will never ask you for a \
password, a one-time code or a full card number, here or anywhere else; anything like that you type is \
removed before it is stored.";
