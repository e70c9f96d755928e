//! Posting queued deliveries: claimed one at a time with a lease (any node may send),
//! built and signed at sending, posted through the SSRF-safe client (public addresses
//! only unless the operator allowed a host, the connection made to the address judged,
//! no redirects, bounded time and size), and retried with back-off until they succeed
//! or the schedule runs out.

use std::sync::Arc;
use std::time::Duration;

use palisade_core::{Scope, UnixMillis};
use palisade_crypto::{WebhookSecret, signature_header};
use palisade_outbound::HttpClient;
use palisade_store::{ClaimedDelivery, DeliveryOutcome, StoreError};

use super::payload::Withheld;
use crate::{Desk, ServiceError};

/// Seconds before each retry: the first comes after 5 s, the last about two days after
/// the event; a receiver down for a day loses nothing.
pub const RETRY_AFTER_SECS: [i64; 11] = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400];
/// Longer than one attempt can take (the client's bound), so a lease never lapses
/// while its holder is still sending.
const LEASE_MS: i64 = 60_000;
/// Deliveries sent at once by one node: a slow receiver holds one of them, not all.
const PARALLEL: usize = 4;
/// Deliveries one round sends at most before the loop looks at its stop signal.
const ROUND: usize = 200;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct WebhookSender {
    inner: Arc<Inner>,
}

struct Inner {
    desk: Desk,
    client: HttpClient,
    worker: String,
}

/// How one attempt ended.
enum Attempt {
    Delivered(u16),
    Refused {
        status: Option<u16>,
        error: String,
    },
    Withheld(Withheld),
    /// The endpoint's account cannot act any more: retrying would not help.
    NoAccount,
}

impl WebhookSender {
    /// Sends with `client` (whose allowed hosts are the operator's); `worker` names
    /// this node in the leases.
    pub fn new(desk: Desk, client: HttpClient, worker: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                desk,
                client: client.with_timeout(ATTEMPT_TIMEOUT),
                worker: worker.into(),
            }),
        }
    }

    /// Sends what is due, several at once; returns how many attempts were made.
    pub async fn run_once(&self) -> Result<usize, ServiceError> {
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..PARALLEL {
            let sender = self.clone();
            lanes.spawn(async move { sender.lane().await });
        }
        let mut attempts = 0;
        let mut failure = None;
        while let Some(done) = lanes.join_next().await {
            match done {
                Ok(Ok(n)) => attempts += n,
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert(ServiceError::Reaction(format!("webhook lane: {e}")));
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(attempts),
        }
    }

    async fn lane(&self) -> Result<usize, ServiceError> {
        let store = self.inner.desk.store();
        let mut attempts = 0;
        while attempts < ROUND / PARALLEL {
            let Some(claimed) = store.claim_webhook_delivery(&self.inner.worker, LEASE_MS).await? else {
                break;
            };
            attempts += 1;
            // A failure of this desk's own (the database, a stored secret) is retried
            // like a receiver's, so the delivery neither stalls its ticket nor loops.
            let attempt = match self.attempt(&claimed).await {
                Ok(attempt) => attempt,
                Err(e) => {
                    tracing::warn!(error = %e, delivery = %claimed.id, "preparing a webhook failed");
                    Attempt::Refused {
                        status: None,
                        error: "the desk could not prepare this delivery".into(),
                    }
                }
            };
            let error_text;
            let outcome = match &attempt {
                Attempt::Delivered(status) => DeliveryOutcome {
                    status: "delivered",
                    http_status: Some(*status),
                    error: None,
                    retry_at: None,
                },
                Attempt::Refused { status, error } => {
                    error_text = error.clone();
                    DeliveryOutcome {
                        status: "failed",
                        http_status: *status,
                        error: Some(&error_text),
                        retry_at: retry_after(claimed.attempts)
                            .map(|secs| UnixMillis(self.inner.desk.now() + secs * 1000)),
                    }
                }
                Attempt::Withheld(why) => DeliveryOutcome {
                    status: "skipped",
                    http_status: None,
                    error: Some(why.reason()),
                    retry_at: None,
                },
                Attempt::NoAccount => DeliveryOutcome {
                    status: "failed",
                    http_status: None,
                    error: Some("the endpoint's account is disabled or gone"),
                    retry_at: None,
                },
            };
            store
                .finish_webhook_attempt(&claimed.id, &self.inner.worker, &outcome)
                .await?;
        }
        Ok(attempts)
    }

    async fn attempt(&self, claimed: &ClaimedDelivery) -> Result<Attempt, ServiceError> {
        let desk = &self.inner.desk;
        let store = desk.store();
        let endpoint = match store.webhook_endpoint(&claimed.endpoint).await {
            Ok(e) => e,
            Err(StoreError::NotFound) => return Ok(Attempt::Withheld(Withheld::Gone)),
            Err(e) => return Err(e.into()),
        };
        // What the endpoint asks for now: a ticket moved to another team, or an event
        // type taken off the endpoint since it was queued, is not sent.
        if !endpoint.event_types.contains(&claimed.event_type) {
            return Ok(Attempt::Withheld(Withheld::NotReadable));
        }
        if let Some(team) = &endpoint.team {
            match store.get_ticket(&claimed.ticket).await {
                Ok(ticket) if ticket.team == *team => {}
                Ok(_) => return Ok(Attempt::Withheld(Withheld::NotReadable)),
                Err(StoreError::NotFound) => return Ok(Attempt::Withheld(Withheld::Gone)),
                Err(e) => return Err(e.into()),
            }
        }
        let account = match store.get_user(&endpoint.run_as).await {
            Ok(user) if user.role.is_staff() && !user.disabled && !user.erased => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(Attempt::NoAccount),
            Err(e) => return Err(e.into()),
        };
        let mut principal = desk.principal_of(&account.id).await?;
        // A webhook reads; nothing it is sent can come from a right to change things.
        principal.scopes = Some(vec![Scope::TicketsRead]);
        let event = store
            .events_after(claimed.event_seq - 1, 1)
            .await?
            .into_iter()
            .find(|e| e.seq == claimed.event_seq);
        let Some(event) = event else {
            return Ok(Attempt::Withheld(Withheld::Gone));
        };
        let payload = match desk.webhook_payload(&principal, &event, &claimed.ticket).await? {
            Ok(payload) => payload,
            Err(withheld) => return Ok(Attempt::Withheld(withheld)),
        };
        let body = serde_json::to_vec(&payload).map_err(|e| ServiceError::Reaction(e.to_string()))?;
        let secrets = store.webhook_secrets(&endpoint.id).await?;
        let current = parse_secret(&secrets.current)?;
        let previous = secrets.previous.as_ref().map(|p| parse_secret(p)).transpose()?;
        let signing: Vec<&WebhookSecret> = std::iter::once(&current).chain(previous.as_ref()).collect();
        // The receiver compares this with its own clock: the real time of sending,
        // whatever clock the desk's decisions run on.
        let timestamp = UnixMillis::now().0 / 1000;
        let signature = signature_header(&signing, claimed.id.as_str(), timestamp, &body);
        let request = http::Request::post(&endpoint.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "Palisade-Webhooks/1")
            .header("webhook-id", claimed.id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let request = match request {
            Ok(r) => r,
            Err(_) => {
                return Ok(Attempt::Refused {
                    status: None,
                    error: "the endpoint's URL cannot be requested".into(),
                });
            }
        };
        Ok(match self.inner.client.send(request).await {
            Ok(response) if response.status().is_success() => Attempt::Delivered(response.status().as_u16()),
            Ok(response) if response.status().is_redirection() => Attempt::Refused {
                status: Some(response.status().as_u16()),
                error: "the receiver answered with a redirect, which is not followed".into(),
            },
            Ok(response) => Attempt::Refused {
                status: Some(response.status().as_u16()),
                error: format!("the receiver answered {}", response.status().as_u16()),
            },
            Err(e) => Attempt::Refused {
                status: None,
                error: e.to_string(),
            },
        })
    }

    /// Rounds until `shutdown` resolves: at once while there is work, otherwise every
    /// `idle`; on the way out the deliveries this node holds are given back.
    pub async fn run(
        self,
        idle: Duration,
        on_error: impl Fn(&ServiceError) + Send + Sync,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        crate::dispatch::rounds(|| self.run_once(), idle, &on_error, shutdown).await;
        if let Err(e) = self
            .inner
            .desk
            .store()
            .release_webhook_claims(&self.inner.worker)
            .await
        {
            on_error(&e.into());
        }
    }
}

/// Seconds until the retry after attempt number `attempts`, or `None` when it was the
/// last.
fn retry_after(attempts: i64) -> Option<i64> {
    usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| RETRY_AFTER_SECS.get(i).copied())
}

fn parse_secret(text: &[u8]) -> Result<WebhookSecret, ServiceError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| WebhookSecret::parse(t).ok())
        .ok_or_else(|| ServiceError::Store(StoreError::Corrupt("a webhook secret is not whsec_…".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_end() {
        assert_eq!(retry_after(1), Some(5));
        assert_eq!(retry_after(2), Some(30));
        assert_eq!(retry_after(11), Some(86_400));
        assert_eq!(retry_after(12), None);
        let total: i64 = RETRY_AFTER_SECS.iter().sum();
        assert!(total > 86_400 && total < 3 * 86_400, "{total}");
    }
}
