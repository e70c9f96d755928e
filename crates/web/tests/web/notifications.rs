//! Agents told in time, on SQLite and PostgreSQL: a new ticket reaches its team, an
//! assignment and a customer's reply reach the assignee and followers, a mention in
//! an internal note reaches the one named — in the page (list, live count over
//! server-sent events) and by mail as each prefers, mails carrying no message text —
//! and nothing reaches someone who can no longer read the ticket, however the
//! notification was queued.

use crate::common;

use axum::http::StatusCode;
use common::{Actor, World};
use palisade_core::OutgoingMail;
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    agents_hear_of_what_concerns_them_and_only_while_they_may_read_it,
    preferences_choose_the_channel_and_digests_collect,
    a_team_may_let_notification_mail_carry_what_was_written
);

async fn listed(w: &World, who: &Actor) -> Value {
    w.dispatch().await;
    let r = w.get(who, "/api/v1/notifications").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn kinds(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Notification mails queued so far, to `to`.
async fn mails_to(w: &World, to: &str) -> Vec<OutgoingMail> {
    w.dispatch().await;
    let mut out = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == palisade_service::MAIL_NOTIFICATION {
            let mail: OutgoingMail = serde_json::from_slice(&claimed.envelope).unwrap();
            if mail.to == to {
                out.push(mail);
            }
        }
    }
    out
}

async fn reply(w: &World, who: &Actor, ticket: &str, body: &str, visibility: &str) {
    let r = w
        .json(
            who,
            "POST",
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({ "body": body, "visibility": visibility }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn agents_hear_of_what_concerns_them_and_only_while_they_may_read_it(backend: Backend) {
    let w = World::new(backend).await.with_agent_notifications().await;

    // A customer opens a ticket: team A's staff see it in the page; nobody else does.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({ "subject": "Card blocked", "body": "Help" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let new_ticket = r.json()["id"].as_str().unwrap().to_owned();
    let list = listed(&w, &w.agent_a).await;
    assert_eq!(kinds(&list), ["new_ticket"]);
    assert_eq!(list["unread"], 1);
    assert_eq!(list["items"][0]["ticket_id"], new_ticket);
    assert_eq!(list["items"][0]["subject"], "Card blocked");
    assert_eq!(kinds(&listed(&w, &w.light_a).await), ["new_ticket"]);
    for other in [&w.agent_b, &w.auditor, &w.customer_1, &w.customer_2] {
        assert!(kinds(&listed(&w, other).await).is_empty());
    }
    // In-app by default for new tickets: no mail.
    assert!(mails_to(&w, "agent.a@desk.test").await.is_empty());

    // Assigned: mailed by default, with the number, subject and link, nothing more.
    let ticket = w.ticket_1.clone();
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/tickets/{ticket}"),
            json!({ "assignee_id": w.agent_a.id.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mail = mails_to(&w, "agent.a@desk.test").await;
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0]
            .text
            .contains(&format!("{}/tickets/{ticket}", common::ORIGIN)),
        "{}",
        mail[0].text
    );

    // The customer answers: the assignee hears, by mail that holds none of the answer.
    let secret = "my new PIN is 7391";
    reply(&w, &w.customer_1, &ticket, secret, "public").await;
    let mail = mails_to(&w, "agent.a@desk.test").await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].subject.contains("Customer replied"));
    assert!(!mail[0].text.contains("7391") && !mail[0].subject.contains("7391"));
    assert!(
        !mail[0].text.contains("c1@sharing.test"),
        "no customer contact details"
    );
    assert_eq!(
        kinds(&listed(&w, &w.agent_a).await),
        ["customer_reply", "assigned", "new_ticket"]
    );
    // Agents' own replies are not news to anyone.
    reply(&w, &w.agent_a, &ticket, "On it", "public").await;
    assert_eq!(listed(&w, &w.agent_a).await["items"].as_array().unwrap().len(), 3);

    // A mention in an internal note reaches the one named (address or name), never
    // someone merely sharing an address's domain.
    reply(
        &w,
        &w.agent_a,
        &ticket,
        "@light.a can you check the card? ann@desk.test",
        "internal",
    )
    .await;
    assert_eq!(kinds(&listed(&w, &w.light_a).await), ["mention", "new_ticket"]);
    let mentioned = mails_to(&w, "light.a@desk.test").await;
    assert_eq!(mentioned.len(), 1);
    assert!(!mentioned[0].text.contains("check the card"));

    // Followers hear of replies too; the supervisor follows in the page.
    let r = w
        .form(&w.supervisor, &format!("/tickets/{ticket}/follow"), "follow=yes")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = w.get(&w.supervisor, &format!("/tickets/{ticket}")).await.text();
    assert!(page.contains("Unfollow"));
    // Customers cannot follow (they are told by mail as participants).
    let r = w
        .json(
            &w.customer_1,
            "PUT",
            &format!("/api/v1/tickets/{ticket}/follow"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    reply(&w, &w.customer_1, &ticket, "Still blocked", "public").await;
    assert_eq!(kinds(&listed(&w, &w.supervisor).await), ["customer_reply"]);
    assert_eq!(
        mails_to(&w, "agent.a@desk.test").await.len(),
        1,
        "the assignee hears too"
    );

    // The live count: a server-sent event with the unread number.
    let r = w.get(&w.agent_a, "/api/v1/notifications/stream").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(r.text().contains("event: unread\ndata: 4\n"), "{}", r.text());

    // The ticket moves to team B and is no longer assigned: agent A and light agent A
    // can no longer read it. Their notifications about it vanish, and nothing new
    // reaches them, though agent A follows it and light agent A is named again.
    w.json(
        &w.agent_a,
        "PUT",
        &format!("/api/v1/tickets/{ticket}/follow"),
        json!({}),
    )
    .await;
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/tickets/{ticket}"),
            json!({ "assignee_id": null, "team_id": w.team_b.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    reply(&w, &w.customer_1, &ticket, "Hello?", "public").await;
    reply(&w, &w.supervisor, &ticket, "@light.a @agent.a look", "internal").await;
    assert_eq!(kinds(&listed(&w, &w.agent_a).await), ["new_ticket"]);
    assert_eq!(kinds(&listed(&w, &w.light_a).await), ["new_ticket"]);
    assert!(mails_to(&w, "agent.a@desk.test").await.is_empty());
    assert!(mails_to(&w, "light.a@desk.test").await.is_empty());
    let r = w.get(&w.agent_a, &format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The page lists them; marking read clears the count.
    let page = w.get(&w.agent_a, "/notifications").await.text();
    assert!(
        page.contains("Card blocked") && page.contains("New ticket in your team"),
        "{page}"
    );
    assert!(!page.contains(&format!("/tickets/{ticket}\"")));
    let r = w.form(&w.agent_a, "/notifications/read", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(listed(&w, &w.agent_a).await["unread"], 0);
}

async fn preferences_choose_the_channel_and_digests_collect(backend: Backend) {
    let w = World::new(backend).await.with_agent_notifications().await;
    let ticket = w.ticket_1.clone();
    w.json(
        &w.agent_a,
        "PUT",
        &format!("/api/v1/tickets/{ticket}/follow"),
        json!({}),
    )
    .await;

    // Off: nothing at all.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/notification-preferences",
            json!([{ "kind": "customer_reply", "channel": "off" }]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "customer_reply" && p["channel"] == "off")
    );
    reply(&w, &w.customer_1, &ticket, "one", "public").await;
    assert!(kinds(&listed(&w, &w.agent_a).await).is_empty());
    assert!(mails_to(&w, "agent.a@desk.test").await.is_empty());

    // A bad entry changes nothing, even beside a good one.
    let r = w
        .json(&w.agent_a, "PUT", "/api/v1/me/notification-preferences",
              json!([{ "kind": "customer_reply", "channel": "email" }, { "kind": "customer_reply", "channel": "sms" }]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Digest, chosen in the page: listed at once, mailed together later.
    let r = w
        .form(&w.agent_a, "/account/notifications", "customer_reply=digest")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = w.get(&w.agent_a, "/account/notifications").await.text();
    assert!(page.contains(r#"<option value="digest" selected>"#), "{page}");
    reply(&w, &w.customer_1, &ticket, "two", "public").await;
    reply(&w, &w.customer_1, &ticket, "three", "public").await;
    assert_eq!(
        kinds(&listed(&w, &w.agent_a).await),
        ["customer_reply", "customer_reply"]
    );
    assert!(mails_to(&w, "agent.a@desk.test").await.is_empty());
    let desk = w.state.desk();
    assert_eq!(desk.send_notification_digests(common::ORIGIN).await.unwrap(), 1);
    let digest = mails_to(&w, "agent.a@desk.test").await;
    assert_eq!(digest.len(), 1);
    assert_eq!(
        digest[0].text.matches("Customer replied").count(),
        2,
        "{}",
        digest[0].text
    );
    assert!(!digest[0].text.contains("three"));
    // Each notification goes into one digest only.
    assert_eq!(desk.send_notification_digests(common::ORIGIN).await.unwrap(), 0);
}

async fn a_team_may_let_notification_mail_carry_what_was_written(backend: Backend) {
    let w = World::new(backend).await.with_agent_notifications().await;
    let ticket = w.ticket_1.clone();
    w.json(
        &w.agent_a,
        "PUT",
        &format!("/api/v1/tickets/{ticket}/follow"),
        json!({}),
    )
    .await;
    let team = format!("/api/v1/teams/{}", w.team_a);
    // Only administrators change it; changing it leaves the other setting alone.
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &team,
            json!({ "notifications_with_text": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The body is the object the document declares, not an array serde would also read.
    let r = w.json(&w.admin, "PATCH", &team, json!([true, true])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &team,
            json!({ "notifications_with_text": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["notifications_with_text"], true);
    assert_eq!(r.json()["secure_delivery"], false);

    reply(&w, &w.customer_1, &ticket, "my account ends 5521", "public").await;
    let mail = mails_to(&w, "agent.a@desk.test").await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].text.contains("my account ends 5521"), "{}", mail[0].text);
    assert!(mail[0].text.contains("c1@sharing.test"));

    // Turned off again: number, subject and link only.
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &team,
            json!({ "notifications_with_text": false }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    reply(&w, &w.customer_1, &ticket, "and my PIN is 9913", "public").await;
    let mail = mails_to(&w, "agent.a@desk.test").await;
    assert_eq!(mail.len(), 1);
    assert!(!mail[0].text.contains("9913") && !mail[0].text.contains("c1@sharing.test"));
}
