//! The sign-in pages in a real browser: headless Chromium (Debian's, driven by
//! playwright-core) against the real `palisade serve` over TLS, with the browser's
//! virtual authenticator standing in for a passkey, then writing and publishing an
//! article that a visitor reads sanitised. The scenario itself is
//! `browser/sign_in.mjs`; this test starts the server and checks what it saw. The help
//! centre and the assistant are driven as a visitor by `browser/self_service.mjs`.

mod common;

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
    let report = palisade_testkit::node::run_browser_scenario(
        include_str!("browser/sign_in.mjs"),
        &input.to_string(),
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    let seen: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let expect = json!({
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
async fn the_help_centre_and_the_assistant_work_in_chromium_under_their_csp() {
    let dir = TestDir::new("browser-self-service");
    // The first administrator's setup also creates the team that receives handovers.
    dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let input = json!({ "origin": server.origin, "cert": server.cert });
    let report = palisade_testkit::node::run_browser_scenario(
        include_str!("browser/self_service.mjs"),
        &input.to_string(),
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    let seen: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let expect = json!({
        "csp_violations": 0,
        "page_errors": 0,
        "help_title": "Help centre",
        "search_says": "0 articles found.",
        "notice_shown": true,
        "after_start": "/assistant",
        "card_kept": false,
        "redaction_notice": true,
        "payment_goes_to_a_person": true,
        "handover": true,
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}

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
    let config = dir.root.join("palisade.toml");
    std::fs::write(
        &config,
        format!(
            "[assistant]\nwidget_origins = [\"http://127.0.0.1:{host_port}\"]\n\
             [assistant.site_tokens]\nissuer = \"http://127.0.0.1:{host_port}\"\naudience = \"palisade\"\n\
             [[assistant.site_tokens.keys]]\nkid = \"shop-1\"\nalgorithm = \"HS256\"\nsecret_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
    dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let input = json!({ "origin": server.origin, "cert": server.cert, "host_port": host_port });
    let report = palisade_testkit::node::run_browser_scenario(
        include_str!("browser/widget.mjs"),
        &input.to_string(),
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    let seen: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
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
    });
    assert_eq!(seen, expect, "\n--- server log\n{}", server.log());
}
