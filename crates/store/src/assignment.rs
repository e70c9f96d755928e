//! What automatic assignment reads and writes: who is away, how many unsolved tickets
//! each agent holds, which of a team's tickets wait for someone, and where the team's
//! round stands.

use std::collections::HashMap;

use palisade_core::{TeamId, TicketId, UserId};
use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// Marks a staff account away (given no tickets automatically) or back.
    pub async fn set_user_away(&self, user: &UserId, away: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET away = $1 WHERE id = $2")
            .bind(i64::from(away))
            .bind(user.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn user_away(&self, user: &UserId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT away FROM users WHERE id = $1")
            .bind(user.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get::<i64, _>(0)? != 0)
    }

    /// The members of `team` who are neither away nor disabled.
    pub async fn present_members(&self, team: &TeamId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id FROM team_members m JOIN users u ON u.id = m.user_id \
             WHERE m.team_id = $1 AND u.away = 0 AND u.disabled = 0 ORDER BY u.id",
        )
        .bind(team.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// How many unsolved tickets each agent holds (those holding none are absent).
    pub async fn open_load(&self) -> Result<HashMap<UserId, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT assignee_id, COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL \
             AND status IN ('new', 'open', 'pending') AND merged_into IS NULL GROUP BY assignee_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    UserId::parse(&r.try_get::<String, _>(0)?)?,
                    r.try_get::<i64, _>(1)?,
                ))
            })
            .collect()
    }

    /// A team's new and open tickets that nobody holds, oldest first.
    pub async fn waiting_for_assignment(
        &self,
        team: &TeamId,
        limit: u32,
    ) -> Result<Vec<TicketId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM tickets WHERE team_id = $1 AND assignee_id IS NULL AND status IN ('new', 'open') \
             AND merged_into IS NULL ORDER BY created_at, id LIMIT $2",
        )
        .bind(team.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(TicketId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// The tickets a report over `[from, to)` can say anything about, oldest first:
    /// opened before its end and unsolved now, or with something recorded since its
    /// start (an event, an answer, a target met or due). Any other ticket was solved
    /// before the period and stayed so: it adds nothing.
    pub async fn report_candidates(&self, from: i64, to: i64) -> Result<Vec<TicketId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM tickets WHERE created_at < $2 AND (status NOT IN ('solved', 'closed') \
             OR id IN (SELECT subject FROM domain_events WHERE at >= $1 \
                       AND kind IN ('ticket.created', 'ticket.status_changed', 'message.added')) \
             OR id IN (SELECT ticket_id FROM satisfaction WHERE rated_at >= $1 AND rated_at < $2) \
             OR id IN (SELECT ticket_id FROM ticket_targets WHERE (met_at >= $1 AND met_at < $2) \
                       OR (due_at >= $1 AND due_at < $2))) \
             ORDER BY created_at, id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(TicketId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// Remembers the agent the team's round last gave a ticket.
    pub async fn set_assign_cursor(&self, team: &TeamId, user: &UserId) -> Result<(), StoreError> {
        sqlx::query("UPDATE teams SET assign_cursor = $1 WHERE id = $2")
            .bind(user.as_str())
            .bind(team.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
