//! Appending to and reading the hash-chained audit trail. The head row is locked
//! (`FOR UPDATE` on PostgreSQL; SQLite has a single writer) so appends from every node
//! form one chain.

use palisade_audit::{AuditContext, AuditEntry, AuditEvent, CHECKPOINT_EVERY, Checkpoint, sign_checkpoint};
use palisade_core::UnixMillis;
use sqlx::any::{AnyArguments, AnyRow};

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;
use sqlx::{AssertSqlSafe, Row};

use crate::db::multi_row_insert;
use crate::{Dialect, Store, StoreError, Tx};

impl Store {
    /// Appends one entry inside `tx`: if the change it records rolls back, so does it.
    pub async fn append_audit(
        &self,
        tx: &mut Tx,
        ctx: &AuditContext,
        event: &AuditEvent,
    ) -> Result<i64, StoreError> {
        let (prev_seq, prev_hash) = lock_head(tx).await?;
        let entry = sealed_entry(ctx, event, prev_seq + 1, prev_hash)?;
        // The head stays locked from the SELECT above until commit, so on PostgreSQL the
        // entry and the new head go in one round trip: fewer statements while it is held.
        let insert_sql = match tx.dialect {
            Dialect::Postgres => {
                "WITH entry AS (INSERT INTO audit_log (seq, at, actor, action, object, outcome, ip, user_agent, \
                 session_id, detail, prev_hash, hash, ip_salt, ip_commit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14)) UPDATE audit_head SET seq = $1, hash = $12 WHERE id = 1"
            }
            Dialect::Sqlite => {
                "INSERT INTO audit_log (seq, at, actor, action, object, outcome, ip, user_agent, session_id, detail, \
                 prev_hash, hash, ip_salt, ip_commit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14)"
            }
        };
        bind_entry(sqlx::query(insert_sql), &entry)
            .execute(tx.conn())
            .await?;
        if tx.dialect == Dialect::Sqlite {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(entry.seq)
                .bind(&entry.hash)
                .execute(tx.conn())
                .await?;
        }
        if entry.seq % CHECKPOINT_EVERY == 0 {
            self.insert_checkpoint(tx, entry.seq, &entry.hash).await?;
        }
        tx.note_audited(event.action.as_str(), event.outcome.as_str());
        Ok(entry.seq)
    }

    /// Appends one entry per event inside `tx`, in order, with the head taken once and
    /// the entries written by multi-row statements (bulk loads). Returns their seqs.
    pub async fn append_audit_many(
        &self,
        tx: &mut Tx,
        ctx: &AuditContext,
        events: &[AuditEvent],
    ) -> Result<Vec<i64>, StoreError> {
        const COLUMNS: usize = 14;
        // Under both databases' limits on parameters per statement.
        const ROWS_PER_STATEMENT: usize = 1_000;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (mut seq, mut hash) = lock_head(tx).await?;
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let entry = sealed_entry(ctx, event, seq, hash)?;
            hash = entry.hash.clone();
            entries.push(entry);
        }
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let sql = multi_row_insert(
                "audit_log (seq, at, actor, action, object, outcome, ip, user_agent, session_id, detail, prev_hash, \
                 hash, ip_salt, ip_commit)",
                COLUMNS,
                chunk.len(),
            );
            let mut insert = sqlx::query(AssertSqlSafe(sql));
            for entry in chunk {
                insert = bind_entry(insert, entry);
            }
            insert.execute(tx.conn()).await?;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(tx.conn())
            .await?;
        for entry in entries.iter().filter(|e| e.seq % CHECKPOINT_EVERY == 0) {
            self.insert_checkpoint(tx, entry.seq, &entry.hash).await?;
        }
        for event in events {
            tx.note_audited(event.action.as_str(), event.outcome.as_str());
        }
        Ok(entries.iter().map(|e| e.seq).collect())
    }

    /// Records one event in a transaction of its own (for denials and sign-in
    /// failures, which change nothing else).
    pub async fn audit(&self, ctx: &AuditContext, event: &AuditEvent) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let seq = self.append_audit(&mut tx, ctx, event).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Signs `seq` into `tx` (which holds the head, `lock_head`), if this node's key is
    /// the one signing the trail now: the signer of the latest checkpoint. Otherwise it
    /// signs nothing, since its checkpoint would be out of turn: its key was handed over
    /// from (the other nodes' checkpoints cover what it appends), or the handover to it
    /// is not recorded yet (`serve` records it at start). Returns whether it signed.
    pub(crate) async fn insert_checkpoint(
        &self,
        tx: &mut Tx,
        seq: i64,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let mine = self.keys.audit_verifying_key();
        let latest = sqlx::query("SELECT public_key FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(tx.conn())
            .await?;
        if let Some(latest) = latest {
            // Checkpoints that name no key were signed by the root's key.
            let named: Option<String> = latest.try_get("public_key")?;
            let signer = match &named {
                None => Some(self.keys.audit_derived_verifying_key()),
                Some(text) => palisade_crypto::parse_audit_public_key(text).ok(),
            };
            if signer != Some(mine) {
                tracing::warn!(
                    signing = named.as_deref().unwrap_or("(the root's key)"),
                    this_node = %hex::encode(mine.to_bytes()),
                    "not signing an audit checkpoint: the trail is signed with another key (this node's was handed \
                     over from, or the handover to it is not recorded yet: restart serve with the new [audit] settings)"
                );
                return Ok(false);
            }
        }
        self.write_checkpoint(tx, seq, hash).await?;
        Ok(true)
    }

    /// Signs `seq` with this node's key into `tx`, whoever signed before.
    pub(crate) async fn write_checkpoint(&self, tx: &mut Tx, seq: i64, hash: &str) -> Result<(), StoreError> {
        let cp = sign_checkpoint(self.keys.audit_signing_key(), seq, hash, UnixMillis::now().0);
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, hash, at, signature, public_key) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(cp.seq)
        .bind(&cp.hash)
        .bind(cp.at)
        .bind(&cp.signature)
        .bind(&cp.key)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Signs the current head unless it is already checkpointed or this node's key is
    /// not the one signing the trail now.
    pub async fn checkpoint_audit_head(&self) -> Result<HeadCheckpoint, StoreError> {
        let mut tx = self.begin().await?;
        let (seq, hash) = lock_head(&mut tx).await?;
        let latest = sqlx::query("SELECT MAX(seq) FROM audit_checkpoints")
            .fetch_one(tx.conn())
            .await?;
        let latest: Option<i64> = latest.try_get(0)?;
        if seq == 0 || latest == Some(seq) {
            return Ok(HeadCheckpoint::AlreadySigned);
        }
        let signed = self.insert_checkpoint(&mut tx, seq, &hash).await?;
        tx.commit().await?;
        Ok(if signed {
            HeadCheckpoint::Signed(seq)
        } else {
            HeadCheckpoint::NotThisNodesTurn
        })
    }

    /// Entries with `seq > after`, in order, at most `limit`.
    pub async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Walks the whole trail with its signed checkpoints, trusting `keys` to have
    /// signed them; the error names the first entry changed, removed, inserted or
    /// reordered, or the first checkpoint signed with a key not trusted there.
    pub async fn verify_audit_trail(
        &self,
        keys: palisade_audit::TrustedKeys,
    ) -> Result<palisade_audit::VerifyReport, StoreError> {
        self.verify_audit_trail_expecting(keys, &[]).await
    }

    /// As [`Store::verify_audit_trail`], and each `(seq, hash)` recorded elsewhere (an
    /// earlier run's head) must be in the trail.
    pub async fn verify_audit_trail_expecting(
        &self,
        keys: palisade_audit::TrustedKeys,
        expected: &[(i64, String)],
    ) -> Result<palisade_audit::VerifyReport, StoreError> {
        let verifier = expected.iter().fold(
            palisade_audit::Verifier::new(keys, self.audit_checkpoints().await?)?,
            |verifier, (seq, hash)| verifier.expecting(*seq, hash),
        );
        self.walk_audit_trail(verifier).await
    }

    /// As [`Store::verify_audit_trail`], for a copy (a backup) that may have been taken
    /// before signing moved to the current key.
    pub async fn verify_audit_trail_of_copy(
        &self,
        keys: palisade_audit::TrustedKeys,
    ) -> Result<palisade_audit::VerifyReport, StoreError> {
        let verifier = palisade_audit::Verifier::new(keys, self.audit_checkpoints().await?)?.for_a_copy();
        self.walk_audit_trail(verifier).await
    }

    async fn walk_audit_trail(
        &self,
        mut verifier: palisade_audit::Verifier,
    ) -> Result<palisade_audit::VerifyReport, StoreError> {
        const PAGE: u32 = 5000;
        let mut after = 0;
        loop {
            let entries = self.audit_entries(after, PAGE).await?;
            let Some(last) = entries.last() else { break };
            after = last.seq;
            for entry in &entries {
                verifier.push(entry)?;
            }
        }
        Ok(verifier.finish()?)
    }

    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT seq, hash, at, signature, public_key FROM audit_checkpoints ORDER BY seq")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }
}

/// What [`Store::checkpoint_audit_head`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadCheckpoint {
    Signed(i64),
    AlreadySigned,
    /// This node's key is not the one signing the trail now (see the log).
    NotThisNodesTurn,
}

pub(crate) fn checkpoint_from_row(r: &AnyRow) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        seq: r.try_get("seq")?,
        hash: r.try_get("hash")?,
        at: r.try_get("at")?,
        signature: r.try_get("signature")?,
        key: r.try_get("public_key")?,
    })
}

/// Locks the trail's head for this transaction (`FOR UPDATE` on PostgreSQL; SQLite's
/// write transactions already exclude each other) and reads it: every append and
/// checkpoint goes through here, so nodes form one chain.
pub(crate) async fn lock_head(tx: &mut Tx) -> Result<(i64, String), StoreError> {
    let head_sql = match tx.dialect {
        Dialect::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        Dialect::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
    };
    let head = sqlx::query(head_sql).fetch_one(tx.conn()).await?;
    Ok((head.try_get("seq")?, head.try_get("hash")?))
}

/// An entry's columns, as [`entry_from_row`] reads them.
pub(crate) const ENTRY_COLUMNS: &str = "seq, at, actor, action, object, outcome, ip, user_agent, session_id, detail, prev_hash, hash, ip_salt, ip_commit";

/// Binds an entry's fourteen columns, in `audit_log`'s insert order.
fn bind_entry<'q>(query: AnyQuery<'q>, entry: &'q AuditEntry) -> AnyQuery<'q> {
    query
        .bind(entry.seq)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(&entry.outcome)
        .bind(&entry.ip)
        .bind(&entry.user_agent)
        .bind(&entry.session)
        .bind(&entry.detail)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .bind(&entry.ip_salt)
        .bind(&entry.ip_commit)
}

/// The entry recording `event` at `seq`, chained to `prev_hash` and sealed.
pub(crate) fn sealed_entry(
    ctx: &AuditContext,
    event: &AuditEvent,
    seq: i64,
    prev_hash: String,
) -> Result<AuditEntry, StoreError> {
    let entry = AuditEntry {
        seq,
        at: UnixMillis::now().0,
        actor: ctx.actor.clone(),
        action: event.action.as_str().to_owned(),
        object: event.object.clone(),
        outcome: event.outcome.as_str().to_owned(),
        ip: ctx.ip.clone(),
        ip_salt: String::new(),
        ip_commit: String::new(),
        user_agent: ctx.user_agent.chars().take(256).collect(),
        session: ctx.session.clone(),
        detail: if event.detail.is_null() {
            String::new()
        } else {
            event.detail.to_string()
        },
        prev_hash,
        hash: String::new(),
    };
    // The address is kept apart from the chain, so retention can shorten it.
    Ok(entry.with_address_salt(palisade_audit::new_salt()?).seal())
}

pub(crate) fn entry_from_row(r: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        object: r.try_get("object")?,
        outcome: r.try_get("outcome")?,
        ip: r.try_get("ip")?,
        ip_salt: r.try_get("ip_salt")?,
        ip_commit: r.try_get("ip_commit")?,
        user_agent: r.try_get("user_agent")?,
        session: r.try_get("session_id")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}
