//! What a delivery says, built when it is sent, from the event and the ticket as they
//! are then, and only as far as the endpoint's account may read: a ticket it cannot
//! read, or an internal note when it may not read those, is not sent at all.

use palisade_core::{Principal, Visibility};
use palisade_policy::{Action, Resource};
use palisade_store::{DomainEventRecord, Including, StoreError, TicketRecord};
use serde_json::{Value, json};

use crate::{Desk, ServiceError};

/// The keys of an event's detail a receiver is told: states and ids, never counts of
/// redactions or anything about how the desk treated the text.
const DETAIL_KEYS: [&str; 10] = [
    "from",
    "to",
    "priority",
    "type",
    "tags",
    "fields",
    "into",
    "into_number",
    "rating",
    "channel",
];

/// Why a delivery is not sent (it ends as skipped, with this reason).
pub(super) enum Withheld {
    Gone,
    NotReadable,
}

impl Withheld {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Self::Gone => "the ticket or message no longer exists",
            Self::NotReadable => {
                "not for this endpoint: its account may not read it, or it no longer asks for it"
            }
        }
    }
}

pub(super) fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Desk {
    /// The Standard Webhooks body (`type`, `timestamp`, `data`) for `event`, or why it
    /// is withheld from `principal`.
    pub(super) async fn webhook_payload(
        &self,
        principal: &Principal,
        event: &DomainEventRecord,
        ticket_id: &palisade_core::TicketId,
    ) -> Result<Result<Value, Withheld>, ServiceError> {
        let ticket = match self.store.get_ticket(ticket_id).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => return Ok(Err(Withheld::Gone)),
            Err(e) => return Err(e.into()),
        };
        if !self.permits(principal, Action::TicketRead, &Resource::Ticket(ticket.facts())) {
            return Ok(Err(Withheld::NotReadable));
        }
        let detail: Value = serde_json::from_str(&event.detail).unwrap_or(Value::Null);
        let mut data = json!({
            "ticket": ticket_json(&ticket),
            "actor": event.actor,
            "change": change_json(&detail),
        });
        if event.kind == "message.added" {
            match self.webhook_message(principal, &ticket, &detail).await? {
                Ok(message) => data["message"] = message,
                Err(withheld) => return Ok(Err(withheld)),
            }
        }
        Ok(Ok(json!({
            "type": event.kind,
            "timestamp": rfc3339(event.at.0),
            "data": data,
        })))
    }

    async fn webhook_message(
        &self,
        principal: &Principal,
        ticket: &TicketRecord,
        detail: &Value,
    ) -> Result<Result<Value, Withheld>, ServiceError> {
        let Some(id) = detail["message"].as_str() else {
            return Ok(Err(Withheld::Gone));
        };
        let internal = self.policy.authorize(
            principal,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        );
        let including = match &internal {
            Ok(proof) => Including::Internal(proof),
            Err(_) => Including::Public,
        };
        let messages = self.store.list_messages(ticket, including).await?;
        let Some(message) = messages.iter().find(|m| m.id.as_str() == id) else {
            // Erased, or an internal note this account may not read: the same answer.
            return Ok(Err(if detail["visibility"] == "internal" && internal.is_err() {
                Withheld::NotReadable
            } else {
                Withheld::Gone
            }));
        };
        Ok(Ok(json!({
            "id": message.id.to_string(),
            "author": message.author.to_string(),
            "visibility": match message.visibility {
                Visibility::Public => "public",
                Visibility::Internal => "internal",
            },
            "body": message.body,
            "created_at": rfc3339(message.created_at.0),
        })))
    }
}

fn ticket_json(ticket: &TicketRecord) -> Value {
    json!({
        "id": ticket.id.to_string(),
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.as_str(),
        "priority": ticket.priority.as_str(),
        "type": ticket.ticket_type.map(|t| t.as_str()),
        "team": ticket.team.to_string(),
        "assignee": ticket.assignee.as_ref().map(|u| u.to_string()),
        "requester": ticket.requester.to_string(),
        "tags": ticket.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "merged_into": ticket.merged_into.as_ref().map(|t| t.to_string()),
        "created_at": rfc3339(ticket.created_at.0),
        "updated_at": rfc3339(ticket.updated_at.0),
    })
}

fn change_json(detail: &Value) -> Value {
    let mut change = serde_json::Map::new();
    if let Some(object) = detail.as_object() {
        for key in DETAIL_KEYS {
            if let Some(value) = object.get(key) {
                change.insert(key.to_owned(), value.clone());
            }
        }
    }
    Value::Object(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_states_and_ids_of_a_change_are_told() {
        let detail = json!({ "from": "open", "to": "solved", "redacted": { "card": 1 }, "rules": ["rul_x"],
                             "verdict": "pass", "channel": "api" });
        assert_eq!(
            change_json(&detail),
            json!({ "from": "open", "to": "solved", "channel": "api" })
        );
        assert_eq!(change_json(&Value::Null), json!({}));
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
