//! The restore drill, on SQLite and on PostgreSQL: a desk with tickets, messages and a
//! signed audit chain is backed up while tickets keep being written; the archive is
//! restored into an empty database and checked against the source; and every way of
//! changing or misusing the archive is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_backup::{BackupError, Identity, PgTools, Scratch};
use palisade_core::{EmailAddress, Principal, Role, TeamId, TicketId, UserId};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, PolicyEngine, Resource, TicketFacts};
use palisade_store::{NewTicket, NewUser, Store};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(
    a_backup_taken_during_writes_restores_and_refuses_tampering,
    an_erasure_after_the_backup_is_done_again_by_its_restore,
);

struct Desk {
    store: Store,
    policy: PolicyEngine,
    team: TeamId,
    customer: UserId,
}

impl Desk {
    async fn open(url: &str, keys: Arc<Keyring>) -> Self {
        let store = Store::connect(url, keys).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let team = store.create_team(&mut tx, "Support").await.unwrap();
        let customer = store
            .create_user(
                &mut tx,
                &NewUser {
                    role: Role::Customer,
                    email: EmailAddress::parse("ada@example.com").unwrap(),
                    name: "Ada".into(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        Self {
            store,
            policy: PolicyEngine::load().unwrap(),
            team,
            customer,
        }
    }

    /// One ticket with its first message, and its audit entry.
    async fn ticket(&self, n: usize) -> TicketId {
        let id = TicketId::generate();
        let admin = Principal {
            user_id: UserId::generate(),
            role: Role::Admin,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        let facts = TicketFacts {
            id: id.clone(),
            requester: self.customer.clone(),
            collaborators: vec![],
            team: self.team.clone(),
            assignee: None,
            company: None,
            company_sharing: false,
            requester_confirmed: true,
        };
        let proof = self
            .policy
            .authorize(&admin, Action::TicketCreate, &Resource::Ticket(facts))
            .unwrap();
        let mut tx = self.store.begin().await.unwrap();
        let new = NewTicket {
            requester: self.customer.clone(),
            team: self.team.clone(),
            subject: format!("Refund {n}"),
            first_message: format!("Card ending {n:04} was charged twice"),
            author: self.customer.clone(),
        };
        self.store
            .create_ticket(&mut tx, &proof, &id, &new)
            .await
            .unwrap();
        let ctx = AuditContext {
            actor: self.customer.to_string(),
            ip: "127.0.0.1".into(),
            user_agent: "drill".into(),
            session: String::new(),
        };
        self.store
            .append_audit_many(
                &mut tx,
                &ctx,
                &[AuditEvent::new(
                    AuditAction::TicketCreated,
                    id.to_string(),
                    Outcome::Success,
                )],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Every ticket's subject and messages, by id.
    async fn contents(&self, url: &str) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tickets")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        for id in ids {
            let id = TicketId::parse(&id).unwrap();
            let ticket = self.store.get_ticket(&id).await.unwrap();
            let messages = self
                .store
                .list_messages(&ticket, palisade_store::Including::Public)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.body)
                .collect();
            out.push((id.to_string(), ticket.subject, messages));
        }
        out.sort();
        out
    }
}

async fn a_backup_taken_during_writes_restores_and_refuses_tampering(backend: Backend) {
    let source = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let desk = Arc::new(Desk::open(&source.url, keys.clone()).await);
    for n in 0..40 {
        desk.ticket(n).await;
    }
    assert!(matches!(
        desk.store.checkpoint_audit_head().await.unwrap(),
        palisade_store::HeadCheckpoint::Signed(_)
    ));

    // Tickets keep coming while the backup is taken.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (desk, writing) = (desk.clone(), writing.clone());
        tokio::spawn(async move {
            let mut n = 1000;
            while writing.load(Ordering::Relaxed) && n < 1400 {
                desk.ticket(n).await;
                n += 1;
            }
            n - 1000
        })
    };
    let operator = Identity::generate();
    let dir = palisade_testkit::TempDir::new("palisade-backups").unwrap();
    let ledger = palisade_backup::erasure_ledger::ErasureLedger::at(dir.path.join("erasures.ledger"));
    let tools = PgTools::default();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let created = palisade_backup::create(
        &desk.store,
        &source.url,
        &keys,
        &[operator.to_public()],
        &dir.path,
        &std::env::temp_dir(),
        &tools,
    )
    .await
    .unwrap();
    writing.store(false, Ordering::Relaxed);
    let written_during = writer.await.unwrap();
    assert!(written_during > 0, "the writer ran beside the backup");
    let in_backup = created.manifest.facts.rows["tickets"];
    assert!(in_backup >= 40, "{in_backup}");
    assert!(
        created.manifest.facts.audit_checkpoint.is_some(),
        "the manifest names the latest signed checkpoint"
    );
    // The master key is never in the archive (nor is anything in clear).
    let sealed = std::fs::read(&created.path).unwrap();
    assert!(!contains(&sealed, b"Card ending"), "the archive is encrypted");

    // Restored elsewhere: the same tickets and messages as the source had at the
    // snapshot, a valid audit chain, sealed values that open.
    let target = TestDatabase::new(backend).await.unwrap();
    let restored = palisade_backup::restore(
        &created.path,
        &operator,
        keys.clone(),
        &target.url,
        &tools,
        &ledger,
    )
    .await
    .unwrap();
    assert_eq!(restored.manifest, created.manifest);
    assert_eq!(
        restored.audit.entries,
        created.manifest.facts.audit_head.as_ref().unwrap().0
    );
    assert!(restored.sealed.data_keys >= 2 && restored.sealed.subjects > 0 && restored.sealed.messages > 0);
    let copy = Desk {
        store: Store::connect(&target.url, keys.clone()).await.unwrap(),
        policy: PolicyEngine::load().unwrap(),
        team: desk.team.clone(),
        customer: desk.customer.clone(),
    };
    let restored_tickets = copy.contents(&target.url).await;
    let source_tickets = desk.contents(&source.url).await;
    assert_eq!(restored_tickets.len() as i64, in_backup);
    for ticket in &restored_tickets {
        assert!(
            source_tickets.contains(ticket),
            "{ticket:?} is the source's, unchanged"
        );
    }
    assert!(
        source_tickets.len() > restored_tickets.len() || written_during == 0,
        "tickets written after the snapshot are not in it"
    );

    // A restore never overwrites a database that holds anything.
    let refused = palisade_backup::restore(
        &created.path,
        &operator,
        keys.clone(),
        &source.url,
        &tools,
        &ledger,
    )
    .await;
    assert!(matches!(refused, Err(BackupError::Refused(_))), "{refused:?}");

    let scratch = Scratch {
        dir: dir.path.clone(),
        postgres_url: palisade_testkit::pg_admin_url(std::env::var("PALISADE_TEST_PG_URL").ok()).ok(),
    };
    let checked = palisade_backup::verify(&created.path, &operator, keys.clone(), &scratch, &tools)
        .await
        .unwrap();
    assert_eq!(checked.manifest, created.manifest);

    // Attack: one byte of the archive changed (in the middle of the sealed payload).
    let tampered = dir.path.join("tampered.age");
    let mut bytes = sealed.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tampered, &bytes).unwrap();
    let refused = palisade_backup::verify(&tampered, &operator, keys.clone(), &scratch, &tools).await;
    assert!(matches!(refused, Err(BackupError::Decrypt(_))), "{refused:?}");
    let into = TestDatabase::new(backend).await.unwrap();
    let refused =
        palisade_backup::restore(&tampered, &operator, keys.clone(), &into.url, &tools, &ledger).await;
    assert!(refused.is_err(), "a changed archive is not restored");

    // Attack: the archive opened by someone who is not its recipient.
    let stranger = Identity::generate();
    let refused = palisade_backup::verify(&created.path, &stranger, keys.clone(), &scratch, &tools).await;
    assert!(matches!(refused, Err(BackupError::Decrypt(_))), "{refused:?}");

    // Attack: an archive made (and signed) by another installation, encrypted to this
    // operator, passed off as this desk's backup.
    let other_keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let other_db = TestDatabase::new(backend).await.unwrap();
    let other = Desk::open(&other_db.url, other_keys.clone()).await;
    other.ticket(1).await;
    let foreign = palisade_backup::create(
        &other.store,
        &other_db.url,
        &other_keys,
        &[operator.to_public()],
        &dir.path,
        &std::env::temp_dir(),
        &tools,
    )
    .await
    .unwrap();
    let refused = palisade_backup::verify(&foreign.path, &operator, keys.clone(), &scratch, &tools).await;
    assert!(matches!(refused, Err(BackupError::Signature)), "{refused:?}");

    // While a master-key rotation runs, the database holds the new wrapping key sealed
    // under the old one: no backup may carry that away.
    other
        .store
        .begin_master_rotation(&MasterKey::generate().unwrap())
        .await
        .unwrap();
    let during_rotation = palisade_backup::create(
        &other.store,
        &other_db.url,
        &other_keys,
        &[operator.to_public()],
        &dir.path,
        &std::env::temp_dir(),
        &tools,
    )
    .await;
    assert!(
        matches!(&during_rotation, Err(BackupError::Refused(why)) if why.contains("rotation")),
        "{during_rotation:?}"
    );

    // Nothing decrypted is left behind in the backup directory.
    let left: Vec<_> = std::fs::read_dir(&dir.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Back up, erase, restore the older backup: the ledger beside the master key erases
/// the person again before anything could serve the copy, so their words stay
/// unreadable and their key is not in the restored files; the trail verifies. A
/// ledger written with another key is refused rather than trusted.
async fn an_erasure_after_the_backup_is_done_again_by_its_restore(backend: Backend) {
    use palisade_backup::erasure_ledger::{ErasureLedger, LedgerEntry};
    let source = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let desk = Desk::open(&source.url, keys.clone()).await;
    for n in 0..3 {
        desk.ticket(n).await;
    }
    let pool = sqlx::AnyPool::connect(&source.url).await.unwrap();
    let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE id = $1")
        .bind(format!("dk_{}", desk.customer))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let operator = Identity::generate();
    let dir = palisade_testkit::TempDir::new("palisade-erasure-backups").unwrap();
    let tools = PgTools::default();
    let created = palisade_backup::create(
        &desk.store,
        &source.url,
        &keys,
        &[operator.to_public()],
        &dir.path,
        &std::env::temp_dir(),
        &tools,
    )
    .await
    .unwrap();

    // Erased after the backup, written to the ledger as the desk does.
    let ledger = ErasureLedger::at(dir.path.join("erasures.ledger"));
    let admin = Principal {
        user_id: UserId::generate(),
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let proof = desk
        .policy
        .authorize(
            &admin,
            Action::UserErase,
            &Resource::User(palisade_policy::UserFacts {
                id: desk.customer.clone(),
                role: Role::Customer,
                company: None,
                teams: vec![],
            }),
        )
        .unwrap();
    let mut tx = desk.store.begin().await.unwrap();
    let erased = desk
        .store
        .erase_person(&mut tx, &proof, &desk.customer)
        .await
        .unwrap();
    let entries: Vec<LedgerEntry> = erased
        .accounts
        .iter()
        .map(|r| LedgerEntry {
            user: r.user.clone(),
            data_key_id: r.data_key_id.clone(),
            erased_at: r.erased_at,
        })
        .collect();
    ledger.append(keys.erasure_ledger_key(), &entries).unwrap();
    tx.commit().await.unwrap();

    // Attack: a ledger planted by someone without this master key is refused.
    let planted = ErasureLedger::at(dir.path.join("planted.ledger"));
    let stranger = Keyring::new(&MasterKey::generate().unwrap());
    planted.append(stranger.erasure_ledger_key(), &entries).unwrap();
    let elsewhere = TestDatabase::new(backend).await.unwrap();
    let refused = palisade_backup::restore(
        &created.path,
        &operator,
        keys.clone(),
        &elsewhere.url,
        &tools,
        &planted,
    )
    .await;
    assert!(matches!(refused, Err(BackupError::Ledger(_))), "{refused:?}");

    // Genuine: the older backup restored, and she is erased again.
    let target = TestDatabase::new(backend).await.unwrap();
    let restored = palisade_backup::restore(
        &created.path,
        &operator,
        keys.clone(),
        &target.url,
        &tools,
        &ledger,
    )
    .await
    .unwrap();
    assert_eq!(restored.erasures.reapplied, vec![desk.customer.clone()]);
    let copy = Desk {
        store: Store::connect(&target.url, keys.clone()).await.unwrap(),
        policy: PolicyEngine::load().unwrap(),
        team: desk.team.clone(),
        customer: desk.customer.clone(),
    };
    assert!(copy.store.get_user(&desk.customer).await.unwrap().erased);
    let contents = copy.contents(&target.url).await;
    assert_eq!(contents.len(), 3);
    for (_, subject, messages) in &contents {
        assert!(subject.is_empty(), "{subject}");
        assert!(messages.iter().all(String::is_empty), "{messages:?}");
    }
    copy.store
        .verify_audit_trail(copy.store.audit_trusted_keys())
        .await
        .unwrap();
    copy.store.close().await;
    let dump = target.raw_dump().await.unwrap();
    let hex = hex::encode(&wrapped);
    assert!(
        !dump.windows(wrapped.len()).any(|w| w == wrapped.as_slice())
            && !dump.windows(hex.len()).any(|w| w == hex.as_bytes()),
        "her wrapped key is not in the restored files"
    );
    // Reconciling again changes nothing.
    let store = Store::connect(&target.url, keys.clone()).await.unwrap();
    let again = palisade_backup::erasure_ledger::reconcile(&store, &ledger, &keys)
        .await
        .unwrap();
    assert_eq!(again, Default::default());
}
