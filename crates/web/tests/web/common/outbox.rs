//! Reading the mail a test caused from the outbox, as the delivery worker would.

use std::time::Duration;

use palisade_core::{OutboxId, OutgoingMail};

use super::World;

/// Waits (bounded) for `n` queued messages of `kind`, handing the recorded events to
/// the subscribers meanwhile (as `serve`'s loop does), then reads them (claiming them,
/// as the worker would).
pub async fn mails(w: &World, kind: &str, n: usize) -> Vec<(OutboxId, OutgoingMail)> {
    for _ in 0..100 {
        w.dispatch().await;
        if w.store.outbox_ids(kind).await.unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut out = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == kind {
            out.push((claimed.id, serde_json::from_slice(&claimed.envelope).unwrap()));
        }
    }
    out
}

pub fn link_path(mail: &OutgoingMail) -> String {
    let url = mail
        .text
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .expect("a link");
    url.strip_prefix(super::ORIGIN).unwrap().to_owned()
}
