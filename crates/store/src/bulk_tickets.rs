//! Many tickets created in one transaction by a handful of multi-row statements: the
//! path for loading a large desk (the scale benchmark seeds a million tickets through
//! it). Each ticket is held to exactly what [`Store::create_ticket`] holds it to: its
//! own authorisation proof, its subject and first message sealed under its requester's
//! data key, its words pending for the term index; the caller audits them, as with a
//! single create (`append_audit_many` takes the chain's head once for all of them).
//! It records no domain events, so nothing reacts to a loaded ticket: no notifications,
//! service-level targets or rules, as befits tickets brought in from elsewhere.

use std::collections::HashMap;

use palisade_core::{CompanyId, MessageId, TicketId, TicketStatus, UserId, Visibility};
use palisade_crypto::DataKey;
use palisade_policy::{Action, Authorized};
use sqlx::{AssertSqlSafe, Row};

use crate::db::multi_row_insert;
use crate::keys::seal;
use crate::tickets::require;
use crate::{Dialect, NewTicket, Store, StoreError, Tx};

/// Rows per INSERT: keeps every statement under SQLite's and PostgreSQL's limits on
/// parameters (32,766 and 65,535) at up to ten columns a row.
const ROWS_PER_STATEMENT: usize = 1_000;

/// One ticket of a bulk create: the id its creation was authorised for, and the proof.
pub struct BulkTicket<'a> {
    pub proof: &'a Authorized,
    pub id: &'a TicketId,
    pub new: &'a NewTicket,
}

struct Sealed {
    ticket: String,
    number: i64,
    requester: String,
    company: Option<String>,
    team: String,
    key_id: String,
    subject_enc: Vec<u8>,
    message: MessageId,
    author: String,
    body_enc: Vec<u8>,
    terms: Option<String>,
}

impl Store {
    /// Creates every ticket with its first public message; returns each one's number
    /// and message id, in order. Nothing is written unless every proof covers its
    /// ticket.
    pub async fn create_tickets_bulk(
        &self,
        tx: &mut Tx,
        tickets: &[BulkTicket<'_>],
    ) -> Result<Vec<(i64, MessageId)>, StoreError> {
        for ticket in tickets {
            require(ticket.proof, Action::TicketCreate, ticket.id)?;
        }
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let numbers = self.next_ticket_numbers(tx, tickets.len()).await?;
        let mut keys: HashMap<UserId, (String, DataKey, Option<CompanyId>)> = HashMap::new();
        let now = self.now().0;
        let mut sealed = Vec::with_capacity(tickets.len());
        for (ticket, number) in tickets.iter().zip(numbers) {
            let requester = &ticket.new.requester;
            if !keys.contains_key(requester) {
                let found = self.requester_key(tx, requester).await?;
                keys.insert(requester.clone(), found);
            }
            let (key_id, key, company) = &keys[requester];
            let id = ticket.id.as_str();
            let message = MessageId::generate();
            sealed.push(Sealed {
                ticket: id.to_owned(),
                number,
                requester: requester.to_string(),
                company: company.as_ref().map(ToString::to_string),
                team: ticket.new.team.to_string(),
                key_id: key_id.clone(),
                subject_enc: seal(key, "tickets", "subject", id, ticket.new.subject.as_bytes())?,
                body_enc: seal(
                    key,
                    "messages",
                    "body",
                    message.as_str(),
                    ticket.new.first_message.as_bytes(),
                )?,
                message,
                author: ticket.new.author.to_string(),
                terms: self.pending_terms(&[&ticket.new.subject, &ticket.new.first_message]),
            });
        }
        for chunk in sealed.chunks(ROWS_PER_STATEMENT) {
            let sql = multi_row_insert(
                "tickets (id, number, requester_id, company_id, team_id, status, data_key_id, subject_enc, \
                 created_at, updated_at)",
                10,
                chunk.len(),
            );
            let mut insert = sqlx::query(AssertSqlSafe(sql));
            for t in chunk {
                insert = insert
                    .bind(&t.ticket)
                    .bind(t.number)
                    .bind(&t.requester)
                    .bind(&t.company)
                    .bind(&t.team)
                    .bind(TicketStatus::New.as_str())
                    .bind(&t.key_id)
                    .bind(&t.subject_enc)
                    .bind(now)
                    .bind(now);
            }
            insert.execute(tx.conn()).await.map_err(StoreError::from_insert)?;

            let sql = multi_row_insert(
                "messages (id, ticket_id, author_id, visibility, body_enc, created_at)",
                6,
                chunk.len(),
            );
            let mut insert = sqlx::query(AssertSqlSafe(sql));
            for t in chunk {
                insert = insert
                    .bind(t.message.as_str())
                    .bind(&t.ticket)
                    .bind(&t.author)
                    .bind(Visibility::Public.as_str())
                    .bind(&t.body_enc)
                    .bind(now);
            }
            insert.execute(tx.conn()).await?;

            let with_terms: Vec<&Sealed> = chunk.iter().filter(|t| t.terms.is_some()).collect();
            if !with_terms.is_empty() {
                let sql = multi_row_insert(
                    "search_pending (ticket_id, visibility, terms)",
                    3,
                    with_terms.len(),
                );
                let mut insert = sqlx::query(AssertSqlSafe(sql));
                for t in with_terms {
                    insert = insert
                        .bind(&t.ticket)
                        .bind(Visibility::Public.as_str())
                        .bind(&t.terms);
                }
                insert.execute(tx.conn()).await?;
            }
        }
        Ok(sealed.into_iter().map(|t| (t.number, t.message)).collect())
    }

    async fn next_ticket_numbers(&self, tx: &mut Tx, count: usize) -> Result<Vec<i64>, StoreError> {
        let count = i64::try_from(count).map_err(|_| StoreError::Corrupt("too many tickets".into()))?;
        match self.dialect {
            Dialect::Postgres => {
                let rows = sqlx::query("SELECT nextval('ticket_numbers') FROM generate_series(1, $1)")
                    .bind(count)
                    .fetch_all(tx.conn())
                    .await?;
                rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
            }
            Dialect::Sqlite => {
                let last: i64 = sqlx::query(
                    "UPDATE counters SET value = value + $1 WHERE name = 'ticket_number' RETURNING value",
                )
                .bind(count)
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
                Ok((last - count + 1..=last).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::multi_row_insert;

    #[test]
    fn every_row_gets_its_own_numbered_parameters() {
        assert_eq!(
            multi_row_insert("t (a, b)", 2, 3),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
    }
}
