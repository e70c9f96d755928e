//! Everything stored about one person, gathered for a subject-access export, and the
//! built exports waiting for their download. Every sealed value is opened here with the
//! key it was sealed under; what other customers wrote in a shared ticket is left out
//! (their data, not the person's), and internal notes only when the request does not
//! withhold them.

use palisade_audit::AuditEntry;
use palisade_core::{MessageId, PrivacyRequestId, TicketId, UnixMillis, UserId, Visibility};
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, open_text, seal};
use crate::{Store, StoreError, Tx, UserRecord};

/// How the person stands to a ticket in their export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRelation {
    Requester,
    Participant,
    Follower,
}

impl TicketRelation {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketRelation::Requester => "requester",
            TicketRelation::Participant => "participant",
            TicketRelation::Follower => "follower",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExportMessage {
    pub id: MessageId,
    /// `Some` for the person's own messages and staff's; `None` where another customer
    /// wrote it (left out).
    pub body: Option<String>,
    pub by_person: bool,
    pub by_staff: bool,
    pub visibility: Visibility,
    pub created_at: UnixMillis,
    /// The mail the person's message arrived as, as received (within the file budget).
    pub original: Option<Vec<u8>>,
}

/// The person's answer to a ticket's satisfaction survey.
#[derive(Clone, Debug)]
pub struct ExportRating {
    pub rating: String,
    pub comment: String,
    pub rated_at: UnixMillis,
}

#[derive(Clone, Debug)]
pub struct ExportFile {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub visibility: Visibility,
    pub created_at: UnixMillis,
    /// `None` when the file is not included (`withheld` says why).
    pub content: Option<Vec<u8>>,
    pub withheld: Option<FileWithheld>,
}

/// Why a file's bytes are not in an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileWithheld {
    /// The malware scanner has not judged it clean.
    NotClean,
    /// The export reached [`MAX_EXPORT_FILE_BYTES`]: privacy staff send the rest.
    TooLarge,
}

/// The most file bytes one export holds (it is built, sealed and stored in memory).
pub const MAX_EXPORT_FILE_BYTES: i64 = 200 * 1024 * 1024;

/// What is left of an export's file budget.
struct Budget(i64);

impl Budget {
    fn take(&mut self, bytes: i64) -> bool {
        if bytes <= self.0 {
            self.0 -= bytes;
            true
        } else {
            false
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExportTicket {
    pub id: TicketId,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub relation: TicketRelation,
    pub created_at: UnixMillis,
    pub messages: Vec<ExportMessage>,
    pub files: Vec<ExportFile>,
    /// Custom field values of a ticket they asked: (field key, value).
    pub fields: Vec<(String, String)>,
    pub rating: Option<ExportRating>,
}

#[derive(Clone, Debug)]
pub struct ExportConversation {
    pub id: String,
    pub state: String,
    pub notice_version: String,
    pub created_at: UnixMillis,
    /// (author, body, at): `customer` or `assistant`.
    pub messages: Vec<(String, String, UnixMillis)>,
}

#[derive(Clone, Debug)]
pub struct ExportSession {
    pub created_at: UnixMillis,
    pub last_seen_at: UnixMillis,
    pub ip: String,
    pub user_agent: String,
    pub ended_at: Option<UnixMillis>,
}

/// Everything stored about one person.
#[derive(Clone, Debug)]
pub struct SubjectAccess {
    pub person: UserRecord,
    pub tickets: Vec<ExportTicket>,
    pub conversations: Vec<ExportConversation>,
    /// The assistant's privacy notice they last decided on: (version, human only, when).
    pub assistant_consent: Option<(String, bool, UnixMillis)>,
    /// Every choice they made about the assistant, oldest first.
    pub consent_history: Vec<crate::ConsentRecord>,
    pub sessions: Vec<ExportSession>,
    /// (name, created, last used).
    pub passkeys: Vec<(String, UnixMillis, Option<UnixMillis>)>,
    /// (name, scopes, created, expires, revoked).
    pub api_tokens: Vec<(String, String, UnixMillis, UnixMillis, Option<UnixMillis>)>,
    /// Single sign-on links: (provider, created, last used).
    pub sso_links: Vec<(String, UnixMillis, Option<UnixMillis>)>,
    /// Applications they allowed (OAuth grants), revoked ones too.
    pub oauth_grants: Vec<crate::OAuthGrant>,
    /// Accounts merged into theirs (duplicates): what those wrote is theirs too.
    pub merged_accounts: Vec<UserId>,
    /// Audit entries they made or that are about them.
    pub audit: Vec<AuditEntry>,
    pub internal_notes_included: bool,
}

impl Store {
    /// Everything stored about `person`. Needs the proof of `user.export` on them.
    pub async fn subject_access(
        &self,
        proof: &Authorized,
        person: &UserId,
        include_internal: bool,
        scanning_off: bool,
    ) -> Result<SubjectAccess, StoreError> {
        if !proof.covers(Action::UserExport, person.as_str()) {
            return Err(StoreError::Unauthorized);
        }
        let record = self.get_user(person).await?;
        let people = self.person_and_merged(person).await?;
        let mut tickets = Vec::new();
        let mut budget = Budget(MAX_EXPORT_FILE_BYTES);
        for (relation, sql) in [
            (
                TicketRelation::Requester,
                "SELECT id FROM tickets WHERE requester_id = $1 ORDER BY created_at, id",
            ),
            (
                TicketRelation::Participant,
                "SELECT ticket_id FROM ticket_collaborators WHERE user_id = $1 ORDER BY ticket_id",
            ),
            (
                TicketRelation::Follower,
                "SELECT ticket_id FROM ticket_followers WHERE user_id = $1 ORDER BY ticket_id",
            ),
        ] {
            let mut ids: Vec<String> = Vec::new();
            for account in &people {
                ids.extend(
                    sqlx::query_scalar::<_, String>(sql)
                        .bind(account.as_str())
                        .fetch_all(&self.read)
                        .await?,
                );
            }
            for id in ids {
                if tickets.iter().any(|t: &ExportTicket| t.id.as_str() == id) {
                    continue;
                }
                let ticket = TicketId::parse(&id)?;
                tickets.push(
                    self.export_ticket(
                        &ticket,
                        &people,
                        relation,
                        include_internal,
                        scanning_off,
                        &mut budget,
                    )
                    .await?,
                );
            }
        }
        Ok(SubjectAccess {
            tickets,
            conversations: self.export_conversations(person).await?,
            consent_history: self.consent_history(person).await?,
            assistant_consent: sqlx::query_as::<_, (String, i64, i64)>(
                "SELECT notice_version, human_only, decided_at FROM assistant_preferences WHERE user_id = $1",
            )
            .bind(person.as_str())
            .fetch_optional(&self.read)
            .await?
            .map(|(v, h, at)| (v, h != 0, UnixMillis(at))),
            sessions: sqlx::query_as::<_, (i64, i64, String, String, Option<i64>)>(
                "SELECT created_at, last_seen_at, ip, user_agent, revoked_at FROM sessions WHERE user_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(person.as_str())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(c, l, ip, ua, r)| ExportSession {
                created_at: UnixMillis(c),
                last_seen_at: UnixMillis(l),
                ip,
                user_agent: ua,
                ended_at: r.map(UnixMillis),
            })
            .collect(),
            passkeys: sqlx::query_as::<_, (String, i64, Option<i64>)>(
                "SELECT name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(person.as_str())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(n, c, l)| (n, UnixMillis(c), l.map(UnixMillis)))
            .collect(),
            api_tokens: sqlx::query_as::<_, (String, String, i64, i64, Option<i64>)>(
                "SELECT name, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE user_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(person.as_str())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(n, s, c, e, r)| (n, s, UnixMillis(c), UnixMillis(e), r.map(UnixMillis)))
            .collect(),
            audit: self.audit_entries_about(person.as_str()).await?,
            sso_links: sqlx::query_as::<_, (String, i64, Option<i64>)>(
                "SELECT provider, created_at, last_used_at FROM oidc_links WHERE user_id = $1 \
                 ORDER BY created_at, subject_index",
            )
            .bind(person.as_str())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(p, c, l)| (p, UnixMillis(c), l.map(UnixMillis)))
            .collect(),
            oauth_grants: self.oauth_grants_of(person).await?,
            merged_accounts: people[1..].to_vec(),
            internal_notes_included: include_internal,
            person: record,
        })
    }

    async fn export_ticket(
        &self,
        ticket: &TicketId,
        people: &[UserId],
        relation: TicketRelation,
        include_internal: bool,
        scanning_off: bool,
        budget: &mut Budget,
    ) -> Result<ExportTicket, StoreError> {
        let record = self.get_ticket(ticket).await?;
        let key = self.load_key(&record.data_key_id).await?;
        let staff: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT m.author_id FROM messages m JOIN users u ON u.id = m.author_id \
             WHERE m.ticket_id = $1 AND u.role <> 'customer' \
             UNION SELECT DISTINCT a.uploader_id FROM attachments a JOIN users u ON u.id = a.uploader_id \
             WHERE a.ticket_id = $1 AND u.role <> 'customer'",
        )
        .bind(ticket.as_str())
        .fetch_all(&self.read)
        .await?;
        // Internal notes only where they are about this person: the tickets they asked.
        let include_internal = include_internal && relation == TicketRelation::Requester;
        let internal = if include_internal {
            ""
        } else {
            " AND visibility = 'public'"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, author_id, visibility, body_enc, created_at FROM messages WHERE ticket_id = $1{internal} \
             ORDER BY created_at, id"
        )))
        .bind(ticket.as_str())
        .fetch_all(&self.read)
        .await?;
        let mut messages = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let author: String = row.try_get("author_id")?;
            let by_person = people.iter().any(|p| p.as_str() == author);
            let by_staff = staff.contains(&author);
            let body = if by_person || by_staff {
                Some(open_text(
                    &key,
                    "messages",
                    "body",
                    &id,
                    &row.try_get::<Vec<u8>, _>("body_enc")?,
                )?)
            } else {
                None
            };
            let original = if by_person {
                self.export_original(&key, ticket, &id, budget).await?
            } else {
                None
            };
            messages.push(ExportMessage {
                id: MessageId::parse(&id)?,
                original,
                body,
                by_person,
                by_staff,
                visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?)?,
                created_at: UnixMillis(row.try_get("created_at")?),
            });
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, uploader_id, visibility, filename_enc, content_type, size_bytes, created_at, scan_state \
             FROM attachments WHERE ticket_id = $1{internal} ORDER BY created_at, position, id"
        )))
        .bind(ticket.as_str())
        .fetch_all(&self.read)
        .await?;
        let mut files = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let uploader: String = row.try_get("uploader_id")?;
            if !people.iter().any(|p| p.as_str() == uploader) && !staff.contains(&uploader) {
                continue;
            }
            let scan: String = row.try_get("scan_state")?;
            let size: i64 = row.try_get("size_bytes")?;
            // As the desk serves files: clean ones, or (scanning off) any not infected;
            // and no more in one export than it can hold.
            let servable = scan == "clean" || (scanning_off && scan == "pending");
            let withheld = if !servable {
                Some(FileWithheld::NotClean)
            } else if budget.take(size) {
                None
            } else {
                Some(FileWithheld::TooLarge)
            };
            let content = match withheld {
                Some(_) => None,
                None => {
                    let sealed: Vec<u8> =
                        sqlx::query_scalar("SELECT content_enc FROM attachments WHERE id = $1")
                            .bind(&id)
                            .fetch_one(&self.read)
                            .await?;
                    Some(open_bytes(&key, "attachments", "content", &id, &sealed)?)
                }
            };
            files.push(ExportFile {
                filename: open_text(
                    &key,
                    "attachments",
                    "filename",
                    &id,
                    &row.try_get::<Vec<u8>, _>("filename_enc")?,
                )?,
                content_type: row.try_get("content_type")?,
                visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?)?,
                created_at: UnixMillis(row.try_get("created_at")?),
                content,
                withheld,
                id,
            });
        }
        let fields = if relation == TicketRelation::Requester {
            let keys: Vec<(String, String)> = sqlx::query_as("SELECT id, field_key FROM custom_fields")
                .fetch_all(&self.read)
                .await?;
            self.field_values(&record)
                .await?
                .into_iter()
                .map(|(field, value)| {
                    let key = keys
                        .iter()
                        .find(|(id, _)| id == field.as_str())
                        .map_or_else(|| field.to_string(), |(_, key)| key.clone());
                    (key, value)
                })
                .collect()
        } else {
            Vec::new()
        };
        let rating = match sqlx::query_as::<_, (String, Vec<u8>, String, i64)>(
            "SELECT rating, comment_enc, rated_by, rated_at FROM satisfaction WHERE ticket_id = $1",
        )
        .bind(ticket.as_str())
        .fetch_optional(&self.read)
        .await?
        {
            Some((rating, comment, by, at)) if people.iter().any(|p| p.as_str() == by) => {
                Some(ExportRating {
                    rating,
                    comment: open_text(&key, "satisfaction", "comment", ticket.as_str(), &comment)?,
                    rated_at: UnixMillis(at),
                })
            }
            _ => None,
        };
        Ok(ExportTicket {
            fields,
            rating,
            id: record.id.clone(),
            number: record.number,
            subject: record.subject.clone(),
            status: record.status.as_str().to_owned(),
            relation,
            created_at: record.created_at,
            messages,
            files,
        })
    }

    /// The person and every account merged into theirs, at any depth.
    async fn person_and_merged(&self, person: &UserId) -> Result<Vec<UserId>, StoreError> {
        let mut people = vec![person.clone()];
        let mut at = 0;
        while at < people.len() && people.len() <= 1000 {
            let merged: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE merged_into = $1")
                .bind(people[at].as_str())
                .fetch_all(&self.read)
                .await?;
            for id in merged {
                let id = UserId::parse(&id)?;
                if !people.contains(&id) {
                    people.push(id);
                }
            }
            at += 1;
        }
        Ok(people)
    }

    /// The mail a message arrived as, if it was kept and the budget allows.
    async fn export_original(
        &self,
        key: &palisade_crypto::DataKey,
        ticket: &TicketId,
        message: &str,
        budget: &mut Budget,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT raw_enc FROM message_originals WHERE message_id = $1 AND ticket_id = $2",
        )
        .bind(message)
        .bind(ticket.as_str())
        .fetch_optional(&self.read)
        .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let raw = open_bytes(key, "message_originals", "raw", message, &sealed)?;
        let size = i64::try_from(raw.len()).unwrap_or(i64::MAX);
        Ok(budget.take(size).then_some(raw))
    }

    async fn export_conversations(&self, person: &UserId) -> Result<Vec<ExportConversation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, state, notice_version, data_key_id, created_at FROM assistant_conversations \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(person.as_str())
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let key = self.load_key(&row.try_get::<String, _>("data_key_id")?).await?;
            let messages: Vec<(i64, String, Vec<u8>, i64)> = sqlx::query_as(
                "SELECT seq, author, body_enc, created_at FROM assistant_messages WHERE conversation_id = $1 ORDER BY seq",
            )
            .bind(&id)
            .fetch_all(&self.read)
            .await?;
            let mut opened = Vec::new();
            for (seq, author, body, at) in messages {
                let text = open_text(&key, "assistant_messages", "body", &format!("{id}/{seq}"), &body)?;
                opened.push((author, text, UnixMillis(at)));
            }
            out.push(ExportConversation {
                state: row.try_get("state")?,
                notice_version: row.try_get("notice_version")?,
                created_at: UnixMillis(row.try_get("created_at")?),
                messages: opened,
                id,
            });
        }
        Ok(out)
    }

    async fn audit_entries_about(&self, person: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {c} FROM audit_log WHERE actor = $1 UNION SELECT {c} FROM audit_log WHERE object = $1 \
                 ORDER BY seq LIMIT 100000",
            c = crate::audit::ENTRY_COLUMNS
        )))
        .bind(person)
        .fetch_all(&self.read)
        .await?;
        // Who else acted on them is named, but where they acted from is theirs, not
        // this person's.
        rows.iter()
            .map(|row| {
                let mut entry = crate::audit::entry_from_row(row)?;
                if entry.actor != person {
                    entry.ip = String::new();
                    entry.user_agent = String::new();
                    entry.session = String::new();
                }
                Ok(entry)
            })
            .collect()
    }

    /// Keeps a built export, sealed under `key_id` (the person's data key, so erasing
    /// them erases it too), and marks its request ready.
    pub async fn store_export(
        &self,
        tx: &mut Tx,
        request: &PrivacyRequestId,
        key_id: &str,
        person: &UserId,
        archive: &[u8],
    ) -> Result<(), StoreError> {
        // Erased while it was built: nothing of it is kept.
        let lock = match self.dialect {
            crate::Dialect::Postgres => " FOR UPDATE",
            crate::Dialect::Sqlite => "",
        };
        let current: Option<(String, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT data_key_id, erased_at FROM users WHERE id = $1{lock}"
        )))
        .bind(person.as_str())
        .fetch_optional(tx.conn())
        .await?;
        if !matches!(&current, Some((k, None)) if k == key_id) {
            return Err(StoreError::Invalid(
                "the person was erased while their export was built".into(),
            ));
        }
        let key = self.load_key_tx(tx, key_id).await?;
        sqlx::query(
            "INSERT INTO privacy_exports (request_id, data_key_id, archive_enc, built_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(request.as_str())
        .bind(key_id)
        .bind(seal(&key, "privacy_exports", "archive", request.as_str(), archive)?)
        .bind(self.now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        let changed =
            sqlx::query("UPDATE privacy_requests SET state = 'ready' WHERE id = $1 AND state = 'building'")
                .bind(request.as_str())
                .execute(tx.conn())
                .await?
                .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Requests whose export is still to be built, oldest first.
    pub async fn exports_to_build(&self, limit: i64) -> Result<Vec<PrivacyRequestId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM privacy_requests WHERE kind = 'access' AND state = 'building' ORDER BY requested_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        ids.iter().map(|i| Ok(PrivacyRequestId::parse(i)?)).collect()
    }

    /// Records a download link (by its hash) for a ready export, replacing any earlier
    /// one.
    pub async fn set_export_link(
        &self,
        request: &PrivacyRequestId,
        link_hash: &str,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE privacy_exports SET link_hash = $1, link_expires_at = $2 WHERE request_id = $3 \
             AND request_id IN (SELECT id FROM privacy_requests WHERE state = 'ready')",
        )
        .bind(link_hash)
        .bind(expires_at.0)
        .bind(request.as_str())
        .execute(&self.write)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Takes the export a live link names, once: the archive is deleted as it is
    /// handed out and the request is done. `None` for an unknown, expired or used link.
    pub async fn take_export(
        &self,
        tx: &mut Tx,
        link_hash: &str,
    ) -> Result<Option<(PrivacyRequestId, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM privacy_exports WHERE link_hash = $1 AND link_expires_at > $2 \
             RETURNING request_id, data_key_id, archive_enc",
        )
        .bind(link_hash)
        .bind(self.now().0)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let request: String = row.try_get("request_id")?;
        let key = self
            .load_key_tx(tx, &row.try_get::<String, _>("data_key_id")?)
            .await?;
        let archive = open_bytes(
            &key,
            "privacy_exports",
            "archive",
            &request,
            &row.try_get::<Vec<u8>, _>("archive_enc")?,
        )?;
        sqlx::query("UPDATE privacy_requests SET state = 'done', decided_at = $1 WHERE id = $2")
            .bind(self.now().0)
            .bind(&request)
            .execute(tx.conn())
            .await?;
        Ok(Some((PrivacyRequestId::parse(&request)?, archive)))
    }

    /// The data key a person's values are sealed under (the organisation's for staff).
    pub async fn person_key_id(&self, person: &UserId) -> Result<String, StoreError> {
        let key: Option<String> = sqlx::query_scalar("SELECT data_key_id FROM users WHERE id = $1")
            .bind(person.as_str())
            .fetch_optional(&self.read)
            .await?;
        Ok(key.unwrap_or_else(|| ORG_KEY_ID.to_owned()))
    }
}
