//! The term index's second half: texts' keyed terms written to `search_pending` by the
//! transaction that adds them (one row per text), merged into `search_terms` later in
//! large, sorted batches. Searches read both halves (`ticket_lists`), so nothing waits
//! for a merge to be findable; the merge only moves work out of the write path.

use sqlx::{AssertSqlSafe, Row};

use crate::{Dialect, Store, StoreError};

/// Rows per statement: 3 parameters each, well inside both databases' limits.
const ROWS_PER_STATEMENT: usize = 500;

impl Store {
    /// Moves up to `texts` pending texts' terms into the term index, in one
    /// transaction; returns how many texts it moved (fewer than `texts`: none are left).
    pub async fn merge_pending_terms(&self, texts: u32) -> Result<usize, StoreError> {
        // PostgreSQL: rows another node is merging, or a ticket merge is moving, are
        // left to them.
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let mut tx = self.begin().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, ticket_id, visibility, terms FROM search_pending ORDER BY seq LIMIT $1{lock}"
        )))
        .bind(i64::from(texts))
        .fetch_all(tx.conn())
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut seqs = Vec::with_capacity(rows.len());
        let mut entries = Vec::new();
        for row in &rows {
            seqs.push(row.try_get::<i64, _>("seq")?);
            let ticket: String = row.try_get("ticket_id")?;
            let visibility: String = row.try_get("visibility")?;
            let terms: String = row.try_get("terms")?;
            entries.extend(
                terms
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(|term| (term.to_owned(), ticket.clone(), visibility.clone())),
            );
        }
        // In index order, so neighbouring entries land on the same pages.
        entries.sort_unstable();
        entries.dedup();
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO search_terms (term, ticket_id, visibility) VALUES {} ON CONFLICT DO NOTHING",
                crate::db::value_rows(chunk.len(), 3)
            );
            let mut insert = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for (term, ticket, visibility) in chunk {
                insert = insert.bind(term).bind(ticket).bind(visibility);
            }
            insert.execute(tx.conn()).await?;
        }
        for chunk in seqs.chunks(ROWS_PER_STATEMENT) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut delete = sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM search_pending WHERE seq IN ({list})"
            )))
            .persistent(false);
            for seq in chunk {
                delete = delete.bind(seq);
            }
            delete.execute(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Texts whose terms wait to be merged.
    pub async fn pending_term_texts(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM search_pending")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?)
    }
}
