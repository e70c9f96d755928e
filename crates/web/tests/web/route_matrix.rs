//! Walks the router's complete route table for every role and compares each outcome
//! with the expected allow/deny matrix. A route added without an expectation here fails
//! this test, so no route can reach production without an access decision on record.

use crate::common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, World};
use palisade_testkit::Backend;
use serde_json::json;

/// Columns: admin, supervisor, agent (team A), light agent (team A), auditor, customer
/// (requester of ticket 1). `Y` allowed (2xx/3xx), `-` refused (401/403/404),
/// `v` passes authorisation but the request is invalid for that role (400), `c` passes
/// authorisation but conflicts with the account's state (409; e.g. staff removing
/// their only second factor). Staff accounts have an authenticator app; customers none.
const MATRIX: &[(&str, &str)] = &[
    ("DELETE /api/v1/sessions/current", "YYYYYY"),
    ("GET /api/v1/me", "YYYYYY"),
    // Everyone chooses the language of their own pages.
    ("PUT /api/v1/me/language", "YYYYYY"),
    ("GET /account/language", "YYYYYY"),
    ("POST /account/language", "YYYYYY"),
    // Quarantined mail of team A: supervisors and team A's agents; everyone may list
    // (and sees only what they may review).
    ("GET /api/v1/quarantine", "YYYYYY"),
    ("GET /api/v1/quarantine/{id}", "YYY---"),
    ("POST /api/v1/quarantine/{id}/release", "YYY---"),
    ("POST /api/v1/quarantine/{id}/discard", "YYY---"),
    // The review pages: the same decisions; customers have no quarantine page.
    ("GET /quarantine", "YYYYY-"),
    ("GET /quarantine/{id}", "YYY---"),
    ("POST /quarantine/{id}/release", "YYY---"),
    ("POST /quarantine/{id}/discard", "YYY---"),
    // Writing help-centre articles: agents, supervisors and admins. Anyone may list
    // (and sees only what they may manage); the pages do not exist for customers.
    ("GET /api/v1/articles", "YYYYYY"),
    ("POST /api/v1/articles", "YYY---"),
    ("GET /api/v1/articles/{id}", "YYY---"),
    ("PUT /api/v1/articles/{id}", "YYY---"),
    ("POST /api/v1/articles/{id}/publish", "YYY---"),
    ("POST /api/v1/articles/{id}/files", "YYY---"),
    ("POST /api/v1/articles/{id}/withdraw", "YYY---"),
    ("GET /articles", "YYYYY-"),
    ("GET /articles/new", "YYY---"),
    ("POST /articles", "YYY---"),
    ("GET /articles/{id}", "YYY---"),
    ("POST /articles/{id}", "YYY---"),
    ("POST /articles/{id}/publish", "YYY---"),
    ("POST /articles/{id}/withdraw", "YYY---"),
    // A full session has no second factor left to give.
    ("POST /api/v1/sessions/current/second-factor", "cccccc"),
    ("POST /api/v1/sessions/current/step-up", "YYYYYY"),
    ("GET /api/v1/me/mfa", "YYYYYY"),
    // Nobody in the fixture has a passkey, and an empty body is not a WebAuthn answer.
    ("POST /api/v1/sessions/current/passkey-challenge", "cccccc"),
    ("POST /api/v1/sessions/current/second-factor/passkey", "vvvvvv"),
    ("POST /api/v1/sessions/current/step-up/passkey", "vvvvvv"),
    ("POST /api/v1/me/passkeys/registration", "YYYYYY"),
    ("GET /api/v1/me/passkeys", "YYYYYY"),
    ("POST /api/v1/me/passkeys", "vvvvvv"),
    ("PATCH /api/v1/me/passkeys/{id}", "------"),
    ("DELETE /api/v1/me/passkeys/{id}", "------"),
    ("POST /account/security/passkeys/{id}/remove", "------"),
    ("POST /api/v1/me/mfa/totp", "cccccY"),
    ("DELETE /api/v1/me/mfa/totp", "cccccc"),
    // Everyone may change their own password (fixture sessions are freshly signed in).
    ("POST /api/v1/me/password", "YYYYYY"),
    ("POST /api/v1/me/mfa/totp/confirm", "cccccc"),
    ("POST /api/v1/me/mfa/recovery-codes", "YYYYYc"),
    ("GET /login/second-factor", "YYYYYY"),
    ("POST /login/second-factor", "cccccc"),
    ("GET /account/security", "YYYYYY"),
    ("POST /account/security/totp", "cccccY"),
    // Nothing is being enrolled, so there is no QR code to draw.
    ("GET /account/security/totp.svg", "------"),
    ("POST /account/security/totp/confirm", "cccccc"),
    ("POST /account/security/totp/remove", "cccccc"),
    ("POST /account/password", "YYYYYY"),
    ("POST /account/security/recovery-codes", "YYYYYc"),
    ("GET /account/step-up", "YYYYYY"),
    ("POST /account/step-up", "YYYYYY"),
    ("GET /api/v1/audit", "Y---Y-"),
    // Security alerts: administrators and auditors.
    ("GET /api/v1/security-alerts", "Y---Y-"),
    ("GET /admin/alerts", "Y---Y-"),
    ("GET /api/v1/operations", "Y---Y-"),
    ("GET /admin/operations", "Y---Y-"),
    // Privacy requests (erasure) and legal holds: administrators.
    ("GET /api/v1/privacy/requests", "Y-----"),
    ("POST /api/v1/privacy/erasures", "Y-----"),
    ("POST /api/v1/privacy/requests/{id}/approve", "Y-----"),
    ("POST /api/v1/privacy/requests/{id}/decline", "Y-----"),
    ("GET /api/v1/privacy/holds", "Y-----"),
    ("POST /api/v1/privacy/holds", "Y-----"),
    ("POST /api/v1/privacy/holds/{id}/release", "Y-----"),
    // Retention schedules, their dry run and runs: administrators.
    ("GET /api/v1/privacy/retention", "Y-----"),
    ("PUT /api/v1/privacy/retention/schedules/{scope}", "Y-----"),
    ("DELETE /api/v1/privacy/retention/schedules/{scope}", "Y-----"),
    ("GET /api/v1/privacy/retention/preview", "Y-----"),
    ("POST /api/v1/privacy/retention/runs", "Y-----"),
    ("GET /admin/retention", "Y-----"),
    // Webhooks decide where the desk's data goes: administrators only.
    ("GET /api/v1/webhooks", "Y-----"),
    ("POST /api/v1/webhooks", "Y-----"),
    ("GET /api/v1/webhooks/{id}", "Y-----"),
    ("PUT /api/v1/webhooks/{id}", "Y-----"),
    ("DELETE /api/v1/webhooks/{id}", "Y-----"),
    ("POST /api/v1/webhooks/{id}/secret", "Y-----"),
    (
        "POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
        "Y-----",
    ),
    ("GET /admin/webhooks", "Y-----"),
    ("POST /admin/webhooks", "Y-----"),
    ("GET /admin/webhooks/{id}", "Y-----"),
    ("POST /admin/webhooks/{id}", "Y-----"),
    ("POST /admin/webhooks/{id}/secret", "Y-----"),
    ("POST /admin/webhooks/{id}/delete", "Y-----"),
    (
        "POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver",
        "Y-----",
    ),
    // OAuth applications: administrators register them; everyone sees and revokes
    // what they allowed (the fixture's grant is customer 1's).
    ("GET /api/v1/oauth/clients", "Y-----"),
    ("POST /api/v1/oauth/clients", "Y-----"),
    ("GET /api/v1/oauth/clients/{id}", "Y-----"),
    ("PUT /api/v1/oauth/clients/{id}", "Y-----"),
    ("DELETE /api/v1/oauth/clients/{id}", "Y-----"),
    ("POST /api/v1/oauth/clients/{id}/secret", "Y-----"),
    ("GET /admin/apps", "Y-----"),
    ("POST /admin/apps", "Y-----"),
    ("GET /admin/apps/{id}", "Y-----"),
    ("POST /admin/apps/{id}", "Y-----"),
    ("POST /admin/apps/{id}/secret", "Y-----"),
    ("POST /admin/apps/{id}/delete", "Y-----"),
    ("GET /api/v1/me/oauth/grants", "YYYYYY"),
    ("DELETE /api/v1/me/oauth/grants/{id}", "-----Y"),
    ("GET /account/apps", "YYYYYY"),
    ("POST /account/apps/{id}/revoke", "-----Y"),
    // Consent is a person's in a browser: a bearer credential (as here) never gives it
    // (tests/oauth.rs gives it with a session cookie).
    ("POST /oauth/authorize", "------"),
    ("POST /admin/retention/schedules", "Y-----"),
    ("POST /admin/retention/schedules/remove", "Y-----"),
    ("POST /admin/retention/run", "Y-----"),
    ("GET /admin/privacy", "Y-----"),
    ("POST /admin/privacy/erasures", "Y-----"),
    ("POST /admin/privacy/requests/{id}/approve", "Y-----"),
    ("POST /admin/privacy/requests/{id}/decline", "Y-----"),
    ("POST /admin/privacy/holds", "Y-----"),
    ("POST /admin/privacy/holds/{id}/release", "Y-----"),
    // Subject access: administrators for anyone; customers (and administrators, by
    // admin-all) for themselves; a link and its download only for the person or an
    // administrator (the fixture's export is customer 2's).
    ("POST /api/v1/privacy/exports", "Y-----"),
    ("POST /api/v1/me/privacy/exports", "Y----Y"),
    ("GET /api/v1/me/privacy/requests", "YYYYYY"),
    // Everyone reads their own choices about the assistant (staff have none).
    ("GET /api/v1/me/consents", "YYYYYY"),
    ("POST /api/v1/privacy/requests/{id}/link", "Y-----"),
    ("GET /api/v1/privacy/exports/{token}", "Y-----"),
    ("GET /account/privacy", "YYYYYY"),
    ("POST /account/privacy/export", "Y----Y"),
    ("POST /account/privacy/requests/{id}/download", "Y-----"),
    ("POST /admin/privacy/exports", "Y-----"),
    ("POST /admin/privacy/requests/{id}/download", "Y-----"),
    // The staff and teams pages: administrators only, like the API they stand for.
    ("GET /admin/staff", "Y-----"),
    ("POST /admin/staff", "Y-----"),
    ("POST /admin/staff/{id}/end-sessions", "Y-----"),
    ("POST /admin/staff/{id}/disable", "Y-----"),
    ("GET /admin/teams", "Y-----"),
    // Companies: listed by staff who answer customers, created by supervisors and admins.
    ("GET /admin/companies", "YYYY--"),
    ("POST /admin/companies", "YY----"),
    ("POST /admin/teams", "Y-----"),
    ("POST /admin/teams/{id}", "Y-----"),
    ("POST /admin/teams/{id}/members", "Y-----"),
    ("POST /admin/teams/{id}/members/{user_id}/remove", "Y-----"),
    ("GET /api/v1/tickets", "YYYY-Y"),
    ("POST /api/v1/tickets", "YYY--Y"),
    ("GET /api/v1/tickets/search", "YYYY-Y"),
    // Bulk changes are a staff tool; each ticket is then decided on its own and the
    // answer says which were changed (the light agent's and auditor's: none).
    ("POST /api/v1/tickets/bulk", "YYYYY-"),
    ("POST /tickets/bulk", "YYYYY-"),
    // Macros: staff list what they may use; agents and supervisors write their own,
    // supervisors (and admins) the shared ones; applying one needs the macro and every
    // change it makes on the ticket.
    ("GET /api/v1/macros", "YYYYY-"),
    ("POST /api/v1/macros", "YYY---"),
    ("PUT /api/v1/macros/{id}", "YY----"),
    ("DELETE /api/v1/macros/{id}", "YY----"),
    ("POST /api/v1/tickets/{id}/macros/{macro_id}", "YYY---"),
    ("GET /macros", "YYYYY-"),
    ("POST /macros", "YYY---"),
    ("GET /macros/{id}", "YY----"),
    ("POST /macros/{id}", "YY----"),
    ("POST /macros/{id}/delete", "YY----"),
    ("POST /tickets/{id}/macro", "YYY---"),
    // Saved views: staff keep their own (auditors work no tickets); shared ones are
    // their team's, written by supervisors.
    ("GET /api/v1/views", "YYYYY-"),
    ("POST /api/v1/views", "YYYY--"),
    ("DELETE /api/v1/views/{id}", "YY----"),
    ("GET /api/v1/views/{id}/tickets", "YYYY--"),
    ("POST /views", "YYYY--"),
    ("POST /views/{id}/delete", "YY----"),
    // Who else is on a ticket: staff who read its internal side.
    ("POST /api/v1/tickets/{id}/presence", "YYYY--"),
    ("GET /api/v1/tickets/{id}/presence/stream", "YYYY--"),
    ("GET /api/v1/tickets/{id}", "YYYY-Y"),
    ("PATCH /api/v1/tickets/{id}", "YYY---"),
    ("GET /api/v1/tickets/{id}/messages", "YYYY-Y"),
    ("POST /api/v1/tickets/{id}/messages", "YYY--Y"),
    ("PUT /api/v1/tickets/{id}/tags", "YYY---"),
    ("POST /api/v1/tickets/{id}/collaborators", "YYY---"),
    ("DELETE /api/v1/tickets/{id}/collaborators/{user_id}", "YYY---"),
    // Merging ticket 1 into (and linking it with) team B's ticket 3: both tickets must
    // be the caller's to change, so only supervisors and admins.
    ("POST /api/v1/tickets/{id}/merge", "YY----"),
    ("GET /api/v1/tickets/{id}/links", "YYYY-Y"),
    ("PUT /api/v1/tickets/{id}/links/{other_id}", "YY----"),
    ("DELETE /api/v1/tickets/{id}/links/{other_id}", "YY----"),
    ("POST /tickets/{id}/merge", "YY----"),
    // Custom fields: administrators define them; whoever changes a ticket fills them
    // in; everyone lists those they may see.
    // The desk's runtime settings: administrators only.
    // Which team a support address delivers to: administrators.
    ("GET /api/v1/mailboxes", "Y-----"),
    ("PUT /api/v1/mailboxes/{address}", "Y-----"),
    ("POST /admin/mailboxes", "Y-----"),
    // Service levels: administrators define them; staff who read a ticket see its
    // targets (customers never).
    ("GET /api/v1/calendars", "Y-----"),
    ("POST /api/v1/calendars", "Y-----"),
    ("PUT /api/v1/calendars/{id}", "Y-----"),
    ("DELETE /api/v1/calendars/{id}", "Y-----"),
    ("GET /api/v1/sla-policies", "Y-----"),
    ("POST /api/v1/sla-policies", "Y-----"),
    ("PUT /api/v1/sla-policies/{id}", "Y-----"),
    ("DELETE /api/v1/sla-policies/{id}", "Y-----"),
    ("GET /api/v1/tickets/{id}/service-levels", "YYYY--"),
    // A ticket's satisfaction: read by its readers, given by its requester (ticket 1
    // is open: everyone allowed is refused as a conflict until it is solved).
    ("GET /api/v1/tickets/{id}/satisfaction", "YYYY-Y"),
    ("PUT /api/v1/tickets/{id}/satisfaction", "-----c"),
    ("POST /tickets/{id}/rating", "-----c"),
    // Reports: supervisors and administrators.
    ("GET /api/v1/reports", "YY----"),
    ("GET /reports", "YY----"),
    ("GET /reports/export", "YY----"),
    // Whether you take tickets automatically: everyone in the staff workspace.
    ("GET /api/v1/me/availability", "YYYYY-"),
    ("PUT /api/v1/me/availability", "YYYYY-"),
    ("POST /account/availability", "YYYYY-"),
    // Triggers and automations: administrators only.
    ("GET /api/v1/rules", "Y-----"),
    ("POST /api/v1/rules", "Y-----"),
    ("PUT /api/v1/rules/{id}", "Y-----"),
    ("DELETE /api/v1/rules/{id}", "Y-----"),
    ("GET /admin/rules", "Y-----"),
    ("POST /admin/rules", "Y-----"),
    ("GET /admin/rules/{id}", "Y-----"),
    ("POST /admin/rules/{id}", "Y-----"),
    ("POST /admin/rules/{id}/delete", "Y-----"),
    ("GET /admin/service-levels", "Y-----"),
    ("POST /admin/service-levels/calendars", "Y-----"),
    ("POST /admin/service-levels/calendars/{id}", "Y-----"),
    ("POST /admin/service-levels/calendars/{id}/delete", "Y-----"),
    ("POST /admin/service-levels/policies", "Y-----"),
    ("POST /admin/service-levels/policies/{id}", "Y-----"),
    ("POST /admin/service-levels/policies/{id}/delete", "Y-----"),
    ("GET /api/v1/settings", "Y-----"),
    ("PUT /api/v1/settings", "Y-----"),
    ("GET /admin/settings", "Y-----"),
    ("POST /admin/settings", "Y-----"),
    ("GET /api/v1/fields", "YYYYYY"),
    ("POST /api/v1/fields", "Y-----"),
    ("PATCH /api/v1/fields/{id}", "Y-----"),
    ("DELETE /api/v1/fields/{id}", "Y-----"),
    ("GET /api/v1/tickets/{id}/fields", "YYYY-Y"),
    ("PUT /api/v1/tickets/{id}/fields", "YYY---"),
    ("POST /tickets/{id}/fields", "YYY---"),
    ("GET /admin/fields", "Y-----"),
    ("POST /admin/fields", "Y-----"),
    ("POST /admin/fields/{id}", "Y-----"),
    ("POST /admin/fields/{id}/archive", "Y-----"),
    ("POST /tickets/{id}/links", "YY----"),
    ("POST /tickets/{id}/links/{other_id}/delete", "YY----"),
    ("GET /api/v1/tickets/{id}/attachments", "YYYY-Y"),
    ("POST /api/v1/tickets/{id}/attachments", "YYY--Y"),
    ("GET /api/v1/attachments/{id}", "YYYY-Y"),
    ("GET /api/v1/attachments/{id}/preview", "YYYY-Y"),
    // A mail message as it arrived: those who read the ticket's internal side.
    ("GET /api/v1/messages/{id}/original", "YYYY--"),
    ("GET /api/v1/customers", "YYYY--"),
    ("GET /api/v1/customers/search", "YYYY--"),
    ("POST /api/v1/customers", "YYY---"),
    ("GET /api/v1/customers/{id}", "YYYY-Y"),
    ("PATCH /api/v1/customers/{id}", "YY----"),
    // Contact details in clear: staff who answer customers, freshly signed in.
    ("POST /api/v1/customers/{id}/unmask", "YYY---"),
    // Merging duplicate customers: supervisors and administrators.
    ("POST /api/v1/customers/{id}/merge", "YY----"),
    ("GET /api/v1/agents", "YYYY--"),
    ("POST /api/v1/agents", "Y-----"),
    ("GET /api/v1/teams", "YYYY--"),
    ("POST /api/v1/teams", "Y-----"),
    ("POST /api/v1/teams/{id}/members", "Y-----"),
    ("PATCH /api/v1/teams/{id}", "Y-----"),
    ("DELETE /api/v1/teams/{id}/members/{user_id}", "Y-----"),
    ("GET /api/v1/companies", "YYYY--"),
    ("POST /api/v1/companies", "YY----"),
    ("GET /api/v1/companies/{id}", "YYYY-Y"),
    // Whether a company's customers read each other's tickets: supervisors and admins.
    ("PATCH /api/v1/companies/{id}", "YY----"),
    ("POST /admin/companies/{id}/sharing", "YY----"),
    // The customers pages: staff who answer customers list and open them; agents
    // create them; supervisors change them; administrators disable them.
    ("GET /customers", "YYYY--"),
    ("POST /customers", "YYY---"),
    ("GET /customers/{id}", "YYYY--"),
    ("POST /customers/{id}", "YY----"),
    ("POST /customers/{id}/disable", "Y-----"),
    ("POST /customers/{id}/merge", "YY----"),
    ("GET /api/v1/me/tokens", "YYYYYY"),
    ("POST /api/v1/me/tokens", "YYYYYY"),
    ("DELETE /api/v1/me/tokens/{id}", "YYYYYY"),
    ("GET /api/v1/me/sessions", "YYYYYY"),
    ("DELETE /api/v1/me/sessions/{id}", "YYYYYY"),
    ("POST /api/v1/me/sessions/end-others", "YYYYYY"),
    ("POST /api/v1/users/{id}/end-sessions", "Y-----"),
    ("POST /api/v1/users/{id}/disable", "Y-----"),
    ("PUT /api/v1/users/{id}/role", "Y-----"),
    // Requiring a colleague's new second factor: administrators, freshly signed in.
    ("POST /api/v1/users/{id}/second-factor-reset", "Y-----"),
    ("POST /admin/staff/{id}/reset-second-factor", "Y-----"),
    ("POST /admin/staff/{id}/role", "Y-----"),
    ("POST /logout", "YYYYYY"),
    ("GET /devices", "YYYYYY"),
    ("POST /devices/{id}/end", "YYYYYY"),
    ("POST /devices/end-others", "YYYYYY"),
    ("GET /tickets", "YYYY-Y"),
    // The UI opens tickets in the caller's own name, which only customers have.
    ("POST /tickets", "ccc--Y"),
    ("GET /tickets/{id}", "YYYY-Y"),
    ("POST /tickets/{id}/messages", "YYY--Y"),
    ("POST /tickets/{id}/update", "YYY---"),
    ("POST /tickets/{id}/files", "YYY--Y"),
    // Everyone has their own notifications (customers never get any) and preferences;
    // following a ticket is for staff who read its internal side.
    ("GET /api/v1/notifications", "YYYYYY"),
    ("POST /api/v1/notifications/read", "YYYYYY"),
    ("GET /api/v1/notifications/stream", "YYYYYY"),
    ("GET /api/v1/me/notification-preferences", "YYYYYY"),
    ("PUT /api/v1/me/notification-preferences", "YYYYYY"),
    ("PUT /api/v1/tickets/{id}/follow", "YYYY--"),
    ("DELETE /api/v1/tickets/{id}/follow", "YYYY--"),
    ("GET /notifications", "YYYYYY"),
    ("POST /notifications/read", "YYYYYY"),
    ("GET /account/notifications", "YYYYYY"),
    ("POST /account/notifications", "YYYYYY"),
    ("POST /tickets/{id}/follow", "YYYY--"),
];

const PUBLIC: &[&str] = &[
    "GET /health",
    "GET /health/live",
    "GET /health/ready",
    "GET /api/v1/openapi.json",
    "POST /api/v1/sessions",
    "GET /static/style.css",
    "GET /static/remote-image.svg",
    "GET /static/notifications.js",
    "GET /static/times.js",
    "GET /static/presence.js",
    "GET /static/shortcuts.js",
    "GET /static/passkey.js",
    "GET /static/assistant-widget.js",
    "GET /",
    "GET /login",
    "POST /login",
    "GET /login/reset",
    "POST /login/reset",
    "POST /api/v1/password-resets",
    "GET /login/sso/{provider}",
    "GET /login/sso/{provider}/callback",
    "GET /welcome/{token}",
    "POST /welcome/{token}",
    "GET /setup/{token}",
    "POST /setup/{token}",
    "GET /confirm/{token}",
    "POST /confirm/{token}",
    "POST /api/v1/ticket-confirmations",
    // Survey links (tests/satisfaction.rs checks what a link reveals and that it works once).
    "GET /rate/{token}",
    "POST /rate/{token}",
    // The help centre (tests/help_centre.rs checks who sees which article).
    "GET /help",
    "GET /help/{locale}/{slug}",
    "GET /api/v1/help/articles",
    "GET /help/files/{id}",
    "GET /api/v1/help/articles/{id}",
    // The assistant (tests/assistant.rs checks who reaches which conversation).
    "GET /api/v1/assistant/notice",
    // Every version of the assistant's notice: the same words for everyone.
    "GET /api/v1/notices",
    "GET /privacy/notices",
    "GET /privacy/notices/{version}",
    "POST /api/v1/assistant/conversations",
    "GET /api/v1/assistant/conversations/{id}",
    "POST /api/v1/assistant/conversations/{id}/messages",
    "POST /api/v1/assistant/conversations/{id}/handover",
    "GET /assistant",
    // OAuth 2.0 (tests/oauth.rs): the consent page asks a visitor to sign in; the other
    // endpoints authenticate the application, never a person.
    "GET /oauth/authorize",
    "POST /oauth/token",
    "POST /oauth/revoke",
    "POST /oauth/introspect",
    "GET /.well-known/oauth-authorization-server",
    "POST /assistant/start",
    "POST /assistant/messages",
    "POST /assistant/handover",
    "POST /assistant/end",
];

enum Payload {
    None,
    Json(serde_json::Value),
    Form(&'static str),
    FormOwned(String),
    Bytes(&'static str),
    /// A `multipart/form-data` body with one file, as the ticket page's form sends it.
    Multipart(&'static str),
}

/// A concrete request for a route template, valid for the role that is allowed it.
fn request_for(w: &World, key: &str, n: usize) -> (String, Payload) {
    let (_, template) = key.split_once(' ').unwrap();
    let id = if template.ends_with("/preview") {
        w.public_image.clone()
    } else if template.starts_with("/api/v1/attachments/") {
        w.public_attachment.clone()
    } else if template.starts_with("/api/v1/messages/") {
        w.mail_message.clone()
    } else if (template.ends_with("/role") || template.ends_with("/second-factor-reset"))
        && template.starts_with("/api/v1/users/")
    {
        w.agent_b.id.to_string()
    } else if template.starts_with("/api/v1/customers/")
        || template.starts_with("/api/v1/users/")
        || template.starts_with("/customers/")
    {
        if template.starts_with("/api/v1/users/") {
            w.customer_2.id.to_string()
        } else {
            w.customer_1.id.to_string()
        }
    } else if template.starts_with("/api/v1/teams/") || template.starts_with("/admin/teams/") {
        w.team_a.to_string()
    } else if template.starts_with("/admin/staff/") {
        w.agent_b.id.to_string()
    } else if template.starts_with("/api/v1/companies/") || template.starts_with("/admin/companies/") {
        w.sharing_company.to_string()
    } else if template.starts_with("/api/v1/quarantine/") || template.starts_with("/quarantine/") {
        w.quarantined.clone()
    } else if template.starts_with("/api/v1/views/") || template.starts_with("/views/") {
        w.shared_view.clone()
    } else if template.starts_with("/api/v1/fields/") || template.starts_with("/admin/fields/") {
        w.plan_field.clone()
    } else if template.starts_with("/api/v1/macros/") || template.starts_with("/macros/") {
        w.shared_macro.clone()
    } else if template.starts_with("/api/v1/calendars/")
        || template.starts_with("/admin/service-levels/calendars/")
    {
        w.calendar.clone()
    } else if template.starts_with("/api/v1/sla-policies/")
        || template.starts_with("/admin/service-levels/policies/")
    {
        w.sla_policy.clone()
    } else if template.starts_with("/api/v1/rules/") || template.starts_with("/admin/rules/") {
        w.rule.clone()
    } else if template.starts_with("/api/v1/articles/") || template.starts_with("/articles/") {
        w.article.clone()
    } else if template.starts_with("/api/v1/webhooks/") || template.starts_with("/admin/webhooks/") {
        w.webhook.clone()
    } else if template.starts_with("/api/v1/oauth/clients/") || template.starts_with("/admin/apps/") {
        w.oauth_client.clone()
    } else if template.starts_with("/api/v1/me/oauth/grants/") || template.starts_with("/account/apps/") {
        w.oauth_grant.clone()
    } else {
        w.ticket_1.clone()
    };
    // A team's member is team A's agent; a ticket's collaborator, the second customer.
    let user_id = if template.contains("/teams/") {
        w.agent_a.id.to_string()
    } else {
        w.customer_2.id.to_string()
    };
    let path = template
        .replace("{id}", &id)
        .replace("{user_id}", &user_id)
        .replace("{macro_id}", &w.shared_macro)
        .replace("{other_id}", &w.ticket_3)
        .replace("{address}", "help@desk.test")
        .replace("{scope}", "desk")
        .replace("{delivery}", &w.webhook_delivery)
        .replace("{version}", palisade_assist::assistant::NOTICE_VERSION);
    let path = if template == "/api/v1/reports" {
        format!("{path}?from=2026-11-01&to=2026-11-30")
    } else {
        path
    };
    let payload = match key {
        "POST /api/v1/tickets" => Payload::Json(
            json!({"subject": "Matrix", "body": "hello", "requester_id": w.customer_1.id.to_string()}),
        ),
        "PATCH /api/v1/tickets/{id}" => Payload::Json(json!({"status": "open"})),
        "POST /api/v1/tickets/{id}/messages" => {
            Payload::Json(json!({"body": "reply", "visibility": "public"}))
        }
        "PUT /api/v1/tickets/{id}/tags" => Payload::Json(json!({"tags": ["billing"]})),
        "POST /api/v1/tickets/{id}/merge" => Payload::Json(json!({"into": w.ticket_3})),
        "POST /api/v1/fields" => Payload::Json(json!({"key": "region", "label": "Region", "kind": "text"})),
        "PUT /api/v1/settings" => Payload::Json(json!({"values": {"organisation_name": "Acme"}})),
        "POST /api/v1/calendars" | "PUT /api/v1/calendars/{id}" => Payload::Json(json!({
            "name": format!("Calendar {n}"), "time_zone": "Europe/Berlin",
            "periods": [{"day": "tue", "from": "08:00", "to": "12:00"}], "holidays": [{"every_year": "12-25"}]
        })),
        "POST /api/v1/sla-policies" | "PUT /api/v1/sla-policies/{id}" => Payload::Json(json!({
            "name": format!("Policy {n}"), "position": 5, "conditions": {"priorities": ["high"]},
            "first_response_minutes": 60
        })),
        "POST /admin/service-levels/calendars" | "POST /admin/service-levels/calendars/{id}" => {
            Payload::FormOwned(format!(
                "name=Calendar+{n}&time_zone=UTC&hours=wed+09%3A00-17%3A00&holidays=2026-12-24"
            ))
        }
        "POST /admin/service-levels/policies" | "POST /admin/service-levels/policies/{id}" => {
            Payload::FormOwned(format!(
                "name=Policy+{n}&position=3&priority=high&first_response=30"
            ))
        }
        "PUT /api/v1/tickets/{id}/satisfaction" => Payload::Json(json!({"rating": "good"})),
        "POST /tickets/{id}/rating" => Payload::Form("rating=good"),
        "PUT /api/v1/me/availability" => Payload::Json(json!({"available": false})),
        "POST /account/availability" => Payload::Form("available=on"),
        "POST /api/v1/rules" | "PUT /api/v1/rules/{id}" => Payload::Json(json!({
            "name": format!("Rule {n}"), "team_id": w.team_a.to_string(), "enabled": false,
            "event": "ticket_created", "actions": {"add_tags": ["matrix"]}
        })),
        "POST /admin/rules" | "POST /admin/rules/{id}" => Payload::FormOwned(format!(
            "name=Rule+{n}&team={}&kind=trigger&event=ticket_created&a.add_tags=matrix",
            w.team_a
        )),
        "PUT /api/v1/mailboxes/{address}" => Payload::Json(json!({"team_id": w.team_b.to_string()})),
        "POST /admin/mailboxes" => {
            Payload::FormOwned(format!("address=help%40desk.test&team_id={}", w.team_b))
        }
        "POST /admin/settings" => Payload::Form("value.organisation_name=Acme"),
        "POST /api/v1/privacy/erasures" => {
            Payload::Json(json!({"person": w.customer_2.id.to_string(), "reason": "Matrix"}))
        }
        "POST /api/v1/privacy/holds" => Payload::Json(json!({"target": w.ticket_3, "reason": "Matrix"})),
        "POST /admin/privacy/erasures" => {
            Payload::FormOwned(format!("person={}&reason=Matrix", w.customer_2.id))
        }
        "POST /admin/privacy/holds" => Payload::FormOwned(format!("target={}&reason=Matrix", w.ticket_3)),
        // Ten years: nothing of the fixture is that old.
        "PUT /api/v1/privacy/retention/schedules/{scope}" => Payload::Json(json!({"tickets_days": 3650})),
        "POST /admin/retention/schedules" => Payload::Form("scope=desk&tickets_days=3650"),
        "POST /admin/retention/schedules/remove" => Payload::Form("scope=desk"),
        "POST /api/v1/oauth/clients" | "PUT /api/v1/oauth/clients/{id}" => Payload::Json(json!({
            "name": format!("App {n}"), "confidential": true, "redirect_uris": [common::APP_REDIRECT],
            "scopes": ["tickets:read", "tickets:write"]
        })),
        "POST /admin/apps" | "POST /admin/apps/{id}" => Payload::FormOwned(format!(
            "name=App+{n}&kind=confidential&redirect_uris=https%3A%2F%2Fapp.example.test%2Fcb&scope=tickets%3Aread&enabled=on"
        )),
        "POST /oauth/authorize" => Payload::FormOwned(format!(
            "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&scope=tickets%3Aread\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&decision=allow",
            w.oauth_client
        )),
        "POST /api/v1/webhooks" | "PUT /api/v1/webhooks/{id}" => Payload::Json(json!({
            "name": format!("Hook {n}"), "url": "https://hooks.example.test/matrix",
            "event_types": ["ticket.created", "message.added"], "run_as_id": w.admin.id.to_string()
        })),
        "POST /admin/webhooks" | "POST /admin/webhooks/{id}" => Payload::FormOwned(format!(
            "name=Hook+{n}&url=https%3A%2F%2Fhooks.example.test%2Fmatrix&event=ticket.created&run_as={}&enabled=on",
            w.admin.id
        )),
        "POST /api/v1/privacy/exports" => {
            Payload::Json(json!({"person": w.customer_2.id.to_string(), "reason": "Matrix"}))
        }
        "POST /admin/privacy/exports" => {
            Payload::FormOwned(format!("person={}&reason=Matrix", w.customer_2.id))
        }
        "PATCH /api/v1/fields/{id}" => {
            Payload::Json(json!({"label": "Plan", "options": ["Gold", "Silver", "Bronze"]}))
        }
        "PUT /api/v1/tickets/{id}/fields" => Payload::Json(json!({"values": {"plan": "Gold"}})),
        "POST /tickets/{id}/fields" => Payload::Form("shown.plan=1&field.plan=Gold"),
        "POST /admin/fields" => Payload::Form("key=region&label=Region&kind=text"),
        "POST /admin/fields/{id}" => Payload::Form("label=Plan&options=Gold%0ASilver"),
        "POST /api/v1/tickets/{id}/collaborators" => {
            Payload::Json(json!({"user_id": w.customer_2.id.to_string()}))
        }
        "POST /api/v1/tickets/{id}/attachments" => {
            return (format!("{path}?filename=a.txt"), Payload::Bytes("file"));
        }
        "POST /api/v1/articles/{id}/files" => {
            return (format!("{path}?filename=a.txt"), Payload::Bytes("file"));
        }
        "PATCH /api/v1/customers/{id}" => Payload::Json(json!({"name": "Renamed", "phone": null})),
        "POST /api/v1/customers/{id}/merge" => Payload::Json(json!({"into": w.customer_2.id.to_string()})),
        "POST /api/v1/me/tokens" => Payload::Json(json!({"name": "ci", "scopes": ["tickets:read"]})),
        "POST /api/v1/sessions/current/second-factor" => Payload::Json(json!({"code": common::totp_code(0)})),
        "POST /api/v1/sessions/current/step-up" => {
            Payload::Json(json!({"password": common::PASSWORD, "code": common::totp_code(0)}))
        }
        "POST /api/v1/me/mfa/totp/confirm" => Payload::Json(json!({"code": "000000"})),
        "POST /api/v1/sessions/current/second-factor/passkey"
        | "POST /api/v1/sessions/current/step-up/passkey"
        | "POST /api/v1/me/passkeys" => Payload::Json(json!({})),
        "PATCH /api/v1/me/passkeys/{id}" => Payload::Json(json!({"name": "Renamed"})),
        "POST /login/second-factor" => Payload::Form("code=000000"),
        "POST /api/v1/me/password" => {
            Payload::Json(json!({"new_password": "a brand new passphrase for the matrix"}))
        }
        "POST /account/password" => Payload::Form("new_password=a+brand+new+passphrase+for+the+matrix"),
        "POST /account/security/totp/confirm" => Payload::Form("code=000000"),
        "POST /account/step-up" => {
            return (
                path,
                Payload::FormOwned(format!(
                    "password={}&code={}&next=/account/security",
                    common::PASSWORD.replace(' ', "+"),
                    common::totp_code(0)
                )),
            );
        }
        "POST /api/v1/customers" => {
            Payload::Json(json!({"email": format!("new{n}@example.com"), "name": "New Customer"}))
        }
        "POST /api/v1/agents" => Payload::Json(
            json!({"email": format!("staff{n}@desk.test"), "name": "New Agent", "role": "agent", "team_ids": [w.team_a.to_string()]}),
        ),
        "POST /api/v1/teams" => Payload::Json(json!({"name": format!("Team {n}")})),
        "POST /api/v1/teams/{id}/members" => Payload::Json(json!({"user_id": w.agent_b.id.to_string()})),
        "PATCH /api/v1/teams/{id}" => Payload::Json(json!({"secure_delivery": false})),
        "POST /admin/staff" => Payload::FormOwned(format!(
            "name=New+Agent&email=staff{n}%40desk.test&role=agent&team={}",
            w.team_a
        )),
        "PUT /api/v1/users/{id}/role" => Payload::Json(json!({"role": "supervisor"})),
        "POST /admin/staff/{id}/role" => Payload::Form("role=supervisor"),
        "POST /admin/companies" => Payload::FormOwned(format!("name=Company+{n}&share_tickets=on")),
        "POST /admin/teams" => Payload::FormOwned(format!("name=Team+{n}")),
        "POST /admin/teams/{id}" => Payload::Form("secure_delivery=on"),
        "POST /admin/teams/{id}/members" => Payload::FormOwned(format!("user_id={}", w.agent_b.id)),
        "POST /api/v1/macros" | "PUT /api/v1/macros/{id}" => Payload::Json(json!({
            "name": format!("Macro {n}"), "body": "Hi {requester_first_name}", "visibility": "public",
            "share_with": if key.starts_with("PUT") { Some("everyone") } else { None },
        })),
        "POST /macros" | "POST /macros/{id}" => Payload::FormOwned(format!(
            "name=Macro+{n}&body=Hello&visibility=public&share_with={}&status=&priority=high&ticket_type=&assignee=&route_to=&add_tag=",
            if key == "POST /macros" { "" } else { "everyone" }
        )),
        "POST /api/v1/views" => Payload::Json(json!({"name": format!("View {n}"), "priority": "high"})),
        "POST /views" => Payload::FormOwned(format!("name=View+{n}&priority=high")),
        "POST /api/v1/tickets/{id}/presence" => Payload::Json(json!({"typing": true})),
        "POST /tickets/{id}/macro" => Payload::FormOwned(format!("macro_id={}", w.shared_macro)),
        "POST /tickets/{id}/merge" | "POST /tickets/{id}/links" => {
            Payload::FormOwned(format!("number=%23{}", w.ticket_3_number))
        }
        "PATCH /api/v1/companies/{id}" => Payload::Json(json!({"share_tickets": false})),
        "POST /admin/companies/{id}/sharing" => Payload::Form("share_tickets=no"),
        "POST /customers" => Payload::FormOwned(format!("name=Matrix&email=matrix{n}%40customer.test")),
        "POST /customers/{id}" => Payload::Form("name=Renamed&phone_shown=1&phone="),
        "PUT /api/v1/me/language" => Payload::Json(json!({"language": "de"})),
        "POST /account/language" => Payload::Form("language=de"),
        "POST /customers/{id}/merge" => Payload::FormOwned(format!("into={}", w.customer_2.id)),
        "POST /api/v1/companies" => Payload::Json(json!({"name": "Acme", "share_tickets": false})),
        "POST /tickets" => Payload::Form("subject=From+the+portal&body=Hello"),
        "POST /api/v1/tickets/bulk" => Payload::Json(json!({"ticket_ids": [w.ticket_1], "priority": "high"})),
        "POST /tickets/bulk" => Payload::FormOwned(format!("ticket={}&priority=high", w.ticket_1)),
        "POST /tickets/{id}/messages" => Payload::Form("body=Thanks&visibility=public"),
        "POST /tickets/{id}/update" => Payload::Form("status=open&assignee="),
        "POST /tickets/{id}/files" => Payload::Multipart("file"),
        "PUT /api/v1/me/notification-preferences" => {
            Payload::Json(json!([{ "kind": "new_ticket", "channel": "digest" }]))
        }
        "POST /account/notifications" => Payload::Form("assigned=email"),
        "POST /tickets/{id}/follow" => Payload::Form("follow=yes"),
        "GET /api/v1/tickets/search" => return (format!("{path}?q=refund"), Payload::None),
        "GET /api/v1/customers/search" => return (format!("{path}?q=sharing"), Payload::None),
        "POST /api/v1/articles" | "PUT /api/v1/articles/{id}" => Payload::Json(json!({
            "title": format!("Matrix {n}"), "body_html": "<p>Text</p>", "locale": "en", "audience": "internal"
        })),
        "POST /articles" | "POST /articles/{id}" => Payload::FormOwned(format!(
            "title=Matrix+{n}&body_html=%3Cp%3EText%3C%2Fp%3E&locale=en&audience=internal"
        )),
        "POST /articles/{id}/publish" => Payload::Form(""),
        _ => Payload::None,
    };
    (path, payload)
}

async fn send(w: &World, who: Option<&Actor>, key: &str, n: usize) -> StatusCode {
    let (method, _) = key.split_once(' ').unwrap();
    let (mut path, payload) = request_for(w, key, n);
    if key.contains("/me/tokens/{id}") {
        let Some(actor) = who else {
            let path = path.replace(&w.ticket_1, "tok_AAAAAAAAAAAAAAAAAAAAAA");
            return w.raw(None, method, &path, Body::empty(), &[]).await.status;
        };
        let (id, _) = common::api_token(&w.store, &actor.id, &["tickets:read"]).await;
        path = path.replace(&w.ticket_1, &id);
    }
    if key.contains("/me/sessions/{id}") || key.contains("/devices/{id}") {
        // One's own sessions: a second session of the caller, so ending it is genuine.
        let Some(actor) = who else {
            let path = path.replace(&w.ticket_1, "ses_AAAAAAAAAAAAAAAAAAAAAA");
            return w.raw(None, method, &path, Body::empty(), &[]).await.status;
        };
        let extra = common::extra_session(&w.store, &actor.id).await;
        path = path.replace(&w.ticket_1, extra.as_str());
    }
    let export_route = key.ends_with("/link") || key.ends_with("/download") || key.contains("{token}");
    if export_route {
        // Customer 2's export, built and waiting for its download.
        let mut tx = w.store.begin().await.unwrap();
        let due = palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 + 86_400_000);
        let request = w
            .store
            .create_privacy_request(
                &mut tx,
                &palisade_store::NewPrivacyRequest {
                    kind: "access",
                    person: &w.customer_2.id,
                    reason: "Matrix",
                    requested_by: &w.admin.id,
                    due_at: due,
                    state: palisade_store::RequestState::Building,
                    withheld: None,
                },
            )
            .await
            .unwrap();
        let key_id = w.store.person_key_id(&w.customer_2.id).await.unwrap();
        w.store
            .store_export(&mut tx, &request.id, &key_id, &w.customer_2.id, b"archive")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if key.contains("{token}") {
            let token = palisade_crypto::RandomToken::generate().unwrap();
            w.store
                .set_export_link(&request.id, &token.hash().0, due)
                .await
                .unwrap();
            path = path.replace("{token}", token.expose());
        } else {
            path = path.replace(&w.ticket_1, request.id.as_str());
        }
    } else if key.contains("/privacy/requests/{id}") {
        // A pending erasure another administrator asked for, so deciding it is genuine.
        let mut tx = w.store.begin().await.unwrap();
        let due = palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 + 86_400_000);
        let request = w
            .store
            .create_privacy_request(
                &mut tx,
                &palisade_store::NewPrivacyRequest {
                    kind: "erasure",
                    person: &w.customer_2.id,
                    reason: "Matrix",
                    requested_by: &w.supervisor.id,
                    due_at: due,
                    state: palisade_store::RequestState::AwaitingApproval,
                    withheld: None,
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        path = path.replace(&w.ticket_1, request.id.as_str());
    }
    if key == "DELETE /api/v1/privacy/retention/schedules/{scope}"
        || key == "POST /admin/retention/schedules/remove"
    {
        let admin = palisade_core::Principal {
            user_id: w.admin.id.clone(),
            role: palisade_core::Role::Admin,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        let proof = palisade_policy::PolicyEngine::load()
            .unwrap()
            .authorize(
                &admin,
                palisade_policy::Action::ManagePrivacy,
                &palisade_policy::Resource::Directory,
            )
            .unwrap();
        let mut tx = w.store.begin().await.unwrap();
        w.store
            .set_retention_schedule(
                &mut tx,
                &proof,
                &palisade_store::RetentionSchedule {
                    scope: palisade_store::RetentionScope::Desk,
                    tickets_days: Some(3650),
                    tickets_action: palisade_store::TicketDisposal::Anonymise,
                    transcripts_days: None,
                    quarantine_days: None,
                    addresses_days: None,
                    updated_by: w.admin.id.clone(),
                    updated_at: palisade_core::UnixMillis::now(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    if key.contains("/privacy/holds/{id}") {
        let mut tx = w.store.begin().await.unwrap();
        let ticket = palisade_core::TicketId::parse(&w.ticket_3).unwrap();
        let hold = w
            .store
            .place_legal_hold(
                &mut tx,
                &palisade_store::HoldTarget::Ticket(ticket),
                "Matrix",
                &w.supervisor.id,
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        path = path.replace(&w.ticket_1, hold.id.as_str());
    }
    let (body, headers): (Body, Vec<(&str, &str)>) = match payload {
        Payload::None => (Body::empty(), vec![]),
        Payload::Json(v) => (
            Body::from(v.to_string()),
            vec![("content-type", "application/json")],
        ),
        Payload::Form(f) => (
            Body::from(f),
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
        Payload::FormOwned(f) => (
            Body::from(f),
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
        Payload::Bytes(b) => (Body::from(b), vec![("content-type", "application/octet-stream")]),
        Payload::Multipart(content) => (
            Body::from(common::multipart_file("a.txt", content.as_bytes())),
            vec![("content-type", common::MULTIPART_TYPE)],
        ),
    };
    w.raw(who, method, &path, body, &headers).await.status
}

fn outcome(status: StatusCode) -> char {
    match status.as_u16() {
        200..=399 => 'Y',
        401 | 403 | 404 => '-',
        400 => 'v',
        409 => 'c',
        _ => '?',
    }
}

#[tokio::test]
async fn every_route_has_an_expected_access_rule_and_public_routes_are_exactly_the_listed_ones() {
    let routes = palisade_web::route_list();
    let expected: BTreeMap<&str, &str> = MATRIX.iter().copied().collect();
    let mut missing = Vec::new();
    for (method, path, public) in &routes {
        let key = format!("{method} {path}");
        if *public {
            assert!(
                PUBLIC.contains(&key.as_str()),
                "{key} is public but not in the list of public routes"
            );
        } else if !expected.contains_key(key.as_str()) {
            missing.push(key);
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an expected access rule: {missing:?}"
    );
    let keys: Vec<String> = routes.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    for key in expected.keys().chain(PUBLIC.iter()) {
        assert!(
            keys.iter().any(|k| k == key),
            "expectation for a route that does not exist: {key}"
        );
    }
}

#[tokio::test]
async fn route_table_times_roles_matches_the_expected_matrix() {
    let mut mismatches = Vec::new();
    for (n, (key, row)) in MATRIX.iter().enumerate() {
        // A fresh world per route: earlier writes (or a sign-out) must not leak into
        // the next route's outcome.
        let w = World::new(Backend::Sqlite).await;
        let anonymous = send(&w, None, key, n).await;
        if anonymous != StatusCode::UNAUTHORIZED && anonymous != StatusCode::SEE_OTHER {
            mismatches.push(format!("{key} anonymous: {anonymous}"));
        }
        let actors = w.actors();
        for (i, want) in row.chars().enumerate() {
            let (role, actor) = actors[i];
            // Routes that sign the caller out are checked for each role in a fresh world.
            let w2;
            // So are step-up routes, which replace the caller's session token.
            let (world, actor) = if key.contains("sessions/current")
                || key.contains("logout")
                || key.contains("step-up")
                || key.contains("totp/remove")
                || key.contains("password")
                || key.contains("quarantine/")
                || key.contains("macros/")
                || key.contains("views/")
                || key.contains("/merge")
                || key.ends_with("/disable")
                || *key == "DELETE /api/v1/me/mfa/totp"
            {
                w2 = World::new(Backend::Sqlite).await;
                let a = w2.actors()[i].1.clone();
                (&w2, a)
            } else {
                (&w, actor.clone())
            };
            let status = send(world, Some(&actor), key, n * 10 + i).await;
            let got = outcome(status);
            if got != want {
                mismatches.push(format!("{key} as {role}: expected {want}, got {status}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "access matrix mismatches:\n{}",
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn public_routes_answer_without_a_session() {
    let w = World::new(Backend::Sqlite).await;
    for (path, want) in [
        ("/health", StatusCode::OK),
        ("/health/live", StatusCode::OK),
        ("/health/ready", StatusCode::OK),
        ("/api/v1/openapi.json", StatusCode::OK),
        ("/static/style.css", StatusCode::OK),
        ("/login", StatusCode::OK),
        ("/", StatusCode::SEE_OTHER),
        ("/setup/not-a-real-token", StatusCode::NOT_FOUND),
        // No provider is configured in this fixture (tests/sso.rs covers configured ones).
        ("/login/sso/corp", StatusCode::NOT_FOUND),
        ("/login/sso/corp/callback?code=x&state=y", StatusCode::NOT_FOUND),
        ("/help", StatusCode::OK),
        ("/help/en/no-such-article", StatusCode::NOT_FOUND),
        ("/api/v1/help/articles?q=refund", StatusCode::OK),
    ] {
        let r = w.raw(None, "GET", path, Body::empty(), &[]).await;
        assert_eq!(r.status, want, "{path}");
    }
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let w = World::new(Backend::Sqlite).await;
    let doc = w
        .raw(None, "GET", "/api/v1/openapi.json", Body::empty(), &[])
        .await
        .json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (method, path, _) in palisade_web::route_list() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
}
