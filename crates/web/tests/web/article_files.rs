//! Files of help-centre articles on SQLite and PostgreSQL: served to exactly those who
//! may read the article (and to its authors before it is published), refused like a
//! missing file otherwise; images inline, everything else as a download, always
//! sandboxed; sealed in the database; only article managers upload.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, Response, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(files_follow_their_articles_readers);

/// A 1×1 PNG with a marker in a text chunk, so the dump check has something to find.
fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend_from_slice(&[0, 0, 0, 13]);
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89]);
    bytes.extend_from_slice(b"\0\0\0\x13tEXtNote\0plaintext-marker-73\0\0\0\0");
    bytes
}

async fn article(w: &World, audience: &str, companies: Vec<String>) -> String {
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/articles",
            json!({"title": format!("Guide {audience}"), "body_html": "<p>See the picture.</p>", "locale": "en",
                   "audience": audience, "company_ids": companies}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn publish(w: &World, id: &str) {
    let r = w
        .raw(
            Some(&w.agent_a),
            "POST",
            &format!("/api/v1/articles/{id}/publish"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn upload(w: &World, who: &Actor, article: &str, name: &str, bytes: Vec<u8>) -> Response {
    w.raw(
        Some(who),
        "POST",
        &format!("/api/v1/articles/{article}/files?filename={name}"),
        Body::from(bytes),
        &[("content-type", "application/octet-stream")],
    )
    .await
}

async fn fetch(w: &World, who: Option<&Actor>, url: &str) -> Response {
    w.raw(who, "GET", url, Body::empty(), &[]).await
}

async fn files_follow_their_articles_readers(backend: Backend) {
    let w = World::new(backend).await;
    let public = article(&w, "public", vec![]).await;
    let r = upload(&w, &w.agent_a, &public, "diagram.png", png()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["content_type"], "image/png");
    let url = v["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/help/files/afl_"));

    // Before publishing: the author sees it, a visitor does not.
    assert_eq!(fetch(&w, Some(&w.agent_a), &url).await.status, StatusCode::OK);
    assert_eq!(fetch(&w, None, &url).await.status, StatusCode::NOT_FOUND);
    publish(&w, &public).await;
    let r = fetch(&w, None, &url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    assert!(
        !r.headers.contains_key("content-disposition"),
        "images are shown inline"
    );
    assert_eq!(
        r.headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(r.body, png());

    // An HTML file is never served as a page: sniffed as text, downloaded, sandboxed.
    let r = upload(
        &w,
        &w.agent_a,
        &public,
        "page.html",
        b"<script>alert(1)</script>".to_vec(),
    )
    .await;
    let html_url = r.json()["url"].as_str().unwrap().to_owned();
    let r = fetch(&w, None, &html_url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // An internal article's file: staff only, whatever the URL.
    let internal = article(&w, "internal", vec![]).await;
    publish(&w, &internal).await;
    let url = upload(&w, &w.agent_a, &internal, "runbook.png", png())
        .await
        .json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fetch(&w, Some(&w.agent_b), &url).await.status, StatusCode::OK);
    for who in [None, Some(&w.customer_1), Some(&w.customer_3)] {
        assert_eq!(fetch(&w, who, &url).await.status, StatusCode::NOT_FOUND);
    }
    // One company's article: its customers, not another company's.
    let company = article(&w, "customers", vec![w.sharing_company.to_string()]).await;
    publish(&w, &company).await;
    let url = upload(&w, &w.agent_a, &company, "plan.png", png()).await.json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fetch(&w, Some(&w.customer_1), &url).await.status, StatusCode::OK);
    assert_eq!(
        fetch(&w, Some(&w.customer_3), &url).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(fetch(&w, None, &url).await.status, StatusCode::NOT_FOUND);
    // Made-up and malformed ids answer the same.
    for bad in ["/help/files/afl_AAAAAAAAAAAAAAAAAAAAAA", "/help/files/nonsense"] {
        assert_eq!(fetch(&w, None, bad).await.status, StatusCode::NOT_FOUND);
    }

    // Only those who may manage the article upload.
    for who in [&w.customer_1, &w.auditor, &w.light_a] {
        let r = upload(&w, who, &public, "x.png", png()).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN,
            "{:?}: {}",
            who.role,
            r.status
        );
    }
    // Sealed: the file's bytes are not in the database files.
    let dump = w.db.raw_dump().await.unwrap();
    assert!(
        !dump.windows(18).any(|x| x == b"plaintext-marker-7"),
        "file stored in clear"
    );
}
