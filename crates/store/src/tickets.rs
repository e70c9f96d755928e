//! Tickets, their messages, tags, collaborators and search terms.
//! Subjects, bodies, file names and contents are sealed under the requester's data key.

use palisade_core::{
    CompanyId, MessageId, Priority, TagName, TeamId, TicketId, TicketStatus, TicketType, UnixMillis, UserId,
    Visibility,
};
use palisade_crypto::{DataKey, search_terms};
use palisade_policy::{Action, Authorized, TicketFacts};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::keys::{open_text, seal};
use crate::{Dialect, Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct NewTicket {
    pub requester: UserId,
    pub team: TeamId,
    pub subject: String,
    pub first_message: String,
    /// The author of the first message (the requester, or the agent opening it for them).
    pub author: UserId,
}

#[derive(Clone, Debug)]
pub struct TicketRecord {
    pub id: TicketId,
    pub number: i64,
    pub requester: UserId,
    pub company: Option<CompanyId>,
    pub company_sharing: bool,
    /// False while nobody has proved to be the requester (released quarantine mail,
    /// anonymous assistant handovers): customers do not see the ticket yet.
    pub requester_confirmed: bool,
    pub team: TeamId,
    pub assignee: Option<UserId>,
    pub status: TicketStatus,
    pub priority: Priority,
    pub ticket_type: Option<TicketType>,
    /// Incremented by every change to the ticket's fields (status, assignee, team,
    /// priority, type, tags): an update based on an older version is stale.
    pub version: i64,
    /// The ticket this duplicate was merged into; its thread continues there.
    pub merged_into: Option<TicketId>,
    pub subject: String,
    pub collaborators: Vec<UserId>,
    pub tags: Vec<TagName>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    pub(crate) data_key_id: String,
}

impl TicketRecord {
    /// The relationships the policies decide on.
    pub fn facts(&self) -> TicketFacts {
        TicketFacts {
            id: self.id.clone(),
            requester: self.requester.clone(),
            collaborators: self.collaborators.clone(),
            team: self.team.clone(),
            assignee: self.assignee.clone(),
            company: self.company.clone(),
            company_sharing: self.company_sharing,
            requester_confirmed: self.requester_confirmed,
        }
    }
}

/// What a read of a ticket's messages or attachments may include: public ones, or —
/// only with a proof of `ticket.read_internal` on that very ticket — internal ones too.
/// Internal rows are left out in SQL otherwise, so they are never even decrypted.
#[derive(Clone, Copy, Debug)]
pub enum Including<'a> {
    Public,
    Internal(&'a Authorized),
}

impl Including<'_> {
    pub(crate) fn filter(self, ticket: &TicketId) -> Result<&'static str, StoreError> {
        match self {
            Including::Public => Ok(" AND visibility = 'public'"),
            Including::Internal(proof) => {
                require(proof, Action::TicketReadInternal, ticket)?;
                Ok("")
            }
        }
    }
}

/// Which tickets a list may even consider; computed from the principal by the caller
/// and mirrored by the policies (every listed ticket is still authorised one by one).
#[derive(Clone, Debug)]
pub enum TicketScope {
    All,
    Teams {
        teams: Vec<TeamId>,
        assignee: Option<UserId>,
    },
    Customer {
        user: UserId,
        shared_company: Option<CompanyId>,
    },
}

#[derive(Clone, Debug, Default)]
pub struct TicketUpdate {
    pub status: Option<TicketStatus>,
    pub assignee: Option<Option<UserId>>,
    pub team: Option<TeamId>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears the type.
    pub ticket_type: Option<Option<TicketType>>,
}

impl TicketUpdate {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.assignee.is_none()
            && self.team.is_none()
            && self.priority.is_none()
            && self.ticket_type.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct MessageRecord {
    pub id: MessageId,
    pub ticket: TicketId,
    pub author: UserId,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: UnixMillis,
}

/// One query per ticket read: collaborators and tags come along as space-separated
/// lists (ids and tags never contain spaces), aggregated in each dialect's own way.
pub(crate) fn ticket_select(dialect: Dialect) -> String {
    let agg = |column: &str, table: &str| match dialect {
        Dialect::Sqlite => {
            format!("(SELECT group_concat({column}, ' ') FROM {table} x WHERE x.ticket_id = t.id)")
        }
        Dialect::Postgres => {
            format!(
                "(SELECT string_agg({column}, ' ' ORDER BY {column}) FROM {table} x WHERE x.ticket_id = t.id)"
            )
        }
    };
    format!(
        "SELECT t.id, t.number, t.requester_id, t.company_id, t.team_id, t.assignee_id, \
         t.status, t.priority, t.ticket_type, t.version, t.merged_into, t.data_key_id, t.subject_enc, t.created_at, t.updated_at, t.requester_confirmed, dk.wrapped, \
         COALESCE(c.share_tickets, 0) AS share_tickets, {} AS collaborator_ids, {} AS tag_names \
         FROM tickets t JOIN data_keys dk ON dk.id = t.data_key_id LEFT JOIN companies c ON c.id = t.company_id",
        agg("x.user_id", "ticket_collaborators"),
        agg("x.tag", "ticket_tags"),
    )
}

pub(crate) const SEARCH_DOMAIN: &str = "tickets.terms";

/// A message as `insert_message_row` writes it.
struct MessageRow<'a> {
    ticket: &'a TicketId,
    author: &'a UserId,
    visibility: Visibility,
    body: &'a str,
    now: i64,
}

pub(crate) fn require(proof: &Authorized, action: Action, ticket: &TicketId) -> Result<(), StoreError> {
    if proof.covers(action, ticket.as_str()) {
        Ok(())
    } else {
        Err(StoreError::Unauthorized)
    }
}

/// Builds a WHERE fragment and its parameters for a scope; parameters are numbered
/// from `offset + 1`.
impl Store {
    /// PostgreSQL's sequence takes no lock that lasts to commit (see migration 0043);
    /// SQLite's one writer makes the counter row just as free.
    async fn next_ticket_number(&self, tx: &mut Tx) -> Result<i64, StoreError> {
        let sql = match self.dialect {
            Dialect::Postgres => "SELECT nextval('ticket_numbers')",
            Dialect::Sqlite => {
                "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value"
            }
        };
        let row = sqlx::query(sql).fetch_one(tx.conn()).await?;
        Ok(row.try_get(0)?)
    }

    pub(crate) async fn requester_key(
        &self,
        tx: &mut Tx,
        requester: &UserId,
    ) -> Result<(String, DataKey, Option<CompanyId>), StoreError> {
        let row = sqlx::query("SELECT data_key_id, company_id FROM users WHERE id = $1")
            .bind(requester.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let key_id: String = row.try_get("data_key_id")?;
        let company: Option<String> = row.try_get("company_id")?;
        let key = self.load_key_tx(tx, &key_id).await?;
        Ok((key_id, key, company.map(|c| CompanyId::parse(&c)).transpose()?))
    }

    /// Creates a ticket and its first public message. `ticket_id` must be the id the
    /// creation was authorised for.
    pub async fn create_ticket(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket_id: &TicketId,
        new: &NewTicket,
    ) -> Result<(i64, MessageId), StoreError> {
        require(proof, Action::TicketCreate, ticket_id)?;
        let number = self.next_ticket_number(tx).await?;
        let (key_id, key, company) = self.requester_key(tx, &new.requester).await?;
        let now = self.now().0;
        let subject_enc = seal(
            &key,
            "tickets",
            "subject",
            ticket_id.as_str(),
            new.subject.as_bytes(),
        )?;
        sqlx::query(
            "INSERT INTO tickets (id, number, requester_id, company_id, team_id, assignee_id, status, data_key_id, \
             subject_enc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $9)",
        )
        .bind(ticket_id.as_str())
        .bind(number)
        .bind(new.requester.as_str())
        .bind(company.as_ref().map(|c| c.to_string()))
        .bind(new.team.as_str())
        .bind(TicketStatus::New.as_str())
        .bind(&key_id)
        .bind(subject_enc)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        // The row was inserted with `updated_at` now, and subject and first message are
        // both public: their words go into one pending row.
        let message = self
            .insert_message_row(
                tx,
                &key,
                MessageRow {
                    ticket: ticket_id,
                    author: &new.author,
                    visibility: Visibility::Public,
                    body: &new.first_message,
                    now,
                },
            )
            .await?;
        self.index_terms(
            tx,
            ticket_id,
            Visibility::Public,
            &[&new.subject, &new.first_message],
        )
        .await?;
        Ok((number, message))
    }

    pub async fn get_ticket(&self, id: &TicketId) -> Result<TicketRecord, StoreError> {
        let sql = format!("{} WHERE t.id = $1", ticket_select(self.dialect));
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut tickets = self.tickets_from_rows(&[row]).await?;
        tickets.pop().ok_or(StoreError::NotFound)
    }

    /// A ticket read inside a write transaction, its row locked until the transaction
    /// ends (PostgreSQL; SQLite has one writer): the facts a decision is taken on stay
    /// the facts the write lands on, whatever another node commits meanwhile.
    pub async fn get_ticket_for_update(
        &self,
        tx: &mut Tx,
        id: &TicketId,
    ) -> Result<TicketRecord, StoreError> {
        let lock = match self.dialect {
            // NO KEY UPDATE: serialises every use case's write on the ticket while
            // leaving inserts that merely reference it (messages, capabilities) free.
            Dialect::Postgres => " FOR NO KEY UPDATE OF t",
            Dialect::Sqlite => "",
        };
        let sql = format!("{} WHERE t.id = $1{lock}", ticket_select(self.dialect));
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut tickets = self.tickets_from_rows(&[row]).await?;
        tickets.pop().ok_or(StoreError::NotFound)
    }

    pub(crate) async fn tickets_from_rows(&self, rows: &[AnyRow]) -> Result<Vec<TicketRecord>, StoreError> {
        let list = |row: &AnyRow, column: &str| -> Result<Vec<String>, StoreError> {
            let joined: Option<String> = row.try_get(column)?;
            let mut items: Vec<String> = joined
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            items.sort();
            Ok(items)
        };
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let key_id: String = row.try_get("data_key_id")?;
                let key = self.unwrap_key(&key_id, row.try_get("wrapped")?)?;
                let company: Option<String> = row.try_get("company_id")?;
                let assignee: Option<String> = row.try_get("assignee_id")?;
                Ok(TicketRecord {
                    number: row.try_get("number")?,
                    requester: UserId::parse(&row.try_get::<String, _>("requester_id")?)?,
                    company: company.map(|c| CompanyId::parse(&c)).transpose()?,
                    company_sharing: row.try_get::<i64, _>("share_tickets")? != 0,
                    requester_confirmed: row.try_get::<i64, _>("requester_confirmed")? != 0,
                    team: TeamId::parse(&row.try_get::<String, _>("team_id")?)?,
                    assignee: assignee.map(|a| UserId::parse(&a)).transpose()?,
                    status: TicketStatus::parse(&row.try_get::<String, _>("status")?)?,
                    priority: Priority::parse(&row.try_get::<String, _>("priority")?)?,
                    ticket_type: row
                        .try_get::<Option<String>, _>("ticket_type")?
                        .map(|t| TicketType::parse(&t))
                        .transpose()?,
                    version: row.try_get("version")?,
                    merged_into: row
                        .try_get::<Option<String>, _>("merged_into")?
                        .map(|t| TicketId::parse(&t))
                        .transpose()?,
                    subject: open_text(
                        &key,
                        "tickets",
                        "subject",
                        &id,
                        &row.try_get::<Vec<u8>, _>("subject_enc")?,
                    )?,
                    collaborators: list(row, "collaborator_ids")?
                        .iter()
                        .map(|u| UserId::parse(u))
                        .collect::<Result<_, _>>()?,
                    tags: list(row, "tag_names")?
                        .iter()
                        .map(|t| TagName::parse(t))
                        .collect::<Result<_, _>>()?,
                    created_at: UnixMillis(row.try_get("created_at")?),
                    updated_at: UnixMillis(row.try_get("updated_at")?),
                    id: TicketId::parse(&id)?,
                    data_key_id: key_id,
                })
            })
            .collect()
    }

    /// Writes the keyed terms of `texts` (all of one visibility) as one pending row: one
    /// statement in the write transaction, one page (see `search_merge`).
    async fn index_terms(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        visibility: Visibility,
        texts: &[&str],
    ) -> Result<(), StoreError> {
        let Some(terms) = self.pending_terms(texts) else {
            return Ok(());
        };
        sqlx::query("INSERT INTO search_pending (ticket_id, visibility, terms) VALUES ($1, $2, $3)")
            .bind(ticket.as_str())
            .bind(visibility.as_str())
            .bind(terms)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// The keyed terms of `texts` as one `search_pending` row holds them (a JSON array
    /// of hex strings, which need no escaping); `None` when they have no words.
    /// `merge_pending_terms` later moves them into the index.
    pub(crate) fn pending_terms(&self, texts: &[&str]) -> Option<String> {
        let index = self.keys.search_index();
        let mut keyed: Vec<_> = texts
            .iter()
            .flat_map(|text| search_terms(text).into_iter().take(2000))
            .map(|term| index.compute(SEARCH_DOMAIN, &term))
            .collect();
        keyed.sort_unstable();
        keyed.dedup();
        if keyed.is_empty() {
            return None;
        }
        let quoted: Vec<String> = keyed.iter().map(|term| format!("\"{term}\"")).collect();
        Some(format!("[{}]", quoted.join(",")))
    }

    /// The message row alone; its words and the ticket's `updated_at` are the caller's.
    async fn insert_message_row(
        &self,
        tx: &mut Tx,
        key: &DataKey,
        row: MessageRow<'_>,
    ) -> Result<MessageId, StoreError> {
        let MessageRow {
            ticket,
            author,
            visibility,
            body,
            now,
        } = row;
        let id = MessageId::generate();
        let body_enc = seal(key, "messages", "body", id.as_str(), body.as_bytes())?;
        sqlx::query(
            "INSERT INTO messages (id, ticket_id, author_id, visibility, body_enc, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(ticket.as_str())
        .bind(author.as_str())
        .bind(visibility.as_str())
        .bind(body_enc)
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    /// Adds a public reply (needs a `TicketReply` proof) or an internal note (needs
    /// `TicketNote`).
    pub async fn add_message(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketRecord,
        author: &UserId,
        visibility: Visibility,
        body: &str,
    ) -> Result<MessageId, StoreError> {
        let needed = match visibility {
            Visibility::Public => Action::TicketReply,
            Visibility::Internal => Action::TicketNote,
        };
        if !proof.covers_for(needed, ticket.id.as_str(), author) {
            return Err(StoreError::Unauthorized);
        }
        let key = self.load_key_tx(tx, &ticket.data_key_id).await?;
        let now = self.now().0;
        let id = self
            .insert_message_row(
                tx,
                &key,
                MessageRow {
                    ticket: &ticket.id,
                    author,
                    visibility,
                    body,
                    now,
                },
            )
            .await?;
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket.id.as_str())
            .execute(tx.conn())
            .await?;
        self.index_terms(tx, &ticket.id, visibility, &[body]).await?;
        Ok(id)
    }

    /// Messages of a ticket, oldest first. Internal notes are left out in SQL unless
    /// `include_internal`, so a customer's query never even reads them.
    pub async fn list_messages(
        &self,
        ticket: &TicketRecord,
        including: Including<'_>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let filter = including.filter(&ticket.id)?;
        let sql = format!(
            "SELECT id, ticket_id, author_id, visibility, body_enc, created_at FROM messages \
             WHERE ticket_id = $1{filter} ORDER BY created_at, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ticket.id.as_str())
            .fetch_all(&self.read)
            .await?;
        let key = self.load_key(&ticket.data_key_id).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(MessageRecord {
                    body: open_text(
                        &key,
                        "messages",
                        "body",
                        &id,
                        &row.try_get::<Vec<u8>, _>("body_enc")?,
                    )?,
                    ticket: TicketId::parse(&row.try_get::<String, _>("ticket_id")?)?,
                    author: UserId::parse(&row.try_get::<String, _>("author_id")?)?,
                    visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?)?,
                    created_at: UnixMillis(row.try_get("created_at")?),
                    id: MessageId::parse(&id)?,
                })
            })
            .collect()
    }

    pub async fn update_ticket(
        &self,
        tx: &mut Tx,
        proofs: &[Authorized],
        ticket: &TicketId,
        update: &TicketUpdate,
    ) -> Result<(), StoreError> {
        let allowed = |a: Action| proofs.iter().any(|p| p.covers(a, ticket.as_str()));
        if update.status.is_some() && !allowed(Action::TicketSetStatus) {
            return Err(StoreError::Unauthorized);
        }
        if (update.assignee.is_some() || update.team.is_some()) && !allowed(Action::TicketAssign) {
            return Err(StoreError::Unauthorized);
        }
        if (update.priority.is_some() || update.ticket_type.is_some()) && !allowed(Action::TicketClassify) {
            return Err(StoreError::Unauthorized);
        }
        if update.is_empty() {
            return Ok(());
        }
        let now = self.now().0;
        sqlx::query("UPDATE tickets SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        if let Some(priority) = update.priority {
            sqlx::query("UPDATE tickets SET priority = $1 WHERE id = $2")
                .bind(priority.as_str())
                .bind(ticket.as_str())
                .execute(tx.conn())
                .await?;
        }
        if let Some(ticket_type) = update.ticket_type {
            sqlx::query("UPDATE tickets SET ticket_type = $1 WHERE id = $2")
                .bind(ticket_type.map(TicketType::as_str))
                .bind(ticket.as_str())
                .execute(tx.conn())
                .await?;
        }
        if let Some(status) = update.status {
            sqlx::query("UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(now)
                .bind(ticket.as_str())
                .execute(tx.conn())
                .await?;
        }
        if let Some(assignee) = &update.assignee {
            sqlx::query("UPDATE tickets SET assignee_id = $1, updated_at = $2 WHERE id = $3")
                .bind(assignee.as_ref().map(|a| a.to_string()))
                .bind(now)
                .bind(ticket.as_str())
                .execute(tx.conn())
                .await?;
        }
        if let Some(team) = &update.team {
            sqlx::query("UPDATE tickets SET team_id = $1, updated_at = $2 WHERE id = $3")
                .bind(team.as_str())
                .bind(now)
                .bind(ticket.as_str())
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn set_tags(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketId,
        tags: &[TagName],
    ) -> Result<(), StoreError> {
        require(proof, Action::TicketTag, ticket)?;
        sqlx::query("UPDATE tickets SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(self.now().0)
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        for tag in tags {
            sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(ticket.as_str())
                .bind(tag.as_str())
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// Tags a ticket as part of creating it (warnings the system attaches, such as a
    /// lookalike sender): the proof must be the creation's own.
    pub async fn tag_new_ticket(
        &self,
        tx: &mut Tx,
        creation: &Authorized,
        ticket: &TicketId,
        tag: &TagName,
    ) -> Result<(), StoreError> {
        require(creation, Action::TicketCreate, ticket)?;
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(ticket.as_str())
            .bind(tag.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn add_collaborator(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        require(proof, Action::TicketManageCollaborators, ticket)?;
        sqlx::query(
            "INSERT INTO ticket_collaborators (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(ticket.as_str())
        .bind(user.as_str())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn remove_collaborator(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        require(proof, Action::TicketManageCollaborators, ticket)?;
        sqlx::query("DELETE FROM ticket_collaborators WHERE ticket_id = $1 AND user_id = $2")
            .bind(ticket.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }
}
