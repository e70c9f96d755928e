//! Merging duplicates and linking related tickets, on SQLite and PostgreSQL. An agent
//! merges a colleague's duplicate (another requester, so another data key) into ticket
//! 1: messages, internal notes and files move and still open, the requester joins,
//! the duplicate is closed and points to its survivor, and nothing more is written to
//! it. Beside it, the attacks: a merge into another team's ticket, by a light agent or
//! by a customer moves nothing; an unconfirmed requester does not join someone else's
//! ticket; links show only tickets the reader may read.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    a_merged_duplicate_moves_whole_to_its_survivor,
    merges_reach_only_tickets_the_agent_may_change,
    an_unconfirmed_requester_does_not_join_the_survivor,
    links_join_tickets_the_agent_may_change_and_show_only_readable_ones,
    the_ticket_page_merges_by_number_and_points_to_the_survivor
);

/// A ticket of customer_2 (customer_1's colleague) in team A, with a reply, an internal
/// note and a public file: the duplicate.
async fn duplicate(w: &World) -> String {
    let body = json!({"subject": "Invoice 7 is wrong", "body": "The total on invoice 7 is doubled",
                      "requester_id": w.customer_2.id.to_string(), "team_id": w.team_a.to_string()});
    let r = w.json(&w.agent_a, "POST", "/api/v1/tickets", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    for (text, visibility) in [
        ("Looking into invoice 7", "public"),
        ("Billing bug 7781 again", "internal"),
    ] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": text, "visibility": visibility}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = w
        .raw(
            Some(&w.agent_a),
            "POST",
            &format!("/api/v1/tickets/{id}/attachments?filename=invoice-7.txt"),
            Body::from("invoice 7 as sent"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    id
}

fn bodies(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_merged_duplicate_moves_whole_to_its_survivor(backend: Backend) {
    let w = World::new(backend).await;
    let dup = duplicate(&w).await;
    let survivor = &w.ticket_1;
    let before = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{survivor}/messages"))
        .await
        .json();
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{dup}/merge"),
            json!({"into": survivor}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let merged = r.json();
    assert_eq!(merged["ticket"]["id"], survivor.as_str());
    assert_eq!(merged["moved_messages"], 3);
    assert_eq!(merged["moved_attachments"], 1);
    assert_eq!(merged["added_participants"], 1, "the duplicate's requester joins");
    assert!(
        merged["ticket"]["collaborator_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(w.customer_2.id.to_string()))
    );

    // Everything opens under the survivor's key, internal notes included.
    let after = bodies(
        &w.get(&w.agent_a, &format!("/api/v1/tickets/{survivor}/messages"))
            .await
            .json(),
    );
    assert_eq!(after.len(), bodies(&before).len() + 3);
    for text in [
        "The total on invoice 7 is doubled",
        "Looking into invoice 7",
        "Billing bug 7781 again",
    ] {
        assert!(after.iter().any(|b| b == text), "{text} in {after:?}");
    }
    let files = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{survivor}/attachments"))
        .await
        .json();
    let moved = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"] == "invoice-7.txt")
        .expect("the file moved");
    let download = w
        .get(
            &w.customer_2,
            &format!("/api/v1/attachments/{}", moved["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, b"invoice 7 as sent");

    // The duplicate's requester now reads the survivor, without its internal notes.
    let theirs = w
        .get(&w.customer_2, &format!("/api/v1/tickets/{survivor}/messages"))
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    let theirs = bodies(&theirs.json());
    assert!(theirs.iter().any(|b| b == "Looking into invoice 7"));
    assert!(!theirs.iter().any(|b| b.contains("7781")), "{theirs:?}");

    // The duplicate is closed, points to the survivor and takes nothing more.
    let old = w.get(&w.agent_a, &format!("/api/v1/tickets/{dup}")).await.json();
    assert_eq!(old["status"], "closed");
    assert_eq!(old["merged_into"], survivor.as_str());
    let empty = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{dup}/messages"))
        .await
        .json();
    assert!(empty.as_array().unwrap().is_empty(), "{empty}");
    let r = w
        .json(
            &w.customer_2,
            "POST",
            &format!("/api/v1/tickets/{dup}/messages"),
            json!({"body": "any news?", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // No other write reaches it either: a file, a reopening, a field, a tag, a link.
    let file = w
        .raw(
            Some(&w.customer_2),
            "POST",
            &format!("/api/v1/tickets/{dup}/attachments?filename=late.txt"),
            Body::from("late"),
            &[],
        )
        .await;
    assert_eq!(file.status, StatusCode::CONFLICT, "{}", file.text());
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/v1/tickets/{dup}"),
            json!({"status": "open"}),
        ),
        (
            "PUT",
            format!("/api/v1/tickets/{dup}/fields"),
            json!({"values": {"plan": "Gold"}}),
        ),
        (
            "PUT",
            format!("/api/v1/tickets/{dup}/tags"),
            json!({"tags": ["late"]}),
        ),
    ] {
        let r = w.json(&w.agent_a, method, &path, body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{method} {path}: {}", r.text());
    }
    let link = w
        .raw(
            Some(&w.agent_a),
            "PUT",
            &format!("/api/v1/tickets/{dup}/links/{}", w.ticket_3),
            Body::empty(),
            &[],
        )
        .await;
    assert_ne!(link.status, StatusCode::NO_CONTENT);
    let old = w.get(&w.agent_a, &format!("/api/v1/tickets/{dup}")).await.json();
    assert_eq!(
        (old["status"].as_str(), old["tags"].as_array().map(Vec::len)),
        (Some("closed"), Some(0))
    );

    // Nothing merges twice, into a merged ticket, or into itself.
    let again = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{dup}/merge"),
            json!({"into": survivor}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let into_merged = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{survivor}/merge"),
            json!({"into": dup}),
        )
        .await;
    assert_eq!(into_merged.status, StatusCode::CONFLICT);
    let itself = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{survivor}/merge"),
            json!({"into": survivor}),
        )
        .await;
    assert_eq!(itself.status, StatusCode::BAD_REQUEST);

    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    let entry = trail
        .iter()
        .find(|e| e.action == "ticket.merged" && e.object == dup)
        .expect("the merge is audited");
    assert!(entry.detail.contains(survivor.as_str()), "{}", entry.detail);
}

async fn merges_reach_only_tickets_the_agent_may_change(backend: Backend) {
    let w = World::new(backend).await;
    let dup = duplicate(&w).await;
    let count = |who, id: String| {
        let w = &w;
        async move {
            w.get(who, &format!("/api/v1/tickets/{id}/messages"))
                .await
                .json()
                .as_array()
                .map(Vec::len)
        }
    };
    let before = (
        count(&w.admin, w.ticket_1.clone()).await,
        count(&w.admin, w.ticket_3.clone()).await,
        count(&w.admin, dup.clone()).await,
    );
    // Team B's ticket is not agent A's: it does not exist for them, either way round.
    for (from, into) in [(&w.ticket_1, &w.ticket_3), (&w.ticket_3, &w.ticket_1)] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                &format!("/api/v1/tickets/{from}/merge"),
                json!({"into": into}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
    // A light agent reads both tickets but changes neither; a customer reads both
    // (their company shares tickets) and merges nothing.
    for who in [&w.light_a, &w.customer_1] {
        let r = w
            .json(
                who,
                "POST",
                &format!("/api/v1/tickets/{dup}/merge"),
                json!({"into": w.ticket_1}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    let after = (
        count(&w.admin, w.ticket_1.clone()).await,
        count(&w.admin, w.ticket_3.clone()).await,
        count(&w.admin, dup.clone()).await,
    );
    assert_eq!(before, after, "nothing moved");
    for id in [&w.ticket_1, &w.ticket_3, &dup] {
        let t = w.get(&w.admin, &format!("/api/v1/tickets/{id}")).await.json();
        assert_eq!(t["merged_into"], Value::Null);
    }
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(!trail.iter().any(|e| e.action == "ticket.merged"));
    assert!(
        trail
            .iter()
            .any(|e| e.action == "access.denied" && e.detail.contains("ticket.merge")),
        "refusals are audited"
    );

    // A supervisor may: both tickets are theirs to change.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/tickets/{}/merge", w.ticket_3),
            json!({"into": w.ticket_1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn an_unconfirmed_requester_does_not_join_the_survivor(backend: Backend) {
    let w = World::new(backend).await;
    // Released quarantine mail claims to be from customer_3: nobody has proved it.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/quarantine/{}/release", w.quarantined),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let released = r.json()["ticket_id"].as_str().unwrap().to_owned();
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{released}/merge"),
            json!({"into": w.ticket_1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["added_participants"], 0);
    let theirs = w
        .get(&w.customer_3, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await;
    assert_eq!(
        theirs.status,
        StatusCode::NOT_FOUND,
        "whoever typed the address sees nothing"
    );
}

async fn links_join_tickets_the_agent_may_change_and_show_only_readable_ones(backend: Backend) {
    let w = World::new(backend).await;
    let dup = duplicate(&w).await;
    let links = |who, id: String| {
        let w = &w;
        async move {
            let r = w.get(who, &format!("/api/v1/tickets/{id}/links")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            r.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let put = |who, a: &str, b: &str| {
        let path = format!("/api/v1/tickets/{a}/links/{b}");
        let w = &w;
        async move { w.raw(Some(who), "PUT", &path, Body::empty(), &[]).await }
    };
    assert_eq!(
        put(&w.agent_a, &w.ticket_1, &dup).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put(&w.agent_a, &dup, &w.ticket_1).await.status,
        StatusCode::NO_CONTENT,
        "twice is once"
    );
    assert_eq!(links(&w.agent_a, w.ticket_1.clone()).await, vec![dup.clone()]);
    assert_eq!(links(&w.agent_a, dup.clone()).await, vec![w.ticket_1.clone()]);

    // Agent A may not link to team B's ticket; the supervisor may, and then neither
    // agent A nor the customer sees that ticket among the links.
    assert_eq!(
        put(&w.agent_a, &w.ticket_1, &w.ticket_3).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&w.light_a, &w.ticket_1, &dup).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&w.supervisor, &w.ticket_1, &w.ticket_3).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(links(&w.supervisor, w.ticket_1.clone()).await.len(), 2);
    assert_eq!(links(&w.agent_a, w.ticket_1.clone()).await, vec![dup.clone()]);
    assert!(
        !links(&w.customer_1, w.ticket_1.clone())
            .await
            .contains(&w.ticket_3)
    );

    let r = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            &format!("/api/v1/tickets/{dup}/links/{}", w.ticket_1),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(links(&w.agent_a, w.ticket_1.clone()).await.is_empty());
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(trail.iter().filter(|e| e.action == "ticket.linked").count(), 2);
    assert_eq!(trail.iter().filter(|e| e.action == "ticket.unlinked").count(), 1);
}

async fn the_ticket_page_merges_by_number_and_points_to_the_survivor(backend: Backend) {
    let w = World::new(backend).await;
    let dup = duplicate(&w).await;
    let survivor = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json();
    let number = survivor["number"].as_i64().unwrap();
    let page = w.get(&w.agent_a, &format!("/tickets/{dup}")).await.text();
    assert!(page.contains("Merge this ticket into number"), "{page}");

    // Team B's number is refused like a number that does not exist.
    let r = w
        .form(
            &w.agent_a,
            &format!("/tickets/{dup}/merge"),
            &format!("number=%23{}", w.ticket_3_number),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("No ticket you may change has that number."));
    let r = w
        .form(&w.agent_a, &format!("/tickets/{dup}/merge"), "number=99999999")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("No ticket you may change has that number."));

    let r = w
        .form(
            &w.agent_a,
            &format!("/tickets/{dup}/merge"),
            &format!("number=%23{number}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers["location"], format!("/tickets/{}", w.ticket_1));
    let page = w.get(&w.agent_a, &format!("/tickets/{dup}")).await.text();
    assert!(page.contains("This ticket was merged into"), "{page}");
    assert!(page.contains(&format!("href=\"/tickets/{}\"", w.ticket_1)));
    assert!(
        !page.contains(&format!("action=\"/tickets/{dup}/messages\"")),
        "no reply form on a merged ticket"
    );
    assert!(!page.contains("Merge this ticket into number"));

    // Linking by number from the page, and the link shown on both.
    let r = w
        .form(
            &w.agent_a,
            &format!("/tickets/{}/links", w.ticket_1),
            &format!("number={}", survivor["number"]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not to itself: {}", r.text());
}
