//! Macros: stored as written; who may use or change one is the policies' decision,
//! taken by the caller on [`MacroRecord::facts`].

use palisade_core::{
    MacroId, Priority, TagName, TeamId, TicketStatus, TicketType, UnixMillis, UserId, Visibility,
};
use palisade_policy::MacroFacts;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

/// Whom a macro assigns the ticket to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacroAssignee {
    /// Whoever applies the macro.
    Me,
    Nobody,
}

impl MacroAssignee {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Me => "me",
            Self::Nobody => "nobody",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "me" => Some(Self::Me),
            "nobody" => Some(Self::Nobody),
            _ => None,
        }
    }
}

/// What a macro is and does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroContent {
    pub name: String,
    /// A personal macro's owner; `None` when shared.
    pub owner: Option<UserId>,
    /// A shared macro's team (`None`: every team).
    pub team: Option<TeamId>,
    /// The reply or note, with placeholders; empty when the macro only changes fields.
    pub body: String,
    pub visibility: Visibility,
    pub set_status: Option<TicketStatus>,
    pub set_priority: Option<Priority>,
    pub set_type: Option<TicketType>,
    pub set_assignee: Option<MacroAssignee>,
    pub set_team: Option<TeamId>,
    pub add_tags: Vec<TagName>,
}

#[derive(Clone, Debug)]
pub struct MacroRecord {
    pub id: MacroId,
    pub content: MacroContent,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

impl MacroRecord {
    pub fn facts(&self) -> MacroFacts {
        self.content.facts(&self.id)
    }
}

impl MacroContent {
    /// The facts the policies decide on, for a macro with this content under `id`.
    pub fn facts(&self, id: &MacroId) -> MacroFacts {
        MacroFacts {
            id: id.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
        }
    }
}

const COLUMNS: &str = "id, name, owner_id, team_id, body, visibility, set_status, set_priority, set_type, \
                       set_assignee, set_team, add_tags, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<MacroRecord, StoreError> {
    let opt = |column: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(column)?) };
    let tags: String = row.try_get("add_tags")?;
    Ok(MacroRecord {
        id: MacroId::parse(&row.try_get::<String, _>("id")?)?,
        content: MacroContent {
            name: row.try_get("name")?,
            owner: opt("owner_id")?.map(|u| UserId::parse(&u)).transpose()?,
            team: opt("team_id")?.map(|t| TeamId::parse(&t)).transpose()?,
            body: row.try_get("body")?,
            visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?)?,
            set_status: opt("set_status")?.map(|s| TicketStatus::parse(&s)).transpose()?,
            set_priority: opt("set_priority")?.map(|s| Priority::parse(&s)).transpose()?,
            set_type: opt("set_type")?.map(|s| TicketType::parse(&s)).transpose()?,
            set_assignee: opt("set_assignee")?
                .map(|s| MacroAssignee::parse(&s).ok_or_else(|| StoreError::Corrupt("macro assignee".into())))
                .transpose()?,
            set_team: opt("set_team")?.map(|t| TeamId::parse(&t)).transpose()?,
            add_tags: tags
                .split_whitespace()
                .map(TagName::parse)
                .collect::<Result<_, _>>()?,
        },
        created_at: UnixMillis(row.try_get("created_at")?),
        updated_at: UnixMillis(row.try_get("updated_at")?),
    })
}

fn tags_text(tags: &[TagName]) -> String {
    tags.iter().map(TagName::as_str).collect::<Vec<_>>().join(" ")
}

impl Store {
    pub async fn create_macro(&self, tx: &mut Tx, content: &MacroContent) -> Result<MacroId, StoreError> {
        let id = MacroId::generate();
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO macros (id, name, owner_id, team_id, body, visibility, set_status, set_priority, \
             set_type, set_assignee, set_team, add_tags, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(id.as_str())
        .bind(content.name.as_str())
        .bind(content.owner.as_ref().map(ToString::to_string))
        .bind(content.team.as_ref().map(ToString::to_string))
        .bind(content.body.as_str())
        .bind(content.visibility.as_str())
        .bind(content.set_status.map(TicketStatus::as_str))
        .bind(content.set_priority.map(Priority::as_str))
        .bind(content.set_type.map(TicketType::as_str))
        .bind(content.set_assignee.map(MacroAssignee::as_str))
        .bind(content.set_team.as_ref().map(ToString::to_string))
        .bind(tags_text(&content.add_tags))
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    pub async fn update_macro(
        &self,
        tx: &mut Tx,
        id: &MacroId,
        content: &MacroContent,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE macros SET name = $1, owner_id = $2, team_id = $3, body = $4, visibility = $5, \
             set_status = $6, set_priority = $7, set_type = $8, set_assignee = $9, set_team = $10, \
             add_tags = $11, updated_at = $12 WHERE id = $13",
        )
        .bind(content.name.as_str())
        .bind(content.owner.as_ref().map(ToString::to_string))
        .bind(content.team.as_ref().map(ToString::to_string))
        .bind(content.body.as_str())
        .bind(content.visibility.as_str())
        .bind(content.set_status.map(TicketStatus::as_str))
        .bind(content.set_priority.map(Priority::as_str))
        .bind(content.set_type.map(TicketType::as_str))
        .bind(content.set_assignee.map(MacroAssignee::as_str))
        .bind(content.set_team.as_ref().map(ToString::to_string))
        .bind(tags_text(&content.add_tags))
        .bind(UnixMillis::now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_macro(&self, tx: &mut Tx, id: &MacroId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM macros WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn get_macro(&self, id: &MacroId) -> Result<MacroRecord, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM macros WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// Every macro, by name; the caller keeps those the reader may use.
    pub async fn list_macros(&self) -> Result<Vec<MacroRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM macros ORDER BY name, id"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
