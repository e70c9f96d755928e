//! Stopping and crashing under load lose nothing acknowledged. Four API clients create
//! tickets and four SMTP clients send mail while `serve` is told to stop (SIGTERM) or
//! is killed (SIGKILL): afterwards every ticket answered 201 and every message
//! answered 250 is in the database, SMTP sessions that were idle at the stop were told
//! 421, a stop leaves no lease held, and the audit trail verifies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::common::{Server, TestDir, free_port, query_i64};

/// What the load was told "yes" to.
#[derive(Default)]
struct Acknowledged {
    tickets: Vec<String>,
    messages: usize,
    saw_421: bool,
}

/// Creates tickets until told to stop (bounded in count), keeping the ids answered 201.
pub(super) async fn api_client(
    server: Arc<Server>,
    token: String,
    requester: String,
    stopping: Arc<AtomicBool>,
) -> Vec<String> {
    let mut created = Vec::new();
    for i in 0..3000 {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let body = serde_json::json!({"subject": format!("load {i}"), "body": "under load", "requester_id": requester});
        match server
            .api("POST", "/api/v1/tickets", Some(&token), Some(&body))
            .await
        {
            Ok(r) if r.status == 201 => created.push(r.json()["id"].as_str().unwrap_or_default().to_owned()),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    created
}

/// The last line of a (possibly multi-line) reply; `None` when the connection ends.
async fn reply(io: &mut BufReader<tokio::net::TcpStream>) -> Option<String> {
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(20), io.read_line(&mut line)).await;
        match read {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some(line);
        }
    }
}

async fn command(io: &mut BufReader<tokio::net::TcpStream>, line: &str) -> Option<String> {
    io.get_mut().write_all(line.as_bytes()).await.ok()?;
    reply(io).await
}

/// Sends messages from 127.0.0.2 (which the test's SPF record allows) until the server
/// goes away; counts the 250s after DATA and notices a 421.
pub(super) async fn smtp_client(port: u16, client: usize, stopping: Arc<AtomicBool>) -> (usize, bool) {
    let (mut accepted, mut saw_421) = (0, false);
    'sessions: for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
        socket
            .bind("127.0.0.2:0".parse().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let Ok(stream) = socket.connect(([127, 0, 0, 1], port).into()).await else {
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut io = BufReader::new(stream);
        if reply(&mut io).await.is_none_or(|r| !r.starts_with("220")) {
            continue;
        }
        if command(&mut io, "EHLO client.customer.test\r\n").await.is_none() {
            continue;
        }
        for n in 0..25 {
            let steps = [
                "MAIL FROM:<ann@customer.test>\r\n".to_owned(),
                "RCPT TO:<support@desk.test>\r\n".to_owned(),
                "DATA\r\n".to_owned(),
                format!(
                    "From: Ann <ann@customer.test>\r\nTo: support@desk.test\r\nSubject: load {client}-{n}\r\n\
                     Message-ID: <load-{client}-{n}-{}@customer.test>\r\n\r\nPlease help.\r\n.\r\n",
                    super::common::random_hex(6)
                ),
            ];
            for (i, step) in steps.iter().enumerate() {
                let Some(answer) = command(&mut io, step).await else {
                    continue 'sessions;
                };
                if answer.starts_with("421") {
                    saw_421 = true;
                    continue 'sessions;
                }
                if i == 3 && answer.starts_with("250") {
                    accepted += 1;
                }
            }
        }
        let _ = command(&mut io, "QUIT\r\n").await;
        if stopping.load(Ordering::SeqCst) {
            break;
        }
    }
    (accepted, saw_421)
}

async fn load_then(dir: &TestDir, smtp_port: u16, kill: bool) -> Acknowledged {
    let email = format!("ada-{}@example.com", super::common::random_hex(4));
    let setup = dir.create_admin(&email, "Ada");
    let server = dir.serve().await;
    let token = server.admin_token(&setup, &email).await;
    let requester = server
        .create_customer(
            &token,
            &format!("bo-{}@customer.test", super::common::random_hex(4)),
        )
        .await;
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let api: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(api_client(
                server.clone(),
                token.clone(),
                requester.clone(),
                stopping.clone(),
            ))
        })
        .collect();
    let smtp: Vec<_> = (0..4)
        .map(|c| tokio::spawn(smtp_client(smtp_port, c, stopping.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stopping.store(true, Ordering::SeqCst);
    server.signal(if kill {
        rustix::process::Signal::KILL
    } else {
        rustix::process::Signal::TERM
    });
    let mut acknowledged = Acknowledged::default();
    for task in api {
        acknowledged
            .tickets
            .extend(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    for task in smtp {
        let (accepted, saw_421) = task.await.unwrap_or_else(|e| panic!("{e}"));
        acknowledged.messages += accepted;
        acknowledged.saw_421 |= saw_421;
    }
    let mut server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("the load still holds the server"));
    let status = server.exited(Duration::from_secs(30)).await;
    assert_eq!(status.success(), !kill, "{status}\n--- stderr\n{}", server.log());
    acknowledged
}

async fn assert_nothing_lost(dir: &TestDir, acknowledged: &Acknowledged, mail_before: i64) {
    assert!(
        acknowledged.tickets.len() > 10 && acknowledged.messages > 5,
        "the load did not get going: {} tickets, {} messages",
        acknowledged.tickets.len(),
        acknowledged.messages
    );
    for id in &acknowledged.tickets {
        assert_eq!(
            query_i64(dir, &format!("SELECT COUNT(*) FROM tickets WHERE id = '{id}'")).await,
            1,
            "ticket {id} was answered 201 and is gone"
        );
    }
    let mail = query_i64(dir, "SELECT COUNT(*) FROM received_messages").await - mail_before;
    assert!(
        mail >= i64::try_from(acknowledged.messages).unwrap_or(i64::MAX),
        "{} messages were answered 250, {mail} are stored",
        acknowledged.messages
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_and_sigkill_under_smtp_and_api_load_lose_nothing_acknowledged() {
    let dns = palisade_testkit::dns::DnsServer::start(&[("customer.test", "v=spf1 ip4:127.0.0.2 -all")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let smtp_port = free_port();
    let dir = TestDir::new("durability").with_config(&format!(
        "[smtp]\nlisten = \"127.0.0.1:{smtp_port}\"\nnameservers = [\"{}\"]\nmessages_per_minute_per_ip = 100000\n\
         max_connections_per_ip = 16\n\n[[mailbox]]\naddress = \"support@desk.test\"\nteam = \"Support\"\n",
        dns.addr
    ));

    // A stop: drained, nothing lost, idle sessions told 421, no lease left behind.
    let stopped = load_then(&dir, smtp_port, false).await;
    assert_nothing_lost(&dir, &stopped, 0).await;
    assert!(stopped.saw_421, "sessions open at the stop were told 421");
    let mut conn = super::common::open_db(&dir).await;
    let held: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, COALESCE(lease_owner, '') FROM event_subscriptions WHERE lease_until > 0",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(held.is_empty(), "every lease was given back: {held:?}");
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after SIGTERM under load");

    // A crash: whatever was acknowledged survives it.
    let before = query_i64(&dir, "SELECT COUNT(*) FROM received_messages").await;
    let crashed = load_then(&dir, smtp_port, true).await;
    assert_nothing_lost(&dir, &crashed, before).await;
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after SIGKILL under load");
}
