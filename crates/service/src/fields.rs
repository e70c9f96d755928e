//! Custom ticket fields: administrators define them; staff who may change a ticket set
//! their values, validated here on every write; customers see only the fields marked
//! for them; a ticket is not solved while a required field is empty.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{CustomFieldId, TicketStatus};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use palisade_store::{FieldDefinition, FieldKind, FieldRecord, TicketRecord};
use serde_json::json;

use crate::{Actor, Desk, Happened, ServiceError, validate_line, validate_text};

pub const MAX_FIELD_LABEL_CHARS: usize = 100;
pub const MAX_FIELD_OPTIONS: usize = 50;
pub const MAX_FIELD_TEXT_CHARS: usize = 500;
/// The machine name of a field, as the API and filters name it.
pub const FIELD_KEY_PATTERN: &str = "^[a-z][a-z0-9_]{0,39}$";
pub const FIELD_NUMBER_PATTERN: &str = "^-?[0-9]{1,15}(\\.[0-9]{1,6})?$";

/// A field and a ticket's value of it, as one reader may see them.
#[derive(Clone, Debug)]
pub struct FieldValue {
    pub field: FieldRecord,
    pub value: Option<String>,
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn valid_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits =
        |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole, 15) && fraction.is_none_or(|f| all_digits(f, 6))
}

/// One spelling per number, so an exact filter (or a personal field's blind index)
/// finds "007", "7.0" and "7" alike: no leading zeros, no trailing fraction zeros,
/// no negative zero. `value` is already a valid number.
fn canonical_number(value: &str) -> String {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let magnitude = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    if negative && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

fn valid_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (year.parse::<u32>(), month.parse::<u32>(), day.parse::<u32>())
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// A definition as it may be stored: key, label and options checked, and nothing a
/// kind cannot have.
pub fn validate_definition(definition: FieldDefinition) -> Result<FieldDefinition, ServiceError> {
    if !valid_key(&definition.key) {
        return Err(ServiceError::invalid("refusal-field-key"));
    }
    let label = validate_line("label", &definition.label, MAX_FIELD_LABEL_CHARS)?;
    let mut options = Vec::new();
    for given in &definition.options {
        let option = validate_line("option", given, MAX_FIELD_LABEL_CHARS)?;
        // An option is stored as given, so a value sent later matches it exactly.
        if option != *given {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-field-option-space").with("option", given.as_str()),
            ));
        }
        if options.contains(&option) {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-field-option-twice").with("option", option),
            ));
        }
        options.push(option);
    }
    match definition.kind {
        FieldKind::Dropdown if options.is_empty() || options.len() > MAX_FIELD_OPTIONS => {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-field-options-count").with("max", MAX_FIELD_OPTIONS),
            ));
        }
        FieldKind::Dropdown => {}
        _ if !options.is_empty() => {
            return Err(ServiceError::invalid("refusal-field-options-kind"));
        }
        _ => {}
    }
    // A handful of choices behind a blind index would be no secret at all.
    if definition.personal && matches!(definition.kind, FieldKind::Dropdown | FieldKind::Checkbox) {
        return Err(ServiceError::invalid("refusal-field-personal-kind"));
    }
    Ok(FieldDefinition {
        label,
        options,
        ..definition
    })
}

/// A value as it is stored for `field`, or why it is refused.
pub fn validate_value(field: &FieldRecord, raw: &str) -> Result<String, ServiceError> {
    let label = &field.definition.label;
    let value = raw.trim();
    let refuse = |why: &'static str| {
        Err(ServiceError::Invalid(
            Refusal::new(why).with("field", label.as_str()),
        ))
    };
    match field.definition.kind {
        FieldKind::Text => validate_text(label, value, MAX_FIELD_TEXT_CHARS),
        FieldKind::Number if valid_number(value) => Ok(canonical_number(value)),
        FieldKind::Number => refuse("refusal-field-number"),
        FieldKind::Date if valid_date(value) => Ok(value.to_owned()),
        FieldKind::Date => refuse("refusal-field-date"),
        FieldKind::Dropdown if field.definition.options.iter().any(|o| o == value) => Ok(value.to_owned()),
        FieldKind::Dropdown => refuse("refusal-field-choice"),
        FieldKind::Checkbox if value == "true" || value == "false" => Ok(value.to_owned()),
        FieldKind::Checkbox => refuse("refusal-field-checkbox"),
    }
}

impl Desk {
    /// The fields in use that the actor may know of: all of them for staff, the ones
    /// shown to customers for customers.
    pub async fn fields_for(&self, actor: &Actor) -> Result<Vec<FieldRecord>, ServiceError> {
        let staff = self.sees_workspace(&actor.principal);
        let mut fields = self.store.fields().await?;
        fields.retain(|f| staff || f.definition.customer_visible);
        Ok(fields)
    }

    /// The fields in use, for the administrators who define them (the settings page).
    pub async fn field_settings(&self, actor: &Actor) -> Result<Vec<FieldRecord>, ServiceError> {
        self.authorize(actor, Action::ManageFields, &Resource::Directory)
            .await?;
        Ok(self.store.fields().await?)
    }

    pub async fn create_field(
        &self,
        actor: &Actor,
        definition: FieldDefinition,
    ) -> Result<FieldRecord, ServiceError> {
        self.authorize(actor, Action::ManageFields, &Resource::Directory)
            .await?;
        let definition = validate_definition(definition)?;
        let mut tx = self.store.begin().await?;
        let id = self
            .store
            .create_field(&mut tx, &definition)
            .await
            .map_err(|e| match e {
                palisade_store::StoreError::Conflict => ServiceError::Conflict(
                    Refusal::new("refusal-field-key-taken").with("key", definition.key.as_str()),
                ),
                other => other.into(),
            })?;
        let event = AuditEvent::new(AuditAction::CustomFieldCreated, id.to_string(), Outcome::Success)
            .with_detail(definition_json(&definition));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.field(&id).await?)
    }

    /// Changes a field's label, options, and whether it is required or shown to
    /// customers; its key, kind and personal marking are fixed at creation.
    pub async fn update_field(
        &self,
        actor: &Actor,
        raw_id: &str,
        change: FieldDefinition,
    ) -> Result<FieldRecord, ServiceError> {
        self.authorize(actor, Action::ManageFields, &Resource::Directory)
            .await?;
        let id = CustomFieldId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let current = self.store.field(&id).await?;
        let fixed = &current.definition;
        // Whether the options fit depends on the stored kind: a conflict with the
        // field as it is, not a malformed request.
        let change = validate_definition(FieldDefinition {
            key: fixed.key.clone(),
            kind: fixed.kind,
            personal: fixed.personal,
            ..change
        })
        .map_err(conflict)?;
        let mut tx = self.store.begin().await?;
        self.store.update_field(&mut tx, &id, &change).await?;
        let event = AuditEvent::new(AuditAction::CustomFieldUpdated, id.to_string(), Outcome::Success)
            .with_detail(definition_json(&change));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.field(&id).await?)
    }

    /// Retires a field (its values stay in the tickets' history).
    pub async fn archive_field(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageFields, &Resource::Directory)
            .await?;
        let id = CustomFieldId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store.archive_field(&mut tx, &id).await?;
        let event = AuditEvent::new(AuditAction::CustomFieldArchived, id.to_string(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The fields of a ticket the actor has read, with its values: every field in use
    /// for those who read its internal side, the customer-visible ones for the others.
    pub async fn ticket_fields(
        &self,
        actor: &Actor,
        ticket: &TicketRecord,
    ) -> Result<Vec<FieldValue>, ServiceError> {
        let resource = Resource::Ticket(ticket.facts());
        if !self.permits(&actor.principal, Action::TicketRead, &resource) {
            return Err(ServiceError::NotFound);
        }
        let internal = self.permits(&actor.principal, Action::TicketReadInternal, &resource);
        let values = self.store.field_values(ticket).await?;
        let mut fields = self.store.fields().await?;
        fields.retain(|f| internal || f.definition.customer_visible);
        Ok(fields
            .into_iter()
            .map(|field| {
                let value = values
                    .iter()
                    .find(|(id, _)| *id == field.id)
                    .map(|(_, v)| v.clone());
                FieldValue { field, value }
            })
            .collect())
    }

    /// Sets a ticket's field values by key (`None` clears one), all or none: every
    /// value is validated first. `based_on` is the version the caller saw, as for
    /// [`Desk::update_ticket`].
    pub async fn set_ticket_fields(
        &self,
        actor: &Actor,
        raw_id: &str,
        values: &[(String, Option<String>)],
        based_on: Option<i64>,
    ) -> Result<TicketRecord, ServiceError> {
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self.ticket_in(tx, actor, raw_id, Action::TicketSetFields).await?;
        let fields = self.store.fields().await?;
        let current = self.store.field_values(&ticket).await?;
        let mut changes = Vec::new();
        for (key, raw) in values {
            // Which fields exist and what each takes is the desk's state: a value that
            // does not fit conflicts with it (409), like a reference to nothing.
            let Some(field) = fields.iter().find(|f| f.definition.key == *key) else {
                return Err(ServiceError::Conflict(
                    Refusal::new("refusal-no-field").with("key", key),
                ));
            };
            let value = raw
                .as_deref()
                .map(|v| validate_value(field, v))
                .transpose()
                .map_err(conflict)?;
            let now = current.iter().find(|(id, _)| *id == field.id).map(|(_, v)| v);
            if value.as_ref() != now {
                changes.push((field, value));
            }
        }
        if based_on.is_some_and(|seen| seen != ticket.version) {
            return Err(ServiceError::Stale(Box::new(ticket)));
        }
        if changes.is_empty() {
            return Ok(ticket);
        }
        self.store
            .set_field_values(&mut tx, &proof, &ticket, &changes)
            .await?;
        let updated = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        // Which fields changed, never their values: personal ones stay out of the trail.
        let keys: Vec<&str> = changes.iter().map(|(f, _)| f.definition.key.as_str()).collect();
        let detail = json!({ "fields": keys, "version": updated.version, "channel": actor.channel.as_str() });
        let audit = AuditEvent::new(
            AuditAction::TicketFieldsChanged,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail.clone());
        let happened = Happened {
            kind: "ticket.fields_changed",
            actor,
            ticket: &updated,
            message: None,
            detail,
        };
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Refuses solving or closing a ticket while a required field is empty.
    /// A field value a desk setting may hold in clear (a condition, an action): the
    /// field exists, is not personal (its value would sit unsealed in the setting)
    /// and the value fits it. Each is the desk's state, so a miss is a conflict.
    pub(crate) async fn public_field_value(
        &self,
        key: &str,
        value: &str,
    ) -> Result<(String, String), ServiceError> {
        let fields = self.store.fields().await?;
        let Some(field) = fields.iter().find(|f| f.definition.key == key) else {
            return Err(ServiceError::Conflict(
                Refusal::new("refusal-no-field").with("key", key),
            ));
        };
        if field.definition.personal {
            return Err(ServiceError::conflict("refusal-sla-personal-field"));
        }
        let value = validate_value(field, value).map_err(|e| match e {
            ServiceError::Invalid(why) => ServiceError::Conflict(why),
            other => other,
        })?;
        Ok((key.to_owned(), value))
    }

    pub(crate) async fn require_fields_to_solve(
        &self,
        ticket: &TicketRecord,
        status: Option<TicketStatus>,
    ) -> Result<(), ServiceError> {
        if !matches!(status, Some(TicketStatus::Solved | TicketStatus::Closed))
            || status == Some(ticket.status)
        {
            return Ok(());
        }
        let values = self.store.field_values(ticket).await?;
        let missing: Vec<String> = self
            .store
            .fields()
            .await?
            .into_iter()
            .filter(|f| f.definition.required && !values.iter().any(|(id, _)| *id == f.id))
            .map(|f| f.definition.label)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Conflict(
                Refusal::new("refusal-fields-required").with("list", missing.join(", ")),
            ))
        }
    }

    /// A view's filter on a field: its id and the key its value is matched by. Only
    /// fields the actor may see can filter, so nobody learns a hidden value by asking.
    pub async fn field_filter(
        &self,
        actor: &Actor,
        key: &str,
        value: &str,
    ) -> Result<(CustomFieldId, String), ServiceError> {
        let fields = self.fields_for(actor).await?;
        let Some(field) = fields.iter().find(|f| f.definition.key == key) else {
            return Err(ServiceError::Conflict(
                Refusal::new("refusal-no-field").with("key", key),
            ));
        };
        let value = validate_value(field, value).map_err(conflict)?;
        Ok((field.id.clone(), self.store.field_match_key(field, &value)))
    }
}

fn conflict(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Invalid(why) => ServiceError::Conflict(why),
        other => other,
    }
}

fn definition_json(definition: &FieldDefinition) -> serde_json::Value {
    json!({
        "key": definition.key,
        "label": definition.label,
        "kind": definition.kind.as_str(),
        "options": definition.options,
        "required": definition.required,
        "customer_visible": definition.customer_visible,
        "personal": definition.personal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, options: &[&str]) -> FieldRecord {
        FieldRecord {
            id: CustomFieldId::generate(),
            definition: FieldDefinition {
                key: "f".into(),
                label: "F".into(),
                kind,
                options: options.iter().map(|o| (*o).to_owned()).collect(),
                required: false,
                customer_visible: false,
                personal: false,
            },
            archived: false,
        }
    }

    #[test]
    fn values_are_checked_for_their_kind() {
        let number = field(FieldKind::Number, &[]);
        for good in ["0", "-12", "3.25", "123456789012345.123456"] {
            assert_eq!(validate_value(&number, good).unwrap(), good);
        }
        for (spelling, canonical) in [
            ("007", "7"),
            ("7.0", "7"),
            ("-0", "0"),
            ("-0.50", "-0.5"),
            ("0.000", "0"),
        ] {
            assert_eq!(
                validate_value(&number, spelling).unwrap(),
                canonical,
                "{spelling}"
            );
        }
        for bad in [
            "",
            "1e5",
            "1.",
            ".5",
            "--1",
            "1.1234567",
            "NaN",
            "0x10",
            "1234567890123456",
        ] {
            assert!(validate_value(&number, bad).is_err(), "{bad}");
        }
        let date = field(FieldKind::Date, &[]);
        for good in ["2024-02-29", "2026-12-31"] {
            assert!(validate_value(&date, good).is_ok(), "{good}");
        }
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-04-31",
            "today",
        ] {
            assert!(validate_value(&date, bad).is_err(), "{bad}");
        }
        let dropdown = field(FieldKind::Dropdown, &["Gold", "Silver"]);
        assert!(validate_value(&dropdown, "Gold").is_ok());
        assert!(validate_value(&dropdown, "gold").is_err());
        let checkbox = field(FieldKind::Checkbox, &[]);
        assert!(validate_value(&checkbox, "true").is_ok());
        assert!(validate_value(&checkbox, "yes").is_err());
        let text = field(FieldKind::Text, &[]);
        assert!(validate_value(&text, "a\u{0}b").is_err());
        assert!(validate_value(&text, &"x".repeat(MAX_FIELD_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn definitions_hold_only_what_their_kind_can() {
        let base = field(FieldKind::Text, &[]).definition;
        assert!(validate_definition(base.clone()).is_ok());
        for key in ["", "Plan", "1plan", "plan-tier", &"p".repeat(41)] {
            assert!(
                validate_definition(FieldDefinition {
                    key: key.into(),
                    ..base.clone()
                })
                .is_err(),
                "{key}"
            );
        }
        let options = vec!["A".to_owned()];
        assert!(
            validate_definition(FieldDefinition {
                options: options.clone(),
                ..base.clone()
            })
            .is_err()
        );
        let dropdown = FieldDefinition {
            kind: FieldKind::Dropdown,
            ..base.clone()
        };
        assert!(
            validate_definition(dropdown.clone()).is_err(),
            "a drop-down needs options"
        );
        assert!(
            validate_definition(FieldDefinition {
                options: options.clone(),
                ..dropdown.clone()
            })
            .is_ok()
        );
        let twice = vec!["A".to_owned(), "A".to_owned()];
        assert!(
            validate_definition(FieldDefinition {
                options: twice,
                ..dropdown.clone()
            })
            .is_err()
        );
        assert!(
            validate_definition(FieldDefinition {
                options,
                personal: true,
                ..dropdown
            })
            .is_err(),
            "a personal drop-down would be guessable from its index"
        );
    }
}
