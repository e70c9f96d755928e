//! Retention schedules and what they make due: solved tickets, assistant transcripts,
//! quarantined mail and network addresses older than the operator keeps them.
//!
//! What is due is always read afresh from the data (a ticket's status and last change,
//! a transcript's last message, a mail's arrival), so a run that stops midway is carried
//! on by the next, and a restored older backup is brought back in line by the next run.
//! Legal holds are read inside the transaction that disposes of anything; what they
//! cover is left alone and counted.

use std::collections::BTreeSet;

use palisade_core::{CompanyId, TeamId, TicketId, UnixMillis, UserId};
use palisade_policy::{Action, Authorized};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Dialect, Store, StoreError, Tx};

pub(crate) const DAY_MS: i64 = 86_400_000;
/// The longest schedule accepted: a century, far past any statutory period.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Whom a schedule is for. For a ticket, the company's schedule applies, else the
/// team's, else the desk's; for a transcript the customer's company's, else the desk's;
/// for quarantined mail the team's, else the desk's. Addresses follow the desk's only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetentionScope {
    Desk,
    Team(TeamId),
    Company(CompanyId),
}

impl RetentionScope {
    pub fn key(&self) -> String {
        match self {
            RetentionScope::Desk => "desk".to_owned(),
            RetentionScope::Team(id) => format!("team:{}", id.as_str()),
            RetentionScope::Company(id) => format!("company:{}", id.as_str()),
        }
    }

    pub fn parse(key: &str) -> Result<Self, StoreError> {
        if key == "desk" {
            return Ok(RetentionScope::Desk);
        }
        match key.split_once(':') {
            Some(("team", id)) => Ok(RetentionScope::Team(TeamId::parse(id)?)),
            Some(("company", id)) => Ok(RetentionScope::Company(CompanyId::parse(id)?)),
            _ => Err(StoreError::Invalid(format!("no retention scope {key}"))),
        }
    }
}

/// What becomes of a solved ticket past its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketDisposal {
    /// Kept for reports (team, status, priority, tags, times, service levels, rating)
    /// with its subject, messages, files and every customer in it removed.
    Anonymise,
    /// Deleted with everything in it; the audit trail keeps its id.
    Erase,
}

impl TicketDisposal {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketDisposal::Anonymise => "anonymise",
            TicketDisposal::Erase => "erase",
        }
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "anonymise" => Ok(TicketDisposal::Anonymise),
            "erase" => Ok(TicketDisposal::Erase),
            other => Err(StoreError::Invalid(format!("no ticket disposal {other}"))),
        }
    }
}

/// One schedule. `None` keeps that kind of data (or, for a team or company, leaves it
/// to the next wider schedule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSchedule {
    pub scope: RetentionScope,
    pub tickets_days: Option<u32>,
    pub tickets_action: TicketDisposal,
    pub transcripts_days: Option<u32>,
    pub quarantine_days: Option<u32>,
    pub addresses_days: Option<u32>,
    pub updated_by: UserId,
    pub updated_at: UnixMillis,
}

impl RetentionSchedule {
    /// Refuses periods out of range, and for a company transcripts-only or tickets
    /// settings, quarantine (mail has no company) and addresses (desk-wide only).
    pub fn check(&self) -> Result<(), StoreError> {
        for days in [
            self.tickets_days,
            self.transcripts_days,
            self.quarantine_days,
            self.addresses_days,
        ]
        .into_iter()
        .flatten()
        {
            if days == 0 || days > MAX_RETENTION_DAYS {
                return Err(StoreError::Invalid(format!(
                    "a retention period is 1 to {MAX_RETENTION_DAYS} days"
                )));
            }
        }
        match self.scope {
            RetentionScope::Desk => Ok(()),
            _ if self.addresses_days.is_some() => Err(StoreError::Invalid(
                "network addresses follow the desk's schedule only".into(),
            )),
            RetentionScope::Company(_) if self.quarantine_days.is_some() => Err(StoreError::Invalid(
                "quarantined mail follows its team's schedule, not a company's".into(),
            )),
            RetentionScope::Team(_) if self.transcripts_days.is_some() => Err(StoreError::Invalid(
                "transcripts follow the customer's company's schedule, not a team's".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// A solved ticket past its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTicket {
    pub id: TicketId,
    pub number: i64,
    pub action: TicketDisposal,
    pub last_change: UnixMillis,
}

/// What the schedules make due now, with what legal holds keep back. At most `limit` of
/// each kind is listed; the counts are of everything due.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionDue {
    pub tickets: Vec<DueTicket>,
    pub tickets_due: u64,
    pub tickets_held: u64,
    pub transcripts: Vec<String>,
    pub transcripts_due: u64,
    pub transcripts_held: u64,
    pub quarantined_due: u64,
    pub addresses: AddressesDue,
}

/// Network addresses older than the desk keeps them, per place they are stored. Audit
/// entries written before addresses were kept apart from the chain are counted but
/// cannot be shortened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressesDue {
    pub sessions: u64,
    pub audit_entries: u64,
    pub audit_entries_fixed: u64,
    pub api_tokens: u64,
    pub transcripts: u64,
}

/// Holds in force, by what they name, with the accounts merged into a held customer
/// and the account a held customer was merged into.
#[derive(Debug, Default)]
pub(crate) struct HeldSet {
    pub people: BTreeSet<String>,
    pub companies: BTreeSet<String>,
    pub tickets: BTreeSet<String>,
}

impl HeldSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.people.is_empty() && self.companies.is_empty() && self.tickets.is_empty()
    }
}

const SCHEDULE_COLUMNS: &str = "scope, tickets_days, tickets_action, transcripts_days, quarantine_days, \
                                addresses_days, updated_by, updated_at";

/// A ticket's schedule: its company's, else its team's, else the desk's.
const TICKET_DAYS: &str = "COALESCE(c.tickets_days, tm.tickets_days, d.tickets_days)";
const TICKET_SCHEDULES: &str = "LEFT JOIN retention_schedules c ON c.scope = 'company:' || t.company_id \
     LEFT JOIN retention_schedules tm ON tm.scope = 'team:' || t.team_id \
     LEFT JOIN retention_schedules d ON d.scope = 'desk'";
const TRANSCRIPT_DAYS: &str = "COALESCE(c.transcripts_days, d.transcripts_days)";
const TRANSCRIPT_SCHEDULES: &str = "LEFT JOIN users u ON u.id = a.user_id \
     LEFT JOIN retention_schedules c ON c.scope = 'company:' || u.company_id \
     LEFT JOIN retention_schedules d ON d.scope = 'desk'";
pub(crate) const QUARANTINE_DAYS: &str = "COALESCE(tm.quarantine_days, d.quarantine_days)";
pub(crate) const QUARANTINE_SCHEDULES: &str = "LEFT JOIN retention_schedules tm ON tm.scope = 'team:' || q.team_id \
     LEFT JOIN retention_schedules d ON d.scope = 'desk'";

impl Store {
    pub async fn retention_schedules(&self) -> Result<Vec<RetentionSchedule>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM retention_schedules ORDER BY scope"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Sets (or replaces) the schedule for its scope.
    pub async fn set_retention_schedule(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        schedule: &RetentionSchedule,
    ) -> Result<(), StoreError> {
        if !proof.covers(Action::ManagePrivacy, "directory") {
            return Err(StoreError::Unauthorized);
        }
        schedule.check()?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO retention_schedules ({SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (scope) DO UPDATE SET tickets_days = $2, tickets_action = $3, transcripts_days = $4, \
             quarantine_days = $5, addresses_days = $6, updated_by = $7, updated_at = $8"
        )))
        .bind(schedule.scope.key())
        .bind(schedule.tickets_days.map(i64::from))
        .bind(schedule.tickets_action.as_str())
        .bind(schedule.transcripts_days.map(i64::from))
        .bind(schedule.quarantine_days.map(i64::from))
        .bind(schedule.addresses_days.map(i64::from))
        .bind(schedule.updated_by.as_str())
        .bind(schedule.updated_at.0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Removes the schedule for `scope`; `NotFound` when there is none.
    pub async fn remove_retention_schedule(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        scope: &RetentionScope,
    ) -> Result<(), StoreError> {
        if !proof.covers(Action::ManagePrivacy, "directory") {
            return Err(StoreError::Unauthorized);
        }
        let done = sqlx::query("DELETE FROM retention_schedules WHERE scope = $1")
            .bind(scope.key())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// What the schedules make due at `now`, read outside any transaction (a dry run).
    pub async fn retention_due(&self, limit: i64) -> Result<RetentionDue, StoreError> {
        let mut conn = self.read.acquire().await?;
        let held = self.holds_in_force(&mut conn).await?;
        self.retention_due_on(&mut conn, &held, limit, true).await
    }

    /// What is due, read on `conn` (inside the transaction that disposes of it, after
    /// [`Store::lock_holds`], that transaction sees exactly this).
    /// With `exhaustive`, everything due is counted (a dry run); without, the reading
    /// stops once one more than `limit` is found (a batch only needs to know whether
    /// another follows), and held ones are counted as far as it read.
    pub(crate) async fn retention_due_on(
        &self,
        tx: &mut sqlx::AnyConnection,
        held: &HeldSet,
        limit: i64,
        exhaustive: bool,
    ) -> Result<RetentionDue, StoreError> {
        let now = self.now().0;
        let mut due = RetentionDue::default();

        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT t.id, t.number, t.updated_at, \
             CASE WHEN c.tickets_days IS NOT NULL THEN c.tickets_action \
                  WHEN tm.tickets_days IS NOT NULL THEN tm.tickets_action ELSE d.tickets_action END AS action \
             FROM tickets t {TICKET_SCHEDULES} \
             WHERE t.status IN ('solved', 'closed') AND t.anonymised_at IS NULL AND {TICKET_DAYS} IS NOT NULL \
               AND t.updated_at < $1 - {TICKET_DAYS} * {DAY_MS} \
             ORDER BY t.updated_at, t.id"
        )))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let limit = usize::try_from(limit).unwrap_or(0);
        for row in &rows {
            let id: String = row.try_get("id")?;
            if self.ticket_held(tx, held, &id).await? {
                due.tickets_held += 1;
                continue;
            }
            due.tickets_due += 1;
            if !exhaustive && due.tickets.len() == limit {
                // One more is due: enough to know another batch follows.
                break;
            }
            if due.tickets.len() < limit {
                due.tickets.push(DueTicket {
                    id: TicketId::parse(&id)?,
                    number: row.try_get("number")?,
                    action: TicketDisposal::parse(&row.try_get::<String, _>("action")?)?,
                    last_change: UnixMillis(row.try_get("updated_at")?),
                });
            }
        }

        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT a.id, a.user_id, u.company_id, a.ticket_id FROM assistant_conversations a {TRANSCRIPT_SCHEDULES} \
             WHERE {TRANSCRIPT_DAYS} IS NOT NULL AND a.updated_at < $1 - {TRANSCRIPT_DAYS} * {DAY_MS} \
             ORDER BY a.updated_at, a.id"
        )))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let user: Option<String> = row.try_get("user_id")?;
            let company: Option<String> = row.try_get("company_id")?;
            let ticket: Option<String> = row.try_get("ticket_id")?;
            let is_held = user.as_ref().is_some_and(|u| held.people.contains(u))
                || company.as_ref().is_some_and(|c| held.companies.contains(c))
                || ticket.as_ref().is_some_and(|t| held.tickets.contains(t));
            if is_held {
                due.transcripts_held += 1;
                continue;
            }
            due.transcripts_due += 1;
            if !exhaustive && due.transcripts.len() == limit {
                break;
            }
            if due.transcripts.len() < limit {
                due.transcripts.push(row.try_get("id")?);
            }
        }

        due.quarantined_due = count(
            tx,
            &format!(
                "SELECT COUNT(*) FROM quarantine q {QUARANTINE_SCHEDULES} \
                 WHERE {QUARANTINE_DAYS} IS NOT NULL AND q.received_at < $1 - {QUARANTINE_DAYS} * {DAY_MS}"
            ),
            now,
        )
        .await?;
        if let Some(cutoff) = self.addresses_cutoff(tx, now).await? {
            let mut counted = Vec::new();
            for place in &ADDRESS_PLACES {
                counted.push(count_addresses(tx, place, cutoff, held).await?);
            }
            due.addresses = AddressesDue {
                sessions: counted[0],
                api_tokens: counted[1],
                transcripts: counted[2],
                audit_entries: counted[3],
                audit_entries_fixed: count(tx, AUDIT_WITH_CHAINED_ADDRESSES, cutoff).await?,
            };
        }
        Ok(due)
    }

    /// The time before which addresses are shortened, if the desk says so.
    pub(crate) async fn addresses_cutoff(
        &self,
        tx: &mut sqlx::AnyConnection,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let days: Option<Option<i64>> =
            sqlx::query_scalar("SELECT addresses_days FROM retention_schedules WHERE scope = 'desk'")
                .fetch_optional(&mut *tx)
                .await?;
        Ok(days.flatten().map(|days| now - days * DAY_MS))
    }

    /// Makes a hold placed while `tx` runs wait for it, and `tx` see every hold
    /// committed before (PostgreSQL; SQLite has one writer at a time).
    pub(crate) async fn lock_holds(&self, tx: &mut Tx) -> Result<(), StoreError> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("LOCK TABLE legal_holds IN SHARE MODE")
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// Legal holds in force.
    pub(crate) async fn holds_in_force(&self, tx: &mut sqlx::AnyConnection) -> Result<HeldSet, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT kind, target_id FROM legal_holds WHERE released_at IS NULL")
                .fetch_all(&mut *tx)
                .await?;
        let mut held = HeldSet::default();
        for (kind, target) in rows {
            match kind.as_str() {
                "customer" => {
                    held.people.insert(target);
                }
                "company" => {
                    held.companies.insert(target);
                }
                _ => {
                    held.tickets.insert(target);
                }
            }
        }
        // A hold on a company holds its customers (their own data: sign-ins, addresses).
        for company in &held.companies {
            let customers: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE company_id = $1")
                .bind(company)
                .fetch_all(&mut *tx)
                .await?;
            held.people.extend(customers.into_iter().take(10_000));
        }
        // Accounts merged into a held customer, and the one they were merged into, are
        // the same person (their tickets moved to the survivor).
        let mut frontier: Vec<String> = held.people.iter().cloned().collect();
        while let Some(person) = frontier.pop() {
            let mut same: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE merged_into = $1")
                .bind(&person)
                .fetch_all(&mut *tx)
                .await?;
            let survivor: Option<Option<String>> =
                sqlx::query_scalar("SELECT merged_into FROM users WHERE id = $1")
                    .bind(&person)
                    .fetch_optional(&mut *tx)
                    .await?;
            same.extend(survivor.flatten());
            for id in same {
                if held.people.len() < 10_000 && held.people.insert(id.clone()) {
                    frontier.push(id);
                }
            }
        }
        Ok(held)
    }

    /// Whether a hold covers the ticket or any ticket of its merge group (those merged
    /// into it, and the one it was merged into, at any depth): on the ticket, on its
    /// company, or on anyone who asked it, wrote in it, added a file to it or takes part
    /// in it (or their company).
    pub(crate) async fn ticket_held(
        &self,
        tx: &mut sqlx::AnyConnection,
        held: &HeldSet,
        ticket: &str,
    ) -> Result<bool, StoreError> {
        if held.is_empty() {
            return Ok(false);
        }
        for member in &merge_group(tx, ticket, true).await? {
            if held.tickets.contains(member) {
                return Ok(true);
            }
            let company: Option<Option<String>> =
                sqlx::query_scalar("SELECT company_id FROM tickets WHERE id = $1")
                    .bind(member)
                    .fetch_optional(&mut *tx)
                    .await?;
            if company.flatten().is_some_and(|c| held.companies.contains(&c)) {
                return Ok(true);
            }
            let people: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT u.id, u.company_id FROM users u \
                 WHERE u.id IN (SELECT requester_id FROM tickets WHERE id = $1) \
                    OR u.id IN (SELECT author_id FROM messages WHERE ticket_id = $1) \
                    OR u.id IN (SELECT uploader_id FROM attachments WHERE ticket_id = $1) \
                    OR u.id IN (SELECT user_id FROM ticket_collaborators WHERE ticket_id = $1)",
            )
            .bind(member)
            .fetch_all(&mut *tx)
            .await?;
            if people.iter().any(|(person, company)| {
                held.people.contains(person) || company.as_ref().is_some_and(|c| held.companies.contains(c))
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The most tickets one merge group is followed through.
const MAX_MERGE_GROUP: usize = 1000;

/// `ticket` and every ticket merged into it, at any depth (those first: the deepest
/// last); with `upwards`, also the tickets it was merged into.
pub(crate) async fn merge_group(
    tx: &mut sqlx::AnyConnection,
    ticket: &str,
    upwards: bool,
) -> Result<Vec<String>, StoreError> {
    let mut group = vec![ticket.to_owned()];
    if upwards {
        let mut top = ticket.to_owned();
        for _ in 0..MAX_MERGE_GROUP {
            let up: Option<Option<String>> =
                sqlx::query_scalar("SELECT merged_into FROM tickets WHERE id = $1")
                    .bind(&top)
                    .fetch_optional(&mut *tx)
                    .await?;
            match up.flatten() {
                Some(survivor) if !group.contains(&survivor) => {
                    group.push(survivor.clone());
                    top = survivor;
                }
                _ => break,
            }
        }
    }
    let mut at = 0;
    while at < group.len() && group.len() <= MAX_MERGE_GROUP {
        let merged: Vec<String> = sqlx::query_scalar("SELECT id FROM tickets WHERE merged_into = $1")
            .bind(&group[at])
            .fetch_all(&mut *tx)
            .await?;
        for id in merged {
            if !group.contains(&id) {
                group.push(id);
            }
        }
        at += 1;
    }
    Ok(group)
}

/// Rows about a ticket deleted when it is anonymised or erased (by `ticket_id`).
pub(crate) const TICKET_ROWS: [&str; 10] = [
    "attachments",
    "search_terms",
    "search_pending",
    "reply_capabilities",
    "requester_confirmations",
    "satisfaction_links",
    "notifications",
    "ticket_followers",
    "ticket_collaborators",
    "ticket_presence",
];

/// One run of the schedules.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionRun {
    pub id: String,
    pub started_at: UnixMillis,
    /// `None` while it runs, or when it stopped midway (the next run carries on).
    pub finished_at: Option<UnixMillis>,
    /// "schedule", or the account that started it by hand.
    pub started_by: String,
    /// What it did (`RetentionDone` as JSON); empty until it finishes.
    pub counts: serde_json::Value,
}

impl Store {
    pub async fn start_retention_run(&self, tx: &mut Tx, started_by: &str) -> Result<String, StoreError> {
        let id = palisade_core::unique_name("rr_");
        sqlx::query(
            "INSERT INTO retention_runs (id, started_at, finished_at, started_by, counts) VALUES ($1, $2, NULL, $3, '{}')",
        )
        .bind(&id)
        .bind(self.now().0)
        .bind(started_by)
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    pub async fn finish_retention_run(
        &self,
        tx: &mut Tx,
        id: &str,
        counts: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE retention_runs SET finished_at = $1, counts = $2 WHERE id = $3")
            .bind(self.now().0)
            .bind(counts.to_string())
            .bind(id)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// The newest runs first, at most `limit`.
    pub async fn retention_runs(&self, limit: i64) -> Result<Vec<RetentionRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, started_by, counts FROM retention_runs \
             ORDER BY started_at DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RetentionRun {
                    id: r.try_get("id")?,
                    started_at: UnixMillis(r.try_get("started_at")?),
                    finished_at: r.try_get::<Option<i64>, _>("finished_at")?.map(UnixMillis),
                    started_by: r.try_get("started_by")?,
                    counts: serde_json::from_str(&r.try_get::<String, _>("counts")?)
                        .map_err(|e| StoreError::Corrupt(format!("retention run counts: {e}")))?,
                })
            })
            .collect()
    }
}

/// Where network addresses are kept, and how a row's age and owner are read.
pub(crate) struct AddressPlace {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    /// The account the address is about: a legal hold on them keeps it.
    pub person: &'static str,
    /// Rows old enough to shorten (`$1` is the cutoff) and not shortened yet.
    pub due: &'static str,
}

/// Sessions, API tokens' last use, assistant conversations and the audit trail (whose
/// entries of the first format, empty `ip_commit`, carry the address in their hash and
/// are left as they are).
pub(crate) const ADDRESS_PLACES: [AddressPlace; 4] = [
    AddressPlace {
        table: "sessions",
        key: "id",
        column: "ip",
        person: "user_id",
        due: "created_at < $1 AND ip <> '' AND ip NOT LIKE '%/%'",
    },
    AddressPlace {
        table: "api_tokens",
        key: "id",
        column: "last_used_ip",
        person: "user_id",
        due: "last_used_at < $1 AND last_used_ip IS NOT NULL AND last_used_ip <> '' \
              AND last_used_ip NOT LIKE '%/%'",
    },
    AddressPlace {
        table: "assistant_conversations",
        key: "id",
        column: "client_ip",
        person: "user_id",
        due: "updated_at < $1 AND client_ip <> '' AND client_ip NOT LIKE '%/%'",
    },
    AddressPlace {
        table: "audit_log",
        key: "seq",
        column: "ip",
        person: "actor",
        due: "at < $1 AND ip_salt <> ''",
    },
];

impl AddressPlace {
    /// `due`, without the rows of people under a legal hold (bound from `$first` on).
    pub(crate) fn due_unheld(&self, held: &HeldSet, first: usize) -> String {
        if held.people.is_empty() {
            return self.due.to_owned();
        }
        format!(
            "{} AND ({person} IS NULL OR {person} NOT IN ({}))",
            self.due,
            crate::db::placeholders(first - 1, held.people.len()),
            person = self.person
        )
    }
}

async fn count_addresses(
    tx: &mut sqlx::AnyConnection,
    place: &AddressPlace,
    cutoff: i64,
    held: &HeldSet,
) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        place.table,
        place.due_unheld(held, 2)
    );
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(cutoff);
    for person in &held.people {
        query = query.bind(person);
    }
    Ok(u64::try_from(query.fetch_one(&mut *tx).await?).unwrap_or(0))
}

pub(crate) const AUDIT_WITH_CHAINED_ADDRESSES: &str =
    "SELECT COUNT(*) FROM audit_log WHERE ip_commit = '' AND ip <> '' AND at < $1";

async fn count(tx: &mut sqlx::AnyConnection, sql: &str, at: i64) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn schedule_from_row(row: &AnyRow) -> Result<RetentionSchedule, StoreError> {
    let days = |column: &str| -> Result<Option<u32>, StoreError> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .and_then(|d| u32::try_from(d).ok()))
    };
    Ok(RetentionSchedule {
        scope: RetentionScope::parse(&row.try_get::<String, _>("scope")?)?,
        tickets_days: days("tickets_days")?,
        tickets_action: TicketDisposal::parse(&row.try_get::<String, _>("tickets_action")?)?,
        transcripts_days: days("transcripts_days")?,
        quarantine_days: days("quarantine_days")?,
        addresses_days: days("addresses_days")?,
        updated_by: UserId::parse(&row.try_get::<String, _>("updated_by")?)?,
        updated_at: UnixMillis(row.try_get("updated_at")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(scope: RetentionScope) -> RetentionSchedule {
        RetentionSchedule {
            scope,
            tickets_days: Some(365),
            tickets_action: TicketDisposal::Anonymise,
            transcripts_days: None,
            quarantine_days: None,
            addresses_days: None,
            updated_by: UserId::generate(),
            updated_at: UnixMillis(0),
        }
    }

    #[test]
    fn scopes_read_back() {
        for scope in [
            RetentionScope::Desk,
            RetentionScope::Team(TeamId::generate()),
            RetentionScope::Company(CompanyId::generate()),
        ] {
            assert_eq!(RetentionScope::parse(&scope.key()).ok(), Some(scope));
        }
        assert!(RetentionScope::parse("team:../x").is_err());
        assert!(RetentionScope::parse("user:usr_x").is_err());
    }

    #[test]
    fn schedules_refuse_what_their_scope_cannot_hold() {
        assert!(schedule(RetentionScope::Desk).check().is_ok());
        let mut zero = schedule(RetentionScope::Desk);
        zero.tickets_days = Some(0);
        assert!(zero.check().is_err());
        let mut forever = schedule(RetentionScope::Desk);
        forever.quarantine_days = Some(MAX_RETENTION_DAYS + 1);
        assert!(forever.check().is_err());
        let mut team = schedule(RetentionScope::Team(TeamId::generate()));
        team.quarantine_days = Some(30);
        assert!(team.check().is_ok());
        team.addresses_days = Some(30);
        assert!(team.check().is_err());
        let mut company = schedule(RetentionScope::Company(CompanyId::generate()));
        company.transcripts_days = Some(30);
        assert!(company.check().is_ok());
        company.quarantine_days = Some(30);
        assert!(company.check().is_err());
        let mut team = schedule(RetentionScope::Team(TeamId::generate()));
        team.transcripts_days = Some(30);
        assert!(team.check().is_err());
    }
}
