//! The real binary's outbox worker, configured by a `[mail]` table, delivering a
//! password reset to an SMTP sink on loopback; the emailed link then sets the password.

mod common;

use std::time::Duration;

use common::{PASSWORD, TestDir};
use palisade_testkit::smtp::{SinkTls, SmtpSink};
use serde_json::json;

#[tokio::test]
async fn a_password_reset_is_emailed_through_the_configured_relay() {
    let sink = SmtpSink::start(SinkTls::None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = TestDir::new("mail");
    let config = dir.data_dir().with_extension("toml");
    std::fs::create_dir_all(dir.data_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &config,
        format!(
            "[mail]\nrelay_host = \"127.0.0.1\"\nrelay_port = {}\nrelay_tls = \"none\"\n\
             from_address = \"support@desk.example\"\nfrom_name = \"Desk\"\n",
            sink.port()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
    let setup = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let form = "application/x-www-form-urlencoded";
    let saved = server
        .post(&format!("/setup/{setup}"), form, &format!("password={PASSWORD}"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(saved.status, 200);

    let asked = server
        .post_json("/api/v1/password-resets", &json!({ "email": "ada@example.com" }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(asked.status, 202);
    let mails = sink
        .wait_for(1, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- server log\n{}", server.log()));
    assert_eq!(mails[0].rcpt_to, ["ada@example.com"]);
    assert_eq!(mails[0].mail_from, "support@desk.example");
    let text = String::from_utf8_lossy(&mails[0].data).into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/setup/", server.origin)))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let path = link.trim_start_matches(server.origin.as_str());
    let reset = server
        .post(path, form, "password=an+entirely+new+passphrase")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(reset.status, 200, "{}", reset.text());
    let signed = server
        .post_json(
            "/api/v1/sessions",
            &json!({ "email": "ada@example.com", "password": "an entirely new passphrase" }),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(signed.status, 201);
    assert_eq!(signed.json()["stage"], "enrol", "staff still owe a second factor");
}
