//! Webhook endpoints and their delivery queue. An endpoint's signing secrets are
//! sealed with the organisation key; a delivery row holds no content (the payload is
//! built when it is sent), only which event goes where and how its sending went.
//!
//! Deliveries are claimed one at a time with a lease, like the outbox's mail, so any
//! number of nodes may send. Within one endpoint a ticket's events go out in the order
//! they happened: a delivery is only claimable when no earlier one of the same ticket
//! for the same endpoint is still pending.

use palisade_core::{TeamId, TicketId, UnixMillis, UserId, WebhookDeliveryId, WebhookEndpointId};
use palisade_policy::{Action, Authorized};
use sqlx::Row;
use sqlx::any::AnyRow;
use zeroize::Zeroizing;

use crate::db::flag;
use crate::keys::{ORG_KEY_ID, open_bytes, seal};
use crate::{Store, StoreError, Tx};

const TABLE: &str = "webhook_endpoints";

/// An endpoint as asked for (the secret is given apart).
#[derive(Clone, Debug)]
pub struct WebhookEndpointChange {
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    /// `None`: every team's tickets.
    pub team: Option<TeamId>,
    pub run_as: UserId,
    pub enabled: bool,
}

/// An endpoint as stored, without its secrets.
#[derive(Clone, Debug)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub team: Option<TeamId>,
    pub run_as: UserId,
    pub enabled: bool,
    /// Until when the secret before the last rotation still signs, if it does.
    pub previous_until: Option<UnixMillis>,
    pub created_by: UserId,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// The secrets that sign an endpoint's deliveries now: the current one, and the one it
/// replaced while the overlap lasts. Their text (`whsec_…`) is wiped when dropped.
pub struct WebhookSecrets {
    pub current: Zeroizing<Vec<u8>>,
    pub previous: Option<Zeroizing<Vec<u8>>>,
}

/// A delivery a worker claimed.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub id: WebhookDeliveryId,
    pub endpoint: WebhookEndpointId,
    pub event_seq: i64,
    pub event_type: String,
    pub ticket: TicketId,
    /// Including this one.
    pub attempts: i64,
}

/// A delivery as the endpoint's page lists it.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub event_type: String,
    pub ticket: TicketId,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: UnixMillis,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: UnixMillis,
    pub finished_at: Option<UnixMillis>,
}

/// How many deliveries are in each state, for the endpoint list and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub failed: i64,
}

const ENDPOINT_COLUMNS: &str = "id, name, url, event_types, team_id, run_as, enabled, previous_until, created_by, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "id, event_type, ticket_id, status, attempts, next_attempt_at, last_status, \
     last_error, created_at, finished_at";

fn may_manage(proof: &Authorized) -> Result<(), StoreError> {
    if proof.covers(Action::ManageIntegrations, "directory") {
        Ok(())
    } else {
        Err(StoreError::Unauthorized)
    }
}

fn endpoint_from(row: &AnyRow) -> Result<WebhookEndpoint, StoreError> {
    let types: String = row.try_get("event_types")?;
    let team: Option<String> = row.try_get("team_id")?;
    Ok(WebhookEndpoint {
        id: WebhookEndpointId::parse(&row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        event_types: serde_json::from_str(&types)
            .map_err(|_| StoreError::Corrupt("webhook_endpoints.event_types is not a list".into()))?,
        team: team.as_deref().map(TeamId::parse).transpose()?,
        run_as: UserId::parse(&row.try_get::<String, _>("run_as")?)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        previous_until: row.try_get::<Option<i64>, _>("previous_until")?.map(UnixMillis),
        created_by: UserId::parse(&row.try_get::<String, _>("created_by")?)?,
        created_at: UnixMillis(row.try_get("created_at")?),
        updated_at: UnixMillis(row.try_get("updated_at")?),
    })
}

fn delivery_from(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    Ok(WebhookDelivery {
        id: WebhookDeliveryId::parse(&row.try_get::<String, _>("id")?)?,
        event_type: row.try_get("event_type")?,
        ticket: TicketId::parse(&row.try_get::<String, _>("ticket_id")?)?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: UnixMillis(row.try_get("next_attempt_at")?),
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: UnixMillis(row.try_get("created_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(UnixMillis),
    })
}

fn types_json(types: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(types).map_err(|e| StoreError::Invalid(format!("event types: {e}")))
}

impl Store {
    /// Registers an endpoint signing with `secret` (its `whsec_…` text).
    pub async fn create_webhook_endpoint(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        created_by: &UserId,
        endpoint: &WebhookEndpointChange,
        secret: &[u8],
    ) -> Result<WebhookEndpointId, StoreError> {
        may_manage(proof)?;
        let id = WebhookEndpointId::generate();
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, TABLE, "secret_enc", id.as_str(), secret)?;
        let now = self.now().0;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, name, url, event_types, team_id, run_as, secret_enc, enabled, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.as_str())
        .bind(&endpoint.name)
        .bind(&endpoint.url)
        .bind(types_json(&endpoint.event_types)?)
        .bind(endpoint.team.as_ref().map(TeamId::as_str))
        .bind(endpoint.run_as.as_str())
        .bind(sealed)
        .bind(flag(endpoint.enabled))
        .bind(created_by.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    /// Changes what an endpoint receives and where; `NotFound` if there is none.
    pub async fn update_webhook_endpoint(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &WebhookEndpointId,
        endpoint: &WebhookEndpointChange,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET name = $1, url = $2, event_types = $3, team_id = $4, run_as = $5, \
             enabled = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(&endpoint.name)
        .bind(&endpoint.url)
        .bind(types_json(&endpoint.event_types)?)
        .bind(endpoint.team.as_ref().map(TeamId::as_str))
        .bind(endpoint.run_as.as_str())
        .bind(flag(endpoint.enabled))
        .bind(self.now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces the secret; the one it replaces keeps signing until `previous_until`,
    /// so receivers can change over without losing a delivery.
    pub async fn rotate_webhook_secret(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &WebhookEndpointId,
        secret: &[u8],
        previous_until: UnixMillis,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        let row = sqlx::query("SELECT secret_enc FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let old = Zeroizing::new(open_bytes(
            &key,
            TABLE,
            "secret_enc",
            id.as_str(),
            &row.try_get::<Vec<u8>, _>(0)?,
        )?);
        sqlx::query(
            "UPDATE webhook_endpoints SET secret_enc = $1, previous_secret_enc = $2, previous_until = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(seal(&key, TABLE, "secret_enc", id.as_str(), secret)?)
        .bind(seal(&key, TABLE, "previous_secret_enc", id.as_str(), &old)?)
        .bind(previous_until.0)
        .bind(self.now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Removes an endpoint and its deliveries, sent or not.
    pub async fn delete_webhook_endpoint(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &WebhookEndpointId,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(endpoint_from).collect()
    }

    pub async fn webhook_endpoint(&self, id: &WebhookEndpointId) -> Result<WebhookEndpoint, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        endpoint_from(&row)
    }

    /// The secrets that sign for `id` now (the previous one only while its overlap
    /// lasts).
    pub async fn webhook_secrets(&self, id: &WebhookEndpointId) -> Result<WebhookSecrets, StoreError> {
        let row = sqlx::query(
            "SELECT secret_enc, previous_secret_enc, previous_until FROM webhook_endpoints WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        let current = Zeroizing::new(open_bytes(
            &key,
            TABLE,
            "secret_enc",
            id.as_str(),
            &row.try_get::<Vec<u8>, _>(0)?,
        )?);
        let until: Option<i64> = row.try_get(2)?;
        let previous = match (row.try_get::<Option<Vec<u8>>, _>(1)?, until) {
            (Some(sealed), Some(until)) if until > self.now().0 => Some(Zeroizing::new(open_bytes(
                &key,
                TABLE,
                "previous_secret_enc",
                id.as_str(),
                &sealed,
            )?)),
            _ => None,
        };
        Ok(WebhookSecrets { current, previous })
    }

    /// Queues `event_seq` for `endpoint`, in the caller's transaction; once only
    /// (an event handed over twice queues one delivery).
    pub async fn enqueue_webhook(
        &self,
        tx: &mut Tx,
        endpoint: &WebhookEndpointId,
        event_seq: i64,
        event_type: &str,
        ticket: &TicketId,
    ) -> Result<(), StoreError> {
        let now = self.now().0;
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, event_type, ticket_id, next_attempt_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (endpoint_id, event_seq) DO NOTHING",
        )
        .bind(WebhookDeliveryId::generate().as_str())
        .bind(endpoint.as_str())
        .bind(event_seq)
        .bind(event_type)
        .bind(ticket.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Claims the oldest due delivery whose ticket has nothing earlier pending for the
    /// same endpoint, for `lease_ms`. The lease is re-checked in the outer UPDATE, so a
    /// race between nodes ends with one winner.
    pub async fn claim_webhook_delivery(
        &self,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let now = self.now().0;
        let row = sqlx::query(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT d.id FROM webhook_deliveries d \
                         WHERE d.status = 'pending' AND d.next_attempt_at <= $3 AND d.lease_until <= $3 \
                           AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.enabled = 1) \
                           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                                           WHERE e.endpoint_id = d.endpoint_id AND e.ticket_id = d.ticket_id \
                                             AND e.status = 'pending' AND e.event_seq < d.event_seq) \
                         ORDER BY d.next_attempt_at, d.event_seq LIMIT 1) \
               AND status = 'pending' AND lease_until <= $3 \
             RETURNING id, endpoint_id, event_seq, event_type, ticket_id, attempts",
        )
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimedDelivery {
            id: WebhookDeliveryId::parse(&row.try_get::<String, _>(0)?)?,
            endpoint: WebhookEndpointId::parse(&row.try_get::<String, _>(1)?)?,
            event_seq: row.try_get(2)?,
            event_type: row.try_get(3)?,
            ticket: TicketId::parse(&row.try_get::<String, _>(4)?)?,
            attempts: row.try_get(5)?,
        }))
    }

    /// Records how a claimed delivery went: `retry_at` set means it is tried again
    /// then; otherwise it ends as `status` (delivered, failed or skipped). False if
    /// the lease was lost meanwhile (another node has it).
    pub async fn finish_webhook_attempt(
        &self,
        id: &WebhookDeliveryId,
        worker: &str,
        outcome: &DeliveryOutcome<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now().0;
        let (status, next, finished) = match outcome.retry_at {
            Some(at) => ("pending", at.0, None),
            None => (outcome.status, now, Some(now)),
        };
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, finished_at = $3, last_status = $4, \
             last_error = $5, lease_until = 0, lease_owner = NULL WHERE id = $6 AND lease_owner = $7 \
             AND status = 'pending'",
        )
        .bind(status)
        .bind(next)
        .bind(finished)
        .bind(outcome.http_status.map(i64::from))
        .bind(outcome.error)
        .bind(id.as_str())
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back every delivery `worker` holds (it is stopping).
    pub async fn release_webhook_claims(&self, worker: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = 0, lease_owner = NULL \
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// The newest deliveries of an endpoint, newest first.
    pub async fn webhook_deliveries(
        &self,
        endpoint: &WebhookEndpointId,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 \
             ORDER BY created_at DESC, event_seq DESC LIMIT $2"
        )))
        .bind(endpoint.as_str())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(delivery_from).collect()
    }

    /// Pending and given-up deliveries of an endpoint.
    pub async fn webhook_delivery_counts(
        &self,
        endpoint: &WebhookEndpointId,
    ) -> Result<DeliveryCounts, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM webhook_deliveries WHERE endpoint_id = $1",
        )
        .bind(endpoint.as_str())
        .fetch_one(&self.read)
        .await?;
        Ok(DeliveryCounts {
            pending: row.try_get(0)?,
            failed: row.try_get(1)?,
        })
    }

    /// Sends a delivery that ended (given up, skipped or delivered) once more, from
    /// its first attempt: `NotFound` unless it belongs to `endpoint` and has ended.
    pub async fn redeliver_webhook(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        endpoint: &WebhookEndpointId,
        delivery: &WebhookDeliveryId,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
             finished_at = NULL, last_error = NULL, last_status = NULL, lease_until = 0, lease_owner = NULL \
             WHERE id = $2 AND endpoint_id = $3 AND status <> 'pending'",
        )
        .bind(self.now().0)
        .bind(delivery.as_str())
        .bind(endpoint.as_str())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// How one attempt went.
#[derive(Clone, Debug)]
pub struct DeliveryOutcome<'a> {
    /// delivered, failed or skipped: what the delivery ends as when not retried.
    pub status: &'a str,
    pub http_status: Option<u16>,
    /// Why it did not succeed, in words without content (no response body).
    pub error: Option<&'a str>,
    pub retry_at: Option<UnixMillis>,
}
