//! Handing the recorded domain events to their subscribers: at least once, in order,
//! on one node at a time per subscriber (a lease in the database, like the outbox's),
//! each event in a transaction that also moves the subscriber's position — so what a
//! subscriber writes to the database happens exactly once, and anything else it does
//! must be idempotent.

use std::sync::Arc;
use std::time::Duration;

use palisade_store::{DomainEventRecord, Store, Tx};

use crate::{ReactionFuture, ServiceError};

/// Something that acts on domain events after they are committed.
pub trait Subscriber: Send + Sync {
    /// The subscriber's stable name: its position is stored under it.
    fn name(&self) -> &'static str;
    /// Acts on one event, writing through `tx` (committed with the new position).
    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a>;
}

/// How long a node keeps a subscriber before another may take it over.
const LEASE_MS: i64 = 60_000;
/// Events handled per subscriber per round.
const BATCH: u32 = 100;

pub struct Dispatcher {
    store: Store,
    owner: String,
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl Dispatcher {
    /// `owner` names this node in the leases.
    pub fn new(store: Store, owner: impl Into<String>) -> Self {
        Self {
            store,
            owner: owner.into(),
            subscribers: Vec::new(),
        }
    }

    pub fn with_subscriber(mut self, subscriber: Arc<dyn Subscriber>) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// The subscribers' names, in the order they are fed (for their backlog metrics).
    pub fn subscriber_names(&self) -> Vec<&'static str> {
        self.subscribers.iter().map(|s| s.name()).collect()
    }

    /// One round: every subscriber this node can lease gets its waiting events (up to
    /// a batch each). Returns how many events were handled; a subscriber that fails
    /// stops at the failed event (it comes again next round) without holding up the
    /// others, and the round then reports the first failure.
    pub async fn run_once(&self) -> Result<usize, ServiceError> {
        let mut handled = 0;
        let mut failure = None;
        for subscriber in &self.subscribers {
            match self.feed(subscriber.as_ref()).await {
                Ok(n) => handled += n,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(handled),
        }
    }

    async fn feed(&self, subscriber: &dyn Subscriber) -> Result<usize, ServiceError> {
        // A subscriber added to a running desk starts from now.
        let start = self.store.last_event().await?;
        let Some(position) = self
            .store
            .lease_subscription(subscriber.name(), &self.owner, LEASE_MS, start)
            .await?
        else {
            return Ok(0);
        };
        let mut handled = 0;
        for event in self.store.events_after(position, BATCH).await? {
            let mut tx = self.store.begin().await?;
            subscriber.handle(&mut tx, &event).await?;
            if !self
                .store
                .advance_subscription(&mut tx, subscriber.name(), &self.owner, event.seq, LEASE_MS)
                .await?
            {
                // Another node has it now (or has done this one): leave it to them.
                break;
            }
            tx.commit().await?;
            handled += 1;
        }
        Ok(handled)
    }

    /// Rounds until `shutdown` resolves (see [`rounds`]).
    pub async fn run(
        self,
        idle: Duration,
        on_error: impl Fn(&ServiceError) + Send + Sync,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        rounds(|| self.run_once(), idle, &on_error, shutdown).await;
    }
}

/// Runs `round` until `shutdown` resolves: at once again while a round did work,
/// otherwise every `idle`. A failing round is reported to `on_error` and retried.
pub(crate) async fn rounds<Round, Done>(
    mut round: Round,
    idle: Duration,
    on_error: &(impl Fn(&ServiceError) + Send + Sync),
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) where
    Round: FnMut() -> Done,
    Done: std::future::Future<Output = Result<usize, ServiceError>>,
{
    loop {
        let wait = match round().await {
            Ok(n) if n > 0 => Duration::ZERO,
            Ok(_) => idle,
            Err(e) => {
                on_error(&e);
                idle
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}
