//! Security events to a SIEM. The audit trail is the queue: each destination keeps a
//! cursor (the last entry it took, in `event_subscriptions`, leased to one node at a
//! time across a cluster) and reads on from there in bounded batches, so nothing is
//! dropped while a collector is down — the entries wait in the database, which keeps
//! them anyway, and memory holds one batch at most. The cursor moves only after a
//! batch was delivered (see [`sink`]), so delivery is at least once; each entry carries
//! its sequence number and hash for the collector to drop repeats. A configured subset
//! (action prefixes) is sent; the rest is passed over.

mod error;
pub mod format;
mod sink;

use std::time::Duration;

use palisade_audit::AuditEntry;
use palisade_store::Store;

pub use error::SiemError;
pub use sink::{JsonLines, SyslogTls};

/// Entries read per round and destination.
const BATCH: u32 = 500;
/// A node that stops exporting hands over once this lapses.
const LEASE_MS: i64 = 60_000;
const ROUND: Duration = Duration::from_secs(1);
/// The longest wait between attempts at a collector that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One destination.
pub enum Destination {
    Syslog(SyslogTls),
    JsonLines(JsonLines),
}

impl Destination {
    /// Its cursor's name.
    fn cursor(&self) -> &'static str {
        match self {
            Self::Syslog(_) => "siem-syslog",
            Self::JsonLines(_) => "siem-jsonl",
        }
    }

    async fn send(&self, entries: &[&AuditEntry]) -> Result<(), SiemError> {
        match self {
            Self::Syslog(sink) => sink.send(entries).await,
            Self::JsonLines(sink) => sink.send(entries).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Syslog(sink) => format!("syslog {}", sink.address),
            Self::JsonLines(sink) => format!("JSON lines {}", sink.path.display()),
        }
    }
}

struct Tracked {
    destination: Destination,
    next_try: tokio::time::Instant,
    backoff: Duration,
}

pub struct Exporter {
    store: Store,
    node: String,
    /// Action prefixes to send (`auth.`, `security.`); empty: every entry.
    actions: Vec<String>,
    destinations: Vec<Tracked>,
}

impl Exporter {
    pub fn new(store: Store, node: &str, actions: Vec<String>, destinations: Vec<Destination>) -> Self {
        Self {
            store,
            node: node.to_owned(),
            actions,
            destinations: destinations
                .into_iter()
                .map(|destination| Tracked {
                    destination,
                    next_try: tokio::time::Instant::now(),
                    backoff: ROUND,
                })
                .collect(),
        }
    }

    fn wanted(&self, entry: &AuditEntry) -> bool {
        self.actions.is_empty() || self.actions.iter().any(|p| entry.action.starts_with(p.as_str()))
    }

    /// One batch to each destination that is due and whose cursor this node holds;
    /// returns the most entries any destination read (a full batch: more wait). A
    /// destination that fails waits, doubling up to a minute, without holding up the
    /// others.
    pub async fn run_once(&mut self) -> usize {
        let mut read = 0;
        for index in 0..self.destinations.len() {
            if tokio::time::Instant::now() < self.destinations[index].next_try {
                continue;
            }
            match self.export(index).await {
                Ok(n) => {
                    read = read.max(n);
                    let tracked = &mut self.destinations[index];
                    tracked.backoff = ROUND;
                    tracked.next_try = tokio::time::Instant::now();
                }
                Err(e) => {
                    let tracked = &mut self.destinations[index];
                    tracing::warn!(error = %e, destination = %tracked.destination.describe(), retry_in = ?tracked.backoff, "exporting audit entries failed; they wait in the trail");
                    tracked.next_try = tokio::time::Instant::now() + tracked.backoff;
                    tracked.backoff = (tracked.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        read
    }

    async fn export(&self, index: usize) -> Result<usize, SiemError> {
        let destination = &self.destinations[index].destination;
        let cursor = destination.cursor();
        let Some(position) = self
            .store
            .lease_subscription(cursor, &self.node, LEASE_MS, 0)
            .await?
        else {
            return Ok(0);
        };
        let entries = self.store.audit_entries(position, BATCH).await?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let wanted: Vec<&AuditEntry> = entries.iter().filter(|e| self.wanted(e)).collect();
        if !wanted.is_empty() {
            destination.send(&wanted).await?;
        }
        if !self
            .store
            .advance_lease(cursor, &self.node, last, LEASE_MS)
            .await?
        {
            // Another node took the cursor meanwhile: it sends these again (at least once).
            tracing::warn!(cursor, "lost the export cursor mid-batch");
        }
        Ok(entries.len())
    }

    /// Exports until `stopping`; a round right after one that sent a full batch, so a
    /// backlog drains quickly, otherwise once a second.
    pub async fn run(mut self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stopping.borrow() {
                return;
            }
            if self.run_once().await >= BATCH as usize {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(ROUND) => {}
                _ = stopping.changed() => return,
            }
        }
    }
}
