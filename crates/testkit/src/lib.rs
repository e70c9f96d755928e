//! Test harness shared by the integration tests: throwaway databases (SQLite files, PostgreSQL databases on
//! the cluster scripts/test.sh starts), and raw dumps of what a backend actually stored, so tests can prove
//! that plaintext never reaches the disk; real peers (an OpenID provider in [`oidc`], headless Chromium through [`node`], an SMTP
//! sink in [`smtp`], a DNS server in [`dns`], a scripted adversarial language model in [`model`], ClamAV in
//! [`clamd`], Dovecot IMAP in [`dovecot`], a primary with a synchronous standby in [`pg_replica`]).
//!
//! PostgreSQL tests need `PALISADE_TEST_PG_URL` (an admin URL for a throwaway cluster, e.g.
//! `postgres://palisade@127.0.0.1:55432/postgres`). `scripts/test.sh` starts such a cluster and sets it.
//! Without it, [`TestDatabase::new`] for [`Backend::Postgres`] returns an error: tests fail loudly, they
//! never skip silently.

pub mod burst;
pub mod clamd;
pub mod dns;
pub mod dovecot;
pub mod jwt;
pub mod model;
pub mod node;
pub mod oidc;
pub mod pg_replica;
pub mod proxy;
pub mod rsyslog;
pub mod sensitive;
pub mod smtp;
pub mod softhsm;
pub mod webhook_receiver;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection as _, Row as _};

/// Environment variable holding the admin URL of the throwaway PostgreSQL cluster.
pub const PG_URL_ENV: &str = "PALISADE_TEST_PG_URL";

/// A storage backend the same scenarios run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Every backend, for tests that run one scenario on each.
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    /// Short lowercase name, for messages and test output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A directory removed (recursively) when the guard is dropped.
#[derive(Debug)]
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", random_hex(12)?));
        // create_dir (not create_dir_all) fails if the name already exists, so the directory is ours alone.
        std::fs::create_dir(&path).with_context(|| format!("creating temp dir {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A fresh, empty database for one test.
///
/// SQLite: a file in a new temp directory, removed when this value is dropped.
/// PostgreSQL: a new database with a random name on the cluster at `PALISADE_TEST_PG_URL`; it is left in
/// place (the whole cluster is thrown away by `scripts/test.sh`).
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL for the new database.
    pub url: String,
    /// Which backend this database lives on.
    pub backend: Backend,
    /// SQLite only: the database file.
    sqlite_file: Option<PathBuf>,
    /// SQLite only: keeps the temp directory alive until drop.
    _dir: Option<TempDir>,
}

impl TestDatabase {
    /// SQLite: a new file in a new temp dir (removed on drop), url `sqlite://<path>?mode=rwc`.
    /// Postgres: CREATE DATABASE with a random name on the cluster at `PALISADE_TEST_PG_URL`, url points
    /// to it.
    pub async fn new(backend: Backend) -> anyhow::Result<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new("palisade-test-sqlite")?;
                let file = dir.path.join("db.sqlite");
                let path = file
                    .to_str()
                    .ok_or_else(|| anyhow!("temp path is not UTF-8: {}", file.display()))?;
                Ok(TestDatabase {
                    url: format!("sqlite://{path}?mode=rwc"),
                    backend,
                    sqlite_file: Some(file),
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url(std::env::var(PG_URL_ENV).ok())?;
                let name = format!("palisade_test_{}", random_hex(8)?);
                let mut conn = PgConnection::connect(&admin_url)
                    .await
                    .with_context(|| format!("connecting to the test cluster at {PG_URL_ENV}={admin_url}"))?;
                // The name is [a-z0-9_] only, so it needs no quoting.
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                conn.close().await.ok();
                Ok(TestDatabase {
                    url: with_database(&admin_url, &name)?,
                    backend,
                    sqlite_file: None,
                    _dir: None,
                })
            }
        }
    }

    /// For SQLite: the path of the database file (to inspect raw bytes), None for Postgres.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    /// Everything this database stored, as bytes to search for plaintext markers.
    ///
    /// SQLite: the raw bytes of the database file, followed by its `-wal` and `-journal` files if present.
    /// Postgres: for each base table in the `public` schema, every row as `SELECT t::text FROM <table> t`
    /// (one line per row), followed by the raw bytes of every `bytea` column (whose text form would be
    /// hex and hide plaintext).
    pub async fn raw_dump(&self) -> anyhow::Result<Vec<u8>> {
        match self.backend {
            Backend::Sqlite => {
                let file = self
                    .sqlite_file
                    .as_ref()
                    .ok_or_else(|| anyhow!("SQLite test database without a file"))?;
                let mut out = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                for suffix in ["-wal", "-journal"] {
                    let mut side = file.clone().into_os_string();
                    side.push(suffix);
                    match std::fs::read(&side) {
                        Ok(bytes) => {
                            out.push(b'\n');
                            out.extend_from_slice(&bytes);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(e).with_context(|| format!("reading {}", Path::new(&side).display()));
                        }
                    }
                }
                Ok(out)
            }
            Backend::Postgres => pg_dump_text(&self.url).await,
        }
    }
}

/// The admin URL of the throwaway cluster, from the value of `PALISADE_TEST_PG_URL`.
///
/// Takes the value rather than reading the environment so it can be tested without touching it.
pub fn pg_admin_url(value: Option<String>) -> anyhow::Result<String> {
    match value {
        Some(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
        _ => bail!("PostgreSQL tests need {PG_URL_ENV}; run scripts/test.sh"),
    }
}

/// `url` with its database (path) replaced by `database`, keeping any query string.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let scheme_end = url
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| anyhow!("{PG_URL_ENV} is not a URL: {url}"))?;
    let (head, rest) = url.split_at(scheme_end);
    let query_start = rest.find('?').unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_start);
    let authority = before_query.split('/').next().unwrap_or(before_query);
    Ok(format!("{head}{authority}/{database}{query}"))
}

/// Quote an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn pg_dump_text(url: &str) -> anyhow::Result<Vec<u8>> {
    let mut conn = PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await
    .context("listing tables")?;
    let bytea_columns = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type = 'bytea' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .context("listing bytea columns")?;

    let mut out = Vec::new();
    for table in &tables {
        out.extend_from_slice(format!("-- table {table}\n").as_bytes());
        let sql = format!("SELECT t::text FROM {} t", quote_ident(table));
        let rows: Vec<Option<String>> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("dumping table {table}"))?;
        for row in rows.into_iter().flatten() {
            out.extend_from_slice(row.as_bytes());
            out.push(b'\n');
        }
    }
    for col in &bytea_columns {
        let table: String = col.try_get(0)?;
        let column: String = col.try_get(1)?;
        if !tables.contains(&table) {
            continue; // a view
        }
        out.extend_from_slice(format!("-- bytea {table}.{column}\n").as_bytes());
        let sql = format!("SELECT {} FROM {}", quote_ident(&column), quote_ident(&table));
        let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("dumping {table}.{column}"))?;
        for value in values.into_iter().flatten() {
            out.extend_from_slice(&value);
            out.push(b'\n');
        }
    }
    conn.close().await.ok();
    Ok(out)
}

pub(crate) fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow!("getrandom: {e}"))?;
    Ok(hex::encode(buf))
}

/// Runs each named `async fn scenario(backend: Backend)` as two tests, `scenario::sqlite`
/// and `scenario::postgres`, so every storage scenario covers both databases.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test]
                async fn sqlite() {
                    super::$scenario($crate::Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    super::$scenario($crate::Backend::Postgres).await
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnection;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn postgres_without_url_is_a_clear_error() {
        for value in [None, Some(String::new()), Some("  ".to_owned())] {
            let err = pg_admin_url(value).unwrap_err().to_string();
            assert_eq!(
                err,
                "PostgreSQL tests need PALISADE_TEST_PG_URL; run scripts/test.sh"
            );
        }
        assert_eq!(
            pg_admin_url(Some("postgres://u@127.0.0.1:5/postgres".into())).unwrap(),
            "postgres://u@127.0.0.1:5/postgres"
        );
    }

    #[test]
    fn database_is_replaced_in_url() {
        let cases = [
            ("postgres://u@127.0.0.1:5/postgres", "postgres://u@127.0.0.1:5/x"),
            ("postgres://u@127.0.0.1:5", "postgres://u@127.0.0.1:5/x"),
            (
                "postgres://u:p@h/postgres?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(with_database(input, "x").unwrap(), want);
        }
        assert!(with_database("nonsense", "x").is_err());
    }

    #[test]
    fn backend_names() {
        assert_eq!(Backend::ALL.map(Backend::name), ["sqlite", "postgres"]);
    }

    #[tokio::test]
    async fn sqlite_database_is_usable_dumpable_and_removed() {
        let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
        assert!(db.url.starts_with("sqlite://") && db.url.ends_with("?mode=rwc"));
        let path = db.sqlite_path().unwrap().to_path_buf();
        let dir = path.parent().unwrap().to_path_buf();

        let mut conn = SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('plaintext-marker-sqlite')")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();

        assert!(path.exists());
        assert!(contains(
            &db.raw_dump().await.unwrap(),
            b"plaintext-marker-sqlite"
        ));
        drop(db);
        assert!(
            !dir.exists(),
            "temp dir {} should be removed on drop",
            dir.display()
        );
    }

    /// Needs the cluster from scripts/test.sh; fails (never skips) without it.
    #[tokio::test]
    async fn postgres_database_is_fresh_and_dumpable() {
        let db = TestDatabase::new(Backend::Postgres).await.unwrap();
        assert_eq!(db.sqlite_path(), None);
        let mut conn = PgConnection::connect(&db.url).await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(tables, 0, "a new test database starts empty");
        sqlx::query("CREATE TABLE \"Odd \"\"name\" (id int, v text, b bytea)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO \"Odd \"\"name\" VALUES (1, 'marker-in-text', 'marker-in-bytea'::bytea)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();

        let dump = db.raw_dump().await.unwrap();
        assert!(contains(&dump, b"marker-in-text"));
        assert!(contains(&dump, b"marker-in-bytea"));

        let other = TestDatabase::new(Backend::Postgres).await.unwrap();
        assert_ne!(db.url, other.url);
        assert!(!contains(&other.raw_dump().await.unwrap(), b"marker-in-text"));
    }
}
