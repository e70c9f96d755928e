//! Saved views of the ticket list. The filter is kept as the JSON of [`SavedFilter`]:
//! symbolic where it must be ("me" is whoever uses the view), checked when it is saved
//! and again when it is read back.

use palisade_core::{TeamId, UnixMillis, UserId, ViewId};
use palisade_policy::ViewFacts;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

/// What a saved view filters on; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `me` (whoever uses the view) or `nobody`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A user id: only this requester's tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// A company id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Days (`YYYY-MM-DD`, UTC), each end included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_to: Option<String>,
    /// `breached` or `due_soon`: tickets by their service-level targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    /// A custom field's key and the value it must have. Never a personal field: its
    /// value would sit here unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The list's order ([`crate::TicketSort`]); newest first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SavedViewRecord {
    pub id: ViewId,
    pub name: String,
    pub owner: Option<UserId>,
    pub team: Option<TeamId>,
    pub filter: SavedFilter,
    pub created_at: UnixMillis,
}

impl SavedViewRecord {
    pub fn facts(&self) -> ViewFacts {
        ViewFacts {
            id: self.id.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
        }
    }
}

fn from_row(row: &AnyRow) -> Result<SavedViewRecord, StoreError> {
    let owner: Option<String> = row.try_get("owner_id")?;
    let team: Option<String> = row.try_get("team_id")?;
    let filter: String = row.try_get("filter")?;
    Ok(SavedViewRecord {
        id: ViewId::parse(&row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        owner: owner.map(|o| UserId::parse(&o)).transpose()?,
        team: team.map(|t| TeamId::parse(&t)).transpose()?,
        filter: serde_json::from_str(&filter).map_err(|e| StoreError::Corrupt(format!("saved view: {e}")))?,
        created_at: UnixMillis(row.try_get("created_at")?),
    })
}

impl Store {
    pub async fn create_saved_view(
        &self,
        tx: &mut Tx,
        name: &str,
        owner: Option<&UserId>,
        team: Option<&TeamId>,
        filter: &SavedFilter,
    ) -> Result<ViewId, StoreError> {
        let id = ViewId::generate();
        let json = serde_json::to_string(filter).map_err(|e| StoreError::Invalid(e.to_string()))?;
        sqlx::query(
            "INSERT INTO saved_views (id, name, owner_id, team_id, filter, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(owner.map(ToString::to_string))
        .bind(team.map(ToString::to_string))
        .bind(json)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    pub async fn delete_saved_view(&self, tx: &mut Tx, id: &ViewId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM saved_views WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn get_saved_view(&self, id: &ViewId) -> Result<SavedViewRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, owner_id, team_id, filter, created_at FROM saved_views WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// Every saved view, by name; the caller keeps those the reader may use.
    pub async fn list_saved_views(&self) -> Result<Vec<SavedViewRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, owner_id, team_id, filter, created_at FROM saved_views ORDER BY name, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
