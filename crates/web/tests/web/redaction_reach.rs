//! Where generated card numbers, IBANs, social security numbers and secrets go when
//! customers type them everywhere they can — a new ticket's subject and body, a reply,
//! the portal's reply form, anonymous and verified assistant conversations with a
//! language model behind them: nowhere. After every value is sent, none of them is in
//! the database files (SQLite's file and journal, PostgreSQL's rows and byte columns),
//! the log output (captured at TRACE level), the ticket search, or any request body the
//! model server received. Values come from proptest's deterministic runner.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use common::World;
use common::chat::{ask, chat, publish_article};
use palisade_assist::assistant::{ModelSettings, OpenAiCompatible};
use palisade_testkit::Backend;
use palisade_testkit::model::{ModelServer, Prompt, Scripted};
use palisade_testkit::sensitive::{card_number, grouped, iban, secret, written};
use palisade_web::AssistantModel;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;

palisade_testkit::on_both_backends!(generated_secrets_reach_no_file_log_index_or_model);

/// Everything logged by this test process.
static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    })
    .clone()
}

/// One generated value: how it was typed, and the forms that must not survive.
struct Sensitive {
    typed: String,
    forbidden: Vec<String>,
}

fn generate() -> Vec<Sensitive> {
    let mut runner = TestRunner::deterministic();
    let mut take = |s: &dyn Fn(&mut TestRunner) -> String| s(&mut runner);
    let mut out = Vec::new();
    for i in 0..6 {
        let number = take(&|r| card_number().new_tree(r).unwrap().current());
        let typed = written(&number, ["", " ", "-"][i % 3], i % 2 == 0);
        out.push(Sensitive {
            forbidden: vec![
                number.clone(),
                typed.clone(),
                number[6..number.len() - 4].to_owned(),
            ],
            typed,
        });
        let account = take(&|r| iban().new_tree(r).unwrap().current());
        let typed = if i % 2 == 0 {
            grouped(&account, 4)
        } else {
            account.clone()
        };
        out.push(Sensitive {
            forbidden: vec![account.clone(), typed.clone(), account[4..].to_owned()],
            typed,
        });
        let key = take(&|r| secret().new_tree(r).unwrap().current());
        let core: String = key.lines().nth(1).unwrap_or(&key).chars().take(24).collect();
        out.push(Sensitive {
            forbidden: vec![core],
            typed: key,
        });
    }
    let ssn = "536-22-8734".to_owned();
    out.push(Sensitive {
        forbidden: vec![ssn.clone()],
        typed: format!("SSN {ssn}"),
    });
    out
}

/// Whether `needle` is in the database files. A short run of digits also turns up by
/// chance inside the hex text the database is full of (hashes, signatures, keys,
/// indexes: random per run), so a short all-digit needle does not count where the run
/// of hex characters around it holds a letter a–f: random hex, not a number written
/// out. A leak sits among digits, separators or words, and still counts.
fn stored_in(dump: &[u8], needle: &[u8]) -> bool {
    const SHORT: usize = 12;
    let may_be_chance = needle.len() < SHORT && needle.iter().all(u8::is_ascii_digit);
    dump.windows(needle.len()).enumerate().any(|(at, window)| {
        if window != needle {
            return false;
        }
        if !may_be_chance {
            return true;
        }
        let start = dump[..at]
            .iter()
            .rposition(|b| !b.is_ascii_hexdigit())
            .map_or(0, |i| i + 1);
        let end = dump[at..]
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .map_or(dump.len(), |i| at + i);
        !dump[start..end]
            .iter()
            .any(|b| matches!(b, b'a'..=b'f' | b'A'..=b'F'))
    })
}

#[test]
fn a_short_number_counts_unless_it_sits_in_random_hex() {
    assert!(stored_in(b"card 4111119999991111 end", b"119999"));
    assert!(stored_in(b"x411111999999****y", b"119999"));
    assert!(!stored_in(
        b"\0e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c\0",
        b"298"
    ));
    assert!(stored_in(b"SSN 536-22-8734.", b"536-22-8734"));
}

async fn generated_secrets_reach_no_file_log_index_or_model(backend: Backend) {
    let logs = capture_logs();
    let server = ModelServer::start(|p: &Prompt<'_>| {
        let id = p.article_ids().first().cloned().unwrap_or_default();
        Scripted::answer(format!("You can get a refund within 30 days of delivery [{id}]."))
    })
    .await
    .unwrap();
    let settings = ModelSettings {
        url: server.url.clone(),
        api_key: None,
        model: "scripted".into(),
        max_answer_tokens: 200,
        conversation_budget: 1_000_000,
        daily_budget: 10_000_000,
        allowed_link_domains: vec![],
        timeout: Duration::from_secs(2),
        ca_file: None,
    };
    let w = World::new(backend).await.with_config(|c| {
        c.public_limits.assistant_messages_per_ip.max = 10_000;
        c.public_limits.messages_per_conversation.max = 10_000;
        c.model = Some(AssistantModel {
            provider: Arc::new(OpenAiCompatible::new(&settings).unwrap()),
            settings,
        });
    });
    publish_article(
        &w,
        "Refund policy",
        "<p>You can get a refund within 30 days of delivery.</p>",
        "public",
    )
    .await;
    let values = generate();
    let customer = w.customer_1.clone();
    let anonymous = chat(&w, None).await;
    let verified = chat(&w, Some(&customer)).await;
    for (n, v) in values.iter().enumerate() {
        let r = w
            .json(
                &customer,
                "POST",
                "/api/v1/tickets",
                json!({"subject": format!("Refund {n} to {}", v.typed), "body": format!("Please use {} for it", v.typed)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let ticket = r.json()["id"].as_str().unwrap().to_owned();
        let r = w
            .json(
                &customer,
                "POST",
                &format!("/api/v1/tickets/{ticket}/messages"),
                json!({"body": format!("Again: {}", v.typed), "visibility": "public"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let form = format!(
            "visibility=public&body={}",
            url::form_urlencoded::byte_serialize(format!("once more {}", v.typed).as_bytes())
                .collect::<String>()
        );
        let r = w
            .form(&customer, &format!("/tickets/{ticket}/messages"), &form)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        for (who, c) in [(None, &anonymous), (Some(&customer), &verified)] {
            ask(
                &w,
                who,
                c,
                &format!("Refund policy: refund within 30 days of delivery? {}", v.typed),
            )
            .await;
        }
    }
    // Cards and IBANs make a message a payment matter (never sent to a model); the rest
    // reach it as questions — redacted.
    let asked_with_markers = server.bodies().iter().filter(|b| b.contains("removed]")).count();
    assert!(
        asked_with_markers >= 6,
        "the model saw redacted questions: {asked_with_markers}"
    );

    let dump = w.db.raw_dump().await.unwrap();
    let logged = logs.lock().unwrap().clone();
    let bodies = server.bodies().join("\n");
    for v in &values {
        for forbidden in &v.forbidden {
            let needle = forbidden.as_bytes();
            assert!(
                !stored_in(&dump, needle),
                "{forbidden:?} reached the database files"
            );
            assert!(
                !logged.windows(needle.len()).any(|w| w == needle),
                "{forbidden:?} reached the log"
            );
            assert!(
                !bodies.contains(forbidden.as_str()),
                "{forbidden:?} reached the model"
            );
            let hits = w
                .get(
                    &w.agent_a,
                    &format!(
                        "/api/v1/tickets/search?q={}",
                        url::form_urlencoded::byte_serialize(forbidden.as_bytes()).collect::<String>()
                    ),
                )
                .await
                .json();
            assert_eq!(
                hits["items"].as_array().map(Vec::len),
                Some(0),
                "{forbidden:?} is searchable"
            );
        }
    }
    // The log did capture the run (so its silence about the values means something).
    assert!(!logged.is_empty());
}
