//! The domain-event dispatcher on SQLite and PostgreSQL: every event reaches each
//! subscriber, in order; two nodes dispatching at once hand each event over once (the
//! lease); a subscriber that fails gets the same event again (at least once), and what
//! it writes commits with its position (never twice).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use palisade_core::OutgoingMail;
use palisade_service::{Dispatcher, ReactionFuture, ServiceError, Subscriber};
use palisade_store::{DomainEventRecord, Store, Tx};
use palisade_testkit::Backend;

use crate::desk::Fixture;

palisade_testkit::on_both_backends!(
    every_event_reaches_a_subscriber_once_across_two_nodes,
    a_failing_subscriber_gets_the_event_again,
);

const KIND: &str = "test_recorder";

/// Queues one outbox row per event, its subject the event's number; fails the first
/// `failures` times it is called.
struct Recorder {
    store: Store,
    failures: AtomicUsize,
}

impl Subscriber for Recorder {
    fn name(&self) -> &'static str {
        "test_recorder"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(async move {
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(ServiceError::Reaction("the subscriber's peer is down".into()));
            }
            let mail = OutgoingMail {
                to: "log@desk.test".into(),
                subject: event.seq.to_string(),
                text: event.kind.clone(),
                ..OutgoingMail::default()
            };
            self.store.enqueue_mail(tx, KIND, &mail).await?;
            Ok(())
        })
    }
}

/// The event numbers the recorder handled, in the order it handled them.
async fn recorded(store: &Store) -> Vec<i64> {
    let mut seen = Vec::new();
    while let Some(claimed) = store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == KIND {
            let mail: OutgoingMail = serde_json::from_slice(&claimed.envelope).unwrap();
            seen.push(mail.subject.parse::<i64>().unwrap());
        }
    }
    seen
}

async fn every_event_reaches_a_subscriber_once_across_two_nodes(backend: Backend) {
    let f = Fixture::new(backend).await;
    let recorder = Arc::new(Recorder {
        store: f.store.clone(),
        failures: AtomicUsize::new(0),
    });
    let node_a = Dispatcher::new(f.store.clone(), "node-a").with_subscriber(recorder.clone());
    let node_b = Dispatcher::new(f.store.clone(), "node-b").with_subscriber(recorder.clone());
    // Subscribed before anything happened: it starts from now.
    assert_eq!(node_a.run_once().await.unwrap(), 0);
    for _ in 0..5 {
        f.ticket_of_team_a().await;
    }
    let events: Vec<i64> = f
        .store
        .events_after(0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(events.len(), 5);
    let (a, b) = tokio::join!(node_a.run_once(), node_b.run_once());
    let handled = a.unwrap() + b.unwrap();
    // Node A holds the lease, so node B handed nothing over.
    assert_eq!(handled, 5);
    assert_eq!(recorded(&f.store).await, events, "each once, in order");
    assert_eq!(
        node_a.run_once().await.unwrap() + node_b.run_once().await.unwrap(),
        0
    );
}

async fn a_failing_subscriber_gets_the_event_again(backend: Backend) {
    let f = Fixture::new(backend).await;
    let recorder = Arc::new(Recorder {
        store: f.store.clone(),
        failures: AtomicUsize::new(1),
    });
    let node = Dispatcher::new(f.store.clone(), "node-a").with_subscriber(recorder);
    node.run_once().await.unwrap();
    f.ticket_of_team_a().await;
    assert!(node.run_once().await.is_err(), "the first attempt fails");
    assert!(recorded(&f.store).await.is_empty(), "nothing of it committed");
    assert_eq!(node.run_once().await.unwrap(), 1, "the same event again");
    let events = f.store.events_after(0, 10).await.unwrap();
    assert_eq!(recorded(&f.store).await, [events[0].seq]);
}
