//! The receiving side as `palisade serve` builds it — the real listener, `Reception`
//! with the organisation's own domains and bounces, `Inbound` placing into a real
//! store — in front of dnsmasq serving the test zones, plus a raw SMTP client that
//! sends from a chosen loopback address.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test code, shared by several test binaries

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimSigner;
use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, AuthenticationResults, MessageAuthenticator};
use palisade_core::{EmailAddress, TeamId};
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{
    Deliver, Inbound, ListenerSettings, Reception, RecordBounce, ReplyKeys, SenderVerifier, SmtpListener,
    Threading,
};
use palisade_policy::PolicyEngine;
use palisade_store::Store;
use palisade_testkit::dns::DnsServer;
use palisade_testkit::{Backend, TestDatabase};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// The support mailbox; `desk.test` is the organisation's own domain.
pub const SUPPORT: &str = "support@desk.test";
/// What a test message may carry: eight files of at most 20,000 bytes.
pub const FILE_LIMITS: palisade_mail::FileLimits = palisade_mail::FileLimits {
    max_files: 8,
    max_file_bytes: 20_000,
};
/// The sender of Palisade's own mail, whose VERP addresses take bounces.
pub const NOREPLY: &str = "noreply@desk.test";

/// Addresses the zones authorise: `customer.test` mail comes from 127.0.0.2,
/// `evil.test` (the attacker's own domain) from 127.0.0.66, `desk.test` from
/// 127.0.0.10. `signed.test` and `evil.test` publish DKIM keys (`SIGNED_KEY`,
/// `EVIL_KEY`, selector `sel`).
pub struct MailWorld {
    /// What the listener hands messages to (and the IMAP intake too).
    pub reception: Arc<Reception>,
    pub store: Store,
    pub team: TeamId,
    pub port: u16,
    pub threading: Arc<Threading>,
    pub signed_key: Vec<u8>,
    pub evil_key: Vec<u8>,
    /// The forwarding service's key (`sel._domainkey.lists.test`).
    pub lists_key: Vec<u8>,
    pub dns: DnsServer,
    pub db: TestDatabase,
    _server: tokio::task::JoinHandle<()>,
}

pub fn address(a: &str) -> EmailAddress {
    EmailAddress::parse(a).unwrap()
}

fn dkim_record(key: &[u8]) -> String {
    format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD
            .encode(Ed25519Key::from_pkcs8_der(key).unwrap().public_key())
    )
}

impl MailWorld {
    pub async fn start(backend: Backend) -> MailWorld {
        Self::start_trusting(backend, &[]).await
    }

    /// With ARC believed from these sealing domains.
    pub async fn start_trusting(backend: Backend, forwarders: &[&str]) -> MailWorld {
        Self::start_with(backend, forwarders, None).await
    }

    /// With every file scanned by the run's clamd.
    pub async fn start_scanning(backend: Backend, clamd: &palisade_testkit::clamd::Clamd) -> MailWorld {
        let scanner = palisade_scan::Scanner::new(
            palisade_scan::Endpoint::parse(&clamd.endpoint).unwrap(),
            Duration::from_secs(30),
        );
        Self::start_with(backend, &[], Some(scanner)).await
    }

    async fn start_with(
        backend: Backend,
        forwarders: &[&str],
        scanner: Option<palisade_scan::Scanner>,
    ) -> MailWorld {
        let db = TestDatabase::new(backend).await.unwrap();
        let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let team = store.create_team(&mut tx, "Support").await.unwrap();
        tx.commit().await.unwrap();
        let signed_key = Ed25519Key::generate_pkcs8().unwrap();
        let evil_key = Ed25519Key::generate_pkcs8().unwrap();
        let lists_key = Ed25519Key::generate_pkcs8().unwrap();
        let (signed_record, evil_record, lists_record) = (
            dkim_record(&signed_key),
            dkim_record(&evil_key),
            dkim_record(&lists_key),
        );
        let dns = DnsServer::start(&[
            ("customer.test", "v=spf1 ip4:127.0.0.2 -all"),
            ("evil.test", "v=spf1 ip4:127.0.0.66 -all"),
            ("dessk.test", "v=spf1 ip4:127.0.0.66 -all"),
            ("cust0mer.test", "v=spf1 ip4:127.0.0.66 -all"),
            ("desk.test", "v=spf1 ip4:127.0.0.10 -all"),
            ("sel._domainkey.signed.test", signed_record.as_str()),
            ("sel._domainkey.evil.test", evil_record.as_str()),
            ("sel._domainkey.lists.test", lists_record.as_str()),
        ])
        .await
        .unwrap();
        let threading = Arc::new(
            Threading::new(store.clone(), ReplyKeys::default(), vec![address(SUPPORT)])
                .with_bounce_sender(address(NOREPLY)),
        );
        let mut inbound = Inbound::new(
            store.clone(),
            Arc::new(PolicyEngine::load().unwrap()),
            HashMap::from([(address(SUPPORT), team.clone())]),
        )
        .with_file_limits(FILE_LIMITS);
        if let Some(scanner) = scanner {
            inbound = inbound.with_scanner(scanner);
        }
        let inbound = Arc::new(inbound);
        let for_mail = inbound.clone();
        let deliver: Deliver = Arc::new(move |accepted| {
            let inbound = for_mail.clone();
            Box::pin(async move { inbound.deliver(accepted).await.map(|_| ()) })
        });
        let bounces: RecordBounce = Arc::new(move |bounce_id| {
            let inbound = inbound.clone();
            Box::pin(async move { inbound.record_bounce(bounce_id).await })
        });
        let trusted: Vec<String> = forwarders.iter().map(|f| (*f).to_owned()).collect();
        let verifier = SenderVerifier::new(&[dns.addr], "mx.desk.test", Duration::from_secs(2))
            .unwrap()
            .with_trusted_forwarders(&trusted);
        let reception = Reception::new(Arc::new(verifier), deliver)
            .with_own_domains(vec!["desk.test".into()])
            .with_bounces(bounces)
            .with_file_limits(FILE_LIMITS);
        let reception = Arc::new(reception);
        let listener = SmtpListener::new(
            ListenerSettings {
                hostname: "mx.desk.test".into(),
                max_message_bytes: 100_000,
                max_connections: 8,
                max_connections_per_ip: 8,
                messages_per_minute_per_ip: 600,
                tls: None,
                session: palisade_mail::SessionLimits::default(),
            },
            threading.clone(),
            reception.clone(),
        );
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let server = tokio::spawn(listener.serve(socket));
        MailWorld {
            reception,
            store,
            team,
            port,
            threading,
            signed_key,
            evil_key,
            lists_key,
            dns,
            db,
            _server: server,
        }
    }

    /// One SMTP transaction from `ip`; the first reply that is not 2xx/3xx, else the
    /// reply to the data.
    pub async fn send(&self, ip: &str, mail_from: &str, rcpt: &str, data: &str) -> String {
        send(self.port, ip, mail_from, rcpt, data).await
    }

    /// The `mail.received` audit details, oldest first.
    pub async fn received(&self) -> Vec<serde_json::Value> {
        self.store
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "mail.received")
            .filter_map(|e| serde_json::from_str(&e.detail).ok())
            .collect()
    }

    /// An agent of the mailbox's team, as the quarantine review sees them.
    pub async fn reviewer(&self) -> palisade_service::Actor {
        use palisade_core::{Principal, Role};
        let mut tx = self.store.begin().await.unwrap();
        let id = self
            .store
            .create_user(
                &mut tx,
                &palisade_store::NewUser {
                    role: Role::Agent,
                    email: address("agent@desk.test"),
                    name: "Agent".into(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await
            .unwrap();
        self.store
            .add_team_member(&mut tx, &self.team, &id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        palisade_service::Actor {
            principal: Principal {
                user_id: id,
                role: Role::Agent,
                teams: vec![self.team.clone()],
                company: None,
                session: None,
                scopes: None,
            },
            audit: palisade_audit::AuditContext {
                actor: "reviewer".into(),
                ip: "127.0.0.1".into(),
                user_agent: "test".into(),
                session: String::new(),
            },
            channel: palisade_service::Channel::Web,
        }
    }

    /// What the held messages' sealed records say, oldest first.
    pub async fn held(&self) -> Vec<serde_json::Value> {
        self.store
            .held_mail(None, 100)
            .await
            .unwrap()
            .iter()
            .map(|q| serde_json::from_slice(&q.sealed).unwrap())
            .collect()
    }
}

/// `unsigned` with an Ed25519 DKIM signature by `domain` (selector `sel`) over the
/// usual fields, optionally with a body length limit.
/// What a forwarding service does: verify the DKIM signatures of `original` (against
/// the test DNS), change the subject, and seal the changed message with an ARC set
/// recording what it verified.
/// A resolver asking the test DNS, as a forwarder on the test network would.
pub fn resolver(w: &MailWorld) -> MessageAuthenticator {
    let mut udp = ConnectionConfig::udp();
    udp.port = w.dns.addr.port();
    let server = NameServerConfig::new(w.dns.addr.ip(), true, vec![udp]);
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(2);
    MessageAuthenticator::new(ResolverConfig::from_parts(None, vec![], vec![server]), options).unwrap()
}

pub async fn arc_forward(w: &MailWorld, original: &str, sealer: &str, key: &[u8]) -> String {
    let resolver = resolver(w);
    let received = AuthenticatedMessage::parse(original.as_bytes()).unwrap();
    let dkim = resolver.verify_dkim(&received).await;
    let from_domain = received.from().rsplit('@').next().unwrap_or_default().to_owned();
    let results = AuthenticationResults::new(sealer).with_dkim_results(&dkim, &from_domain);
    let changed = original.replace("Subject: Order 1234", "Subject: [support-list] Order 1234");
    arc_seal(&resolver, &changed, &results, sealer, key).await
}

pub async fn arc_seal(
    resolver: &MessageAuthenticator,
    text: &str,
    results: &AuthenticationResults<'_>,
    sealer: &str,
    key: &[u8],
) -> String {
    let message = AuthenticatedMessage::parse(text.as_bytes()).unwrap();
    let chain = resolver.verify_arc(&message).await;
    let set = ArcSealer::from_key(Ed25519Key::from_pkcs8_der(key).unwrap())
        .domain(sealer)
        .selector("sel")
        .headers(["From", "To", "Subject", "Message-ID"])
        .seal(&message, results, &chain)
        .unwrap();
    format!("{}{text}", set.to_header())
}

pub fn dkim_sign(key: &[u8], domain: &str, unsigned: &str, body_length: bool) -> String {
    let signature = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(key).unwrap())
        .domain(domain)
        .selector("sel")
        .headers(["From", "To", "Subject", "Message-ID"])
        .body_length(body_length)
        .sign(unsigned.as_bytes())
        .unwrap();
    format!("{}{unsigned}", signature.to_header())
}

pub fn message(from: &str, cc: Option<&str>, message_id: &str, body: &str) -> String {
    let cc = cc.map(|c| format!("Cc: {c}\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: support@desk.test\r\n{cc}Subject: Order 1234\r\nMessage-ID: <{message_id}>\r\n\r\n{body}\r\n"
    )
}

pub async fn send(port: u16, ip: &str, mail_from: &str, rcpt: &str, data: &str) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    let stream: TcpStream = socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let mut io = BufReader::new(stream);
    let mut after_data = String::new();
    for (step, line) in [
        String::new(),
        "EHLO client.test\r\n".to_owned(),
        format!("MAIL FROM:<{mail_from}>\r\n"),
        format!("RCPT TO:<{rcpt}>\r\n"),
        "DATA\r\n".to_owned(),
        format!("{data}.\r\n"),
        "QUIT\r\n".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        if !line.is_empty() {
            io.get_mut().write_all(line.as_bytes()).await.unwrap();
        }
        let last = loop {
            let mut reply = String::new();
            tokio::time::timeout(Duration::from_secs(20), io.read_line(&mut reply))
                .await
                .unwrap()
                .unwrap();
            if reply.len() < 4 || reply.as_bytes()[3] != b'-' {
                break reply;
            }
        };
        if step == 5 {
            after_data = last.clone();
        }
        if !last.starts_with('2') && !last.starts_with('3') {
            return last;
        }
    }
    after_data
}

/// Every message of a ticket, internal notes included, read as an administrator would
/// (reads of internal notes need a decision, like everywhere else).
pub async fn messages(
    store: &palisade_store::Store,
    ticket: &palisade_store::TicketRecord,
) -> Vec<palisade_store::MessageRecord> {
    let admin = palisade_core::Principal {
        user_id: palisade_core::UserId::generate(),
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
            palisade_policy::Action::TicketReadInternal,
            &palisade_policy::Resource::Ticket(ticket.facts()),
        )
        .unwrap();
    store
        .list_messages(ticket, palisade_store::Including::Internal(&proof))
        .await
        .unwrap()
}
