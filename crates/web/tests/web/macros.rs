//! Macros on SQLite and PostgreSQL: an agent's personal macro and a supervisor's shared
//! one applied to a ticket — the text with its placeholders filled in, the changes
//! made, every step audited. Beside them the attacks: someone else's personal macro, a
//! team's macro outside the team, a light agent, a customer, an agent sharing a macro,
//! and a macro (or a hand) that would send the ticket to a team the agent is not in —
//! refused whole, nothing of it done.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(macros_do_in_one_step_only_what_their_user_may_do);

async fn macros_do_in_one_step_only_what_their_user_may_do(backend: Backend) {
    let w = World::new(backend).await;
    let ticket = format!("/api/v1/tickets/{}", w.ticket_1);
    let thread_path = format!("{ticket}/messages");
    let first_name = w
        .store
        .get_user(&w.customer_1.id)
        .await
        .unwrap()
        .name
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    // Agent A's own macro: an internal note, status pending, a tag.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/macros",
            json!({"name": "Checked", "body": "Checked ticket #{ticket_number} for {requester_name}.",
                   "visibility": "internal", "status": "pending", "add_tags": ["checked"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let personal = r.json()["id"].as_str().unwrap().to_owned();
    let apply = |m: &str| format!("{ticket}/macros/{m}");
    let r = w.json(&w.agent_a, "POST", &apply(&personal), json!(null)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let after = r.json();
    assert_eq!(after["status"], "pending");
    assert_eq!(after["tags"], json!(["checked"]));
    let number = after["number"].as_i64().unwrap();
    let thread = w.get(&w.supervisor, &thread_path).await.json();
    let last = thread.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["visibility"], "internal");
    assert!(
        last["body"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Checked ticket #{number} for ")),
        "{last}"
    );
    let actions: Vec<String> = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"macro.applied".to_owned()));

    // Someone else's personal macro does not exist for them.
    assert_eq!(
        w.json(&w.agent_b, "POST", &apply(&personal), json!(null))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let listed = w.get(&w.agent_b, "/api/v1/macros").await.json();
    assert!(!listed.to_string().contains(&personal));
    assert_eq!(
        w.raw(
            Some(&w.agent_b),
            "DELETE",
            &format!("/api/v1/macros/{personal}"),
            axum::body::Body::empty(),
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // The supervisor's shared macro: a public reply to the requester by first name.
    let r = w
        .json(&w.agent_a, "POST", &apply(&w.shared_macro), json!(null))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["priority"], "high");
    let last = w
        .get(&w.supervisor, &thread_path)
        .await
        .json()
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["visibility"], "public");
    assert_eq!(
        last["body"],
        format!("Hi {first_name}, your refund is on its way.")
    );
    // A light agent reads the ticket but has no macros; a customer has none at all.
    assert_eq!(
        w.json(&w.light_a, "POST", &apply(&w.shared_macro), json!(null))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.get(&w.customer_1, "/api/v1/macros").await.status,
        StatusCode::NOT_FOUND
    );
    // An agent may not share a macro.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/macros",
            json!({"name": "Mine for all", "body": "x", "visibility": "public", "share_with": "everyone"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A typo in a placeholder is refused when saving.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/macros",
            json!({"name": "Typo", "body": "Hi {requester_email}", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A macro for team B only: not in agent A's list, not applicable by them.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/macros",
            json!({"name": "Team B only", "body": "B", "visibility": "internal", "share_with": w.team_b.to_string()}),
        )
        .await;
    let team_b_only = r.json()["id"].as_str().unwrap().to_owned();
    assert!(
        !w.get(&w.agent_a, "/api/v1/macros")
            .await
            .text()
            .contains(&team_b_only)
    );
    assert_eq!(
        w.json(&w.agent_a, "POST", &apply(&team_b_only), json!(null))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A shared macro that hands the ticket to team B, with a reply: agent A is not in
    // team B, so none of it happens — not the reply either.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/macros",
            json!({"name": "To billing", "body": "Passing you to billing.", "visibility": "public",
                   "share_with": "everyone", "route_to_team_id": w.team_b.to_string()}),
        )
        .await;
    let to_b = r.json()["id"].as_str().unwrap().to_owned();
    let before = w
        .get(&w.supervisor, &thread_path)
        .await
        .json()
        .as_array()
        .unwrap()
        .len();
    let r = w.json(&w.agent_a, "POST", &apply(&to_b), json!(null)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(
        w.get(&w.supervisor, &thread_path)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        before
    );
    assert_eq!(
        w.get(&w.supervisor, &ticket).await.json()["team_id"],
        w.team_a.to_string()
    );
    // By hand the same: agents hand tickets only to their own teams…
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &ticket,
            json!({"team_id": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // …supervisors to any.
    let r = w.json(&w.supervisor, "POST", &apply(&to_b), json!(null)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["team_id"], w.team_b.to_string());

    // The pages: the ticket page's menu applies a macro; the macros page lists them.
    let page = w.get(&w.agent_a, "/macros").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Checked") && page.text().contains("Refund on its way"));
    let r = w
        .form(&w.agent_a, "/macros", "name=Quick+close&body=&visibility=public&share_with=&status=solved&priority=&ticket_type=&assignee=me&route_to=&add_tag=")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let quick = w.get(&w.agent_a, "/api/v1/macros").await.json();
    let quick = quick
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Quick close")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Another", "body": "x", "requester_id": w.customer_1.id.to_string(),
                   "team_id": w.team_a.to_string()}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w
        .form(
            &w.agent_a,
            &format!("/tickets/{other}/macro"),
            &format!("macro_id={quick}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let t = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{other}"))
        .await
        .json();
    assert_eq!(t["status"], "solved");
    assert_eq!(t["assignee_id"], w.agent_a.id.to_string());
}
