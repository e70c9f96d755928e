//! Runtime settings, on SQLite and PostgreSQL: an administrator changes the
//! organisation's name, the help centre's language, the privacy notice and the
//! assistant's thresholds from the API and the settings page, and they apply at once;
//! clearing one returns to the file's value. Beside it, the attacks: a supervisor
//! reading or changing them, and values the file would refuse (a script address, a
//! path outside the site, a coverage above 1, text for a number) — refused, all or
//! none.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(administrators_change_settings_that_apply_at_once);

fn value_of(list: &Value, name: &str) -> (String, bool) {
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"));
    (
        entry["value"].as_str().unwrap().to_owned(),
        entry["overridden"].as_bool().unwrap(),
    )
}

async fn administrators_change_settings_that_apply_at_once(backend: Backend) {
    let w = World::new(backend).await;
    let list = w.get(&w.admin, "/api/v1/settings").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json().as_array().unwrap().len(), 7);
    assert_eq!(
        value_of(&list.json(), "organisation_name"),
        ("Support".into(), false)
    );

    // An administrator's token made for ticket work cannot change the desk's settings.
    let (_, ticket_work) = common::api_token(&w.store, &w.admin.id, &["tickets:read", "tickets:write"]).await;
    let r = w
        .raw(
            None,
            "PUT",
            "/api/v1/settings",
            Body::from(json!({"values": {"privacy_notice_url": "https://phish.example/"}}).to_string()),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {ticket_work}")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    for who in [&w.supervisor, &w.agent_a, &w.customer_1] {
        assert_eq!(w.get(who, "/api/v1/settings").await.status, StatusCode::FORBIDDEN);
        let r = w
            .json(
                who,
                "PUT",
                "/api/v1/settings",
                json!({"values": {"organisation_name": "Mallory"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }

    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/settings",
            json!({"values": {"organisation_name": "Acme Support", "default_locale": "de",
                              "privacy_notice_url": "https://acme.example/privacy",
                              "assistant_min_coverage": 0.6, "assistant_max_passages": 4}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let now = r.json();
    assert_eq!(value_of(&now, "organisation_name"), ("Acme Support".into(), true));
    assert_eq!(value_of(&now, "assistant_max_passages"), ("4".into(), true));
    assert_eq!(
        value_of(&now, "assistant_misses_before_handover"),
        ("2".into(), false)
    );

    // In force at once.
    let anonymous = |path: &'static str| w.raw(None, "GET", path, Body::empty(), &[]);
    assert!(anonymous("/login").await.text().contains("Acme Support"));
    assert!(anonymous("/help").await.text().contains("Acme Support"));
    let notice = anonymous("/api/v1/assistant/notice").await.json();
    assert_eq!(notice["privacy_notice_url"], "https://acme.example/privacy");
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "directory.settings_changed" && e.detail.contains("Acme Support"))
    );

    // What the file would refuse is refused, and one bad value writes nothing.
    for bad in [
        json!({"privacy_notice_url": "javascript:alert(1)"}),
        json!({"privacy_notice_url": "//evil.example/x"}),
        json!({"default_locale": "../x"}),
        json!({"assistant_min_coverage": 1.5}),
        json!({"assistant_max_passages": "4"}),
        json!({"organisation_name": 7}),
        json!({"nope": "x"}),
        json!({"organisation_name": "Globex", "assistant_max_passages": 0}),
    ] {
        let r = w
            .json(&w.admin, "PUT", "/api/v1/settings", json!({"values": bad}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
    }
    let list = w.get(&w.admin, "/api/v1/settings").await.json();
    assert_eq!(value_of(&list, "organisation_name").0, "Acme Support");
    assert_eq!(value_of(&list, "assistant_max_passages").0, "4");

    // Cleared: the file's value again.
    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/settings",
            json!({"values": {"organisation_name": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        value_of(&r.json(), "organisation_name"),
        ("Support".into(), false)
    );

    // The settings page: a changed value saved, a ticked box back to the file.
    let page = w.get(&w.admin, "/admin/settings").await.text();
    assert!(
        page.contains("name=\"value.default_locale\" value=\"de\""),
        "{page}"
    );
    let r = w
        .form(
            &w.admin,
            "/admin/settings",
            "value.organisation_name=Globex&reset.default_locale=on",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let list = w.get(&w.admin, "/api/v1/settings").await.json();
    assert_eq!(value_of(&list, "organisation_name"), ("Globex".into(), true));
    assert_eq!(value_of(&list, "default_locale"), ("en".into(), false));
    let r = w
        .form(&w.admin, "/admin/settings", "value.assistant_min_score=-3")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("assistant_min_score: a number from 0 to 100"),
        "{}",
        r.text()
    );
    assert_eq!(
        w.get(&w.supervisor, "/admin/settings").await.status,
        StatusCode::FORBIDDEN
    );
}
