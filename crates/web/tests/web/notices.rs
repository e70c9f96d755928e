//! The assistant's notice, one page per version, and each customer's history of choices
//! under it, on SQLite and PostgreSQL: anyone reads every version in their language; a
//! customer's two choices are kept in order, each naming its version, in the API, the
//! portal page and the subject-access export. The attacks: a version never published,
//! a path that is no version, another customer's history.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_assist::assistant::NOTICE_VERSION;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(every_notice_version_has_a_page_and_every_choice_names_one);

async fn every_notice_version_has_a_page_and_every_choice_names_one(backend: Backend) {
    let w = World::new(backend).await;

    // Everyone, signed in or not, reads every version, in their language.
    let r = w.raw(None, "GET", "/privacy/notices", Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains(&format!("/privacy/notices/{NOTICE_VERSION}")));
    let page = format!("/privacy/notices/{NOTICE_VERSION}");
    let r = w.raw(None, "GET", &page, Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("not a person"), "{}", r.text());
    let r = w
        .raw(None, "GET", &page, Body::empty(), &[("accept-language", "de")])
        .await;
    assert!(r.text().contains("nicht mit einem Menschen"), "{}", r.text());
    let list = w
        .raw(None, "GET", "/api/v1/notices", Body::empty(), &[])
        .await
        .json();
    assert_eq!(list["items"][0]["version"], NOTICE_VERSION);
    assert_eq!(list["items"][0]["current"], true);
    // Attack: versions never published, and paths that are no version.
    for path in [
        "/privacy/notices/1999-01-01",
        "/privacy/notices/..%2F..%2Fetc",
        "/privacy/notices/%00",
    ] {
        let r = w.raw(None, "GET", path, Body::empty(), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Ann agrees to the assistant, then chooses people only: both are kept, in order.
    for body in [
        json!({"consent": true, "notice_version": NOTICE_VERSION}),
        json!({"human_only": true, "notice_version": NOTICE_VERSION}),
    ] {
        let r = w
            .json(&w.customer_1, "POST", "/api/v1/assistant/conversations", body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let mine = w.get(&w.customer_1, "/api/v1/me/consents").await.json();
    let choices: Vec<(&str, &str)> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["choice"].as_str().unwrap(),
                c["notice_version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        choices,
        vec![("assistant", NOTICE_VERSION), ("people_only", NOTICE_VERSION)]
    );
    assert_eq!(mine["items"][0]["notice"], page);
    // Attack: another customer sees none of it.
    let theirs = w.get(&w.customer_2, "/api/v1/me/consents").await.json();
    assert_eq!(theirs["items"], json!([]));
    // The portal's page lists them with a link to the version.
    let r = w.get(&w.customer_1, "/account/privacy").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("id=\"your-consents\"") && r.text().contains(&page),
        "{}",
        r.text()
    );
    let r = w.get(&w.customer_2, "/account/privacy").await;
    assert!(r.text().contains("your-consents-none"));
    assert_eq!(
        w.count("assistant_preferences").await,
        1,
        "the standing choice is the newest"
    );

    // Her subject-access export carries the whole history.
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
            palisade_policy::Action::UserExport,
            &palisade_policy::Resource::User(palisade_policy::UserFacts {
                id: w.customer_1.id.clone(),
                role: palisade_core::Role::Customer,
                company: None,
                teams: vec![],
            }),
        )
        .unwrap();
    let data = w
        .store
        .subject_access(&proof, &w.customer_1.id, false, true)
        .await
        .unwrap();
    let history: Vec<bool> = data.consent_history.iter().map(|c| c.people_only).collect();
    assert_eq!(history, vec![false, true]);
}
