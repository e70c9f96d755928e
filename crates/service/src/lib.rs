//! Palisade's use cases: the one home of every change to tickets (and, as they move
//! here, everything else) and of the reads that need a decision. Each use case
//! validates its input against one set of limits, begins the transaction, loads the
//! facts inside it, asks Cedar (through [`Desk::authorize`], which audits every
//! denial), writes, appends the audit entry, records the domain event and lets the
//! in-transaction [`Reaction`]s act on it, then commits. `web`, `mail`, `assist` and
//! `cli` are adapters: they parse and authenticate, call a use case and map its answer.

mod actor;
mod authz;
mod error;
mod events;
mod text;
mod tickets;

use std::sync::Arc;

use palisade_policy::PolicyEngine;
use palisade_store::Store;

pub use actor::{Actor, Channel};
pub use error::ServiceError;
pub use events::{Happened, Reaction, ReactionFuture};
pub use text::{MAX_BODY_CHARS, MAX_SUBJECT_CHARS, Redacted, Redactor, validate_text};
pub use tickets::{OpenTicket, Opened, TicketDetail};

/// The use cases, over one store and one policy engine.
#[derive(Clone)]
pub struct Desk {
    store: Store,
    policy: Arc<PolicyEngine>,
    redactor: Arc<dyn Redactor>,
    reactions: Vec<Arc<dyn Reaction>>,
}

impl Desk {
    pub fn new(store: Store, policy: Arc<PolicyEngine>, redactor: Arc<dyn Redactor>) -> Self {
        Self {
            store,
            policy,
            redactor,
            reactions: Vec::new(),
        }
    }

    /// Adds something that acts on every change inside its transaction (ticket mail).
    pub fn with_reaction(mut self, reaction: Arc<dyn Reaction>) -> Self {
        self.reactions.push(reaction);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &PolicyEngine {
        &self.policy
    }
}
