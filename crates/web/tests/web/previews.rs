//! Image previews on SQLite and PostgreSQL: a PNG attached to a ticket is shown inline
//! on its page from a sandboxed response with the download's decision. Beside it, the
//! attacks: script dressed as an image (an SVG or HTML named `.png`) gets no preview,
//! a customer of another company and a customer asking for an internal image get
//! nothing, and an image never previews as anything but its sniffed type.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{TINY_PNG, World};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(
    a_png_previews_from_a_sandboxed_response,
    script_dressed_as_an_image_and_other_peoples_images_get_no_preview
);

async fn a_png_previews_from_a_sandboxed_response(backend: Backend) {
    let w = World::new(backend).await;
    let r = w
        .get(
            &w.customer_1,
            &format!("/api/v1/attachments/{}/preview", w.public_image),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.body, TINY_PNG);
    assert_eq!(r.headers["content-type"], "image/png");
    assert_eq!(r.headers["content-disposition"], "inline");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["cross-origin-resource-policy"], "same-origin");

    let page = w
        .get(&w.customer_1, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(
        page.contains(&format!(
            "<img src=\"/api/v1/attachments/{}/preview\" alt=\"Preview of screenshot.png\"",
            w.public_image
        )),
        "{page}"
    );
    // The text file is a download only.
    assert!(!page.contains(&format!("/api/v1/attachments/{}/preview", w.public_attachment)));
    let r = w
        .get(
            &w.customer_1,
            &format!("/api/v1/attachments/{}/preview", w.public_attachment),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn script_dressed_as_an_image_and_other_peoples_images_get_no_preview(backend: Backend) {
    let w = World::new(backend).await;
    let upload = |name: &str, content: Vec<u8>, visibility: &str| {
        let path = format!(
            "/api/v1/tickets/{}/attachments?filename={name}&visibility={visibility}",
            w.ticket_1
        );
        let w = &w;
        async move {
            let r = w
                .raw(Some(&w.agent_a), "POST", &path, Body::from(content), &[])
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let svg = upload(
        "chart.png",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.cookie)</script></svg>".to_vec(),
        "public",
    )
    .await;
    let html = upload(
        "photo.png",
        b"<html><body><script>alert(1)</script></body></html>".to_vec(),
        "public",
    )
    .await;
    for id in [&svg, &html] {
        let r = w
            .get(&w.agent_a, &format!("/api/v1/attachments/{id}/preview"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
        // The download still is one: a sandboxed attachment of its sniffed type.
        let r = w.get(&w.agent_a, &format!("/api/v1/attachments/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        let kind = r.headers["content-type"].to_str().unwrap();
        assert!(
            !kind.starts_with("image/") && !kind.contains("html") && !kind.contains("svg"),
            "{kind}"
        );
        assert!(
            r.headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
    }
    let internal = upload("analysis.png", TINY_PNG.to_vec(), "internal").await;
    let r = w
        .get(&w.agent_a, &format!("/api/v1/attachments/{internal}/preview"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "staff preview internal images");
    for (who, id) in [
        (&w.customer_1, &internal),
        (&w.customer_3, &w.public_image),
        (&w.auditor, &w.public_image),
    ] {
        let r = w.get(who, &format!("/api/v1/attachments/{id}/preview")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
    let page = w
        .get(&w.customer_1, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(
        !page.contains(&internal),
        "a customer's page never names an internal image"
    );
}
