//! The administration area's pages for staff and teams: what the admin API does,
//! through the same use cases ([`palisade_service::Desk`]), so the same policy decides
//! and the same audit entries are written. Only administrators reach them; for anyone
//! else they answer as the API does (403).

use super::filters;
use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Role, TeamId, UserId};
use palisade_service::ServiceError;
use palisade_store::StoreError;
use serde::Deserialize;

use super::{UiError, render};
use crate::{AppError, AppState, Caller};

struct Member {
    id: String,
    name: String,
    email: String,
}

struct TeamRow {
    id: String,
    name: String,
    secure_delivery: bool,
    notifications_with_text: bool,
    auto_assign: String,
    assign_cap: String,
    acknowledge: bool,
    satisfaction_survey: bool,
    /// (language tag, the team's own survey text in it or nothing)
    survey_texts: Vec<(&'static str, String)>,
    /// (language tag, the team's own acknowledgement in it or nothing)
    ack_texts: Vec<(&'static str, String)>,
    members: Vec<Member>,
    /// Staff not yet in the team, for the "add" list.
    candidates: Vec<Member>,
    /// Support addresses whose mail becomes this team's tickets.
    mailboxes: Vec<MailboxRow>,
}

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TeamsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    teams: Vec<TeamRow>,
    /// Every team, for moving a support address: id and name.
    choices: Vec<(String, String)>,
    notice: Option<&'static str>,
}

struct MailboxRow {
    address: String,
    /// Moved here on this page rather than by the file.
    changed: bool,
    /// The team the file names.
    file_team: String,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// What a redirect after a change tells the next page; unknown words say nothing.
fn notice_for(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => crate::locale::word("notice-team-created"),
        "saved" => crate::locale::word("notice-settings-saved"),
        "added" => crate::locale::word("notice-member-added"),
        "removed" => crate::locale::word("notice-member-removed"),
        "routed" => crate::locale::word("notice-mailbox-routed"),
        "invited" => crate::locale::word("notice-invited"),
        "ended" => crate::locale::word("notice-sessions-ended"),
        "disabled" => crate::locale::word("notice-staff-disabled"),
        "role" => crate::locale::word("notice-role-changed"),
        "factors" => crate::locale::word("notice-factors-reset"),
        _ => return None,
    })
}

pub async fn teams(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let directory = desk.team_directory(&actor).await?;
    let staff = desk.staff_directory(&actor).await?;
    let routes = crate::api::mailboxes::routes(&s, &caller).await?;
    let choices: Vec<(String, String)> = directory
        .iter()
        .map(|e| (e.team.id.to_string(), e.team.name.clone()))
        .collect();
    let teams = directory
        .into_iter()
        .map(|entry| {
            let members: Vec<Member> = entry
                .members
                .iter()
                .map(|u| Member {
                    id: u.id.to_string(),
                    name: u.name.clone(),
                    email: u.email.as_str().to_owned(),
                })
                .collect();
            let candidates = staff
                .iter()
                .filter(|m| !m.user.disabled && !m.teams.contains(&entry.team.id))
                .map(|m| Member {
                    id: m.user.id.to_string(),
                    name: m.user.name.clone(),
                    email: m.user.email.as_str().to_owned(),
                })
                .collect();
            TeamRow {
                id: entry.team.id.to_string(),
                name: entry.team.name.clone(),
                secure_delivery: entry.team.secure_delivery,
                notifications_with_text: entry.team.notifications_with_text,
                auto_assign: entry.team.auto_assign.clone(),
                assign_cap: entry.team.assign_cap.map(|c| c.to_string()).unwrap_or_default(),
                acknowledge: entry.team.acknowledge,
                satisfaction_survey: entry.team.satisfaction_survey,
                survey_texts: {
                    let own: std::collections::BTreeMap<String, String> =
                        serde_json::from_str(&entry.team.survey_texts).unwrap_or_default();
                    palisade_i18n::Locale::ALL
                        .iter()
                        .map(|l| (l.tag(), own.get(l.tag()).cloned().unwrap_or_default()))
                        .collect()
                },
                ack_texts: {
                    let own: std::collections::BTreeMap<String, String> =
                        serde_json::from_str(&entry.team.ack_texts).unwrap_or_default();
                    palisade_i18n::Locale::ALL
                        .iter()
                        .map(|l| (l.tag(), own.get(l.tag()).cloned().unwrap_or_default()))
                        .collect()
                },
                mailboxes: routes
                    .iter()
                    .filter(|r| r.team_id.as_deref() == Some(entry.team.id.as_str()))
                    .map(|r| MailboxRow {
                        address: r.address.clone(),
                        changed: r.changed,
                        file_team: r
                            .file_team_id
                            .as_deref()
                            .and_then(|id| choices.iter().find(|(i, _)| i == id))
                            .map(|(_, name)| name.clone())
                            .unwrap_or_default(),
                    })
                    .collect(),
                members,
                candidates,
            }
        })
        .collect();
    Ok(render(&TeamsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        teams,
        choices,
        notice: notice_for(q.done.as_deref()),
    }))
}

#[derive(Deserialize)]
pub struct RouteForm {
    address: String,
    /// Empty: back to the configuration file's team.
    team_id: String,
}

/// Sends a support address's mail to another team, or back to the file's.
pub async fn route_mailbox(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<RouteForm>,
) -> Result<Response, UiError> {
    s.desk().mailbox_routes(&caller.actor()).await?;
    let address = crate::api::mailboxes::support_address(&s, &form.address)?;
    let team = Some(form.team_id.trim()).filter(|t| !t.is_empty());
    s.desk().route_mailbox(&caller.actor(), &address, team).await?;
    Ok(Redirect::to("/admin/teams?done=routed").into_response())
}

#[derive(Deserialize)]
pub struct NewTeam {
    name: String,
}

pub async fn create_team(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<NewTeam>,
) -> Result<Response, UiError> {
    s.desk().create_team(&caller.actor(), &form.name).await?;
    Ok(Redirect::to("/admin/teams?done=created").into_response())
}

/// The settings form: a checkbox that is not ticked is not sent, so every setting the
/// form shows is set, on or off, each time it is saved. The acknowledgement's texts
/// come as `ack.<language>`.
pub async fn save_team(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let ticked = |name: &str| field(name).is_some_and(|v| !v.is_empty());
    let assign_cap = match field("assign_cap").unwrap_or_default() {
        "" | "0" => None,
        text => Some(
            text.parse()
                .map_err(|_| AppError::bad_request("refusal-assign-cap-form"))?,
        ),
    };
    let texts_of = |prefix: &str| {
        let texts: std::collections::BTreeMap<&str, &str> = form
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|tag| (tag, v.as_str())))
            .collect();
        serde_json::to_string(&texts).unwrap_or_else(|_| "{}".into())
    };
    s.desk()
        .update_team(
            &caller.actor(),
            &id,
            palisade_store::TeamSettings {
                secure_delivery: Some(ticked("secure_delivery")),
                notifications_with_text: Some(ticked("notifications_with_text")),
                auto_assign: Some(field("auto_assign").unwrap_or("off").to_owned()),
                assign_cap: Some(assign_cap),
                acknowledge: Some(ticked("acknowledge")),
                ack_texts: Some(texts_of("ack.")),
                satisfaction_survey: Some(ticked("satisfaction_survey")),
                survey_texts: Some(texts_of("survey.")),
            },
        )
        .await?;
    Ok(Redirect::to("/admin/teams?done=saved").into_response())
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: String,
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Response, UiError> {
    let user = UserId::parse(&form.user_id).map_err(AppError::from)?;
    s.desk().add_team_member(&caller.actor(), &id, &user).await?;
    Ok(Redirect::to("/admin/teams?done=added").into_response())
}

pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let user = UserId::parse(&user_id).map_err(|_| AppError::NotFound)?;
    s.desk().remove_team_member(&caller.actor(), &id, &user).await?;
    Ok(Redirect::to("/admin/teams?done=removed").into_response())
}

struct StaffRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    teams: String,
    disabled: bool,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "admin_staff.html")]
struct StaffPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    staff: Vec<StaffRow>,
    teams: Vec<(String, String)>,
    roles: &'static [(&'static str, &'static str)],
    notice: Option<&'static str>,
    /// Shown once, right after an invitation that could not be mailed.
    setup_link: Option<String>,
    error: Option<String>,
}

const STAFF_ROLES: &[(&str, &str)] = &[
    ("agent", "role-choice-agent"),
    ("light_agent", "role-choice-light_agent"),
    ("supervisor", "role-choice-supervisor"),
    ("auditor", "role-choice-auditor"),
    ("admin", "role-choice-admin"),
];

async fn staff_page(
    s: &AppState,
    caller: &Caller,
    notice: Option<&'static str>,
    setup_link: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let staff = desk.staff_directory(&actor).await?;
    let teams = desk.team_directory(&actor).await?;
    let team_names: HashMap<TeamId, String> = teams
        .iter()
        .map(|t| (t.team.id.clone(), t.team.name.clone()))
        .collect();
    let rows = staff
        .iter()
        .map(|m| StaffRow {
            id: m.user.id.to_string(),
            name: m.user.name.clone(),
            email: m.user.email.as_str().to_owned(),
            role: m.user.role.as_str(),
            teams: m
                .teams
                .iter()
                .filter_map(|t| team_names.get(t).cloned())
                .collect::<Vec<_>>()
                .join(", "),
            disabled: m.user.disabled,
            is_self: m.user.id == caller.principal.user_id,
        })
        .collect();
    let mut response = render(&StaffPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        staff: rows,
        teams: teams
            .iter()
            .map(|t| (t.team.id.to_string(), t.team.name.clone()))
            .collect(),
        roles: STAFF_ROLES,
        notice,
        setup_link,
        error,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn staff(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    staff_page(
        &s,
        &caller,
        notice_for(q.done.as_deref()),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// The invitation form: name, address, role and one `team` per ticked team (a
/// repeated field, hence pairs).
pub async fn invite(
    State(s): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let teams = fields
        .iter()
        .filter(|(k, _)| k == "team")
        .map(|(_, v)| TeamId::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::from)?;
    let role = Role::parse(&field("role")).map_err(AppError::from)?;
    let created = s
        .desk()
        .create_staff(
            &caller.actor(),
            palisade_service::NewStaff {
                role,
                email: field("email"),
                name: field("name"),
                teams,
            },
        )
        .await;
    match created {
        Ok(created) => match created.setup_link {
            // The mail could not go (no relay configured): the link is shown this once,
            // to be handed over by another channel.
            Some(token) => {
                let link = format!(
                    "{}/setup/{}",
                    s.config.public_origin.trim_end_matches('/'),
                    token.expose()
                );
                staff_page(
                    &s,
                    &caller,
                    Some(crate::locale::word("notice-account-created")),
                    Some(link),
                    None,
                    StatusCode::OK,
                )
                .await
            }
            None => Ok(Redirect::to("/admin/staff?done=invited").into_response()),
        },
        Err(ServiceError::Invalid(why) | ServiceError::Conflict(why)) => {
            staff_page(
                &s,
                &caller,
                None,
                None,
                Some(crate::locale::refusal(&why)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(ServiceError::Store(StoreError::Conflict)) => {
            let why = crate::locale::text("refusal-email-taken");
            staff_page(&s, &caller, None, None, Some(why), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn end_sessions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().end_sessions_of(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/staff?done=ended").into_response())
}

pub async fn disable(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().disable_account(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/staff?done=disabled").into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// Removes a colleague's second factors (a lost phone); asks the administrator to
/// prove who they are first when they have not just done so.
pub async fn reset_second_factor(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let fresh = palisade_identity::require_recent_auth(caller.session.as_ref()).is_ok();
    match s
        .desk()
        .require_new_second_factor(&caller.actor(), &id, fresh)
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/staff?done=factors").into_response()),
        Err(palisade_service::ServiceError::Identity(palisade_identity::IdentityError::StepUpRequired)) => {
            Ok(super::security::step_up_redirect("/admin/staff"))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn change_role(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, UiError> {
    let role = Role::parse(&form.role).map_err(AppError::from)?;
    s.desk().change_role(&caller.actor(), &id, role).await?;
    Ok(Redirect::to("/admin/staff?done=role").into_response())
}

#[derive(Template)]
#[template(path = "admin_companies.html")]
struct CompaniesPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    /// (id, name, shares tickets)
    companies: Vec<(String, String, bool)>,
    can_create: bool,
    created: bool,
    /// Just changed whether a company shares tickets.
    sharing_changed: bool,
}

pub async fn companies(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let companies = desk.companies(&caller.actor()).await?;
    Ok(render(&CompaniesPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        companies: companies
            .into_iter()
            .map(|c| (c.id.to_string(), c.name, c.share_tickets))
            .collect(),
        can_create: desk.permits(
            &caller.principal,
            palisade_policy::Action::ManageCompanies,
            &palisade_policy::Resource::Directory,
        ),
        created: q.done.as_deref() == Some("created"),
        sharing_changed: q.done.as_deref() == Some("sharing"),
    }))
}

#[derive(Deserialize)]
pub struct NewCompany {
    name: String,
    share_tickets: Option<String>,
}

pub async fn create_company(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<NewCompany>,
) -> Result<Response, UiError> {
    s.desk()
        .create_company(&caller.actor(), &form.name, form.share_tickets.is_some())
        .await?;
    Ok(Redirect::to("/admin/companies?done=created").into_response())
}

#[derive(Deserialize)]
pub struct SharingForm {
    share_tickets: String,
}

pub async fn company_sharing(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<SharingForm>,
) -> Result<Response, UiError> {
    let share = match form.share_tickets.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::bad_request("refusal-share-tickets").into()),
    };
    s.desk().set_company_sharing(&caller.actor(), &id, share).await?;
    Ok(Redirect::to("/admin/companies?done=sharing").into_response())
}
