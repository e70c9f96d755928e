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
    let (index, connection) = find_primary(&options, 0, STARTUP_WAIT).await?;
    let _ = connection.close().await;
    Ok(candidates[index].clone())
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
        let labels = urls.iter().map(|u| host_label(u)).collect();
        let (index, connection) = find_primary(&candidates, 0, STARTUP_WAIT).await?;
        let _ = connection.close().await;
        let options = candidates[index].clone();
        let follower = Arc::new(Follower {
            candidates,
            labels,
            current: AtomicUsize::new(index),
            moved_at: Mutex::new(None),
        });
        tracing::info!(primary = %follower.labels[index], "database primary found");
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
            loop {
                tokio::time::sleep(CHECK_EVERY).await;
                if write.is_closed() {
                    return;
                }
                if let Some(connection) = watching.as_mut()
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
                let Ok((found, connection)) = find_primary(&self.candidates, current, Duration::ZERO).await
                else {
                    tracing::warn!(
                        was = %self.labels[current],
                        "no database server answers as primary; retrying every second"
                    );
                    continue;
                };
                watching = Some(connection);
                if found != current {
                    read.set_connect_options(self.candidates[found].clone());
                    write.set_connect_options(self.candidates[found].clone());
                    if let Ok(mut moved_at) = self.moved_at.lock() {
                        *moved_at = Some(Instant::now());
                    }
                    self.current.store(found, Ordering::SeqCst);
                    tracing::warn!(
                        from = %self.labels[current],
                        to = %self.labels[found],
                        "database primary moved: new connections go to the promoted server"
                    );
                }
            }
        });
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

/// The first candidate, starting at `first` and going round, that answers and is not
/// in recovery, with a connection to it. Tries again for up to `wait`.
async fn find_primary(
    candidates: &[AnyConnectOptions],
    first: usize,
    wait: Duration,
) -> Result<(usize, AnyConnection), StoreError> {
    let deadline = Instant::now() + wait;
    loop {
        for offset in 0..candidates.len() {
            let index = (first + offset) % candidates.len();
            let probe = async {
                let mut connection = AnyConnection::connect_with(&candidates[index]).await?;
                let standby = in_recovery(&mut connection).await?;
                Ok::<_, sqlx::Error>((standby, connection))
            };
            if let Ok(Ok((false, connection))) = tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                return Ok((index, connection));
            }
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

/// `host:port` of a single-server URL.
fn host_label(url: &str) -> String {
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
        assert_eq!(host_label(&urls[1]), "[::1]:5433");
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
