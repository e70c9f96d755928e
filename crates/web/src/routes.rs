//! The complete route table. The router is built from it and nothing else, and the
//! permission-matrix test walks it, so a route cannot exist without being tested for
//! every role.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::{AppState, api, ui};

pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    /// Reachable without a session (sign-in, setup links, health, static assets).
    pub public: bool,
    handler: MethodRouter<AppState>,
}

fn r(method: Method, path: &'static str, public: bool, handler: MethodRouter<AppState>) -> RouteDef {
    RouteDef {
        method,
        path,
        public,
        handler,
    }
}

pub fn route_table(max_attachment_bytes: usize) -> Vec<RouteDef> {
    use Method as M;
    vec![
        // Public.
        r(M::GET, "/health", true, get(|| async { "ok" })),
        r(M::GET, "/api/v1/openapi.json", true, get(api::openapi)),
        r(M::POST, "/api/v1/sessions", true, post(api::session::sign_in)),
        r(M::GET, "/static/style.css", true, get(ui::assets::style)),
        r(
            M::GET,
            "/static/notifications.js",
            true,
            get(ui::assets::notifications_script),
        ),
        r(M::GET, "/static/times.js", true, get(ui::assets::times_script)),
        r(
            M::GET,
            "/static/presence.js",
            true,
            get(ui::assets::presence_script),
        ),
        r(
            M::GET,
            "/static/shortcuts.js",
            true,
            get(ui::assets::shortcuts_script),
        ),
        r(
            M::GET,
            palisade_html::REMOTE_IMAGE_PLACEHOLDER,
            true,
            get(ui::assets::remote_image),
        ),
        r(M::GET, "/", true, get(ui::pages::home)),
        r(M::GET, "/login", true, get(ui::pages::login_form)),
        r(M::POST, "/login", true, post(ui::pages::login_submit)),
        r(M::GET, "/login/reset", true, get(ui::pages::reset_form)),
        r(M::POST, "/login/reset", true, post(ui::pages::reset_submit)),
        r(
            M::POST,
            "/api/v1/password-resets",
            true,
            post(api::session::request_password_reset),
        ),
        r(M::GET, "/login/sso/{provider}", true, get(ui::sso::start)),
        r(
            M::GET,
            "/login/sso/{provider}/callback",
            true,
            get(ui::sso::callback),
        ),
        r(M::GET, "/welcome/{token}", true, get(ui::welcome::form)),
        r(M::POST, "/welcome/{token}", true, post(ui::welcome::submit)),
        r(M::GET, "/setup/{token}", true, get(ui::pages::setup_form)),
        r(M::POST, "/setup/{token}", true, post(ui::pages::setup_submit)),
        r(M::GET, "/confirm/{token}", true, get(ui::confirmation::form)),
        r(M::POST, "/confirm/{token}", true, post(ui::confirmation::submit)),
        r(
            M::POST,
            "/api/v1/ticket-confirmations",
            true,
            post(api::confirmations::confirm),
        ),
        // Authenticated API.
        r(
            M::DELETE,
            "/api/v1/sessions/current",
            false,
            delete(api::session::sign_out),
        ),
        r(
            M::POST,
            "/api/v1/sessions/current/second-factor",
            false,
            post(api::mfa::second_factor),
        ),
        r(
            M::POST,
            "/api/v1/sessions/current/step-up",
            false,
            post(api::mfa::step_up),
        ),
        r(M::GET, "/api/v1/me/mfa", false, get(api::mfa::status)),
        r(
            M::POST,
            "/api/v1/sessions/current/passkey-challenge",
            false,
            post(api::mfa::passkey_challenge),
        ),
        r(
            M::POST,
            "/api/v1/sessions/current/second-factor/passkey",
            false,
            post(api::mfa::passkey_second_factor),
        ),
        r(
            M::POST,
            "/api/v1/sessions/current/step-up/passkey",
            false,
            post(api::mfa::passkey_step_up),
        ),
        r(
            M::POST,
            "/api/v1/me/passkeys/registration",
            false,
            post(api::mfa::start_passkey_registration),
        ),
        r(M::GET, "/api/v1/me/passkeys", false, get(api::mfa::list_passkeys)),
        r(
            M::POST,
            "/api/v1/me/passkeys",
            false,
            post(api::mfa::finish_passkey_registration),
        ),
        r(
            M::PATCH,
            "/api/v1/me/passkeys/{id}",
            false,
            patch(api::mfa::rename_passkey),
        ),
        r(
            M::DELETE,
            "/api/v1/me/passkeys/{id}",
            false,
            delete(api::mfa::remove_passkey),
        ),
        r(
            M::POST,
            "/account/security/passkeys/{id}/remove",
            false,
            post(ui::security::remove_passkey),
        ),
        r(
            M::GET,
            "/static/passkey.js",
            true,
            get(ui::assets::passkey_script),
        ),
        r(
            M::GET,
            "/static/assistant-widget.js",
            true,
            get(crate::widget::script),
        ),
        r(M::POST, "/api/v1/me/mfa/totp", false, post(api::mfa::begin_totp)),
        r(
            M::DELETE,
            "/api/v1/me/mfa/totp",
            false,
            delete(api::mfa::remove_totp),
        ),
        r(
            M::POST,
            "/api/v1/me/password",
            false,
            post(api::mfa::change_password),
        ),
        r(
            M::POST,
            "/api/v1/me/mfa/totp/confirm",
            false,
            post(api::mfa::confirm_totp),
        ),
        r(
            M::POST,
            "/api/v1/me/mfa/recovery-codes",
            false,
            post(api::mfa::regenerate_recovery_codes),
        ),
        r(M::GET, "/api/v1/me", false, get(api::session::me)),
        r(M::GET, "/api/v1/quarantine", false, get(api::quarantine::list)),
        r(
            M::GET,
            "/api/v1/quarantine/{id}",
            false,
            get(api::quarantine::get),
        ),
        r(
            M::POST,
            "/api/v1/quarantine/{id}/release",
            false,
            post(api::quarantine::release),
        ),
        r(
            M::POST,
            "/api/v1/quarantine/{id}/discard",
            false,
            post(api::quarantine::discard),
        ),
        // The help centre: open to visitors, more for those signed in.
        r(M::GET, "/help", true, get(ui::help::index)),
        r(M::GET, "/help/{locale}/{slug}", true, get(ui::help::article)),
        r(M::GET, "/help/files/{id}", true, get(ui::help::file)),
        r(M::GET, "/api/v1/help/articles", true, get(api::articles::search)),
        r(
            M::GET,
            "/api/v1/help/articles/{id}",
            true,
            get(api::articles::read),
        ),
        // The assistant: open to visitors; a conversation is reached with its secret.
        r(
            M::GET,
            "/api/v1/assistant/notice",
            true,
            get(api::assistant::notice),
        ),
        r(
            M::POST,
            "/api/v1/assistant/conversations",
            true,
            post(api::assistant::start),
        ),
        r(
            M::GET,
            "/api/v1/assistant/conversations/{id}",
            true,
            get(api::assistant::get),
        ),
        r(
            M::POST,
            "/api/v1/assistant/conversations/{id}/messages",
            true,
            post(api::assistant::message),
        ),
        r(
            M::POST,
            "/api/v1/assistant/conversations/{id}/handover",
            true,
            post(api::assistant::handover),
        ),
        r(M::GET, "/assistant", true, get(ui::assistant::show)),
        r(M::POST, "/assistant/start", true, post(ui::assistant::start)),
        r(M::POST, "/assistant/messages", true, post(ui::assistant::message)),
        r(
            M::POST,
            "/assistant/handover",
            true,
            post(ui::assistant::handover),
        ),
        r(M::POST, "/assistant/end", true, post(ui::assistant::end)),
        r(M::GET, "/api/v1/security-alerts", false, get(api::alerts::list)),
        r(
            M::POST,
            "/api/v1/customers/{id}/unmask",
            false,
            post(api::people::unmask_customer),
        ),
        r(M::GET, "/admin/alerts", false, get(ui::alerts::list)),
        r(M::GET, "/admin/staff", false, get(ui::admin::staff)),
        r(M::POST, "/admin/staff", false, post(ui::admin::invite)),
        r(
            M::POST,
            "/admin/staff/{id}/end-sessions",
            false,
            post(ui::admin::end_sessions),
        ),
        r(
            M::POST,
            "/admin/staff/{id}/disable",
            false,
            post(ui::admin::disable),
        ),
        r(
            M::POST,
            "/admin/staff/{id}/role",
            false,
            post(ui::admin::change_role),
        ),
        r(M::GET, "/admin/companies", false, get(ui::admin::companies)),
        r(
            M::POST,
            "/admin/companies",
            false,
            post(ui::admin::create_company),
        ),
        r(M::GET, "/admin/teams", false, get(ui::admin::teams)),
        r(M::POST, "/admin/teams", false, post(ui::admin::create_team)),
        r(M::POST, "/admin/teams/{id}", false, post(ui::admin::save_team)),
        r(
            M::POST,
            "/admin/teams/{id}/members",
            false,
            post(ui::admin::add_member),
        ),
        r(
            M::POST,
            "/admin/teams/{id}/members/{user_id}/remove",
            false,
            post(ui::admin::remove_member),
        ),
        // Authoring articles.
        r(M::GET, "/api/v1/articles", false, get(api::articles::list)),
        r(M::POST, "/api/v1/articles", false, post(api::articles::create)),
        r(M::GET, "/api/v1/articles/{id}", false, get(api::articles::get)),
        r(M::PUT, "/api/v1/articles/{id}", false, put(api::articles::revise)),
        r(
            M::POST,
            "/api/v1/articles/{id}/files",
            false,
            post(api::articles::upload_file).layer(DefaultBodyLimit::max(max_attachment_bytes)),
        ),
        r(
            M::POST,
            "/api/v1/articles/{id}/publish",
            false,
            post(api::articles::publish),
        ),
        r(
            M::POST,
            "/api/v1/articles/{id}/withdraw",
            false,
            post(api::articles::withdraw),
        ),
        r(M::GET, "/articles", false, get(ui::articles::list)),
        r(M::GET, "/articles/new", false, get(ui::articles::new_form)),
        r(M::POST, "/articles", false, post(ui::articles::create)),
        r(M::GET, "/articles/{id}", false, get(ui::articles::edit_form)),
        r(M::POST, "/articles/{id}", false, post(ui::articles::save)),
        r(
            M::POST,
            "/articles/{id}/publish",
            false,
            post(ui::articles::publish),
        ),
        r(
            M::POST,
            "/articles/{id}/withdraw",
            false,
            post(ui::articles::withdraw),
        ),
        r(M::GET, "/quarantine", false, get(ui::quarantine::list)),
        r(M::GET, "/quarantine/{id}", false, get(ui::quarantine::item)),
        r(
            M::POST,
            "/quarantine/{id}/release",
            false,
            post(ui::quarantine::release),
        ),
        r(
            M::POST,
            "/quarantine/{id}/discard",
            false,
            post(ui::quarantine::discard),
        ),
        r(M::GET, "/api/v1/audit", false, get(api::session::audit_entries)),
        r(M::GET, "/api/v1/tickets", false, get(api::tickets::list)),
        r(M::POST, "/api/v1/tickets", false, post(api::tickets::create)),
        r(M::GET, "/api/v1/tickets/search", false, get(api::tickets::search)),
        r(M::POST, "/api/v1/tickets/bulk", false, post(api::bulk::update)),
        r(
            M::POST,
            "/api/v1/tickets/{id}/presence",
            false,
            post(api::presence::announce),
        ),
        r(
            M::GET,
            "/api/v1/tickets/{id}/presence/stream",
            false,
            get(api::presence::stream),
        ),
        r(M::GET, "/api/v1/views", false, get(api::views::list)),
        r(M::POST, "/api/v1/views", false, post(api::views::create)),
        r(M::DELETE, "/api/v1/views/{id}", false, delete(api::views::delete)),
        r(
            M::GET,
            "/api/v1/views/{id}/tickets",
            false,
            get(api::views::tickets),
        ),
        r(M::GET, "/api/v1/macros", false, get(api::macros::list)),
        r(M::POST, "/api/v1/macros", false, post(api::macros::create)),
        r(M::PUT, "/api/v1/macros/{id}", false, put(api::macros::replace)),
        r(
            M::DELETE,
            "/api/v1/macros/{id}",
            false,
            delete(api::macros::delete),
        ),
        r(
            M::POST,
            "/api/v1/tickets/{id}/macros/{macro_id}",
            false,
            post(api::macros::apply),
        ),
        r(M::GET, "/api/v1/tickets/{id}", false, get(api::tickets::get)),
        r(
            M::PATCH,
            "/api/v1/tickets/{id}",
            false,
            patch(api::tickets::update),
        ),
        r(
            M::GET,
            "/api/v1/tickets/{id}/messages",
            false,
            get(api::tickets::messages),
        ),
        r(
            M::POST,
            "/api/v1/tickets/{id}/messages",
            false,
            post(api::tickets::add_message),
        ),
        r(
            M::PUT,
            "/api/v1/tickets/{id}/tags",
            false,
            put(api::tickets::set_tags),
        ),
        r(
            M::POST,
            "/api/v1/tickets/{id}/collaborators",
            false,
            post(api::tickets::add_collaborator),
        ),
        r(
            M::DELETE,
            "/api/v1/tickets/{id}/collaborators/{user_id}",
            false,
            delete(api::tickets::remove_collaborator),
        ),
        r(
            M::GET,
            "/api/v1/tickets/{id}/attachments",
            false,
            get(api::tickets::attachments),
        ),
        r(
            M::POST,
            "/api/v1/tickets/{id}/attachments",
            false,
            post(api::tickets::upload).layer(DefaultBodyLimit::max(max_attachment_bytes)),
        ),
        r(
            M::GET,
            "/api/v1/attachments/{id}",
            false,
            get(api::tickets::download),
        ),
        r(
            M::GET,
            "/api/v1/messages/{id}/original",
            false,
            get(api::tickets::original),
        ),
        r(
            M::GET,
            "/api/v1/customers",
            false,
            get(api::people::list_customers),
        ),
        r(
            M::POST,
            "/api/v1/customers",
            false,
            post(api::people::create_customer),
        ),
        r(
            M::GET,
            "/api/v1/customers/{id}",
            false,
            get(api::people::get_customer),
        ),
        r(
            M::PATCH,
            "/api/v1/customers/{id}",
            false,
            patch(api::people::update_customer),
        ),
        r(M::GET, "/api/v1/agents", false, get(api::people::list_staff)),
        r(M::POST, "/api/v1/agents", false, post(api::people::create_staff)),
        r(
            M::GET,
            "/api/v1/notifications",
            false,
            get(api::notifications::list),
        ),
        r(
            M::POST,
            "/api/v1/notifications/read",
            false,
            post(api::notifications::mark_read),
        ),
        r(
            M::GET,
            "/api/v1/notifications/stream",
            false,
            get(api::notifications::stream),
        ),
        r(
            M::GET,
            "/api/v1/me/notification-preferences",
            false,
            get(api::notifications::preferences),
        ),
        r(
            M::PUT,
            "/api/v1/me/notification-preferences",
            false,
            put(api::notifications::set_preferences),
        ),
        r(
            M::PUT,
            "/api/v1/tickets/{id}/follow",
            false,
            put(api::notifications::follow),
        ),
        r(
            M::DELETE,
            "/api/v1/tickets/{id}/follow",
            false,
            delete(api::notifications::unfollow),
        ),
        r(M::GET, "/api/v1/teams", false, get(api::people::list_teams)),
        r(M::POST, "/api/v1/teams", false, post(api::people::create_team)),
        r(
            M::PATCH,
            "/api/v1/teams/{id}",
            false,
            patch(api::people::update_team),
        ),
        r(
            M::POST,
            "/api/v1/teams/{id}/members",
            false,
            post(api::people::add_member),
        ),
        r(
            M::DELETE,
            "/api/v1/teams/{id}/members/{user_id}",
            false,
            delete(api::people::remove_member),
        ),
        r(
            M::GET,
            "/api/v1/companies",
            false,
            get(api::people::list_companies),
        ),
        r(
            M::POST,
            "/api/v1/companies",
            false,
            post(api::people::create_company),
        ),
        r(
            M::GET,
            "/api/v1/companies/{id}",
            false,
            get(api::people::get_company),
        ),
        r(M::GET, "/api/v1/me/tokens", false, get(api::tokens::list)),
        r(M::POST, "/api/v1/me/tokens", false, post(api::tokens::create)),
        r(
            M::DELETE,
            "/api/v1/me/tokens/{id}",
            false,
            delete(api::tokens::revoke),
        ),
        r(M::GET, "/api/v1/me/sessions", false, get(api::devices::list)),
        r(
            M::DELETE,
            "/api/v1/me/sessions/{id}",
            false,
            delete(api::devices::end),
        ),
        r(
            M::POST,
            "/api/v1/me/sessions/end-others",
            false,
            post(api::devices::end_other),
        ),
        r(
            M::POST,
            "/api/v1/users/{id}/end-sessions",
            false,
            post(api::devices::end_user_sessions),
        ),
        r(
            M::POST,
            "/api/v1/users/{id}/disable",
            false,
            post(api::devices::disable),
        ),
        r(
            M::PUT,
            "/api/v1/users/{id}/role",
            false,
            put(api::devices::change_role),
        ),
        // Authenticated UI.
        r(M::POST, "/logout", false, post(ui::pages::logout)),
        r(
            M::GET,
            "/login/second-factor",
            false,
            get(ui::security::second_factor_form),
        ),
        r(
            M::POST,
            "/login/second-factor",
            false,
            post(ui::security::second_factor_submit),
        ),
        r(
            M::GET,
            "/account/security",
            false,
            get(ui::security::security_page),
        ),
        r(
            M::POST,
            "/account/security/totp",
            false,
            post(ui::security::begin_totp),
        ),
        r(
            M::GET,
            "/account/security/totp.svg",
            false,
            get(ui::security::totp_qr),
        ),
        r(
            M::POST,
            "/account/security/totp/confirm",
            false,
            post(ui::security::confirm_totp),
        ),
        r(
            M::POST,
            "/account/security/totp/remove",
            false,
            post(ui::security::remove_totp),
        ),
        r(
            M::POST,
            "/account/password",
            false,
            post(ui::security::change_password),
        ),
        r(
            M::POST,
            "/account/security/recovery-codes",
            false,
            post(ui::security::regenerate_recovery_codes),
        ),
        r(M::GET, "/account/step-up", false, get(ui::security::step_up_form)),
        r(
            M::POST,
            "/account/step-up",
            false,
            post(ui::security::step_up_submit),
        ),
        r(M::GET, "/devices", false, get(ui::devices::page)),
        r(M::POST, "/devices/{id}/end", false, post(ui::devices::end)),
        r(
            M::POST,
            "/devices/end-others",
            false,
            post(ui::devices::end_others),
        ),
        r(M::GET, "/notifications", false, get(ui::notifications::page)),
        r(
            M::POST,
            "/notifications/read",
            false,
            post(ui::notifications::mark_read),
        ),
        r(
            M::GET,
            "/account/notifications",
            false,
            get(ui::notifications::preferences),
        ),
        r(
            M::POST,
            "/account/notifications",
            false,
            post(ui::notifications::save),
        ),
        r(
            M::POST,
            "/tickets/{id}/follow",
            false,
            post(ui::notifications::follow),
        ),
        r(M::GET, "/tickets", false, get(ui::ticket_list::ticket_list)),
        r(M::POST, "/tickets", false, post(ui::pages::ticket_create)),
        r(M::POST, "/tickets/bulk", false, post(ui::bulk::submit)),
        r(M::POST, "/views", false, post(ui::saved_views::save)),
        r(
            M::POST,
            "/views/{id}/delete",
            false,
            post(ui::saved_views::delete),
        ),
        r(M::GET, "/macros", false, get(ui::macros::list)),
        r(M::POST, "/macros", false, post(ui::macros::create)),
        r(M::GET, "/macros/{id}", false, get(ui::macros::edit_form)),
        r(M::POST, "/macros/{id}", false, post(ui::macros::update)),
        r(M::POST, "/macros/{id}/delete", false, post(ui::macros::delete)),
        r(M::POST, "/tickets/{id}/macro", false, post(ui::macros::apply)),
        r(M::GET, "/tickets/{id}", false, get(ui::pages::ticket_view)),
        r(
            M::POST,
            "/tickets/{id}/messages",
            false,
            // Room for the files chosen in the form, and the form around them.
            post(ui::reply::ticket_reply).layer(DefaultBodyLimit::max(
                ui::reply::MAX_REPLY_FILES * max_attachment_bytes + 64 * 1024,
            )),
        ),
        r(
            M::POST,
            "/tickets/{id}/files",
            false,
            // The form's framing around the file needs a little room of its own.
            post(ui::files::ticket_attach).layer(DefaultBodyLimit::max(max_attachment_bytes + 16 * 1024)),
        ),
        r(
            M::POST,
            "/tickets/{id}/update",
            false,
            post(ui::ticket_update::ticket_update),
        ),
    ]
}

/// (method, path, public) of every route, for tests and documentation.
pub fn route_list() -> Vec<(Method, &'static str, bool)> {
    route_table(0)
        .into_iter()
        .map(|d| (d.method, d.path, d.public))
        .collect()
}

pub(crate) fn build(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for def in route_table(state.config.max_attachment_bytes) {
        router = router.route(def.path, def.handler);
    }
    router
}
