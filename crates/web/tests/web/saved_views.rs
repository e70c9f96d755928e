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

palisade_testkit::on_both_backends!(
    saved_views_keep_filters_and_show_only_what_the_reader_may_read,
    views_keep_every_filter_and_their_order
);

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

/// Names of the tickets of a page of a view, in its order.
fn subjects(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect()
}

async fn views_keep_every_filter_and_their_order(backend: Backend) {
    let w = World::new(backend).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let open = |requester: &common::Actor, subject: &str, priority: &str| {
        let body = json!({"subject": subject, "body": "x", "requester_id": requester.id.to_string(),
                          "team_id": w.team_a.to_string()});
        let priority = priority.to_owned();
        let w = &w;
        async move {
            let r = w.json(&w.agent_a, "POST", "/api/v1/tickets", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            let id = r.json()["id"].as_str().unwrap().to_owned();
            let r = w
                .json(
                    &w.agent_a,
                    "PATCH",
                    &format!("/api/v1/tickets/{id}"),
                    json!({"priority": priority}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            // Opened in a millisecond of its own, so "oldest" has one answer.
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            id
        }
    };
    let low = open(&w.customer_1, "Sorted low", "low").await;
    let urgent = open(&w.customer_1, "Sorted urgent", "urgent").await;
    let high = open(&w.customer_1, "Sorted high", "high").await;
    open(&w.customer_3, "Sorted elsewhere", "urgent").await;
    for id in [&low, &urgent, &high] {
        let version = w.get(&w.agent_a, &format!("/api/v1/tickets/{id}")).await.json()["version"].clone();
        let r = w
            .json(
                &w.agent_a,
                "PUT",
                &format!("/api/v1/tickets/{id}/fields"),
                json!({"values": {"plan": "Gold"}, "version": version}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        // Each change in a millisecond of its own, so the orders by change are strict.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }

    // One view keeps requester, company, field, both day ranges and the order.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "Gold by priority", "requester_id": w.customer_1.id.to_string(),
                   "company_id": w.sharing_company.to_string(), "field": "plan", "value": "Gold",
                   "created_from": today, "created_to": today, "updated_from": today,
                   "updated_to": today, "sort": "priority"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let view = r.json();
    assert_eq!(view["count"], 3);
    assert_eq!(view["sort"], "priority");
    assert_eq!(view["field"], "plan");
    let id = view["id"].as_str().unwrap();
    // Paged one at a time, the order holds across the cursors.
    let mut seen = Vec::new();
    let mut next = format!("/api/v1/views/{id}/tickets?limit=1");
    for _ in 0..4 {
        let page = w.get(&w.agent_a, &next).await.json();
        seen.extend(subjects(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("/api/v1/views/{id}/tickets?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Sorted urgent", "Sorted high", "Sorted low"]);
    // The page of the view shows the same order.
    let page = w.get(&w.agent_a, &format!("/tickets?saved={id}")).await.text();
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} missing: {page}"));
    assert!(at("Sorted urgent") < at("Sorted high") && at("Sorted high") < at("Sorted low"));
    assert!(!page.contains("Sorted elsewhere"));

    // Oldest first, and a day range that ended yesterday holds nothing.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "Oldest", "sort": "oldest", "field": "plan", "value": "Gold"}),
        )
        .await;
    let oldest = r.json()["id"].as_str().unwrap().to_owned();
    let page = w
        .get(&w.agent_a, &format!("/api/v1/views/{oldest}/tickets"))
        .await
        .json();
    assert_eq!(subjects(&page), ["Sorted low", "Sorted urgent", "Sorted high"]);
    // By the latest change, and by the longest untouched: the fields were set low,
    // urgent, high; then the low one changes again.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{low}"),
            json!({"type": "question"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for (sort, order) in [
        ("updated", ["Sorted low", "Sorted high", "Sorted urgent"]),
        ("stale", ["Sorted urgent", "Sorted high", "Sorted low"]),
    ] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                "/api/v1/views",
                json!({"name": sort, "sort": sort, "field": "plan", "value": "Gold"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        // One at a time, so each cursor is used.
        let mut seen = Vec::new();
        let mut next = format!("/api/v1/views/{id}/tickets?limit=1");
        for _ in 0..4 {
            let page = w.get(&w.agent_a, &next).await.json();
            seen.extend(subjects(&page));
            match page["next_cursor"].as_str() {
                Some(cursor) => next = format!("/api/v1/views/{id}/tickets?limit=1&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, order, "{sort}");
    }
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "Long ago", "created_to": "2001-01-01"}),
        )
        .await;
    assert_eq!(r.json()["count"], 0);

    // The list's form saves every filter it shows, the order too.
    let form = format!(
        "name=From+the+page&requester={}&field=plan&value=Gold&sort=oldest&created_from={today}",
        w.customer_1.id
    );
    let r = w.form(&w.agent_a, "/views", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let views = w.get(&w.agent_a, "/api/v1/views").await.json();
    let saved = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "From the page")
        .unwrap();
    assert_eq!(saved["requester_id"], w.customer_1.id.to_string());
    assert_eq!(
        (saved["sort"].as_str(), saved["count"].as_i64()),
        (Some("oldest"), Some(3))
    );

    // Refused: a field without a value, a day that does not exist, an unknown order,
    // and a personal field's value (it would be kept unsealed).
    for (body, status) in [
        (json!({"name": "x", "field": "plan"}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "x", "created_from": "2026-02-30"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"name": "x", "sort": "random"}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "x", "field": "plan", "value": "Platinum"}),
            StatusCode::CONFLICT,
        ),
    ] {
        let r = w.json(&w.agent_a, "POST", "/api/v1/views", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }
    let personal = json!({"key": "account_ref", "label": "Account", "kind": "text", "personal": true});
    assert_eq!(
        w.json(&w.admin, "POST", "/api/v1/fields", personal).await.status,
        StatusCode::CREATED
    );
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "x", "field": "account_ref", "value": "ACC-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // The list itself may still filter on it: the value is matched by its blind index.
    assert_eq!(
        w.get(&w.agent_a, "/tickets?field=account_ref&value=ACC-1")
            .await
            .status,
        StatusCode::OK
    );
}
