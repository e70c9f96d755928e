//! The term index's second half: texts' keyed terms written to `search_pending` by the
//! transaction that adds them (one row per text, its terms a JSON array), merged into
//! `search_terms` later in batches, in index order. Searches read both halves
//! (`ticket_search`), so nothing waits for a merge to be findable; the merge only moves
//! work out of the write path. The merge is done by the database itself, in one
//! statement per step: the terms never travel to the server and back.

use sqlx::Row;

use crate::{Dialect, Store, StoreError};

/// PostgreSQL's SQLSTATE for a lock taken with NOWAIT that somebody else holds.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// PostgreSQL: one statement takes the batch (rows another node is merging, or a
/// ticket merge is moving, are left to them), deletes it and indexes its terms, so
/// exactly the rows deleted are the rows indexed.
const MERGE_POSTGRES: &str = "WITH batch AS (SELECT seq FROM search_pending ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED), \
     moved AS (DELETE FROM search_pending p USING batch b WHERE p.seq = b.seq \
     RETURNING p.ticket_id, p.visibility, p.terms), \
     indexed AS (INSERT INTO search_terms (term, ticket_created_at, ticket_id, visibility) \
     SELECT t.term, k.created_at, m.ticket_id, m.visibility FROM moved m JOIN tickets k ON k.id = m.ticket_id, \
     jsonb_array_elements_text(m.terms::jsonb) AS t(term) \
     ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING) \
     SELECT COUNT(*) FROM moved";

impl Store {
    /// Moves up to `texts` pending texts' terms into the term index, in one
    /// transaction; returns how many texts it moved (fewer than `texts`: none are left).
    pub async fn merge_pending_terms(&self, texts: u32) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        let moved: i64 = match self.dialect {
            Dialect::Postgres => sqlx::query(MERGE_POSTGRES)
                .bind(i64::from(texts))
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?,
            // SQLite's one writer holds the batch still for the whole transaction.
            Dialect::Sqlite => {
                let batch = sqlx::query(
                    "SELECT COUNT(*) AS n, MAX(seq) AS last FROM \
                     (SELECT seq FROM search_pending ORDER BY seq LIMIT $1)",
                )
                .bind(i64::from(texts))
                .fetch_one(tx.conn())
                .await?;
                let n: i64 = batch.try_get("n")?;
                if n > 0 {
                    let last: i64 = batch.try_get("last")?;
                    sqlx::query(
                        "INSERT INTO search_terms (term, ticket_created_at, ticket_id, visibility) \
                         SELECT t.value, k.created_at, p.ticket_id, p.visibility \
                         FROM search_pending p JOIN tickets k ON k.id = p.ticket_id, json_each(p.terms) t \
                         WHERE p.seq <= $1 ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING",
                    )
                    .bind(last)
                    .execute(tx.conn())
                    .await?;
                    sqlx::query("DELETE FROM search_pending WHERE seq <= $1")
                        .bind(last)
                        .execute(tx.conn())
                        .await?;
                }
                n
            }
        };
        if moved > 0 {
            tx.commit().await?;
        }
        // Giving space back is housekeeping: its failure leaves the merge done.
        if self.dialect == Dialect::Postgres
            && moved < i64::from(texts)
            && let Err(e) = self.shrink_drained_pending().await
        {
            tracing::warn!(error = %e, "emptying the drained pending search terms failed");
        }
        Ok(usize::try_from(moved).unwrap_or(0))
    }

    /// PostgreSQL: empties the drained pending table outright once a bulk load or a
    /// backlog has left it large. Every search reads the pending texts whole, so dead
    /// rows cost each search a scan; VACUUM marks their space free but seldom gives it
    /// back while merges and creates keep touching the table (a million loaded tickets
    /// left 1.2 GiB behind: `bench/scale.sh`). TRUNCATE needs the table to itself, so
    /// it is only tried without waiting: a create in flight keeps its turn, and the
    /// next drained merge tries again.
    async fn shrink_drained_pending(&self) -> Result<(), StoreError> {
        // 32 pages: a drained table larger than that is mostly dead rows, and giving it
        // back is one catalog swap; a busy desk's merges stay below it between vacuums.
        const SHRINK_ABOVE_BYTES: i64 = 256 << 10;
        let bytes: i64 = sqlx::query("SELECT pg_relation_size('search_pending')")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        if bytes < SHRINK_ABOVE_BYTES {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        match sqlx::query("LOCK TABLE search_pending IN ACCESS EXCLUSIVE MODE NOWAIT")
            .execute(tx.conn())
            .await
        {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        // With the table held, no text can arrive between this look and the TRUNCATE.
        let drained: bool = sqlx::query("SELECT NOT EXISTS (SELECT 1 FROM search_pending)")
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
        if drained {
            sqlx::query("TRUNCATE search_pending").execute(tx.conn()).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Texts whose terms wait to be merged.
    pub async fn pending_term_texts(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM search_pending")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?)
    }
}
