//! Mail to a merged duplicate's reply address, on SQLite and PostgreSQL: the reply of
//! the duplicate's requester joins the survivor (where they now take part), readable
//! under the survivor's key; the duplicate stays closed and empty.

use palisade_core::{EmailAddress, Role, Visibility};
use palisade_service::{Channel, OpenTicket, Received};
use palisade_store::NewUser;
use palisade_testkit::Backend;

use crate::desk::{Fixture, actor, authenticated_reply, messages};

palisade_testkit::on_both_backends!(a_reply_to_a_merged_duplicate_joins_its_survivor);

async fn a_reply_to_a_merged_duplicate_joins_its_survivor(backend: Backend) {
    let f = Fixture::new(backend).await;
    let survivor = f.ticket_of_team_a().await;
    let mut tx = f.store.begin().await.unwrap();
    let bea = f
        .store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse("bea@customer.test").unwrap(),
                name: "Bea".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let agent = actor(&f.agent_a, Channel::Web);
    let duplicate = f
        .desk
        .open_ticket(
            &agent,
            OpenTicket {
                subject: "Order 1234 again".into(),
                body: "Still nothing".into(),
                requester: Some(bea.clone()),
                team: Some(f.team_a.clone()),
            },
        )
        .await
        .unwrap()
        .ticket
        .id;
    f.desk
        .merge_ticket(&agent, duplicate.as_str(), survivor.as_str())
        .await
        .unwrap();

    let received = f
        .desk
        .receive_mail(authenticated_reply(
            &f.team_a,
            &duplicate,
            &bea,
            "bea@customer.test",
            "Any news on 1234?",
        ))
        .await
        .unwrap();
    assert!(
        matches!(&received, Received::Reply(t) if *t == survivor),
        "{received:?}"
    );
    let now = f.store.get_ticket(&survivor).await.unwrap();
    let thread = messages(&f.store, &now).await;
    let reply = thread.last().unwrap();
    assert_eq!(
        (reply.body.as_str(), &reply.author, reply.visibility),
        ("Any news on 1234?", &bea, Visibility::Public)
    );
    assert!(thread.iter().any(|m| m.body == "Still nothing"));
    let old = f.store.get_ticket(&duplicate).await.unwrap();
    assert!(messages(&f.store, &old).await.is_empty());
    assert_eq!(old.merged_into.as_ref(), Some(&survivor));
}
