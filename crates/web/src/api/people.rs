use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{CompanyId, EmailAddress, Role, TeamId, UserId};
use palisade_policy::{Action, Resource, UserFacts};
use palisade_store::{Cursor, NewUser, UserKind};
use serde_json::json;

use super::dto::*;
use super::extract::{ApiJson, ApiQuery};
use crate::service::validate_text;
use crate::{AppError, AppState, Caller, Problem};

async fn list_users(
    s: &AppState,
    caller: &Caller,
    kind: UserKind,
    q: &ListQuery,
) -> Result<UserPage, AppError> {
    let action = match kind {
        UserKind::Customers => Action::ListCustomers,
        UserKind::Staff => Action::ListStaff,
    };
    s.authorize(caller, action, &Resource::Directory).await?;
    let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = s
        .store
        .list_users(
            kind,
            cursor.as_ref(),
            super::contract::page_limit(q.limit, 50, super::contract::MAX_PAGE)?,
        )
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
    let (user, _) = customer_for(&s, &caller, &id, Action::UserRead).await?;
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
    let (user, _) = customer_for(&s, &caller, &id, Action::UserUnmask).await?;
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let event = AuditEvent::new(AuditAction::PiiUnmasked, user.id.as_str(), Outcome::Success)
        .with_detail(serde_json::json!({ "fields": ["email", "phone"] }));
    s.store.audit(&caller.audit(), &event).await?;
    Ok(Json(UserView::from(&user)))
}

/// A customer the caller may act on. Someone who may not even read the customer learns
/// nothing, not even that the account exists.
async fn customer_for(
    s: &AppState,
    caller: &Caller,
    raw_id: &str,
    action: Action,
) -> Result<(palisade_store::UserRecord, Resource), AppError> {
    let id = UserId::parse(raw_id).map_err(|_| AppError::NotFound)?;
    let user = match s.store.get_user(&id).await {
        Ok(u) if u.role == Role::Customer => u,
        Ok(_) | Err(palisade_store::StoreError::NotFound) => {
            s.audit_denial(caller, Action::UserRead, id.as_str(), "not_found")
                .await?;
            return Err(AppError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    let teams = s.store.user_teams(&user.id).await?;
    let resource = Resource::User(UserFacts {
        id: user.id.clone(),
        role: user.role,
        company: user.company.clone(),
        teams,
    });
    s.authorize(caller, Action::UserRead, &resource)
        .await
        .map_err(|_| AppError::NotFound)?;
    if action != Action::UserRead {
        s.authorize(caller, action, &resource).await?;
    }
    Ok((user, resource))
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
    let (user, _) = customer_for(&s, &caller, &id, Action::UserUpdate).await?;
    let company = match req.company_id {
        Some(Some(c)) => Some(Some(company_to_join(&s, &caller, &c).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let update = palisade_store::ProfileUpdate {
        name: req.name.map(|n| validate_text("name", &n, 200)).transpose()?,
        phone: match req.phone {
            Some(p) => Some(optional_phone(p)?),
            None => None,
        },
        company,
    };
    let mut tx = s.store.begin().await?;
    s.store.update_profile(&mut tx, &user.id, &update).await?;
    let changed: Vec<&str> = [
        ("name", update.name.is_some()),
        ("phone", update.phone.is_some()),
        ("company", update.company.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, c)| c.then_some(f))
    .collect();
    let event = AuditEvent::new(AuditAction::UserUpdated, user.id.to_string(), Outcome::Success)
        .with_detail(json!({ "fields": changed }));
    s.store.append_audit(&mut tx, &caller.audit(), &event).await?;
    tx.commit().await?;
    Ok(Json(UserView::seen_by(
        &s.store.get_user(&user.id).await?,
        &caller.principal.user_id,
    )))
}

/// The company a customer is being placed in, if the caller may place people there.
/// Members of a company can read its shared tickets, so putting someone in one is
/// decided by Cedar (`company.add_member`), at creation exactly as when moving them.
async fn company_to_join(s: &AppState, caller: &Caller, company: &str) -> Result<CompanyId, AppError> {
    let company = CompanyId::parse(company)?;
    s.store
        .get_company(&company)
        .await
        .map_err(|_| AppError::Conflict("unknown company".into()))?;
    s.authorize(
        caller,
        Action::CompanyAddMember,
        &Resource::Company(company.clone()),
    )
    .await?;
    Ok(company)
}

fn optional_phone(phone: Option<String>) -> Result<Option<String>, AppError> {
    match phone {
        None => Ok(None),
        Some(p) => {
            let p = p.trim().to_owned();
            let ok = !p.is_empty()
                && p.len() <= 32
                && p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if ok {
                Ok(Some(p))
            } else {
                Err(AppError::BadRequest(
                    "phone must be digits, spaces and + - ( ) .".into(),
                ))
            }
        }
    }
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "people", request_body = CreateCustomerRequest,
    responses((status = 201, body = CreatedAccount), (status = 409, body = Problem)))]
pub async fn create_customer(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCustomerRequest>,
) -> Result<(StatusCode, Json<CreatedAccount>), AppError> {
    s.authorize(&caller, Action::CreateCustomer, &Resource::Directory)
        .await?;
    let company = match req.company_id.as_deref() {
        Some(c) => Some(company_to_join(&s, &caller, c).await?),
        None => None,
    };
    let new = NewUser {
        role: Role::Customer,
        email: EmailAddress::parse(&req.email)?,
        name: validate_text("name", &req.name, 200)?,
        phone: optional_phone(req.phone)?,
        company,
        password_hash: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(create_account(&s, &caller, &new, &[]).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "people", request_body = CreateStaffRequest,
    responses((status = 201, body = CreatedAccount), (status = 403, body = Problem)))]
pub async fn create_staff(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<CreatedAccount>), AppError> {
    s.authorize(&caller, Action::ManageStaff, &Resource::Directory)
        .await?;
    let role = Role::parse(&req.role)?;
    if role == Role::Customer {
        return Err(AppError::BadRequest("use /api/v1/customers for customers".into()));
    }
    let teams = req
        .team_ids
        .iter()
        .map(|t| TeamId::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    for t in &teams {
        s.store
            .get_team(t)
            .await
            .map_err(|_| AppError::Conflict("unknown team".into()))?;
    }
    let new = NewUser {
        role,
        email: EmailAddress::parse(&req.email)?,
        name: validate_text("name", &req.name, 200)?,
        phone: None,
        company: None,
        password_hash: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(create_account(&s, &caller, &new, &teams).await?),
    ))
}

async fn create_account(
    s: &AppState,
    caller: &Caller,
    new: &NewUser,
    teams: &[TeamId],
) -> Result<CreatedAccount, AppError> {
    let mut tx = s.store.begin().await?;
    let id = s.store.create_user(&mut tx, new).await?;
    for t in teams {
        s.store.add_team_member(&mut tx, t, &id).await?;
    }
    let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
        .with_detail(json!({ "role": new.role.as_str(), "teams": teams.iter().map(|t| t.to_string()).collect::<Vec<_>>() }));
    s.store.append_audit(&mut tx, &caller.audit(), &event).await?;
    if !new.role.is_staff() {
        s.identity
            .invite(&mut tx, &id, &new.email, &new.name, &caller.audit())
            .await?;
    }
    tx.commit().await?;
    let user = s.store.get_user(&id).await?;
    if new.role.is_staff() {
        let token = s.identity.issue_setup_link(&id, &caller.audit()).await?;
        Ok(CreatedAccount {
            user: UserView::from(&user),
            setup_path: Some(format!("/setup/{}", token.expose())),
            invitation_emailed: false,
        })
    } else {
        Ok(CreatedAccount {
            user: UserView::from(&user),
            setup_path: None,
            invitation_emailed: true,
        })
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
    s.authorize(&caller, Action::ManageTeams, &Resource::Directory)
        .await?;
    let name = validate_text("name", &req.name, 100)?;
    let mut tx = s.store.begin().await?;
    let id = s.store.create_team(&mut tx, &name).await?;
    s.store
        .append_audit(
            &mut tx,
            &caller.audit(),
            &AuditEvent::new(AuditAction::TeamCreated, id.to_string(), Outcome::Success),
        )
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamView::from(&s.store.get_team(&id).await?)),
    ))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "people", params(("id" = String, Path)),
    request_body = AddMemberRequest, responses((status = 204), (status = 403, body = Problem)))]
pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<StatusCode, AppError> {
    s.authorize(&caller, Action::ManageTeams, &Resource::Directory)
        .await?;
    let team = TeamId::parse(&id).map_err(|_| AppError::NotFound)?;
    s.store.get_team(&team).await?;
    let user = UserId::parse(&req.user_id)?;
    match s.store.get_user(&user).await {
        Ok(u) if u.role.is_staff() => {}
        _ => return Err(AppError::Conflict("team members must be existing staff".into())),
    }
    let mut tx = s.store.begin().await?;
    s.store.add_team_member(&mut tx, &team, &user).await?;
    let event = AuditEvent::new(AuditAction::TeamMemberAdded, team.to_string(), Outcome::Success)
        .with_detail(json!({ "user": user.to_string() }));
    s.store.append_audit(&mut tx, &caller.audit(), &event).await?;
    tx.commit().await?;
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

#[utoipa::path(post, path = "/api/v1/companies", tag = "people", request_body = CreateCompanyRequest,
    responses((status = 201, body = CompanyView), (status = 403, body = Problem)))]
pub async fn create_company(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCompanyRequest>,
) -> Result<(StatusCode, Json<CompanyView>), AppError> {
    s.authorize(&caller, Action::ManageCompanies, &Resource::Directory)
        .await?;
    let name = validate_text("name", &req.name, 200)?;
    let mut tx = s.store.begin().await?;
    let id = s.store.create_company(&mut tx, &name, req.share_tickets).await?;
    s.store
        .append_audit(
            &mut tx,
            &caller.audit(),
            &AuditEvent::new(AuditAction::CompanyCreated, id.to_string(), Outcome::Success),
        )
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CompanyView::from(&s.store.get_company(&id).await?)),
    ))
}
