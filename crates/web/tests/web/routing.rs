//! How a team's new tickets reach people, on SQLite and PostgreSQL: waiting tickets
//! are given to the team's agents in turn (or to the least loaded), never to one who
//! is away or at the cap, never to a light agent, and each once however many nodes
//! assign at the same time; a person's assignment made meanwhile stands. A new
//! ticket's requester is acknowledged in their language, in the team's words where it
//! wrote some, with a reply address that leads back to the ticket; never for a ticket
//! staff opened, never with the subject for a team that delivers securely, and not at
//! all once the team turns it off.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use common::World;
use palisade_core::{EmailAddress, OutgoingMail};
use palisade_mail::{MAIL_TICKET_ACK, ReplyKeys, ReplyNotifier, Threading};
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    waiting_tickets_go_to_present_agents_in_turn_within_the_cap_once,
    new_tickets_are_acknowledged_in_the_requesters_language_and_the_teams_words
);

async fn open_ticket(w: &World, who: &common::Actor, subject: &str) -> String {
    let r = w
        .json(
            who,
            "POST",
            "/api/v1/tickets",
            json!({"subject": subject, "body": "Please help"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Who holds each of team A's unsolved tickets (`None`: nobody).
async fn holders(w: &World) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for id in w.store.waiting_for_assignment(&w.team_a, 1000).await.unwrap() {
        out.insert(id.to_string(), None);
    }
    let r = w.get(&w.admin, "/api/v1/tickets?limit=100").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for t in r.json()["items"].as_array().unwrap() {
        if t["team_id"] == w.team_a.to_string()
            && ["new", "open", "pending"].contains(&t["status"].as_str().unwrap())
        {
            out.insert(
                t["id"].as_str().unwrap().to_owned(),
                t["assignee_id"].as_str().map(str::to_owned),
            );
        }
    }
    out
}

async fn waiting_tickets_go_to_present_agents_in_turn_within_the_cap_once(backend: Backend) {
    let w = World::new(backend).await;
    let desk = w.state.desk();
    // Nothing is assigned while the team has not asked for it.
    assert_eq!(desk.assign_waiting().await.unwrap(), 0);
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/teams/{}/members", w.team_a),
            json!({"user_id": w.agent_b.id.to_string()}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    // Agents may not turn it on; administrators may, with a cap in bounds.
    let on = json!({"auto_assign": "round_robin", "assign_cap": 3});
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_a),
            on.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for bad in [json!({"auto_assign": "random"}), json!({"assign_cap": 5000})] {
        let r = w
            .json(&w.admin, "PATCH", &format!("/api/v1/teams/{}", w.team_a), bad)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    }
    let r = w
        .json(&w.admin, "PATCH", &format!("/api/v1/teams/{}", w.team_a), on)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["auto_assign"], "round_robin");
    assert_eq!(r.json()["assign_cap"], 3);

    let before = holders(&w).await;
    let held_before = |who: &common::Actor| {
        before
            .values()
            .filter(|h| h.as_deref() == Some(who.id.as_str()))
            .count()
    };
    let (a_before, b_before) = (held_before(&w.agent_a), held_before(&w.agent_b));
    for i in 0..6 {
        open_ticket(&w, &w.customer_1, &format!("Question {i}")).await;
    }
    let waiting = holders(&w).await.values().filter(|h| h.is_none()).count();
    // Two nodes at once: every ticket goes to one agent, once.
    let other_node = w.state.desk().clone();
    let (x, y) = tokio::join!(desk.assign_waiting(), other_node.assign_waiting());
    let assigned = x.unwrap() + y.unwrap();
    let room = (3 - a_before.min(3)) + (3 - b_before.min(3));
    assert_eq!(assigned, waiting.min(room));
    let after = holders(&w).await;
    let held = |who: &common::Actor| {
        after
            .values()
            .filter(|h| h.as_deref() == Some(who.id.as_str()))
            .count()
    };
    assert!(held(&w.agent_a) <= 3.max(a_before) && held(&w.agent_b) <= 3.max(b_before));
    // In turn: neither got more than one more than the other.
    let (got_a, got_b) = (held(&w.agent_a) - a_before, held(&w.agent_b) - b_before);
    assert!(
        got_a.abs_diff(got_b) <= 1 || got_a + got_b == room,
        "{got_a} {got_b}"
    );
    // Nobody else (the light agent, the automation account) was given one.
    let known = [w.agent_a.id.to_string(), w.agent_b.id.to_string()];
    assert!(
        after
            .iter()
            .filter(|(id, h)| h.is_some() && before.get(*id).is_some_and(Option::is_none))
            .all(|(_, h)| known.contains(h.as_ref().unwrap()))
    );
    let by_auto = w
        .store
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "auto_assign" && e.action == "ticket.updated")
        .count();
    assert_eq!(by_auto, assigned, "each assignment once");

    // Agent B goes away; the cap lifted, the rest go to agent A alone.
    let r = w
        .json(
            &w.agent_b,
            "PUT",
            "/api/v1/me/availability",
            json!({"available": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.get(&w.agent_b, "/api/v1/me/availability").await.json()["available"],
        false
    );
    let r = w
        .json(
            &w.customer_1,
            "PUT",
            "/api/v1/me/availability",
            json!({"available": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "customers take no tickets");
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_a),
            json!({"assign_cap": 0, "auto_assign": "least_open"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json()["assign_cap"].is_null());
    let b_held = held(&w.agent_b);
    desk.assign_waiting().await.unwrap();
    let last = holders(&w).await;
    assert!(last.values().all(Option::is_some), "{last:?}");
    assert_eq!(
        last.values()
            .filter(|h| h.as_deref() == Some(w.agent_b.id.as_str()))
            .count(),
        b_held
    );
    // A person's choice stands: unassigning is not undone behind their back while the
    // team's agents are all away.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/availability",
            json!({"available": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let one = last.keys().next().unwrap().clone();
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{one}"),
            json!({"assignee_id": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(desk.assign_waiting().await.unwrap(), 0);
    // A rule that takes away what automatic assignment gave: the two do not take
    // turns for ever (the rule's answer to the assignment stands).
    let r = w.form(&w.agent_a, "/account/availability", "available=on").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/rules",
            json!({"name": "Nobody", "team_id": w.team_a.to_string(), "event": "assignee_changed",
                   "conditions": {"assigned": true}, "actions": {"assign_to": "nobody"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ping = open_ticket(&w, &w.customer_1, "Ping pong").await;
    for _ in 0..4 {
        desk.assign_waiting().await.unwrap();
        w.dispatch().await;
        desk.run_rules(common::ORIGIN).await.unwrap();
        w.dispatch().await;
    }
    let assigned_ping = w
        .store
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "auto_assign" && e.object == ping)
        .count();
    assert_eq!(assigned_ping, 1);
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/availability",
            json!({"available": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // The page: the box on the notifications page, and the team's settings form.
    let page = w.get(&w.agent_a, "/account/notifications").await.text();
    assert!(page.contains("name=\"available\"") && !page.contains("name=\"available\" value=\"on\" checked"));
    let r = w.form(&w.agent_a, "/account/availability", "available=on").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get(&w.agent_a, "/api/v1/me/availability").await.json()["available"],
        true
    );
    let r = w
        .form(
            &w.admin,
            &format!("/admin/teams/{}", w.team_a),
            "auto_assign=off&assign_cap=&acknowledge=on&ack.en=&ack.de=",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(w.store.get_team(&w.team_a).await.unwrap().auto_assign, "off");
}

/// Acknowledgements queued so far, after the dispatcher hands events to the notifier.
async fn acknowledgements(w: &World) -> Vec<OutgoingMail> {
    w.dispatch().await;
    let mut out = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == MAIL_TICKET_ACK {
            out.push(serde_json::from_slice(&claimed.envelope).unwrap());
        }
    }
    out
}

async fn new_tickets_are_acknowledged_in_the_requesters_language_and_the_teams_words(backend: Backend) {
    let w = World::new(backend).await;
    let support = EmailAddress::parse("support@desk.test").unwrap();
    let threading = Arc::new(Threading::new(
        w.store.clone(),
        ReplyKeys::default(),
        vec![support.clone()],
    ));
    let notifier = ReplyNotifier::new(
        w.store.clone(),
        threading.clone(),
        HashMap::from([(w.team_a.clone(), support)]),
        "https://desk.test",
    );
    let w = w.with_notifier(Arc::new(notifier)).await;
    // On by default: the built-in words, in English, with the subject and a reply
    // address of the requester's own.
    assert!(w.store.get_team(&w.team_a).await.unwrap().acknowledge);
    let id = open_ticket(&w, &w.customer_1, "Card <b>stolen</b>").await;
    let acks = acknowledgements(&w).await;
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.to, "c1@sharing.test");
    assert!(ack.text.contains("Card <b>stolen</b>"), "{}", ack.text);
    assert!(
        ack.html
            .as_deref()
            .unwrap()
            .contains("Card &lt;b&gt;stolen&lt;/b&gt;"),
        "escaped in HTML: {:?}",
        ack.html
    );
    let reply_to = ack.reply_to.clone().unwrap();
    assert!(reply_to.ends_with("@desk.test"), "{reply_to}");
    let number = w.store.get_ticket(&id.parse().unwrap()).await.unwrap().number;
    assert!(ack.subject.contains(&format!("#{number}")), "{}", ack.subject);

    // The team's own German words for a requester who reads German; English stays
    // built in. A placeholder a customer types is never filled in.
    let r = w
        .json(
            &w.customer_1,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let texts = json!({"ack_texts": {"de": "Guten Tag {requester_first_name}, Anfrage {ticket_number}: {ticket_subject}"}});
    let r = w
        .json(&w.admin, "PATCH", &format!("/api/v1/teams/{}", w.team_a), texts)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["ack_texts"]["de"],
        "Guten Tag {requester_first_name}, Anfrage {ticket_number}: {ticket_subject}"
    );
    open_ticket(&w, &w.customer_1, "{requester_name} Rückfrage").await;
    let acks = acknowledgements(&w).await;
    assert_eq!(acks.len(), 1);
    assert!(
        acks[0].text.starts_with("Guten Tag customer, Anfrage ")
            && acks[0].text.contains("{requester_name} Rückfrage"),
        "{}",
        acks[0].text
    );
    // A placeholder the team may not use is refused, and nothing changes.
    for bad in [
        json!({"ack_texts": {"de": "Hallo {requester.email}"}}),
        json!({"ack_texts": {"fr": "Bonjour"}}),
    ] {
        let r = w
            .json(&w.admin, "PATCH", &format!("/api/v1/teams/{}", w.team_a), bad)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    }

    // Staff opening a ticket for a customer send no acknowledgement.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Called in", "body": "By phone", "requester_id": w.customer_1.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(acknowledgements(&w).await.is_empty());

    // Secure delivery: the acknowledgement never carries the subject back.
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_a),
            json!({"secure_delivery": true, "ack_texts": {"de": ""}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    open_ticket(&w, &w.customer_1, "IBAN DE89 3704").await;
    let acks: Vec<Value> = acknowledgements(&w)
        .await
        .into_iter()
        .map(|m| json!({"text": m.text, "subject": m.subject}))
        .collect();
    assert_eq!(acks.len(), 1);
    assert!(!acks[0].to_string().contains("DE89"), "{acks:?}");

    // Turned off: nothing.
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_a),
            json!({"acknowledge": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    open_ticket(&w, &w.customer_1, "Quiet").await;
    assert!(acknowledgements(&w).await.is_empty());
}
