use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{CompanyId, Role, TeamId, UserId};
use palisade_policy::{Action, Resource};
use palisade_store::UserKind;

use super::dto::*;
use super::extract::{ApiJson, ApiQuery};
use crate::{AppError, AppState, Caller, Problem};

async fn list_users(
    s: &AppState,
    caller: &Caller,
    kind: UserKind,
    q: &ListQuery,
) -> Result<UserPage, AppError> {
    let limit = super::contract::page_limit(q.limit, 50, super::contract::MAX_PAGE)?;
    let page = s
        .desk()
        .list_people(&caller.actor(), kind, q.cursor.as_deref(), limit)
        .await?;
    Ok(UserPage {
        items: page
            .items
            .iter()
            .map(|u| UserView::seen_by(u, &caller.principal.user_id))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "people",
    params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
pub async fn list_customers(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<UserPage>, AppError> {
    Ok(Json(list_users(&s, &caller, UserKind::Customers, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/search", tag = "people",
    params(("q" = String, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
/// Customers whose name or address holds every word of `q` (whole words, any case);
/// contact details masked as in the list.
pub async fn search_customers(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<UserPage>, AppError> {
    let limit = super::contract::page_limit(q.limit, 20, super::contract::MAX_PAGE)?;
    let found = s.find_customers(&caller, &q.q, limit).await?;
    Ok(Json(UserPage {
        items: found
            .iter()
            .map(|u| UserView::seen_by(u, &caller.principal.user_id))
            .collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "people", params(("id" = String, Path)),
    request_body = MergeCustomersRequest,
    responses((status = 200, body = CustomersMerged), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
/// Merges the duplicate customer `id` into `into`: its tickets (re-sealed under the
/// survivor's key), participations and reply addresses move, mail from its address
/// arrives as the survivor's, and the duplicate is closed. Supervisors and administrators.
pub async fn merge_customers(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MergeCustomersRequest>,
) -> Result<Json<CustomersMerged>, AppError> {
    let (survivor, merged) = s.desk().merge_customers(&caller.actor(), &id, &req.into).await?;
    Ok(Json(CustomersMerged {
        survivor: UserView::seen_by(&survivor, &caller.principal.user_id),
        tickets: merged.tickets,
        participations: merged.participations,
    }))
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "people",
    params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
pub async fn list_staff(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<UserPage>, AppError> {
    Ok(Json(list_users(&s, &caller, UserKind::Staff, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn get_customer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, AppError> {
    let user = customer_for(&s, &caller, &id, Action::UserRead).await?;
    Ok(Json(UserView::seen_by(&user, &caller.principal.user_id)))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/unmask", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// A customer's contact details in clear: for staff who answer customers, after a
/// step-up within the last minutes, and recorded in the audit trail every time.
pub async fn unmask_customer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, AppError> {
    let user = customer_for(&s, &caller, &id, Action::UserUnmask).await?;
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let event = AuditEvent::new(AuditAction::PiiUnmasked, user.id.as_str(), Outcome::Success)
        .with_detail(serde_json::json!({ "fields": ["email", "phone"] }));
    s.store.audit(&caller.audit(), &event).await?;
    Ok(Json(UserView::from(&user)))
}

/// A customer the caller may act on (see [`palisade_service::Desk::customer_for`]).
async fn customer_for(
    s: &AppState,
    caller: &Caller,
    raw_id: &str,
    action: Action,
) -> Result<palisade_store::UserRecord, AppError> {
    Ok(s.desk().customer_for(&caller.actor(), raw_id, action).await?)
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "people", params(("id" = String, Path)),
    request_body = UpdateCustomerRequest,
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_customer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateCustomerRequest>,
) -> Result<Json<UserView>, AppError> {
    let user = s
        .desk()
        .update_customer(
            &caller.actor(),
            &id,
            palisade_service::CustomerChange {
                name: req.name,
                phone: req.phone,
                company: req.company_id,
            },
        )
        .await?;
    Ok(Json(UserView::seen_by(&user, &caller.principal.user_id)))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "people", request_body = CreateCustomerRequest,
    responses((status = 201, body = CreatedAccount), (status = 409, body = Problem)))]
pub async fn create_customer(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCustomerRequest>,
) -> Result<(StatusCode, Json<CreatedAccount>), AppError> {
    let created = s
        .desk()
        .create_customer(
            &caller.actor(),
            palisade_service::NewCustomer {
                email: req.email,
                name: req.name,
                phone: req.phone,
                company: req.company_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created_view(created))))
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "people", request_body = CreateStaffRequest,
    responses((status = 201, body = CreatedAccount), (status = 403, body = Problem)))]
pub async fn create_staff(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<CreatedAccount>), AppError> {
    let teams = req
        .team_ids
        .iter()
        .map(|t| TeamId::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let created = s
        .desk()
        .create_staff(
            &caller.actor(),
            palisade_service::NewStaff {
                role: Role::parse(&req.role)?,
                email: req.email,
                name: req.name,
                teams,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created_view(created))))
}

fn created_view(created: palisade_service::CreatedAccount) -> CreatedAccount {
    let invitation_emailed = created.setup_link.is_none();
    CreatedAccount {
        user: UserView::from(&created.user),
        setup_path: created
            .setup_link
            .map(|token| format!("/setup/{}", token.expose())),
        invitation_emailed,
    }
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "people", responses((status = 200, body = Vec<TeamView>)))]
pub async fn list_teams(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<TeamView>>, AppError> {
    s.authorize(&caller, Action::ListTeams, &Resource::Directory)
        .await?;
    Ok(Json(
        s.store.list_teams().await?.iter().map(TeamView::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "people", request_body = CreateTeamRequest,
    responses((status = 201, body = TeamView), (status = 403, body = Problem)))]
pub async fn create_team(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTeamRequest>,
) -> Result<(StatusCode, Json<TeamView>), AppError> {
    let team = s.desk().create_team(&caller.actor(), &req.name).await?;
    Ok((StatusCode::CREATED, Json(TeamView::from(&team))))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "people", params(("id" = String, Path)),
    request_body = UpdateTeamRequest,
    responses((status = 200, body = TeamView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn update_team(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateTeamRequest>,
) -> Result<Json<TeamView>, AppError> {
    let team = s
        .desk()
        .update_team(
            &caller.actor(),
            &id,
            palisade_store::TeamSettings {
                secure_delivery: req.secure_delivery,
                notifications_with_text: req.notifications_with_text,
                auto_assign: req.auto_assign,
                assign_cap: req.assign_cap.map(|cap| Some(cap).filter(|c| *c != 0)),
                acknowledge: req.acknowledge,
                ack_texts: req
                    .ack_texts
                    .map(|texts| serde_json::to_string(&texts).unwrap_or_else(|_| "{}".into())),
                satisfaction_survey: req.satisfaction_survey,
                survey_texts: req
                    .survey_texts
                    .map(|texts| serde_json::to_string(&texts).unwrap_or_else(|_| "{}".into())),
            },
        )
        .await?;
    Ok(Json(TeamView::from(&team)))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "people", params(("id" = String, Path)),
    request_body = AddMemberRequest, responses((status = 204), (status = 403, body = Problem)))]
pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<StatusCode, AppError> {
    let user = UserId::parse(&req.user_id)?;
    s.desk().add_team_member(&caller.actor(), &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "people",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let user = UserId::parse(&user_id).map_err(|_| AppError::NotFound)?;
    s.desk().remove_team_member(&caller.actor(), &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/companies", tag = "people", responses((status = 200, body = Vec<CompanyView>)))]
pub async fn list_companies(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CompanyView>>, AppError> {
    s.authorize(&caller, Action::ListCompanies, &Resource::Directory)
        .await?;
    Ok(Json(
        s.store
            .list_companies()
            .await?
            .iter()
            .map(CompanyView::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = CompanyView), (status = 404, body = Problem)))]
pub async fn get_company(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CompanyView>, AppError> {
    let id = CompanyId::parse(&id).map_err(|_| AppError::NotFound)?;
    s.authorize(&caller, Action::CompanyRead, &Resource::Company(id.clone()))
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(Json(CompanyView::from(&s.store.get_company(&id).await?)))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCompanyRequest {
    /// Whether the company's customers read each other's tickets in the portal.
    pub share_tickets: bool,
}

#[utoipa::path(patch, path = "/api/v1/companies/{id}", tag = "people", params(("id" = String, Path)),
    request_body = UpdateCompanyRequest,
    responses((status = 200, body = CompanyView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_company(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateCompanyRequest>,
) -> Result<Json<CompanyView>, AppError> {
    let company = s
        .desk()
        .set_company_sharing(&caller.actor(), &id, req.share_tickets)
        .await?;
    Ok(Json(CompanyView::from(&company)))
}

#[utoipa::path(post, path = "/api/v1/companies", tag = "people", request_body = CreateCompanyRequest,
    responses((status = 201, body = CompanyView), (status = 403, body = Problem)))]
pub async fn create_company(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCompanyRequest>,
) -> Result<(StatusCode, Json<CompanyView>), AppError> {
    let company = s
        .desk()
        .create_company(&caller.actor(), &req.name, req.share_tickets)
        .await?;
    Ok((StatusCode::CREATED, Json(CompanyView::from(&company))))
}
