//! Bulk changes on SQLite and PostgreSQL: an agent changes several tickets at once
//! from the list and through the API, each ticket authorised and audited on its own.
//! Beside it the attacks: a light agent's bulk change changes nothing, a selection
//! slipping in another team's ticket changes only the agent's own, and a customer has
//! no bulk tool at all.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    each_ticket_of_a_bulk_change_is_decided_on_its_own,
    a_macro_and_a_team_apply_ticket_by_ticket_in_bulk
);

async fn each_ticket_of_a_bulk_change_is_decided_on_its_own(backend: Backend) {
    let w = World::new(backend).await;
    let mut mine = Vec::new();
    for subject in ["Bulk one", "Bulk two", "Bulk three"] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                "/api/v1/tickets",
                json!({"subject": subject, "body": "x", "requester_id": w.customer_1.id.to_string(),
                       "team_id": w.team_a.to_string()}),
            )
            .await;
        mine.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let theirs = w
        .json(
            &w.agent_b,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Team B's", "body": "x", "requester_id": w.customer_1.id.to_string(),
                   "team_id": w.team_b.to_string()}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let priority = |id: &str| {
        let path = format!("/api/v1/tickets/{id}");
        let w = &w;
        async move { w.get(&w.supervisor, &path).await.json()["priority"].clone() }
    };
    let count_updates = |id: String| {
        let store = w.store.clone();
        async move {
            store
                .audit_entries(0, 10_000)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.action == "ticket.updated" && e.object == id)
                .count()
        }
    };

    // The list's form: three tickets closed and assigned to me, plus team B's ticket
    // slipped into the selection.
    let form = format!(
        "ticket={}&ticket={}&ticket={}&ticket={theirs}&status=solved&assignee=me&add_tag=bulk",
        mine[0], mine[1], mine[2]
    );
    let r = w.form(&w.agent_a, "/tickets/bulk", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("3 tickets changed; 1 not changed"),
        "{}",
        r.text()
    );
    for id in &mine {
        let t = w.get(&w.agent_a, &format!("/api/v1/tickets/{id}")).await.json();
        assert_eq!(t["status"], "solved");
        assert_eq!(t["assignee_id"], w.agent_a.id.to_string());
        assert_eq!(t["tags"], json!(["bulk"]));
        assert_eq!(count_updates(id.clone()).await, 1, "one audit entry per ticket");
    }
    let t = w
        .get(&w.supervisor, &format!("/api/v1/tickets/{theirs}"))
        .await
        .json();
    assert_ne!(t["status"], "solved", "team B's ticket is untouched");
    assert!(t["tags"].as_array().unwrap().is_empty());

    // The API says what happened to each.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/tickets/bulk",
            json!({"ticket_ids": [mine[0], theirs], "priority": "high"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let results = r.json()["results"].clone();
    assert_eq!(results[0]["outcome"], "updated");
    assert_eq!(results[1]["outcome"], "not_found");
    assert_eq!(priority(&mine[0]).await, "high");
    assert_eq!(priority(&theirs).await, "normal");

    // A light agent reads team A's tickets but changes none of them.
    let r = w
        .json(
            &w.light_a,
            "POST",
            "/api/v1/tickets/bulk",
            json!({"ticket_ids": [mine[1], mine[2]], "priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["outcome"] == "forbidden")
    );
    assert_eq!(priority(&mine[1]).await, "normal");
    // A customer has no bulk tool.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets/bulk",
            json!({"ticket_ids": [mine[1]], "priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // What the document forbids is refused: the same ticket twice, a malformed id, a tag
    // outside the allowed letters.
    for body in [
        json!({"ticket_ids": [mine[1], mine[1]], "priority": "low"}),
        json!({"ticket_ids": ["nonsense"], "priority": "low"}),
        json!({"ticket_ids": [mine[1]], "add_tags": ["été"]}),
        json!({"ticket_ids": [], "priority": "low"}),
    ] {
        let r = w
            .json(&w.agent_a, "POST", "/api/v1/tickets/bulk", body.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(priority(&mine[1]).await, "normal");
}

async fn a_macro_and_a_team_apply_ticket_by_ticket_in_bulk(backend: Backend) {
    let w = World::new(backend).await;
    let mut tickets = Vec::new();
    for subject in ["Refund one", "Refund two"] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                "/api/v1/tickets",
                json!({"subject": subject, "body": "x", "requester_id": w.customer_1.id.to_string(),
                       "team_id": w.team_a.to_string()}),
            )
            .await;
        tickets.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    // The shared macro from the list's form: a reply and a higher priority on each.
    let form = format!(
        "ticket={}&ticket={}&macro_id={}",
        tickets[0], tickets[1], w.shared_macro
    );
    let r = w.form(&w.agent_a, "/tickets/bulk", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("2 tickets changed."), "{}", r.text());
    for id in &tickets {
        let t = w.get(&w.agent_a, &format!("/api/v1/tickets/{id}")).await.json();
        assert_eq!(t["priority"], "high");
        let thread = w
            .get(&w.agent_a, &format!("/api/v1/tickets/{id}/messages"))
            .await
            .text();
        assert!(thread.contains("your refund is on its way"), "{thread}");
    }
    let list = w.get(&w.agent_a, "/tickets").await.text();
    assert!(
        list.contains("<select name=\"macro_id\">"),
        "the bulk form offers macros"
    );

    // Handing them to team B: not an agent of team A's decision; a supervisor's.
    let to_b = json!({"ticket_ids": tickets, "team_id": w.team_b.to_string()});
    let r = w
        .json(&w.agent_a, "POST", "/api/v1/tickets/bulk", to_b.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["outcome"] == "forbidden")
    );
    let r = w.json(&w.supervisor, "POST", "/api/v1/tickets/bulk", to_b).await;
    assert!(
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["outcome"] == "updated")
    );
    let t = w
        .get(&w.supervisor, &format!("/api/v1/tickets/{}", tickets[0]))
        .await
        .json();
    assert_eq!(t["team_id"], w.team_b.to_string());

    let r = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/tickets/bulk",
            json!({"ticket_ids": [tickets[0]], "macro_id": "mac_nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
