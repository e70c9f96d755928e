//! Macros: canned replies and internal notes with changes to the ticket, personal or
//! shared (with every team or one), applied in one step. Applying one goes through
//! the ordinary use cases — the message, the fields, the tags — and every permission
//! they need is checked before any of them runs, so a macro either applies whole or
//! not at all, and can never do what its user could not do by hand.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{MacroId, Visibility};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use palisade_store::{MacroAssignee, MacroContent, MacroRecord, TicketRecord, TicketUpdate};
use serde_json::json;

use crate::{Actor, Desk, ServiceError, validate_text};

/// The placeholders a macro's text may use.
pub const MACRO_PLACEHOLDERS: [&str; 4] = [
    "{requester_name}",
    "{requester_first_name}",
    "{ticket_number}",
    "{agent_name}",
];

/// A macro the actor may use, and whether they may also change it.
#[derive(Clone, Debug)]
pub struct UsableMacro {
    pub record: MacroRecord,
    pub manageable: bool,
}

/// Braces in a macro's text only ever make one of [`MACRO_PLACEHOLDERS`]: a typo is
/// refused when the macro is saved, not sent to a customer.
pub(crate) fn check_placeholders(text: &str) -> Result<(), ServiceError> {
    check_placeholders_of(text, &MACRO_PLACEHOLDERS)
}

/// As [`check_placeholders`], for text that may use the placeholders in `known`.
pub(crate) fn check_placeholders_of(text: &str, known: &[&str]) -> Result<(), ServiceError> {
    let mut rest = text;
    while let Some(start) = rest.find(['{', '}']) {
        let after = &rest[start..];
        let name = after.find('}').map(|end| &after[..=end]);
        match name {
            Some(name) if after.starts_with('{') && known.contains(&name) => {
                rest = &after[name.len()..];
            }
            _ => {
                return Err(ServiceError::Invalid(
                    Refusal::new("refusal-macro-braces").with("list", known.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn render(text: &str, requester: &str, number: i64, agent: &str) -> String {
    let first = requester.split_whitespace().next().unwrap_or(requester);
    text.replace("{requester_first_name}", first)
        .replace("{requester_name}", requester)
        .replace("{ticket_number}", &number.to_string())
        .replace("{agent_name}", agent)
}

impl Desk {
    fn validate_macro(&self, content: &MacroContent) -> Result<MacroContent, ServiceError> {
        let mut content = content.clone();
        content.name = validate_text("name", &content.name, 100)?;
        if content.body.trim().is_empty() {
            content.body = String::new();
        } else {
            content.body = validate_text("body", &content.body, 20_000)?;
            check_placeholders(&content.body)?;
        }
        if content.add_tags.len() > 20 {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-tags-at-most").with("max", 20_i64),
            ));
        }
        if content.owner.is_some() && content.team.is_some() {
            return Err(ServiceError::invalid("refusal-macro-personal-team"));
        }
        Ok(content)
    }

    async fn teams_exist(&self, content: &MacroContent) -> Result<(), ServiceError> {
        for team in content.team.iter().chain(content.set_team.iter()) {
            self.store
                .get_team(team)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        }
        Ok(())
    }

    /// The macros the actor may use, by name.
    pub async fn usable_macros(&self, actor: &Actor) -> Result<Vec<UsableMacro>, ServiceError> {
        self.enter_workspace(actor).await?;
        Ok(self
            .store
            .list_macros()
            .await?
            .into_iter()
            .filter(|m| self.permits(&actor.principal, Action::MacroUse, &Resource::Macro(m.facts())))
            .map(|record| {
                let manageable = self.permits(
                    &actor.principal,
                    Action::MacroManage,
                    &Resource::Macro(record.facts()),
                );
                UsableMacro { record, manageable }
            })
            .collect())
    }

    /// A macro the actor may use; missing and not theirs are the same `NotFound`.
    async fn usable_macro(
        &self,
        actor: &Actor,
        raw_id: &str,
        action: Action,
    ) -> Result<MacroRecord, ServiceError> {
        let id = MacroId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let record = match self.store.get_macro(&id).await {
            Ok(r) => r,
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, action, id.as_str(), "not_found")
                    .await?;
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        let resource = Resource::Macro(record.facts());
        self.authorize(actor, Action::MacroUse, &resource)
            .await
            .map_err(|_| ServiceError::NotFound)?;
        if action != Action::MacroUse {
            self.authorize(actor, action, &resource).await?;
        }
        Ok(record)
    }

    pub async fn create_macro(
        &self,
        actor: &Actor,
        content: &MacroContent,
    ) -> Result<MacroRecord, ServiceError> {
        let content = self.validate_macro(content)?;
        let id = MacroId::generate();
        self.authorize(actor, Action::MacroManage, &Resource::Macro(content.facts(&id)))
            .await?;
        self.teams_exist(&content).await?;
        let mut tx = self.store.begin().await?;
        let id = self.store.create_macro(&mut tx, &content).await?;
        let event = AuditEvent::new(AuditAction::MacroCreated, id.to_string(), Outcome::Success)
            .with_detail(json!({ "shared": content.owner.is_none() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_macro(&id).await?)
    }

    /// Replaces a macro; the actor must be allowed to manage it as it was and as it
    /// will be (nobody turns a personal macro into a shared one without that right).
    pub async fn update_macro(
        &self,
        actor: &Actor,
        raw_id: &str,
        content: &MacroContent,
    ) -> Result<MacroRecord, ServiceError> {
        let existing = self.usable_macro(actor, raw_id, Action::MacroManage).await?;
        let content = self.validate_macro(content)?;
        self.authorize(
            actor,
            Action::MacroManage,
            &Resource::Macro(content.facts(&existing.id)),
        )
        .await?;
        self.teams_exist(&content).await?;
        let mut tx = self.store.begin().await?;
        self.store.update_macro(&mut tx, &existing.id, &content).await?;
        let event = AuditEvent::new(
            AuditAction::MacroUpdated,
            existing.id.to_string(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_macro(&existing.id).await?)
    }

    pub async fn delete_macro(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        let existing = self.usable_macro(actor, raw_id, Action::MacroManage).await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_macro(&mut tx, &existing.id).await?;
        let event = AuditEvent::new(
            AuditAction::MacroDeleted,
            existing.id.to_string(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a macro to a ticket: its text as a reply or note (placeholders filled
    /// in), then its changes. Everything it would do is authorised first.
    pub async fn apply_macro(
        &self,
        actor: &Actor,
        raw_ticket: &str,
        raw_macro: &str,
    ) -> Result<TicketRecord, ServiceError> {
        let (ticket, _) = self.readable_ticket(actor, raw_ticket).await?;
        let record = self.usable_macro(actor, raw_macro, Action::MacroUse).await?;
        let m = &record.content;
        let update = TicketUpdate {
            status: m.set_status,
            assignee: m.set_assignee.map(|a| match a {
                MacroAssignee::Me => Some(actor.principal.user_id.clone()),
                MacroAssignee::Nobody => None,
            }),
            team: m.set_team.clone(),
            priority: m.set_priority,
            ticket_type: m.set_type.map(Some),
        };
        let resource = Resource::Ticket(ticket.facts());
        let mut needed = Vec::new();
        if !m.body.is_empty() {
            needed.push(match m.visibility {
                Visibility::Public => Action::TicketReply,
                Visibility::Internal => Action::TicketNote,
            });
        }
        if update.status.is_some() {
            needed.push(Action::TicketSetStatus);
        }
        if update.priority.is_some() || update.ticket_type.is_some() {
            needed.push(Action::TicketClassify);
        }
        if update.assignee.is_some() || update.team.is_some() {
            needed.push(Action::TicketAssign);
        }
        if !m.add_tags.is_empty() {
            needed.push(Action::TicketTag);
        }
        for action in needed {
            self.authorize(actor, action, &resource).await?;
        }
        if let Some(team) = update.team.as_ref().filter(|t| **t != ticket.team) {
            self.authorize(actor, Action::TeamRouteTo, &Resource::Team(team.clone()))
                .await?;
        }
        // What the ticket's state may still refuse is checked before anything is
        // written, so a "reply and solve" macro never sends its reply to a ticket that
        // then stays open (a merged ticket, an empty required field).
        if ticket.merged_into.is_some() {
            return Err(crate::merged());
        }
        self.require_fields_to_solve(&ticket, update.status).await?;

        let id = ticket.id.to_string();
        if !m.body.is_empty() {
            let requester = self.store.get_user(&ticket.requester).await?;
            let agent = self.store.get_user(&actor.principal.user_id).await?;
            let text = render(&m.body, &requester.name, ticket.number, &agent.name);
            self.add_message(actor, &id, &text, m.visibility).await?;
        }
        if !update.is_empty() {
            self.update_ticket(actor, &id, update, None).await?;
        }
        if !m.add_tags.is_empty() {
            let (now, _) = self.readable_ticket(actor, &id).await?;
            let mut tags = now.tags.clone();
            for tag in &m.add_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            if tags != now.tags {
                self.set_tags(actor, &id, tags).await?;
            }
        }
        let event = AuditEvent::new(AuditAction::MacroApplied, id.clone(), Outcome::Success)
            .with_detail(json!({ "macro": record.id.to_string(), "channel": actor.channel.as_str() }));
        self.store.audit(&actor.audit, &event).await?;
        let (after, _) = self.readable_ticket(actor, &id).await?;
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_known_or_refused() {
        assert!(
            check_placeholders("Hi {requester_first_name}, ticket #{ticket_number}. {agent_name}").is_ok()
        );
        assert!(check_placeholders("no placeholders").is_ok());
        assert!(check_placeholders("Hi {requester.email}").is_err());
        assert!(check_placeholders("Hi {requester_name").is_err());
        assert!(check_placeholders("a } alone").is_err());
        assert!(check_placeholders("{}").is_err());
        assert_eq!(
            render(
                "Hi {requester_first_name} ({requester_name}), #{ticket_number} — {agent_name}",
                "Ann Lee",
                42,
                "Bo"
            ),
            "Hi Ann (Ann Lee), #42 — Bo"
        );
    }
}
