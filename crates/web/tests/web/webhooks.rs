//! Signed webhooks, end to end, on SQLite and PostgreSQL: an administrator registers an
//! endpoint (after a fresh sign-in) running as team A's agent; ticket events queue
//! deliveries; a receiver built on the `standardwebhooks` library from PyPI verifies
//! every one. The attacks: other roles and stale sessions registering, destinations
//! that are internal or plain http, a receiver down for a while (nothing lost, each
//! ticket's events in order), a ticket the endpoint's account may not read (never
//! sent), altered and re-timed deliveries (refused by the receiver), names that resolve
//! to 127.0.0.1 or 169.254.169.254 and a redirect (never followed, never connected).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use common::World;
use palisade_core::{ManualClock, Role, UnixMillis};
use palisade_service::{WebhookHosts, WebhookSender};
use palisade_testkit::Backend;
use palisade_testkit::webhook_receiver::WebhookReceiver;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    webhooks_reach_an_independent_receiver_signed_in_order_and_bounded_by_the_account
);

async fn sender(w: &World, client: palisade_outbound::HttpClient) -> WebhookSender {
    WebhookSender::new(w.state.desk().clone(), client, "test-node")
}

fn loopback_client() -> palisade_outbound::HttpClient {
    palisade_outbound::HttpClient::new(None)
        .unwrap()
        .trust_host("http://127.0.0.1")
}

async fn deliveries(w: &World, endpoint: &str) -> Vec<Value> {
    let r = w.get(&w.admin, &format!("/api/v1/webhooks/{endpoint}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["deliveries"].as_array().unwrap().clone()
}

async fn webhooks_reach_an_independent_receiver_signed_in_order_and_bounded_by_the_account(backend: Backend) {
    let clock = ManualClock::at(UnixMillis::now());
    let w = World::new(backend)
        .await
        .with_clock(clock.clone())
        .with_config(|c| c.webhook_hosts = WebhookHosts(vec!["127.0.0.1".into()]))
        .with_webhooks()
        .await;
    let receiver = WebhookReceiver::start().await.unwrap();
    let hook = json!({"name": "CRM", "url": receiver.url("/hook"),
                      "event_types": ["message.added", "ticket.status_changed"],
                      "run_as_id": w.agent_a.id.to_string()});

    // Attack: anyone but an administrator registers or lists endpoints.
    for who in [&w.supervisor, &w.agent_a, &w.auditor, &w.customer_1] {
        let r = w.json(who, "POST", "/api/v1/webhooks", hook.clone()).await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.text()
        );
        let r = w.get(who, "/api/v1/webhooks").await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.text()
        );
    }
    // Attack: an administrator's session signed in an hour ago registers nothing.
    let stale = common::session_signed_in_at(
        &w.store,
        w.admin.id.clone(),
        Role::Admin,
        UnixMillis(UnixMillis::now().0 - 3_600_000),
    )
    .await;
    let r = w.json(&stale, "POST", "/api/v1/webhooks", hook.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Refused: internal or plain-http destinations the operator did not allow, and
    // events the desk does not send; not found: a customer to run as.
    for (field, value, status) in [
        (
            "url",
            json!("http://hooks.example.test/x"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "url",
            json!("https://169.254.169.254/latest/meta-data/"),
            StatusCode::BAD_REQUEST,
        ),
        ("url", json!("https://10.0.0.8/hook"), StatusCode::BAD_REQUEST),
        ("url", json!("http://localhost:9/hook"), StatusCode::BAD_REQUEST),
        (
            "url",
            json!("https://user:pw@hooks.example.test/x"),
            StatusCode::BAD_REQUEST,
        ),
        ("event_types", json!(["user.signed_in"]), StatusCode::BAD_REQUEST),
        ("event_types", json!([]), StatusCode::BAD_REQUEST),
        (
            "run_as_id",
            json!(w.customer_1.id.to_string()),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let mut body = hook.clone();
        body[field] = value.clone();
        let r = w.json(&w.admin, "POST", "/api/v1/webhooks", body).await;
        assert_eq!(r.status, status, "{field} {value}: {}", r.text());
    }

    let r = w.json(&w.admin, "POST", "/api/v1/webhooks", hook.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let endpoint = r.json()["endpoint"]["id"].as_str().unwrap().to_owned();
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // Shown once: never in a listing or the endpoint's page.
    let listed = w.get(&w.admin, "/api/v1/webhooks").await;
    assert!(!listed.text().contains(&secret[6..]));
    assert!(
        !w.get(&w.admin, &format!("/api/v1/webhooks/{endpoint}"))
            .await
            .text()
            .contains(&secret[6..])
    );
    receiver.set_secret(&secret).await.unwrap();

    // The receiver is down while team A's ticket gets a reply, a note and a new status,
    // and team B's ticket (which the endpoint's account may not read) a reply.
    receiver.set_mode("down").await.unwrap();
    let messages = format!("/api/v1/tickets/{}/messages", w.ticket_1);
    for (body, visibility) in [("First answer", "public"), ("Checked the order", "internal")] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                &messages,
                json!({"body": body, "visibility": visibility}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(
            &w.agent_b,
            "POST",
            &format!("/api/v1/tickets/{}/messages", w.ticket_3),
            json!({"body": "Team B only", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    w.dispatch().await;
    let queued = deliveries(&w, &endpoint).await;
    assert_eq!(queued.len(), 4, "{queued:?}");

    let sender = sender(&w, loopback_client()).await;
    sender.run_once().await.unwrap();
    let seen = receiver.received().await.unwrap();
    // One attempt for ticket 1 (its later events wait behind the first) and none
    // needed for ticket 3's, which is skipped without being sent.
    assert_eq!(seen["attempts"], 1, "{seen}");
    let now = deliveries(&w, &endpoint).await;
    let skipped: Vec<&Value> = now.iter().filter(|d| d["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{now:?}");
    assert_eq!(skipped[0]["ticket_id"], w.ticket_3.as_str());
    assert!(
        now.iter()
            .any(|d| d["status"] == "pending" && d["last_status"] == 503),
        "{now:?}"
    );

    // Up again: retries come with the back-off; over a day nothing is lost.
    receiver.set_mode("up").await.unwrap();
    for _ in 0..12 {
        clock.advance_secs(3 * 3600);
        sender.run_once().await.unwrap();
        if deliveries(&w, &endpoint)
            .await
            .iter()
            .all(|d| d["status"] != "pending")
        {
            break;
        }
    }
    let seen = receiver.received().await.unwrap();
    let received = seen["received"].as_array().unwrap();
    assert_eq!(received.len(), 3, "{seen}");
    for r in received {
        assert_eq!(r["verified"], true, "the library verified it: {r}");
    }
    let kinds: Vec<&str> = received
        .iter()
        .map(|r| r["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["message.added", "message.added", "ticket.status_changed"],
        "in order"
    );
    let first = &received[0]["payload"]["data"];
    assert_eq!(first["ticket"]["id"], w.ticket_1.as_str());
    assert_eq!(first["message"]["body"], "First answer");
    assert_eq!(first["message"]["visibility"], "public");
    // The agent may read internal notes, so the endpoint is told of them.
    assert_eq!(
        received[1]["payload"]["data"]["message"]["visibility"],
        "internal"
    );
    assert_eq!(received[2]["payload"]["data"]["change"]["to"], "pending");
    assert!(
        !seen.to_string().contains("Team B only"),
        "team B's reply never left"
    );
    let ids: std::collections::BTreeSet<&str> = received.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);

    // Attack: a delivery altered on the way, or its timestamp moved, fails the
    // receiver's check; the original still passes (the receiver's idempotency is by id).
    let original = &received[0];
    let headers = |timestamp: &str| {
        vec![
            (
                "webhook-id".to_owned(),
                original["id"].as_str().unwrap().to_owned(),
            ),
            ("webhook-timestamp".to_owned(), timestamp.to_owned()),
            (
                "webhook-signature".to_owned(),
                original["signature"].as_str().unwrap().to_owned(),
            ),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]
    };
    let send = |h: Vec<(String, String)>, body: String| {
        let receiver = &receiver;
        async move {
            let pairs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            receiver
                .post("/hook", &pairs, body.as_bytes())
                .await
                .unwrap()
                .status
        }
    };
    let timestamp = original["timestamp"].as_str().unwrap();
    let body = original["body"].as_str().unwrap().to_owned();
    assert_eq!(send(headers(timestamp), body.clone()).await, 204);
    let altered = body.replace("First answer", "Refund approved");
    assert_ne!(altered, body);
    assert_eq!(send(headers(timestamp), altered).await, 401);
    let later = (timestamp.parse::<i64>().unwrap() + 60).to_string();
    assert_eq!(send(headers(&later), body).await, 401);

    // Rotation: the old secret signs beside the new one for a day, so a receiver that
    // still has the old one verifies; one with the new one verifies too.
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/webhooks/{endpoint}/secret"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rotated = r.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    assert!(r.json()["endpoint"]["previous_secret_until"].is_string());
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    sender.run_once().await.unwrap();
    let seen = receiver.received().await.unwrap();
    let last = seen["received"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["verified"], true, "old secret still verifies: {last}");
    assert_eq!(last["signature"].as_str().unwrap().split(' ').count(), 2);
    receiver.set_secret(&rotated).await.unwrap();
    let h: Vec<(String, String)> = vec![
        ("webhook-id".into(), last["id"].as_str().unwrap().into()),
        (
            "webhook-timestamp".into(),
            last["timestamp"].as_str().unwrap().into(),
        ),
        (
            "webhook-signature".into(),
            last["signature"].as_str().unwrap().into(),
        ),
    ];
    assert_eq!(
        send(h, last["body"].as_str().unwrap().to_owned()).await,
        204,
        "new secret verifies"
    );

    // A delivery sent again keeps its id (receivers deduplicate by it).
    let delivered = deliveries(&w, &endpoint).await;
    let again = delivered.iter().find(|d| d["status"] == "delivered").unwrap();
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!(
                "/api/v1/webhooks/{endpoint}/deliveries/{}/redeliver",
                again["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    sender.run_once().await.unwrap();
    let seen = receiver.received().await.unwrap();
    let resent = seen["received"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(resent["id"], again["id"]);

    // Paused: what happens meanwhile is queued and waits; enabled again, it is sent.
    let mut paused = hook.clone();
    paused["enabled"] = json!(false);
    let r = w
        .json(&w.admin, "PUT", &format!("/api/v1/webhooks/{endpoint}"), paused)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({"body": "While paused", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    w.dispatch().await;
    let before = receiver.received().await.unwrap()["attempts"].as_i64().unwrap();
    sender.run_once().await.unwrap();
    assert_eq!(
        receiver.received().await.unwrap()["attempts"].as_i64().unwrap(),
        before,
        "nothing sent while paused"
    );
    assert_eq!(deliveries(&w, &endpoint).await[0]["status"], "pending");
    let r = w
        .json(
            &w.admin,
            "PUT",
            &format!("/api/v1/webhooks/{endpoint}"),
            hook.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    sender.run_once().await.unwrap();
    let last = receiver.received().await.unwrap()["received"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["payload"]["data"]["message"]["body"], "While paused");

    // The account disabled: nothing more is sent as it.
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/users/{}/disable", w.agent_a.id),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    let before = receiver.received().await.unwrap()["attempts"].as_i64().unwrap();
    sender.run_once().await.unwrap();
    assert_eq!(
        receiver.received().await.unwrap()["attempts"].as_i64().unwrap(),
        before
    );
    let newest = deliveries(&w, &endpoint).await;
    assert_eq!(newest[0]["status"], "failed", "{newest:?}");

    // Every change to the endpoint is in the verified audit trail.
    let trail = w.get(&w.auditor, "/api/v1/audit").await;
    let text = trail.text();
    for action in [
        "integrations.webhook_created",
        "integrations.webhook_secret_rotated",
        "integrations.webhook_redelivered",
    ] {
        assert!(text.contains(action), "{action}");
    }
}

#[tokio::test]
async fn webhooks_never_reach_internal_addresses_by_name_or_redirect() {
    let dns = palisade_testkit::dns::DnsServer::start_with_addresses(
        &[],
        &[
            ("rebind.test", "127.0.0.1".parse().unwrap()),
            ("metadata.test", "169.254.169.254".parse().unwrap()),
        ],
    )
    .await
    .unwrap();
    let w = World::new(Backend::Sqlite)
        .await
        .with_config(|c| c.webhook_hosts = WebhookHosts(vec!["127.0.0.1".into()]))
        .with_webhooks()
        .await;
    let receiver = WebhookReceiver::start().await.unwrap();
    // A loopback server the redirect points at: it must never be connected to.
    let bait = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bait_port = bait.local_addr().unwrap().port();
    let bait_hits = Arc::new(AtomicUsize::new(0));
    let hits = bait_hits.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = bait.accept().await {
            hits.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut endpoints = Vec::new();
    for url in [
        format!("https://rebind.test:{}/hook", receiver.port),
        "https://metadata.test/latest/meta-data/".to_owned(),
        receiver.url("/hook"),
    ] {
        // Names are accepted (they are judged on what they resolve to, when sending).
        let body = json!({"name": "Probe", "url": url, "event_types": ["message.added"],
                          "run_as_id": w.admin.id.to_string()});
        let r = w.json(&w.admin, "POST", "/api/v1/webhooks", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        endpoints.push(r.json()["endpoint"]["id"].as_str().unwrap().to_owned());
        receiver
            .set_secret(r.json()["secret"].as_str().unwrap())
            .await
            .unwrap();
    }
    receiver
        .set_mode(&format!(
            "redirect http://127.0.0.1:{bait_port}/latest/meta-data/"
        ))
        .await
        .unwrap();
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{}/messages", w.ticket_1),
            json!({"body": "Hello", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    w.dispatch().await;
    let client = loopback_client().resolving_with(&[dns.addr]).unwrap();
    sender(&w, client).await.run_once().await.unwrap();

    for endpoint in &endpoints[..2] {
        let d = deliveries(&w, endpoint).await;
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0]["status"], "pending",
            "retried later, judged again then: {d:?}"
        );
        assert!(
            d[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("not a public address"),
            "{d:?}"
        );
    }
    let redirected = deliveries(&w, &endpoints[2]).await;
    assert_eq!(redirected[0]["last_status"], 307, "{redirected:?}");
    assert!(redirected[0]["last_error"].as_str().unwrap().contains("redirect"));
    // The receiver saw exactly one request (the redirect it answered); the name that
    // resolves to its address never reached it, and the redirect was not followed.
    assert_eq!(receiver.received().await.unwrap()["attempts"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(bait_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_administrator_manages_webhooks_in_the_pages() {
    let w = World::new(Backend::Sqlite).await;
    let page = w.get(&w.admin, "/admin/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("id=\"webhook-form\""));
    assert!(
        page.text().contains("/admin/webhooks/"),
        "the fixture's endpoint is listed"
    );
    // Refused with what was typed kept.
    let r = w
        .form(&w.admin, "/admin/webhooks",
              &format!("name=Billing&url=http%3A%2F%2Fbilling.example.test%2Fh&event=ticket.created&run_as={}&enabled=on", w.admin.id))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("billing.example.test"));
    let r = w
        .form(&w.admin, "/admin/webhooks",
              &format!("name=Billing&url=https%3A%2F%2Fbilling.example.test%2Fh&event=ticket.created&event=message.added&run_as={}&enabled=on", w.admin.id))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let text = r.text();
    assert!(text.contains("id=\"webhook-secret\""));
    assert!(text.contains("whsec_"));
    let listed = w.get(&w.admin, "/api/v1/webhooks").await.json();
    let billing = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Billing")
        .unwrap()
        .clone();
    assert_eq!(billing["event_types"], json!(["ticket.created", "message.added"]));
    let id = billing["id"].as_str().unwrap();
    // The endpoint's page: the secret is not shown again; pausing it is a change.
    let page = w.get(&w.admin, &format!("/admin/webhooks/{id}")).await;
    assert!(!page.text().contains("whsec_"));
    let r = w
        .form(
            &w.admin,
            &format!("/admin/webhooks/{id}"),
            &format!(
                "name=Billing&url=https%3A%2F%2Fbilling.example.test%2Fh&event=ticket.created&run_as={}",
                w.admin.id
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let now = w.get(&w.admin, &format!("/api/v1/webhooks/{id}")).await.json();
    assert_eq!(now["endpoint"]["enabled"], false);
    // The fixture's given-up delivery can be sent again from its endpoint's page.
    let page = w.get(&w.admin, &format!("/admin/webhooks/{}", w.webhook)).await;
    assert!(page.text().contains(&w.webhook_delivery));
    let r = w
        .form(
            &w.admin,
            &format!(
                "/admin/webhooks/{}/deliveries/{}/redeliver",
                w.webhook, w.webhook_delivery
            ),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = w
        .form(&w.admin, &format!("/admin/webhooks/{id}/secret"), "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("whsec_"));
    let r = w
        .form(&w.admin, &format!("/admin/webhooks/{id}/delete"), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get(&w.admin, &format!("/api/v1/webhooks/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Not an administrator's page for anyone else.
    for who in [&w.supervisor, &w.agent_a, &w.customer_1] {
        let r = w.get(who, "/admin/webhooks").await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.status
        );
    }
}
