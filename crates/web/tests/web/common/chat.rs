//! Conversations with the assistant through the API, for the assistant tests.

use axum::body::Body;
use axum::http::StatusCode;
use palisade_assist::assistant::NOTICE_VERSION;
use serde_json::{Value, json};

use super::{Actor, Response, World};

pub const CARD: &str = "4111 1111 1111 1111";

pub async fn publish_article(w: &World, title: &str, body: &str, audience: &str) -> String {
    let agent = w.agent_a.clone();
    let r = w
        .json(
            &agent,
            "POST",
            "/api/v1/articles",
            json!({"title": title, "body_html": body, "locale": "en", "audience": audience}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = w
        .raw(
            Some(&agent),
            "POST",
            &format!("/api/v1/articles/{id}/publish"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    id
}

pub struct Chat {
    pub id: String,
    pub secret: String,
}

pub async fn start(w: &World, who: Option<&Actor>, body: Value) -> Response {
    w.raw(
        who,
        "POST",
        "/api/v1/assistant/conversations",
        Body::from(body.to_string()),
        &[("content-type", "application/json")],
    )
    .await
}

pub async fn chat(w: &World, who: Option<&Actor>) -> Chat {
    let r = start(w, who, json!({"consent": true, "notice_version": NOTICE_VERSION})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    Chat {
        id: v["id"].as_str().unwrap().into(),
        secret: v["secret"].as_str().unwrap().into(),
    }
}

pub async fn say(w: &World, who: Option<&Actor>, c: &Chat, text: &str) -> Response {
    w.raw(
        who,
        "POST",
        &format!("/api/v1/assistant/conversations/{}/messages", c.id),
        Body::from(json!({"text": text}).to_string()),
        &[
            ("content-type", "application/json"),
            ("x-palisade-conversation", &c.secret),
        ],
    )
    .await
}

pub async fn ask(w: &World, who: Option<&Actor>, c: &Chat, text: &str) -> Value {
    let r = say(w, who, c, text).await;
    assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.text());
    r.json()
}
