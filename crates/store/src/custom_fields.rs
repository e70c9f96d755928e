//! Custom ticket fields: their definitions, and each ticket's values. A personal
//! field's value is sealed under the ticket's data key (crypto-shredded with the
//! requester) and compared in filters through a keyed blind index only.

use palisade_core::{CustomFieldId, TicketId, UnixMillis};
use palisade_policy::{Action, Authorized};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keys::{open_text, seal};
use crate::{Store, StoreError, TicketRecord, Tx};

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the field's options.
    Dropdown,
    Checkbox,
}

impl FieldKind {
    pub const ALL: [FieldKind; 5] = [
        Self::Text,
        Self::Number,
        Self::Date,
        Self::Dropdown,
        Self::Checkbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Dropdown => "dropdown",
            Self::Checkbox => "checkbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A field as an administrator defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDefinition {
    /// Stable machine name (`^[a-z][a-z0-9_]*$`), used by the API and filters.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// The choices of a drop-down; empty for other kinds.
    pub options: Vec<String>,
    /// A ticket cannot be solved or closed while a required field is empty.
    pub required: bool,
    /// Customers see the value on their tickets; otherwise only staff who read the
    /// ticket's internal side do.
    pub customer_visible: bool,
    /// Personal data: sealed at rest and matched only by blind index.
    pub personal: bool,
}

#[derive(Clone, Debug)]
pub struct FieldRecord {
    pub id: CustomFieldId,
    pub definition: FieldDefinition,
    pub archived: bool,
}

const COLUMNS: &str =
    "id, field_key, label, kind, options, required, customer_visible, personal, archived_at";

fn field_from_row(row: &AnyRow) -> Result<FieldRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    let options: String = row.try_get("options")?;
    Ok(FieldRecord {
        id: CustomFieldId::parse(&row.try_get::<String, _>("id")?)?,
        definition: FieldDefinition {
            key: row.try_get("field_key")?,
            label: row.try_get("label")?,
            kind: FieldKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("field kind {kind}")))?,
            options: serde_json::from_str(&options)
                .map_err(|_| StoreError::Corrupt("field options".into()))?,
            required: row.try_get::<i64, _>("required")? != 0,
            customer_visible: row.try_get::<i64, _>("customer_visible")? != 0,
            personal: row.try_get::<i64, _>("personal")? != 0,
        },
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
    })
}

fn options_json(options: &[String]) -> String {
    serde_json::Value::from(options.to_vec()).to_string()
}

impl Store {
    pub async fn create_field(
        &self,
        tx: &mut Tx,
        definition: &FieldDefinition,
    ) -> Result<CustomFieldId, StoreError> {
        let id = CustomFieldId::generate();
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO custom_fields (id, field_key, label, kind, options, required, customer_visible, personal, \
             position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.as_str())
        .bind(&definition.key)
        .bind(&definition.label)
        .bind(definition.kind.as_str())
        .bind(options_json(&definition.options))
        .bind(i64::from(definition.required))
        .bind(i64::from(definition.customer_visible))
        .bind(i64::from(definition.personal))
        .bind(now)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    /// Changes what may change of a field: its label, options, and whether it is
    /// required or shown to customers (never its key, kind or personal marking).
    pub async fn update_field(
        &self,
        tx: &mut Tx,
        id: &CustomFieldId,
        change: &FieldDefinition,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE custom_fields SET label = $1, options = $2, required = $3, customer_visible = $4 \
             WHERE id = $5 AND archived_at IS NULL",
        )
        .bind(&change.label)
        .bind(options_json(&change.options))
        .bind(i64::from(change.required))
        .bind(i64::from(change.customer_visible))
        .bind(id.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Retires a field: no longer shown, set or required; values already written stay
    /// (they are part of the tickets' history).
    pub async fn archive_field(&self, tx: &mut Tx, id: &CustomFieldId) -> Result<(), StoreError> {
        let changed =
            sqlx::query("UPDATE custom_fields SET archived_at = $1 WHERE id = $2 AND archived_at IS NULL")
                .bind(UnixMillis::now().0)
                .bind(id.as_str())
                .execute(tx.conn())
                .await?
                .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The fields in use, in the order they were added.
    pub async fn fields(&self) -> Result<Vec<FieldRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM custom_fields WHERE archived_at IS NULL ORDER BY position, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(field_from_row).collect()
    }

    pub async fn field(&self, id: &CustomFieldId) -> Result<FieldRecord, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM custom_fields WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        field_from_row(&row)
    }

    /// What filters compare for `value` of `field`: the value, or its blind index for a
    /// personal field.
    pub fn field_match_key(&self, field: &FieldRecord, value: &str) -> String {
        if field.definition.personal {
            self.keys()
                .blind_index()
                .compute(&format!("custom_field.{}", field.id), value)
        } else {
            value.to_owned()
        }
    }

    /// The ticket's values, personal ones opened (every field, archived ones included;
    /// who may see which is the caller's decision).
    pub async fn field_values(
        &self,
        ticket: &TicketRecord,
    ) -> Result<Vec<(CustomFieldId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT field_id, value_key, value_enc FROM ticket_field_values WHERE ticket_id = $1 ORDER BY field_id",
        )
        .bind(ticket.id.as_str())
        .fetch_all(&self.read)
        .await?;
        let key = self.load_key(&ticket.data_key_id).await?;
        rows.iter()
            .map(|row| {
                let field = CustomFieldId::parse(&row.try_get::<String, _>("field_id")?)?;
                let sealed: Option<Vec<u8>> = row.try_get("value_enc")?;
                let value = match sealed {
                    Some(sealed) => open_text(
                        &key,
                        "ticket_field_values",
                        "value",
                        &value_row(&ticket.id, &field),
                        &sealed,
                    )?,
                    None => row.try_get("value_key")?,
                };
                Ok((field, value))
            })
            .collect()
    }

    /// Sets (or with `None` clears) a ticket's values of these fields, moving its
    /// version once; needs a `ticket.set_fields` proof for the ticket. The values are
    /// already validated.
    pub async fn set_field_values(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketRecord,
        values: &[(&FieldRecord, Option<String>)],
    ) -> Result<(), StoreError> {
        if !proof.covers(Action::TicketSetFields, ticket.id.as_str()) {
            return Err(StoreError::Unauthorized);
        }
        let key = self.load_key_tx(tx, &ticket.data_key_id).await?;
        for (field, value) in values {
            sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1 AND field_id = $2")
                .bind(ticket.id.as_str())
                .bind(field.id.as_str())
                .execute(tx.conn())
                .await?;
            let Some(value) = value else {
                continue;
            };
            let sealed = if field.definition.personal {
                let row = value_row(&ticket.id, &field.id);
                Some(seal(
                    &key,
                    "ticket_field_values",
                    "value",
                    &row,
                    value.as_bytes(),
                )?)
            } else {
                None
            };
            let fold = (!field.definition.personal).then(|| value.to_lowercase());
            sqlx::query(
                "INSERT INTO ticket_field_values (ticket_id, field_id, value_key, value_enc, value_fold) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(ticket.id.as_str())
            .bind(field.id.as_str())
            .bind(self.field_match_key(field, value))
            .bind(sealed)
            .bind(fold)
            .execute(tx.conn())
            .await?;
        }
        sqlx::query("UPDATE tickets SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(UnixMillis::now().0)
            .bind(ticket.id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Folds the non-personal values stored before values were folded (run at start;
    /// finds nothing once done).
    pub(crate) async fn fold_unfolded_field_values(&self) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, field_id, value_key FROM ticket_field_values \
             WHERE value_enc IS NULL AND value_fold IS NULL",
        )
        .fetch_all(&self.read)
        .await?;
        let mut tx = self.begin().await?;
        for row in &rows {
            let value: String = row.try_get("value_key")?;
            sqlx::query(
                "UPDATE ticket_field_values SET value_fold = $1 WHERE ticket_id = $2 AND field_id = $3",
            )
            .bind(value.to_lowercase())
            .bind(row.try_get::<String, _>("ticket_id")?)
            .bind(row.try_get::<String, _>("field_id")?)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }
}

/// The row a sealed value is bound to: its ticket and field.
pub(crate) fn value_row(ticket: &TicketId, field: &CustomFieldId) -> String {
    format!("{ticket}/{field}")
}
