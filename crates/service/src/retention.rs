//! Retention schedules, set by people with privacy rights and run by `serve` on one
//! node at a time (or by hand). Setting and removing a schedule, the start and end of
//! each run and every batch it disposes of are audited.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::UnixMillis;
use palisade_policy::{Action, Resource};
use palisade_store::{
    RetentionDone, RetentionDue, RetentionRun, RetentionSchedule, RetentionScope, StoreError, TicketDisposal,
};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

/// Things of each kind one transaction disposes of: short enough that a batch holds
/// SQLite's one writer for a moment, not a minute.
pub const RETENTION_BATCH: i64 = 200;
/// A run stops after this many batches and the next carries on, so one run cannot
/// hold the lease forever.
const MAX_BATCHES_PER_RUN: usize = 500;
/// The lease that keeps the schedule's runs to one node at a time.
pub const RETENTION_LEASE: &str = "retention";
/// Longer than a run of `MAX_BATCHES_PER_RUN` batches takes.
const RETENTION_LEASE_MS: i64 = 3_600_000;
/// How many due tickets a dry run names.
pub const PREVIEW_TICKETS: i64 = 50;

/// A schedule as asked for (who and when are filled in).
#[derive(Clone, Debug)]
pub struct ScheduleChange {
    pub tickets_days: Option<u32>,
    pub tickets_action: TicketDisposal,
    pub transcripts_days: Option<u32>,
    pub quarantine_days: Option<u32>,
    pub addresses_days: Option<u32>,
}

impl Desk {
    pub async fn retention_schedules(&self, actor: &Actor) -> Result<Vec<RetentionSchedule>, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        Ok(self.store.retention_schedules().await?)
    }

    pub async fn retention_runs(&self, actor: &Actor) -> Result<Vec<RetentionRun>, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        Ok(self.store.retention_runs(20).await?)
    }

    /// Sets the schedule of `scope` ("desk", "team:<id>" or "company:<id>"); a team or
    /// company that does not exist is not found.
    pub async fn set_retention_schedule(
        &self,
        actor: &Actor,
        scope: &str,
        change: &ScheduleChange,
    ) -> Result<RetentionSchedule, ServiceError> {
        let proof = self
            .authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        let scope = self.existing_scope(scope).await?;
        let schedule = RetentionSchedule {
            scope,
            tickets_days: change.tickets_days,
            tickets_action: change.tickets_action,
            transcripts_days: change.transcripts_days,
            quarantine_days: change.quarantine_days,
            addresses_days: change.addresses_days,
            updated_by: actor.principal.user_id.clone(),
            updated_at: UnixMillis(self.now()),
        };
        if schedule.check().is_err() {
            return Err(ServiceError::invalid("refusal-retention-schedule"));
        }
        let mut tx = self.store.begin().await?;
        self.store
            .set_retention_schedule(&mut tx, &proof, &schedule)
            .await?;
        let event = AuditEvent::new(
            AuditAction::RetentionScheduleSet,
            schedule.scope.key(),
            Outcome::Success,
        )
        .with_detail(json!({
            "tickets_days": schedule.tickets_days,
            "tickets_action": schedule.tickets_action.as_str(),
            "transcripts_days": schedule.transcripts_days,
            "quarantine_days": schedule.quarantine_days,
            "addresses_days": schedule.addresses_days,
        }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(schedule)
    }

    pub async fn remove_retention_schedule(&self, actor: &Actor, scope: &str) -> Result<(), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        let scope = RetentionScope::parse(scope).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        match self
            .store
            .remove_retention_schedule(&mut tx, &proof, &scope)
            .await
        {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            other => other?,
        }
        let event = AuditEvent::new(
            AuditAction::RetentionScheduleRemoved,
            scope.key(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A dry run: what the schedules would dispose of now, and what legal holds keep.
    pub async fn retention_preview(&self, actor: &Actor) -> Result<RetentionDue, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        Ok(self.store.retention_due(PREVIEW_TICKETS).await?)
    }

    /// Runs the schedules now, batch by batch, and returns the run with its totals.
    /// Started by hand it needs privacy rights and takes the schedule's lease (so no
    /// scheduled run on another node overlaps it; one under way refuses it); the
    /// schedule's own runs come from [`Desk::run_retention_if_due`], which holds it.
    pub async fn run_retention(&self, actor: &Actor) -> Result<RetentionRun, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        let owner = palisade_core::unique_name("retention-by-hand-");
        if self
            .store
            .lease_subscription(RETENTION_LEASE, &owner, RETENTION_LEASE_MS, 0)
            .await?
            .is_none()
        {
            return Err(ServiceError::conflict("refusal-retention-running"));
        }
        // The run goes on in a task of its own: a request given up halfway (the client
        // gone, a proxy's timeout) must not leave the lease held and the run unfinished.
        let desk = self.clone();
        let (audit, started_by) = (actor.audit.clone(), actor.principal.user_id.to_string());
        tokio::spawn(async move {
            let started = desk.now();
            let run = desk.run_leased(&owner, &audit, &started_by).await;
            if run.is_ok()
                && let Err(e) = desk
                    .store
                    .advance_lease(RETENTION_LEASE, &owner, started, RETENTION_LEASE_MS)
                    .await
            {
                tracing::warn!(error = %e, "recording a retention run by hand");
            }
            if let Err(e) = desk.store.release_lease(RETENTION_LEASE, &owner).await {
                tracing::warn!(error = %e, "handing back the retention lease");
            }
            run
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("a retention run stopped: {e}")))?
    }

    /// One run while `owner` holds the lease (renewed with every batch; a run that
    /// loses it stops). A batch that fails ends the run as failed, audited; what the
    /// batches before it did stays done.
    async fn run_leased(
        &self,
        owner: &str,
        audit: &AuditContext,
        started_by: &str,
    ) -> Result<RetentionRun, ServiceError> {
        let mut tx = self.store.begin().await?;
        let run = self.store.start_retention_run(&mut tx, started_by).await?;
        let event = AuditEvent::new(AuditAction::RetentionRunStarted, run.clone(), Outcome::Success);
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;

        let mut total = RetentionDone::default();
        let mut complete = false;
        let mut failure = None;
        for _ in 0..MAX_BATCHES_PER_RUN {
            match self
                .store
                .lease_subscription(RETENTION_LEASE, owner, RETENTION_LEASE_MS, 0)
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            match self.store.apply_retention_batch(&run, RETENTION_BATCH).await {
                Ok((done, more)) => {
                    total.add(&done);
                    if !more {
                        complete = true;
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut counts = serde_json::to_value(&total).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        counts["complete"] = serde_json::Value::from(complete);
        counts["failed"] = serde_json::Value::from(failure.is_some());
        let outcome = if failure.is_some() {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let mut tx = self.store.begin().await?;
        self.store.finish_retention_run(&mut tx, &run, &counts).await?;
        let event =
            AuditEvent::new(AuditAction::RetentionRunFinished, run.clone(), outcome).with_detail(counts);
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        if !total.is_empty() {
            self.store.scrub_after_erasure().await;
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        let runs = self.store.retention_runs(20).await?;
        runs.into_iter()
            .find(|r| r.id == run)
            .ok_or_else(|| StoreError::Corrupt("a retention run vanished".into()).into())
    }

    /// The schedule's own run, on one node at a time: when this node (`node`) takes the
    /// lease and the last run began at least `every_ms` ago, a run now. A failed run
    /// counts as a run (the next is an hour later, not a minute); a node that stops
    /// midway leaves its lease to lapse, and the next run carries on.
    pub async fn run_retention_if_due(
        &self,
        node: &str,
        every_ms: i64,
    ) -> Result<Option<RetentionRun>, ServiceError> {
        let Some(last) = self
            .store
            .lease_subscription(RETENTION_LEASE, node, RETENTION_LEASE_MS, 0)
            .await?
        else {
            return Ok(None);
        };
        let started = self.now();
        if started.saturating_sub(last) < every_ms {
            self.store.release_lease(RETENTION_LEASE, node).await?;
            return Ok(None);
        }
        let ran = self
            .run_leased(node, &AuditContext::system(), "schedule")
            .await
            .map(Some);
        match self
            .store
            .advance_lease(RETENTION_LEASE, node, started, RETENTION_LEASE_MS)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("a retention run outlived its lease"),
            Err(e) => tracing::warn!(error = %e, "recording a scheduled retention run"),
        }
        self.store.release_lease(RETENTION_LEASE, node).await?;
        ran
    }

    /// Every scope a schedule can be set for, with its name: the desk, each team and
    /// each company (by name).
    pub async fn retention_scopes(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(RetentionScope, String)>, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        let mut teams = self.store.list_teams().await?;
        teams.sort_by_key(|t| t.name.to_lowercase());
        let mut companies = self.store.list_companies().await?;
        companies.sort_by_key(|c| c.name.to_lowercase());
        let mut scopes = vec![(RetentionScope::Desk, String::new())];
        scopes.extend(teams.into_iter().map(|t| (RetentionScope::Team(t.id), t.name)));
        scopes.extend(
            companies
                .into_iter()
                .map(|c| (RetentionScope::Company(c.id), c.name)),
        );
        Ok(scopes)
    }

    async fn existing_scope(&self, scope: &str) -> Result<RetentionScope, ServiceError> {
        let scope = RetentionScope::parse(scope).map_err(|_| ServiceError::NotFound)?;
        let found = match &scope {
            RetentionScope::Desk => Ok(()),
            RetentionScope::Team(id) => self.store.get_team(id).await.map(|_| ()),
            RetentionScope::Company(id) => self.store.get_company(id).await.map(|_| ()),
        };
        match found {
            Ok(()) => Ok(scope),
            Err(StoreError::NotFound) => Err(ServiceError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
