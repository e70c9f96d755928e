//! Triggers and automations: rules of conditions and actions that a team's tickets run
//! through, on an event or once a ticket has waited in a state long enough.
//!
//! A rule acts as the desk's automation account with the rights of an agent of its
//! team, as Cedar decides them: it cannot read or change what that team cannot, and
//! everything it does goes through the same use cases (and audit entries) as a
//! person's change. Runs are queued in the database — by the `automation` subscriber
//! for events, by [`Desk::sweep_automations`] for waits — at most one per rule and
//! cause, and made by [`Desk::run_rules`] after the change that caused them has
//! committed, so a failing rule never holds that change up. The rules whose changes
//! led to an event travel with it: a rule never runs again on its own change, and a
//! chain of rules stops after [`MAX_CHAIN`].

mod assignment;
mod rules;
mod runner;
mod team_mail;
mod triggers;

use palisade_core::{EmailAddress, Principal, Role, TeamId, UserId};
use palisade_store::{NewUser, StoreError};

pub(crate) use assignment::valid_assignment;
pub use assignment::{ASSIGNMENT_MODES, MAX_ASSIGN_CAP};
pub use rules::{
    MAX_RULE_TAGS, MAX_RULES, MAX_WAIT_MINUTES, RuleActions, RuleBody, RuleConditions, RuleDefinition,
    RuleWhen, TRIGGER_EVENTS, WAIT_STATES, body_of,
};
pub use team_mail::{
    ACK_PLACEHOLDERS, MAX_ACK_CHARS, SURVEY_PLACEHOLDERS, ack_text, survey_text, valid_ack_texts,
    valid_survey_texts,
};
pub use triggers::Triggers;

use crate::{Desk, ServiceError};

/// Rules in a row whose changes may cause one another before the chain stops.
pub const MAX_CHAIN: usize = 3;

/// The address of the desk's automation account: never a mailbox (`.invalid` is
/// reserved), so nobody can sign in as it or receive its password mail.
pub const AUTOMATION_EMAIL: &str = "automation@palisade.invalid";

tokio::task_local! {
    /// The rules whose run is making the current change, first to last.
    pub(crate) static RULE_CHAIN: Vec<String>;
}

/// The rules that led to the change being recorded now (empty outside a rule's run).
pub(crate) fn current_chain() -> Vec<String> {
    RULE_CHAIN.try_with(Clone::clone).unwrap_or_default()
}

/// Who a rule of `team` acts as: the automation account, with an agent's rights in
/// that team and nowhere else.
pub(crate) fn rule_principal(automaton: &UserId, team: &TeamId) -> Principal {
    Principal {
        user_id: automaton.clone(),
        role: Role::Agent,
        teams: vec![team.clone()],
        company: None,
        session: None,
        scopes: None,
    }
}

/// The automation account as found: a disabled agent, or something is wrong and no
/// rule runs (its address is reserved, so nobody else can hold it).
fn desk_account(user: palisade_store::UserRecord) -> Result<UserId, ServiceError> {
    if user.role == Role::Agent && user.disabled {
        Ok(user.id)
    } else {
        Err(ServiceError::Unavailable(
            "the automation account is not a disabled agent",
        ))
    }
}

impl Desk {
    /// The automation account that rules' replies and notes are written by: created
    /// on first use, disabled from the start (it never signs in; rules are given its
    /// principal directly).
    pub async fn automaton(&self) -> Result<UserId, ServiceError> {
        let email = EmailAddress::parse(AUTOMATION_EMAIL)?;
        if let Some(user) = self.store.find_user_by_email(&email).await? {
            return desk_account(user);
        }
        let mut tx = self.store.begin().await?;
        let created = self
            .store
            .create_system_user(
                &mut tx,
                &NewUser {
                    role: Role::Agent,
                    email: email.clone(),
                    name: "Automation".to_owned(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await;
        match created {
            Ok(id) => {
                self.store.set_user_disabled(&mut tx, &id, true).await?;
                tx.commit().await?;
                Ok(id)
            }
            // Another node made it first.
            Err(StoreError::Conflict) => {
                drop(tx);
                match self.store.find_user_by_email(&email).await? {
                    Some(user) => desk_account(user),
                    None => Err(ServiceError::Store(StoreError::NotFound)),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
