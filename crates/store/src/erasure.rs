//! Erasing a customer by destroying their data key (crypto-shredding).
//!
//! Every value of a customer's own tickets is sealed under their key, staff replies
//! included. So the tickets they asked are first given a key of their own: what other
//! people wrote in them is opened and sealed again under it. What the customer wrote,
//! there and in other people's tickets, is emptied or deleted. Then the customer's key is
//! deleted, and with it every copy of what it sealed, backups and replicas included (a
//! restore re-applies the erasure from the ledger: `palisade_backup::erasure_ledger`).
//! Everything keyed to them goes too: address lookups, search words, sessions, factors,
//! reply addresses, queued mail, bounce and throttle records. The account's row and its
//! id stay, so tickets, messages and the audit trail still name "an erased person".

use std::collections::BTreeSet;

use palisade_core::{EmailAddress, TicketId, UnixMillis, UserId, Visibility};
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::db::placeholders;
use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::ticket_merge::SEALED;
use crate::users::EMAIL_INDEX_DOMAIN;
use crate::{Dialect, Store, StoreError, Tx};

/// What one erasure removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Accounts erased: the person's and those merged into it (for the ledger).
    pub accounts: Vec<ErasureRecord>,
    /// Tickets they asked, now under a key of their own with their words removed.
    pub tickets_rekeyed: usize,
    /// Their messages emptied, in their tickets and in others'.
    pub messages_emptied: usize,
    pub attachments_deleted: usize,
    pub conversations_deleted: usize,
}

/// Where erasures are written outside the database before they commit: the signed
/// ledger beside the master key (`palisade_backup::erasure_ledger::LedgerWriter`).
pub trait ErasureLog: Send + Sync {
    fn write(&self, erased: &[ErasureRecord]) -> Result<(), String>;
}

/// One erasure done, by id only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureRecord {
    pub user: UserId,
    pub data_key_id: String,
    pub erased_at: UnixMillis,
}

/// Tables whose rows about a person are deleted outright, by `user_id`.
const PERSONAL_ROWS: [&str; 20] = [
    "api_tokens",
    "oauth_tokens",
    "oauth_grants",
    "consent_records",
    "setup_tokens",
    "mfa_totp",
    "recovery_codes",
    "passkeys",
    "oidc_links",
    "reply_capabilities",
    "requester_confirmations",
    "satisfaction_links",
    "notifications",
    "notification_preferences",
    "ticket_followers",
    "ticket_collaborators",
    "ticket_presence",
    "assistant_preferences",
    "people_terms",
    "team_members",
];

impl Store {
    /// Erases `person` (a customer) and every account merged into them. The proof of
    /// `user.erase` on the person is required; legal holds are the caller's to check
    /// first ([`Store::holds_on_person`]).
    pub async fn erase_person(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        person: &UserId,
    ) -> Result<Erased, StoreError> {
        if !proof.covers(Action::UserErase, person.as_str()) {
            return Err(StoreError::Unauthorized);
        }
        self.erase_with_merged(tx, person).await
    }

    /// Erases again what the ledger says was erased, for accounts this database still
    /// holds in clear (it was restored from a backup taken before). Returns those
    /// erased now; each is audited as re-applied.
    pub async fn reapply_erasures(&self, people: &[UserId]) -> Result<Vec<UserId>, StoreError> {
        let mut done = Vec::new();
        for person in people {
            let mut tx = self.begin().await?;
            let row = sqlx::query("SELECT erased_at, data_key_id FROM users WHERE id = $1")
                .bind(person.as_str())
                .fetch_optional(tx.conn())
                .await?;
            let Some(row) = row else {
                continue;
            };
            let erased: Option<i64> = row.try_get("erased_at")?;
            if erased.is_some() {
                self.record_erasure(&mut tx, person, &row.try_get::<String, _>("data_key_id")?)
                    .await?;
                tx.commit().await?;
                continue;
            }
            let counts = self.erase_with_merged(&mut tx, person).await?;
            let event = palisade_audit::AuditEvent::new(
                palisade_audit::AuditAction::ErasureReapplied,
                person.as_str(),
                palisade_audit::Outcome::Success,
            )
            .with_detail(serde_json::json!({
                "accounts": counts.accounts.len(),
                "tickets_rekeyed": counts.tickets_rekeyed,
            }));
            self.append_audit(&mut tx, &palisade_audit::AuditContext::system(), &event)
                .await?;
            tx.commit().await?;
            done.push(person.clone());
        }
        if !done.is_empty() {
            self.scrub_after_erasure().await;
        }
        Ok(done)
    }

    /// Every erasure this database shows done, oldest first: recorded, the account
    /// erased and its key gone. A row written into `erasures` by hand, without the
    /// erasure, is not one (it must not reach the signed ledger).
    pub async fn erasures(&self) -> Result<Vec<ErasureRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.user_id, e.data_key_id, e.erased_at FROM erasures e JOIN users u ON u.id = e.user_id \
             WHERE u.erased_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM data_keys d WHERE d.id = e.data_key_id) \
             ORDER BY e.erased_at, e.user_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ErasureRecord {
                    user: UserId::parse(&r.try_get::<String, _>("user_id")?)?,
                    data_key_id: r.try_get("data_key_id")?,
                    erased_at: UnixMillis(r.try_get("erased_at")?),
                })
            })
            .collect()
    }

    async fn erase_with_merged(&self, tx: &mut Tx, person: &UserId) -> Result<Erased, StoreError> {
        // Accounts merged into this one are the same person under another address.
        let mut accounts = vec![person.clone()];
        let mut at = 0;
        while at < accounts.len() && accounts.len() <= 1000 {
            let merged: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE merged_into = $1")
                .bind(accounts[at].as_str())
                .fetch_all(tx.conn())
                .await?;
            for id in merged {
                let id = UserId::parse(&id)?;
                if !accounts.contains(&id) {
                    accounts.push(id);
                }
            }
            at += 1;
        }
        let mut total = Erased::default();
        for account in &accounts {
            let one = self.erase_account(tx, account).await?;
            total.accounts.extend(one.accounts);
            total.tickets_rekeyed += one.tickets_rekeyed;
            total.messages_emptied += one.messages_emptied;
            total.attachments_deleted += one.attachments_deleted;
            total.conversations_deleted += one.conversations_deleted;
        }
        Ok(total)
    }

    async fn erase_account(&self, tx: &mut Tx, person: &UserId) -> Result<Erased, StoreError> {
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT role, data_key_id, email_enc, erased_at FROM users WHERE id = $1{lock}"
        )))
        .bind(person.as_str())
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut erased = Erased::default();
        if row.try_get::<Option<i64>, _>("erased_at")?.is_some() {
            return Ok(erased);
        }
        if row.try_get::<String, _>("role")? != "customer" {
            return Err(StoreError::Invalid("only customers are erased".into()));
        }
        let key_id: String = row.try_get("data_key_id")?;
        if key_id == ORG_KEY_ID {
            return Err(StoreError::Corrupt(format!(
                "customer {person} under the organisation key"
            )));
        }
        if self.dialect == Dialect::Sqlite {
            // Freed pages are overwritten, not merely unlinked.
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(tx.conn())
                .await?;
        }
        let key = self.load_key_tx(tx, &key_id).await?;
        let email = EmailAddress::parse(&open_text(
            &key,
            "users",
            "email",
            person.as_str(),
            &row.try_get::<Vec<u8>, _>("email_enc")?,
        )?)?;
        // Current root first, then any root a rotation kept an index key of.
        let indexes = self.keys.blind_indexes(EMAIL_INDEX_DOMAIN, email.as_str());

        let touched = self.empty_contributions(tx, person, &mut erased).await?;
        let own: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM tickets WHERE requester_id = $1 AND data_key_id = $2 ORDER BY id{lock}"
        )))
        .bind(person.as_str())
        .bind(&key_id)
        .fetch_all(tx.conn())
        .await?;
        for ticket in &own {
            let ticket = TicketId::parse(ticket)?;
            self.rekey_ticket(tx, &ticket, &key).await?;
            erased.tickets_rekeyed += 1;
        }
        let mut reindex: BTreeSet<String> = touched;
        reindex.extend(own);
        for ticket in &reindex {
            self.reindex_ticket(tx, ticket).await?;
        }

        erased.conversations_deleted = self.delete_conversations(tx, person).await?;
        sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        )
        .bind(person.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(person.as_str())
            .execute(tx.conn())
            .await?;
        for table in PERSONAL_ROWS {
            let sql = format!("DELETE FROM {table} WHERE user_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(person.as_str())
                .execute(tx.conn())
                .await?;
        }
        sqlx::query("DELETE FROM satisfaction WHERE rated_by = $1")
            .bind(person.as_str())
            .execute(tx.conn())
            .await?;
        let mut throttle_keys = vec![format!("mfa:{person}")];
        for index in &indexes {
            throttle_keys.push(format!("account:{index}"));
            throttle_keys.push(format!("reset-account:{index}"));
        }
        let sql = format!(
            "DELETE FROM throttle WHERE key IN ({})",
            placeholders(0, throttle_keys.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in &throttle_keys {
            query = query.bind(k);
        }
        query.execute(tx.conn()).await?;
        // Mail received from them is remembered by a keyed hash of the sender (to drop
        // duplicates): those go too, under every root held.
        let senders = self.keys.blind_indexes("received.sender", email.as_str());
        let sql = format!(
            "DELETE FROM received_messages WHERE sender_index IN ({})",
            placeholders(0, senders.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for index in &senders {
            query = query.bind(index);
        }
        query.execute(tx.conn()).await?;
        for table in [
            ("bounced_addresses", "address_index"),
            ("outbox", "recipient_index"),
        ] {
            let sql = format!(
                "DELETE FROM {} WHERE {} IN ({})",
                table.0,
                table.1,
                placeholders(0, indexes.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for index in &indexes {
                query = query.bind(index);
            }
            query.execute(tx.conn()).await?;
        }

        let now = self.now().0;
        sqlx::query(
            "UPDATE users SET email_index = $1, email_enc = $2, name_enc = $2, phone_enc = NULL, \
             password_hash = NULL, locale = NULL, disabled = 1, data_key_id = $3, erased_at = $4 WHERE id = $5",
        )
        .bind(format!("erased:{person}"))
        .bind(Vec::<u8>::new())
        .bind(ORG_KEY_ID)
        .bind(now)
        .bind(person.as_str())
        .execute(tx.conn())
        .await?;
        // Exports of their data go with it, and access requests still open are closed
        // (nothing is left to hand out).
        sqlx::query(
            "DELETE FROM privacy_exports WHERE data_key_id = $1 \
             OR request_id IN (SELECT id FROM privacy_requests WHERE person_id = $2)",
        )
        .bind(&key_id)
        .bind(person.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE privacy_requests SET state = 'declined', decided_at = $1 \
             WHERE person_id = $2 AND kind = 'access' AND state IN ('building', 'ready')",
        )
        .bind(self.now().0)
        .bind(person.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM data_keys WHERE id = $1")
            .bind(&key_id)
            .execute(tx.conn())
            .await?;
        self.record_erasure(tx, person, &key_id).await?;
        erased.accounts.push(ErasureRecord {
            user: person.clone(),
            data_key_id: key_id,
            erased_at: UnixMillis(now),
        });
        Ok(erased)
    }

    async fn record_erasure(&self, tx: &mut Tx, person: &UserId, key_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO erasures (user_id, data_key_id, erased_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(person.as_str())
        .bind(key_id)
        .bind(self.now().0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Empties what `person` wrote in any ticket (their messages keep their place,
    /// emptied, under the ticket's key) and deletes their files and the mail their
    /// messages came from. Returns the tickets touched.
    async fn empty_contributions(
        &self,
        tx: &mut Tx,
        person: &UserId,
        erased: &mut Erased,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut touched = BTreeSet::new();
        let written = sqlx::query(
            "SELECT m.id, m.ticket_id, t.data_key_id FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.author_id = $1",
        )
        .bind(person.as_str())
        .fetch_all(tx.conn())
        .await?;
        for row in &written {
            let id: String = row.try_get("id")?;
            let ticket: String = row.try_get("ticket_id")?;
            for table in ["message_originals", "message_html", "mail_provenance"] {
                let sql = format!("DELETE FROM {table} WHERE message_id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&id)
                    .execute(tx.conn())
                    .await?;
            }
            let ticket_key = self
                .load_key_tx(tx, &row.try_get::<String, _>("data_key_id")?)
                .await?;
            sqlx::query("UPDATE messages SET body_enc = $1 WHERE id = $2")
                .bind(seal(&ticket_key, "messages", "body", &id, b"")?)
                .bind(&id)
                .execute(tx.conn())
                .await?;
            touched.insert(ticket);
            erased.messages_emptied += 1;
        }
        let files: Vec<String> =
            sqlx::query_scalar("SELECT ticket_id FROM attachments WHERE uploader_id = $1")
                .bind(person.as_str())
                .fetch_all(tx.conn())
                .await?;
        touched.extend(files);
        erased.attachments_deleted = sqlx::query("DELETE FROM attachments WHERE uploader_id = $1")
            .bind(person.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected() as usize;
        Ok(touched)
    }

    /// Gives a ticket the person asked a key of its own, with what others wrote sealed
    /// again under it; the subject (theirs) and personal field values are dropped.
    async fn rekey_ticket(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        person_key: &palisade_crypto::DataKey,
    ) -> Result<(), StoreError> {
        let (key_id, key) = self.create_key(tx, ticket.as_str()).await?;
        for sealed in &SEALED {
            self.reseal(tx, sealed, ticket, person_key, &key).await?;
        }
        // Ratings by others (a colleague who rated a shared ticket) stay.
        self.reseal(
            tx,
            &crate::satisfaction::SATISFACTION_SEALED,
            ticket,
            person_key,
            &key,
        )
        .await?;
        sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1 AND value_enc IS NOT NULL")
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "UPDATE tickets SET data_key_id = $1, subject_enc = $2, version = version + 1, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(&key_id)
        .bind(seal(&key, "tickets", "subject", ticket.as_str(), b"")?)
        .bind(self.now().0)
        .bind(ticket.as_str())
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Drops a ticket's search words and queues them again from what is left (its
    /// subject and messages, each with its visibility).
    async fn reindex_ticket(&self, tx: &mut Tx, ticket: &str) -> Result<(), StoreError> {
        for table in ["search_terms", "search_pending"] {
            let sql = format!("DELETE FROM {table} WHERE ticket_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ticket)
                .execute(tx.conn())
                .await?;
        }
        let (key_id, subject): (String, Vec<u8>) =
            sqlx::query_as("SELECT data_key_id, subject_enc FROM tickets WHERE id = $1")
                .bind(ticket)
                .fetch_one(tx.conn())
                .await?;
        let key = self.load_key_tx(tx, &key_id).await?;
        let mut public = vec![open_text(&key, "tickets", "subject", ticket, &subject)?];
        let mut internal = Vec::new();
        let messages: Vec<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT id, visibility, body_enc FROM messages WHERE ticket_id = $1")
                .bind(ticket)
                .fetch_all(tx.conn())
                .await?;
        for (id, visibility, body) in &messages {
            let text = open_text(&key, "messages", "body", id, body)?;
            if visibility == Visibility::Public.as_str() {
                public.push(text);
            } else {
                internal.push(text);
            }
        }
        for (visibility, texts) in [(Visibility::Public, public), (Visibility::Internal, internal)] {
            let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
            let Some(terms) = self.pending_terms(&borrowed) else {
                continue;
            };
            sqlx::query("INSERT INTO search_pending (ticket_id, visibility, terms) VALUES ($1, $2, $3)")
                .bind(ticket)
                .bind(visibility.as_str())
                .bind(terms)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// Their conversations, and anonymous ones handed over into a ticket they asked
    /// (their words, under the organisation key).
    async fn delete_conversations(&self, tx: &mut Tx, person: &UserId) -> Result<usize, StoreError> {
        const THEIRS: &str = "user_id = $1 OR ticket_id IN (SELECT id FROM tickets WHERE requester_id = $1)";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM assistant_messages WHERE conversation_id IN \
             (SELECT id FROM assistant_conversations WHERE {THEIRS})"
        )))
        .bind(person.as_str())
        .execute(tx.conn())
        .await?;
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM assistant_conversations WHERE {THEIRS}"
        )))
        .bind(person.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected() as usize)
    }

    /// Best effort to leave no copy of the deleted key or the emptied values in the
    /// database files: SQLite's WAL is checkpointed (the pages were overwritten with
    /// `secure_delete`), PostgreSQL's dead row versions vacuumed.
    pub async fn scrub_after_erasure(&self) {
        let statements: &[&'static str] = match self.dialect {
            Dialect::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA secure_delete = OFF"],
            Dialect::Postgres => &[
                "VACUUM data_keys, users, tickets, messages, attachments, message_originals, message_html, \
                 mail_provenance, satisfaction, ticket_field_values, sessions, throttle, bounced_addresses, \
                 received_messages, privacy_exports, assistant_messages, assistant_conversations, outbox, \
                 search_terms, search_pending, people_terms, audit_log, quarantine, api_tokens, consent_records, \
                 retention_runs",
            ],
        };
        for statement in statements {
            if let Err(e) = sqlx::query(*statement).execute(&self.write).await {
                tracing::warn!(error = %e, "scrubbing erased values from the database files");
            }
        }
    }
}
