use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use palisade_crypto::Keyring;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, AssertSqlSafe, ConnectOptions, Executor, Transaction};

use crate::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Handle to the database and the keys that seal what goes into it. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) read: AnyPool,
    /// SQLite allows one writer at a time; funnelling writes through one connection
    /// avoids lock-upgrade failures. On PostgreSQL this is the same pool as `read`.
    pub(crate) write: AnyPool,
    pub(crate) dialect: Dialect,
    pub(crate) keys: Arc<Keyring>,
    /// When tickets, their messages and their events happen (tests move one by hand
    /// to lay out a month of traffic); sessions, tokens and leases keep the system's.
    pub(crate) clock: Arc<dyn palisade_core::Clock>,
    /// Told of each audit entry once its transaction commits (metrics).
    pub(crate) audit_tap: Option<Arc<dyn AuditTap>>,
    /// When this handle last looked for a master-key rotation under way (ms).
    pub(crate) learned_at: Arc<std::sync::atomic::AtomicI64>,
    /// Set once a root rotation away from this node's root was seen: no transaction
    /// begins after that (what it wrote would be keyed under a retired root).
    pub(crate) fenced: Arc<std::sync::atomic::AtomicBool>,
}

/// Hears of audit entries once they are committed: rolled-back entries never count.
pub trait AuditTap: Send + Sync {
    fn committed(&self, action: &'static str, outcome: &'static str);
}

/// A write transaction. Dropping it without `commit` rolls everything back, audit
/// entries included.
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
    pub(crate) dialect: Dialect,
    pub(crate) audit_tap: Option<Arc<dyn AuditTap>>,
    /// The entries appended in this transaction, for the tap (only kept when tapped).
    pub(crate) audited: Vec<(&'static str, &'static str)>,
    /// The store's fence (see `Store::fenced`), read again at commit: a transaction
    /// that began before its node saw a root rotation, and waited for a connection or
    /// a lock meanwhile, must not commit what it keyed under the retired root.
    pub(crate) fenced: Arc<std::sync::atomic::AtomicBool>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        if self.fenced.load(std::sync::atomic::Ordering::SeqCst) {
            self.inner.rollback().await?;
            return Err(StoreError::RetiredRoot);
        }
        self.inner.commit().await?;
        if let Some(tap) = &self.audit_tap {
            for (action, outcome) in &self.audited {
                tap.committed(action, outcome);
            }
        }
        Ok(())
    }

    pub(crate) fn note_audited(&mut self, action: &'static str, outcome: &'static str) {
        if self.audit_tap.is_some() {
            self.audited.push((action, outcome));
        }
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

impl Store {
    /// Takes the time tickets, messages and events happen at from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn palisade_core::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tells `tap` of every audit entry this handle (and its clones made after) commits.
    pub fn with_audit_tap(mut self, tap: Arc<dyn AuditTap>) -> Self {
        self.audit_tap = Some(tap);
        self
    }

    /// Now, as tickets, messages and events are stamped.
    pub(crate) fn now(&self) -> palisade_core::UnixMillis {
        self.clock.now()
    }

    /// Opens the database at `url` (`sqlite://path` or `postgres://…`), applies pending
    /// migrations (safe when several nodes start at once) and checks that `keys` opens
    /// the database's data keys.
    pub async fn connect(url: &str, keys: Arc<Keyring>) -> Result<Self, StoreError> {
        Self::connect_with(url, keys, false).await
    }

    /// As [`Store::connect`], for `keys rotate-root` with the new root: the one
    /// process let in while its rotation is under way.
    pub async fn connect_rotating_root(url: &str, keys: Arc<Keyring>) -> Result<Self, StoreError> {
        Self::connect_with(url, keys, true).await
    }

    async fn connect_with(url: &str, keys: Arc<Keyring>, rotating_root: bool) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(StoreError::Corrupt(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        };
        // Several PostgreSQL servers (libpq's `host1,host2` list): the pools use the one
        // that is the primary and follow it when another is promoted.
        let candidates = crate::primary::candidate_urls(url)?;
        let (options, follower) = if candidates.len() > 1 {
            let (follower, options) = crate::primary::Follower::start(&candidates).await?;
            (options, Some(follower))
        } else {
            (
                AnyConnectOptions::from_str(url)?.disable_statement_logging(),
                None,
            )
        };
        // No ping before each use: it was a round trip (and, on the read path, a third
        // of the queries) per request. A connection the server dropped fails the one
        // query that finds out and is then closed by the pool, and every pooled
        // connection is replaced within `max_lifetime` anyway.
        let pool = || {
            let options = AnyPoolOptions::new()
                .test_before_acquire(false)
                .max_lifetime(Duration::from_secs(30 * 60))
                .idle_timeout(Duration::from_secs(10 * 60));
            match follower.clone() {
                None => options,
                // After a failover, connections opened to the old primary are dropped
                // unused rather than each failing one request; a new connection that
                // reached a standby is refused.
                Some(follower) => options
                    .before_acquire(move |_, meta| {
                        let fresh = !follower.is_stale(meta.age);
                        Box::pin(async move { Ok(fresh) })
                    })
                    .after_connect(|c, _| Box::pin(crate::primary::refuse_standby(c))),
            }
        };
        let (read, write) = match dialect {
            Dialect::Sqlite => {
                let write = pool()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|c, _| Box::pin(sqlite_writer_pragmas(c)))
                    .connect_with(options.clone())
                    .await?;
                let read = pool()
                    .max_connections(8)
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c)))
                    .connect_with(options)
                    .await?;
                (read, write)
            }
            // Two pools, as for SQLite: a transaction holds a write connection while the
            // code inside it also reads (data keys, lookups). With one shared pool, as
            // many concurrent transactions as connections would each wait for a second
            // connection that never frees up (seen at 64 concurrent SMTP senders).
            Dialect::Postgres => {
                let write = pool()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.clone())
                    .await?;
                let read = pool()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                (read, write)
            }
        };
        let store = Self {
            read,
            write,
            dialect,
            keys,
            clock: Arc::new(palisade_core::SystemClock),
            audit_tap: None,
            learned_at: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            fenced: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        crate::migrate::run(&store).await?;
        // A rotation may be under way (its new key is learned) or finished (a node
        // with the key it retired must not start).
        store.learn_wrapping_keys().await?;
        if store.retired_at().await?.is_some() {
            return Err(StoreError::RetiredMasterKey);
        }
        if store.refuse_root_in_rotation(rotating_root).await? {
            // `keys rotate-root --abort` with the old root: it writes nothing at start
            // (a rewrite finishing meanwhile must not meet terms keyed under the old root).
            return Ok(store);
        }
        store.refuse_retired_audit_key().await?;
        store.ensure_org_key().await?;
        store.hold_retired_roots().await?;
        // Only now: a node that fails to start must not leave a watcher behind.
        if let Some(follower) = follower {
            follower.watch(store.read.clone(), store.write.clone());
        }
        let indexed = store.index_unindexed_people().await?;
        if indexed > 0 {
            tracing::info!(accounts = indexed, "indexed people for search");
        }
        let folded = store.fold_unfolded_field_values().await?;
        if folded > 0 {
            tracing::info!(values = folded, "folded custom field values for search");
        }
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        if self.fenced.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::RetiredRoot);
        }
        // SQLite: take the write lock at the start. Within this process writes already
        // take turns on one connection; another process writing the same file (a CLI
        // command beside `serve`) then makes this wait (busy_timeout) instead of failing
        // with "database is locked" when a read inside the transaction turns into a write.
        let inner = match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.write.begin().await?,
        };
        Ok(Tx {
            inner,
            dialect: self.dialect,
            audit_tap: self.audit_tap.clone(),
            audited: Vec::new(),
            fenced: self.fenced.clone(),
        })
    }

    /// Row count of one of Palisade's tables (for operators' statistics and for tests
    /// proving that a refused request changed nothing).
    pub async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: &[&str] = &[
            "users",
            "teams",
            "team_members",
            "companies",
            "tickets",
            "messages",
            "attachments",
            "ticket_tags",
            "ticket_collaborators",
            "sessions",
            "setup_tokens",
            "audit_log",
            "audit_checkpoints",
            "search_terms",
            "search_pending",
            "people_terms",
            "data_keys",
            "throttle",
            "api_tokens",
            "outbox",
            "domain_events",
            "quarantine",
            "bounced_addresses",
            "known_domains",
            "mail_provenance",
            "used_token_ids",
            "articles",
            "article_versions",
            "assistant_conversations",
            "assistant_messages",
            "assistant_preferences",
            "rate_windows",
            "security_alerts",
            "notifications",
            "sla_timers",
            "automation_rules",
            "rule_runs",
            "satisfaction",
            "satisfaction_links",
            "ticket_targets",
            "advisory_checks",
            "retention_schedules",
            "retention_runs",
            "webhook_endpoints",
            "webhook_deliveries",
        ];
        let table = TABLES
            .iter()
            .find(|t| **t == table)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown table {table}")))?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&self.read)
            .await?;
        Ok(sqlx::Row::try_get(&row, 0)?)
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// `$1, $2, …` starting after `offset` existing parameters; both SQLite and PostgreSQL
/// accept numbered parameters, so one statement text serves both.
pub(crate) fn placeholders(offset: usize, count: usize) -> String {
    (1..=count)
        .map(|i| format!("${}", offset + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO <target> VALUES (…), (…)` for `rows` rows of `columns` parameters.
pub(crate) fn multi_row_insert(target: &str, columns: usize, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("({})", placeholders(i * columns, columns)))
        .collect();
    format!("INSERT INTO {target} VALUES {}", values.join(", "))
}

pub(crate) fn flag(v: bool) -> i64 {
    i64::from(v)
}

/// WAL lets readers proceed during a write; FULL sync keeps an acknowledged write across
/// power loss; foreign keys are off by default in SQLite. Reads map the database file
/// (no copy per page read) up to 256 MiB of address space.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
         PRAGMA mmap_size = 268435456;",
    )
    .await?;
    Ok(())
}

/// The writer checkpoints every 40 MB of WAL rather than every 4 MB, so a page written
/// many times between checkpoints is copied back once, and keeps statement journals (a
/// multi-row INSERT's undo) in memory, not in a temporary file. (A larger page cache was
/// measured and made writes slower: SQLite scans it at the end of every transaction.)
async fn sqlite_writer_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlite_pragmas(conn).await?;
    conn.execute("PRAGMA wal_autocheckpoint = 10000; PRAGMA temp_store = MEMORY;")
        .await?;
    Ok(())
}

/// `($1, $2), ($3, $4), …`: the VALUES list of a multi-row INSERT of `rows` rows of
/// `columns` parameters each, numbered in bind order.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=columns).map(|c| format!("${}", row * columns + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod value_rows_tests {
    #[test]
    fn parameters_are_numbered_in_bind_order() {
        assert_eq!(super::value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::value_rows(1, 2), "($1, $2)");
    }
}
