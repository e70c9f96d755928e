//! Following the PostgreSQL primary when the database URL names several servers, in
//! libpq's own syntax (`postgres://user@db1:5432,db2:5432/palisade`): writes go to the
//! one server that is not in recovery, and when it stops answering (or is demoted) the
//! pools move to whichever candidate has been promoted, without a restart.
//!
//! Why here and not a proxy: a TCP proxy such as HAProxy cannot tell a primary from a
//! standby without an extra health agent beside every database, and a proxy that
//! guesses wrong sends writes to a standby. Asking each server `pg_is_in_recovery()`
//! is the answer PostgreSQL itself gives, and it is what libpq's
//! `target_session_attrs=read-write` does for every other client (`pg_dump` included).
//!
//! Promotion itself is the operator's (or their cluster manager's) decision: Palisade
//! never promotes, it follows.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions as _, Connection as _};

use crate::StoreError;

/// How often the current primary is asked whether it still is one.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Every how many checks the other candidates are asked too.
const LOOK_AROUND_EVERY: u64 = 5;
/// How long one candidate may take to connect and answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `connect` waits for some candidate to be a primary (a failover may be
/// under way while a node starts).
const STARTUP_WAIT: Duration = Duration::from_secs(60);

/// The single-server URLs a database URL names, in order. A URL with one host comes
/// back as it is; with several, `target_session_attrs` (which must ask for a primary)
/// is dropped, since Palisade applies it itself.
pub fn candidate_urls(url: &str) -> Result<Vec<String>, StoreError> {
    let bad = |why: &str| StoreError::Invalid(format!("database URL: {why}"));
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(vec![url.to_owned()]);
    };
    if !(scheme == "postgres" || scheme == "postgresql") {
        return Ok(vec![url.to_owned()]);
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((user, hosts)) => (Some(user), hosts),
        None => (None, authority),
    };
    if !hosts.contains(',') {
        return Ok(vec![url.to_owned()]);
    }
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("target_session_attrs", "read-write" | "primary")) => {}
            Some(("target_session_attrs", _)) => {
                return Err(bad(
                    "with several hosts, target_session_attrs can only be read-write or primary: Palisade writes",
                ));
            }
            _ => kept.push(pair),
        }
    }
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    hosts
        .split(',')
        .map(|host| {
            if host.is_empty() {
                return Err(bad("an empty host in the host list"));
            }
            let user = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
            Ok(format!("{scheme}://{user}{host}{path}{query}"))
        })
        .collect()
}

/// The URL of the candidate that is the primary now (the URL itself when it names one
/// server), for tools that need the very server Palisade writes to (`pg_dump` inside
/// Palisade's snapshot, `pg_restore`).
pub async fn primary_url(url: &str) -> Result<String, StoreError> {
    let candidates = candidate_urls(url)?;
    if candidates.len() == 1 {
        return Ok(url.to_owned());
    }
    let options = parse_all(&candidates)?;
    let found = find_primary(&options, STARTUP_WAIT).await?;
    let _ = found.connection.close().await;
    Ok(candidates[found.index].clone())
}

fn parse_all(candidates: &[String]) -> Result<Vec<AnyConnectOptions>, StoreError> {
    candidates
        .iter()
        .map(|u| Ok(AnyConnectOptions::from_str(u)?.disable_statement_logging()))
        .collect()
}

/// The candidates, which one the pools use, and since when.
pub(crate) struct Follower {
    candidates: Vec<AnyConnectOptions>,
    /// `host:port` of each candidate, for the log (never the password).
    labels: Vec<String>,
    current: AtomicUsize,
    /// When the pools last moved: connections opened before then lead to the old
    /// server and are dropped instead of handed out.
    moved_at: Mutex<Option<Instant>>,
}

impl Follower {
    /// Parses the candidates and waits (bounded) for one of them to be a primary.
    pub(crate) async fn start(urls: &[String]) -> Result<(Arc<Follower>, AnyConnectOptions), StoreError> {
        let candidates = parse_all(urls)?;
        let labels = urls.iter().map(|u| database_host(u)).collect();
        let found = find_primary(&candidates, STARTUP_WAIT).await?;
        let index = found.index;
        let _ = found.connection.close().await;
        let options = candidates[index].clone();
        let follower = Arc::new(Follower {
            candidates,
            labels,
            current: AtomicUsize::new(index),
            moved_at: Mutex::new(None),
        });
        tracing::info!(primary = %follower.labels[index], "database primary found");
        follower.warn_if_split(found.claims);
        Ok((follower, options))
    }

    /// Whether a pooled connection of this age was opened before the pools last moved.
    pub(crate) fn is_stale(&self, age: Duration) -> bool {
        let moved_at = self.moved_at.lock().map(|m| *m).unwrap_or(None);
        moved_at.is_some_and(|at| age > at.elapsed())
    }

    /// Checks the primary every second and moves both pools when another candidate
    /// has become the primary. Ends when the pools are closed.
    pub(crate) fn watch(self: Arc<Self>, read: AnyPool, write: AnyPool) {
        tokio::spawn(async move {
            let mut watching: Option<AnyConnection> = None;
            let mut tick: u64 = 0;
            loop {
                tokio::time::sleep(CHECK_EVERY).await;
                if write.is_closed() {
                    return;
                }
                tick += 1;
                // Every few seconds the others are asked too, even while the primary in
                // use answers: a promotion elsewhere (its old primary not fenced) wins.
                let look_around = tick.is_multiple_of(LOOK_AROUND_EVERY);
                if !look_around
                    && let Some(connection) = watching.as_mut()
                    && matches!(
                        tokio::time::timeout(PROBE_TIMEOUT, in_recovery(connection)).await,
                        Ok(Ok(false))
                    )
                {
                    continue;
                }
                if let Some(lost) = watching.take() {
                    let _ = tokio::time::timeout(PROBE_TIMEOUT, lost.close()).await;
                }
                let current = self.current.load(Ordering::SeqCst);
                let Ok(found) = find_primary(&self.candidates, Duration::ZERO).await else {
                    tracing::warn!(
                        was = %self.labels[current],
                        "no database server answers as primary; retrying every second"
                    );
                    continue;
                };
                self.warn_if_split(found.claims);
                watching = Some(found.connection);
                if found.index != current {
                    read.set_connect_options(self.candidates[found.index].clone());
                    write.set_connect_options(self.candidates[found.index].clone());
                    if let Ok(mut moved_at) = self.moved_at.lock() {
                        *moved_at = Some(Instant::now());
                    }
                    self.current.store(found.index, Ordering::SeqCst);
                    tracing::warn!(
                        from = %self.labels[current],
                        to = %self.labels[found.index],
                        "database primary moved: new connections go to the promoted server"
                    );
                }
            }
        });
    }

    fn warn_if_split(&self, claims: usize) {
        if claims > 1 {
            tracing::error!(
                servers = claims,
                "several database servers claim to be primary: using the one on the newest timeline; \
                 fence the others (an old primary must be rebuilt as a standby)"
            );
        }
    }
}

async fn in_recovery(connection: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
        .fetch_one(connection)
        .await
}

/// Refuses a new pooled connection that reached a standby (a candidate demoted since
/// the pools last looked), so no write is ever tried on a read-only server.
pub(crate) async fn refuse_standby(connection: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if in_recovery(connection).await? {
        return Err(sqlx::Error::Protocol(
            "this database server is a standby; waiting for the primary".into(),
        ));
    }
    Ok(())
}

/// What probing the candidates found: the primary to use, a connection to it, and how
/// many candidates claim to be primary (more than one: an old primary was not fenced).
struct Found {
    index: usize,
    connection: AnyConnection,
    claims: usize,
}

/// The primary among the candidates: of those that answer and are not in recovery, the
/// one on the newest timeline (a promotion starts a new one, so an old primary that
/// was not fenced loses), the first in order on a tie. Tries again for up to `wait`.
async fn find_primary(candidates: &[AnyConnectOptions], wait: Duration) -> Result<Found, StoreError> {
    let deadline = Instant::now() + wait;
    loop {
        let mut best: Option<(u32, usize, AnyConnection)> = None;
        let mut claims = 0;
        for (index, options) in candidates.iter().enumerate() {
            let probe = async {
                let mut connection = AnyConnection::connect_with(options).await?;
                let timeline = primary_timeline(&mut connection).await?;
                Ok::<_, sqlx::Error>((timeline, connection))
            };
            let Ok(Ok((Some(timeline), connection))) = tokio::time::timeout(PROBE_TIMEOUT, probe).await
            else {
                continue;
            };
            claims += 1;
            match &best {
                Some((newest, _, _)) if *newest >= timeline => {
                    let _ = tokio::time::timeout(PROBE_TIMEOUT, connection.close()).await;
                }
                _ => {
                    if let Some((_, _, replaced)) = best.replace((timeline, index, connection)) {
                        let _ = tokio::time::timeout(PROBE_TIMEOUT, replaced.close()).await;
                    }
                }
            }
        }
        if let Some((_, index, connection)) = best {
            return Ok(Found {
                index,
                connection,
                claims,
            });
        }
        if Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!(
                "none of the {} database servers answers as primary",
                candidates.len()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The server's timeline when it is a primary; `None` for a standby. The timeline is
/// the first eight hex digits of the current WAL file's name (readable by any user,
/// unlike `pg_control_checkpoint()`).
async fn primary_timeline(connection: &mut AnyConnection) -> Result<Option<u32>, sqlx::Error> {
    if in_recovery(connection).await? {
        return Ok(None);
    }
    let file: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_current_wal_lsn())")
        .fetch_one(connection)
        .await?;
    file.get(..8)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .map(Some)
        .ok_or_else(|| sqlx::Error::Protocol("an unexpected WAL file name".into()))
}

/// The server part of a database URL (`host:port`, or every host of a libpq list),
/// without user, password, database or parameters: safe to show and log.
pub fn database_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_is_left_alone() {
        let url = "postgres://app:secret@db1:5432/palisade?sslmode=require";
        assert_eq!(candidate_urls(url).unwrap(), vec![url.to_owned()]);
        assert_eq!(
            candidate_urls("sqlite://x.db?mode=rwc").unwrap(),
            vec!["sqlite://x.db?mode=rwc"]
        );
    }

    #[test]
    fn several_hosts_become_one_url_each_with_the_same_user_path_and_options() {
        let urls = candidate_urls(
            "postgresql://app:s%40cret@db1:5432,[::1]:5433,db3/palisade?sslmode=require&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(
            urls,
            vec![
                "postgresql://app:s%40cret@db1:5432/palisade?sslmode=require",
                "postgresql://app:s%40cret@[::1]:5433/palisade?sslmode=require",
                "postgresql://app:s%40cret@db3/palisade?sslmode=require",
            ]
        );
        assert_eq!(database_host(&urls[1]), "[::1]:5433");
    }

    #[test]
    fn a_host_list_that_asks_for_a_standby_or_has_a_hole_is_refused() {
        assert!(candidate_urls("postgres://a,b/db?target_session_attrs=read-only").is_err());
        assert!(candidate_urls("postgres://a,,b/db").is_err());
        assert_eq!(
            candidate_urls("postgres://a,b/db?target_session_attrs=primary").unwrap(),
            vec!["postgres://a/db", "postgres://b/db"]
        );
    }

    #[test]
    fn a_connection_is_stale_only_when_opened_before_the_move() {
        let follower = Follower {
            candidates: Vec::new(),
            labels: Vec::new(),
            current: AtomicUsize::new(0),
            moved_at: Mutex::new(None),
        };
        assert!(!follower.is_stale(Duration::from_secs(3600)), "nothing moved yet");
        *follower.moved_at.lock().unwrap() = Some(Instant::now() - Duration::from_secs(5));
        assert!(follower.is_stale(Duration::from_secs(6)));
        assert!(!follower.is_stale(Duration::from_secs(4)));
    }
}
