//! The rewrite at the heart of a root rotation, in one transaction: every keyed value
//! the desk can recompute from what it holds sealed is computed again under the new
//! root (this store's keyring). Accounts' address lookups, known sender domains,
//! personal custom-field values and every ticket's search terms are rewritten. People's
//! search terms are dropped here and rebuilt right after. What cannot be recomputed is
//! matched under the key kept of the old root (`root_rotation`).

use std::collections::HashMap;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{UnixMillis, Visibility};
use palisade_crypto::{DataKey, Keyring};
use serde_json::json;

use crate::db::placeholders;
use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::{Dialect, Store, StoreError, Tx};

/// Rows read per query while rewriting.
const PAGE: i64 = 500;

/// What a root rotation rewrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootReindexed {
    pub accounts: usize,
    pub known_domains: usize,
    pub field_values: usize,
    pub tickets: usize,
    /// Checkpoints that named no key, now named by the old root's audit key.
    pub checkpoints_named: u64,
    /// Unused recovery codes revoked (when asked: their hashes stay under the old root).
    pub recovery_codes_revoked: u64,
}

/// Data keys opened once per rotation, by id.
#[derive(Default)]
struct OpenedKeys(HashMap<String, DataKey>);

impl OpenedKeys {
    async fn get(&mut self, store: &Store, tx: &mut Tx, id: &str) -> Result<&DataKey, StoreError> {
        if !self.0.contains_key(id) {
            let key = store.load_key_tx(tx, id).await?;
            self.0.insert(id.to_owned(), key);
        }
        self.0
            .get(id)
            .ok_or_else(|| StoreError::Corrupt(format!("data key {id} missing")))
    }
}

impl Store {
    /// Rewrites every keyed value under this store's root and retires `old`'s, in one
    /// transaction; the rotation must have been begun (and the nodes given time to
    /// stop) first. People's terms are rebuilt after the commit.
    pub async fn finish_root_rotation(
        &self,
        old: &Keyring,
        revoke_recovery_codes: bool,
    ) -> Result<RootReindexed, StoreError> {
        let mut tx = self.begin().await?;
        if self.dialect == Dialect::Postgres {
            // Two runs at once: the second waits here, then finds nothing under way.
            // (Stragglers of serving nodes are refused at their commit: their store is
            // fenced from the moment they saw the rotation.)
            sqlx::query("LOCK TABLE root_rotations IN EXCLUSIVE MODE")
                .execute(tx.conn())
                .await?;
        }
        // Checked inside the transaction: two runs at once rewrite once.
        let sql = format!(
            "SELECT {} FROM root_rotations WHERE under_way = 1",
            crate::root_rotation::COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(tx.conn())
            .await?;
        let under_way = row
            .map(|row| crate::root_rotation::root_rotation_from_row(&row))
            .transpose()?
            .filter(|r| r.new_root_id == self.keys.root_id() && r.old_root_id == old.root_id())
            .ok_or_else(|| {
                StoreError::Invalid("no rotation from that root to this one is under way".into())
            })?;
        let mut keys = OpenedKeys::default();
        let mut done = RootReindexed {
            accounts: self.reindex_accounts(&mut tx, &mut keys).await?,
            known_domains: self.reindex_known_domains(&mut tx).await?,
            field_values: self.reindex_field_values(&mut tx, &mut keys).await?,
            tickets: self.rebuild_ticket_terms(&mut tx, &mut keys).await?,
            ..RootReindexed::default()
        };
        sqlx::query("DELETE FROM people_terms").execute(tx.conn()).await?;
        if revoke_recovery_codes {
            done.recovery_codes_revoked = sqlx::query("DELETE FROM recovery_codes WHERE used_at IS NULL")
                .execute(tx.conn())
                .await?
                .rows_affected();
        }
        // Their signature does not cover the column: naming the key that made them
        // keeps them verifiable once the root that derived it is gone (the operator
        // lists it as retired; `begin_root_rotation` made sure).
        done.checkpoints_named =
            sqlx::query("UPDATE audit_checkpoints SET public_key = $1 WHERE public_key IS NULL")
                .bind(hex::encode(old.audit_derived_verifying_key().to_bytes()))
                .execute(tx.conn())
                .await?
                .rows_affected();
        self.keep_retired_root_keys(&mut tx, old, under_way.replies_until)
            .await?;
        let finished = sqlx::query(
            "UPDATE root_rotations SET finished_at = $1, under_way = NULL WHERE new_root_id = $2 AND finished_at IS NULL",
        )
        .bind(UnixMillis::now().0)
        .bind(&under_way.new_root_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if finished != 1 {
            return Err(StoreError::Invalid(
                "the rotation finished or was aborted meanwhile".into(),
            ));
        }
        let event = AuditEvent::new(
            AuditAction::RootRotationFinished,
            &under_way.new_root_id,
            Outcome::Success,
        )
        .with_detail(json!({
            "old_root": under_way.old_root_id,
            "accounts": done.accounts,
            "known_domains": done.known_domains,
            "field_values": done.field_values,
            "tickets": done.tickets,
            "recovery_codes_revoked": done.recovery_codes_revoked,
            "replies_until": under_way.replies_until.0,
        }));
        self.append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        self.hold_retired_roots().await?;
        self.index_unindexed_people().await?;
        Ok(done)
    }

    async fn reindex_accounts(&self, tx: &mut Tx, keys: &mut OpenedKeys) -> Result<usize, StoreError> {
        let mut after = String::new();
        let mut count = 0;
        loop {
            let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                // Erased accounts hold no address: nothing to index.
                "SELECT id, data_key_id, email_enc FROM users WHERE id > $1 AND erased_at IS NULL ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(PAGE)
            .fetch_all(tx.conn())
            .await?;
            let Some((last, _, _)) = rows.last() else {
                return Ok(count);
            };
            after = last.clone();
            for (id, key_id, sealed) in rows {
                let email = open_text(keys.get(self, tx, &key_id).await?, "users", "email", &id, &sealed)?;
                let index = self
                    .keys
                    .blind_index()
                    .compute(crate::users::EMAIL_INDEX_DOMAIN, &email);
                sqlx::query("UPDATE users SET email_index = $1 WHERE id = $2")
                    .bind(index)
                    .bind(&id)
                    .execute(tx.conn())
                    .await?;
                count += 1;
            }
        }
    }

    /// Known domains are sealed bound to their index, so each is sealed again.
    async fn reindex_known_domains(&self, tx: &mut Tx) -> Result<usize, StoreError> {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT domain_index, domain_enc FROM known_domains")
                .fetch_all(tx.conn())
                .await?;
        let key = self.load_key_tx(tx, ORG_KEY_ID).await?;
        for (old_index, sealed) in &rows {
            let domain = open_text(&key, "known_domains", "domain_enc", old_index, sealed)?;
            let index = self.keys.blind_index().compute("known_domains.domain", &domain);
            let resealed = seal(&key, "known_domains", "domain_enc", &index, domain.as_bytes())?;
            sqlx::query(
                "UPDATE known_domains SET domain_index = $1, domain_enc = $2 WHERE domain_index = $3",
            )
            .bind(index)
            .bind(resealed)
            .bind(old_index)
            .execute(tx.conn())
            .await?;
        }
        Ok(rows.len())
    }

    /// Personal fields' values are matched by their blind index (`field_match_key`).
    async fn reindex_field_values(&self, tx: &mut Tx, keys: &mut OpenedKeys) -> Result<usize, StoreError> {
        let rows: Vec<(String, String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT v.ticket_id, v.field_id, t.data_key_id, v.value_enc FROM ticket_field_values v \
             JOIN tickets t ON t.id = v.ticket_id WHERE v.value_enc IS NOT NULL",
        )
        .fetch_all(tx.conn())
        .await?;
        for (ticket, field, key_id, sealed) in &rows {
            let row = format!("{ticket}/{field}");
            let value = open_text(
                keys.get(self, tx, key_id).await?,
                "ticket_field_values",
                "value",
                &row,
                sealed,
            )?;
            let index = self
                .keys
                .blind_index()
                .compute(&format!("custom_field.{field}"), &value);
            sqlx::query(
                "UPDATE ticket_field_values SET value_key = $1 WHERE ticket_id = $2 AND field_id = $3",
            )
            .bind(index)
            .bind(ticket)
            .bind(field)
            .execute(tx.conn())
            .await?;
        }
        Ok(rows.len())
    }

    /// Every ticket's words, from its subject and messages, as pending rows (merged
    /// into the index by the serving nodes as usual).
    async fn rebuild_ticket_terms(&self, tx: &mut Tx, keys: &mut OpenedKeys) -> Result<usize, StoreError> {
        let clear: &[&str] = match self.dialect {
            Dialect::Postgres => &["TRUNCATE search_terms, search_pending"],
            Dialect::Sqlite => &["DELETE FROM search_terms", "DELETE FROM search_pending"],
        };
        for statement in clear {
            sqlx::query(*statement).execute(tx.conn()).await?;
        }
        // A merged ticket's subject words belong to the ticket it was merged into
        // (`ticket_merge` moved them there), through any chain of merges.
        let merges: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
            "SELECT id, merged_into FROM tickets WHERE merged_into IS NOT NULL",
        )
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .collect();
        let survivor = |id: &str| {
            let mut at = id.to_owned();
            for _ in 0..=merges.len() {
                match merges.get(&at) {
                    Some(next) => at = next.clone(),
                    None => break,
                }
            }
            at
        };
        let mut after = String::new();
        let mut count = 0;
        loop {
            let tickets: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT id, data_key_id, subject_enc FROM tickets WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(PAGE)
            .fetch_all(tx.conn())
            .await?;
            let Some((last, _, _)) = tickets.last() else {
                return Ok(count);
            };
            after = last.clone();
            let sql = format!(
                "SELECT id, ticket_id, visibility, body_enc FROM messages WHERE ticket_id IN ({})",
                placeholders(0, tickets.len())
            );
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for (id, _, _) in &tickets {
                query = query.bind(id);
            }
            let messages: Vec<(String, String, String, Vec<u8>)> = query.fetch_all(tx.conn()).await?;
            let mut texts: HashMap<(String, String), Vec<String>> = HashMap::new();
            for (id, key_id, subject) in &tickets {
                let key = keys.get(self, tx, key_id).await?;
                texts
                    .entry((survivor(id), Visibility::Public.as_str().to_owned()))
                    .or_default()
                    .push(open_text(key, "tickets", "subject", id, subject)?);
            }
            let ticket_keys: HashMap<&str, &str> = tickets
                .iter()
                .map(|(id, key, _)| (id.as_str(), key.as_str()))
                .collect();
            for (id, ticket, visibility, body) in &messages {
                let key_id = ticket_keys
                    .get(ticket.as_str())
                    .ok_or_else(|| StoreError::Corrupt(format!("message {id} of an unknown ticket")))?;
                let text = open_text(keys.get(self, tx, key_id).await?, "messages", "body", id, body)?;
                texts
                    .entry((ticket.clone(), visibility.clone()))
                    .or_default()
                    .push(text);
            }
            for ((ticket, visibility), bodies) in &texts {
                let borrowed: Vec<&str> = bodies.iter().map(String::as_str).collect();
                let Some(terms) = self.pending_terms(&borrowed) else {
                    continue;
                };
                sqlx::query("INSERT INTO search_pending (ticket_id, visibility, terms) VALUES ($1, $2, $3)")
                    .bind(ticket)
                    .bind(visibility)
                    .bind(terms)
                    .execute(tx.conn())
                    .await?;
            }
            count += tickets.len();
        }
    }
}
