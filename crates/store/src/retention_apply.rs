//! Carrying out what the retention schedules make due, one bounded batch per
//! transaction: each batch reads what is due under the legal holds in force, disposes
//! of it and records what it did in the audit trail, all or nothing.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{TicketId, truncate_ip};
use serde::Serialize;
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, seal};
use crate::retention::{TICKET_ROWS, TicketDisposal};
use crate::{Dialect, Store, StoreError, Tx};

/// The account an anonymised ticket names in place of its customers: erased from the
/// start, so it never signs in, receives mail or shows a name.
pub const ANONYMISED_PERSON: &str = "usr_anonymised-person_____";

/// What one batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionDone {
    pub tickets_anonymised: u64,
    pub tickets_erased: u64,
    pub tickets_held: u64,
    pub transcripts_deleted: u64,
    pub transcripts_held: u64,
    pub quarantined_purged: u64,
    pub session_addresses_shortened: u64,
    pub audit_addresses_shortened: u64,
    pub token_addresses_shortened: u64,
    pub transcript_addresses_shortened: u64,
}

impl RetentionDone {
    pub fn is_empty(&self) -> bool {
        let held = RetentionDone {
            tickets_held: self.tickets_held,
            transcripts_held: self.transcripts_held,
            ..RetentionDone::default()
        };
        *self == held
    }

    pub fn add(&mut self, other: &RetentionDone) {
        self.tickets_anonymised += other.tickets_anonymised;
        self.tickets_erased += other.tickets_erased;
        // Holds are counted afresh by each batch: the most any batch saw.
        self.tickets_held = self.tickets_held.max(other.tickets_held);
        self.transcripts_held = self.transcripts_held.max(other.transcripts_held);
        self.transcripts_deleted += other.transcripts_deleted;
        self.quarantined_purged += other.quarantined_purged;
        self.session_addresses_shortened += other.session_addresses_shortened;
        self.audit_addresses_shortened += other.audit_addresses_shortened;
        self.token_addresses_shortened += other.token_addresses_shortened;
        self.transcript_addresses_shortened += other.transcript_addresses_shortened;
    }
}

impl Store {
    /// Disposes of at most `batch` of each kind of thing due, in one transaction with
    /// its audit entry (`privacy.retention_applied`, naming the run and the tickets).
    /// Returns what it did and whether more is due.
    pub async fn apply_retention_batch(
        &self,
        run: &str,
        batch: i64,
    ) -> Result<(RetentionDone, bool), StoreError> {
        let mut tx = self.begin().await?;
        self.lock_holds(&mut tx).await?;
        let due = self.retention_due_on(tx.conn(), batch).await?;
        if self.dialect == Dialect::Sqlite {
            // Freed pages are overwritten, not merely unlinked.
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(tx.conn())
                .await?;
        }
        let mut done = RetentionDone {
            tickets_held: due.tickets_held,
            transcripts_held: due.transcripts_held,
            ..RetentionDone::default()
        };
        let mut tickets = Vec::new();
        for ticket in &due.tickets {
            match ticket.action {
                TicketDisposal::Anonymise => {
                    self.anonymise_ticket(&mut tx, &ticket.id).await?;
                    done.tickets_anonymised += 1;
                }
                TicketDisposal::Erase => {
                    done.tickets_erased += self.erase_ticket(&mut tx, &ticket.id).await?;
                }
            }
            tickets.push(ticket.id.as_str().to_owned());
        }
        for conversation in &due.transcripts {
            delete_conversation(&mut tx, conversation).await?;
            done.transcripts_deleted += 1;
        }
        done.quarantined_purged = self.purge_quarantine(&mut tx, batch).await?;
        let now = self.now().0;
        if let Some(cutoff) = self.addresses_cutoff(tx.conn(), now).await? {
            done.session_addresses_shortened =
                shorten(&mut tx, "sessions", "id", "ip", "created_at < $1", cutoff, batch).await?;
            done.token_addresses_shortened = shorten(
                &mut tx,
                "api_tokens",
                "id",
                "last_used_ip",
                "last_used_at < $1 AND last_used_ip IS NOT NULL",
                cutoff,
                batch,
            )
            .await?;
            done.transcript_addresses_shortened = shorten(
                &mut tx,
                "assistant_conversations",
                "id",
                "client_ip",
                "updated_at < $1",
                cutoff,
                batch,
            )
            .await?;
            done.audit_addresses_shortened = shorten_audit(&mut tx, cutoff, batch).await?;
        }
        let more = due.tickets_due > due.tickets.len() as u64
            || due.transcripts_due > due.transcripts.len() as u64
            || i64::try_from(done.quarantined_purged).unwrap_or(i64::MAX) >= batch
            || [
                done.session_addresses_shortened,
                done.token_addresses_shortened,
                done.transcript_addresses_shortened,
                done.audit_addresses_shortened,
            ]
            .iter()
            .any(|n| i64::try_from(*n).unwrap_or(i64::MAX) >= batch);
        if done.is_empty() {
            tx.commit().await?;
            return Ok((done, false));
        }
        let mut detail = serde_json::to_value(&done).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        detail["run"] = serde_json::Value::from(run);
        detail["tickets"] = serde_json::Value::from(tickets);
        let event =
            AuditEvent::new(AuditAction::RetentionApplied, "privacy", Outcome::Success).with_detail(detail);
        self.append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        Ok((done, more))
    }

    /// Keeps the ticket for reports with its subject, messages, files, mail, personal
    /// field values, search words and followers removed; its requester and every
    /// customer who wrote in it or rated it become the anonymised person. What is left
    /// (empty text) is sealed with the organisation key, and a key of the ticket's own
    /// is destroyed; one shared with its requester stays theirs.
    async fn anonymise_ticket(&self, tx: &mut Tx, ticket: &TicketId) -> Result<(), StoreError> {
        self.ensure_anonymised_person(tx).await?;
        let old_key: String = sqlx::query_scalar("SELECT data_key_id FROM tickets WHERE id = $1")
            .bind(ticket.as_str())
            .fetch_one(tx.conn())
            .await?;
        strip_ticket(tx, ticket.as_str()).await?;
        let org = self.load_key_tx(tx, ORG_KEY_ID).await?;
        let messages: Vec<String> = sqlx::query_scalar("SELECT id FROM messages WHERE ticket_id = $1")
            .bind(ticket.as_str())
            .fetch_all(tx.conn())
            .await?;
        for id in &messages {
            sqlx::query("UPDATE messages SET body_enc = $1 WHERE id = $2")
                .bind(seal(&org, "messages", "body", id, b"")?)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        sqlx::query(
            "UPDATE messages SET author_id = $1 WHERE ticket_id = $2 \
             AND author_id IN (SELECT id FROM users WHERE role = 'customer')",
        )
        .bind(ANONYMISED_PERSON)
        .bind(ticket.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE satisfaction SET comment_enc = $1, rated_by = $2 WHERE ticket_id = $3")
            .bind(seal(&org, "satisfaction", "comment", ticket.as_str(), b"")?)
            .bind(ANONYMISED_PERSON)
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "UPDATE tickets SET requester_id = $1, data_key_id = $2, subject_enc = $3, anonymised_at = $4, \
             version = version + 1 WHERE id = $5",
        )
        .bind(ANONYMISED_PERSON)
        .bind(ORG_KEY_ID)
        .bind(seal(&org, "tickets", "subject", ticket.as_str(), b"")?)
        .bind(self.now().0)
        .bind(ticket.as_str())
        .execute(tx.conn())
        .await?;
        drop_own_key(tx, ticket, &old_key).await?;
        Ok(())
    }

    /// Deletes the ticket, those merged into it and everything in them. Returns how
    /// many tickets went.
    async fn erase_ticket(&self, tx: &mut Tx, ticket: &TicketId) -> Result<u64, StoreError> {
        // Merged tickets name their survivor, so they go first (deepest first).
        let mut group = vec![ticket.as_str().to_owned()];
        let mut at = 0;
        while at < group.len() && group.len() <= 1000 {
            let merged: Vec<String> = sqlx::query_scalar("SELECT id FROM tickets WHERE merged_into = $1")
                .bind(&group[at])
                .fetch_all(tx.conn())
                .await?;
            group.extend(
                merged
                    .into_iter()
                    .filter(|m| !group.contains(m))
                    .collect::<Vec<_>>(),
            );
            at += 1;
        }
        for id in group.iter().rev() {
            let key: String = sqlx::query_scalar("SELECT data_key_id FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?;
            strip_ticket(tx, id).await?;
            for table in [
                "sla_timers",
                "ticket_targets",
                "rule_runs",
                "ticket_tags",
                "satisfaction",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE ticket_id = $1"
                )))
                .bind(id)
                .execute(tx.conn())
                .await?;
            }
            sqlx::query("DELETE FROM ticket_links WHERE ticket_id = $1 OR linked_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM messages WHERE ticket_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM tickets WHERE id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            drop_own_key(tx, &TicketId::parse(id)?, &key).await?;
        }
        Ok(group.len() as u64)
    }

    async fn ensure_anonymised_person(&self, tx: &mut Tx) -> Result<(), StoreError> {
        let now = self.now().0;
        sqlx::query(
            "INSERT INTO users (id, role, data_key_id, email_index, email_enc, name_enc, disabled, created_at, \
             erased_at) VALUES ($1, 'customer', $2, $3, $4, $4, 1, $5, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(ANONYMISED_PERSON)
        .bind(ORG_KEY_ID)
        .bind(format!("erased:{ANONYMISED_PERSON}"))
        .bind(Vec::<u8>::new())
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    async fn purge_quarantine(&self, tx: &mut Tx, batch: i64) -> Result<u64, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT q.id FROM quarantine q {} WHERE {days} IS NOT NULL AND q.received_at < $1 - {days} * {} \
             ORDER BY q.received_at LIMIT $2",
            crate::retention::QUARANTINE_SCHEDULES,
            crate::retention::DAY_MS,
            days = crate::retention::QUARANTINE_DAYS,
        )))
        .bind(self.now().0)
        .bind(batch)
        .fetch_all(tx.conn())
        .await?;
        for id in &ids {
            sqlx::query("DELETE FROM quarantine WHERE id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        Ok(ids.len() as u64)
    }
}

/// Removes from a ticket what is written in it and who follows it, keeping the ticket
/// and its message rows: files, original mail, formatted bodies, provenance, search
/// words, personal field values, reply and rating links, notifications, followers,
/// collaborators, presence and assistant conversations handed over into it.
async fn strip_ticket(tx: &mut Tx, ticket: &str) -> Result<(), StoreError> {
    for table in ["mail_provenance", "message_html", "message_originals"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE message_id IN (SELECT id FROM messages WHERE ticket_id = $1)"
        )))
        .bind(ticket)
        .execute(tx.conn())
        .await?;
    }
    for table in TICKET_ROWS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE ticket_id = $1"
        )))
        .bind(ticket)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1 AND value_enc IS NOT NULL")
        .bind(ticket)
        .execute(tx.conn())
        .await?;
    let conversations: Vec<String> =
        sqlx::query_scalar("SELECT id FROM assistant_conversations WHERE ticket_id = $1")
            .bind(ticket)
            .fetch_all(tx.conn())
            .await?;
    for conversation in &conversations {
        delete_conversation(tx, conversation).await?;
    }
    Ok(())
}

/// Destroys the key a ticket was given of its own (on a customer's erasure), so copies
/// of what it sealed (backups) are unreadable; a key shared with anyone stays.
async fn drop_own_key(tx: &mut Tx, ticket: &TicketId, key: &str) -> Result<(), StoreError> {
    if key != format!("dk_{}", ticket.as_str()) {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM data_keys WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tickets WHERE data_key_id = $1)",
    )
    .bind(key)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn delete_conversation(tx: &mut Tx, conversation: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM assistant_messages WHERE conversation_id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM assistant_conversations WHERE id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Shortens at most `batch` addresses in `column` of rows matching `older` to their
/// network.
async fn shorten(
    tx: &mut Tx,
    table: &str,
    key: &str,
    column: &str,
    older: &str,
    cutoff: i64,
    batch: i64,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {key} AS k, {column} AS ip FROM {table} WHERE {older} AND {column} <> '' \
         AND {column} NOT LIKE '%/%' LIMIT $2"
    )))
    .bind(cutoff)
    .bind(batch)
    .fetch_all(tx.conn())
    .await?;
    for row in &rows {
        let id: String = row.try_get("k")?;
        let ip: String = row.try_get("ip")?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {column} = $1 WHERE {key} = $2"
        )))
        .bind(truncate_ip(&ip))
        .bind(&id)
        .execute(tx.conn())
        .await?;
    }
    Ok(rows.len() as u64)
}

/// Shortens audit entries' addresses and deletes their salts: the chain covers the
/// network and a commitment the deleted salt no longer opens.
async fn shorten_audit(tx: &mut Tx, cutoff: i64, batch: i64) -> Result<u64, StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, ip FROM audit_log WHERE ip_salt <> '' AND at < $1 ORDER BY at LIMIT $2")
            .bind(cutoff)
            .bind(batch)
            .fetch_all(tx.conn())
            .await?;
    for (seq, ip) in &rows {
        sqlx::query("UPDATE audit_log SET ip = $1, ip_salt = '' WHERE seq = $2")
            .bind(truncate_ip(ip))
            .bind(seq)
            .execute(tx.conn())
            .await?;
    }
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anonymised_person_is_a_valid_account_id() {
        assert!(palisade_core::UserId::parse(ANONYMISED_PERSON).is_ok());
    }
}
