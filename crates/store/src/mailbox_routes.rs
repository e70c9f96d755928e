//! The team each support address delivers to, where an administrator changed it from
//! the file's choice.

use palisade_core::{TeamId, UnixMillis, UserId};
use sqlx::Row;

use crate::{Store, StoreError, Tx};

impl Store {
    /// Every changed route: address and team.
    pub async fn mailbox_routes(&self) -> Result<Vec<(String, TeamId)>, StoreError> {
        let rows = sqlx::query("SELECT address, team_id FROM mailbox_routes ORDER BY address")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let team: String = r.try_get("team_id")?;
                Ok((
                    r.try_get("address")?,
                    TeamId::parse(&team).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    /// The team `address` delivers to when it was changed from the file's; `None`
    /// otherwise.
    pub async fn mailbox_route(&self, address: &str) -> Result<Option<TeamId>, StoreError> {
        let row = sqlx::query("SELECT team_id FROM mailbox_routes WHERE address = $1")
            .bind(address)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            let team: String = r.try_get("team_id")?;
            TeamId::parse(&team).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    /// Routes `address` to `team`, or with `None` back to the file's team.
    pub async fn put_mailbox_route(
        &self,
        tx: &mut Tx,
        address: &str,
        team: Option<&TeamId>,
        by: &UserId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mailbox_routes WHERE address = $1")
            .bind(address)
            .execute(tx.conn())
            .await?;
        if let Some(team) = team {
            sqlx::query(
                "INSERT INTO mailbox_routes (address, team_id, updated_at, updated_by) VALUES ($1, $2, $3, $4)",
            )
            .bind(address)
            .bind(team.as_str())
            .bind(UnixMillis::now().0)
            .bind(by.as_str())
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }
}
