//! Subject access: everything stored about one person, in one signed archive. Asked
//! for by the person in the portal (after a step-up, which the web checks) or by
//! someone with privacy rights for anyone; built in the background (`serve` calls
//! [`Desk::build_pending_exports`]); handed out once through a single-use link that
//! expires within the hour. Every step is audited.
//!
//! The archive (a tar file) holds `export.json` (documented in docs/PRIVACY.md), the
//! files under `files/`, `manifest.json` with each entry's SHA-256, and
//! `manifest.sig`: the desk's audit key's Ed25519 signature over
//! `palisade/subject-access-export/v1\n` and the manifest's bytes. The audit key's
//! public half is on the operations page, so anyone can check where an export came from.

use ed25519_dalek::Signer;
use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{PrivacyRequestId, Role, UnixMillis, UserId};
use palisade_crypto::{RandomToken, sha256_hex};
use palisade_policy::{Action, Resource};
use palisade_store::{NewPrivacyRequest, PrivacyRequest, RequestState, StoreError, SubjectAccess};
use serde_json::{Value, json};

use crate::{Actor, Desk, ServiceError};

const DAY_MS: i64 = 86_400_000;
/// How long a download link works.
pub const EXPORT_LINK_SECS: i64 = 3600;
pub const EXPORT_SCHEMA: &str = "palisade/subject-access/v1";
const SIGNED_AS: &[u8] = b"palisade/subject-access-export/v1\n";
/// Why a self-service export leaves internal notes out.
const SELF_SERVICE_NOTES: &str = "asked for by the person: internal notes about them are released by privacy staff, who ask for the export";

/// A single-use download link, shown once.
pub struct ExportLink {
    pub token: RandomToken,
    pub expires_at: UnixMillis,
}

impl Desk {
    /// Someone with privacy rights asks for everything stored about `person`
    /// (customer or staff). `withhold_notes`: the documented exemption under which
    /// internal notes are left out, if any.
    pub async fn request_access(
        &self,
        actor: &Actor,
        person: &str,
        reason: &str,
        withhold_notes: Option<&str>,
    ) -> Result<PrivacyRequest, ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await?;
        let reason = crate::erasure::privacy_reason(reason)?;
        let withheld = withhold_notes
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(crate::erasure::privacy_reason)
            .transpose()?;
        let id = UserId::parse(person).map_err(|_| ServiceError::NotFound)?;
        let user = match self.store.get_user(&id).await {
            Ok(u) if !u.erased => u,
            Ok(_) | Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let resource = self.user_resource(&user.id).await?;
        self.authorize(actor, Action::UserExport, &resource).await?;
        self.record_access_request(actor, &user.id, &reason, withheld.as_deref())
            .await
    }

    /// The signed-in person asks for their own data (the web has checked the step-up).
    pub async fn request_own_export(&self, actor: &Actor) -> Result<PrivacyRequest, ServiceError> {
        let me = actor.principal.user_id.clone();
        let resource = self.user_resource(&me).await?;
        self.authorize(actor, Action::UserExport, &resource).await?;
        let open =
            self.store.privacy_requests_of(&me).await?.into_iter().any(|r| {
                r.kind == "access" && matches!(r.state, RequestState::Building | RequestState::Ready)
            });
        if open {
            return Err(ServiceError::conflict("refusal-export-open"));
        }
        // Internal notes reach a customer only through privacy staff, who can weigh
        // an exemption first (an investigation under way): they ask for the export.
        self.record_access_request(actor, &me, "asked for in the portal", Some(SELF_SERVICE_NOTES))
            .await
    }

    async fn record_access_request(
        &self,
        actor: &Actor,
        person: &UserId,
        reason: &str,
        withheld: Option<&str>,
    ) -> Result<PrivacyRequest, ServiceError> {
        let due = UnixMillis(self.now() + i64::from(self.privacy.answer_within_days) * DAY_MS);
        let mut tx = self.store.begin().await?;
        let request = self
            .store
            .create_privacy_request(
                &mut tx,
                &NewPrivacyRequest {
                    kind: "access",
                    person,
                    reason,
                    requested_by: &actor.principal.user_id,
                    due_at: due,
                    state: RequestState::Building,
                    withheld,
                },
            )
            .await?;
        let event = AuditEvent::new(AuditAction::AccessRequested, person.to_string(), Outcome::Success)
            .with_detail(json!({
                "request": request.id.to_string(),
                "internal_notes_withheld": withheld.is_some(),
            }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// The signed-in person's own choices about the assistant, oldest first (only ever
    /// their own: the id is the session's).
    pub async fn own_consents(
        &self,
        actor: &Actor,
    ) -> Result<Vec<palisade_store::ConsentRecord>, ServiceError> {
        Ok(self.store.consent_history(&actor.principal.user_id).await?)
    }

    /// The exports the person asked for themselves (the portal's list): privacy
    /// staff's requests about them, and their reasons, are staff's.
    pub async fn own_privacy_requests(&self, actor: &Actor) -> Result<Vec<PrivacyRequest>, ServiceError> {
        let me = &actor.principal.user_id;
        Ok(self
            .store
            .privacy_requests_of(me)
            .await?
            .into_iter()
            .filter(|r| r.kind == "access" && r.requested_by == *me)
            .collect())
    }

    /// Builds the exports waiting to be built (at most `limit`); returns how many were.
    /// One that cannot be built is marked failed and audited.
    pub async fn build_pending_exports(&self, limit: i64) -> Result<usize, ServiceError> {
        let mut built = 0;
        for id in self.store.exports_to_build(limit).await? {
            match self.build_export(&id).await {
                Ok(true) => built += 1,
                Ok(false) => {}
                Err(e) => {
                    // Marked failed, so it neither blocks the queue nor the person's
                    // next request; the detail stays in the log.
                    tracing::warn!(request = %id, error = %e, "building a subject-access export");
                    if self.store.fail_export(&id).await? {
                        let event =
                            AuditEvent::new(AuditAction::AccessExportBuilt, id.to_string(), Outcome::Failure)
                                .with_detail(json!({"error": e.kind()}));
                        self.store
                            .audit(&palisade_audit::AuditContext::system(), &event)
                            .await?;
                    }
                }
            }
        }
        Ok(built)
    }

    /// Builds one export as its requester (the decision is taken again now); false
    /// when another node built it first.
    async fn build_export(&self, id: &PrivacyRequestId) -> Result<bool, ServiceError> {
        let mut tx = self.store.begin().await?;
        let request = self.store.privacy_request_in(&mut tx, id).await?;
        drop(tx);
        if request.state != RequestState::Building {
            return Ok(false);
        }
        // The key first: if they are erased while this runs, the store refuses to keep
        // what was read before.
        let key_id = self.store.person_key_id(&request.person).await?;
        let requester = self.principal_of(&request.requested_by).await?;
        let resource = self.user_resource(&request.person).await?;
        let proof = self
            .policy
            .authorize(&requester, Action::UserExport, &resource)
            .map_err(|_| ServiceError::Forbidden)?;
        let data = self
            .store
            .subject_access(
                &proof,
                &request.person,
                request.withheld.is_none(),
                self.scanner.is_none(),
            )
            .await?;
        let archive = archive(&data, &request, self.store.keys().audit_signing_key(), self.now())?;
        let mut tx = self.store.begin().await?;
        match self
            .store
            .store_export(&mut tx, id, &key_id, &request.person, &archive)
            .await
        {
            Err(StoreError::Conflict) => return Ok(false),
            other => other?,
        }
        let event = AuditEvent::new(
            AuditAction::AccessExportBuilt,
            request.person.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({
            "request": id.to_string(),
            "tickets": data.tickets.len(),
            "bytes": archive.len(),
        }));
        self.store
            .append_audit(&mut tx, &palisade_audit::AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A fresh single-use link to a ready export, for the person it is about or
    /// someone with privacy rights; any earlier link stops working.
    pub async fn export_link(&self, actor: &Actor, id: &str) -> Result<ExportLink, ServiceError> {
        let request = self.export_request_for(actor, id).await?;
        if request.state != RequestState::Ready {
            return Err(ServiceError::conflict("refusal-export-not-ready"));
        }
        let token = RandomToken::generate().map_err(|e| ServiceError::Reaction(e.to_string()))?;
        let expires_at = UnixMillis(self.now() + EXPORT_LINK_SECS * 1000);
        match self
            .store
            .set_export_link(&request.id, &token.hash().0, expires_at)
            .await
        {
            Err(StoreError::Conflict) => return Err(ServiceError::conflict("refusal-export-not-ready")),
            other => other?,
        }
        let event = AuditEvent::new(
            AuditAction::AccessLinkIssued,
            request.person.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({"request": request.id.to_string()}));
        self.store.audit(&actor.audit, &event).await?;
        Ok(ExportLink { token, expires_at })
    }

    /// The archive a link names, once, to the person it is about or someone with
    /// privacy rights. Unknown, used and expired links are all `NotFound`.
    pub async fn download_export(
        &self,
        actor: &Actor,
        token: &str,
    ) -> Result<(PrivacyRequestId, Vec<u8>), ServiceError> {
        let token = RandomToken::from_presented(token).ok_or(ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let Some((id, archive)) = self.store.take_export(&mut tx, &token.hash().0).await? else {
            drop(tx);
            self.audit_denial(&actor.audit, Action::UserExport, "export-link", "unknown_or_used")
                .await?;
            return Err(ServiceError::NotFound);
        };
        let request = self.store.privacy_request_in(&mut tx, &id).await?;
        if !self.may_fetch_export(actor, &request).await {
            // The link is not theirs: it stays usable for whom it is.
            drop(tx);
            self.audit_denial(
                &actor.audit,
                Action::UserExport,
                request.person.as_str(),
                "not_theirs",
            )
            .await?;
            return Err(ServiceError::NotFound);
        }
        let event = AuditEvent::new(
            AuditAction::AccessExportDelivered,
            request.person.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({"request": id.to_string(), "bytes": archive.len()}));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((id, archive))
    }

    /// Decided without an audit entry of its own (the caller audits the outcome): it
    /// runs inside the transaction that took the export, and a second write there
    /// would wait on SQLite's one writer.
    async fn may_fetch_export(&self, actor: &Actor, request: &PrivacyRequest) -> bool {
        // The person, for an export they asked for themselves; privacy staff, any.
        (request.person == actor.principal.user_id && request.requested_by == actor.principal.user_id)
            || self
                .policy
                .authorize(&actor.principal, Action::ManagePrivacy, &Resource::Directory)
                .is_ok()
    }

    async fn export_request_for(&self, actor: &Actor, id: &str) -> Result<PrivacyRequest, ServiceError> {
        let id = PrivacyRequestId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let request = match self.store.privacy_request_in(&mut tx, &id).await {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            other => other?,
        };
        drop(tx);
        if request.kind != "access" || !self.may_fetch_export(actor, &request).await {
            return Err(ServiceError::NotFound);
        }
        Ok(request)
    }
}

/// The archive: `export.json`, the files, the manifest and its signature.
fn archive(
    data: &SubjectAccess,
    request: &PrivacyRequest,
    signer: &ed25519_dalek::SigningKey,
    now: i64,
) -> Result<Vec<u8>, ServiceError> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let document = export_document(data, request, now);
    for ticket in &data.tickets {
        for message in &ticket.messages {
            if let Some(raw) = &message.original {
                entries.push((original_path(ticket.number, &message.id.to_string()), raw.clone()));
            }
        }
        for file in &ticket.files {
            if let Some(content) = &file.content {
                entries.push((
                    file_path(ticket.number, &file.id, &file.filename),
                    content.clone(),
                ));
            }
        }
    }
    let json = serde_json::to_vec_pretty(&document).map_err(|e| ServiceError::Reaction(e.to_string()))?;
    entries.insert(0, ("export.json".into(), json));
    let manifest = json!({
        "schema": EXPORT_SCHEMA,
        "request": request.id.to_string(),
        "person": request.person.to_string(),
        "made_at": rfc3339(now),
        "signer": hex_key(signer),
        "files": entries.iter().map(|(path, bytes)| json!({
            "path": path, "bytes": bytes.len(), "sha256": sha256_hex(bytes),
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| ServiceError::Reaction(e.to_string()))?;
    let mut signed = SIGNED_AS.to_vec();
    signed.extend_from_slice(&manifest);
    let signature = signer.sign(&signed);
    entries.push(("manifest.json".into(), manifest));
    entries.push((
        "manifest.sig".into(),
        hex_bytes(&signature.to_bytes()).into_bytes(),
    ));
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(u64::try_from(now / 1000).unwrap_or(0));
        header.set_cksum();
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .map_err(|e| ServiceError::Reaction(e.to_string()))?;
    }
    builder
        .into_inner()
        .map_err(|e| ServiceError::Reaction(e.to_string()))
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn hex_key(key: &ed25519_dalek::SigningKey) -> String {
    hex_bytes(key.verifying_key().as_bytes())
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `files/<ticket number>/<file id>-<name>`, the name reduced to safe characters so
/// no path in the archive leaves its folder.
fn file_path(ticket: i64, id: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let safe = safe.trim_start_matches('.');
    format!("files/{ticket}/{id}-{safe}")
}

/// `mail/<ticket number>/<message id>.eml`: the mail a message of theirs arrived as.
fn original_path(ticket: i64, message: &str) -> String {
    format!("mail/{ticket}/{message}.eml")
}

fn export_document(data: &SubjectAccess, request: &PrivacyRequest, now: i64) -> Value {
    let at = |t: UnixMillis| rfc3339(t.0);
    let p = &data.person;
    json!({
        "schema": EXPORT_SCHEMA,
        "made_at": rfc3339(now),
        "request": {
            "id": request.id.to_string(),
            "requested_at": at(request.requested_at),
            "internal_notes_included": data.internal_notes_included,
            "internal_notes_withheld_because": request.withheld,
        },
        "person": {
            "id": p.id.to_string(),
            "kind": if p.role == Role::Customer { "customer" } else { "staff" },
            "role": p.role.as_str(),
            "name": p.name,
            "email": p.email.as_str(),
            "phone": p.phone,
            "company": p.company.as_ref().map(ToString::to_string),
            "merged_accounts": data.merged_accounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "language": p.locale,
            "disabled": p.disabled,
            "created_at": at(p.created_at),
        },
        "tickets": data.tickets.iter().map(|t| json!({
            "id": t.id.to_string(),
            "number": t.number,
            "subject": t.subject,
            "status": t.status,
            "relation": t.relation.as_str(),
            "created_at": at(t.created_at),
            "messages": t.messages.iter().map(|m| json!({
                "id": m.id.to_string(),
                "from": if m.by_person { "you" } else if m.by_staff { "support" } else { "another customer" },
                "visibility": m.visibility.as_str(),
                "created_at": at(m.created_at),
                "body": m.body,
                "withheld": m.body.is_none(),
                "original": m.original.as_ref().map(|_| original_path(t.number, &m.id.to_string())),
            })).collect::<Vec<_>>(),
            "fields": t.fields.iter().map(|(key, value)| json!({"key": key, "value": value})).collect::<Vec<_>>(),
            "rating": t.rating.as_ref().map(|r| json!({
                "rating": r.rating, "comment": r.comment, "rated_at": at(r.rated_at),
            })),
            "files": t.files.iter().map(|f| json!({
                "id": f.id,
                "name": f.filename,
                "content_type": f.content_type,
                "visibility": f.visibility.as_str(),
                "created_at": at(f.created_at),
                "path": f.content.as_ref().map(|_| file_path(t.number, &f.id, &f.filename)),
                "withheld_because": f.withheld.map(|w| match w {
                    palisade_store::FileWithheld::NotClean => "not judged clean by the malware scanner",
                    palisade_store::FileWithheld::TooLarge => "the export reached its size limit: ask privacy staff for the rest",
                }),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "assistant": {
            "consent": data.assistant_consent.as_ref().map(|(v, human_only, when)| json!({
                "notice_version": v, "human_only": human_only, "decided_at": at(*when),
            })),
            // Each choice with the notice it was made under (its words on that page).
            "consent_history": data.consent_history.iter().map(|c| json!({
                "notice_version": c.notice_version,
                "choice": if c.people_only { "people_only" } else { "assistant" },
                "decided_at": at(c.decided_at),
                "notice": format!("/privacy/notices/{}", c.notice_version),
            })).collect::<Vec<_>>(),
            "conversations": data.conversations.iter().map(|c| json!({
                "id": c.id,
                "state": c.state,
                "notice_version": c.notice_version,
                "created_at": at(c.created_at),
                "messages": c.messages.iter().map(|(author, body, when)| json!({
                    "from": author, "body": body, "created_at": at(*when),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "sign_in": {
            "sessions": data.sessions.iter().map(|s| json!({
                "created_at": at(s.created_at),
                "last_seen_at": at(s.last_seen_at),
                "ended_at": s.ended_at.map(at),
                "ip": s.ip,
                "user_agent": s.user_agent,
            })).collect::<Vec<_>>(),
            "passkeys": data.passkeys.iter().map(|(name, created, used)| json!({
                "name": name, "created_at": at(*created), "last_used_at": used.map(at),
            })).collect::<Vec<_>>(),
            "api_tokens": data.api_tokens.iter().map(|(name, scopes, created, expires, revoked)| json!({
                "name": name, "scopes": scopes, "created_at": at(*created), "expires_at": at(*expires),
                "revoked_at": revoked.map(at),
            })).collect::<Vec<_>>(),
            "sso_links": data.sso_links.iter().map(|(provider, created, used)| json!({
                "provider": provider, "created_at": at(*created), "last_used_at": used.map(at),
            })).collect::<Vec<_>>(),
            "connected_applications": data.oauth_grants.iter().map(|g| json!({
                "application": g.client_name, "scopes": g.scopes, "created_at": at(g.created_at),
                "last_used_at": g.last_used_at.map(at), "revoked_at": g.revoked_at.map(at),
            })).collect::<Vec<_>>(),
        },
        "audit": data.audit.iter().map(|e| json!({
            "seq": e.seq,
            "at": rfc3339(e.at),
            "actor": e.actor,
            "action": e.action,
            "object": e.object,
            "outcome": e.outcome,
            "ip": e.ip,
            "user_agent": e.user_agent,
        })).collect::<Vec<_>>(),
    })
}
