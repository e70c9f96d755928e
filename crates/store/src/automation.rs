//! Triggers and automations as stored: each rule's definition (JSON the service reads
//! and validates), and the runs it is due or has made, one per cause.

use palisade_core::{RuleId, TeamId, TicketId, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRecord {
    pub id: RuleId,
    pub name: String,
    /// `trigger` (on an event) or `automation` (after time in a state).
    pub kind: String,
    /// The team whose tickets it runs on, with that team's rights.
    pub team: TeamId,
    /// Rules run in ascending position.
    pub position: i64,
    pub enabled: bool,
    /// JSON: when it runs, its conditions and its actions.
    pub definition: String,
    pub updated_by: UserId,
    pub updated_at: i64,
}

/// One run of a rule on a ticket, and what caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRun {
    pub rule: RuleId,
    pub ticket: TicketId,
    /// The event that caused it (0 for a time-based rule).
    pub event_seq: i64,
    /// When the ticket entered the state a time-based rule waited on (0 for a trigger).
    pub since: i64,
    /// JSON: the rules whose changes led to it, first to last.
    pub chain: String,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn rule_from(r: &AnyRow) -> Result<RuleRecord, StoreError> {
    let id: String = r.try_get("id")?;
    let team: String = r.try_get("team_id")?;
    let by: String = r.try_get("updated_by")?;
    Ok(RuleRecord {
        id: RuleId::parse(&id).map_err(corrupt)?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        team: TeamId::parse(&team).map_err(corrupt)?,
        position: r.try_get("position")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        definition: r.try_get("definition")?,
        updated_by: UserId::parse(&by).map_err(corrupt)?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn run_from(r: &AnyRow) -> Result<RuleRun, StoreError> {
    let rule: String = r.try_get("rule_id")?;
    let ticket: String = r.try_get("ticket_id")?;
    Ok(RuleRun {
        rule: RuleId::parse(&rule).map_err(corrupt)?,
        ticket: TicketId::parse(&ticket).map_err(corrupt)?,
        event_seq: r.try_get("event_seq")?,
        since: r.try_get("since")?,
        chain: r.try_get("chain")?,
    })
}

/// The state a time-based rule waits in, as the store can find it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting<'a> {
    /// In this status (since the last status change, or since it was opened).
    Status(&'a str),
    /// Unsolved with nobody assigned (since the last assignment or team change, or its
    /// reopening: a status change's detail is JSON with its keys in order, so one away
    /// from `solved` or `closed` is found by its text).
    Unassigned,
}

impl Store {
    /// Every rule, in the order they run.
    pub async fn rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, kind, team_id, position, enabled, definition, updated_by, updated_at \
             FROM automation_rules ORDER BY position, name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(rule_from).collect()
    }

    /// Creates a rule, or replaces the one with its id; a taken name is `Conflict`.
    pub async fn put_rule(&self, tx: &mut Tx, rule: &RuleRecord) -> Result<(), StoreError> {
        let now = UnixMillis::now().0;
        let updated = sqlx::query(
            "UPDATE automation_rules SET name = $2, kind = $3, team_id = $4, position = $5, enabled = $6, \
             definition = $7, updated_by = $8, updated_at = $9 WHERE id = $1",
        )
        .bind(rule.id.as_str())
        .bind(&rule.name)
        .bind(&rule.kind)
        .bind(rule.team.as_str())
        .bind(rule.position)
        .bind(i64::from(rule.enabled))
        .bind(&rule.definition)
        .bind(rule.updated_by.as_str())
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO automation_rules (id, name, kind, team_id, position, enabled, definition, updated_by, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(rule.id.as_str())
            .bind(&rule.name)
            .bind(&rule.kind)
            .bind(rule.team.as_str())
            .bind(rule.position)
            .bind(i64::from(rule.enabled))
            .bind(&rule.definition)
            .bind(rule.updated_by.as_str())
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        }
        Ok(())
    }

    /// Removes a rule and the runs it still owed (`NotFound` without it).
    pub async fn delete_rule(&self, tx: &mut Tx, id: &RuleId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM automation_rules WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM rule_runs WHERE rule_id = $1 AND state = 'pending'")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Queues a run unless one with the same cause exists; returns whether it queued.
    pub async fn queue_rule_run(&self, tx: &mut Tx, run: &RuleRun) -> Result<bool, StoreError> {
        let queued = sqlx::query(
            "INSERT INTO rule_runs (rule_id, ticket_id, event_seq, since, chain, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) \
             ON CONFLICT (rule_id, ticket_id, event_seq, since) DO NOTHING",
        )
        .bind(run.rule.as_str())
        .bind(run.ticket.as_str())
        .bind(run.event_seq)
        .bind(run.since)
        .bind(&run.chain)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(queued == 1)
    }

    /// The runs waiting to be made: the time-based ones, then the triggers' in the
    /// order of their events, and the rules of one event in their own order.
    pub async fn pending_rule_runs(&self, limit: u32) -> Result<Vec<RuleRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.rule_id AS rule_id, r.ticket_id AS ticket_id, r.event_seq AS event_seq, r.since AS since, \
             r.chain AS chain FROM rule_runs r LEFT JOIN automation_rules a ON a.id = r.rule_id \
             WHERE r.state = 'pending' \
             ORDER BY r.event_seq, COALESCE(a.position, 0), COALESCE(a.name, ''), r.created_at, r.ticket_id \
             LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(run_from).collect()
    }

    /// Takes a waiting run for this caller; false when another node already has.
    pub async fn claim_rule_run(&self, tx: &mut Tx, run: &RuleRun) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE rule_runs SET state = 'running' WHERE rule_id = $1 AND ticket_id = $2 AND event_seq = $3 \
             AND since = $4 AND state = 'pending'",
        )
        .bind(run.rule.as_str())
        .bind(run.ticket.as_str())
        .bind(run.event_seq)
        .bind(run.since)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Records how a claimed run ended.
    pub async fn finish_rule_run(&self, tx: &mut Tx, run: &RuleRun, outcome: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rule_runs SET state = 'finished', outcome = $5, finished_at = $6 WHERE rule_id = $1 \
             AND ticket_id = $2 AND event_seq = $3 AND since = $4",
        )
        .bind(run.rule.as_str())
        .bind(run.ticket.as_str())
        .bind(run.event_seq)
        .bind(run.since)
        .bind(outcome)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Unmerged tickets of `team` that have been `waiting` since `cutoff` or earlier and
    /// that `rule` has not run on for that stay, oldest stay first; with when each
    /// entered the state (the newest event that could have put it there).
    pub async fn waiting_tickets(
        &self,
        rule: &RuleId,
        team: &TeamId,
        waiting: Waiting<'_>,
        cutoff: i64,
        limit: u32,
    ) -> Result<Vec<(TicketId, i64)>, StoreError> {
        let query = match waiting {
            Waiting::Status(status) => sqlx::query(
                "SELECT id, since FROM (SELECT t.id AS id, (SELECT MAX(e.at) FROM domain_events e \
                 WHERE e.subject = t.id AND e.kind IN ('ticket.created', 'ticket.status_changed')) AS since \
                 FROM tickets t WHERE t.team_id = $1 AND t.merged_into IS NULL AND t.status = $5) c \
                 WHERE c.since <= $2 AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = $3 \
                 AND r.ticket_id = c.id AND r.since = c.since) ORDER BY c.since, c.id LIMIT $4",
            )
            .bind(team.as_str())
            .bind(cutoff)
            .bind(rule.as_str())
            .bind(i64::from(limit))
            .bind(status),
            Waiting::Unassigned => sqlx::query(
                "SELECT id, since FROM (SELECT t.id AS id, (SELECT MAX(e.at) FROM domain_events e \
                 WHERE e.subject = t.id AND (e.kind IN ('ticket.created', 'ticket.assigned', 'ticket.team_changed') \
                 OR (e.kind = 'ticket.status_changed' AND (e.detail LIKE '%\"from\":\"solved\"%' \
                 OR e.detail LIKE '%\"from\":\"closed\"%')))) \
                 AS since FROM tickets t WHERE t.team_id = $1 AND t.merged_into IS NULL \
                 AND t.assignee_id IS NULL AND t.status NOT IN ('solved', 'closed')) c \
                 WHERE c.since <= $2 AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = $3 \
                 AND r.ticket_id = c.id AND r.since = c.since) ORDER BY c.since, c.id LIMIT $4",
            )
            .bind(team.as_str())
            .bind(cutoff)
            .bind(rule.as_str())
            .bind(i64::from(limit)),
        };
        let rows = query.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok((TicketId::parse(&id).map_err(corrupt)?, r.try_get("since")?))
            })
            .collect()
    }

    /// When the ticket entered its current status, or nobody has been assigned since
    /// (`Waiting::Unassigned`), as [`Store::waiting_tickets`] measures it.
    pub async fn waiting_since(
        &self,
        ticket: &TicketId,
        waiting: Waiting<'_>,
    ) -> Result<Option<i64>, StoreError> {
        let query = match waiting {
            Waiting::Status(_) => sqlx::query(
                "SELECT MAX(at) FROM domain_events WHERE subject = $1 \
                 AND kind IN ('ticket.created', 'ticket.status_changed')",
            ),
            Waiting::Unassigned => sqlx::query(
                "SELECT MAX(at) FROM domain_events WHERE subject = $1 \
                 AND (kind IN ('ticket.created', 'ticket.assigned', 'ticket.team_changed') \
                 OR (kind = 'ticket.status_changed' AND (detail LIKE '%\"from\":\"solved\"%' \
                 OR detail LIKE '%\"from\":\"closed\"%')))",
            ),
        };
        Ok(query
            .bind(ticket.as_str())
            .fetch_one(&self.read)
            .await?
            .try_get(0)?)
    }
}
