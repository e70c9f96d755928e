//! Every file is scanned by a real clamd before anyone may download it, on SQLite and
//! PostgreSQL: the EICAR test file sent through the API and through the ticket page's
//! form is kept but blocked for everyone (and still invisible to those who may not
//! read the ticket), the page says why, an alert is raised; while the scanner is
//! down files wait (503, never served unscanned) and the page says so, and the sweep
//! serves them once it is back.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, MULTIPART_TYPE, World, multipart_file};
use palisade_testkit::Backend;
use palisade_testkit::clamd::{Clamd, EICAR, EICAR_SIGNATURE};

palisade_testkit::on_both_backends!(
    infected_files_are_blocked_by_every_channel,
    files_wait_while_the_scanner_is_down
);

fn scanner(endpoint: &str) -> palisade_scan::Scanner {
    palisade_scan::Scanner::new(
        palisade_scan::Endpoint::parse(endpoint).unwrap(),
        std::time::Duration::from_secs(30),
    )
}

async fn upload(w: &World, who: &Actor, ticket: &str, name: &str, content: &[u8]) -> common::Response {
    w.raw(
        Some(who),
        "POST",
        &format!("/api/v1/tickets/{ticket}/attachments?filename={name}"),
        Body::from(content.to_vec()),
        &[("content-type", "application/octet-stream")],
    )
    .await
}

async fn attach_in_page(
    w: &World,
    who: &Actor,
    ticket: &str,
    name: &str,
    content: &[u8],
) -> common::Response {
    w.raw(
        Some(who),
        "POST",
        &format!("/tickets/{ticket}/files"),
        Body::from(multipart_file(name, content)),
        &[("content-type", MULTIPART_TYPE)],
    )
    .await
}

/// The ticket's files as the API lists them to `who`, by name.
async fn listed(w: &World, who: &Actor, ticket: &str, name: &str) -> serde_json::Value {
    let r = w.get(who, &format!("/api/v1/tickets/{ticket}/attachments")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {}", r.text()))
}

fn problem_type(r: &common::Response) -> String {
    r.json()["type"].as_str().unwrap_or_default().to_owned()
}

async fn infected_files_are_blocked_by_every_channel(backend: Backend) {
    let clamd = Clamd::start().await.unwrap();
    let w = World::new(backend)
        .await
        .with_config(|c| c.scanner = Some(scanner(&clamd.endpoint)));
    let ticket = w.ticket_1.clone();

    // Through the API, named and typed as a statement.
    let r = upload(&w, &w.customer_1, &ticket, "statement.pdf", EICAR).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["scan"], "infected");
    assert_eq!(r.json()["scan_finding"], EICAR_SIGNATURE);
    let by_api = r.json()["download_url"].as_str().unwrap().to_owned();

    // Through the ticket page's form.
    let r = attach_in_page(&w, &w.customer_1, &ticket, "photo.jpg", EICAR).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let by_page = listed(&w, &w.customer_1, &ticket, "photo.jpg").await;
    assert_eq!(by_page["scan"], "infected");

    // A clean file beside them is served at once.
    let r = attach_in_page(&w, &w.customer_1, &ticket, "paid-in-full.txt", b"Paid in full.\n").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let clean = listed(&w, &w.customer_1, &ticket, "paid-in-full.txt").await;
    assert_eq!(clean["scan"], "clean");
    let r = w
        .get(&w.customer_1, clean["download_url"].as_str().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, b"Paid in full.\n");

    // Blocked for the uploader, the agent and the administrator alike.
    for url in [by_api.as_str(), by_page["download_url"].as_str().unwrap()] {
        for who in [&w.customer_1, &w.agent_a, &w.admin] {
            let r = w.get(who, url).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{url}: {}", r.text());
            assert!(problem_type(&r).ends_with("/file-blocked"), "{}", r.text());
            assert!(!r.body.windows(EICAR.len()).any(|x| x == EICAR));
        }
        // Someone who may not read the ticket learns nothing, not even that it is blocked.
        for who in [&w.customer_3, &w.agent_b] {
            assert_eq!(w.get(who, url).await.status, StatusCode::NOT_FOUND);
        }
    }

    // The page names the finding and offers no link to the file.
    let page = w.get(&w.agent_a, &format!("/tickets/{ticket}")).await.text();
    assert!(
        page.contains(&format!(
            "blocked: matched the malware signature {EICAR_SIGNATURE}"
        )),
        "{page}"
    );
    let blocked_id = by_api.rsplit('/').next().unwrap();
    assert!(!page.contains(&format!("/api/v1/attachments/{blocked_id}")));
    assert!(page.contains(&format!("/api/v1/attachments/{}", clean["id"].as_str().unwrap())));

    // One alert per infected file, for the administrators.
    let alerts = w.store.security_alerts(20).await.unwrap();
    let malware: Vec<_> = alerts.iter().filter(|a| a.kind == "malware").collect();
    assert_eq!(malware.len(), 2, "{alerts:?}");
    assert!(
        malware
            .iter()
            .all(|a| a.source == ticket && a.detail.contains(EICAR_SIGNATURE))
    );
}

async fn files_wait_while_the_scanner_is_down(backend: Backend) {
    let clamd = Clamd::start().await.unwrap();
    let w = World::new(backend)
        .await
        .with_config(|c| c.scanner = Some(scanner("unix:/nonexistent/palisade-test/clamd.sock")));
    let ticket = w.ticket_1.clone();

    let r = upload(&w, &w.customer_1, &ticket, "letter.txt", b"Dear desk,\n").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["scan"], "pending");
    let url = r.json()["download_url"].as_str().unwrap().to_owned();
    let r = upload(&w, &w.customer_1, &ticket, "invoice.pdf", EICAR).await;
    let infected_url = r.json()["download_url"].as_str().unwrap().to_owned();

    // Fail closed: nothing unscanned is served, and the client is told to come back.
    for u in [&url, &infected_url] {
        let r = w.get(&w.agent_a, u).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
        assert!(problem_type(&r).ends_with("/scan-pending"));
        assert_eq!(r.headers.get("retry-after").unwrap(), "30");
    }
    let page = w.get(&w.customer_1, &format!("/tickets/{ticket}")).await.text();
    assert!(page.contains("The malware scanner is not answering"), "{page}");
    assert!(page.contains("waiting for the malware scan"));

    // The scanner is back: the sweep judges what waited, and only the clean file is served.
    let w = w.with_config(|c| c.scanner = Some(scanner(&clamd.endpoint)));
    let round = w.state.desk().scan_waiting().await.unwrap();
    assert_eq!(round.infected, 1);
    assert!(round.clean >= 1, "{round:?}");
    let r = w.get(&w.agent_a, &url).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.body, b"Dear desk,\n");
    assert_eq!(
        w.get(&w.agent_a, &infected_url).await.status,
        StatusCode::FORBIDDEN
    );
    let page = w.get(&w.customer_1, &format!("/tickets/{ticket}")).await.text();
    assert!(!page.contains("The malware scanner is not answering"));
}
