//! The periodic work `serve` runs beside the listeners: digests, escalations, rules
//! and assignment, the malware-scan sweep, refused attempts remembered in memory, the
//! search index's merge, the retention schedules and the audit head's checkpoints.
//! Each loop stops with the server (or, for checkpoints, with the process: the last
//! one is signed on the way out).

use std::time::Duration;

const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// Sends agents' notification digests once an hour (each node may try; a digest's
/// notifications are taken in the transaction that queues its mail, so each goes once).
pub(super) async fn notification_digests(
    desk: palisade_service::Desk,
    public_origin: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.changed() => return,
        }
        if let Err(e) = desk.send_notification_digests(&public_origin).await {
            tracing::error!(error = %e, "sending notification digests failed");
        }
    }
}

/// Fires the service-level escalation steps that fell due: every half minute, and at
/// once again while a round was full. Several nodes may run it; each step fires once.
pub(super) async fn escalations(
    desk: palisade_service::Desk,
    public_origin: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let wait = match desk.escalate(&public_origin).await {
            Ok(fired) if fired >= 100 => Duration::ZERO,
            Ok(_) => Duration::from_secs(30),
            Err(e) => {
                tracing::error!(error = %e, "service-level escalations failed");
                Duration::from_secs(30)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Makes the triggers' and automations' queued runs and gives teams' waiting tickets
/// to their agents every two seconds (at once again while a round was full), and
/// queues the automations that fell due every minute. Several nodes may run it; each
/// run is made once and each ticket assigned once.
pub(super) async fn rules(
    desk: palisade_service::Desk,
    public_origin: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        if last_sweep.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            last_sweep = Some(std::time::Instant::now());
            if let Err(e) = desk.sweep_automations().await {
                tracing::error!(error = %e, "queueing automations failed");
            }
        }
        if let Err(e) = desk.assign_waiting().await {
            tracing::error!(error = %e, "assigning waiting tickets failed");
        }
        let wait = match desk.run_rules(&public_origin).await {
            Ok(made) if made >= 100 => Duration::ZERO,
            Ok(_) => Duration::from_secs(2),
            Err(e) => {
                tracing::error!(error = %e, "running rules failed");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Judges the files still waiting for the malware scanner (stored while it was down,
/// or before scanning was turned on): at once while there are more, otherwise every
/// few seconds. Until then they are not served.
pub(super) async fn scan_sweep(
    desk: palisade_service::Desk,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut warned = false;
    loop {
        let wait = match desk.scan_waiting().await {
            Ok(round) if round.clean + round.infected > 0 => Duration::ZERO,
            Ok(_) => {
                warned = false;
                Duration::from_secs(5)
            }
            Err(e) => {
                // Once per outage, not every five seconds.
                if !warned {
                    tracing::error!(error = %e, "malware scanner unavailable: files wait until it answers");
                    warned = true;
                }
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Builds subject-access exports as they are asked for (every few seconds; several
/// nodes may look, and only one stores each).
pub(super) async fn build_exports(
    desk: palisade_service::Desk,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let wait = match desk.build_pending_exports(5).await {
            Ok(0) => Duration::from_secs(5),
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::error!(error = %e, "building a subject-access export");
                Duration::from_secs(30)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Audits, once a minute, the sign-in and reset attempts refused from memory (from
/// sources the database had blocked): one entry per source, with how many.
pub(super) async fn remembered_refusals(
    identity: palisade_identity::Identity,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        let stop = tokio::select! {
            _ = tick.tick() => false,
            _ = stopping.changed() => true,
        };
        if let Err(e) = identity.audit_remembered_refusals().await {
            tracing::error!(error = %e, "auditing refused attempts failed");
        }
        if stop {
            return;
        }
    }
}

/// Moves texts' pending search terms into the term index, a batch at a time (see
/// `Store::merge_pending_terms`): every second, and at once while batches come back
/// full, with a pause between them so requests' writes keep their turn.
pub(super) async fn search_merge(
    store: palisade_store::Store,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    const BATCH: u32 = 1_000;
    let mut warned = false;
    loop {
        let wait = match store.merge_pending_terms(BATCH).await {
            Ok(moved) => {
                warned = false;
                if moved == BATCH as usize {
                    Duration::from_millis(100)
                } else {
                    Duration::from_secs(1)
                }
            }
            Err(e) => {
                if !warned {
                    tracing::error!(error = %e, "merging pending search terms failed; searches still find them");
                    warned = true;
                }
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Periodically signs the audit chain head, so entries removed from the end of the
/// trail are detectable up to the last checkpoint.
pub(super) async fn checkpoint_loop(store: palisade_store::Store) {
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    loop {
        tick.tick().await;
        match store.checkpoint_audit_head().await {
            // A node of an earlier key signed first after this one started: hand over
            // now rather than at the next restart (refused, and logged, if this key
            // is the retired one).
            Ok(palisade_store::HeadCheckpoint::NotThisNodesTurn) => {
                if let Err(e) = store.hand_over_audit_signing().await {
                    tracing::error!(error = %e, "handing audit checkpoint signing over to this node's key failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "signing an audit checkpoint failed"),
        }
        // Rate windows older than the longest limit's window count for nothing.
        let day_ago = palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 - 2 * 86_400_000);
        if let Err(e) = store.prune_rate_windows(day_ago).await {
            tracing::error!(error = %e, "pruning rate windows failed");
        }
        // Alerts are listed for 90 days; the audit trail keeps them for good.
        let listed_since = palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 - 90 * 86_400_000);
        if let Err(e) = store.prune_alerts(listed_since).await {
            tracing::error!(error = %e, "pruning security alerts failed");
        }
    }
}

/// Looks for a master-key rotation under way every few seconds, so this node holds
/// the new wrapping key before any data key moves under it (`keys rotate-master`
/// waits longer than this before it starts and before it retires the old key), and
/// for a root rotation away from this node's root: then it says so on `root_retired`
/// and returns (`keys rotate-root` waits as long for nodes to stop).
pub(super) async fn learn_wrapping_keys(
    store: palisade_store::Store,
    root_retired: tokio::sync::oneshot::Sender<()>,
) {
    let every = std::time::Duration::from_millis(palisade_store::LEARN_EVERY_MS.unsigned_abs() / 2);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = store.learn_wrapping_keys().await {
            tracing::warn!(error = %e, "looking for a master-key rotation failed");
        }
        match store.root_retired().await {
            Ok(true) => {
                let _ = root_retired.send(());
                return;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "looking for a root rotation failed"),
        }
    }
}

/// Runs the retention schedules once an hour (and soon after start, which also brings
/// a restored older backup back in line), on whichever node holds the lease.
pub(super) async fn retention(
    desk: palisade_service::Desk,
    node: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    const EVERY: Duration = Duration::from_secs(3600);
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.changed() => return,
        }
        let every_ms = i64::try_from(EVERY.as_millis()).unwrap_or(i64::MAX);
        match desk.run_retention_if_due(&node, every_ms).await {
            Ok(Some(run)) => tracing::info!(run = %run.id, counts = %run.counts, "retention schedules ran"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "running the retention schedules failed"),
        }
    }
}
