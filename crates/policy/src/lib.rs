//! The one place access is decided. [`PolicyEngine::authorize`] evaluates the Cedar
//! policies in `cedar/` (validated against `cedar/palisade.cedarschema` at start-up)
//! for a principal, an [`Action`] and a [`Resource`], and denies by default: a missing
//! policy, a validation problem or an evaluation error all come back as a denial.

mod action;
mod audience;
mod engine;
mod error;
mod resource;

pub use action::Action;
pub use audience::AudienceFilter;
pub use engine::{Authorized, PolicyEngine, Reader};
pub use error::PolicyError;
pub use resource::{ArticleFacts, MacroFacts, Resource, ResourceKind, TicketFacts, UserFacts, ViewFacts};
