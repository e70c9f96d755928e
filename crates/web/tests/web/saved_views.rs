//! Saved views on SQLite and PostgreSQL: an agent saves the list's filters as a view of
//! their own, a supervisor shares one with a team; each shows its count and its
//! tickets, "me" meaning whoever uses it. Beside it the attacks: another agent's
//! personal view, a team's view outside the team, an agent sharing, and a view that
//! names another team's tickets (it finds none of them).

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(saved_views_keep_filters_and_show_only_what_the_reader_may_read);

async fn saved_views_keep_filters_and_show_only_what_the_reader_may_read(backend: Backend) {
    let w = World::new(backend).await;
    let open = |who: &common::Actor, subject: &str, team: &palisade_core::TeamId| {
        let body = json!({"subject": subject, "body": "x", "requester_id": w.customer_1.id.to_string(),
                          "team_id": team.to_string()});
        let who = who.clone();
        let w = &w;
        async move {
            let r = w.json(&who, "POST", "/api/v1/tickets", body).await;
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let urgent_a = open(&w.agent_a, "Urgent Alpaca", &w.team_a).await;
    let urgent_b = open(&w.agent_b, "Urgent Bison", &w.team_b).await;
    for (who, id) in [(&w.agent_a, &urgent_a), (&w.agent_b, &urgent_b)] {
        let r = w
            .json(
                who,
                "PATCH",
                &format!("/api/v1/tickets/{id}"),
                json!({"priority": "urgent", "assignee_id": who.id.to_string()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    // Agent A saves "my urgent tickets" from the list's filters.
    let r = w
        .form(&w.agent_a, "/views", "name=My+urgent&priority=urgent&assignee=me")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let at = r.headers["location"].to_str().unwrap().to_owned();
    let page = w.get(&w.agent_a, &at).await.text();
    assert!(
        page.contains("Urgent Alpaca") && !page.contains("Urgent Bison"),
        "{page}"
    );
    let views = w.get(&w.agent_a, "/api/v1/views").await.json();
    let mine = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "My urgent")
        .unwrap()
        .clone();
    assert_eq!(mine["count"], 1);
    let mine_id = mine["id"].as_str().unwrap().to_owned();

    // Another agent does not see it, list it or delete it.
    assert!(!w.get(&w.agent_b, "/api/v1/views").await.text().contains(&mine_id));
    assert_eq!(
        w.get(&w.agent_b, &format!("/api/v1/views/{mine_id}/tickets"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = w
        .raw(
            Some(&w.agent_b),
            "DELETE",
            &format!("/api/v1/views/{mine_id}"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The same filters shared by a supervisor with team B: "me" is whoever uses it.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/views",
            json!({"name": "Urgent and mine", "priority": "urgent", "assignee": "me",
                   "share_with_team_id": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let shared = r.json()["id"].as_str().unwrap().to_owned();
    let b_sees = w
        .get(&w.agent_b, &format!("/api/v1/views/{shared}/tickets"))
        .await
        .json();
    let subjects: Vec<&str> = b_sees["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Urgent Bison"]);
    // Team A's agent is not in team B: the view does not exist for them.
    assert_eq!(
        w.get(&w.agent_a, &format!("/api/v1/views/{shared}/tickets"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // An agent may not share a view.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "For all of A", "priority": "high", "share_with_team_id": w.team_a.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A view naming team B finds none of team B's tickets for agent A.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "Peek at B", "team_id": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let peek = r.json();
    assert_eq!(peek["count"], 0);
    let listed = w
        .get(
            &w.agent_a,
            &format!("/api/v1/views/{}/tickets", peek["id"].as_str().unwrap()),
        )
        .await
        .json();
    assert!(listed["items"].as_array().unwrap().is_empty());

    // Deleting one's own view.
    let r = w.form(&w.agent_a, &format!("/views/{mine_id}/delete"), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!w.get(&w.agent_a, "/api/v1/views").await.text().contains(&mine_id));
}
