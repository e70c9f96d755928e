//! Reply addresses as capabilities, on SQLite and PostgreSQL: a genuine reply address
//! names its ticket and participant; guessed, forged, ticket-number, revoked and retired
//! addresses name nothing (550 at RCPT); key rotation keeps old addresses working only
//! while their version is still accepted.

use std::sync::Arc;

use palisade_core::{EmailAddress, Principal, Role, TicketId, UserId};
use palisade_crypto::{CapabilityPurpose, Keyring, MasterKey};
use palisade_mail::{Recipient, ReplyKeys, Threading};
use palisade_policy::{Action, PolicyEngine, Resource, TicketFacts};
use palisade_store::{NewTicket, NewUser, Store};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(
    reply_addresses_are_capabilities_and_nothing_else_threads,
    rotation_keeps_old_addresses_only_during_the_grace_period,
);

fn support() -> EmailAddress {
    EmailAddress::parse("support@desk.test").unwrap()
}

async fn seed(backend: Backend) -> (TestDatabase, Store, UserId, TicketId) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let team = store.create_team(&mut tx, "Support").await.unwrap();
    let customer = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse("ann@customer.test").unwrap(),
                name: "Ann".into(),
                phone: None,
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
    let admin = Principal {
        user_id: UserId::generate(),
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let proof = PolicyEngine::load()
        .unwrap()
        .authorize(&admin, Action::TicketCreate, &Resource::Ticket(facts))
        .unwrap();
    let new = NewTicket {
        requester: customer.clone(),
        team,
        subject: "Order".into(),
        first_message: "Where is it?".into(),
        author: customer.clone(),
    };
    store.create_ticket(&mut tx, &proof, &id, &new).await.unwrap();
    tx.commit().await.unwrap();
    (db, store, customer, id)
}

async fn mint(
    threading: &Threading,
    store: &Store,
    ticket: &TicketId,
    who: &UserId,
) -> (EmailAddress, String) {
    let mut tx = store.begin().await.unwrap();
    let minted = threading
        .reply_identity(&mut tx, &support(), ticket, who)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    minted
}

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

async fn reply_addresses_are_capabilities_and_nothing_else_threads(backend: Backend) {
    let (_db, store, customer, ticket) = seed(backend).await;
    let threading = Threading::new(store.clone(), ReplyKeys::default(), vec![support()]);
    let (reply, message_id) = mint(&threading, &store, &ticket, &customer).await;
    assert!(reply.as_str().starts_with("support+r") && reply.as_str().ends_with("@desk.test"));
    assert!(message_id.starts_with("<r") && message_id.ends_with("@desk.test>"));
    match threading.recipient(&reply).await.unwrap() {
        Recipient::Reply { capability, .. } => {
            assert_eq!(
                (capability.ticket, capability.participant),
                (ticket.clone(), customer.clone())
            );
        }
        other => panic!("{other:?}"),
    }
    // Minting again for the same participant gives the same address.
    assert_eq!(mint(&threading, &store, &ticket, &customer).await.0, reply);
    assert_eq!(
        threading.recipient(&support()).await.unwrap(),
        Recipient::Mailbox(support())
    );

    let token = reply.as_str()["support+r".len()..]
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    let mut unknown = vec![
        // Zendesk-style guesses: ticket numbers and ids in the address.
        "support+id1@desk.test".to_owned(),
        format!("support+{}@desk.test", ticket.as_str()),
        format!("support+r{}@desk.test", "a".repeat(token.len())),
        // The genuine token on a mailbox that is not ours, or truncated.
        format!("billing+r{token}@desk.test"),
        format!("support+r{}@desk.test", &token[1..]),
        "nobody@desk.test".to_owned(),
    ];
    // Every single-character change of the token.
    for (i, c) in token.char_indices().step_by(3) {
        let replacement = if c == 'a' { 'b' } else { 'a' };
        let mut forged = token.clone();
        forged.replace_range(i..i + 1, &replacement.to_string());
        unknown.push(format!("support+r{forged}@desk.test"));
    }
    // A genuine bounce token for the same capability is not a reply token.
    let Recipient::Reply { capability, .. } = threading.recipient(&reply).await.unwrap() else {
        unreachable!()
    };
    let bounce = store
        .keys()
        .capabilities()
        .mint(CapabilityPurpose::Bounce, 1, &capability.id);
    unknown.push(format!("support+r{bounce}@desk.test"));
    for text in &unknown {
        assert_eq!(
            threading.recipient(&address(text)).await.unwrap(),
            Recipient::Unknown,
            "{text}"
        );
    }

    // Removing the participant revokes the address.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        store
            .revoke_reply_capabilities(&mut tx, &ticket, &customer)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(threading.recipient(&reply).await.unwrap(), Recipient::Unknown);
    // Re-adding them later gives a new address; the old one stays dead.
    let (again, _) = mint(&threading, &store, &ticket, &customer).await;
    assert_ne!(again, reply);
    assert!(matches!(
        threading.recipient(&again).await.unwrap(),
        Recipient::Reply { .. }
    ));
    assert_eq!(threading.recipient(&reply).await.unwrap(), Recipient::Unknown);
}

async fn rotation_keeps_old_addresses_only_during_the_grace_period(backend: Backend) {
    let (_db, store, customer, ticket) = seed(backend).await;
    let v1 = Threading::new(store.clone(), ReplyKeys::default(), vec![support()]);
    let (old, _) = mint(&v1, &store, &ticket, &customer).await;
    let grace = Threading::new(
        store.clone(),
        ReplyKeys {
            current: 2,
            also_accept: vec![1],
        },
        vec![support()],
    );
    assert!(matches!(
        grace.recipient(&old).await.unwrap(),
        Recipient::Reply { .. }
    ));
    let (new, _) = mint(&grace, &store, &ticket, &customer).await;
    assert_ne!(new, old, "mail sent after the rotation carries the new key");
    let after = Threading::new(
        store.clone(),
        ReplyKeys {
            current: 2,
            also_accept: vec![],
        },
        vec![support()],
    );
    assert_eq!(after.recipient(&old).await.unwrap(), Recipient::Unknown);
    assert!(matches!(
        after.recipient(&new).await.unwrap(),
        Recipient::Reply { .. }
    ));
}
