//! `[metrics]`: Prometheus scrapes its own loopback listener; requests are counted by
//! route template (never the path's ids), committed audit entries show sign-in
//! failures, the backlog and pool gauges are read at the scrape, and no label carries
//! an address, an id or an email. Without `[metrics]`, nothing listens.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::common::{TestDir, free_port};

async fn scrape(port: u16) -> std::io::Result<(String, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .map_err(|_| std::io::Error::other("scrape timed out"))??;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok((head.to_owned(), body.to_owned()))
}

fn value(text: &str, line: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line} not in:\n{text}"))
}

#[tokio::test]
async fn prometheus_sees_templates_audit_counts_and_gauges_but_no_personal_data() {
    let port = free_port();
    let dir = TestDir::new("metrics").with_config(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    dir.create_admin("ada.lovelace@example.com", "Ada");
    let mut server = dir.serve().await;

    let probe = "tkt_probe0123456789abcdef";
    let r = server
        .api("GET", &format!("/api/v1/tickets/{probe}"), None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let r = server
        .post_json(
            "/api/v1/sessions",
            &serde_json::json!({"email": "ada.lovelace@example.com", "password": "not her password at all"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);

    // The dispatcher's first round (once a second) puts its subscribers on the board.
    let mut tries = 0;
    let (head, text) = loop {
        let (head, text) = scrape(port).await.unwrap();
        tries += 1;
        if text.contains("palisade_event_backlog{") || tries == 40 {
            break (head, text);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert_eq!(
        value(
            &text,
            r#"palisade_http_requests_total{route="/api/v1/tickets/{id}",method="GET",status="401"}"#
        ),
        1.0
    );
    assert!(
        value(
            &text,
            r#"palisade_audit_entries_total{action="auth.sign_in",outcome="failure"}"#
        ) >= 1.0
    );
    assert_eq!(value(&text, r#"palisade_peer_up{name="database"}"#), 1.0);
    assert!(
        value(
            &text,
            r#"palisade_database_pool_connections{pool="read",state="open"}"#
        ) >= 1.0
    );
    value(&text, "palisade_outbox_queued");
    value(&text, r#"palisade_event_backlog{name="security_notices"}"#);
    for private in [probe, "ada.lovelace", "example.com", "127.0.0.1"] {
        assert!(!text.contains(private), "{private} in the metrics:\n{text}");
    }
    // The desk's own listener does not serve them.
    let r = server.get(&rustls::version::TLS13, "/metrics").await.unwrap();
    assert_eq!(r.status, 404);
    assert!(server.terminate(Duration::from_secs(20)).success());
}

#[tokio::test]
async fn without_a_metrics_section_nothing_listens() {
    let dir = TestDir::new("no-metrics");
    dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    assert!(
        !server.log().contains("serving Prometheus metrics"),
        "{}",
        server.log()
    );
    assert!(server.terminate(Duration::from_secs(20)).success());
}
