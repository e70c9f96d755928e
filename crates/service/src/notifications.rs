//! Agents told in time: a subscriber of the domain events turns a new ticket in an
//! agent's team, a customer's reply on a ticket they are assigned to or follow, an
//! assignment to them and a mention (`@name`) in an internal note into notifications,
//! shown in the page and mailed as each agent prefers (off, in the page, email, or a
//! digest). Each one is authorised for its recipient when it is delivered — when the
//! subscriber handles the event, again whenever it is listed, and again when a digest
//! is sent — so nobody is told about a ticket they can no longer read. Mails carry the
//! ticket's number, subject and a link, never message text or customer details — unless
//! the ticket's team allows it (`notifications_with_text`).

use palisade_i18n::Refusal;
use palisade_i18n::{Arg, Locale, text_with};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use palisade_core::{OutgoingMail, Principal, TicketId, UserId, Visibility};
use palisade_policy::{Action, PolicyEngine, Resource};
use palisade_store::{DomainEventRecord, Including, NotificationRecord, Store, TicketRecord, Tx, UserKind};
use serde_json::Value;

use crate::{Actor, Desk, ReactionFuture, ServiceError, Subscriber};

/// Outbox kind of notification mail (single and digest).
pub const MAIL_NOTIFICATION: &str = "notification";
/// Notifications listed (and counted as unread) at most.
const LISTED: u32 = 100;

/// What an agent can be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    /// A new ticket in one of my teams.
    NewTicket,
    /// A customer answered on a ticket I am assigned to or follow.
    CustomerReply,
    /// A ticket was assigned to me.
    Assigned,
    /// Someone mentioned me in an internal note.
    Mention,
    /// A ticket I answer for is about to miss, or missed, a service-level target.
    ServiceLevel,
    /// A trigger or automation asked for my attention on a ticket.
    Rule,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 6] = [
        NotificationKind::NewTicket,
        NotificationKind::CustomerReply,
        NotificationKind::Assigned,
        NotificationKind::Mention,
        NotificationKind::ServiceLevel,
        NotificationKind::Rule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::NewTicket => "new_ticket",
            NotificationKind::CustomerReply => "customer_reply",
            NotificationKind::Assigned => "assigned",
            NotificationKind::Mention => "mention",
            NotificationKind::ServiceLevel => "service_level",
            NotificationKind::Rule => "rule",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
            ServiceError::Invalid(Refusal::new("refusal-notification-kind").with("value", text))
        })
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::NewTicket => "New ticket in your team",
            NotificationKind::CustomerReply => "Customer replied",
            NotificationKind::Assigned => "Assigned to you",
            NotificationKind::Mention => "You were mentioned in a note",
            NotificationKind::ServiceLevel => "A service-level target is at risk or missed",
            NotificationKind::Rule => "A rule asked for your attention",
        }
    }

    /// What an agent who chose nothing gets: the page for the busy stream of new
    /// tickets, mail for what is addressed to them.
    pub fn default_channel(self) -> Channel {
        match self {
            NotificationKind::NewTicket => Channel::InApp,
            NotificationKind::CustomerReply
            | NotificationKind::Assigned
            | NotificationKind::Mention
            | NotificationKind::ServiceLevel
            | NotificationKind::Rule => Channel::Email,
        }
    }

    /// What the recipient must still be allowed to do for it to reach them.
    fn needs(self) -> Action {
        match self {
            NotificationKind::Mention => Action::TicketReadInternal,
            _ => Action::TicketRead,
        }
    }
}

/// Where a kind of notification reaches an agent. Everything but `Off` is listed in
/// the page; `Email` also mails each one, `Digest` collects them into one mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Off,
    InApp,
    Email,
    Digest,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Off, Channel::InApp, Channel::Email, Channel::Digest];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Off => "off",
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Digest => "digest",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        Self::ALL.into_iter().find(|c| c.as_str() == text).ok_or_else(|| {
            ServiceError::Invalid(Refusal::new("refusal-notification-channel").with("value", text))
        })
    }
}

/// A notification as its recipient sees it, read and authorised just now.
#[derive(Clone, Debug)]
pub struct Notification {
    pub record: NotificationRecord,
    pub kind: NotificationKind,
    pub number: i64,
    pub subject: String,
}

/// The subscriber that turns domain events into agents' notifications.
pub struct AgentNotifications {
    desk: Desk,
    public_origin: String,
}

impl AgentNotifications {
    /// `public_origin` is where agents sign in, for the links in notification mail.
    pub fn new(store: Store, policy: Arc<PolicyEngine>, public_origin: impl Into<String>) -> Self {
        Self {
            desk: Desk::new(store, policy),
            public_origin: public_origin.into(),
        }
    }
}

impl Subscriber for AgentNotifications {
    fn name(&self) -> &'static str {
        "agent_notifications"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(async move {
            let Ok(ticket_id) = TicketId::parse(&event.subject) else {
                return Ok(());
            };
            let ticket = match self.desk.store.get_ticket(&ticket_id).await {
                Ok(ticket) => ticket,
                // Gone since: nothing to tell anyone.
                Err(palisade_store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
            let actor = UserId::parse(&event.actor).ok();
            // What was written, for teams that let notification mail carry it.
            let mut written = None;
            let (kind, recipients) = match event.kind.as_str() {
                "ticket.created" => (
                    NotificationKind::NewTicket,
                    self.desk.store.team_members(&ticket.team).await?,
                ),
                "ticket.assigned" => match detail["to"].as_str().map(UserId::parse) {
                    Some(Ok(assignee)) => (NotificationKind::Assigned, vec![assignee]),
                    _ => return Ok(()),
                },
                "message.added" if detail["visibility"] == "public" => {
                    let Some(author) = &actor else { return Ok(()) };
                    let customer = self.desk.store.get_user(author).await?;
                    if customer.role.is_staff() {
                        return Ok(());
                    }
                    written = self
                        .desk
                        .store
                        .list_messages(&ticket, Including::Public)
                        .await?
                        .into_iter()
                        .find(|m| detail["message"] == m.id.as_str())
                        .map(|m| {
                            format!(
                                "{}\n\nFrom: {} <{}>",
                                m.body,
                                customer.name,
                                customer.email.as_str()
                            )
                        });
                    let mut watching = self.desk.store.followers(&ticket.id).await?;
                    watching.extend(ticket.assignee.clone());
                    (NotificationKind::CustomerReply, watching)
                }
                "message.added" => {
                    let Some(author) = &actor else { return Ok(()) };
                    let (named, note) = self.desk.mentioned_in(&ticket, author, &detail).await?;
                    written = note;
                    (NotificationKind::Mention, named)
                }
                _ => return Ok(()),
            };
            let written = match written {
                Some(text)
                    if self
                        .desk
                        .store
                        .get_team(&ticket.team)
                        .await?
                        .notifications_with_text =>
                {
                    Some(text)
                }
                _ => None,
            };
            let unique: BTreeSet<UserId> = recipients.into_iter().collect();
            for user in unique.iter().filter(|u| Some(*u) != actor.as_ref()) {
                self.desk
                    .notify(tx, user, kind, &ticket, &self.public_origin, written.as_deref())
                    .await?;
            }
            Ok(())
        })
    }
}

impl Desk {
    /// The principal `user` is now, if they are an active staff account.
    async fn current_staff(
        &self,
        user: &UserId,
    ) -> Result<Option<(Principal, String, Locale)>, ServiceError> {
        let record = match self.store.get_user(user).await {
            Ok(record) => record,
            Err(palisade_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if record.disabled || !record.role.is_staff() {
            return Ok(None);
        }
        let locale = Locale::for_mail(
            self.store
                .mail_language(record.locale.as_deref())
                .await?
                .as_deref(),
        );
        Ok(Some((
            self.principal_of(user).await?,
            record.email.as_str().to_owned(),
            locale,
        )))
    }

    /// Who a "tell the assignee" (the team's agents while nobody is assigned) and a
    /// "tell the supervisors" (the team's) reach, each once.
    pub(crate) async fn recipients(
        &self,
        ticket: &TicketRecord,
        assignee: bool,
        supervisors: bool,
    ) -> Result<Vec<UserId>, ServiceError> {
        let mut recipients = Vec::new();
        let members = self.store.team_members(&ticket.team).await?;
        if assignee {
            match &ticket.assignee {
                Some(a) => recipients.push(a.clone()),
                None => recipients.extend(members.iter().cloned()),
            }
        }
        if supervisors {
            for m in &members {
                if self.store.get_user(m).await?.role == palisade_core::Role::Supervisor {
                    recipients.push(m.clone());
                }
            }
        }
        recipients.sort();
        recipients.dedup();
        Ok(recipients)
    }

    /// Delivers one notification to `user` if they may still read the ticket.
    pub(crate) async fn notify(
        &self,
        tx: &mut Tx,
        user: &UserId,
        kind: NotificationKind,
        ticket: &TicketRecord,
        public_origin: &str,
        written: Option<&str>,
    ) -> Result<(), ServiceError> {
        let Some((principal, email, locale)) = self.current_staff(user).await? else {
            return Ok(());
        };
        if !self.permits(&principal, kind.needs(), &Resource::Ticket(ticket.facts())) {
            return Ok(());
        }
        let channel = self.channel_of(user, kind).await?;
        if channel == Channel::Off {
            return Ok(());
        }
        self.store
            .add_notification(tx, user, kind.as_str(), &ticket.id, channel == Channel::Digest)
            .await?;
        if channel == Channel::Email {
            let link = ticket_link(public_origin, &ticket.id);
            let word = kind_word(kind, locale);
            let mail = OutgoingMail {
                to: email,
                subject: format!("[#{}] {word}: {}", ticket.number, ticket.subject),
                text: format!(
                    "{}\n\n{link}\n\n{}{}",
                    about(locale, &word, ticket),
                    written.map(|w| format!("{w}\n\n")).unwrap_or_default(),
                    preferences_footer(public_origin, locale)
                ),
                ..OutgoingMail::default()
            };
            self.store.enqueue_mail(tx, MAIL_NOTIFICATION, &mail).await?;
        }
        Ok(())
    }

    async fn channel_of(&self, user: &UserId, kind: NotificationKind) -> Result<Channel, ServiceError> {
        let chosen = self.store.notification_preferences(user).await?;
        Ok(match chosen.get(kind.as_str()) {
            Some(channel) => Channel::parse(channel)?,
            None => kind.default_channel(),
        })
    }

    /// Staff named as `@name` in an internal note (by their address's local part, or
    /// their name without spaces), read with the author's own right to read it.
    async fn mentioned_in(
        &self,
        ticket: &TicketRecord,
        author: &UserId,
        detail: &Value,
    ) -> Result<(Vec<UserId>, Option<String>), ServiceError> {
        let Some(author) = self.current_staff(author).await?.map(|(p, _, _)| p) else {
            return Ok((Vec::new(), None));
        };
        let Some(proof) = self.internal_proof(&author, ticket) else {
            return Ok((Vec::new(), None));
        };
        let Some(note) = self
            .store
            .list_messages(ticket, Including::Internal(&proof))
            .await?
            .into_iter()
            .find(|m| detail["message"] == m.id.as_str() && m.visibility == Visibility::Internal)
        else {
            return Ok((Vec::new(), None));
        };
        let handles = mentions(&note.body);
        if handles.is_empty() {
            return Ok((Vec::new(), None));
        }
        let staff = self.store.list_users(UserKind::Staff, None, 1000).await?.items;
        let named = staff
            .into_iter()
            .filter(|u| {
                let local = u
                    .email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                let joined: String = u.name.split_whitespace().collect::<String>().to_lowercase();
                handles.contains(&local) || handles.contains(&joined)
            })
            .map(|u| u.id)
            .collect();
        Ok((named, Some(note.body)))
    }

    /// The actor's latest notifications that they may still read, newest first.
    pub async fn notifications(&self, actor: &Actor) -> Result<Vec<Notification>, ServiceError> {
        let records = self
            .store
            .notifications_of(&actor.principal.user_id, LISTED)
            .await?;
        let mut tickets: HashMap<TicketId, Option<TicketRecord>> = HashMap::new();
        let mut shown = Vec::new();
        for record in records {
            let Ok(kind) = NotificationKind::parse(&record.kind) else {
                continue;
            };
            if !tickets.contains_key(&record.ticket) {
                let ticket = match self.store.get_ticket(&record.ticket).await {
                    Ok(ticket) => Some(ticket),
                    Err(palisade_store::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                tickets.insert(record.ticket.clone(), ticket);
            }
            let Some(Some(ticket)) = tickets.get(&record.ticket) else {
                continue;
            };
            if !self.permits(&actor.principal, kind.needs(), &Resource::Ticket(ticket.facts())) {
                continue;
            }
            shown.push(Notification {
                kind,
                number: ticket.number,
                subject: ticket.subject.clone(),
                record,
            });
        }
        Ok(shown)
    }

    /// How many of [`Desk::notifications`] are unread.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<usize, ServiceError> {
        Ok(self
            .notifications(actor)
            .await?
            .iter()
            .filter(|n| !n.record.read)
            .count())
    }

    pub async fn mark_notifications_read(&self, actor: &Actor) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        self.store
            .mark_notifications_read(&mut tx, &actor.principal.user_id)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor's channel for every kind (their choice, or the default).
    pub async fn notification_preferences(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(NotificationKind, Channel)>, ServiceError> {
        let mut out = Vec::new();
        for kind in NotificationKind::ALL {
            out.push((kind, self.channel_of(&actor.principal.user_id, kind).await?));
        }
        Ok(out)
    }

    pub async fn set_notification_preference(
        &self,
        actor: &Actor,
        kind: NotificationKind,
        channel: Channel,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        self.store
            .set_notification_preference(&mut tx, &actor.principal.user_id, kind.as_str(), channel.as_str())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts or stops the actor following a ticket (to hear of customers' replies):
    /// staff who may read its internal side.
    pub async fn set_following(&self, actor: &Actor, raw_id: &str, follow: bool) -> Result<(), ServiceError> {
        let tx = self.store.begin().await?;
        let (mut tx, ticket, _proof) = self
            .ticket_in(tx, actor, raw_id, Action::TicketReadInternal)
            .await?;
        self.store
            .set_following(&mut tx, &ticket.id, &actor.principal.user_id, follow)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the actor follows the ticket.
    pub async fn follows(&self, actor: &Actor, ticket: &TicketRecord) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .followers(&ticket.id)
            .await?
            .contains(&actor.principal.user_id))
    }

    /// Sends every waiting digest: one mail per agent listing the tickets they may
    /// still read (authorised now), each with its link. Returns how many were sent.
    pub async fn send_notification_digests(&self, public_origin: &str) -> Result<usize, ServiceError> {
        let mut sent = 0;
        for user in self.store.digest_recipients().await? {
            let mut tx = self.store.begin().await?;
            let waiting = self.store.take_digest(&mut tx, &user).await?;
            let Some((principal, email, locale)) = self.current_staff(&user).await? else {
                tx.commit().await?;
                continue;
            };
            let mut lines = Vec::new();
            for record in &waiting {
                let Ok(kind) = NotificationKind::parse(&record.kind) else {
                    continue;
                };
                let ticket = match self.store.get_ticket(&record.ticket).await {
                    Ok(ticket) => ticket,
                    Err(palisade_store::StoreError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                };
                if self.permits(&principal, kind.needs(), &Resource::Ticket(ticket.facts())) {
                    lines.push(format!(
                        "- {}\n  {}",
                        about(locale, &kind_word(kind, locale), &ticket),
                        ticket_link(public_origin, &ticket.id)
                    ));
                }
            }
            if !lines.is_empty() {
                let mail = OutgoingMail {
                    to: email,
                    subject: text_with(
                        locale,
                        "mail-digest-subject",
                        &[(
                            "count",
                            Arg::Number(i64::try_from(lines.len()).unwrap_or(i64::MAX)),
                        )],
                    ),
                    text: format!(
                        "{}\n\n{}\n\n{}",
                        text_with(locale, "mail-digest-intro", &[]),
                        lines.join("\n"),
                        preferences_footer(public_origin, locale)
                    ),
                    ..OutgoingMail::default()
                };
                self.store.enqueue_mail(&mut tx, MAIL_NOTIFICATION, &mail).await?;
                sent += 1;
            }
            tx.commit().await?;
        }
        Ok(sent)
    }
}

fn ticket_link(public_origin: &str, ticket: &TicketId) -> String {
    format!("{}/tickets/{ticket}", public_origin.trim_end_matches('/'))
}

fn preferences_footer(public_origin: &str, locale: Locale) -> String {
    let link = format!("{}/account/notifications", public_origin.trim_end_matches('/'));
    format!(
        "-- \n{}\n",
        text_with(locale, "mail-notify-footer", &[("link", link.into())])
    )
}

/// A kind of notification as `locale` names it.
fn kind_word(kind: NotificationKind, locale: Locale) -> String {
    text_with(locale, &format!("notification-{}", kind.as_str()), &[])
}

/// "Customer replied: ticket #12 "Refund"." in `locale`.
fn about(locale: Locale, word: &str, ticket: &TicketRecord) -> String {
    text_with(
        locale,
        "mail-notify-about",
        &[
            ("name", word.into()),
            ("number", Arg::Number(ticket.number)),
            ("other", ticket.subject.as_str().into()),
        ],
    )
}

/// The lower-cased handles a text mentions: `@` at the start or after a space or
/// opening bracket, then letters, digits, `.`, `_` or `-` (an address's `@` does not
/// count: `ann@example.com` mentions nobody).
fn mentions(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' && (previous.is_whitespace() || "([{<,;:".contains(previous)) {
            let mut handle = String::new();
            while let Some(&next) = chars.peek() {
                if next.is_alphanumeric() || "._-".contains(next) {
                    handle.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            let handle = handle.trim_end_matches(['.', '-', '_']).to_lowercase();
            if !handle.is_empty() {
                found.insert(handle);
            }
            previous = 'x';
            continue;
        }
        previous = c;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_handles_not_addresses() {
        let found = mentions("@ada please check with @Bob.Smith. Mail ann@example.com (cc @carol-x)");
        let expected: BTreeSet<String> = ["ada", "bob.smith", "carol-x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(found, expected);
        assert!(mentions("no one here @ @").is_empty());
    }

    #[test]
    fn kinds_and_channels_round_trip() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()).ok(), Some(kind));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()).ok(), Some(channel));
        }
        assert!(Channel::parse("sms").is_err());
    }
}
