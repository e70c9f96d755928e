//! JSON shapes of the API. Inputs reject unknown fields, so a typo is a 400 rather than
//! a silently ignored setting.

use palisade_audit::AuditEntry;
use palisade_store::{AttachmentRecord, CompanyRecord, MessageRecord, TeamRecord, TicketRecord, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct TicketView {
    pub id: String,
    /// Display only; never accepted as a reference.
    pub number: i64,
    pub subject: String,
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `question`, `incident`, `problem` or `task`; `null` until someone classifies it.
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    /// Moves with every change to the ticket's fields; send it back with an update.
    pub version: i64,
    pub requester_id: String,
    pub team_id: String,
    pub assignee_id: Option<String>,
    pub company_id: Option<String>,
    pub collaborator_ids: Vec<String>,
    pub tags: Vec<String>,
    /// False while nobody has proved to be the requester (mail released from
    /// quarantine, an anonymous assistant handover): the ticket is not in the
    /// requester's portal until the address's owner confirms it.
    pub requester_confirmed: bool,
    /// Set when this ticket was merged into another: the id of the survivor, where its
    /// conversation continues.
    pub merged_into: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// On creation only: what was removed from the subject and body before storing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<RedactionNote>,
}

/// Something removed from what the caller wrote (never the value itself).
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct RedactionNote {
    /// `card_number`, `card_security_code`, `iban`, `us_ssn`, `password`,
    /// `one_time_code`, `private_key`, `api_key`, `jwt` or `custom`.
    pub kind: String,
    pub count: usize,
    pub description: String,
}

pub fn redaction_notes(found: &[(palisade_assist::RedactionKind, usize)]) -> Vec<RedactionNote> {
    found
        .iter()
        .map(|(kind, count)| RedactionNote {
            kind: kind.as_str().to_owned(),
            count: *count,
            description: kind.describe().to_owned(),
        })
        .collect()
}

impl From<&TicketRecord> for TicketView {
    fn from(t: &TicketRecord) -> Self {
        Self {
            id: t.id.to_string(),
            number: t.number,
            subject: t.subject.clone(),
            status: t.status.as_str().into(),
            priority: t.priority.as_str().into(),
            ticket_type: t.ticket_type.map(|t| t.as_str().into()),
            version: t.version,
            requester_id: t.requester.to_string(),
            team_id: t.team.to_string(),
            assignee_id: t.assignee.as_ref().map(|a| a.to_string()),
            company_id: t.company.as_ref().map(|c| c.to_string()),
            collaborator_ids: t.collaborators.iter().map(|c| c.to_string()).collect(),
            merged_into: t.merged_into.as_ref().map(|m| m.to_string()),
            tags: t.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            requester_confirmed: t.requester_confirmed,
            created_at: rfc3339(t.created_at.0),
            updated_at: rfc3339(t.updated_at.0),
            redacted: Vec::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub author_id: String,
    pub visibility: String,
    pub body: String,
    /// For mail that arrived as HTML only: its HTML, sanitised (no scripts or styles,
    /// remote images replaced by a placeholder, only web and mail links). `body` is
    /// its text.
    pub body_html: Option<String>,
    pub created_at: String,
}

impl MessageView {
    pub fn new(m: &MessageRecord, html: Option<&String>) -> Self {
        Self {
            body_html: html.cloned(),
            id: m.id.to_string(),
            author_id: m.author.to_string(),
            visibility: m.visibility.as_str().into(),
            body: m.body.clone(),
            created_at: rfc3339(m.created_at.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub visibility: String,
    /// The message that carried it (a mail attachment or inline image); absent for a
    /// file uploaded on its own.
    pub message_id: Option<String>,
    pub created_at: String,
    pub download_url: String,
    /// The malware scan: `clean` (served), `pending` (not served until scanned),
    /// `infected` (never served) or `unscanned` (scanning is off here; served).
    #[schema(pattern = "^(clean|pending|infected|unscanned)$")]
    pub scan: String,
    /// The signature the scanner found, for an infected file.
    pub scan_finding: Option<String>,
}

impl AttachmentView {
    pub fn new(a: &AttachmentRecord, availability: &palisade_service::Availability) -> Self {
        Self {
            scan: availability.as_str().into(),
            scan_finding: match availability {
                palisade_service::Availability::Blocked(signature) => Some(signature.clone()),
                _ => None,
            },
            id: a.id.to_string(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            visibility: a.visibility.as_str().into(),
            message_id: a.message.as_ref().map(|m| m.to_string()),
            created_at: rfc3339(a.created_at.0),
            download_url: format!("/api/v1/attachments/{}", a.id),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub role: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub company_id: Option<String>,
    pub disabled: bool,
    pub created_at: String,
    /// True when `email` and `phone` are masked (staff see customers' contact details
    /// masked until they step up and unmask them, which is audited).
    pub masked: bool,
}

impl UserView {
    /// The record as `viewer` sees it: another person's customer contact details are
    /// masked; one's own are not.
    pub fn seen_by(u: &UserRecord, viewer: &palisade_core::UserId) -> Self {
        let mut view = Self::from(u);
        if u.role == palisade_core::Role::Customer && u.id != *viewer {
            view.email = palisade_assist::mask::mask_email(&view.email);
            view.phone = view.phone.as_deref().map(palisade_assist::mask::mask_phone);
            view.masked = true;
        }
        view
    }
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.to_string(),
            role: u.role.as_str().into(),
            email: u.email.as_str().into(),
            name: u.name.clone(),
            phone: u.phone.clone(),
            company_id: u.company.as_ref().map(|c| c.to_string()),
            disabled: u.disabled,
            created_at: rfc3339(u.created_at.0),
            masked: false,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// Replies are mailed as a sign-in link only, never their content.
    pub secure_delivery: bool,
    /// Agents' notification mail carries message text and the customer's address.
    pub notifications_with_text: bool,
    /// `off`, `round_robin` or `least_open`.
    pub auto_assign: String,
    /// At most this many unsolved tickets per agent are assigned automatically.
    pub assign_cap: Option<i64>,
    /// New tickets' requesters are sent an acknowledgement.
    pub acknowledge: bool,
    /// The team's own acknowledgement per language tag (the built-in one elsewhere).
    pub ack_texts: std::collections::BTreeMap<String, String>,
    /// Requesters are mailed a satisfaction survey once a ticket is solved.
    pub satisfaction_survey: bool,
    /// The team's own survey text per language tag (the built-in one elsewhere).
    pub survey_texts: std::collections::BTreeMap<String, String>,
}

impl From<&TeamRecord> for TeamView {
    fn from(t: &TeamRecord) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            secure_delivery: t.secure_delivery,
            notifications_with_text: t.notifications_with_text,
            auto_assign: t.auto_assign.clone(),
            assign_cap: t.assign_cap,
            acknowledge: t.acknowledge,
            ack_texts: serde_json::from_str(&t.ack_texts).unwrap_or_default(),
            satisfaction_survey: t.satisfaction_survey,
            survey_texts: serde_json::from_str(&t.survey_texts).unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CompanyView {
    pub id: String,
    pub name: String,
    pub share_tickets: bool,
}

impl From<&CompanyRecord> for CompanyView {
    fn from(c: &CompanyRecord) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            share_tickets: c.share_tickets,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub ip: String,
    pub user_agent: String,
    pub session: String,
    pub detail: String,
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: rfc3339(e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            object: e.object.clone(),
            outcome: e.outcome.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            session: e.session.clone(),
            detail: e.detail.clone(),
            hash: e.hash.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: palisade_core::SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct SignInResponse {
    /// Bearer token for `Authorization: Bearer …`; also set as an HttpOnly cookie.
    pub token: String,
    pub user: UserView,
    /// `full`; or `second_factor` (answer `POST /api/v1/sessions/current/second-factor`);
    /// or `enrol` (a staff account must set up a second factor before anything else).
    pub stage: String,
    /// The second factors this account can answer with, when `stage` is `second_factor`.
    pub methods: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketRequest {
    pub subject: String,
    pub body: String,
    pub requester_id: Option<String>,
    pub team_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketRequest {
    pub status: Option<String>,
    /// A user id to assign, or `null` to unassign; leave out to keep.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
    pub team_id: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    /// `question`, `incident`, `problem` or `task`, or `null` to clear; leave out to keep.
    #[serde(rename = "type", default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ticket_type: Option<Option<String>>,
    /// The `version` of the ticket this change was based on. When the ticket changed
    /// since, nothing is written and the answer is 409 `stale-ticket` with the ticket
    /// as it is now. Leave out only to overwrite whatever is there.
    #[serde(default, deserialize_with = "whole_number")]
    pub version: Option<i64>,
}

pub(crate) fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessageRequest {
    pub body: String,
    /// `public` (reaches the customer) or `internal` (staff only).
    pub visibility: String,
    /// For a public reply: mail customers only that there is a reply and a link to
    /// sign in and read it, never its content. A team that delivers securely always
    /// does; this cannot turn that off. Refused (400) on an internal note.
    #[serde(default)]
    pub secure_delivery: bool,
    /// Files to send with the message: ids of files you attached to this ticket (of
    /// the same visibility) not yet sent with another message. A public reply's files
    /// go out with its mail, each once scanned clean.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub attachment_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedMessage {
    pub id: String,
    /// What was removed from the body before storing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<RedactionNote>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTagsRequest {
    pub tags: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCollaboratorRequest {
    pub user_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerRequest {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub company_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    pub name: Option<String>,
    /// A phone number, or `null` to remove it; leave out to keep.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// A company id, or `null` to detach; leave out to keep.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub company_id: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub email: String,
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub team_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedAccount {
    pub user: UserView,
    /// Staff accounts: a single-use link (30 minutes) for the new account to choose a
    /// password, for the administrator to hand over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_path: Option<String>,
    /// Customer accounts: the invitation to choose a password went to their address
    /// by email; nobody else ever sees the link, so no agent can take the account over.
    pub invitation_emailed: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamRequest {
    /// Mail customers of this team only "there is a new reply, sign in to read it",
    /// never a reply's content (for teams handling financial or health data).
    pub secure_delivery: Option<bool>,
    /// Let agents' notification mail carry what was written (a customer's reply, a
    /// note that mentions them) and the customer's name and address. Off by default.
    pub notifications_with_text: Option<bool>,
    /// Give the team's waiting tickets to its agents who are not away: `round_robin`,
    /// `least_open` (whoever holds the fewest unsolved tickets) or `off`.
    pub auto_assign: Option<String>,
    /// At most this many unsolved tickets per agent are assigned automatically; 0
    /// removes the cap.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub assign_cap: Option<i64>,
    /// Send a new ticket's requester an acknowledgement (on for new teams).
    pub acknowledge: Option<bool>,
    /// The acknowledgement's text per language tag (`en`, `de`); an empty text returns
    /// a language to the built-in words. Placeholders: `{requester_name}`,
    /// `{requester_first_name}`, `{ticket_number}`, `{ticket_subject}`.
    pub ack_texts: Option<std::collections::BTreeMap<String, String>>,
    /// Mail a solved ticket's requester a single-use link to say how satisfied they
    /// are (off for new teams; requesters can always rate in the portal).
    pub satisfaction_survey: Option<bool>,
    /// The survey's text per language tag; it must carry `{link}`. Placeholders:
    /// `{requester_name}`, `{requester_first_name}`, `{ticket_number}`, `{link}`.
    pub survey_texts: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub user_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompanyRequest {
    pub name: String,
    #[serde(default)]
    pub share_tickets: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomersRequest {
    /// The customer who stays.
    pub into: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomersMerged {
    pub survivor: UserView,
    /// Tickets the duplicate had asked, now the survivor's.
    pub tickets: usize,
    /// Tickets the duplicate took part in, now with the survivor in their place.
    pub participations: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: String,
    pub limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    pub filename: String,
    pub visibility: Option<String>,
}

/// An optional whole number, also when a client writes it as a number with a zero
/// fraction (`30.0`): JSON does not tell the two apart, and neither does the API
/// document. A fraction, or a value out of range, is refused.
pub fn whole_number<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value: Option<serde_json::Number> = serde::Deserialize::deserialize(deserializer)?;
    let Some(number) = value else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::custom("expected a whole number")),
    }
}
