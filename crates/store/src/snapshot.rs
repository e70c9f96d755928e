//! Consistent snapshots of the whole database for backups, taken while writers go on,
//! and the facts a backup's manifest records about one (schema version, rows per table,
//! the audit chain's head and latest signed checkpoint), so that a restore can be
//! checked against exactly what was copied.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor, Row};

use crate::{Dialect, Store, StoreError};

/// What a snapshot holds, read inside the snapshot itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFacts {
    /// The last migration applied.
    pub schema_version: i64,
    /// Rows per table, every table of the schema.
    pub rows: BTreeMap<String, i64>,
    /// The audit chain's last entry (`seq`, hash), if any.
    pub audit_head: Option<(i64, String)>,
    /// The latest signed checkpoint (`seq`, hash, signature), if any.
    pub audit_checkpoint: Option<(i64, String, String)>,
}

/// A PostgreSQL snapshot kept open (one repeatable-read transaction on its own
/// connection) so that `pg_dump --snapshot` copies exactly what the facts describe.
pub struct HeldSnapshot {
    conn: AnyConnection,
    id: String,
    facts: SnapshotFacts,
}

impl HeldSnapshot {
    /// The exported snapshot's name, for `pg_dump --snapshot`.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn facts(&self) -> &SnapshotFacts {
        &self.facts
    }

    /// Ends the snapshot's transaction (it only read).
    pub async fn release(mut self) -> Result<(), StoreError> {
        self.conn.execute("ROLLBACK").await?;
        self.conn.close().await?;
        Ok(())
    }
}

impl Store {
    /// SQLite: writes a consistent copy of the database to `path` (a new file) with
    /// `VACUUM INTO`, which reads inside one transaction while writers continue.
    pub async fn copy_sqlite_into(&self, path: &Path) -> Result<(), StoreError> {
        if self.dialect != Dialect::Sqlite {
            return Err(StoreError::Corrupt("a file copy is for SQLite only".into()));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.read)
            .await?;
        Ok(())
    }

    /// PostgreSQL: opens a repeatable-read snapshot, exports it and reads its facts.
    pub async fn hold_snapshot(&self, url: &str) -> Result<HeldSnapshot, StoreError> {
        if self.dialect != Dialect::Postgres {
            return Err(StoreError::Corrupt(
                "an exported snapshot is for PostgreSQL only".into(),
            ));
        }
        let mut conn = AnyConnection::connect_with(&AnyConnectOptions::from_str(url)?).await?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let id: String = sqlx::query("SELECT pg_export_snapshot()")
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
        let facts = facts_of(&mut conn, Dialect::Postgres).await?;
        Ok(HeldSnapshot { conn, id, facts })
    }
}

/// The facts of the database at `url`, read in one transaction (for a copy being
/// checked: a SQLite file opened read-only, or a scratch PostgreSQL database).
pub async fn facts_at(url: &str) -> Result<SnapshotFacts, StoreError> {
    let (mut conn, dialect) = connect_to(url).await?;
    conn.execute("BEGIN").await?;
    let facts = facts_of(&mut conn, dialect).await;
    conn.execute("ROLLBACK").await?;
    conn.close().await?;
    facts
}

/// Whether the database at `url` holds no table at all (a restore's target must not).
pub async fn is_empty_database(url: &str) -> Result<bool, StoreError> {
    let (mut conn, dialect) = connect_to(url).await?;
    let tables = table_names(&mut conn, dialect).await?;
    conn.close().await?;
    Ok(tables.is_empty())
}

/// One connection of its own to the database at `url`, and its dialect.
async fn connect_to(url: &str) -> Result<(AnyConnection, Dialect), StoreError> {
    let dialect = if url.starts_with("sqlite:") {
        Dialect::Sqlite
    } else {
        Dialect::Postgres
    };
    sqlx::any::install_default_drivers();
    Ok((
        AnyConnection::connect_with(&AnyConnectOptions::from_str(url)?).await?,
        dialect,
    ))
}

async fn table_names(conn: &mut AnyConnection, dialect: Dialect) -> Result<Vec<String>, StoreError> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            // Names come from the catalogue, but they are put into SQL text below.
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(StoreError::Corrupt(format!("unexpected table name {name:?}")));
            }
            Ok(name)
        })
        .collect()
}

async fn facts_of(conn: &mut AnyConnection, dialect: Dialect) -> Result<SnapshotFacts, StoreError> {
    let mut rows = BTreeMap::new();
    for table in table_names(conn, dialect).await? {
        let count: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        rows.insert(table, count);
    }
    let schema_version: Option<i64> = sqlx::query("SELECT MAX(version) FROM palisade_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let audit_head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| Ok::<_, StoreError>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
    let audit_checkpoint =
        sqlx::query("SELECT seq, hash, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| Ok::<_, StoreError>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()?;
    Ok(SnapshotFacts {
        schema_version: schema_version.unwrap_or(0),
        rows,
        audit_head,
        audit_checkpoint,
    })
}

/// How many sealed values a check opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SealedSample {
    pub data_keys: usize,
    pub subjects: usize,
    pub messages: usize,
}

impl Store {
    /// Unwraps every data key with this node's master key and opens up to `limit`
    /// ticket subjects and message bodies picked at random: a restored copy whose
    /// sealed values do not open with the key at hand fails here, naming the value.
    pub async fn open_sealed_sample(&self, limit: i64) -> Result<SealedSample, StoreError> {
        let mut sample = SealedSample::default();
        let keys = sqlx::query("SELECT id, wrapped FROM data_keys ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        for row in &keys {
            let id: String = row.try_get("id")?;
            self.unwrap_key(&id, row.try_get("wrapped")?).map_err(|_| {
                StoreError::Corrupt(format!("data key {id} does not open with this master key"))
            })?;
            sample.data_keys += 1;
        }
        let subjects =
            sqlx::query("SELECT id, data_key_id, subject_enc FROM tickets ORDER BY random() LIMIT $1")
                .bind(limit)
                .fetch_all(&self.read)
                .await?;
        for row in &subjects {
            let id: String = row.try_get("id")?;
            let key = self.load_key(&row.try_get::<String, _>("data_key_id")?).await?;
            crate::keys::open_text(
                &key,
                "tickets",
                "subject",
                &id,
                &row.try_get::<Vec<u8>, _>("subject_enc")?,
            )
            .map_err(|_| StoreError::Corrupt(format!("the subject of ticket {id} does not open")))?;
            sample.subjects += 1;
        }
        let messages = sqlx::query(
            "SELECT m.id, m.body_enc, t.data_key_id FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             ORDER BY random() LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        for row in &messages {
            let id: String = row.try_get("id")?;
            let key = self.load_key(&row.try_get::<String, _>("data_key_id")?).await?;
            crate::keys::open_text(
                &key,
                "messages",
                "body",
                &id,
                &row.try_get::<Vec<u8>, _>("body_enc")?,
            )
            .map_err(|_| StoreError::Corrupt(format!("the body of message {id} does not open")))?;
            sample.messages += 1;
        }
        Ok(sample)
    }
}

/// Creates database `name` on the PostgreSQL server at `server_url` (a scratch copy
/// for checking a backup).
pub async fn create_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    on_server(server_url, format!("CREATE DATABASE {}", plain_name(name)?)).await
}

/// Drops database `name` from the server at `server_url`, closing its sessions.
pub async fn drop_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    on_server(
        server_url,
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", plain_name(name)?),
    )
    .await
}

/// Runs one statement (built from checked names only) on its own connection.
async fn on_server(server_url: &str, sql: String) -> Result<(), StoreError> {
    let (mut conn, _) = connect_to(server_url).await?;
    conn.execute(AssertSqlSafe(sql)).await?;
    conn.close().await?;
    Ok(())
}

/// A name safe to put into SQL text as it is.
fn plain_name(name: &str) -> Result<&str, StoreError> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        Ok(name)
    } else {
        Err(StoreError::Invalid(format!("database name {name:?}")))
    }
}
