//! Collision detection on SQLite and PostgreSQL: staff on the same ticket see each
//! other (viewing, typing) on the page, through the API and the live stream. Beside it
//! the attacks: a customer, another team's agent and someone moved off the team learn
//! nothing and are not shown.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(staff_on_the_same_ticket_see_each_other_and_nobody_else_does);

async fn staff_on_the_same_ticket_see_each_other_and_nobody_else_does(backend: Backend) {
    let w = World::new(backend).await;
    let page = format!("/tickets/{}", w.ticket_1);
    let api = format!("/api/v1/tickets/{}/presence", w.ticket_1);
    let agent_name = w.store.get_user(&w.agent_a.id).await.unwrap().name;

    // Agent A opens the ticket; the supervisor's page says so.
    assert_eq!(w.get(&w.agent_a, &page).await.status, StatusCode::OK);
    let seen = w.get(&w.supervisor, &page).await.text();
    assert!(
        seen.contains(&format!("Also on this ticket: {agent_name} (viewing)")),
        "{seen}"
    );
    // Agent A types; the supervisor hears it through the API and the stream.
    let r = w.json(&w.agent_a, "POST", &api, json!({"typing": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let others = w
        .json(&w.supervisor, "POST", &api, json!({"typing": false}))
        .await
        .json();
    assert_eq!(others, json!([{"name": agent_name, "typing": true}]));
    let stream = w.get(&w.supervisor, &format!("{api}/stream")).await;
    assert_eq!(stream.status, StatusCode::OK);
    let text = stream.text();
    assert!(
        text.contains("event: present") && text.contains(&agent_name),
        "{text}"
    );

    // A customer neither announces nor sees anyone, and their page has no such line.
    let r = w.json(&w.customer_1, "POST", &api, json!({"typing": true})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.get(&w.customer_1, &format!("{api}/stream")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !w.get(&w.customer_1, &page)
            .await
            .text()
            .contains("id=\"presence\"")
    );
    let others = w
        .json(&w.agent_a, "POST", &api, json!({"typing": false}))
        .await
        .json();
    assert!(
        !others
            .to_string()
            .contains(&w.store.get_user(&w.customer_1.id).await.unwrap().name),
        "a customer's visit is not recorded: {others}"
    );
    // Team B's agent cannot read the ticket: not found, and not shown.
    assert_eq!(
        w.json(&w.agent_b, "POST", &api, json!({"typing": false}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Agent A moves off team A: no longer shown on its ticket.
    let r = w
        .raw(
            Some(&w.admin),
            "DELETE",
            &format!("/api/v1/teams/{}/members/{}", w.team_a, w.agent_a.id),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let others = w
        .json(&w.supervisor, "POST", &api, json!({"typing": false}))
        .await
        .json();
    assert_eq!(
        others,
        json!([]),
        "someone who may no longer read the ticket is not shown"
    );
}
