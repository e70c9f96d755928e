//! The use cases on SQLite and PostgreSQL: one way to open a ticket whatever the
//! channel (one limit, one audit entry, one domain event), decisions taken on facts
//! loaded inside the write's transaction (a reply racing a reassignment is refused once
//! the agent has lost the ticket), proofs bound to the account they were taken for,
//! and the exact audit entry a refusal writes.

use std::sync::Arc;

use palisade_audit::AuditContext;
use palisade_core::{EmailAddress, Principal, Role, TeamId, TicketId, Visibility};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, PolicyEngine, Resource};
use palisade_service::{Actor, Channel, Desk, OpenTicket, ServiceError};
use palisade_store::{NewUser, Store, StoreError, TicketUpdate};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(
    every_channel_opens_tickets_through_the_same_use_case,
    a_reply_racing_a_reassignment_is_refused_once_access_is_lost,
    a_proof_is_for_the_account_it_was_taken_for,
    a_refusal_writes_exactly_its_own_audit_entry,
    a_mail_reply_the_policies_refuse_is_audited_and_keeps_nothing,
);

pub(crate) struct Fixture {
    pub(crate) desk: Desk,
    pub(crate) store: Store,
    pub(crate) team_a: TeamId,
    team_b: TeamId,
    pub(crate) agent_a: Principal,
    agent_b: Principal,
    supervisor: Principal,
    pub(crate) customer: Principal,
    _db: TestDatabase,
}

pub(crate) fn actor(principal: &Principal, channel: Channel) -> Actor {
    Actor {
        principal: principal.clone(),
        audit: AuditContext {
            actor: principal.user_id.to_string(),
            ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            session: String::new(),
        },
        channel,
    }
}

impl Fixture {
    pub(crate) async fn new(backend: Backend) -> Fixture {
        let db = TestDatabase::new(backend).await.unwrap();
        let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
        let store = Store::connect(&db.url, keys).await.unwrap();
        let policy = Arc::new(PolicyEngine::load().unwrap());
        let mut tx = store.begin().await.unwrap();
        let team_a = store.create_team(&mut tx, "Team A").await.unwrap();
        let team_b = store.create_team(&mut tx, "Team B").await.unwrap();
        let mut account = async |role: Role, email: &str, team: Option<&TeamId>| {
            let id = store
                .create_user(
                    &mut tx,
                    &NewUser {
                        role,
                        email: EmailAddress::parse(email).unwrap(),
                        name: email.into(),
                        phone: None,
                        company: None,
                        password_hash: None,
                    },
                )
                .await
                .unwrap();
            if let Some(team) = team {
                store.add_team_member(&mut tx, team, &id).await.unwrap();
            }
            Principal {
                user_id: id,
                role,
                teams: team.into_iter().cloned().collect(),
                company: None,
                session: None,
                scopes: None,
            }
        };
        let agent_a = account(Role::Agent, "agent.a@desk.test", Some(&team_a)).await;
        let agent_b = account(Role::Agent, "agent.b@desk.test", Some(&team_b)).await;
        let supervisor = account(Role::Supervisor, "lead@desk.test", None).await;
        let customer = account(Role::Customer, "ann@customer.test", None).await;
        tx.commit().await.unwrap();
        Fixture {
            desk: Desk::new(store.clone(), policy),
            store,
            team_a,
            team_b,
            agent_a,
            agent_b,
            supervisor,
            customer,
            _db: db,
        }
    }

    pub(crate) async fn ticket_of_team_a(&self) -> TicketId {
        let opened = self
            .desk
            .open_ticket(
                &actor(&self.agent_a, Channel::Api),
                OpenTicket {
                    subject: "Order 1234".into(),
                    body: "Where is it?".into(),
                    requester: Some(self.customer.user_id.clone()),
                    team: Some(self.team_a.clone()),
                },
            )
            .await
            .unwrap();
        opened.ticket.id
    }

    async fn events_of(&self, ticket: &TicketId) -> Vec<palisade_store::DomainEventRecord> {
        let all = self.store.events_after(0, 10_000).await.unwrap();
        all.into_iter().filter(|e| e.subject == ticket.as_str()).collect()
    }
}

/// Every message of a ticket, internal notes included, read with an administrator's
/// decision.
pub(crate) async fn messages(
    store: &Store,
    ticket: &palisade_store::TicketRecord,
) -> Vec<palisade_store::MessageRecord> {
    let admin = Principal {
        user_id: palisade_core::UserId::generate(),
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let proof = PolicyEngine::load()
        .unwrap()
        .authorize(
            &admin,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
        .unwrap();
    store
        .list_messages(ticket, palisade_store::Including::Internal(&proof))
        .await
        .unwrap()
}

async fn every_channel_opens_tickets_through_the_same_use_case(backend: Backend) {
    let f = Fixture::new(backend).await;
    for channel in [Channel::Web, Channel::Api, Channel::Assistant] {
        let opened = f
            .desk
            .open_ticket(
                &actor(&f.customer, channel),
                OpenTicket {
                    subject: "Invoice".into(),
                    body: "It is wrong".into(),
                    requester: None,
                    team: None,
                },
            )
            .await
            .unwrap();
        let id = opened.ticket.id.to_string();
        let audit = f.store.audit_entries(0, 10_000).await.unwrap();
        let created: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "ticket.created" && e.object == id)
            .collect();
        assert_eq!(created.len(), 1, "{channel:?}");
        let detail: serde_json::Value = serde_json::from_str(&created[0].detail).unwrap();
        assert_eq!(detail["channel"], channel.as_str());
        let events = f.events_of(&opened.ticket.id).await;
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind.as_str(), events[0].channel.as_str()),
            ("ticket.created", channel.as_str())
        );
        assert_eq!(events[0].actor, f.customer.user_id.to_string());
        assert!(
            !events[0].detail.contains("It is wrong"),
            "events carry no content"
        );
    }
    // Customers open tickets in their own name, for whichever team takes them.
    let chosen = f
        .desk
        .open_ticket(
            &actor(&f.customer, Channel::Api),
            OpenTicket {
                subject: "Invoice".into(),
                body: "It is wrong".into(),
                requester: None,
                team: Some(f.team_b.clone()),
            },
        )
        .await;
    assert!(matches!(chosen, Err(ServiceError::Invalid(_))));
    // One limit for every channel.
    for channel in [Channel::Web, Channel::Api, Channel::Assistant] {
        let too_long = f
            .desk
            .open_ticket(
                &actor(&f.customer, channel),
                OpenTicket {
                    subject: "Long".into(),
                    body: "x".repeat(palisade_service::MAX_BODY_CHARS + 1),
                    requester: None,
                    team: None,
                },
            )
            .await;
        assert!(matches!(too_long, Err(ServiceError::Invalid(_))), "{channel:?}");
    }
}

/// The supervisor moves the ticket to team B while agent A (team A, not assigned)
/// replies. Whatever the interleaving, a reply that was written was decided before the
/// move committed: its event comes first. Once moved, agent A's reply is refused.
async fn a_reply_racing_a_reassignment_is_refused_once_access_is_lost(backend: Backend) {
    let f = Fixture::new(backend).await;
    let agent = actor(&f.agent_a, Channel::Api);
    let lead = actor(&f.supervisor, Channel::Web);
    for _ in 0..12 {
        let ticket = f.ticket_of_team_a().await;
        let id = ticket.to_string();
        let move_to_b = f.desk.update_ticket(
            &lead,
            &id,
            TicketUpdate {
                team: Some(f.team_b.clone()),
                ..TicketUpdate::default()
            },
            None,
        );
        let reply = f.desk.add_message(&agent, &id, "On its way", Visibility::Public);
        let (moved, replied) = tokio::join!(move_to_b, reply);
        moved.unwrap();
        let events = f.events_of(&ticket).await;
        let seq_of = |kind: &str| events.iter().find(|e| e.kind == kind).map(|e| e.seq);
        let team_changed = seq_of("ticket.team_changed").expect("the move is recorded");
        match replied {
            Ok(_) => assert!(
                seq_of("message.added").unwrap() < team_changed,
                "a reply written after the move"
            ),
            Err(ServiceError::NotFound) => assert_eq!(seq_of("message.added"), None),
            Err(e) => panic!("unexpected: {e}"),
        }
        // After the move, always refused, and nothing written.
        let late = f
            .desk
            .add_message(&agent, &id, "Still here", Visibility::Public)
            .await;
        assert!(matches!(late, Err(ServiceError::NotFound)));
        let messages = messages(&f.store, &f.store.get_ticket(&ticket).await.unwrap()).await;
        assert!(messages.iter().all(|m| m.body != "Still here"));
    }
}

async fn a_proof_is_for_the_account_it_was_taken_for(backend: Backend) {
    let f = Fixture::new(backend).await;
    let ticket = f.store.get_ticket(&f.ticket_of_team_a().await).await.unwrap();
    let policy = PolicyEngine::load().unwrap();
    let proof = policy
        .authorize(
            &f.supervisor,
            Action::TicketNote,
            &Resource::Ticket(ticket.facts()),
        )
        .unwrap();
    let mut tx = f.store.begin().await.unwrap();
    // The supervisor's decision does not let a note be written in agent B's name.
    let forged = f
        .store
        .add_message(
            &mut tx,
            &proof,
            &ticket,
            &f.agent_b.user_id,
            Visibility::Internal,
            "note",
        )
        .await;
    assert!(matches!(forged, Err(StoreError::Unauthorized)));
    f.store
        .add_message(
            &mut tx,
            &proof,
            &ticket,
            &f.supervisor.user_id,
            Visibility::Internal,
            "note",
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn a_refusal_writes_exactly_its_own_audit_entry(backend: Backend) {
    let f = Fixture::new(backend).await;
    let ticket = f.ticket_of_team_a().await;
    let id = ticket.to_string();
    let before = f.store.audit_entries(0, 10_000).await.unwrap().len();
    // Agent B cannot read team A's ticket: not found, one denial of the read.
    let r = f
        .desk
        .add_message(&actor(&f.agent_b, Channel::Api), &id, "hi", Visibility::Public)
        .await;
    assert!(matches!(r, Err(ServiceError::NotFound)));
    let after = f.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(after.len(), before + 1);
    let entry = after.last().unwrap();
    assert_eq!(
        (
            entry.action.as_str(),
            entry.object.as_str(),
            entry.outcome.as_str()
        ),
        ("access.denied", id.as_str(), "denied")
    );
    assert_eq!(entry.actor, f.agent_b.user_id.to_string());
    let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
    assert_eq!(detail["action"], "ticket.read");
    // The customer can read it but not write an internal note: forbidden, one denial
    // of the note.
    let r = f
        .desk
        .add_message(
            &actor(&f.customer, Channel::Web),
            &id,
            "psst",
            Visibility::Internal,
        )
        .await;
    assert!(matches!(r, Err(ServiceError::Forbidden)));
    let last = f.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(last.len(), before + 2);
    let detail: serde_json::Value = serde_json::from_str(&last.last().unwrap().detail).unwrap();
    assert_eq!(detail["action"], "ticket.note");
    // Naming a team that does not exist tells someone who may not touch the ticket
    // nothing about which teams exist: the same not found.
    let r = f
        .desk
        .update_ticket(
            &actor(&f.agent_b, Channel::Api),
            &id,
            TicketUpdate {
                team: Some(TeamId::generate()),
                ..TicketUpdate::default()
            },
            None,
        )
        .await;
    assert!(matches!(r, Err(ServiceError::NotFound)), "{r:?}");
    // A missing ticket: the same answer and the same kind of entry.
    let missing = TicketId::generate().to_string();
    let r = f
        .desk
        .add_message(
            &actor(&f.agent_b, Channel::Api),
            &missing,
            "hi",
            Visibility::Public,
        )
        .await;
    assert!(matches!(r, Err(ServiceError::NotFound)));
    let entry = f.store.audit_entries(0, 10_000).await.unwrap().pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.object.as_str()),
        ("access.denied", missing.as_str())
    );
}

/// A reply through a reply address whose participant may not (or no longer) write on
/// the ticket: refused for good, with its own denial entry, and nothing of the message
/// kept (not even its receipt, so a corrected resend is not taken for a duplicate).
async fn a_mail_reply_the_policies_refuse_is_audited_and_keeps_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let ticket = f.ticket_of_team_a().await;
    let mut tx = f.store.begin().await.unwrap();
    let stranger = f
        .store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse("bob@elsewhere.test").unwrap(),
                name: "Bob".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let before = f.store.audit_entries(0, 10_000).await.unwrap().len();
    let messages_before = f.store.count_rows("messages").await.unwrap();
    let r = f
        .desk
        .receive_mail(authenticated_reply(
            &f.team_a,
            &ticket,
            &stranger,
            "bob@elsewhere.test",
            "let me in",
        ))
        .await;
    assert!(matches!(r, Err(ServiceError::Forbidden)), "{r:?}");
    assert_eq!(f.store.count_rows("messages").await.unwrap(), messages_before);
    let after = f.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(after.len(), before + 1);
    let entry = after.last().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.object.as_str(), entry.actor.as_str()),
        ("access.denied", ticket.as_str(), stranger.as_str())
    );
}

/// A reply by mail to `team`'s mailbox through `ticket`'s reply address of `author`,
/// from `from`, whose sender was authenticated (SPF).
pub(crate) fn authenticated_reply(
    team: &TeamId,
    ticket: &TicketId,
    author: &palisade_core::UserId,
    from: &str,
    body: &str,
) -> palisade_service::ReceivedMail {
    let domain = from.rsplit('@').next().unwrap_or_default();
    let verdict = serde_json::json!({ "authenticated": "spf", "domain": domain });
    palisade_service::ReceivedMail {
        placement: palisade_service::MailPlacement::Reply {
            ticket: ticket.clone(),
            author: author.clone(),
        },
        from: EmailAddress::parse(from).unwrap(),
        display_name: None,
        mailbox: EmailAddress::parse("support@desk.test").unwrap(),
        team: team.clone(),
        subject: "Re: Order 1234".into(),
        body: body.into(),
        message_id: Some(format!("<{}@{domain}>", TicketId::generate())),
        verdict: verdict.clone(),
        lookalike: None,
        files: vec![],
        original: Vec::new(),
        html: None,
        held: palisade_service::HeldMail {
            client_ip: "127.0.0.9".into(),
            helo: "test".into(),
            mail_from: Some(from.into()),
            from: from.into(),
            display_name: None,
            verdict,
            lookalike: None,
            raw: format!("From: {from}\r\n\r\n{body}\r\n"),
        },
        audit: AuditContext {
            actor: "mail".into(),
            ip: "127.0.0.9".into(),
            user_agent: "smtp/test".into(),
            session: String::new(),
        },
    }
}
