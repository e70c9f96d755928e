//! The customers pages: staff who answer customers list them (contact details masked,
//! as everywhere), create one, and open one to change their name, phone or company or
//! (administrators) disable the account. The same use cases as `/api/v1/customers`.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_policy::{Action, Resource};
use palisade_service::{CustomerChange, NewCustomer, ServiceError};
use palisade_store::UserKind;
use serde::Deserialize;

use super::{UiError, render};
use crate::api::dto::UserView;
use crate::{AppState, Caller};

const PAGE_SIZE: u32 = 50;

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    customers: Vec<UserView>,
    /// Company names by id, for the list and the form.
    companies: Vec<(String, String)>,
    can_create: bool,
    /// Only supervisors and administrators place customers in a company.
    can_place: bool,
    next_cursor: Option<String>,
    /// The words searched for; empty for the whole list.
    query: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    customer: UserView,
    companies: Vec<(String, String)>,
    can_edit: bool,
    can_place: bool,
    can_disable: bool,
    /// Administrators erase customers and hold them from erasure (the privacy page).
    can_privacy: bool,
    /// Supervisors and administrators merge a duplicate into another customer.
    can_merge: bool,
    /// The words looked for among the customers to merge into, and what they found
    /// (this customer left out).
    merge_query: String,
    merge_candidates: Vec<UserView>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    cursor: Option<String>,
    done: Option<String>,
    /// Words of a name or address.
    q: Option<String>,
}

async fn company_names(s: &AppState, caller: &Caller) -> Result<Vec<(String, String)>, UiError> {
    let companies = s.desk().companies(&caller.actor()).await?;
    Ok(companies
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect())
}

fn may(s: &AppState, caller: &Caller, action: Action) -> bool {
    s.permits(caller, action, &Resource::Directory)
}

async fn list_page(
    s: &AppState,
    caller: &Caller,
    params: &ListParams,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    // A staff page: for anyone else it does not exist.
    desk.enter_workspace(&caller.actor()).await?;
    let query = params.q.as_deref().unwrap_or_default().trim().to_owned();
    let page = if query.is_empty() {
        desk.list_people(
            &caller.actor(),
            UserKind::Customers,
            params.cursor.as_deref(),
            PAGE_SIZE,
        )
        .await?
    } else {
        palisade_store::Page {
            items: s.find_customers(caller, &query, PAGE_SIZE).await?,
            next_cursor: None,
        }
    };
    Ok(render(&CustomersPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        customers: page
            .items
            .iter()
            .map(|u| UserView::seen_by(u, &caller.principal.user_id))
            .collect(),
        companies: company_names(s, caller).await?,
        can_create: may(s, caller, Action::CreateCustomer),
        can_place: may(s, caller, Action::ManageCompanies),
        next_cursor: page.next_cursor,
        query,
        notice,
        error,
    }))
}

pub async fn customers(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("created") => Some(crate::locale::word("notice-customer-created")),
        _ => None,
    };
    list_page(&s, &caller, &q, notice, None).await
}

/// Refusals the person can correct come back on the page with `status`.
fn correctable(error: ServiceError) -> Result<(String, StatusCode), UiError> {
    match error {
        ServiceError::Invalid(why) => Ok((crate::locale::refusal(&why), StatusCode::BAD_REQUEST)),
        ServiceError::Conflict(why) => Ok((crate::locale::refusal(&why), StatusCode::CONFLICT)),
        other => Err(other.into()),
    }
}

fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
pub struct NewCustomerForm {
    name: String,
    email: String,
    phone: Option<String>,
    company_id: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<NewCustomerForm>,
) -> Result<Response, UiError> {
    let new = NewCustomer {
        email: form.email,
        name: form.name,
        phone: given(form.phone),
        company: given(form.company_id),
    };
    match s.desk().create_customer(&caller.actor(), new).await {
        Ok(_) => Ok(Redirect::to("/customers?done=created").into_response()),
        Err(e) => {
            let (why, status) = correctable(e)?;
            let mut page = list_page(&s, &caller, &ListParams::default(), None, Some(why)).await?;
            *page.status_mut() = status;
            Ok(page)
        }
    }
}

async fn customer_page(
    s: &AppState,
    caller: &Caller,
    id: &str,
    merge_query: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    desk.enter_workspace(&actor).await?;
    let user = desk.customer_for(&actor, id, Action::UserRead).await?;
    let resource = desk.user_resource(&user.id).await?;
    let can_merge = !user.disabled && s.permits(caller, Action::UserMerge, &resource);
    let merge_query = merge_query.trim().to_owned();
    let merge_candidates = if can_merge && !merge_query.is_empty() {
        s.find_customers(caller, &merge_query, 20)
            .await?
            .iter()
            .filter(|c| c.id != user.id && !c.disabled)
            .map(|c| UserView::seen_by(c, &caller.principal.user_id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&CustomerPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        can_edit: !user.erased && s.permits(caller, Action::UserUpdate, &resource),
        can_disable: !user.disabled && s.permits(caller, Action::UserDisable, &resource),
        can_place: may(s, caller, Action::ManageCompanies),
        can_privacy: !user.erased && may(s, caller, Action::ManagePrivacy),
        customer: UserView::seen_by(&user, &caller.principal.user_id),
        companies: company_names(s, caller).await?,
        can_merge,
        merge_query,
        merge_candidates,
        notice,
        error,
    }))
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    /// Words of the customer to merge this one into.
    merge_q: Option<String>,
}

pub async fn customer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("saved") => Some(crate::locale::word("notice-saved")),
        Some("disabled") => Some(crate::locale::word("notice-customer-disabled")),
        Some("merged") => Some(crate::locale::word("notice-customers-merged")),
        _ => None,
    };
    customer_page(
        &s,
        &caller,
        &id,
        q.merge_q.as_deref().unwrap_or_default(),
        notice,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct CustomerForm {
    name: String,
    phone: Option<String>,
    /// Set when the form showed the number in clear: then an empty input removes it.
    /// A masked number is never in the form, so an empty input keeps it.
    phone_shown: Option<String>,
    /// Present only for those who may place customers in a company; empty for none.
    company_id: Option<String>,
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<CustomerForm>,
) -> Result<Response, UiError> {
    let change = CustomerChange {
        name: Some(form.name),
        phone: match (form.phone_shown, given(form.phone)) {
            (Some(_), phone) => Some(phone),
            (None, Some(phone)) => Some(Some(phone)),
            (None, None) => None,
        },
        company: form.company_id.map(|c| given(Some(c))),
    };
    match s.desk().update_customer(&caller.actor(), &id, change).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?done=saved")).into_response()),
        Err(e) => {
            let (why, status) = correctable(e)?;
            let mut page = customer_page(&s, &caller, &id, "", None, Some(why)).await?;
            *page.status_mut() = status;
            Ok(page)
        }
    }
}

pub async fn disable(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    // Only a customer is disabled here; staff accounts are the Staff page's.
    s.desk()
        .customer_for(&caller.actor(), &id, Action::UserDisable)
        .await?;
    s.desk().disable_account(&caller.actor(), &id).await?;
    Ok(Redirect::to(&format!("/customers/{id}?done=disabled")).into_response())
}

#[derive(Deserialize)]
pub struct MergeForm {
    into: String,
}

/// Merges this customer into the one picked from the search, and shows that one.
pub async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, UiError> {
    match s.desk().merge_customers(&caller.actor(), &id, &form.into).await {
        Ok((survivor, _)) => {
            Ok(Redirect::to(&format!("/customers/{}?done=merged", survivor.id)).into_response())
        }
        Err(e) => {
            let (why, status) = correctable(e)?;
            let mut page = customer_page(&s, &caller, &id, "", None, Some(why)).await?;
            *page.status_mut() = status;
            Ok(page)
        }
    }
}
