//! Retention on both backends, with a clock the test moves: nothing is due before its
//! time; past it, one solved ticket is anonymised (kept for reports, nothing of its
//! customer left), another erased (gone, its sealed words out of the database files),
//! while one under a legal hold stays until the hold is released; network addresses in
//! sessions and the audit trail are shortened to their network and the trail still
//! verifies. The attacks: a schedule set without the proof, and one a scope cannot hold.

use std::sync::Arc;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{ManualClock, Role, UnixMillis, UserId};
use palisade_crypto::{Keyring, MasterKey, TokenHash};
use palisade_policy::{Action, PolicyEngine, Resource};
use palisade_store::{
    ANONYMISED_PERSON, HoldTarget, NewSession, RetentionSchedule, RetentionScope, SessionStage, Store,
    StoreError, TicketDisposal,
};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::Connection as _;

use crate::erasure::{erase_proof, principal, seed_staff};
use crate::storage::{found, seed};

palisade_testkit::on_both_backends!(retention_disposes_of_what_is_past_its_time_and_spares_what_is_held);

const DAY_SECS: i64 = 86_400;

fn manage_privacy(
    policy: &PolicyEngine,
    role: Role,
) -> Result<palisade_policy::Authorized, palisade_policy::PolicyError> {
    policy.authorize(
        &principal(&UserId::generate(), role),
        Action::ManagePrivacy,
        &Resource::Directory,
    )
}

fn schedule(scope: RetentionScope, by: &UserId) -> RetentionSchedule {
    RetentionSchedule {
        scope,
        tickets_days: Some(30),
        tickets_action: TicketDisposal::Anonymise,
        transcripts_days: None,
        quarantine_days: None,
        addresses_days: Some(7),
        updated_by: by.clone(),
        updated_at: UnixMillis::now(),
    }
}

async fn sql(url: &str, statement: &str, value: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .bind(value)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn column(url: &str, query: &str, value: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn bytes(url: &str, query: &str, value: &str) -> Vec<Vec<u8>> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

fn holds(dump: &[u8], bytes: &[u8]) -> bool {
    let hex = hex::encode(bytes);
    dump.windows(bytes.len()).any(|w| w == bytes) || dump.windows(hex.len()).any(|w| w == hex.as_bytes())
}

async fn run_to_the_end(store: &Store) -> palisade_store::RetentionDone {
    let mut total = palisade_store::RetentionDone::default();
    // Batches of two, so the run takes several and carries on where each stopped.
    for _ in 0..50 {
        let (done, more) = store.apply_retention_batch("rr_test", 2).await.unwrap();
        total.add(&done);
        if !more {
            return total;
        }
    }
    panic!("retention never finished");
}

async fn retention_disposes_of_what_is_past_its_time_and_spares_what_is_held(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let master = MasterKey::generate().unwrap();
    let clock = ManualClock::at(UnixMillis::now());
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&master)))
        .await
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let policy = PolicyEngine::load().unwrap();
    let admin = seed_staff(&store).await;

    let (anon_customer, anonymised) = seed(&store, "Retq1Anon").await;
    let (_, erased) = seed(&store, "Retq1Gone").await;
    let (held_customer, held) = seed(&store, "Retq1Held").await;
    let (_, open) = seed(&store, "Retq1Open").await;
    for ticket in [&anonymised, &erased, &held] {
        sql(
            &db.url,
            "UPDATE tickets SET status = 'solved' WHERE id = $1",
            ticket.as_str(),
        )
        .await;
    }
    store.merge_pending_terms(100).await.unwrap();
    assert_eq!(found(&store, "retq1anon", false).await, vec![anonymised.clone()]);
    let erased_subject = bytes(
        &db.url,
        "SELECT subject_enc FROM tickets WHERE id = $1",
        erased.as_str(),
    )
    .await;

    // Sign-ins and audit entries from an address (the held customer's too).
    let mut tx = store.begin().await.unwrap();
    for (who, hash) in [(&anon_customer, "f"), (&held_customer, "e")] {
        store
            .create_session(
                &mut tx,
                &NewSession {
                    user: who.clone(),
                    stage: SessionStage::Full,
                    auth_at: UnixMillis::now(),
                    token_hash: TokenHash(hash.repeat(64)),
                    idle_timeout_secs: 3600,
                    absolute_timeout_secs: 7200,
                    ip: "203.0.113.77".into(),
                    user_agent: "test".into(),
                },
            )
            .await
            .unwrap();
    }
    let from_address = AuditContext {
        actor: anon_customer.to_string(),
        ip: "203.0.113.77".into(),
        user_agent: "test".into(),
        session: String::new(),
    };
    store
        .append_audit(
            &mut tx,
            &from_address,
            &AuditEvent::new(AuditAction::SignIn, anon_customer.as_str(), Outcome::Success),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Attack: a schedule without the proof, and one a team cannot hold.
    let proof = manage_privacy(&policy, Role::Admin).unwrap();
    assert!(manage_privacy(&policy, Role::Agent).is_err());
    // A proof of another action (erasing a customer) covers no schedule.
    let ticket_proof = erase_proof(&policy, &anon_customer, Role::Customer);
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        store
            .set_retention_schedule(&mut tx, &ticket_proof, &schedule(RetentionScope::Desk, &admin))
            .await,
        Err(StoreError::Unauthorized)
    ));
    let erased_team = store.get_ticket(&erased).await.unwrap().team;
    let mut team_schedule = schedule(RetentionScope::Team(erased_team), &admin);
    assert!(matches!(
        store
            .set_retention_schedule(&mut tx, &proof, &team_schedule)
            .await,
        Err(StoreError::Invalid(_))
    ));
    drop(tx);

    // Genuine: the desk anonymises after 30 days and shortens addresses after 7; the
    // erased ticket's team erases instead; the held customer is under a legal hold.
    team_schedule.addresses_days = None;
    team_schedule.tickets_action = TicketDisposal::Erase;
    let mut tx = store.begin().await.unwrap();
    store
        .set_retention_schedule(&mut tx, &proof, &schedule(RetentionScope::Desk, &admin))
        .await
        .unwrap();
    store
        .set_retention_schedule(&mut tx, &proof, &team_schedule)
        .await
        .unwrap();
    store
        .place_legal_hold(
            &mut tx,
            &HoldTarget::Customer(held_customer.clone()),
            "case 7",
            &admin,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.retention_schedules().await.unwrap().len(), 2);

    // Before their time: nothing is due.
    let due = store.retention_due(50).await.unwrap();
    assert_eq!((due.tickets_due, due.tickets_held), (0, 0));
    assert_eq!(due.addresses.sessions, 0);
    assert!(run_to_the_end(&store).await.is_empty());

    // 31 days on: the dry run names the two tickets and the hold, and changes nothing.
    clock.advance_secs(31 * DAY_SECS);
    let due = store.retention_due(50).await.unwrap();
    assert_eq!((due.tickets_due, due.tickets_held), (2, 1));
    let mut named: Vec<_> = due.tickets.iter().map(|t| (t.id.clone(), t.action)).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (anonymised.clone(), TicketDisposal::Anonymise),
        (erased.clone(), TicketDisposal::Erase),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(named, expected);
    assert_eq!(
        due.addresses.sessions, 1,
        "the held customer's sign-in is not counted"
    );
    assert!(due.addresses.audit_entries >= 1);
    assert_eq!(
        store.get_ticket(&anonymised).await.unwrap().subject,
        "Subject Retq1Anon"
    );

    let done = run_to_the_end(&store).await;
    assert_eq!(
        (done.tickets_anonymised, done.tickets_erased, done.tickets_held),
        (1, 1, 1)
    );
    assert_eq!(done.session_addresses_shortened, 1);
    assert!(done.audit_addresses_shortened >= 1);
    store.scrub_after_erasure().await;

    // The anonymised ticket is kept, with nothing of its customer.
    let kept = store.get_ticket(&anonymised).await.unwrap();
    assert_eq!(kept.subject, "");
    assert_eq!(kept.requester.as_str(), ANONYMISED_PERSON);
    let authors = column(
        &db.url,
        "SELECT author_id FROM messages WHERE ticket_id = $1",
        anonymised.as_str(),
    )
    .await;
    assert!(!authors.contains(&anon_customer.to_string()), "{authors:?}");
    store.merge_pending_terms(100).await.unwrap();
    assert!(found(&store, "retq1anon", false).await.is_empty());
    assert!(found(&store, "retq1anon", true).await.is_empty());
    // The erased one is gone, down to its sealed subject in the database files.
    assert!(matches!(
        store.get_ticket(&erased).await,
        Err(StoreError::NotFound)
    ));
    // Held and open tickets stay as they were.
    assert_eq!(
        store.get_ticket(&held).await.unwrap().subject,
        "Subject Retq1Held"
    );
    assert_eq!(
        store.get_ticket(&open).await.unwrap().subject,
        "Subject Retq1Open"
    );
    assert_eq!(found(&store, "retq1held", false).await, vec![held.clone()]);

    // Addresses are shortened to their network, and the trail still verifies.
    let ips = column(
        &db.url,
        "SELECT ip FROM sessions WHERE user_id = $1",
        anon_customer.as_str(),
    )
    .await;
    assert_eq!(ips, vec!["203.0.113.0/24".to_owned()]);
    // The held customer's sign-in keeps its address while the hold stands.
    let held_ips = column(
        &db.url,
        "SELECT ip FROM sessions WHERE user_id = $1",
        held_customer.as_str(),
    )
    .await;
    assert_eq!(held_ips, vec!["203.0.113.77".to_owned()]);
    let audit_ips = column(
        &db.url,
        "SELECT ip FROM audit_log WHERE actor = $1 AND action = 'auth.sign_in'",
        anon_customer.as_str(),
    )
    .await;
    assert_eq!(audit_ips, vec!["203.0.113.0/24".to_owned()]);
    store
        .verify_audit_trail(store.audit_trusted_keys())
        .await
        .unwrap();
    // Attack: putting the full address back under the deleted salt is caught.
    sql(
        &db.url,
        "UPDATE audit_log SET ip = '203.0.113.77' WHERE actor = $1 AND action = 'auth.sign_in'",
        anon_customer.as_str(),
    )
    .await;
    assert!(
        store
            .verify_audit_trail(store.audit_trusted_keys())
            .await
            .is_err()
    );
    sql(
        &db.url,
        "UPDATE audit_log SET ip = '203.0.113.0/24' WHERE actor = $1 AND action = 'auth.sign_in'",
        anon_customer.as_str(),
    )
    .await;

    // Released, the held ticket goes at the next run.
    let hold = store.legal_holds(10).await.unwrap().remove(0);
    let mut tx = store.begin().await.unwrap();
    store.release_legal_hold(&mut tx, &hold.id, &admin).await.unwrap();
    tx.commit().await.unwrap();
    let done = run_to_the_end(&store).await;
    assert_eq!((done.tickets_anonymised, done.tickets_held), (1, 0));
    assert_eq!(store.get_ticket(&held).await.unwrap().subject, "");
    let held_ips = column(
        &db.url,
        "SELECT ip FROM sessions WHERE user_id = $1",
        held_customer.as_str(),
    )
    .await;
    assert_eq!(held_ips, vec!["203.0.113.0/24".to_owned()]);
    store
        .verify_audit_trail(store.audit_trusted_keys())
        .await
        .unwrap();

    store.close().await;
    let dump = db.raw_dump().await.unwrap();
    assert!(
        !holds(&dump, &erased_subject[0]),
        "the erased ticket's sealed subject is gone from the files"
    );
}
