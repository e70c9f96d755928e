//! Service levels as stored: calendars and policies (their definitions as JSON the
//! service reads and validates), each ticket's targets, and the history its clocks
//! replay.

use palisade_core::{CalendarId, SlaPolicyId, TicketId, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarRecord {
    pub id: CalendarId,
    pub name: String,
    pub time_zone: String,
    /// JSON: the opening periods.
    pub periods: String,
    /// JSON: the closed days.
    pub holidays: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicyRecord {
    pub id: SlaPolicyId,
    pub name: String,
    /// Policies are tried in ascending position.
    pub position: i64,
    /// JSON: what a ticket must be for the policy to apply.
    pub conditions: String,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    /// Business hours; `None`: calendar time.
    pub calendar: Option<CalendarId>,
    /// JSON: the escalation steps.
    pub escalations: String,
    /// Who saved it last.
    pub updated_by: UserId,
}

/// One escalation step of one ticket's target, and when it is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaTimer {
    pub ticket: TicketId,
    pub target: String,
    /// The target's start: a new cycle (the next customer message) is a new timer.
    pub started_at: i64,
    pub policy: SlaPolicyId,
    /// The step itself, as its policy stores it (its content names it).
    pub step: String,
    pub fire_at: i64,
}

/// One target of one ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketTargetRecord {
    pub ticket: TicketId,
    /// `first_response`, `next_response` or `resolution`.
    pub target: String,
    pub policy: SlaPolicyId,
    pub started_at: i64,
    pub due_at: Option<i64>,
    pub remaining_ms: Option<i64>,
    pub met_at: Option<i64>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn calendar_from(r: &AnyRow) -> Result<CalendarRecord, StoreError> {
    let id: String = r.try_get("id")?;
    Ok(CalendarRecord {
        id: CalendarId::parse(&id).map_err(corrupt)?,
        name: r.try_get("name")?,
        time_zone: r.try_get("time_zone")?,
        periods: r.try_get("periods")?,
        holidays: r.try_get("holidays")?,
    })
}

fn policy_from(r: &AnyRow) -> Result<SlaPolicyRecord, StoreError> {
    let id: String = r.try_get("id")?;
    let calendar: Option<String> = r.try_get("calendar_id")?;
    Ok(SlaPolicyRecord {
        id: SlaPolicyId::parse(&id).map_err(corrupt)?,
        name: r.try_get("name")?,
        position: r.try_get("position")?,
        conditions: r.try_get("conditions")?,
        first_response_minutes: r.try_get("first_response_minutes")?,
        next_response_minutes: r.try_get("next_response_minutes")?,
        resolution_minutes: r.try_get("resolution_minutes")?,
        calendar: calendar
            .as_deref()
            .map(CalendarId::parse)
            .transpose()
            .map_err(corrupt)?,
        escalations: r.try_get("escalations")?,
        updated_by: UserId::parse(&r.try_get::<String, _>("updated_by")?).map_err(corrupt)?,
    })
}

fn timer_from(r: &AnyRow) -> Result<SlaTimer, StoreError> {
    let ticket: String = r.try_get("ticket_id")?;
    let policy: String = r.try_get("policy_id")?;
    Ok(SlaTimer {
        ticket: TicketId::parse(&ticket).map_err(corrupt)?,
        target: r.try_get("target")?,
        started_at: r.try_get("started_at")?,
        step: r.try_get("step")?,
        policy: SlaPolicyId::parse(&policy).map_err(corrupt)?,
        fire_at: r.try_get("fire_at")?,
    })
}

fn target_from(r: &AnyRow) -> Result<TicketTargetRecord, StoreError> {
    let ticket: String = r.try_get("ticket_id")?;
    let policy: String = r.try_get("policy_id")?;
    Ok(TicketTargetRecord {
        ticket: TicketId::parse(&ticket).map_err(corrupt)?,
        target: r.try_get("target")?,
        policy: SlaPolicyId::parse(&policy).map_err(corrupt)?,
        started_at: r.try_get("started_at")?,
        due_at: r.try_get("due_at")?,
        remaining_ms: r.try_get("remaining_ms")?,
        met_at: r.try_get("met_at")?,
    })
}

impl Store {
    pub async fn calendars(&self) -> Result<Vec<CalendarRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, time_zone, periods, holidays FROM business_calendars ORDER BY name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(calendar_from).collect()
    }

    /// Creates a calendar, or replaces the one with `id`.
    pub async fn put_calendar(&self, tx: &mut Tx, calendar: &CalendarRecord) -> Result<(), StoreError> {
        let now = UnixMillis::now().0;
        let updated = sqlx::query(
            "UPDATE business_calendars SET name = $2, time_zone = $3, periods = $4, holidays = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(calendar.id.as_str())
        .bind(&calendar.name)
        .bind(&calendar.time_zone)
        .bind(&calendar.periods)
        .bind(&calendar.holidays)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO business_calendars (id, name, time_zone, periods, holidays, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(calendar.id.as_str())
            .bind(&calendar.name)
            .bind(&calendar.time_zone)
            .bind(&calendar.periods)
            .bind(&calendar.holidays)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        }
        Ok(())
    }

    /// Removes a calendar no policy uses (`Conflict` otherwise, `NotFound` without it).
    pub async fn delete_calendar(&self, tx: &mut Tx, id: &CalendarId) -> Result<(), StoreError> {
        let used: i64 = sqlx::query("SELECT COUNT(*) FROM sla_policies WHERE calendar_id = $1")
            .bind(id.as_str())
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
        if used > 0 {
            return Err(StoreError::Conflict);
        }
        let deleted = sqlx::query("DELETE FROM business_calendars WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Every policy, in the order they are tried.
    pub async fn sla_policies(&self) -> Result<Vec<SlaPolicyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, position, conditions, first_response_minutes, next_response_minutes, \
             resolution_minutes, calendar_id, escalations, updated_by FROM sla_policies ORDER BY position, name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(policy_from).collect()
    }

    /// Creates a policy, or replaces the one with `id`.
    pub async fn put_sla_policy(&self, tx: &mut Tx, policy: &SlaPolicyRecord) -> Result<(), StoreError> {
        let now = UnixMillis::now().0;
        let calendar = policy.calendar.as_ref().map(ToString::to_string);
        let updated = sqlx::query(
            "UPDATE sla_policies SET name = $2, position = $3, conditions = $4, first_response_minutes = $5, \
             next_response_minutes = $6, resolution_minutes = $7, calendar_id = $8, updated_at = $9, \
             escalations = $10, updated_by = $11 WHERE id = $1",
        )
        .bind(policy.id.as_str())
        .bind(&policy.name)
        .bind(policy.position)
        .bind(&policy.conditions)
        .bind(policy.first_response_minutes)
        .bind(policy.next_response_minutes)
        .bind(policy.resolution_minutes)
        .bind(calendar.clone())
        .bind(now)
        .bind(&policy.escalations)
        .bind(policy.updated_by.as_str())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO sla_policies (id, name, position, conditions, first_response_minutes, \
                 next_response_minutes, resolution_minutes, calendar_id, created_at, updated_at, escalations, \
                 updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
            )
            .bind(policy.id.as_str())
            .bind(&policy.name)
            .bind(policy.position)
            .bind(&policy.conditions)
            .bind(policy.first_response_minutes)
            .bind(policy.next_response_minutes)
            .bind(policy.resolution_minutes)
            .bind(calendar)
            .bind(now)
            .bind(&policy.escalations)
            .bind(policy.updated_by.as_str())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        }
        Ok(())
    }

    pub async fn delete_sla_policy(&self, tx: &mut Tx, id: &SlaPolicyId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM sla_policies WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A ticket's targets, in the order first response, next response, resolution.
    pub async fn ticket_targets(&self, ticket: &TicketId) -> Result<Vec<TicketTargetRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, target, policy_id, started_at, due_at, remaining_ms, met_at FROM ticket_targets \
             WHERE ticket_id = $1 ORDER BY target",
        )
        .bind(ticket.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(target_from).collect()
    }

    /// Replaces a ticket's targets with `targets`.
    pub async fn replace_ticket_targets(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        targets: &[TicketTargetRecord],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM ticket_targets WHERE ticket_id = $1")
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        for t in targets {
            sqlx::query(
                "INSERT INTO ticket_targets (ticket_id, target, policy_id, started_at, due_at, remaining_ms, met_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(ticket.as_str())
            .bind(&t.target)
            .bind(t.policy.as_str())
            .bind(t.started_at)
            .bind(t.due_at)
            .bind(t.remaining_ms)
            .bind(t.met_at)
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }

    /// Tickets that are neither solved nor closed nor merged away, oldest first: the
    /// ones whose targets a change of policies can move.
    pub async fn unsolved_ticket_ids(
        &self,
        after: Option<&TicketId>,
        limit: u32,
    ) -> Result<Vec<TicketId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM tickets WHERE status IN ('new', 'open', 'pending') AND merged_into IS NULL \
             AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map_or("", TicketId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                TicketId::parse(&id).map_err(corrupt)
            })
            .collect()
    }

    /// Makes `wanted` the ticket's pending escalation steps: steps no longer wanted (the
    /// target was met, or the policy changed) are dropped unless they fired; a wanted
    /// step keeps its row, moved to its new time unless it fired.
    pub async fn sync_sla_timers(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        wanted: &[SlaTimer],
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, target, started_at, step, policy_id, fire_at FROM sla_timers \
             WHERE ticket_id = $1 AND fired_at IS NULL",
        )
        .bind(ticket.as_str())
        .fetch_all(tx.conn())
        .await?;
        let pending = rows.iter().map(timer_from).collect::<Result<Vec<_>, _>>()?;
        let same = |a: &SlaTimer, b: &SlaTimer| {
            a.target == b.target && a.started_at == b.started_at && a.step == b.step
        };
        for old in pending.iter().filter(|p| !wanted.iter().any(|w| same(p, w))) {
            sqlx::query(
                "DELETE FROM sla_timers WHERE ticket_id = $1 AND target = $2 AND started_at = $3 AND step = $4 \
                 AND policy_id = $5 AND fired_at IS NULL",
            )
            .bind(old.ticket.as_str())
            .bind(&old.target)
            .bind(old.started_at)
            .bind(&old.step)
            .bind(old.policy.as_str())
            .execute(tx.conn())
            .await?;
        }
        for w in wanted {
            let moved = sqlx::query(
                "UPDATE sla_timers SET fire_at = $5 WHERE ticket_id = $1 AND target = $2 \
                 AND started_at = $3 AND step = $4 AND policy_id = $6 AND fired_at IS NULL",
            )
            .bind(w.ticket.as_str())
            .bind(&w.target)
            .bind(w.started_at)
            .bind(&w.step)
            .bind(w.fire_at)
            .bind(w.policy.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
            let exists: i64 = sqlx::query(
                "SELECT COUNT(*) FROM sla_timers WHERE ticket_id = $1 AND target = $2 AND started_at = $3 \
                 AND step = $4 AND policy_id = $5",
            )
            .bind(w.ticket.as_str())
            .bind(&w.target)
            .bind(w.started_at)
            .bind(&w.step)
            .bind(w.policy.as_str())
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
            if moved == 0 && exists == 0 {
                sqlx::query(
                    "INSERT INTO sla_timers (ticket_id, target, started_at, step, policy_id, fire_at, fired_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                )
                .bind(w.ticket.as_str())
                .bind(&w.target)
                .bind(w.started_at)
                .bind(&w.step)
                .bind(w.policy.as_str())
                .bind(w.fire_at)
                .execute(tx.conn())
                .await?;
            }
        }
        Ok(())
    }

    /// Steps due by `now` that have not fired, soonest first.
    pub async fn due_sla_timers(&self, now: i64, limit: u32) -> Result<Vec<SlaTimer>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, target, started_at, step, policy_id, fire_at FROM sla_timers \
             WHERE fired_at IS NULL AND fire_at <= $1 ORDER BY fire_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(timer_from).collect()
    }

    /// Marks a step fired in `tx` if nobody did yet: `true` for the one transaction
    /// that gets it (on PostgreSQL a second node waits on the row and then finds it
    /// fired; SQLite has one writer).
    pub async fn claim_sla_timer(&self, tx: &mut Tx, timer: &SlaTimer, now: i64) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE sla_timers SET fired_at = $5 WHERE ticket_id = $1 AND target = $2 AND started_at = $3 \
             AND step = $4 AND policy_id = $6 AND fired_at IS NULL",
        )
        .bind(timer.ticket.as_str())
        .bind(&timer.target)
        .bind(timer.started_at)
        .bind(&timer.step)
        .bind(now)
        .bind(timer.policy.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// How many escalation steps of a ticket fired.
    pub async fn fired_sla_timers(&self, ticket: &TicketId) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM sla_timers WHERE ticket_id = $1 AND fired_at IS NOT NULL")
                .bind(ticket.as_str())
                .fetch_one(&self.read)
                .await?
                .try_get(0)?,
        )
    }
}
