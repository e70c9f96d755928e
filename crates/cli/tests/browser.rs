//! The sign-in pages in a real browser: headless Chromium (Debian's, driven by
//! playwright-core) against the real `palisade serve` over TLS, with the browser's
//! virtual authenticator standing in for a passkey, then writing and publishing an
//! article that a visitor reads sanitised. The scenario itself is
//! `browser/sign_in.mjs`; this test starts the server and checks what it saw. The help
//! centre and the assistant are driven as a visitor by `browser/self_service.mjs`.

mod common;

/// Runs one scenario against `server` and returns what it saw; a failure shows the
/// server's log.
async fn scenario(source: &str, input: &Value, server: &common::Server) -> Value {
    scenario_within(source, input, server, Duration::from_secs(120)).await
}

async fn scenario_within(source: &str, input: &Value, server: &common::Server, limit: Duration) -> Value {
    let report = palisade_testkit::node::run_browser_scenario(source, &input.to_string(), limit)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"))
}

/// The scenarios share their browser, its CSP and error counters and the helpers of
/// `browser/common.mjs`, which goes first (module imports may stand anywhere at its
/// top level).
fn with_common(scenario: &str) -> String {
    format!("{}\n{scenario}", include_str!("browser/common.mjs"))
}

use std::time::Duration;

use common::{PASSWORD, TestDir};
use serde_json::{Value, json};

#[tokio::test]
async fn a_new_admin_enrols_a_passkey_signs_in_with_it_and_publishes_an_article_in_chromium() {
    let dir = TestDir::new("browser");
    let token = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let input = json!({
        "origin": server.origin,
        "cert": server.cert,
        "setup_token": token,
        "email": "ada@example.com",
        "password": PASSWORD,
    });
    let seen = scenario(&with_common(include_str!("browser/sign_in.mjs")), &input, &server).await;
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "after_setup": "Password saved",
        "after_password": "/account/security",
        // Staff who have not enrolled are sent back to enrolment from anywhere else.
        "tickets_while_enrolling": "/account/security",
        "recovery_codes": 10,
        "credentials_on_authenticator": 1,
        "tickets_after_enrolment": "/tickets",
        "passkey_listed": 1,
        "after_sign_out": "/login",
        "after_second_password": "/login/second-factor",
        "after_passkey": "/tickets",
        "sign_count": 2,
        "authoring_csp_violations": 0,
        "article_shown": true,
        "article_script_ran": 0,
        "article_active_markup": 0,
        "reader_csp_violations": 0,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}

#[tokio::test]
async fn the_agent_workspace_works_in_chromium_with_live_notifications_and_scanned_files() {
    let clamd = palisade_testkit::clamd::Clamd::start().await.unwrap();
    let config = std::env::temp_dir().join(format!("palisade-workspace-{}.toml", common::random_hex(6)));
    std::fs::write(&config, format!("[scan]\nclamd = \"{}\"\n", clamd.endpoint)).unwrap();
    let dir = TestDir::new("browser-workspace").with_env("PALISADE_CONFIG", &config.display().to_string());
    let token = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let input = json!({
        "origin": server.origin,
        "cert": server.cert,
        "setup_token": token,
        "email": "ada@example.com",
        "name": "Ada",
        "password": PASSWORD,
        "eicar": String::from_utf8(palisade_testkit::clamd::EICAR.to_vec()).unwrap(),
    });
    let seen = scenario(
        &with_common(include_str!("browser/workspace.mjs")),
        &input,
        &server,
    )
    .await;
    let _ = std::fs::remove_file(&config);
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "member_added": true,
        "settings_saved": "Settings saved.",
        "secure_delivery_on": true,
        "teams_page_axe": [],
        "staff_page_axe": [],
        "staff_page_fits_a_phone": true,
        "company_created": "Company created.",
        "companies_page_axe": [],
        "count_hidden_at_first": true,
        "live_count": "1",
        "live_list": true,
        "queue_lists_it": 1,
        "queue_axe": [],
        "exact_time_on_hover": true,
        "bulk_says": "1 ticket changed.",
        "search_finds_it": 1,
        "queue_fits_a_phone": true,
        "macros_page_axe": [],
        "macro_reply": true,
        "macro_status": "pending",
        "colleague_viewing": true,
        "colleague_typing": true,
        "shortcut_help": true,
        "n_focuses_the_note": true,
        "following": "Unfollow",
        "blocked_named": true,
        "blocked_linked": 0,
        "blocked_offered_for_sending": 0,
        "ticket_page_axe": [],
        "ticket_page_fits_a_phone": true,
        "macros_page_fits_a_phone": true,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}

/// The setup link mailed to `to`, as a path.
fn mailed_setup_path(mails: &[palisade_testkit::smtp::CapturedMail], to: &str, origin: &str) -> String {
    let mail = mails
        .iter()
        .find(|m| m.rcpt_to.iter().any(|r| r == to))
        .unwrap_or_else(|| panic!("nothing mailed to {to}"));
    let text = String::from_utf8_lossy(&mail.data).into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{origin}/setup/")))
        .unwrap_or_else(|| panic!("no setup link in {text}"));
    link.trim_start_matches(origin).to_owned()
}

/// An agent's morning, as the issue tells it, beside a colleague: sign in with a
/// passkey, open "unassigned in my teams", take two tickets with the `a` shortcut,
/// apply a macro, close three in bulk, search, merge a duplicate, see the colleague
/// arrive on the same ticket, lose a race to them (409) and retry. Then every page —
/// staff, administrator, customer portal and anonymous — is checked with axe-core and
/// at phone width, with screenshots of the portal at phone and desktop widths.
#[tokio::test]
async fn an_agents_morning_and_every_page_pass_in_chromium_at_phone_and_desktop_width() {
    let sink = palisade_testkit::smtp::SmtpSink::start(palisade_testkit::smtp::SinkTls::None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = TestDir::new("browser-morning").with_config(&format!(
        "[mail]\nrelay_host = \"127.0.0.1\"\nrelay_port = {}\nrelay_tls = \"none\"\n\
         from_address = \"support@desk.example\"\nfrom_name = \"Desk\"\n",
        sink.port()
    ));
    let setup = dir.create_admin("ada@example.com", "Ada");
    // A recorded advisory check (with its reviewed findings) for the operations page.
    let advisory_db = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/advisory-db");
    dir.run(&["advisories", "check", "--db", &advisory_db.display().to_string()])
        .assert_success("advisories check");
    let server = dir.serve().await;
    let ada = server.admin_token(&setup, "ada@example.com").await;
    let api = |method: &'static str, path: &'static str, body: Value| {
        let server = &server;
        let ada = ada.clone();
        async move {
            let r = server.api(method, path, Some(&ada), Some(&body)).await.unwrap();
            assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text());
            r.json()
        }
    };
    let teams = server
        .api("GET", "/api/v1/teams", Some(&ada), None)
        .await
        .unwrap()
        .json();
    let support = teams[0]["id"].as_str().unwrap().to_owned();
    // Staff setup links come back to the administrator to hand over; a customer's is
    // mailed.
    let mut staff_setup = Vec::new();
    for (email, name, role) in [
        ("bo@example.com", "Bo", "agent"),
        ("cat@example.com", "Cat", "agent"),
        ("eve@example.com", "Eve", "admin"),
    ] {
        let created = api(
            "POST",
            "/api/v1/agents",
            json!({"email": email, "name": name, "role": role, "team_ids": [support]}),
        )
        .await;
        staff_setup.push(created["setup_path"].as_str().unwrap().to_owned());
    }
    let dee = api(
        "POST",
        "/api/v1/customers",
        json!({"email": "dee@example.org", "name": "Dee Diaz"}),
    )
    .await;
    let dee_id = dee["user"]["id"].as_str().unwrap().to_owned();
    let mails = sink
        .wait_for(2, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    let mut tickets = Vec::new();
    for subject in [
        "Invoice 7 is wrong",
        "Invoice 7 is wrong again",
        "Printer on fire",
        "Order 88 is late",
        "Shipping label missing",
        "Password reset mail",
    ] {
        let t = api(
            "POST",
            "/api/v1/tickets",
            json!({"subject": subject, "body": format!("{subject}, says Dee."), "requester_id": dee_id}),
        )
        .await;
        tickets.push(json!({"id": t["id"], "number": t["number"], "subject": subject}));
    }
    api(
        "POST",
        "/api/v1/macros",
        json!({"name": "Ask for the order number", "body": "Hello {requester_first_name}, which order is it?",
               "visibility": "public", "share_with": "everyone", "status": "pending"}),
    )
    .await;
    let origin = server.origin.clone();
    let input = json!({
        "origin": origin,
        "cert": server.cert,
        "password": PASSWORD,
        "bo_setup": staff_setup[0],
        "cat_setup": staff_setup[1],
        "eve_setup": staff_setup[2],
        "dee_setup": mailed_setup_path(&mails, "dee@example.org", &origin),
        "dee_id": dee_id,
        "tickets": tickets,
    });
    let source = with_common(include_str!("browser/morning.mjs"));
    let seen = scenario_within(&source, &input, &server, Duration::from_secs(300)).await;
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "signed_in_with_passkey": "/tickets",
        "unassigned_listed": 6,
        "assigned_with_shortcut": 2,
        "macro_reply": true,
        "bulk_says": "3 tickets changed.",
        "search_finds": 2,
        "customer_found": 1,
        "tickets_by_requester": 2,
        "portal_in_german": "Meine Tickets",
        "page_language": "de",
        "merged_onto_survivor": true,
        "duplicate_points_to_survivor": true,
        "colleague_appears": true,
        "stale_refused": true,
        "retry_saved": "urgent",
        "rule_saved": "welcomed",
        "axe": {},
        "too_wide_for_a_phone": {},
        "portal_screenshots": 4,
        "operations_screenshots": 2,
        "holds_listed": 1,
        "retention_schedules_listed": 1,
        "retention_preview_shown": 4,
        "retention_screenshots": 2,
        "webhook_secret_shown": true,
        "webhook_screenshots": 2,
        "webhooks_listed": 1,
        "app_registered": true,
        "consent_scopes": 1,
        "consent_returned": true,
        "apps_connected": 1,
        "own_exports_listed": 1,
        "operations_shows_audit_key": 1,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}

#[tokio::test]
async fn the_help_centre_and_the_assistant_work_in_chromium_under_their_csp() {
    let dir = TestDir::new("browser-self-service");
    // The first administrator's setup also creates the team that receives handovers.
    dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let input = json!({ "origin": server.origin, "cert": server.cert });
    let seen = scenario(
        &with_common(include_str!("browser/self_service.mjs")),
        &input,
        &server,
    )
    .await;
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "help_title": "Help centre",
        "search_says": "0 articles found.",
        "notice_shown": true,
        // Nothing is chosen for the visitor: consent is their explicit choice.
        "consent_preselected": false,
        "after_start": "/assistant",
        "card_kept": false,
        "redaction_notice": true,
        "payment_goes_to_a_person": true,
        "handover": true,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}

const SHOP_SECRET: &str = "a shared secret between the shop and Palisade, 32+ bytes";

#[tokio::test]
async fn the_assistant_widget_works_embedded_in_another_sites_page_under_both_csps() {
    let host_port = common::free_port();
    let dir = TestDir::new("browser-widget");
    let secret = dir.root.join("site-token.key");
    std::fs::write(
        &secret,
        "a shared secret between the shop and Palisade, 32+ bytes",
    )
    .unwrap();
    let dir = dir.with_config(&format!(
        "[assistant]\nwidget_origins = [\"http://127.0.0.1:{host_port}\"]\n\
         [assistant.site_tokens]\nissuer = \"http://127.0.0.1:{host_port}\"\naudience = \"palisade\"\n\
         [[assistant.site_tokens.keys]]\nkid = \"shop-1\"\nalgorithm = \"HS256\"\nsecret_file = \"{}\"\n",
        secret.display()
    ));
    let setup = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    // A customer with a ticket, whom the shop's page vouches for with a token.
    let admin = server.admin_token(&setup, "ada@example.com").await;
    let customer = server
        .api(
            "POST",
            "/api/v1/customers",
            Some(&admin),
            Some(&json!({"email": "carla@example.org", "name": "Carla"})),
        )
        .await
        .unwrap();
    assert_eq!(customer.status, 201, "{}", customer.text());
    let customer_id = customer.json()["user"]["id"].as_str().unwrap().to_owned();
    let ticket = server
        .api(
            "POST",
            "/api/v1/tickets",
            Some(&admin),
            Some(&json!({"subject": "Parcel never arrived", "body": "Order 5521", "requester_id": customer_id})),
        )
        .await
        .unwrap();
    assert_eq!(ticket.status, 201, "{}", ticket.text());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let site_token = palisade_testkit::jwt::hs256(
        &json!({"alg": "HS256", "kid": "shop-1"}),
        &json!({"iss": format!("http://127.0.0.1:{host_port}"), "aud": "palisade", "sub": "shop-carla",
                "jti": format!("page-view-{now}"), "exp": now + 600,
                "email": "carla@example.org", "email_verified": true}),
        SHOP_SECRET.as_bytes(),
    );
    let input = json!({ "origin": server.origin, "cert": server.cert, "host_port": host_port, "site_token": site_token });
    let seen = scenario(&with_common(include_str!("browser/widget.mjs")), &input, &server).await;
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "notice_shown": true,
        "verification": "anonymous",
        "card_shown": false,
        "redaction_notice": true,
        "handover": true,
        // The widget never sends or receives Palisade's cookies.
        "cookies_set": 0,
        "forged_refused": true,
        "forged_fell_back": false,
        "verified": "site_token",
        "own_ticket_listed": true,
        "offers_to_continue_in_it": true,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}
