//! Mail as a channel of the same use cases: a received message becomes a reply on a
//! ticket, a new ticket or a quarantined item, and a quarantined one becomes a ticket
//! when a reviewer releases it. The mail adapter parses, judges the sender and decides
//! the placement; everything written happens here, in one transaction each, with the
//! same authorisation, audit entries and domain events as the web's.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{
    EmailAddress, MessageId, Principal, Role, TagName, TeamId, TicketId, UserId, Visibility,
};
use palisade_policy::{Action, Authorized, Resource, TicketFacts};
use palisade_store::{NewTicket, NewUser, TicketRecord, Tx, UserRecord};
use serde_json::{Value, json};

use crate::{Actor, Channel, Desk, Happened, HeldMail, MailFile, ServiceError};

/// The tag every ticket released from quarantine carries.
pub const RELEASED_TAG: &str = "released-from-quarantine";
/// The tag of a ticket opened by mail from a domain that imitates a known one.
pub const LOOKALIKE_TAG: &str = "lookalike-sender";

const SENDER_MAY_NOT_OPEN: &str = "refusal-sender-may-not-open";

/// Where the adapter's placement rule put a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailPlacement {
    /// An authenticated reply through the reply address of this participant.
    Reply { ticket: TicketId, author: UserId },
    /// Authenticated mail that is not a reply: a ticket of the sender's own.
    NewTicket,
    /// Everything else waits for a reviewer.
    Quarantine,
}

/// A message as the mail adapter read and judged it.
pub struct ReceivedMail {
    pub placement: MailPlacement,
    pub from: EmailAddress,
    pub display_name: Option<String>,
    /// The support mailbox it was sent to, and the team behind it.
    pub mailbox: EmailAddress,
    pub team: TeamId,
    /// Subject and text, within the limits of [`crate::validate_text`]'s callers.
    pub subject: String,
    pub body: String,
    /// For recognising a retransmission of something already taken.
    pub message_id: Option<String>,
    /// The sender verdict, recorded as the message's provenance and audit attribute.
    pub verdict: Value,
    /// `{domain, resembles, reason}` when the sender's domain imitates a known one.
    pub lookalike: Option<Value>,
    /// Its attachments and inline images (kept only when it becomes a ticket or a
    /// reply; a held message keeps them in `held` until released).
    pub files: Vec<MailFile>,
    /// The message as it arrived, kept sealed for staff (`.eml`).
    pub original: Vec<u8>,
    /// Its HTML part, when it had no plain-text one (shown sanitised).
    pub html: Option<String>,
    /// What to hold if it is quarantined (sealed by the store).
    pub held: HeldMail,
    /// Client address and HELO, for the audit trail.
    pub audit: AuditContext,
}

/// What became of a received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Reply(TicketId),
    NewTicket(TicketId),
    Quarantined(String),
    /// The same message (sender and `Message-ID`) was taken before: nothing stored.
    AlreadyTaken,
}

/// A quarantined message as the mail adapter read it for release.
pub struct ReleasedMail {
    pub from: EmailAddress,
    pub display_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub files: Vec<MailFile>,
    /// The message as it arrived, kept sealed for staff (`.eml`).
    pub original: Vec<u8>,
    /// Its HTML part, when it had no plain-text one (shown sanitised).
    pub html: Option<String>,
    pub verdict: Value,
}

/// The ticket a release opened, and its requester.
pub struct Released {
    pub ticket: TicketRecord,
    pub requester: UserRecord,
}

impl Desk {
    /// Places a received message. A disabled account's address is refused for good
    /// (`Invalid`), as is a participant who may no longer reply (`Forbidden`).
    pub async fn receive_mail(&self, mail: ReceivedMail) -> Result<Received, ServiceError> {
        let account = self.store.find_mail_sender(&mail.from).await?;
        if account.as_ref().is_some_and(|u| u.disabled) {
            return Err(ServiceError::invalid("refusal-sender-disabled"));
        }
        let mut placement = mail.placement.clone();
        // Staff accounts do not open tickets by mail.
        if placement == MailPlacement::NewTicket && account.as_ref().is_some_and(|u| u.role.is_staff()) {
            placement = MailPlacement::Quarantine;
        }
        let ctx = AuditContext {
            actor: account
                .as_ref()
                .map(|u| u.id.to_string())
                .unwrap_or_else(|| "mail".into()),
            ..mail.audit.clone()
        };
        let mut tx = self.store.begin().await?;
        if placement != MailPlacement::Quarantine
            && let Some(message_id) = mail.message_id.as_deref().filter(|m| !m.is_empty())
            && !self
                .store
                .first_receipt(&mut tx, mail.from.as_str(), message_id)
                .await?
        {
            return Ok(Received::AlreadyTaken);
        }
        let received = match placement {
            MailPlacement::Quarantine => {
                let id = self
                    .store
                    .quarantine_mail(&mut tx, &mail.team, &mail.held.to_bytes()?)
                    .await?;
                let detail = json!({ "placement": "quarantine", "quarantine_id": id, "verdict": mail.verdict,
                                     "lookalike": mail.lookalike });
                self.received(&mut tx, &ctx, &mail, detail).await?;
                Received::Quarantined(id)
            }
            MailPlacement::Reply { ticket, author } => {
                match self.reply_by_mail(&mut tx, &ctx, &mail, &ticket, &author).await {
                    Ok(answered) => Received::Reply(answered),
                    // Refused like any other refusal: audited (nothing else is kept).
                    Err(ServiceError::Forbidden) => {
                        drop(tx);
                        self.audit_denial(&ctx, Action::TicketReply, ticket.as_str(), "denied")
                            .await?;
                        return Err(ServiceError::Forbidden);
                    }
                    Err(e) => return Err(e),
                }
            }
            MailPlacement::NewTicket => match self.ticket_by_mail(&mut tx, &ctx, &mail, account).await {
                Ok(ticket) => Received::NewTicket(ticket),
                Err(ServiceError::Invalid(why)) if why.id() == SENDER_MAY_NOT_OPEN => {
                    drop(tx);
                    self.audit_denial(&ctx, Action::TicketCreate, mail.mailbox.as_str(), "denied")
                        .await?;
                    return Err(ServiceError::Invalid(why));
                }
                Err(e) => return Err(e),
            },
        };
        tx.commit().await?;
        if !mail.files.is_empty() {
            self.scan_soon().await;
        }
        Ok(received)
    }

    /// The audit entry of the receipt itself, on the mailbox: the last write.
    async fn received(
        &self,
        tx: &mut Tx,
        ctx: &AuditContext,
        mail: &ReceivedMail,
        detail: Value,
    ) -> Result<(), ServiceError> {
        let event = AuditEvent::new(AuditAction::MailReceived, mail.mailbox.as_str(), Outcome::Success)
            .with_detail(detail);
        self.store.append_audit(tx, ctx, &event).await?;
        Ok(())
    }

    async fn reply_by_mail(
        &self,
        tx: &mut Tx,
        ctx: &AuditContext,
        mail: &ReceivedMail,
        ticket_id: &TicketId,
        author: &UserId,
    ) -> Result<TicketId, ServiceError> {
        // A reply address of a merged duplicate keeps working: the reply joins the
        // survivor, where the duplicate's participants now are.
        let addressed = self.store.get_ticket_for_update(tx, ticket_id).await?;
        let ticket = self.follow_merges(tx, addressed).await?;
        let ticket_id = &ticket.id;
        let principal = self.principal_of(author).await?;
        // The requester of a ticket nobody had confirmed answers, authenticated, through
        // the reply address mailed only to them: that proves the address is theirs, so
        // the reply confirms the ticket.
        let mut facts = ticket.facts();
        let confirms = !facts.requester_confirmed && facts.requester == *author;
        facts.requester_confirmed |= confirms;
        let Ok(proof) =
            self.policy
                .authorize(&principal, Action::TicketReply, &Resource::Ticket(facts.clone()))
        else {
            return Err(ServiceError::Forbidden);
        };
        let message = self
            .store
            .add_message(tx, &proof, &ticket, author, Visibility::Public, &mail.body)
            .await?;
        let files = self
            .attach_mail_files(tx, &principal, facts, &ticket, &message, &mail.files)
            .await?;
        self.store
            .keep_original(tx, &ticket, &message, &mail.original, mail.html.as_deref())
            .await?;
        self.store
            .record_mail_provenance(tx, &message, mail.verdict.to_string().as_bytes())
            .await?;
        self.store.remember_domain(tx, mail.from.domain()).await?;
        let confirmed = confirms && self.store.confirm_requester(tx, ticket_id, author).await?;
        let actor = Actor {
            principal,
            audit: ctx.clone(),
            channel: Channel::Mail,
        };
        if confirmed {
            let event = AuditEvent::new(
                AuditAction::RequesterConfirmed,
                ticket_id.to_string(),
                Outcome::Success,
            )
            .with_detail(json!({ "by": "authenticated_reply" }));
            self.store.append_audit(tx, ctx, &event).await?;
        }
        let detail = json!({ "message": message.to_string(), "visibility": "public", "channel": "mail",
                             "verdict": mail.verdict, "files": files });
        let audit = AuditEvent::new(AuditAction::MessageAdded, ticket_id.to_string(), Outcome::Success)
            .with_detail(detail.clone());
        let happened = Happened {
            kind: "message.added",
            actor: &actor,
            ticket: &ticket,
            message: Some((&message, Visibility::Public, &mail.body)),
            detail,
        };
        self.record(tx, audit, happened).await?;
        let detail =
            json!({ "placement": "reply", "ticket": ticket_id.to_string(), "verdict": mail.verdict });
        self.received(tx, ctx, mail, detail).await?;
        Ok(ticket.id)
    }

    async fn ticket_by_mail(
        &self,
        tx: &mut Tx,
        ctx: &AuditContext,
        mail: &ReceivedMail,
        account: Option<UserRecord>,
    ) -> Result<TicketId, ServiceError> {
        let (requester, created) = match account {
            Some(user) => (user, None),
            None => {
                let (user, event) = self
                    .customer_for_sender(tx, &mail.from, mail.display_name.as_deref())
                    .await?;
                (user, Some(event))
            }
        };
        let principal = customer_principal(&requester);
        let (ticket, message, creation) = self
            .create_in(tx, &principal, &requester, &mail.team, &mail.subject, &mail.body)
            .await
            .map_err(|e| match e {
                ServiceError::Forbidden => ServiceError::invalid(SENDER_MAY_NOT_OPEN),
                other => other,
            })?;
        let files = self
            .attach_mail_files(tx, &principal, ticket.facts(), &ticket, &message, &mail.files)
            .await?;
        self.store
            .keep_original(tx, &ticket, &message, &mail.original, mail.html.as_deref())
            .await?;
        let mut provenance = mail.verdict.clone();
        provenance["lookalike"] = mail.lookalike.clone().unwrap_or_default();
        self.store
            .record_mail_provenance(tx, &message, provenance.to_string().as_bytes())
            .await?;
        if mail.lookalike.is_some() {
            let tag = TagName::parse(LOOKALIKE_TAG)?;
            self.store.tag_new_ticket(tx, &creation, &ticket.id, &tag).await?;
        } else {
            // A lookalike never becomes a known domain others are compared with.
            self.store.remember_domain(tx, mail.from.domain()).await?;
        }
        let ticket = self.store.get_ticket_for_update(tx, &ticket.id).await?;
        if let Some(event) = created {
            self.store.append_audit(tx, ctx, &event).await?;
        }
        let actor = Actor {
            principal,
            audit: ctx.clone(),
            channel: Channel::Mail,
        };
        self.created(
            tx,
            &actor,
            &ticket,
            &message,
            &mail.body,
            json!({ "verdict": mail.verdict, "files": files }),
        )
        .await?;
        let detail = json!({ "placement": "new_ticket", "ticket": ticket.id.to_string(), "verdict": mail.verdict,
                             "lookalike": mail.lookalike });
        self.received(tx, ctx, mail, detail).await?;
        Ok(ticket.id)
    }

    /// A bounce to the VERP address of an outbound message: marks its recipient's
    /// address, once per message, and audits it. Never a ticket, never a reply.
    pub async fn record_bounce(
        &self,
        bounce_id: [u8; palisade_store::BOUNCE_ID_LEN],
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        if self.store.record_bounce(&mut tx, &bounce_id).await? {
            let ctx = AuditContext {
                actor: "mail".into(),
                ip: String::new(),
                user_agent: "smtp".into(),
                session: String::new(),
            };
            let id: String = bounce_id.iter().map(|b| format!("{b:02x}")).collect();
            let event = AuditEvent::new(AuditAction::MailBounced, id, Outcome::Success);
            self.store.append_audit(&mut tx, &ctx, &event).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A reviewer's release of a quarantined message: it becomes a ticket of the
    /// address in its `From` (an account is created for an unknown address), tagged
    /// [`RELEASED_TAG`]. Nobody has proved to own that address, so the ticket's
    /// requester is unconfirmed (no customer sees it until they confirm; a reaction
    /// mails them the link). Staff and disabled addresses are never made requesters
    /// this way. Deciding an item twice is a `Conflict`.
    pub async fn release_quarantined(
        &self,
        reviewer: &Actor,
        quarantine_id: &str,
        mail: ReleasedMail,
    ) -> Result<Released, ServiceError> {
        let item = self.reviewable(reviewer, quarantine_id).await?;
        let team = &item.team;
        let account = self.store.find_mail_sender(&mail.from).await?;
        if account.as_ref().is_some_and(|u| u.role.is_staff() || u.disabled) {
            return Err(ServiceError::conflict("refusal-release-staff-sender"));
        }
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .decide_quarantined(
                &mut tx,
                quarantine_id,
                palisade_store::QuarantineStatus::Released,
                &reviewer.principal.user_id,
            )
            .await?
        {
            return Err(ServiceError::conflict("refusal-already-decided"));
        }
        let (requester, created) = match account {
            Some(user) => (user, None),
            None => {
                let (user, event) = self
                    .customer_for_sender(&mut tx, &mail.from, mail.display_name.as_deref())
                    .await?;
                (user, Some(event))
            }
        };
        let principal = customer_principal(&requester);
        let (ticket, message, _) = self
            .create_in(&mut tx, &principal, &requester, team, &mail.subject, &mail.body)
            .await
            .map_err(|e| match e {
                ServiceError::Forbidden => ServiceError::conflict("refusal-release-may-not-open"),
                other => other,
            })?;
        // Attached as the requester while the ticket is still theirs to write to; it
        // becomes unconfirmed (and hidden from every customer) right after.
        let files = self
            .attach_mail_files(
                &mut tx,
                &principal,
                ticket.facts(),
                &ticket,
                &message,
                &mail.files,
            )
            .await?;
        self.store
            .keep_original(&mut tx, &ticket, &message, &mail.original, mail.html.as_deref())
            .await?;
        self.store.mark_requester_unconfirmed(&mut tx, &ticket.id).await?;
        let mut provenance = mail.verdict.clone();
        provenance["released_by"] = json!(reviewer.principal.user_id.to_string());
        self.store
            .record_mail_provenance(&mut tx, &message, provenance.to_string().as_bytes())
            .await?;
        let tag = TagName::parse(RELEASED_TAG)?;
        let ticket = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        let Ok(proof) = self.policy.authorize(
            &reviewer.principal,
            Action::TicketTag,
            &Resource::Ticket(ticket.facts()),
        ) else {
            return Err(ServiceError::conflict("refusal-release-may-not-tag"));
        };
        self.store.set_tags(&mut tx, &proof, &ticket.id, &[tag]).await?;
        let ticket = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        if let Some(event) = created {
            self.store.append_audit(&mut tx, &reviewer.audit, &event).await?;
        }
        let actor = Actor {
            channel: Channel::QuarantineRelease,
            ..reviewer.clone()
        };
        self.created(
            &mut tx,
            &actor,
            &ticket,
            &message,
            &mail.body,
            json!({ "verdict": mail.verdict, "files": files }),
        )
        .await?;
        let event = AuditEvent::new(AuditAction::QuarantineReleased, quarantine_id, Outcome::Success)
            .with_detail(json!({ "ticket": ticket.id.to_string() }));
        self.store.append_audit(&mut tx, &reviewer.audit, &event).await?;
        tx.commit().await?;
        if !mail.files.is_empty() {
            self.scan_soon().await;
        }
        Ok(Released { ticket, requester })
    }

    /// Creates the ticket and its first message in `tx`, authorised for `principal`
    /// (the requester); returns the creation's proof for tags it carries from birth.
    pub(crate) async fn create_in(
        &self,
        tx: &mut Tx,
        principal: &Principal,
        requester: &UserRecord,
        team: &TeamId,
        subject: &str,
        body: &str,
    ) -> Result<(TicketRecord, MessageId, Authorized), ServiceError> {
        let company_sharing = match &requester.company {
            Some(c) => self.store.get_company(c).await?.share_tickets,
            None => false,
        };
        let id = TicketId::generate();
        let facts = TicketFacts {
            id: id.clone(),
            requester: requester.id.clone(),
            collaborators: vec![],
            team: team.clone(),
            assignee: None,
            company: requester.company.clone(),
            company_sharing,
            requester_confirmed: true,
        };
        let proof = self
            .policy
            .authorize(principal, Action::TicketCreate, &Resource::Ticket(facts))
            .map_err(|_| ServiceError::Forbidden)?;
        let new = NewTicket {
            requester: requester.id.clone(),
            team: team.clone(),
            subject: subject.to_owned(),
            first_message: body.to_owned(),
            author: principal.user_id.clone(),
        };
        let (_, message) = self.store.create_ticket(tx, &proof, &id, &new).await?;
        let ticket = self.store.get_ticket_for_update(tx, &id).await?;
        Ok((ticket, message, proof))
    }

    /// The `ticket.created` audit entry and event, for every channel alike.
    pub(crate) async fn created(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ticket: &TicketRecord,
        message: &MessageId,
        body: &str,
        extra: Value,
    ) -> Result<(), ServiceError> {
        let mut detail = json!({ "number": ticket.number, "message": message.to_string(),
                                 "team": ticket.team.to_string(), "channel": actor.channel.as_str(),
                                 "requester_confirmed": ticket.requester_confirmed });
        if let (Some(detail), Some(extra)) = (detail.as_object_mut(), extra.as_object()) {
            detail.extend(extra.clone());
        }
        let audit = AuditEvent::new(
            AuditAction::TicketCreated,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail.clone());
        let happened = Happened {
            kind: "ticket.created",
            actor,
            ticket,
            message: Some((message, Visibility::Public, body)),
            detail,
        };
        self.record(tx, audit, happened).await
    }

    /// A customer account for a sender's address, and the audit entry to append once
    /// the ticket exists.
    async fn customer_for_sender(
        &self,
        tx: &mut Tx,
        from: &EmailAddress,
        display_name: Option<&str>,
    ) -> Result<(UserRecord, AuditEvent), ServiceError> {
        let name: String = display_name
            .filter(|n| !n.contains('@') && !n.trim().is_empty())
            .unwrap_or(from.as_str())
            .chars()
            .take(200)
            .collect();
        let id = self
            .store
            .create_user(
                tx,
                &NewUser {
                    role: Role::Customer,
                    email: from.clone(),
                    name: name.clone(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await?;
        let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
            .with_detail(json!({ "source": "mail", "role": "customer" }));
        let user = UserRecord {
            id,
            role: Role::Customer,
            email: from.clone(),
            name,
            phone: None,
            company: None,
            disabled: false,
            created_at: palisade_core::UnixMillis::now(),
            locale: None,
            erased: false,
        };
        Ok((user, event))
    }

    /// The account as the policies see it, from the database.
    pub async fn principal_of(&self, user: &UserId) -> Result<Principal, ServiceError> {
        let record = self.store.get_user(user).await?;
        Ok(Principal {
            user_id: record.id.clone(),
            role: record.role,
            teams: self.store.user_teams(&record.id).await?,
            company: record.company.clone(),
            session: None,
            scopes: None,
        })
    }
}

/// A requester acting for themselves (mail carries no session).
fn customer_principal(user: &UserRecord) -> Principal {
    Principal {
        user_id: user.id.clone(),
        role: user.role,
        teams: vec![],
        company: user.company.clone(),
        session: None,
        scopes: None,
    }
}

impl Desk {
    /// Uses a requester-confirmation link: the ticket it names joins its requester's
    /// portal. Unknown, used and expired links are `NotFound`, all alike.
    pub async fn confirm_requester(
        &self,
        audit: &AuditContext,
        presented: &str,
    ) -> Result<TicketId, ServiceError> {
        let token = palisade_crypto::RandomToken::from_presented(presented).ok_or(ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let Some(ticket) = self
            .store
            .redeem_requester_confirmation(&mut tx, &token.hash())
            .await?
        else {
            return Err(ServiceError::NotFound);
        };
        let event = AuditEvent::new(
            AuditAction::RequesterConfirmed,
            ticket.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "by": "link" }));
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        Ok(ticket)
    }
}
