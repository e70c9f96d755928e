use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Priority, Role, SecretString, TicketStatus, TicketType, UserId};
use palisade_policy::{Action, Resource};
use serde::Deserialize;

use super::{Notice, UiError, render};
use crate::api::dto::rfc3339;
use crate::api::session::{clear_session_cookies, set_session_cookies};
use crate::caller::presented_token;
use crate::{AppError, AppState, Caller, RequestMeta};
use palisade_service::OpenTicket;

pub(super) struct StatusOption {
    pub(super) value: &'static str,
    pub(super) selected: bool,
}

/// One option per value of a field's enumeration, the current one selected.
pub(super) fn options<T: Copy + PartialEq>(
    all: &[T],
    name: fn(T) -> &'static str,
    current: Option<T>,
) -> Vec<StatusOption> {
    all.iter()
        .map(|v| StatusOption {
            value: name(*v),
            selected: Some(*v) == current,
        })
        .collect()
}

fn status_options(current: Option<TicketStatus>) -> Vec<StatusOption> {
    options(TicketStatus::ALL, TicketStatus::as_str, current)
}

pub async fn home(State(s): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let signed_in = match presented_token(&parts) {
        Some((token, _)) => matches!(s.identity.authenticate(&token).await, Ok(Some(_))),
        None => false,
    };
    Redirect::to(if signed_in { "/tickets" } else { "/login" }).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage<'a> {
    pub error: Option<&'a str>,
    pub email: &'a str,
    /// Single sign-on providers: `(name, display name)`.
    pub providers: Vec<(String, String)>,
    pub organisation: String,
}

pub async fn login_form(State(s): State<AppState>) -> Response {
    render(&LoginPage {
        error: None,
        email: "",
        providers: s.identity.oidc_providers(),
        organisation: s.organisation_name().await,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
}

pub async fn login_submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    match s
        .identity
        .sign_in(&form.email, &form.password, &meta.anonymous_audit())
        .await
    {
        Ok(signed) => {
            let next = match signed.stage {
                palisade_identity::SessionStage::Full => "/tickets",
                palisade_identity::SessionStage::SecondFactor => "/login/second-factor",
                palisade_identity::SessionStage::Enrol => "/account/security",
            };
            let mut response = Redirect::to(next).into_response();
            if signed.stage == palisade_identity::SessionStage::Full {
                response = super::consent::after_sign_in(&headers, response);
            }
            set_session_cookies(response.headers_mut(), signed.token.expose());
            Ok(response)
        }
        Err(palisade_identity::IdentityError::InvalidCredentials) => {
            let email: String = form.email.chars().take(254).collect();
            let mut r = render(&LoginPage {
                error: Some(crate::locale::word("login-invalid")),
                email: &email,
                providers: s.identity.oidc_providers(),
                organisation: s.organisation_name().await,
            });
            *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(r)
        }
        Err(palisade_identity::IdentityError::Throttled { retry_after_secs }) => {
            let msg = crate::locale::text_with(
                "login-too-many",
                &[(
                    "count",
                    palisade_i18n::Arg::Number(i64::try_from(retry_after_secs).unwrap_or(i64::MAX)),
                )],
            );
            let email: String = form.email.chars().take(254).collect();
            let mut r = render(&LoginPage {
                error: Some(&msg),
                email: &email,
                providers: s.identity.oidc_providers(),
                organisation: s.organisation_name().await,
            });
            *r.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
            Ok(r)
        }
        Err(e) => Err(UiError(e.into())),
    }
}

#[derive(Template)]
#[template(path = "reset_request.html")]
struct ResetRequestPage {
    sent: bool,
}

pub async fn reset_form() -> Response {
    render(&ResetRequestPage { sent: false })
}

#[derive(Deserialize)]
pub struct ResetForm {
    email: String,
}

/// The same page whatever the address: nothing here tells whether it has an account.
pub async fn reset_submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    Form(form): Form<ResetForm>,
) -> Response {
    s.identity
        .request_password_reset(&form.email, &meta.anonymous_audit());
    render(&ResetRequestPage { sent: true })
}

pub async fn logout(State(s): State<AppState>, request: axum::extract::Request) -> Result<Response, UiError> {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = request.into_parts();
    // Signing out without a live session still clears the cookie; a session that is
    // half-way through signing in can sign out too.
    if let Ok(crate::PendingCaller(caller)) = crate::PendingCaller::from_request_parts(&mut parts, &s).await
        && let Some(session) = &caller.principal.session
    {
        s.identity
            .sign_out(session, &caller.audit())
            .await
            .map_err(AppError::from)?;
    }
    let mut response = Redirect::to("/login").into_response();
    clear_session_cookies(response.headers_mut());
    Ok(response)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    token: &'a str,
    error: Option<&'a str>,
}

fn invalid_link() -> Response {
    let mut r = render(&Notice {
        title: crate::locale::word("link-invalid-title"),
        message: crate::locale::word("link-invalid-setup"),
        link: "/login",
        link_text: crate::locale::word("link-sign-in"),
    });
    *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
    r
}

pub async fn setup_form(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, UiError> {
    if !s
        .identity
        .setup_link_valid(&token)
        .await
        .map_err(AppError::from)?
    {
        return Ok(invalid_link());
    }
    Ok(render(&SetupPage {
        token: &token,
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct SetupForm {
    password: SecretString,
}

pub async fn setup_submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
    Form(form): Form<SetupForm>,
) -> Result<Response, UiError> {
    match s
        .identity
        .complete_setup(&token, &form.password, &meta.anonymous_audit())
        .await
    {
        Ok(_) => Ok(render(&Notice {
            title: crate::locale::word("password-saved-title"),
            message: crate::locale::word("password-saved"),
            link: "/login",
            link_text: crate::locale::word("link-sign-in"),
        })),
        Err(palisade_identity::IdentityError::WeakPassword(why)) => {
            let msg =
                crate::locale::text_with("password-rejected", &[("name", palisade_i18n::Arg::Message(why))]);
            let mut r = render(&SetupPage {
                token: &token,
                error: Some(&msg),
            });
            *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(palisade_identity::IdentityError::InvalidLink) => Ok(invalid_link()),
        Err(e) => Err(UiError(e.into())),
    }
}

#[derive(Deserialize)]
pub struct NewTicketForm {
    subject: String,
    body: String,
}

pub async fn ticket_create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<NewTicketForm>,
) -> Result<Response, UiError> {
    let ticket = s
        .create_ticket(
            &caller,
            OpenTicket {
                subject: form.subject,
                body: form.body,
                requester: None,
                team: None,
            },
        )
        .await?;
    let (ticket, redacted) = ticket;
    Ok(Redirect::to(&ticket_location(&ticket.id.to_string(), &redacted)).into_response())
}

struct MessageRow {
    id: String,
    author: String,
    /// RFC 3339, for `<time datetime>`; the page's script shows it in the reader's zone.
    at: String,
    /// The same moment as the page's language writes it (UTC).
    at_text: String,
    visibility: &'static str,
    body: String,
    /// Sanitised HTML shown in place of `body`, for mail that arrived as HTML only.
    body_html: Option<String>,
    /// For staff: how a message that arrived by mail was authenticated.
    provenance: Option<Provenance>,
    /// The files that came with it (a mail's attachments and inline images).
    files: Vec<AttachmentRow>,
}

struct Provenance {
    text: String,
    /// Not authenticated, or from a lookalike domain.
    warning: bool,
}

/// The recorded mail verdict in words.
fn provenance(verdict: &serde_json::Value) -> Provenance {
    let domain = verdict["domain"].as_str().unwrap_or("?");
    let (mut text, mut warning) = match verdict["authenticated"].as_str() {
        Some("dkim") => (
            format!("by mail · sender authenticated by DKIM ({domain})"),
            false,
        ),
        Some("spf") => (format!("by mail · sender authenticated by SPF ({domain})"), false),
        Some("arc") => (
            format!(
                "by mail · sender authenticated by trusted forwarder {} ({domain})",
                verdict["forwarder"].as_str().unwrap_or("?")
            ),
            false,
        ),
        Some("provider") => (
            format!(
                "by mail (fetched by IMAP) · sender authenticated by the mailbox provider {} ({} for {domain})",
                verdict["provider"].as_str().unwrap_or("?"),
                verdict["method"].as_str().unwrap_or("?")
            ),
            false,
        ),
        _ if verdict["released_by"].is_string() => (
            "by mail · sender NOT authenticated; released from quarantine".to_owned(),
            true,
        ),
        _ => ("by mail · sender not authenticated".to_owned(), true),
    };
    if let Some(resembles) = verdict["lookalike"]["resembles"].as_str() {
        text.push_str(&format!(" · the domain looks like {resembles}"));
        warning = true;
    }
    Provenance { text, warning }
}

struct AttachmentRow {
    id: String,
    filename: String,
    content_type: String,
    size: i64,
    visibility: &'static str,
    /// Offered as a link only when the malware scan allows it.
    downloadable: bool,
    /// Shown inline (a raster image the scan allows), from its sandboxed preview.
    preview: bool,
    /// Why it cannot be downloaded, or that it was not scanned.
    scan_note: Option<String>,
}

impl AttachmentRow {
    fn new(a: &palisade_store::AttachmentRecord, availability: palisade_service::Availability) -> Self {
        use palisade_service::Availability;
        let scan_note = match &availability {
            Availability::Ready => None,
            Availability::Unscanned => Some(crate::locale::word("scan-unscanned").to_owned()),
            Availability::AwaitingScan => Some(crate::locale::word("scan-awaiting").to_owned()),
            Availability::Blocked(signature) => {
                Some(format!("blocked: matched the malware signature {signature}"))
            }
        };
        Self {
            id: a.id.to_string(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            visibility: a.visibility.as_str(),
            downloadable: matches!(availability, Availability::Ready | Availability::Unscanned),
            preview: matches!(availability, Availability::Ready | Availability::Unscanned)
                && palisade_service::previewable(&a.content_type),
            scan_note,
        }
    }
}

struct AssigneeOption {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    /// Staff see a warning on tickets whose first mail was released from quarantine.
    released_from_quarantine: bool,
    requester_unconfirmed: bool,
    /// After writing: what redaction removed, and why.
    redaction_notice: Option<String>,
    /// …or came from a domain imitating a known one.
    lookalike_sender: bool,
    /// …and when mail to the requester's address bounced: how often.
    requester_bounces: Option<i64>,
    user_name: String,
    role: &'static str,
    is_customer: bool,
    id: String,
    number: i64,
    subject: String,
    status: &'static str,
    requester: String,
    error: Option<String>,
    messages: Vec<MessageRow>,
    attachments: Vec<AttachmentRow>,
    /// Files wait for the scanner: why, so nobody thinks they are lost.
    scan_waiting: Option<&'static str>,
    can_reply: bool,
    can_note: bool,
    can_attach: bool,
    /// Files are scanned for malware here.
    scanning: bool,
    /// The ticket's team mails every reply as a sign-in link only.
    team_secure: bool,
    /// Whether the reader follows the ticket (staff who see its internal side).
    following: Option<bool>,
    /// Files the reader attached and has not sent with a message yet: (id, name).
    unsent_files: Vec<(String, String)>,
    can_update: bool,
    status_options: Vec<StatusOption>,
    assignees: Vec<AssigneeOption>,
    priority: &'static str,
    ticket_type: Option<&'static str>,
    /// Whether the reader may set priority and type, and their choices.
    can_classify: bool,
    priority_options: Vec<StatusOption>,
    type_options: Vec<StatusOption>,
    /// The ticket's version, sent back by the update form.
    version: i64,
    /// The macros the reader may apply here: (id, name).
    macros: Vec<(String, String)>,
    /// For staff: who else had the ticket open when the page was made (kept current by
    /// `static/presence.js`); `None` for customers.
    presence: Option<String>,
    /// Merged into another ticket, linked tickets, and the forms for both.
    relations: super::ticket_relations::Relations,
    /// The custom fields the reader may see, and whether they may set them.
    fields: super::ticket_fields::TicketFields,
    /// Service-level targets, for staff.
    targets: super::ticket_targets::Targets,
    rating: super::ticket_rating::Rating,
}

pub(super) async fn ticket_page(
    s: &AppState,
    caller: &Caller,
    id: &str,
    error: Option<String>,
) -> Result<Response, UiError> {
    ticket_page_with(s, caller, id, error, None).await
}

/// The ticket page again, answering `status` and saying why (a refused form).
pub(super) async fn ticket_page_refusing(
    s: &AppState,
    caller: &Caller,
    id: &str,
    why: String,
    status: axum::http::StatusCode,
) -> Result<Response, UiError> {
    let mut page = ticket_page(s, caller, id, Some(why)).await?;
    *page.status_mut() = status;
    Ok(page)
}

async fn ticket_page_with(
    s: &AppState,
    caller: &Caller,
    id: &str,
    error: Option<String>,
    redaction_notice: Option<String>,
) -> Result<Response, UiError> {
    let detail = s.ticket_detail(caller, id).await?;
    let t = &detail.ticket;
    let resource = Resource::Ticket(t.facts());
    let mut people: Vec<UserId> = detail.messages.iter().map(|m| m.author.clone()).collect();
    people.push(t.requester.clone());
    let can_update = s.permits(caller, Action::TicketSetStatus, &resource);
    // A merged ticket's conversation continues on its survivor.
    let open = t.merged_into.is_none();
    let can_reply = open && s.permits(caller, Action::TicketReply, &resource);
    let can_note = open && s.permits(caller, Action::TicketNote, &resource);
    let team_members = if can_update {
        s.store.team_members(&t.team).await?
    } else {
        vec![]
    };
    people.extend(team_members.iter().cloned());
    people.sort();
    people.dedup();
    let users = s.store.users_by_ids(&people).await?;
    let requester_email = users
        .iter()
        .find(|u| u.id == t.requester)
        .map(|u| u.email.clone());
    let names: std::collections::HashMap<UserId, (String, Role)> = users
        .into_iter()
        .map(|u| {
            let name = if u.erased {
                crate::locale::word("person-erased").to_owned()
            } else {
                u.name
            };
            (u.id, (name, u.role))
        })
        .collect();
    // Mail verdicts, lookalike and bounce warnings are for those who may see the
    // ticket's internal side; Cedar decides who that is.
    let staff = s.permits(caller, Action::TicketReadInternal, &resource);
    let provenances = if staff {
        let ids: Vec<_> = detail.messages.iter().map(|m| m.id.clone()).collect();
        s.store.mail_provenance(&ids).await?
    } else {
        std::collections::HashMap::new()
    };
    let requester_bounces = match (&requester_email, staff) {
        (Some(email), true) => s.store.address_bounces(email).await?.map(|(n, _)| n),
        _ => None,
    };
    let name_of = |id: &UserId| {
        names
            .get(id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "unknown".into())
    };
    let assignees = team_members
        .iter()
        .filter(|m| names.get(*m).is_some_and(|(_, role)| role.takes_assignments()))
        .map(|m| AssigneeOption {
            id: m.to_string(),
            name: name_of(m),
            selected: t.assignee.as_ref() == Some(m),
        })
        .collect();
    let desk = s.desk();
    let scan_waiting = if detail
        .attachments
        .iter()
        .any(|a| desk.availability(a) == palisade_service::Availability::AwaitingScan)
    {
        Some(if desk.scanner_ready().await.is_ok() {
            crate::locale::word("scan-waiting")
        } else {
            crate::locale::word("scan-down")
        })
    } else {
        None
    };
    let page = TicketPage {
        scan_waiting,
        requester_unconfirmed: staff && !t.requester_confirmed,
        released_from_quarantine: staff
            && t.tags
                .iter()
                .any(|tag| tag.as_str() == palisade_mail::RELEASED_TAG),
        lookalike_sender: staff
            && t.tags
                .iter()
                .any(|tag| tag.as_str() == palisade_mail::LOOKALIKE_TAG),
        requester_bounces,
        redaction_notice,
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        id: t.id.to_string(),
        number: t.number,
        subject: t.subject.clone(),
        status: t.status.as_str(),
        requester: name_of(&t.requester),
        error,
        messages: detail
            .messages
            .iter()
            .map(|m| MessageRow {
                id: m.id.to_string(),
                author: name_of(&m.author),
                at: rfc3339(m.created_at.0),
                at_text: palisade_i18n::format_datetime(crate::locale::current(), m.created_at.0),
                visibility: m.visibility.as_str(),
                body: m.body.clone(),
                body_html: detail.html.get(&m.id).cloned(),
                provenance: provenances
                    .get(&m.id)
                    .and_then(|v| serde_json::from_slice(v).ok())
                    .map(|v| provenance(&v)),
                files: detail
                    .attachments
                    .iter()
                    .filter(|a| a.message.as_ref() == Some(&m.id))
                    .map(|a| AttachmentRow::new(a, desk.availability(a)))
                    .collect(),
            })
            .collect(),
        // Files uploaded on their own; a message's files are shown with it.
        attachments: detail
            .attachments
            .iter()
            .filter(|a| a.message.is_none())
            .map(|a| AttachmentRow::new(a, desk.availability(a)))
            .collect(),
        can_reply,
        can_note,
        can_attach: s.permits(caller, Action::TicketAttach, &resource),
        scanning: desk.scanning(),
        team_secure: staff && s.store.get_team(&t.team).await?.secure_delivery,
        unsent_files: detail
            .attachments
            .iter()
            // A blocked file never goes out, so it is not offered.
            .filter(|a| a.message.is_none() && a.uploader == caller.principal.user_id)
            .filter(|a| !matches!(desk.availability(a), palisade_service::Availability::Blocked(_)))
            .map(|a| (a.id.to_string(), a.filename.clone()))
            .collect(),
        following: if staff {
            Some(desk.follows(&caller.actor(), t).await?)
        } else {
            None
        },
        can_update,
        status_options: status_options(Some(t.status)),
        assignees,
        priority: t.priority.as_str(),
        ticket_type: t.ticket_type.map(TicketType::as_str),
        can_classify: s.permits(caller, Action::TicketClassify, &resource),
        priority_options: options(Priority::ALL, Priority::as_str, Some(t.priority)),
        type_options: options(TicketType::ALL, TicketType::as_str, t.ticket_type),
        version: t.version,
        presence: if staff {
            let others = desk.present_on_ticket(&caller.actor(), id, false).await?;
            Some(
                others
                    .iter()
                    .map(|c| {
                        let doing = crate::locale::text(if c.typing {
                            "presence-typing"
                        } else {
                            "presence-viewing"
                        });
                        crate::locale::text_with(
                            "presence-person",
                            &[("name", c.name.as_str().into()), ("other", doing.into())],
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        } else {
            None
        },
        relations: super::ticket_relations::Relations::of(s, caller, t).await?,
        fields: super::ticket_fields::TicketFields::of(s, caller, t).await?,
        targets: super::ticket_targets::Targets::of(s, caller, t).await?,
        rating: super::ticket_rating::Rating::of(s, caller, t).await?,
        macros: if staff && (can_reply || can_note) {
            super::macros::menu(s, caller).await?
        } else {
            Vec::new()
        },
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct ViewParams {
    /// Set by the redirect after writing: kinds of data that were removed.
    redacted: Option<String>,
}

pub async fn ticket_view(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ViewParams>,
) -> Result<Response, UiError> {
    let removed: Vec<&'static str> = q
        .redacted
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(palisade_assist::RedactionKind::parse)
        .map(palisade_assist::RedactionKind::describe)
        .collect();
    let notice = (!removed.is_empty()).then(|| {
        format!(
            "We removed {} from what you wrote, before it was stored or sent to anyone. \
             Support will never ask you for passwords, codes or full card numbers.",
            removed.join(", ")
        )
    });
    ticket_page_with(&s, &caller, &id, None, notice).await
}

/// Where to go after writing: the ticket, saying what redaction removed.
pub(super) fn ticket_location(id: &str, redacted: &[(palisade_assist::RedactionKind, usize)]) -> String {
    if redacted.is_empty() {
        return format!("/tickets/{id}");
    }
    let kinds: Vec<&str> = redacted.iter().map(|(k, _)| k.as_str()).collect();
    format!("/tickets/{id}?redacted={}", kinds.join(","))
}
