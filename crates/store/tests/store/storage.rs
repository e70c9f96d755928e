//! Storage scenarios, each run on SQLite and on a throwaway PostgreSQL database:
//! encryption at rest, the audit chain under tampering and under concurrent writers
//! from several nodes, migrations racing at start-up.

use std::sync::Arc;

use palisade_audit::{AuditAction, AuditContext, AuditError, AuditEvent, Outcome, Verifier};
use palisade_core::{EmailAddress, Principal, Role, TicketId, UserId, Visibility};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, PolicyEngine, Resource, TicketFacts};
use palisade_store::{
    BulkTicket, Including, NewAttachment, NewTicket, NewUser, Store, StoreError, TicketScope,
};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::{AssertSqlSafe, Connection};

use crate::common::exec;

palisade_testkit::on_both_backends!(
    markers_never_reach_the_database_in_clear,
    ciphertext_moved_between_rows_does_not_decrypt,
    wrong_master_key_is_refused_at_start,
    audit_verify_names_edited_removed_reordered_and_inserted_entries,
    ticket_scope_lists_only_the_scope,
    words_are_found_before_and_after_their_merge,
    a_merged_tickets_pending_words_find_the_survivor,
    a_bulk_create_reads_back_like_single_creates,
);

fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::new(&MasterKey::generate().unwrap()))
}

fn admin() -> Principal {
    Principal {
        user_id: UserId::generate(),
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    }
}

/// A customer with a ticket, a public message, an internal note and an attachment.
pub(crate) async fn seed(store: &Store, marker: &str) -> (UserId, TicketId) {
    seed_with_subject(store, marker, &format!("Subject {marker}")).await
}

/// As [`seed`], with the ticket's subject given.
pub(crate) async fn seed_with_subject(store: &Store, marker: &str, subject: &str) -> (UserId, TicketId) {
    let policy = PolicyEngine::load().unwrap();
    let mut tx = store.begin().await.unwrap();
    let team = store
        .create_team(&mut tx, &format!("Support {}", TicketId::generate()))
        .await
        .unwrap();
    let customer = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse(&format!("{}@example.com", marker.to_lowercase())).unwrap(),
                name: format!("Name {marker}"),
                phone: Some(format!("+1 555 {}", &marker[..4].len())),
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    let id = TicketId::generate();
    let facts = TicketFacts {
        id: id.clone(),
        requester: customer.clone(),
        collaborators: vec![],
        team: team.clone(),
        assignee: None,
        company: None,
        company_sharing: false,
        requester_confirmed: true,
    };
    let proof = policy
        .authorize(&admin(), Action::TicketCreate, &Resource::Ticket(facts.clone()))
        .unwrap();
    let new = NewTicket {
        requester: customer.clone(),
        team,
        subject: subject.to_owned(),
        first_message: format!("Body {marker}"),
        author: customer.clone(),
    };
    store.create_ticket(&mut tx, &proof, &id, &new).await.unwrap();
    tx.commit().await.unwrap();
    let ticket = store.get_ticket(&id).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    // A note is written by the account it was authorised for: an admin of the desk.
    let admin = Principal {
        user_id: store
            .create_user(
                &mut tx,
                &NewUser {
                    role: Role::Admin,
                    email: EmailAddress::parse(&format!(
                        "admin-{}@example.com",
                        TicketId::generate().as_str().to_lowercase()
                    ))
                    .unwrap(),
                    name: "Admin".into(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await
            .unwrap(),
        ..admin()
    };
    let note = policy
        .authorize(&admin, Action::TicketNote, &Resource::Ticket(ticket.facts()))
        .unwrap();
    store
        .add_message(
            &mut tx,
            &note,
            &ticket,
            &admin.user_id,
            Visibility::Internal,
            &format!("Note {marker}"),
        )
        .await
        .unwrap();
    let attach = policy
        .authorize(&admin, Action::TicketAttach, &Resource::Ticket(ticket.facts()))
        .unwrap();
    let file = NewAttachment {
        uploader: customer.clone(),
        message: None,
        content_id: None,
        position: 0,
        visibility: Visibility::Public,
        filename: format!("{marker}.txt"),
        content_type: "text/plain".into(),
        content: format!("File {marker}").into_bytes(),
    };
    store
        .add_attachment(&mut tx, &attach, &ticket, &file)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (customer, id)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

async fn markers_never_reach_the_database_in_clear(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let marker = "Zq7MarkerXv9";
    let (customer, ticket) = seed(&store, marker).await;
    // Genuine case: everything reads back through the store.
    let t = store.get_ticket(&ticket).await.unwrap();
    assert_eq!(t.subject, format!("Subject {marker}"));
    let user = store.get_user(&customer).await.unwrap();
    assert_eq!(user.name, format!("Name {marker}"));
    let found = store.find_user_by_email(&user.email).await.unwrap().unwrap();
    assert_eq!(found.id, customer, "blind-index lookup by email works");
    let hits = store
        .search_tickets(
            &TicketScope::All,
            &palisade_store::TicketSearch {
                query: marker,
                include_internal: true,
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "keyed search finds the ticket");
    store.close().await;
    // Attack: the database files (or every table) do not contain the marker in any case.
    let dump = db.raw_dump().await.unwrap();
    assert!(dump.len() > 1_000, "the dump has content ({} bytes)", dump.len());
    assert!(
        !contains(&dump, marker),
        "plaintext marker found in the {} database",
        backend.name()
    );
    assert!(!contains(&dump, "example.com"), "plaintext email domain found");
}

async fn ciphertext_moved_between_rows_does_not_decrypt(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let (_, first) = seed(&store, "FirstMarker").await;
    let (_, second) = seed(&store, "SecondMarker").await;
    // An insider copies one ticket's encrypted subject over another's.
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE tickets SET subject_enc = (SELECT subject_enc FROM tickets WHERE id = '{first}') WHERE id = '{second}'"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    match store.get_ticket(&second).await {
        Err(StoreError::Crypto(_)) => {}
        other => panic!(
            "moved ciphertext must fail to decrypt, got {:?}",
            other.map(|t| t.subject)
        ),
    }
    assert!(store.get_ticket(&first).await.is_ok());
}

async fn wrong_master_key_is_refused_at_start(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    store.close().await;
    match Store::connect(&db.url, keyring()).await {
        Err(StoreError::WrongMasterKey) => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a different master key must be refused"),
    }
}

async fn append(store: &Store, n: usize, who: &str) {
    for i in 0..n {
        let ctx = AuditContext {
            actor: who.into(),
            ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            session: String::new(),
        };
        store
            .audit(
                &ctx,
                &AuditEvent::new(AuditAction::TicketUpdated, format!("obj{i}"), Outcome::Success),
            )
            .await
            .unwrap();
    }
}

async fn verify(store: &Store) -> Result<i64, AuditError> {
    let mut v = Verifier::new(
        store.audit_trusted_keys(),
        store.audit_checkpoints().await.unwrap(),
    )?;
    for e in store.audit_entries(0, 100_000).await.unwrap() {
        v.push(&e)?;
    }
    v.finish().map(|r| r.entries)
}

async fn audit_verify_names_edited_removed_reordered_and_inserted_entries(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    append(&store, 8, "usr_a").await;
    assert_eq!(verify(&store).await, Ok(8), "genuine chain verifies");
    store.checkpoint_audit_head().await.unwrap();
    exec(&db.url, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3").await;
    assert_eq!(verify(&store).await, Err(AuditError::Content { seq: 3 }));
    exec(&db.url, "UPDATE audit_log SET outcome = 'success' WHERE seq = 3").await;
    assert_eq!(
        verify(&store).await,
        Ok(8),
        "restoring the value restores the chain"
    );
    // Reorder: swap entries 4 and 5.
    exec(&db.url, "UPDATE audit_log SET seq = -1 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = -1").await;
    assert!(matches!(
        verify(&store).await,
        Err(AuditError::Link { seq: 4 } | AuditError::Content { seq: 4 })
    ));
    exec(&db.url, "UPDATE audit_log SET seq = -1 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = -1").await;
    assert_eq!(verify(&store).await, Ok(8));
    // Insert: a forged entry at the end that copies the last one.
    exec(&db.url, "INSERT INTO audit_log (seq, at, actor, action, object, outcome, ip, user_agent, session_id, detail, prev_hash, hash, ip_salt, ip_commit) SELECT 9, at, actor, action, object, outcome, ip, user_agent, session_id, detail, prev_hash, hash, ip_salt, ip_commit FROM audit_log WHERE seq = 8").await;
    assert_eq!(verify(&store).await, Err(AuditError::Link { seq: 9 }));
    exec(&db.url, "DELETE FROM audit_log WHERE seq = 9").await;
    // Remove from the middle, then from the checkpointed tail.
    exec(&db.url, "DELETE FROM audit_log WHERE seq = 6").await;
    assert_eq!(
        verify(&store).await,
        Err(AuditError::Sequence { seq: 7, expected: 6 })
    );
    exec(&db.url, "DELETE FROM audit_log WHERE seq >= 6").await;
    assert_eq!(
        verify(&store).await,
        Err(AuditError::Truncated { seq: 8, last: 5 })
    );
}

async fn ticket_scope_lists_only_the_scope(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let (c1, t1) = seed(&store, "ScopeOne").await;
    let (_c2, t2) = seed(&store, "ScopeTwo").await;
    let mine = store
        .list_tickets(
            &TicketScope::Customer {
                user: c1.clone(),
                shared_company: None,
            },
            None,
            None,
            50,
        )
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![t1.clone()]
    );
    let all = store
        .list_tickets(&TicketScope::All, None, None, 1)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    let cursor = palisade_store::Cursor::decode(all.next_cursor.as_deref().unwrap()).unwrap();
    let rest = store
        .list_tickets(&TicketScope::All, None, Some(&cursor), 10)
        .await
        .unwrap();
    let mut seen: Vec<TicketId> = all
        .items
        .iter()
        .chain(rest.items.iter())
        .map(|t| t.id.clone())
        .collect();
    seen.sort();
    let mut want = vec![t1, t2];
    want.sort();
    assert_eq!(seen, want, "pagination visits every ticket once");
    assert!(rest.next_cursor.is_none());
    let none = store
        .list_tickets(
            &TicketScope::Teams {
                teams: vec![],
                assignee: None,
            },
            None,
            None,
            50,
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let customer_search = store
        .search_tickets(
            &TicketScope::Customer {
                user: c1,
                shared_company: None,
            },
            &palisade_store::TicketSearch {
                query: "Note ScopeOne",
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(
        customer_search.is_empty(),
        "words of internal notes are not searchable without include_internal"
    );
}

#[tokio::test]
async fn two_nodes_appending_concurrently_keep_one_chain_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let keys = keyring();
    // Two independent stores (separate pools) stand for two `serve` nodes.
    let node_a = Store::connect(&db.url, keys.clone()).await.unwrap();
    let node_b = Store::connect(&db.url, keys).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            node_a.clone()
        } else {
            node_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            append(&store, 25, &format!("worker{i}")).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(verify(&node_a).await, Ok(200));
}

#[tokio::test]
async fn nodes_starting_together_apply_migrations_once_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let keys = keyring();
    let starts = (0..4).map(|_| {
        let url = db.url.clone();
        let keys = keys.clone();
        tokio::spawn(async move { Store::connect(&url, keys).await })
    });
    let mut stores = Vec::new();
    for s in starts {
        stores.push(s.await.unwrap().expect("every node starts"));
    }
    assert_eq!(
        stores[0].count_rows("data_keys").await.unwrap(),
        1,
        "one organisation key, shared"
    );
    append(&stores[1], 3, "after-start").await;
    assert_eq!(verify(&stores[2]).await, Ok(3));
}

#[tokio::test]
async fn sqlite_database_is_in_wal_mode() {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    append(&store, 1, "x").await;
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mode: String = sqlx::Row::try_get(&row, 0).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}

pub(crate) async fn found(store: &Store, query: &str, include_internal: bool) -> Vec<TicketId> {
    found_in(store, &TicketScope::All, query, include_internal).await
}

async fn found_in(store: &Store, scope: &TicketScope, query: &str, include_internal: bool) -> Vec<TicketId> {
    store
        .search_tickets(
            scope,
            &palisade_store::TicketSearch {
                query,
                include_internal,
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// A text's terms are written pending and merged into the index later; a search finds
/// the same tickets either way, and the visibility of internal notes holds in both.
async fn words_are_found_before_and_after_their_merge(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let (_, ticket) = seed(&store, "Pendq4Word").await;
    let (_, other) = seed(&store, "Otherq4Word").await;
    for stage in ["pending", "merged"] {
        assert_eq!(
            found(&store, "Body Pendq4Word", false).await,
            vec![ticket.clone()],
            "{stage}"
        );
        assert_eq!(
            found(&store, "otherq4word", false).await,
            vec![other.clone()],
            "{stage}"
        );
        assert!(
            found(&store, "Note Pendq4Word", false).await.is_empty(),
            "{stage}: an internal note's words stay out of a search without the internal side"
        );
        assert_eq!(
            found(&store, "Note Pendq4Word", true).await,
            vec![ticket.clone()],
            "{stage}"
        );
        assert!(
            found(&store, "Pendq4Wor", true).await.is_empty(),
            "{stage}: a term matches itself, never part of another"
        );
        if stage == "pending" {
            assert_eq!(
                store.pending_term_texts().await.unwrap(),
                4,
                "per ticket: subject and first message in one row, the note in another"
            );
            let mut moved = 0;
            // One text per batch: several batches, each its own transaction.
            loop {
                let batch = store.merge_pending_terms(1).await.unwrap();
                if batch == 0 {
                    break;
                }
                assert_eq!(batch, 1);
                moved += batch;
            }
            assert_eq!(moved, 4);
            assert_eq!(store.pending_term_texts().await.unwrap(), 0);
        }
    }
    store.close().await;
}

/// A ticket merged while its words still wait to be indexed: they move with it, so
/// they find the survivor, before and after the index merge, and no longer the duplicate.
async fn a_merged_tickets_pending_words_find_the_survivor(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let (_, survivor) = seed(&store, "Mergeq7Alpha").await;
    let (_, duplicate) = seed(&store, "Mergeq7Beta").await;
    // "note" is in both tickets' notes, "mergeq7beta" in the duplicate's texts and its
    // requester's name: before the merge only the duplicate has both.
    assert_eq!(
        found(&store, "Note Mergeq7Beta", true).await,
        vec![duplicate.clone()]
    );
    let policy = PolicyEngine::load().unwrap();
    let survivor_record = store.get_ticket(&survivor).await.unwrap();
    let duplicate_record = store.get_ticket(&duplicate).await.unwrap();
    let proofs: Vec<_> = [&survivor_record, &duplicate_record]
        .iter()
        .map(|t| {
            policy
                .authorize(&admin(), Action::TicketMerge, &Resource::Ticket(t.facts()))
                .unwrap()
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    store
        .merge_tickets(&mut tx, &proofs, &duplicate_record, &survivor_record)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store.pending_term_texts().await.unwrap() > 0,
        "the words were still pending"
    );
    assert_eq!(
        found(&store, "Note Mergeq7Beta", true).await,
        vec![survivor.clone()],
        "pending"
    );
    while store.merge_pending_terms(100).await.unwrap() > 0 {}
    assert_eq!(
        found(&store, "Note Mergeq7Beta", true).await,
        vec![survivor],
        "merged"
    );
    store.close().await;
}

/// Tickets created in bulk (past one statement's worth of rows and an audit
/// checkpoint) read back sealed, numbered, findable and audited like single creates;
/// one proof that does not cover its ticket refuses the whole batch. With more than a
/// thousand of them, searches take each of their paths: a rare word driving, a common
/// word's postings read newest first, and words common as a requester's name walking
/// the newest tickets.
async fn a_bulk_create_reads_back_like_single_creates(backend: Backend) {
    const COUNT: usize = 1_030;
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, keyring()).await.unwrap();
    let (customer, first) = seed(&store, "Bulkq9Seed").await;
    let team = store.get_ticket(&first).await.unwrap().team;
    let policy = PolicyEngine::load().unwrap();
    let author = admin();
    let ids: Vec<TicketId> = (0..COUNT).map(|_| TicketId::generate()).collect();
    let proof_for = |id: &TicketId| {
        let facts = TicketFacts {
            id: id.clone(),
            requester: customer.clone(),
            collaborators: vec![],
            team: team.clone(),
            assignee: None,
            company: None,
            company_sharing: false,
            requester_confirmed: true,
        };
        policy
            .authorize(&author, Action::TicketCreate, &Resource::Ticket(facts))
            .unwrap()
    };
    let news: Vec<NewTicket> = (0..COUNT)
        .map(|i| NewTicket {
            requester: customer.clone(),
            team: team.clone(),
            subject: format!("Bulk subject {i}"),
            first_message: format!("Bulk body bulkq9word{i}"),
            author: customer.clone(),
        })
        .collect();

    // The attack: one ticket carries a proof authorised for another id.
    let forged: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            if i == COUNT / 2 {
                proof_for(&TicketId::generate())
            } else {
                proof_for(id)
            }
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    let refused = store
        .create_tickets_bulk(&mut tx, &bulk(&forged, &ids, &news))
        .await;
    assert!(matches!(refused, Err(StoreError::Unauthorized)), "{refused:?}");
    drop(tx);
    assert!(matches!(
        store.get_ticket(&ids[0]).await,
        Err(StoreError::NotFound)
    ));

    let sound: Vec<_> = ids.iter().map(proof_for).collect();
    let mut tx = store.begin().await.unwrap();
    let created = store
        .create_tickets_bulk(&mut tx, &bulk(&sound, &ids, &news))
        .await
        .unwrap();
    let ctx = AuditContext {
        actor: author.user_id.to_string(),
        ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        session: String::new(),
    };
    let events: Vec<AuditEvent> = ids
        .iter()
        .map(|id| AuditEvent::new(AuditAction::TicketCreated, id.to_string(), Outcome::Success))
        .collect();
    let seqs = store.append_audit_many(&mut tx, &ctx, &events).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(created.len(), COUNT);
    let numbers: Vec<i64> = created.iter().map(|(n, _)| *n).collect();
    let first_number = store.get_ticket(&first).await.unwrap().number;
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "numbers rise in order");
    assert!(numbers[0] > first_number);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "one entry per ticket, in order"
    );
    for i in [0, COUNT / 2, COUNT - 1] {
        let ticket = store.get_ticket(&ids[i]).await.unwrap();
        assert_eq!(ticket.subject, format!("Bulk subject {i}"));
        assert_eq!(ticket.number, numbers[i]);
        let messages = store.list_messages(&ticket, Including::Public).await.unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].id, created[i].1);
        assert_eq!(messages[0].body, format!("Bulk body bulkq9word{i}"));
        assert_eq!(
            found(&store, &format!("bulkq9word{i}"), false).await,
            vec![ids[i].clone()]
        );
    }
    // Every entry chains, checkpoints included (1,030 entries pass several of them).
    assert!(verify(&store).await.unwrap() >= COUNT as i64);

    // The same answers before and after the merge, whichever path a search takes. All
    // of them share the requester "Name Bulkq9Seed" with the seeded ticket.
    let mut newest = ids.clone();
    newest.sort_by(|a, b| b.as_str().cmp(a.as_str()));
    newest.truncate(10);
    for stage in ["pending", "merged"] {
        assert_eq!(
            found(&store, "bulk bulkq9word7", false).await,
            vec![ids[7].clone()],
            "{stage}: a rare word drives, the common one is tested per ticket"
        );
        assert!(
            found(&store, "bulkq9word7 nosuchq9word", false).await.is_empty(),
            "{stage}: every word must be there"
        );
        assert_eq!(
            found(&store, "bulk body", false).await,
            newest,
            "{stage}: a common word's tickets newest first"
        );
        assert_eq!(
            found(&store, "bulkq9seed body", false).await,
            newest,
            "{stage}: a common name beside a common word"
        );
        assert_eq!(
            found(&store, "name bulkq9seed", false).await,
            newest,
            "{stage}: only words common as a name walk the newest tickets"
        );
        assert_eq!(
            found(&store, "bulkq9seed", false).await.last(),
            newest.last(),
            "{stage}: the seeded ticket is older than the page"
        );
        if stage == "pending" {
            while store.merge_pending_terms(500).await.unwrap() > 0 {}
        }
    }
    if backend == Backend::Postgres {
        // The drained pending table held hundreds of kilobytes of these texts: it was
        // emptied outright, not left for every search to scan.
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let bytes: i64 = sqlx::query_scalar("SELECT pg_relation_size('search_pending')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(bytes, 0);
    }
    // The attack: another team's agent searches the same common words, and a customer
    // who is not the requester searches the requester's name. Each search path keeps
    // to the searcher's scope.
    let (stranger, _) = seed(&store, "Bulkq9Stranger").await;
    let mut tx = store.begin().await.unwrap();
    let other_team = store.create_team(&mut tx, "Bulkq9 Other").await.unwrap();
    tx.commit().await.unwrap();
    let other_agents = TicketScope::Teams {
        teams: vec![other_team],
        assignee: None,
    };
    let own_agents = TicketScope::Teams {
        teams: vec![team.clone()],
        assignee: None,
    };
    let outsider = TicketScope::Customer {
        user: stranger,
        shared_company: None,
    };
    for (query, driven) in [("bulk body", true), ("name bulkq9seed", false)] {
        for (scope, expected) in [
            (&other_agents, vec![]),
            (&outsider, vec![]),
            (&own_agents, newest.clone()),
        ] {
            assert_eq!(
                found_in(&store, scope, query, false).await,
                expected,
                "{query} (driven: {driven}) in {scope:?}"
            );
        }
    }
    store.close().await;
}

fn bulk<'a>(
    proofs: &'a [palisade_policy::Authorized],
    ids: &'a [TicketId],
    news: &'a [NewTicket],
) -> Vec<BulkTicket<'a>> {
    proofs
        .iter()
        .zip(ids)
        .zip(news)
        .map(|((proof, id), new)| BulkTicket { proof, id, new })
        .collect()
}
