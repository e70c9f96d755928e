//! Carrying out what the retention schedules make due, one bounded batch per
//! transaction: each batch reads what is due under the legal holds in force, disposes
//! of it and records what it did in the audit trail, all or nothing.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::TicketId;
use serde::Serialize;
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, seal};
use crate::retention::{
    ADDRESS_PLACES, AddressPlace, DueTicket, HeldSet, TICKET_ROWS, TicketDisposal, merge_group,
};
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
        let held = self.holds_in_force(tx.conn()).await?;
        let due = self.retention_due_on(tx.conn(), &held, batch, false).await?;
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
        if self.dialect == Dialect::Postgres && !due.tickets.is_empty() {
            // All of the batch's tickets at once, in id order, as erasure locks a
            // person's: the two never wait on each other in a cycle.
            let sql = format!(
                "SELECT id FROM tickets WHERE id IN ({}) ORDER BY id FOR UPDATE",
                crate::db::placeholders(0, due.tickets.len())
            );
            let mut lock = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ticket in &due.tickets {
                lock = lock.bind(ticket.id.as_str());
            }
            lock.fetch_all(tx.conn()).await?;
        }
        let mut tickets = Vec::new();
        for ticket in &due.tickets {
            // Read again under a lock: a reply or a reopening since makes it live, and
            // an erased merge group may have taken it already.
            if !self.still_due(&mut tx, ticket).await? {
                continue;
            }
            match ticket.action {
                TicketDisposal::Anonymise => {
                    self.anonymise_ticket(&mut tx, &ticket.id).await?;
                    done.tickets_anonymised += 1;
                    tickets.push(ticket.id.as_str().to_owned());
                }
                TicketDisposal::Erase => {
                    let group = self.erase_ticket(&mut tx, &ticket.id).await?;
                    done.tickets_erased += group.len() as u64;
                    tickets.extend(group);
                }
            }
        }
        for conversation in &due.transcripts {
            done.transcripts_deleted += delete_conversation(&mut tx, conversation).await?;
        }
        done.quarantined_purged = self.purge_quarantine(&mut tx, batch).await?;
        let now = self.now().0;
        let mut shortened = [0u64; 4];
        if let Some(cutoff) = self.addresses_cutoff(tx.conn(), now).await? {
            for (place, count) in ADDRESS_PLACES.iter().zip(shortened.iter_mut()) {
                *count = shorten(&mut tx, place, cutoff, batch, &held).await?;
            }
        }
        [
            done.session_addresses_shortened,
            done.token_addresses_shortened,
            done.transcript_addresses_shortened,
            done.audit_addresses_shortened,
        ] = shortened;
        let full = |n: u64| i64::try_from(n).unwrap_or(i64::MAX) >= batch;
        let more = due.tickets_due > due.tickets.len() as u64
            || due.transcripts_due > due.transcripts.len() as u64
            || full(done.quarantined_purged)
            || shortened.into_iter().any(full);
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

    /// Whether the ticket is as it was read when found due: still solved or closed,
    /// not anonymised, unchanged since (read after the batch locked it).
    async fn still_due(&self, tx: &mut Tx, ticket: &DueTicket) -> Result<bool, StoreError> {
        let row: Option<(String, Option<i64>, i64)> =
            sqlx::query_as("SELECT status, anonymised_at, updated_at FROM tickets WHERE id = $1")
                .bind(ticket.id.as_str())
                .fetch_optional(tx.conn())
                .await?;
        Ok(matches!(row, Some((status, None, changed))
            if (status == "solved" || status == "closed") && changed == ticket.last_change.0))
    }

    /// Deletes the ticket, those merged into it and everything in them (legal holds on
    /// any of them were checked when it was found due). Returns the tickets deleted.
    async fn erase_ticket(&self, tx: &mut Tx, ticket: &TicketId) -> Result<Vec<String>, StoreError> {
        // Merged tickets name their survivor, so they go first (deepest first).
        let group = merge_group(tx.conn(), ticket.as_str(), false).await?;
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
                "ticket_field_values",
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
        Ok(group)
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

/// Deletes a conversation with its messages; 0 when it went already (with a ticket).
async fn delete_conversation(tx: &mut Tx, conversation: &str) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM assistant_messages WHERE conversation_id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(sqlx::query("DELETE FROM assistant_conversations WHERE id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?
        .rows_affected())
}

/// Shortens at most `batch` addresses kept in `place` to their network, leaving those
/// of people under a legal hold; in the audit trail the salt goes too, so the
/// commitment no longer opens.
async fn shorten(
    tx: &mut Tx,
    place: &AddressPlace,
    cutoff: i64,
    batch: i64,
    held: &HeldSet,
) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT {key} AS k, {column} AS ip FROM {table} WHERE {due} LIMIT ${limit}",
        key = place.key,
        column = place.column,
        table = place.table,
        due = place.due_unheld(held, 2),
        limit = held.people.len() + 2,
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff);
    for person in &held.people {
        query = query.bind(person);
    }
    let rows = query.bind(batch).fetch_all(tx.conn()).await?;
    let salt = if place.table == "audit_log" {
        ", ip_salt = ''"
    } else {
        ""
    };
    let update = format!(
        "UPDATE {table} SET {column} = $1{salt} WHERE {key} = $2",
        table = place.table,
        column = place.column,
        key = place.key,
    );
    for row in &rows {
        let ip: String = row.try_get("ip")?;
        let query = sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(palisade_core::truncate_ip(&ip));
        let query = if place.key == "seq" {
            query.bind(row.try_get::<i64, _>("k")?)
        } else {
            query.bind(row.try_get::<String, _>("k")?)
        };
        query.execute(tx.conn()).await?;
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
