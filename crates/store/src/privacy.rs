//! Privacy requests (each with its deadline) and legal holds. Reasons are sealed with
//! the organisation key: staff may write a case number or a name into them.

use palisade_core::{CompanyId, LegalHoldId, PrivacyRequestId, TicketId, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::{Store, StoreError, Tx};

/// Where a privacy request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for a second person's approval.
    AwaitingApproval,
    Done,
    Declined,
    /// An access export being built in the background.
    Building,
    /// An access export waiting for its download.
    Ready,
    /// An access export that could not be built (audited); the person may ask again.
    Failed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::AwaitingApproval => "awaiting_approval",
            RequestState::Done => "done",
            RequestState::Declined => "declined",
            RequestState::Building => "building",
            RequestState::Ready => "ready",
            RequestState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "awaiting_approval" => Ok(RequestState::AwaitingApproval),
            "done" => Ok(RequestState::Done),
            "declined" => Ok(RequestState::Declined),
            "building" => Ok(RequestState::Building),
            "ready" => Ok(RequestState::Ready),
            "failed" => Ok(RequestState::Failed),
            other => Err(StoreError::Corrupt(format!("privacy request state {other}"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PrivacyRequest {
    pub id: PrivacyRequestId,
    /// What is asked: "erasure" or "access".
    pub kind: String,
    pub person: UserId,
    pub reason: String,
    pub requested_by: UserId,
    pub requested_at: UnixMillis,
    pub due_at: UnixMillis,
    pub state: RequestState,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<UnixMillis>,
    /// Why internal notes are left out of an access export (an exemption), if they are.
    pub withheld: Option<String>,
}

/// What a legal hold keeps from erasure and retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldTarget {
    Customer(UserId),
    Company(CompanyId),
    Ticket(TicketId),
}

impl HoldTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            HoldTarget::Customer(_) => "customer",
            HoldTarget::Company(_) => "company",
            HoldTarget::Ticket(_) => "ticket",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            HoldTarget::Customer(id) => id.as_str(),
            HoldTarget::Company(id) => id.as_str(),
            HoldTarget::Ticket(id) => id.as_str(),
        }
    }

    pub fn parse(kind: &str, id: &str) -> Result<Self, StoreError> {
        Ok(match kind {
            "customer" => HoldTarget::Customer(UserId::parse(id)?),
            "company" => HoldTarget::Company(CompanyId::parse(id)?),
            "ticket" => HoldTarget::Ticket(TicketId::parse(id)?),
            other => return Err(StoreError::Invalid(format!("no hold on a {other}"))),
        })
    }
}

#[derive(Clone, Debug)]
pub struct LegalHold {
    pub id: LegalHoldId,
    pub target: HoldTarget,
    pub reason: String,
    pub placed_by: UserId,
    pub placed_at: UnixMillis,
    pub released_by: Option<UserId>,
    pub released_at: Option<UnixMillis>,
}

impl PrivacyRequest {
    /// Not answered yet: awaiting approval, or an export not downloaded yet.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            RequestState::AwaitingApproval | RequestState::Building | RequestState::Ready
        )
    }
}

const REQUEST_COLUMNS: &str = "id, kind, person_id, reason_enc, requested_by, requested_at, due_at, state, decided_by, decided_at, withheld_enc";

/// A privacy request to record.
#[derive(Clone, Copy, Debug)]
pub struct NewPrivacyRequest<'a> {
    /// "erasure" or "access".
    pub kind: &'a str,
    pub person: &'a UserId,
    pub reason: &'a str,
    pub requested_by: &'a UserId,
    pub due_at: UnixMillis,
    pub state: RequestState,
    /// An access export's exemption for internal notes.
    pub withheld: Option<&'a str>,
}
const HOLD_COLUMNS: &str = "id, kind, target_id, reason_enc, placed_by, placed_at, released_by, released_at";

impl Store {
    pub async fn create_privacy_request(
        &self,
        tx: &mut Tx,
        new: &NewPrivacyRequest<'_>,
    ) -> Result<PrivacyRequest, StoreError> {
        let id = PrivacyRequestId::generate();
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        let now = self.now();
        let withheld = new
            .withheld
            .map(|w| seal(&org, "privacy_requests", "withheld", id.as_str(), w.as_bytes()))
            .transpose()?;
        sqlx::query(
            "INSERT INTO privacy_requests (id, kind, person_id, reason_enc, requested_by, requested_at, due_at, state, \
             withheld_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(new.kind)
        .bind(new.person.as_str())
        .bind(seal(&org, "privacy_requests", "reason", id.as_str(), new.reason.as_bytes())?)
        .bind(new.requested_by.as_str())
        .bind(now.0)
        .bind(new.due_at.0)
        .bind(new.state.as_str())
        .bind(withheld)
        .execute(tx.conn())
        .await?;
        self.privacy_request_in(tx, &id).await
    }

    pub async fn privacy_request(&self, id: &PrivacyRequestId) -> Result<PrivacyRequest, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM privacy_requests WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let org = self.load_key(ORG_KEY_ID).await?;
        request_from_row(&row, &org)
    }

    /// The request, locked for a decision (on PostgreSQL).
    pub async fn privacy_request_in(
        &self,
        tx: &mut Tx,
        id: &PrivacyRequestId,
    ) -> Result<PrivacyRequest, StoreError> {
        let lock = match self.dialect {
            crate::Dialect::Postgres => " FOR UPDATE",
            crate::Dialect::Sqlite => "",
        };
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM privacy_requests WHERE id = $1{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        request_from_row(&row, &org)
    }

    pub async fn decide_privacy_request(
        &self,
        tx: &mut Tx,
        id: &PrivacyRequestId,
        state: RequestState,
        by: &UserId,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE privacy_requests SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'awaiting_approval'",
        )
        .bind(state.as_str())
        .bind(by.as_str())
        .bind(self.now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Marks an export that could not be built as failed; false when it was not
    /// being built any more.
    pub async fn fail_export(&self, id: &PrivacyRequestId) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE privacy_requests SET state = 'failed', decided_at = $1 WHERE id = $2 AND state = 'building'",
        )
        .bind(self.now().0)
        .bind(id.as_str())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// One person's requests, newest first.
    pub async fn privacy_requests_of(&self, person: &UserId) -> Result<Vec<PrivacyRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM privacy_requests WHERE person_id = $1 ORDER BY requested_at DESC, id LIMIT 100"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person.as_str())
            .fetch_all(&self.read)
            .await?;
        let org = self.load_key(ORG_KEY_ID).await?;
        rows.iter().map(|r| request_from_row(r, &org)).collect()
    }

    /// Every request, those still open first (soonest due first), then the rest
    /// newest first; at most `limit`.
    pub async fn privacy_requests(&self, limit: i64) -> Result<Vec<PrivacyRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM privacy_requests \
             ORDER BY CASE WHEN state IN ('awaiting_approval', 'building', 'ready') THEN 0 ELSE 1 END, \
             CASE WHEN state IN ('awaiting_approval', 'building', 'ready') THEN due_at ELSE -requested_at END, id \
             LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let org = self.load_key(ORG_KEY_ID).await?;
        rows.iter().map(|r| request_from_row(r, &org)).collect()
    }

    pub async fn place_legal_hold(
        &self,
        tx: &mut Tx,
        target: &HoldTarget,
        reason: &str,
        by: &UserId,
    ) -> Result<LegalHold, StoreError> {
        let id = LegalHoldId::generate();
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        sqlx::query(
            "INSERT INTO legal_holds (id, kind, target_id, reason_enc, placed_by, placed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(target.kind())
        .bind(target.id())
        .bind(seal(
            &org,
            "legal_holds",
            "reason",
            id.as_str(),
            reason.as_bytes(),
        )?)
        .bind(by.as_str())
        .bind(self.now().0)
        .execute(tx.conn())
        .await?;
        self.legal_hold_in(tx, &id).await
    }

    pub async fn legal_hold_in(&self, tx: &mut Tx, id: &LegalHoldId) -> Result<LegalHold, StoreError> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        hold_from_row(&row, &org)
    }

    /// Releases a hold still in force; `Conflict` when it was released already.
    pub async fn release_legal_hold(
        &self,
        tx: &mut Tx,
        id: &LegalHoldId,
        by: &UserId,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE legal_holds SET released_by = $1, released_at = $2 WHERE id = $3 AND released_at IS NULL",
        )
        .bind(by.as_str())
        .bind(self.now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Holds in force first (newest first), then released ones; at most `limit`.
    pub async fn legal_holds(&self, limit: i64) -> Result<Vec<LegalHold>, StoreError> {
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds \
             ORDER BY CASE WHEN released_at IS NULL THEN 0 ELSE 1 END, placed_at DESC, id LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let org = self.load_key(ORG_KEY_ID).await?;
        rows.iter().map(|r| hold_from_row(r, &org)).collect()
    }

    /// Holds in force that keep `person` from erasure, for them and every account
    /// merged into theirs (erased with them): on any of those accounts; on their
    /// company, or the company a ticket they asked was filed under; on a ticket they
    /// asked, take part in, wrote in or added a file to. Read inside the erasure's
    /// transaction, so a hold placed concurrently is either seen or placed after it.
    pub async fn holds_on_person(&self, tx: &mut Tx, person: &UserId) -> Result<Vec<LegalHold>, StoreError> {
        const PEOPLE: &str = "SELECT id FROM users WHERE id = $1 OR merged_into = $1";
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE released_at IS NULL AND ( \
               (kind = 'customer' AND target_id IN ({PEOPLE})) \
               OR (kind = 'company' AND ( \
                   target_id IN (SELECT company_id FROM users WHERE id IN ({PEOPLE}) AND company_id IS NOT NULL) \
                   OR target_id IN (SELECT company_id FROM tickets WHERE requester_id IN ({PEOPLE}) \
                       AND company_id IS NOT NULL))) \
               OR (kind = 'ticket' AND ( \
                   target_id IN (SELECT id FROM tickets WHERE requester_id IN ({PEOPLE})) \
                   OR target_id IN (SELECT ticket_id FROM ticket_collaborators WHERE user_id IN ({PEOPLE})) \
                   OR target_id IN (SELECT ticket_id FROM messages WHERE author_id IN ({PEOPLE})) \
                   OR target_id IN (SELECT ticket_id FROM attachments WHERE uploader_id IN ({PEOPLE})))))"
        );
        if self.dialect == crate::Dialect::Postgres {
            // A hold placed while this erasure runs waits for it, and the erasure sees
            // every hold committed before it.
            sqlx::query("LOCK TABLE legal_holds IN SHARE MODE")
                .execute(tx.conn())
                .await?;
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person.as_str())
            .fetch_all(tx.conn())
            .await?;
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        rows.iter().map(|r| hold_from_row(r, &org)).collect()
    }
}

fn request_from_row(row: &AnyRow, org: &palisade_crypto::DataKey) -> Result<PrivacyRequest, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(PrivacyRequest {
        kind: row.try_get("kind")?,
        person: UserId::parse(&row.try_get::<String, _>("person_id")?)?,
        reason: open_text(
            org,
            "privacy_requests",
            "reason",
            &id,
            &row.try_get::<Vec<u8>, _>("reason_enc")?,
        )?,
        requested_by: UserId::parse(&row.try_get::<String, _>("requested_by")?)?,
        requested_at: UnixMillis(row.try_get("requested_at")?),
        due_at: UnixMillis(row.try_get("due_at")?),
        state: RequestState::parse(&row.try_get::<String, _>("state")?)?,
        decided_by: row
            .try_get::<Option<String>, _>("decided_by")?
            .map(|u| UserId::parse(&u))
            .transpose()?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?.map(UnixMillis),
        withheld: row
            .try_get::<Option<Vec<u8>>, _>("withheld_enc")?
            .map(|w| open_text(org, "privacy_requests", "withheld", &id, &w))
            .transpose()?,
        id: PrivacyRequestId::parse(&id)?,
    })
}

fn hold_from_row(row: &AnyRow, org: &palisade_crypto::DataKey) -> Result<LegalHold, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(LegalHold {
        target: HoldTarget::parse(
            &row.try_get::<String, _>("kind")?,
            &row.try_get::<String, _>("target_id")?,
        )?,
        reason: open_text(
            org,
            "legal_holds",
            "reason",
            &id,
            &row.try_get::<Vec<u8>, _>("reason_enc")?,
        )?,
        placed_by: UserId::parse(&row.try_get::<String, _>("placed_by")?)?,
        placed_at: UnixMillis(row.try_get("placed_at")?),
        released_by: row
            .try_get::<Option<String>, _>("released_by")?
            .map(|u| UserId::parse(&u))
            .transpose()?,
        released_at: row.try_get::<Option<i64>, _>("released_at")?.map(UnixMillis),
        id: LegalHoldId::parse(&id)?,
    })
}
