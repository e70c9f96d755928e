//! The REST API under `/api/v1`: JSON in and out, problem+json errors, cursor
//! pagination, and an OpenAPI 3.1 document generated from these handlers.

pub mod alerts;
pub mod articles;
pub mod assistant;
pub mod availability;
pub mod bulk;
pub mod confirmations;
pub mod contract;
pub mod devices;
pub mod dto;
pub mod extract;
pub mod fields;
pub mod macros;
pub mod mailboxes;
pub mod mfa;
pub mod notices;
pub mod notifications;
pub mod oauth_apps;
pub mod operations;
pub mod people;
pub mod presence;
pub mod privacy;
pub mod quarantine;
pub mod reports;
pub mod retention;
pub mod rules;
pub mod satisfaction;
pub mod service_levels;
pub mod session;
pub mod settings;
pub mod ticket_relations;
pub mod tickets;
pub mod tokens;
pub mod views;
pub mod webhooks;

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Palisade API", version = "1", description = "Help desk API. Authenticate with POST /api/v1/sessions and send the token as `Authorization: Bearer …`."),
    paths(
        session::sign_in, session::sign_out, session::me, session::set_language, session::audit_entries,
        tokens::list, tokens::create, tokens::revoke,
        mfa::second_factor, mfa::step_up, mfa::status, mfa::begin_totp, mfa::confirm_totp, mfa::remove_totp, mfa::change_password, session::request_password_reset,
        mfa::regenerate_recovery_codes, mfa::start_passkey_registration, mfa::finish_passkey_registration,
        mfa::list_passkeys, mfa::rename_passkey, mfa::remove_passkey, mfa::passkey_challenge,
        mfa::passkey_second_factor, mfa::passkey_step_up,
        quarantine::list, quarantine::get, quarantine::release, quarantine::discard,
        articles::search, articles::read, articles::list, articles::create, articles::get,
        articles::revise, articles::publish, articles::upload_file, articles::withdraw,
        alerts::list, operations::status,
        privacy::requests, privacy::erase, privacy::approve, privacy::decline,
        privacy::holds, privacy::place_hold, privacy::release_hold,
        privacy::export_for, privacy::export_mine, privacy::mine, privacy::link, privacy::download,
        notices::list, notices::mine,
        retention::overview, retention::set_schedule, retention::remove_schedule, retention::preview, retention::run,
        webhooks::list, webhooks::create, webhooks::get, webhooks::replace, webhooks::delete, webhooks::rotate_secret, webhooks::redeliver,
        oauth_apps::list, oauth_apps::register, oauth_apps::get, oauth_apps::replace, oauth_apps::delete, oauth_apps::rotate_secret,
        oauth_apps::my_grants, oauth_apps::revoke_my_grant,
        assistant::notice, assistant::start, assistant::get, assistant::message, assistant::handover,
        devices::list, devices::end, devices::end_other, devices::end_user_sessions, devices::disable, devices::change_role, devices::reset_second_factor,
        tickets::list, tickets::create, tickets::search, tickets::get, tickets::update, bulk::update,
        tickets::messages, tickets::add_message, tickets::set_tags,
        macros::list, macros::create, macros::replace, macros::delete, macros::apply,
        presence::announce, presence::stream,
        views::list, views::create, views::delete, views::tickets,
        tickets::add_collaborator, tickets::remove_collaborator,
        ticket_relations::merge, ticket_relations::links, ticket_relations::link, ticket_relations::unlink,
        settings::list, settings::change,
        fields::list, fields::create, fields::update, fields::archive, fields::ticket_fields, fields::set_ticket_fields,
        tickets::attachments, tickets::upload, tickets::download, tickets::preview, tickets::original,
        confirmations::confirm,
        notifications::list, notifications::mark_read, notifications::stream,
        notifications::preferences, notifications::set_preferences,
        notifications::follow, notifications::unfollow,
        people::list_customers, people::search_customers, people::merge_customers, people::create_customer, people::get_customer, people::update_customer,
        people::unmask_customer,
        people::list_staff, people::create_staff,
        people::list_teams, people::create_team, people::update_team, people::add_member, people::remove_member,
        mailboxes::list, mailboxes::route,
        service_levels::list_calendars, service_levels::create_calendar, service_levels::replace_calendar, service_levels::delete_calendar,
        service_levels::list_policies, service_levels::create_policy, service_levels::replace_policy, service_levels::delete_policy,
        service_levels::ticket_targets,
        rules::list, rules::create, rules::replace, rules::delete,
        availability::get, availability::set,
        satisfaction::get, satisfaction::rate,
        reports::report,
        people::list_companies, people::create_company, people::get_company, people::update_company,
    ),
    components(schemas(crate::Problem)),
    tags((name = "tickets"), (name = "attachments"), (name = "people"), (name = "auth"), (name = "audit"), (name = "help centre"), (name = "assistant"), (name = "notifications"), (name = "service levels"), (name = "automation"), (name = "reports"), (name = "privacy"), (name = "integrations"))
)]
pub struct ApiDoc;

/// The served document: what the handlers declare, completed with the answers every
/// route shares ([`contract::complete`]); built once.
pub async fn openapi() -> Json<serde_json::Value> {
    static DOCUMENT: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        contract::complete(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
    });
    Json(DOCUMENT.clone())
}
