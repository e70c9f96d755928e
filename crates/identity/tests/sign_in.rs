//! Sign-in attacks against real storage (SQLite and PostgreSQL): password guessing,
//! credential stuffing, lockouts shared between nodes, weak passwords at setup, and the
//! upgrade of old hashes. Each beside the genuine sign-in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use palisade_audit::AuditContext;
use palisade_core::{EmailAddress, Role, SecretString, UserId};
use palisade_crypto::{Keyring, MasterKey};
use palisade_identity::{Identity, IdentityError, PasswordHasherPool, SessionLimits, ThrottlePolicy};
use palisade_store::{NewUser, Store};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(
    guessing_one_account_locks_it_and_the_lock_looks_like_a_wrong_password,
    unknown_accounts_lock_exactly_like_real_ones,
    credential_stuffing_slows_the_source_not_the_victims,
    old_hashes_are_upgraded_at_the_next_sign_in,
    setup_refuses_common_passwords_and_keeps_the_link,
    a_burst_of_wrong_passwords_on_two_nodes_is_evaluated_no_more_than_the_lockout_allows,
    a_burst_from_one_address_is_evaluated_no_more_than_its_limit_allows,
    a_burst_of_reset_requests_sends_no_more_mail_than_the_limit,
    ipv6_sources_are_counted_per_64,
    a_flood_from_a_blocked_source_writes_nothing_and_is_audited_in_one_entry,
    a_reset_flood_beyond_the_nodes_bound_is_shed_before_any_write,
);

#[path = "sign_in/cached_sessions.rs"]
mod cached_sessions;

const PASSWORD: &str = "velvet tractor lagoon origami";

fn from(ip: &str) -> AuditContext {
    AuditContext {
        actor: "anonymous".into(),
        ip: ip.into(),
        user_agent: "test".into(),
        session: String::new(),
    }
}

async fn open(db: &TestDatabase, keys: Arc<Keyring>, policy: ThrottlePolicy) -> (Store, Identity) {
    let store = Store::connect(&db.url, keys).await.unwrap();
    let identity = Identity::new(
        store.clone(),
        PasswordHasherPool::new(2).unwrap(),
        SessionLimits::default(),
    )
    .with_throttle(policy);
    (store, identity)
}

async fn account(store: &Store, identity: &Identity, email: &str) -> UserId {
    let hash = identity
        .hasher()
        .hash(&SecretString::new(PASSWORD.into()))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Agent,
                email: EmailAddress::parse(email).unwrap(),
                name: "Someone".into(),
                phone: None,
                company: None,
                password_hash: Some(hash),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn secret(s: &str) -> SecretString {
    SecretString::new(s.into())
}

async fn audit_actions(store: &Store) -> Vec<(String, String)> {
    store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect()
}

async fn guessing_one_account_locks_it_and_the_lock_looks_like_a_wrong_password(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        ThrottlePolicy::default(),
    )
    .await;
    account(&store, &id, "victim@desk.test").await;
    account(&store, &id, "other@desk.test").await;
    assert!(
        id.sign_in("victim@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
            .await
            .is_ok(),
        "genuine sign-in"
    );
    for _ in 0..6 {
        let r = id
            .sign_in(
                "victim@desk.test",
                &secret("wrong guess here"),
                &from("192.0.2.66"),
            )
            .await;
        assert!(matches!(r, Err(IdentityError::InvalidCredentials)));
    }
    // Locked: even the right password is refused, with the wrong-password answer.
    let r = id
        .sign_in("victim@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
        .await;
    assert!(
        matches!(r, Err(IdentityError::InvalidCredentials)),
        "locked account must refuse like a wrong password"
    );
    let actions = audit_actions(&store).await;
    assert!(actions.iter().any(|(a, _)| a == "auth.account_locked"));
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "auth.sign_in" && d.contains("account_locked"))
    );
    // Other accounts are untouched.
    assert!(
        id.sign_in("other@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
            .await
            .is_ok()
    );
}

async fn unknown_accounts_lock_exactly_like_real_ones(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        ThrottlePolicy::default(),
    )
    .await;
    for _ in 0..6 {
        let r = id
            .sign_in(
                "nobody@desk.test",
                &secret("wrong guess here"),
                &from("192.0.2.7"),
            )
            .await;
        assert!(matches!(r, Err(IdentityError::InvalidCredentials)));
    }
    let locks = audit_actions(&store)
        .await
        .into_iter()
        .filter(|(a, _)| a == "auth.account_locked")
        .count();
    assert_eq!(
        locks, 1,
        "an unknown address is locked after the same number of failures"
    );
}

/// A node whose source limit starts after five failures.
async fn with_address_limit_of_five(backend: Backend) -> (TestDatabase, Store, Identity) {
    let db = TestDatabase::new(backend).await.unwrap();
    let policy = ThrottlePolicy {
        ip_free_failures: 5,
        ..ThrottlePolicy::default()
    };
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        policy,
    )
    .await;
    (db, store, id)
}

async fn credential_stuffing_slows_the_source_not_the_victims(backend: Backend) {
    let (_db, store, id) = with_address_limit_of_five(backend).await;
    let mut victims = Vec::new();
    for i in 0..4 {
        let email = format!("victim{i}@desk.test");
        account(&store, &id, &email).await;
        victims.push(email);
    }
    let attacker = from("198.51.100.9");
    let mut throttled = false;
    for i in 0..10 {
        let target = victims
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("guess{i}@desk.test"));
        match id.sign_in(&target, &secret("Summer2024!Summer"), &attacker).await {
            Err(IdentityError::Throttled { retry_after_secs }) => {
                assert!(retry_after_secs >= 1);
                throttled = true;
                break;
            }
            Err(IdentityError::InvalidCredentials) => {}
            other => panic!("unexpected {:?}", other.map(|s| s.session)),
        }
    }
    assert!(throttled, "the source address is slowed after its free failures");
    // Even a correct password from the throttled source waits.
    let r = id.sign_in(&victims[0], &secret(PASSWORD), &attacker).await;
    assert!(matches!(r, Err(IdentityError::Throttled { .. })));
    // The victims, from their own addresses, are not locked out.
    for v in &victims {
        assert!(
            id.sign_in(v, &secret(PASSWORD), &from("203.0.113.5"))
                .await
                .is_ok(),
            "{v} locked out by stuffing"
        );
    }
}

async fn old_hashes_are_upgraded_at_the_next_sign_in(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        ThrottlePolicy::default(),
    )
    .await;
    let user = account(&store, &id, "old@desk.test").await;
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    let mut tx = store.begin().await.unwrap();
    store
        .set_password_hash(&mut tx, &user, &SecretString::new(weak))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        id.sign_in("old@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
            .await
            .is_ok()
    );
    let now = store.password_hash(&user).await.unwrap().unwrap();
    assert!(
        now.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        now.expose()
    );
    assert!(
        id.sign_in("old@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
            .await
            .is_ok(),
        "still signs in"
    );
}

async fn setup_refuses_common_passwords_and_keeps_the_link(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        ThrottlePolicy::default(),
    )
    .await;
    let mut tx = store.begin().await.unwrap();
    let user = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse("grace.hopper@example.org").unwrap(),
                name: "Grace Hopper".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let link = id.issue_setup_link(&user, &from("127.0.0.1")).await.unwrap();
    for weak in ["1q2w3e4r5t6y", "qwertyqwerty", "gracehopper1906", "short"] {
        let r = id
            .complete_setup(link.expose(), &secret(weak), &from("127.0.0.1"))
            .await;
        assert!(
            matches!(r, Err(IdentityError::WeakPassword(_))),
            "{weak} accepted"
        );
    }
    assert!(
        id.setup_link_valid(link.expose()).await.unwrap(),
        "a refused password does not use up the link"
    );
    assert_eq!(
        id.complete_setup(link.expose(), &secret(PASSWORD), &from("127.0.0.1"))
            .await
            .unwrap(),
        user
    );
    assert!(
        id.sign_in("grace.hopper@example.org", &secret(PASSWORD), &from("127.0.0.1"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn lockout_holds_across_two_nodes_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let (store_a, node_a) = open(&db, keys.clone(), ThrottlePolicy::default()).await;
    let (_store_b, node_b) = open(&db, keys, ThrottlePolicy::default()).await;
    account(&store_a, &node_a, "shared@desk.test").await;
    for i in 0..6 {
        let node = if i % 2 == 0 { &node_a } else { &node_b };
        let _ = node
            .sign_in(
                "shared@desk.test",
                &secret("wrong guess here"),
                &from(&format!("192.0.2.{i}")),
            )
            .await;
    }
    for node in [&node_a, &node_b] {
        let r = node
            .sign_in("shared@desk.test", &secret(PASSWORD), &from("192.0.2.200"))
            .await;
        assert!(
            matches!(r, Err(IdentityError::InvalidCredentials)),
            "lockout must hold on every node"
        );
    }
}

#[tokio::test]
async fn refuse_new_policy_keeps_the_first_session_and_refuses_the_second() {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let limits = SessionLimits {
        on_limit: palisade_identity::OnSessionLimit::RefuseNew,
        ..SessionLimits::default()
    };
    let id = Identity::new(store.clone(), PasswordHasherPool::new(2).unwrap(), limits);
    account(&store, &id, "single@desk.test").await;
    // Staff sign in to an enrol-only session first; enrolling makes it a full one.
    let pending = id
        .sign_in("single@desk.test", &secret(PASSWORD), &from("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(pending.stage, palisade_identity::SessionStage::Enrol);
    let state = id
        .authenticate(pending.token.expose())
        .await
        .unwrap()
        .unwrap()
        .session
        .unwrap();
    let setup = id.begin_totp(&state, &pending.user).await.unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(setup.secret_base32.as_str()).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let enrolled = id
        .confirm_totp(
            &state,
            &pending.user,
            &totp.generate(now).to_string(),
            &from("192.0.2.1"),
        )
        .await
        .unwrap();
    assert_eq!(enrolled.recovery_codes.as_ref().map(Vec::len), Some(10));
    let first = enrolled.token;
    // The second device gets as far as the second factor, then is refused.
    let second = id
        .sign_in("single@desk.test", &secret(PASSWORD), &from("192.0.2.2"))
        .await
        .unwrap();
    assert_eq!(second.stage, palisade_identity::SessionStage::SecondFactor);
    let second_state = id
        .authenticate(second.token.expose())
        .await
        .unwrap()
        .unwrap()
        .session
        .unwrap();
    let refused = id
        .verify_second_factor(
            &second_state,
            &second.user,
            &palisade_identity::SecondFactor::Totp(totp.generate(now + 30).to_string()),
            &from("192.0.2.2"),
        )
        .await;
    assert!(
        matches!(refused, Err(IdentityError::SessionLimit)),
        "{:?}",
        refused.err()
    );
    assert!(
        id.authenticate(first.expose()).await.unwrap().is_some(),
        "the first session lives on"
    );
}

/// Sign-in audit entries that show a password was actually compared for `reason`.
async fn evaluated(store: &Store, reason: &str) -> usize {
    audit_actions(store)
        .await
        .into_iter()
        .filter(|(a, d)| a == "auth.sign_in" && d.contains(reason))
        .count()
}

async fn a_burst_of_wrong_passwords_on_two_nodes_is_evaluated_no_more_than_the_lockout_allows(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let policy = ThrottlePolicy::default();
    let (store, node_a) = open(&db, keys.clone(), policy).await;
    // SQLite is one node (one writer); PostgreSQL gets a second node on the same data.
    let node_b = match backend {
        Backend::Postgres => open(&db, keys, policy).await.1,
        Backend::Sqlite => node_a.clone(),
    };
    account(&store, &node_a, "victim@desk.test").await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let node = if i % 2 == 0 { &node_a } else { &node_b };
            let ctx = from(&format!("198.51.100.{i}"));
            async move {
                node.sign_in("victim@desk.test", &secret(&format!("guess number {i}")), &ctx)
                    .await
            }
        })
        .collect();
    let results = palisade_testkit::burst::join_all(guesses).await;
    for r in &results {
        assert!(
            matches!(r, Err(IdentityError::InvalidCredentials)),
            "{:?}",
            r.as_ref().map(|_| "signed in").map_err(|e| e.to_string())
        );
    }
    let compared = evaluated(&store, "wrong_password").await;
    assert!(
        (1..=policy.account_free_failures as usize).contains(&compared),
        "{compared} of 40 concurrent guesses were compared; the lockout allows {}",
        policy.account_free_failures
    );
    // The right password afterwards finds the account locked.
    let r = node_b
        .sign_in("victim@desk.test", &secret(PASSWORD), &from("203.0.113.1"))
        .await;
    assert!(
        matches!(r, Err(IdentityError::InvalidCredentials)),
        "locked after the burst"
    );
}

async fn a_burst_from_one_address_is_evaluated_no_more_than_its_limit_allows(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let policy = ThrottlePolicy::default();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        policy,
    )
    .await;
    let attacker = from("198.51.100.77");
    let attempts: Vec<_> = (0..61)
        .map(|i| {
            let (id, attacker) = (&id, &attacker);
            async move {
                id.sign_in(
                    &format!("nobody{i}@desk.test"),
                    &secret("Summer2024!Summer"),
                    attacker,
                )
                .await
            }
        })
        .collect();
    let results = palisade_testkit::burst::join_all(attempts).await;
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(IdentityError::Throttled { .. })))
        .count();
    let compared = evaluated(&store, "unknown_account").await;
    assert!(
        throttled > 0,
        "61 concurrent attempts from one address must meet its limit"
    );
    assert!(
        compared <= policy.ip_free_failures as usize,
        "{compared} attempts evaluated; the address limit allows {}",
        policy.ip_free_failures
    );
    assert_eq!(compared + throttled, 61);
}

async fn a_burst_of_reset_requests_sends_no_more_mail_than_the_limit(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let policy = ThrottlePolicy::default();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        policy,
    )
    .await;
    let id = id.with_public_origin("https://desk.test");
    account(&store, &id, "victim@desk.test").await;
    let before = store.count_rows("outbox").await.unwrap();
    let requests: Vec<_> = (0..41)
        .map(|i| {
            let (id, ctx) = (&id, from(&format!("203.0.113.{i}")));
            async move { id.password_reset_work("victim@desk.test", &ctx).await }
        })
        .collect();
    for r in palisade_testkit::burst::join_all(requests).await {
        r.unwrap();
    }
    let mails = store.count_rows("outbox").await.unwrap() - before;
    assert!(
        (1..=policy.account_free_failures).contains(&mails),
        "{mails} reset mails for 41 concurrent requests; the limit is {}",
        policy.account_free_failures
    );
}

async fn ipv6_sources_are_counted_per_64(backend: Backend) {
    let (_db, store, id) = with_address_limit_of_five(backend).await;
    let id = id.with_public_origin("https://desk.test");
    let mut throttled_at = None;
    for i in 0..10 {
        // A new address of the same /64 for every attempt.
        let ctx = from(&format!("2001:db8:1:2::{:x}", 0x1000 + i));
        if let Err(IdentityError::Throttled { .. }) = id
            .sign_in(
                &format!("nobody{i}@desk.test"),
                &secret("guess guess guess"),
                &ctx,
            )
            .await
        {
            throttled_at = Some(i);
            break;
        }
    }
    assert_eq!(throttled_at, Some(5), "rotating inside one /64 is one source");
    let other = id
        .sign_in(
            "nobody@desk.test",
            &secret("guess guess guess"),
            &from("2001:db8:1:3::1"),
        )
        .await;
    assert!(
        matches!(other, Err(IdentityError::InvalidCredentials)),
        "another /64 is not throttled"
    );
    // The reset limit counts the same way.
    for i in 0..30 {
        id.password_reset_work(
            &format!("nobody{i}@desk.test"),
            &from(&format!("2001:db8:9:9::{i:x}")),
        )
        .await
        .unwrap();
    }
    let refused = audit_actions(&store)
        .await
        .into_iter()
        .filter(|(a, d)| a == "auth.password_reset_requested" && d.contains("source_throttled"))
        .count();
    assert!(
        refused > 0,
        "reset requests rotating inside one /64 meet the source limit"
    );
}

/// The last time the database counted an attempt from `key`.
async fn last_counted(db: &TestDatabase, key: &str) -> i64 {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let sql = format!("SELECT last_failure_at FROM throttle WHERE key = '{key}'");
    sqlx::Row::try_get(
        &sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        0,
    )
    .unwrap()
}

async fn a_flood_from_a_blocked_source_writes_nothing_and_is_audited_in_one_entry(backend: Backend) {
    let (db, store, id) = with_address_limit_of_five(backend).await;
    let flood = from("198.51.100.7");
    let guess = || secret("guess guess guess");
    for i in 0..5 {
        let r = id
            .sign_in(&format!("nobody{i}@desk.test"), &guess(), &flood)
            .await;
        assert!(matches!(r, Err(IdentityError::InvalidCredentials)), "evaluated");
    }
    // The database blocks the source: refused and audited, as before.
    let r = id.sign_in("nobody5@desk.test", &guess(), &flood).await;
    assert!(matches!(r, Err(IdentityError::Throttled { .. })));
    let audited = audit_actions(&store).await.len();
    let counted = last_counted(&db, "ip:198.51.100.7").await;

    // The flood: refused just the same, with no write at all.
    for i in 0..200 {
        let r = id
            .sign_in(&format!("victim{i}@desk.test"), &guess(), &flood)
            .await;
        assert!(matches!(r, Err(IdentityError::Throttled { .. })), "attempt {i}");
    }
    assert_eq!(
        audit_actions(&store).await.len(),
        audited,
        "no audit entry per refused attempt"
    );
    assert_eq!(
        last_counted(&db, "ip:198.51.100.7").await,
        counted,
        "no throttle write either"
    );

    // Another source is not affected, and the refusals are audited together.
    let other = id
        .sign_in("nobody@desk.test", &guess(), &from("198.51.100.8"))
        .await;
    assert!(matches!(other, Err(IdentityError::InvalidCredentials)));
    assert_eq!(id.audit_remembered_refusals().await.unwrap(), 1);
    let (action, detail) = audit_actions(&store).await.pop().unwrap();
    assert_eq!(action, "auth.sign_in");
    assert!(detail.contains("\"refused_from_memory\":200"), "{detail}");
    assert_eq!(
        id.audit_remembered_refusals().await.unwrap(),
        0,
        "each refusal is audited once"
    );
}

/// Waits (at most ten seconds) until no password reset runs in the background.
async fn resets_done(id: &Identity) {
    for _ in 0..1000 {
        if id.resets_running() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("reset requests still running after ten seconds");
}

async fn a_reset_flood_beyond_the_nodes_bound_is_shed_before_any_write(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let (store, id) = open(
        &db,
        Arc::new(Keyring::new(&MasterKey::generate().unwrap())),
        ThrottlePolicy::default(),
    )
    .await;
    // Five at once, then one a second.
    let id = id
        .with_public_origin("https://desk.test")
        .with_reset_bounds(1, 5, 100);
    account(&store, &id, "victim@desk.test").await;
    let resets = |entries: Vec<(String, String)>| {
        entries
            .into_iter()
            .filter(|(a, _)| a == "auth.password_reset_requested")
            .collect::<Vec<_>>()
    };
    let before = resets(audit_actions(&store).await).len();
    let throttle_rows = store.count_rows("throttle").await.unwrap();

    // The flood: sixty requests from sixty addresses, each far inside its own limits.
    for i in 0..60 {
        id.request_password_reset(&format!("nobody{i}@desk.test"), &from(&format!("203.0.113.{i}")));
    }
    resets_done(&id).await;
    let worked = resets(audit_actions(&store).await).len() - before;
    assert!(
        (5..=7).contains(&worked),
        "{worked} requests did their work; the burst is five, then one a second"
    );
    assert!(
        store.count_rows("throttle").await.unwrap() - throttle_rows <= 2 * worked as i64,
        "a shed request reserves nothing"
    );
    assert_eq!(id.audit_remembered_refusals().await.unwrap(), 1);
    let (action, detail) = audit_actions(&store).await.pop().unwrap();
    assert_eq!(action, "auth.password_reset_requested");
    assert!(detail.contains("\"reason\":\"node_busy\""), "{detail}");
    assert!(
        detail.contains(&format!("\"shed\":{}", 60 - worked)),
        "{detail}: every request is either worked or counted"
    );
    assert_eq!(id.audit_remembered_refusals().await.unwrap(), 0, "audited once");

    // The genuine request, once the node has room again, gets its link.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let mails = store.count_rows("outbox").await.unwrap();
    id.request_password_reset("victim@desk.test", &from("198.51.100.1"));
    resets_done(&id).await;
    assert_eq!(store.count_rows("outbox").await.unwrap(), mails + 1);
}
