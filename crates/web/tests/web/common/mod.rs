//! A populated help desk for the web tests: two teams, two customer companies (one
//! sharing tickets among colleagues, one not), one account per role, and tickets with
//! public replies, internal notes and attachments. Requests go through the real router
//! in process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

pub mod chat;
pub mod outbox;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use palisade_core::{CompanyId, EmailAddress, Role, TeamId, UserId};
use palisade_crypto::{Keyring, MasterKey, RandomToken};
use palisade_identity::{Identity, PasswordHasherPool, SessionLimits};
use palisade_policy::PolicyEngine;
use palisade_store::{NewSession, NewUser, Store};
use palisade_testkit::{Backend, TestDatabase};
use palisade_web::{AppParts, AppState, WebConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ORIGIN: &str = "https://localhost:8443";
/// The fixture's OAuth application's one redirect URI.
pub const APP_REDIRECT: &str = "https://app.example.test/cb";
/// The authenticator-app secret [`World::enrol_totp`] gives an account.
pub const TOTP_SECRET: [u8; 20] = *b"palisade-test-secret";

/// The app code for the time step `offset` steps from now (each step is 30 s).
pub fn totp_code(offset: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::from(TOTP_SECRET.to_vec()))
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = u64::try_from(i64::try_from(now).unwrap() + offset * 30).unwrap();
    totp.generate(at).to_string()
}
/// The content type of [`multipart_file`]'s bodies.
pub const MULTIPART_TYPE: &str = "multipart/form-data; boundary=palisade-test-boundary";

/// The body the ticket page's file form sends: one file under `name`.
pub fn multipart_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--palisade-test-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--palisade-test-boundary--\r\n");
    body
}

/// A form with text fields and files, as the reply form sends it (files may be
/// empty-named, as an untouched file input sends them).
pub fn multipart_form(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--palisade-test-boundary\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (filename, content) in files {
        body.extend_from_slice(
            format!(
                "--palisade-test-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--palisade-test-boundary--\r\n");
    body
}

/// Every fixture account's password.
pub const PASSWORD: &str = "velvet tractor lagoon origami";

/// argon2 is slow by design; hash the fixture password once per test process.
static PASSWORD_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[derive(Clone, Debug)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
    pub token: String,
    pub session: palisade_core::SessionId,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A 1×1 PNG: the smallest real image.
pub const TINY_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00,
    0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01,
    0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
    0x82,
];

pub struct World {
    /// Hands domain events to ticket mail, once turned on ([`World::with_notifier`]).
    pub dispatcher: Arc<palisade_service::Dispatcher>,
    pub db: TestDatabase,
    /// Holds the erasure ledger (beside where the master key would be).
    pub key_dir: palisade_testkit::TempDir,
    pub keyring: Arc<Keyring>,
    pub store: Store,
    pub state: AppState,
    pub app: Router,
    pub team_a: TeamId,
    pub team_b: TeamId,
    pub sharing_company: CompanyId,
    pub private_company: CompanyId,
    pub admin: Actor,
    pub supervisor: Actor,
    pub agent_a: Actor,
    pub agent_b: Actor,
    pub light_a: Actor,
    pub auditor: Actor,
    /// Requester of `ticket_1`; in the sharing company.
    pub customer_1: Actor,
    /// Colleague of customer_1 in the sharing company.
    pub customer_2: Actor,
    /// Requester of `ticket_3`; in the private company.
    pub customer_3: Actor,
    /// Colleague of customer_3 in the private (non-sharing) company.
    pub customer_4: Actor,
    /// customer_1's ticket in team A, with a public reply, an internal note and attachments.
    pub ticket_1: String,
    /// customer_3's ticket in team B.
    pub ticket_3: String,
    /// Ticket 3's number, as the pages' forms name tickets.
    pub ticket_3_number: i64,
    pub public_attachment: String,
    /// A PNG screenshot customer_1 attached to ticket 1: a file with a preview.
    pub public_image: String,
    pub internal_attachment: String,
    /// A message held in quarantine for team A, claiming to come from customer_3.
    pub quarantined: String,
    /// Ticket 1's first message, kept as if it had arrived by mail (its original).
    pub mail_message: String,
    /// An unpublished internal help-centre article written by the admin.
    pub article: String,
    /// A macro the supervisor shared with every agent: a public reply, priority high.
    pub shared_macro: String,
    /// A view the supervisor shared with team A: its open tickets.
    pub shared_view: String,
    /// The custom field `plan`: a drop-down (Gold, Silver) shown to customers.
    pub plan_field: String,
    /// A business-hours calendar no policy counts in, and a policy for low-priority
    /// tickets (none of the fixture's), both the administrator's.
    pub calendar: String,
    pub sla_policy: String,
    /// A disabled trigger of team A's (tags new urgent tickets), the administrator's.
    pub rule: String,
    /// A webhook endpoint running as the administrator, and one delivery of it that
    /// was given up.
    pub webhook: String,
    pub webhook_delivery: String,
    /// A confidential OAuth application (redirect `https://app.example.test/cb`,
    /// tickets read and write), and what customer 1 allowed it (tickets read).
    pub oauth_client: String,
    pub oauth_client_secret: String,
    pub oauth_grant: String,
}

async fn actor(store: &Store, id: UserId, role: Role) -> Actor {
    session_signed_in_at(store, id, role, palisade_core::UnixMillis::now()).await
}

/// A full session of `id` whose holder last proved who they are at `auth_at` (older
/// than the step-up window makes sensitive actions need a fresh step-up).
pub async fn session_signed_in_at(
    store: &Store,
    id: UserId,
    role: Role,
    auth_at: palisade_core::UnixMillis,
) -> Actor {
    let token = RandomToken::generate().unwrap();
    let mut tx = store.begin().await.unwrap();
    let session = store
        .create_session(
            &mut tx,
            &NewSession {
                user: id.clone(),
                stage: palisade_store::SessionStage::Full,
                auth_at,
                token_hash: token.hash(),
                idle_timeout_secs: 3600,
                absolute_timeout_secs: 7200,
                ip: "127.0.0.1".into(),
                user_agent: "test".into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Actor {
        id,
        role,
        token: token.expose().to_owned(),
        session,
    }
}

impl World {
    /// Gives `who` a confirmed authenticator app with [`TOTP_SECRET`], as if they had
    /// enrolled, plus recovery codes.
    pub async fn enrol_totp(&self, who: &UserId) {
        let mut tx = self.store.begin().await.unwrap();
        self.store
            .put_pending_totp(&mut tx, who, &TOTP_SECRET)
            .await
            .unwrap();
        assert!(self.store.confirm_totp(&mut tx, who, 1).await.unwrap());
        tx.commit().await.unwrap();
    }

    pub async fn new(backend: Backend) -> World {
        Self::new_with(backend, |identity| identity).await
    }

    /// As [`World::new`], with the identity service adjusted first (e.g. SSO providers).
    pub async fn new_with(backend: Backend, configure: impl FnOnce(Identity) -> Identity) -> World {
        let db = TestDatabase::new(backend).await.unwrap();
        let keyring = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
        let key_dir = palisade_testkit::TempDir::new("palisade-keys").unwrap();
        let store = Store::connect(&db.url, keyring.clone()).await.unwrap();
        let identity = Identity::new(
            store.clone(),
            PasswordHasherPool::new(2).unwrap(),
            SessionLimits::default(),
        )
        .with_relying_party(palisade_identity::RelyingParty::new(ORIGIN).unwrap())
        .with_public_origin(ORIGIN);
        let identity = configure(identity);
        let parts = AppParts {
            help: palisade_assist::HelpCentre::open(store.clone()).await.unwrap(),
            store: store.clone(),
            identity,
            policy: Arc::new(PolicyEngine::load().unwrap()),
            config: Arc::new(WebConfig {
                public_origin: ORIGIN.into(),
                max_json_bytes: 64 * 1024,
                max_attachment_bytes: 256 * 1024,
                // A notification stream sends its first count and ends, so a test can
                // read the whole answer.
                notification_stream: std::time::Duration::ZERO,
                // The matrix and isolation tests send hundreds of refused requests per
                // actor within a minute on purpose; tests/anomaly.rs sets real thresholds.
                anomaly: palisade_web::DetectorConfig {
                    min_per_source: 1_000_000,
                    min_total: 1_000_000,
                    ..palisade_web::DetectorConfig::default()
                },
                // One support address, as `[[mailbox]]` would give it.
                team_mailboxes: vec![("help@desk.test".into(), "Team A".into())],
                // What `[mail]` would put in the register of outside parties.
                outside_parties: vec![palisade_service::OutsideParty::new(
                    palisade_service::PartyKind::MailRelay,
                    "relay.desk.test",
                    "relay.desk.test:587",
                )],
                privacy: palisade_service::PrivacyRules {
                    ledger: Some(Arc::new(palisade_backup::erasure_ledger::LedgerWriter::new(
                        palisade_backup::erasure_ledger::ErasureLedger::at(
                            key_dir.path.join("erasures.ledger"),
                        ),
                        keyring.clone(),
                    ))),
                    ..palisade_service::PrivacyRules::default()
                },
                ..WebConfig::default()
            }),
            anomaly: Default::default(),
        };
        let state = AppState::from(AppParts {
            anomaly: Arc::new(std::sync::Mutex::new(palisade_web::Detector::new(
                parts.config.anomaly,
            ))),
            ..parts
        });
        let app = palisade_web::router(state.clone());

        let hash = match PASSWORD_HASH.get() {
            Some(h) => h.clone(),
            None => {
                let h = state
                    .identity
                    .hasher()
                    .hash(&palisade_core::SecretString::new(PASSWORD.into()))
                    .await
                    .unwrap();
                PASSWORD_HASH.get_or_init(|| h.expose().to_owned()).clone()
            }
        };
        let mut tx = store.begin().await.unwrap();
        let team_a = store.create_team(&mut tx, "Team A").await.unwrap();
        tx.commit().await.unwrap();
        // Team A must be the oldest: it receives tickets opened in the portal.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut tx = store.begin().await.unwrap();
        let team_b = store.create_team(&mut tx, "Team B").await.unwrap();
        let sharing_company = store.create_company(&mut tx, "Sharing Ltd", true).await.unwrap();
        let private_company = store.create_company(&mut tx, "Private plc", false).await.unwrap();
        let user = |role: Role, email: &str, company: Option<&CompanyId>| NewUser {
            role,
            email: EmailAddress::parse(email).unwrap(),
            name: format!("{} person", role.as_str()),
            phone: None,
            company: company.cloned(),
            password_hash: Some(palisade_core::SecretString::new(hash.clone())),
        };
        let mut ids = Vec::new();
        for (role, email, company) in [
            (Role::Admin, "admin@desk.test", None),
            (Role::Supervisor, "super@desk.test", None),
            (Role::Agent, "agent.a@desk.test", None),
            (Role::Agent, "agent.b@desk.test", None),
            (Role::LightAgent, "light.a@desk.test", None),
            (Role::Auditor, "auditor@desk.test", None),
            (Role::Customer, "c1@sharing.test", Some(&sharing_company)),
            (Role::Customer, "c2@sharing.test", Some(&sharing_company)),
            (Role::Customer, "c3@private.test", Some(&private_company)),
            (Role::Customer, "c4@private.test", Some(&private_company)),
        ] {
            let new = user(role, email, company);
            ids.push((store.create_user(&mut tx, &new).await.unwrap(), role));
        }
        store.add_team_member(&mut tx, &team_a, &ids[2].0).await.unwrap();
        store.add_team_member(&mut tx, &team_b, &ids[3].0).await.unwrap();
        store.add_team_member(&mut tx, &team_a, &ids[4].0).await.unwrap();
        tx.commit().await.unwrap();
        // Staff must have a second factor; customers start without one.
        for (id, role) in &ids {
            if role.is_staff() {
                let mut tx = store.begin().await.unwrap();
                store.put_pending_totp(&mut tx, id, &TOTP_SECRET).await.unwrap();
                assert!(store.confirm_totp(&mut tx, id, 1).await.unwrap());
                tx.commit().await.unwrap();
            }
        }
        let mut actors = Vec::new();
        for (id, role) in ids {
            actors.push(actor(&store, id, role).await);
        }
        let [
            admin,
            supervisor,
            agent_a,
            agent_b,
            light_a,
            auditor,
            customer_1,
            customer_2,
            customer_3,
            customer_4,
        ]: [Actor; 10] = actors.try_into().unwrap();

        let mut world = World {
            dispatcher: Arc::new(security_notices(&store)),
            db,
            key_dir,
            keyring,
            store,
            state,
            app,
            team_a,
            team_b,
            sharing_company,
            private_company,
            admin,
            supervisor,
            agent_a,
            agent_b,
            light_a,
            auditor,
            customer_1,
            customer_2,
            customer_3,
            customer_4,
            ticket_1: String::new(),
            ticket_3: String::new(),
            ticket_3_number: 0,
            public_attachment: String::new(),
            public_image: String::new(),
            internal_attachment: String::new(),
            quarantined: String::new(),
            mail_message: String::new(),
            article: String::new(),
            shared_macro: String::new(),
            shared_view: String::new(),
            plan_field: String::new(),
            calendar: String::new(),
            sla_policy: String::new(),
            rule: String::new(),
            webhook: String::new(),
            webhook_delivery: String::new(),
            oauth_client: String::new(),
            oauth_client_secret: String::new(),
            oauth_grant: String::new(),
        };
        let c1 = world.customer_1.clone();
        let t1 = world
            .json(
                &c1,
                "POST",
                "/api/v1/tickets",
                json!({"subject": "Refund for order 1234", "body": "My card was charged twice"}),
            )
            .await;
        assert_eq!(t1.status, StatusCode::CREATED, "{}", t1.text());
        world.ticket_1 = t1.json()["id"].as_str().unwrap().to_owned();
        let agent = world.agent_a.clone();
        let path = format!("/api/v1/tickets/{}/messages", world.ticket_1);
        let r = world
            .json(
                &agent,
                "POST",
                &path,
                json!({"body": "Looks like fraud, secretword escalate", "visibility": "internal"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let r = world
            .json(
                &agent,
                "POST",
                &path,
                json!({"body": "We are on it", "visibility": "public"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let up = format!(
            "/api/v1/tickets/{}/attachments?filename=receipt.txt",
            world.ticket_1
        );
        let r = world
            .raw(Some(&c1), "POST", &up, Body::from("receipt body"), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.public_attachment = r.json()["id"].as_str().unwrap().to_owned();
        let up = format!(
            "/api/v1/tickets/{}/attachments?filename=screenshot.png",
            world.ticket_1
        );
        let r = world
            .raw(Some(&c1), "POST", &up, Body::from(TINY_PNG.to_vec()), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.public_image = r.json()["id"].as_str().unwrap().to_owned();
        let up = format!(
            "/api/v1/tickets/{}/attachments?filename=notes.txt&visibility=internal",
            world.ticket_1
        );
        let r = world
            .raw(Some(&agent), "POST", &up, Body::from("internal analysis"), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.internal_attachment = r.json()["id"].as_str().unwrap().to_owned();
        let admin = world.admin.clone();
        let body = json!({"subject": "Cannot log in", "body": "Password reset mail never came", "requester_id": world.customer_3.id.to_string(), "team_id": world.team_b.to_string()});
        let t3 = world.json(&admin, "POST", "/api/v1/tickets", body).await;
        assert_eq!(t3.status, StatusCode::CREATED, "{}", t3.text());
        world.ticket_3 = t3.json()["id"].as_str().unwrap().to_owned();
        world.ticket_3_number = t3.json()["number"].as_i64().unwrap();
        let held = json!({
            "client_ip": "192.0.2.7",
            "helo": "mail.forger.example",
            "mail_from": "bounce@forger.example",
            "from": "c3@private.test",
            "display_name": null,
            "verdict": { "authenticated": false, "spf": ["forger.example", "pass"] },
            "raw": "From: c3@private.test\r\nSubject: Please change my bank details\r\n\r\nNew IBAN below.\r\n",
        });
        let mut tx = world.store.begin().await.unwrap();
        world.quarantined = world
            .store
            .quarantine_mail(&mut tx, &world.team_a, held.to_string().as_bytes())
            .await
            .unwrap();
        let first = palisade_core::TicketId::parse(&world.ticket_1).unwrap();
        let first = world.store.get_ticket(&first).await.unwrap();
        let message = world
            .store
            .list_messages(&first, palisade_store::Including::Public)
            .await
            .unwrap()
            .remove(0)
            .id;
        world
            .store
            .keep_original(&mut tx, &first, &message, ORIGINAL.as_bytes(), None)
            .await
            .unwrap();
        world.mail_message = message.to_string();
        tx.commit().await.unwrap();
        let draft = json!({"title": "Escalation runbook", "body_html": "<p>Call the duty manager.</p>",
                           "locale": "en", "audience": "internal"});
        let r = world.json(&admin, "POST", "/api/v1/articles", draft).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.article = r.json()["id"].as_str().unwrap().to_owned();
        let supervisor = world.supervisor.clone();
        let shared = json!({"name": "Refund on its way", "body": "Hi {requester_first_name}, your refund is on its way.",
                            "visibility": "public", "share_with": "everyone", "priority": "high"});
        let r = world.json(&supervisor, "POST", "/api/v1/macros", shared).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.shared_macro = r.json()["id"].as_str().unwrap().to_owned();
        let view =
            json!({"name": "Team A open", "status": "open", "share_with_team_id": world.team_a.to_string()});
        let r = world.json(&supervisor, "POST", "/api/v1/views", view).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.shared_view = r.json()["id"].as_str().unwrap().to_owned();
        let plan = json!({"key": "plan", "label": "Plan", "kind": "dropdown", "options": ["Gold", "Silver"],
                          "customer_visible": true});
        let r = world.json(&admin, "POST", "/api/v1/fields", plan).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.plan_field = r.json()["id"].as_str().unwrap().to_owned();
        let calendar = json!({"name": "Weekdays", "time_zone": "UTC",
                              "periods": [{"day": "mon", "from": "09:00", "to": "17:00"}]});
        let r = world.json(&admin, "POST", "/api/v1/calendars", calendar).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.calendar = r.json()["id"].as_str().unwrap().to_owned();
        let policy = json!({"name": "Low priority", "position": 50, "conditions": {"priorities": ["low"]},
                            "resolution_minutes": 10_080});
        let r = world.json(&admin, "POST", "/api/v1/sla-policies", policy).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.sla_policy = r.json()["id"].as_str().unwrap().to_owned();
        let rule = json!({"name": "Tag urgent", "team_id": world.team_a.to_string(), "enabled": false,
                          "event": "ticket_created", "conditions": {"priorities": ["urgent"]},
                          "actions": {"add_tags": ["urgent"]}});
        let r = world.json(&admin, "POST", "/api/v1/rules", rule).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.rule = r.json()["id"].as_str().unwrap().to_owned();
        let hook = json!({"name": "CRM", "url": "https://hooks.example.test/palisade",
                          "event_types": ["ticket.created"], "run_as_id": admin.id.to_string()});
        let r = world.json(&admin, "POST", "/api/v1/webhooks", hook).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.webhook = r.json()["endpoint"]["id"].as_str().unwrap().to_owned();
        world.webhook_delivery = given_up_delivery(&world.store, &world.webhook, &world.ticket_1).await;
        let app = json!({"name": "CRM app", "confidential": true, "redirect_uris": [APP_REDIRECT],
                         "scopes": ["tickets:read", "tickets:write"]});
        let r = world.json(&admin, "POST", "/api/v1/oauth/clients", app).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        world.oauth_client = r.json()["client"]["id"].as_str().unwrap().to_owned();
        world.oauth_client_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
        world.oauth_grant = "ogr_FixtureGrantOfCustomer1".to_owned();
        let mut tx = world.store.begin().await.unwrap();
        world
            .store
            .create_oauth_grant(
                &mut tx,
                &world.oauth_grant,
                &world.oauth_client,
                &world.customer_1.id,
                &["tickets:read".to_owned()],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // The subscribers start here, after the fixture, as on a fresh install.
        world.dispatch().await;
        world
    }

    /// Turns on ticket mail (as `serve` does when support mailboxes are configured):
    /// a dispatcher with the notifier subscribed, run by [`World::dispatch`].
    pub async fn with_notifier(mut self, notifier: Arc<palisade_mail::ReplyNotifier>) -> World {
        self.dispatcher = Arc::new(security_notices(&self.store).with_subscriber(notifier));
        self.dispatch().await;
        self
    }

    /// Turns on webhooks (as `serve` always does), from now on: events queue deliveries
    /// for the endpoints, and the test sends them with a sender of its own.
    pub async fn with_webhooks(mut self) -> World {
        self.dispatcher = Arc::new(
            security_notices(&self.store)
                .with_subscriber(Arc::new(palisade_service::WebhookQueue::new(self.store.clone()))),
        );
        self.dispatch().await;
        self
    }

    /// Turns on agents' notifications (as `serve` always does), from now on.
    pub async fn with_agent_notifications(mut self) -> World {
        self.dispatcher = Arc::new(security_notices(&self.store).with_subscriber(Arc::new(
            palisade_service::AgentNotifications::new(self.store.clone(), self.state.policy.clone(), ORIGIN),
        )));
        self.dispatch().await;
        self
    }

    /// Hands the events recorded so far to the subscribers (as `serve`'s loop does).
    pub async fn dispatch(&self) -> usize {
        self.dispatcher.run_once().await.unwrap()
    }

    /// Moves "now" by hand from here on, for the desk's decisions and for when tickets,
    /// their messages and events happen (sessions keep the real time).
    pub fn with_clock(mut self, clock: palisade_core::ManualClock) -> World {
        let clock: Arc<dyn palisade_core::Clock> = Arc::new(clock);
        self.store = self.store.clone().with_clock(clock.clone());
        let store = self.store.clone();
        self.state = self.state.with_parts(|parts| parts.store = store);
        self.dispatcher = Arc::new(security_notices(&self.store));
        self.with_config(|c| c.clock = clock)
    }

    /// Adjusts the web configuration (as an operator's configuration would).
    pub fn with_config(mut self, adjust: impl FnOnce(&mut WebConfig)) -> World {
        let mut config = (*self.state.config).clone();
        adjust(&mut config);
        self.state = self.state.with_parts(|parts| {
            parts.anomaly = Arc::new(std::sync::Mutex::new(palisade_web::Detector::new(config.anomaly)));
            parts.config = Arc::new(config);
        });
        self.app = palisade_web::router(self.state.clone());
        self
    }

    pub fn actors(&self) -> Vec<(&'static str, &Actor)> {
        vec![
            ("admin", &self.admin),
            ("supervisor", &self.supervisor),
            ("agent", &self.agent_a),
            ("light_agent", &self.light_a),
            ("auditor", &self.auditor),
            ("customer", &self.customer_1),
        ]
    }

    pub async fn raw(
        &self,
        who: Option<&Actor>,
        method: &str,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Response {
        self.raw_via(&self.app, who, method, path, body, headers).await
    }

    /// Another node of the same installation: its own reserved allowances and anomaly
    /// baselines; the database and the identity service (with its session cache) are
    /// this node's.
    pub fn another_node(&self) -> Router {
        palisade_web::router(self.state.with_parts(|parts| {
            parts.anomaly = Arc::new(std::sync::Mutex::new(palisade_web::Detector::new(
                self.state.config.anomaly,
            )));
        }))
    }

    /// [`World::raw`] through `app` (this node's or [`World::another_node`]).
    pub async fn raw_via(
        &self,
        app: &Router,
        who: Option<&Actor>,
        method: &str,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        if let Some(a) = who {
            req = req.header("authorization", format!("Bearer {}", a.token));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn json(&self, who: &Actor, method: &str, path: &str, body: Value) -> Response {
        self.raw(
            Some(who),
            method,
            path,
            Body::from(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await
    }

    /// POSTs JSON with a bare session token (one no fixture actor holds).
    pub async fn post_bearer(&self, token: &str, path: &str, body: Value) -> Response {
        self.raw(
            None,
            "POST",
            path,
            Body::from(body.to_string()),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
            ],
        )
        .await
    }

    /// The password step of signing in, which must succeed; the response body.
    pub async fn password_step(&self, email: &str) -> Value {
        let r = self
            .raw(
                None,
                "POST",
                "/api/v1/sessions",
                Body::from(json!({"email": email, "password": PASSWORD}).to_string()),
                &[("content-type", "application/json")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    pub async fn get(&self, who: &Actor, path: &str) -> Response {
        self.raw(Some(who), "GET", path, Body::empty(), &[]).await
    }

    pub async fn form(&self, who: &Actor, path: &str, body: &str) -> Response {
        self.raw(
            Some(who),
            "POST",
            path,
            Body::from(body.to_owned()),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.store.count_rows(table).await.unwrap()
    }
}

/// A further live session of `user` (another device), returning its id.
pub async fn extra_session(store: &Store, user: &UserId) -> palisade_core::SessionId {
    actor(store, user.clone(), Role::Customer).await.session
}

/// A personal API token of `user` with `scopes`, created directly in the store.
pub async fn api_token(store: &Store, user: &UserId, scopes: &[&str]) -> (String, String) {
    let token = RandomToken::generate().unwrap();
    let id = format!("tok_{}", &token.hash().0[..22]);
    let new = palisade_store::NewApiToken {
        user: user.clone(),
        name: "test".into(),
        token_hash: token.hash(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: palisade_core::UnixMillis::now().plus_secs(3600),
    };
    let mut tx = store.begin().await.unwrap();
    store.create_api_token(&mut tx, &id, &new).await.unwrap();
    tx.commit().await.unwrap();
    (id, format!("pal_{}", token.expose()))
}

/// Queues one delivery of `endpoint` about `ticket` and gives it up, as the sender
/// does when the retries run out.
async fn given_up_delivery(store: &palisade_store::Store, endpoint: &str, ticket: &str) -> String {
    let endpoint = palisade_core::WebhookEndpointId::parse(endpoint).unwrap();
    let mut tx = store.begin().await.unwrap();
    let ticket = palisade_core::TicketId::parse(ticket).unwrap();
    store
        .enqueue_webhook(&mut tx, &endpoint, 1, "ticket.created", &ticket)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = store
        .claim_webhook_delivery("fixture", 60_000)
        .await
        .unwrap()
        .unwrap();
    let outcome = palisade_store::DeliveryOutcome {
        status: "failed",
        http_status: Some(500),
        error: Some("the receiver answered 500"),
        retry_at: None,
    };
    assert!(
        store
            .finish_webhook_attempt(&claimed.id, "fixture", &outcome)
            .await
            .unwrap()
    );
    claimed.id.to_string()
}

/// The dispatcher every world has: security notices follow account events, tickets'
/// service-level targets follow what happens to them, and triggers queue their runs.
fn security_notices(store: &palisade_store::Store) -> palisade_service::Dispatcher {
    palisade_service::Dispatcher::new(store.clone(), "test-node")
        .with_subscriber(Arc::new(palisade_service::SecurityNotices::new(store.clone())))
        .with_subscriber(Arc::new(palisade_service::sla::ServiceLevels::new(store.clone())))
        .with_subscriber(Arc::new(palisade_service::automation::Triggers::new(
            store.clone(),
        )))
}

/// What ticket 1's first message looked like when it arrived.
pub const ORIGINAL: &str = "From: c1@sharing.test\r\nTo: support@desk.test\r\nSubject: Order\r\n\
    X-Internal-Route: relay-7\r\n\r\nHello\r\n";
