//! The SMTP listener against real clients on loopback — `swaks` and raw TCP — with a
//! real DNS server (dnsmasq) for the sender checks: genuine mail is accepted with its
//! verdict, forged mail is accepted only as unauthenticated (for quarantine), and the
//! protocol attacks are refused before anything is handed over: unknown and forged
//! recipients (550), SMTP smuggling with bare LF, several `From` fields, oversized
//! messages, commands pipelined behind STARTTLS; DNS failure defers (451).

use std::process::Command as Process;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_core::EmailAddress;
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{
    Accepted, AuthMethod, Deliver, ListenerSettings, Reception, Recipient, ReplyKeys, SenderVerifier,
    SmtpListener, Threading, Verdict,
};
use palisade_store::Store;
use palisade_testkit::dns::DnsServer;
use palisade_testkit::{Backend, TestDatabase};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

struct Received {
    recipient: Recipient,
    verdict: Verdict,
    from: String,
}

struct World {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    _dns: DnsServer,
    _db: TestDatabase,
    server: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
    metrics: palisade_metrics::Metrics,
}

async fn world() -> World {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let dns = DnsServer::start(&[("spfonly.test", "v=spf1 ip4:127.0.0.2 -all")])
        .await
        .unwrap();
    let verifier = SenderVerifier::new(&[dns.addr], "mx.desk.test", Duration::from_secs(2)).unwrap();
    let threading = Threading::new(
        store,
        ReplyKeys::default(),
        vec![EmailAddress::parse("support@desk.test").unwrap()],
    );
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let deliver: Deliver = Arc::new(move |accepted: Accepted| {
        let sink = sink.clone();
        Box::pin(async move {
            sink.lock().unwrap().push(Received {
                recipient: accepted.recipient,
                verdict: accepted.verdict,
                from: accepted.message.from.address.as_str().to_owned(),
            });
            Ok(())
        })
    });
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
        )
        .unwrap();
    let listener = SmtpListener::new(
        ListenerSettings {
            hostname: "mx.desk.test".into(),
            max_message_bytes: 20_000,
            max_connections: 16,
            max_connections_per_ip: 3,
            messages_per_minute_per_ip: 60,
            tls: Some(Arc::new(tls)),
            session: palisade_mail::SessionLimits::default(),
        },
        Arc::new(threading),
        Arc::new(Reception::new(Arc::new(verifier), deliver)),
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let metrics = palisade_metrics::Metrics::new();
    let listener = listener.with_shutdown(stopping).with_metrics(metrics.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let server = tokio::spawn(listener.serve(socket));
    World {
        port,
        received,
        _dns: dns,
        _db: db,
        server,
        stop,
        metrics,
    }
}

/// The value of one metric line (`name{labels}`) in the listener's metrics, 0 if absent.
fn counted(w: &World, line: &str) -> u64 {
    w.metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs swaks (blocking, so on a worker thread); returns (exit success, transcript).
async fn swaks(w: &World, args: &[&str]) -> (bool, String) {
    let mut full: Vec<String> = vec![
        "--server".into(),
        "127.0.0.1".into(),
        "--port".into(),
        w.port.to_string(),
        "--ehlo".into(),
        "client.example".into(),
        "--timeout".into(),
        "20".into(),
    ];
    full.extend(args.iter().map(|a| a.to_string()));
    let out = tokio::task::spawn_blocking(move || Process::new("swaks").args(&full).output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

struct Raw {
    io: BufReader<TcpStream>,
}

impl Raw {
    /// Connects from another loopback address (each has its own message rate).
    async fn connect_from(w: &World, ip: &str) -> Raw {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        let stream = socket
            .connect(format!("127.0.0.1:{}", w.port).parse().unwrap())
            .await
            .unwrap();
        let mut raw = Raw {
            io: BufReader::new(stream),
        };
        assert!(raw.reply().await.starts_with("220 "));
        raw
    }

    async fn connect(w: &World) -> Raw {
        let mut raw = Raw {
            io: BufReader::new(TcpStream::connect(("127.0.0.1", w.port)).await.unwrap()),
        };
        assert!(raw.reply().await.starts_with("220 "));
        raw
    }

    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(20), self.io.read_line(&mut line))
                .await
                .unwrap()
                .unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    /// Whether the server closed the connection (EOF before any further reply).
    async fn closed(&mut self) -> bool {
        let mut line = String::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(20), self.io.read_line(&mut line)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    async fn send(&mut self, bytes: &str) -> String {
        self.io.get_mut().write_all(bytes.as_bytes()).await.unwrap();
        self.reply().await
    }

    async fn transaction(&mut self, from: &str) {
        assert!(self.send("EHLO client.example\r\n").await.starts_with("250"));
        self.envelope(from).await;
    }

    /// MAIL, RCPT and DATA for one message to the support mailbox.
    async fn envelope(&mut self, from: &str) {
        assert!(
            self.send(&format!("MAIL FROM:<{from}>\r\n"))
                .await
                .starts_with("250")
        );
        assert!(
            self.send("RCPT TO:<support@desk.test>\r\n")
                .await
                .starts_with("250")
        );
        assert!(self.send("DATA\r\n").await.starts_with("354"));
    }
}

#[tokio::test]
async fn genuine_and_forged_mail_get_their_verdicts_and_protocol_attacks_are_refused() {
    let w = world().await;

    // Genuine: SPF passes for the aligned envelope domain (no DMARC record anywhere).
    let (ok, log) = swaks(
        &w,
        &[
            "--local-interface",
            "127.0.0.2",
            "--from",
            "bob@spfonly.test",
            "--to",
            "support@desk.test",
        ],
    )
    .await;
    assert!(ok, "{log}");
    // Forged: the same From, sent from an address SPF does not list. Accepted, but only
    // as unauthenticated (it goes to quarantine, no auto-reply).
    let (ok, log) = swaks(
        &w,
        &[
            "--local-interface",
            "127.0.0.9",
            "--from",
            "bob@spfonly.test",
            "--to",
            "support@desk.test",
            "--tls",
        ],
    )
    .await;
    assert!(ok, "STARTTLS works too: {log}");
    {
        let got = w.received.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].verdict,
            Verdict::Authenticated(AuthMethod::Spf {
                domain: "spfonly.test".into()
            })
        );
        assert!(matches!(got[0].recipient, Recipient::Mailbox(_)));
        assert!(matches!(got[1].verdict, Verdict::Unauthenticated(_)));
        assert_eq!(got[1].from, "bob@spfonly.test");
    }

    // Unknown mailboxes and guessed or forged reply addresses: 550 at RCPT.
    for to in [
        "nobody@desk.test",
        "support+id42@desk.test",
        "support+raaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@desk.test",
    ] {
        let (ok, log) = swaks(&w, &["--from", "bob@spfonly.test", "--to", to]).await;
        assert!(!ok && log.contains("550"), "{to}: {log}");
    }

    // SMTP smuggling: a bare-LF "end of data" hiding a second message.
    let mut raw = Raw::connect(&w).await;
    raw.transaction("bob@spfonly.test").await;
    let answer = raw
        .send(
            "From: bob@spfonly.test\r\nSubject: hi\r\n\r\nhello\n.\nMAIL FROM:<ceo@spfonly.test>\nRCPT TO:<support@desk.test>\nDATA\nFrom: ceo@spfonly.test\n\nwire money\r\n.\r\n",
        )
        .await;
    assert!(
        answer.starts_with("554") && answer.contains("bare CR or LF"),
        "{answer}"
    );
    assert!(raw.closed().await, "nothing after a framing violation is read");
    // Several From fields.
    let mut raw = Raw::connect(&w).await;
    raw.transaction("bob@spfonly.test").await;
    let answer = raw
        .send("From: bob@spfonly.test\r\nFrom: ceo@spfonly.test\r\n\r\nhi\r\n.\r\n")
        .await;
    assert!(
        answer.starts_with("550") && answer.contains("several From"),
        "{answer}"
    );
    // A command line ending in a bare LF, and a source route.
    assert!(raw.send("NOOP\n").await.starts_with("500"));
    assert!(
        raw.send("MAIL FROM:<@relay.test:bob@spfonly.test>\r\n")
            .await
            .starts_with("553")
    );
    // Too large: announced, and sent anyway.
    assert!(
        raw.send("MAIL FROM:<bob@spfonly.test> SIZE=999999\r\n")
            .await
            .starts_with("552")
    );
    raw.envelope("bob@spfonly.test").await;
    let big = format!(
        "From: bob@spfonly.test\r\n\r\n{}\r\n.\r\n",
        "x".repeat(900).repeat(30).replace("xxxxxxxxxx", "xxxxxxxxx\r\n")
    );
    assert!(raw.send(&big).await.starts_with("552"));
    assert!(raw.send("QUIT\r\n").await.starts_with("221"));

    // Commands pipelined behind STARTTLS are not run inside TLS.
    let mut raw = Raw::connect(&w).await;
    assert!(raw.send("EHLO client.example\r\n").await.contains("STARTTLS"));
    let answer = raw.send("STARTTLS\r\nMAIL FROM:<bob@spfonly.test>\r\n").await;
    assert!(answer.starts_with("220"), "{answer}");
    assert!(raw.reply().await.starts_with("554"));

    assert_eq!(
        w.received.lock().unwrap().len(),
        2,
        "nothing refused was handed over"
    );
    // The metrics saw the two messages taken and the 552s, and name no address.
    assert_eq!(
        counted(&w, r#"palisade_smtp_messages_total{answer="accepted"}"#),
        2
    );
    assert!(counted(&w, r#"palisade_smtp_sessions_total{answer="accepted"}"#) >= 4);
    let text = w.metrics.render();
    assert!(!text.contains("spfonly") && !text.contains("127.0.0"), "{text}");
}

#[tokio::test]
async fn a_dns_failure_defers_instead_of_accepting() {
    let w = world().await;
    let mut raw = Raw::connect(&w).await;
    raw.transaction("dave@broken.test").await;
    let answer = raw
        .send("From: dave@broken.test\r\nSubject: hi\r\n\r\nhello\r\n.\r\n")
        .await;
    assert!(answer.starts_with("451"), "{answer}");
    assert!(w.received.lock().unwrap().is_empty());
    assert_eq!(
        counted(&w, r#"palisade_smtp_messages_total{answer="deferred"}"#),
        1
    );
}

#[tokio::test]
async fn one_client_address_gets_bounded_connections_and_message_rate() {
    let w = world().await;
    // Three connections per address (the test listener's limit); the fourth is refused.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Raw::connect(&w).await);
    }
    let mut extra = BufReader::new(TcpStream::connect(("127.0.0.1", w.port)).await.unwrap());
    let mut line = String::new();
    extra.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("421"), "{line}");
    assert_eq!(
        counted(
            &w,
            r#"palisade_smtp_sessions_total{answer="too_many_from_address"}"#
        ),
        1
    );
    drop(open);
    // The slots come back as the server sees the connections close (bounded wait).
    let mut raw = None;
    for _ in 0..100 {
        let mut io = BufReader::new(TcpStream::connect(("127.0.0.1", w.port)).await.unwrap());
        let mut greeting = String::new();
        io.read_line(&mut greeting).await.unwrap();
        if greeting.starts_with("220") {
            raw = Some(Raw { io });
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut raw = raw.expect("a slot came back");
    // 60 transactions a minute, bursts of 10: the eleventh MAIL in a row must wait.
    assert!(raw.send("EHLO client.example\r\n").await.starts_with("250"));
    for i in 0..10 {
        let r = raw.send("MAIL FROM:<bob@spfonly.test>\r\n").await;
        assert!(r.starts_with("250"), "{i}: {r}");
        assert!(raw.send("RSET\r\n").await.starts_with("250"));
    }
    let r = raw.send("MAIL FROM:<bob@spfonly.test>\r\n").await;
    assert!(r.starts_with("451"), "{r}");
}

/// Every end-of-data variant from the SMTP smuggling research, each hiding a second
/// message behind it: the data is refused at the violation, the connection closed, and
/// neither message is handed over.
#[tokio::test]
async fn every_smuggling_end_of_data_variant_closes_the_connection_and_nothing_is_accepted() {
    let w = world().await;
    let smuggled = "MAIL FROM:<ceo@spfonly.test>\r\nRCPT TO:<support@desk.test>\r\nDATA\r\n\
                    From: ceo@spfonly.test\r\n\r\nwire the money\r\n.\r\n";
    for (i, end) in [
        "\n.\n",
        "\n.\r\n",
        "\r\n.\n",
        "\r.\r",
        "\r.\r\n",
        "\r\n.\r",
        "\r\n.\r\r\n",
        "\r\r\n.\r\r\n",
        "\r\n\x00.\r\n",
        "\n\n.\n\n",
    ]
    .into_iter()
    .enumerate()
    {
        let mut raw = Raw::connect_from(&w, &format!("127.0.0.{}", 20 + i)).await;
        raw.transaction("bob@spfonly.test").await;
        let answer = raw
            .send(&format!(
                "From: bob@spfonly.test\r\nSubject: hi\r\n\r\nhello{end}{smuggled}"
            ))
            .await;
        assert!(answer.starts_with("554 5.5.2"), "{end:?}: {answer}");
        assert!(raw.closed().await, "{end:?}: the connection stays open");
    }
    assert_eq!(w.received.lock().unwrap().len(), 0, "nothing was handed over");
    // The genuine terminator still works, with a dot-stuffed line inside.
    let mut raw = Raw::connect(&w).await;
    raw.transaction("bob@spfonly.test").await;
    let answer = raw
        .send("From: bob@spfonly.test\r\nSubject: hi\r\n\r\n..not the end\r\n.\r\n")
        .await;
    assert!(answer.starts_with("250"), "{answer}");
    assert_eq!(w.received.lock().unwrap().len(), 1);
}

/// A session's total commands are bounded, whatever they are; on shutdown, idle
/// sessions are told 421 at once, a message being received is finished and answered
/// first, and no new connection is taken.
#[tokio::test]
async fn sessions_are_bounded_and_shutdown_finishes_what_is_in_flight() {
    let w = world().await;
    let mut raw = Raw::connect(&w).await;
    raw.io
        .get_mut()
        .write_all("NOOP\r\n".repeat(1_001).as_bytes())
        .await
        .unwrap();
    for i in 0..1_000 {
        assert!(raw.reply().await.starts_with("250"), "NOOP {i}");
    }
    assert!(raw.reply().await.starts_with("421"), "the 1,001st command");
    assert!(raw.closed().await);

    let mut idle = Raw::connect(&w).await;
    assert!(idle.send("EHLO client.example\r\n").await.starts_with("250"));
    let mut sending = Raw::connect(&w).await;
    sending.transaction("bob@spfonly.test").await;
    sending
        .io
        .get_mut()
        .write_all(b"From: bob@spfonly.test\r\nSubject: in flight\r\n\r\nfirst half ")
        .await
        .unwrap();
    w.stop.send(true).unwrap();
    assert!(
        idle.reply().await.starts_with("421"),
        "idle sessions are told at once"
    );
    assert!(idle.closed().await);
    assert!(
        sending.send("second half\r\n.\r\n").await.starts_with("250"),
        "the message in flight is taken"
    );
    assert!(sending.send("NOOP\r\n").await.starts_with("421"));
    assert_eq!(w.received.lock().unwrap().len(), 1);
    tokio::time::timeout(Duration::from_secs(15), w.server)
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", w.port)).await.is_err(),
        "no longer listening"
    );
}
