//! Erasure on both backends: a customer's key is destroyed and their words removed,
//! in their own ticket and in someone else's, while what others wrote stays readable
//! and findable; nothing keyed to them is left in the database files; the audit trail
//! verifies. The attacks: erasing without the proof, erasing a staff account, and
//! looking the erased person up by address or by a word they wrote.

use std::sync::Arc;

use palisade_audit::{AuditContext, AuditEvent, Outcome};
use palisade_core::{Principal, Role, UserId, Visibility};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, PolicyEngine, Resource, UserFacts};
use palisade_store::{Including, Store, StoreError, TicketRecord};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::Connection as _;

use crate::storage::{found, seed};

palisade_testkit::on_both_backends!(erasing_a_customer_destroys_their_key_and_keeps_what_others_wrote);

pub(crate) fn principal(user: &UserId, role: Role) -> Principal {
    Principal {
        user_id: user.clone(),
        role,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    }
}

pub(crate) fn erase_proof(policy: &PolicyEngine, target: &UserId, role: Role) -> palisade_policy::Authorized {
    let admin = principal(&UserId::generate(), Role::Admin);
    policy
        .authorize(
            &admin,
            Action::UserErase,
            &Resource::User(UserFacts {
                id: target.clone(),
                role,
                company: None,
                teams: vec![],
            }),
        )
        .unwrap()
}

async fn one_column(url: &str, sql: &str, value: &str) -> Vec<Vec<u8>> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

/// Raw bytes in a SQLite file, or hex in a PostgreSQL dump (bytea's text form).
fn holds(dump: &[u8], bytes: &[u8]) -> bool {
    let hex = hex::encode(bytes);
    dump.windows(bytes.len()).any(|w| w == bytes) || dump.windows(hex.len()).any(|w| w == hex.as_bytes())
}

async fn messages(store: &Store, policy: &PolicyEngine, ticket: &TicketRecord) -> Vec<(UserId, String)> {
    let admin = principal(&UserId::generate(), Role::Admin);
    let proof = policy
        .authorize(
            &admin,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
        .unwrap();
    store
        .list_messages(ticket, Including::Internal(&proof))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.author, m.body))
        .collect()
}

async fn erasing_a_customer_destroys_their_key_and_keeps_what_others_wrote(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let master = MasterKey::generate().unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&master)))
        .await
        .unwrap();
    let policy = PolicyEngine::load().unwrap();
    // Ann asks a ticket (with a staff note and her file); Bob asks another, where Ann
    // writes too as a participant.
    let (ann, ann_ticket) = seed(&store, "Annq8Erase").await;
    let (bob, bob_ticket) = seed(&store, "Bobq8Keep").await;
    let bob_record = store.get_ticket(&bob_ticket).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let mut facts = bob_record.facts();
    facts.collaborators.push(ann.clone());
    let admin = principal(&UserId::generate(), Role::Admin);
    let add = policy
        .authorize(
            &admin,
            Action::TicketManageCollaborators,
            &Resource::Ticket(facts.clone()),
        )
        .unwrap();
    store
        .add_collaborator(&mut tx, &add, &bob_ticket, &ann)
        .await
        .unwrap();
    let reply = policy
        .authorize(
            &principal(&ann, Role::Customer),
            Action::TicketReply,
            &Resource::Ticket(facts),
        )
        .unwrap();
    store
        .add_message(
            &mut tx,
            &reply,
            &bob_record,
            &ann,
            Visibility::Public,
            "Annq8Aside in Bob's ticket",
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.merge_pending_terms(100).await.unwrap();
    assert_eq!(found(&store, "annq8aside", false).await, vec![bob_ticket.clone()]);

    let email = store.get_user(&ann).await.unwrap().email;
    let key_id = format!("dk_{ann}");
    let wrapped = one_column(&db.url, "SELECT wrapped FROM data_keys WHERE id = $1", &key_id).await;
    assert_eq!(wrapped.len(), 1, "Ann has her own key");
    let her_bodies = one_column(
        &db.url,
        "SELECT body_enc FROM messages WHERE author_id = $1",
        ann.as_str(),
    )
    .await;
    assert_eq!(her_bodies.len(), 2);

    let before = db.raw_dump().await.unwrap();
    assert!(
        holds(&before, &wrapped[0]),
        "the files hold her wrapped key before"
    );
    assert!(holds(&before, &her_bodies[0]), "and her sealed words");

    // Attack: erasure without the proof for her, and of a staff account.
    let mut tx = store.begin().await.unwrap();
    let other = erase_proof(&policy, &bob, Role::Customer);
    assert!(matches!(
        store.erase_person(&mut tx, &other, &ann).await,
        Err(StoreError::Unauthorized)
    ));
    drop(tx);
    let staff = seed_staff(&store).await;
    let mut tx = store.begin().await.unwrap();
    let staff_proof = palisade_policy::PolicyEngine::load()
        .unwrap()
        .authorize(
            &principal(&UserId::generate(), Role::Admin),
            Action::UserErase,
            &Resource::User(UserFacts {
                id: staff.clone(),
                role: Role::Customer,
                company: None,
                teams: vec![],
            }),
        )
        .unwrap();
    assert!(matches!(
        store.erase_person(&mut tx, &staff_proof, &staff).await,
        Err(StoreError::Invalid(_))
    ));
    drop(tx);

    // Genuine: erased.
    let mut tx = store.begin().await.unwrap();
    let erased = store
        .erase_person(&mut tx, &erase_proof(&policy, &ann, Role::Customer), &ann)
        .await
        .unwrap();
    store
        .append_audit(
            &mut tx,
            &AuditContext::system(),
            &AuditEvent::new(
                palisade_audit::AuditAction::PersonErased,
                ann.as_str(),
                Outcome::Success,
            ),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.scrub_after_erasure().await;
    assert_eq!(erased.accounts.len(), 1);
    assert_eq!(erased.accounts[0].user, ann);
    assert_eq!(erased.accounts[0].data_key_id, key_id);
    assert_eq!(erased.tickets_rekeyed, 1);
    assert_eq!(erased.messages_emptied, 2);
    assert_eq!(erased.attachments_deleted, 1);
    assert_eq!(store.erasures().await.unwrap().len(), 1);

    // The account is there as "an erased person", found by nobody's address.
    let account = store.get_user(&ann).await.unwrap();
    assert!(account.erased && account.disabled && account.name.is_empty());
    assert!(account.email.as_str().ends_with(palisade_store::ERASED_DOMAIN));
    assert!(store.find_user_by_email(&email).await.unwrap().is_none());

    // Her ticket has a key of its own: the staff note still reads; her words are gone.
    let ann_record = store.get_ticket(&ann_ticket).await.unwrap();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let ticket_key: String = sqlx::query_scalar("SELECT data_key_id FROM tickets WHERE id = $1")
        .bind(ann_ticket.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(
        ticket_key,
        format!("dk_{ann_ticket}"),
        "her ticket has a key of its own"
    );
    assert_eq!(ann_record.subject, "");
    let thread = messages(&store, &policy, &ann_record).await;
    assert!(thread.contains(&(ann.clone(), String::new())), "{thread:?}");
    assert!(
        thread.iter().any(|(a, b)| *a != ann && b == "Note Annq8Erase"),
        "{thread:?}"
    );
    let files = store
        .list_attachments(&ann_record, Including::Public)
        .await
        .unwrap();
    assert!(files.is_empty(), "her file is deleted");
    // Bob's ticket keeps Bob's words and his key; hers there are emptied.
    let bob_record = store.get_ticket(&bob_ticket).await.unwrap();
    assert_eq!(bob_record.subject, "Subject Bobq8Keep");
    let thread = messages(&store, &policy, &bob_record).await;
    assert!(thread.contains(&(bob.clone(), "Body Bobq8Keep".into())));
    assert!(thread.contains(&(ann.clone(), String::new())));
    assert_eq!(store.get_user(&bob).await.unwrap().name, "Name Bobq8Keep");

    // Attack: a search for her words finds nothing; others' still do.
    store.merge_pending_terms(100).await.unwrap();
    assert!(found(&store, "annq8aside", false).await.is_empty());
    assert!(
        found(&store, "annq8erase", true).await == vec![ann_ticket.clone()],
        "the note's words stay"
    );
    assert!(found(&store, "body annq8erase", false).await.is_empty());
    assert_eq!(found(&store, "bobq8keep", false).await, vec![bob_ticket.clone()]);

    // Attack: nothing of hers is left in the database files: not her wrapped key, not
    // the ciphertext of what she wrote, not her address's index.
    store.close().await;
    let dump = db.raw_dump().await.unwrap();
    assert!(
        !holds(&dump, &wrapped[0]),
        "her wrapped key is gone from the files"
    );
    for body in &her_bodies {
        assert!(!holds(&dump, body), "her sealed words are gone from the files");
    }
    let index = Keyring::new(&master)
        .blind_index()
        .compute("users.email", email.as_str());
    assert!(!holds(&dump, index.as_bytes()), "her address's index is gone");

    // The audit trail still verifies.
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&master)))
        .await
        .unwrap();
    store
        .verify_audit_trail(store.audit_trusted_keys())
        .await
        .unwrap();
    // Again: nothing more to do, and no error.
    let mut tx = store.begin().await.unwrap();
    let again = store
        .erase_person(&mut tx, &erase_proof(&policy, &ann, Role::Customer), &ann)
        .await
        .unwrap();
    assert!(again.accounts.is_empty());
}

pub(crate) async fn seed_staff(store: &Store) -> UserId {
    let mut tx = store.begin().await.unwrap();
    let id = store
        .create_user(
            &mut tx,
            &palisade_store::NewUser {
                role: Role::Agent,
                email: palisade_core::EmailAddress::parse(&format!(
                    "agent-{}@example.org",
                    UserId::generate().as_str().to_lowercase()
                ))
                .unwrap(),
                name: "Agent".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}
