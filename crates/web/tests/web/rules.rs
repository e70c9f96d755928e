//! Triggers and automations end to end, on SQLite and PostgreSQL: an administrator
//! writes a trigger (through the API and the page) that answers, tags and raises new
//! tickets; it runs once, as the automation account, and the run is audited with the
//! rule. An automation closes tickets left pending for three days, once per stay,
//! with an injected clock and two nodes sweeping at once. Beside them the attacks:
//! rules that would retrigger each other forever, a rule reaching beyond its team's
//! rights, a macro or field its team may not use, and everyone but administrators
//! writing rules.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::World;
use palisade_core::{ManualClock, UnixMillis};
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    a_trigger_answers_tags_and_raises_new_tickets_once,
    rules_never_loop_and_never_reach_beyond_their_team,
    an_automation_runs_once_per_stay_across_nodes,
    only_administrators_write_rules_and_rules_are_checked_on_save
);

async fn open_ticket(w: &World, subject: &str) -> String {
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({"subject": subject, "body": "Please help"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn ticket(w: &World, id: &str) -> Value {
    let r = w.get(&w.admin, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn create_rule(w: &World, body: Value) -> String {
    let r = w.json(&w.admin, "POST", "/api/v1/rules", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Events to the subscribers, then the queued runs, until nothing more happens (each
/// round bounded; a chain that never ends fails the test).
async fn settle(w: &World) -> usize {
    let mut made = 0;
    for _ in 0..10 {
        w.dispatch().await;
        let round = w.state.desk().run_rules(common::ORIGIN).await.unwrap();
        if round == 0 {
            return made;
        }
        made += round;
    }
    panic!("rules kept running");
}

async fn runs(w: &World, rule: &str) -> Vec<Value> {
    w.store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "automation.rule_ran" && e.actor == format!("rule:{rule}"))
        .map(|e| {
            let mut detail: Value = serde_json::from_str(&e.detail).unwrap();
            detail["outcome"] = json!(e.outcome);
            detail["ticket"] = json!(e.object);
            detail
        })
        .collect()
}

async fn a_trigger_answers_tags_and_raises_new_tickets_once(backend: Backend) {
    let w = World::new(backend).await;
    let rule = create_rule(
        &w,
        json!({"name": "Welcome", "team_id": w.team_a.to_string(), "event": "ticket_created",
               "conditions": {"statuses": ["new"], "tags_none": ["vip"]},
               "actions": {"reply": "Hello {requester_first_name}, we have ticket #{ticket_number}.",
                           "add_tags": ["Welcomed"], "set_priority": "high", "notify_assignee": true}}),
    )
    .await;
    // High tickets owe a first answer within the hour: the rule's automatic reply is
    // no answer.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "High first", "position": 1, "conditions": {"priorities": ["high"]},
                   "first_response_minutes": 60}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    w.dispatch().await;
    let id = open_ticket(&w, "Card stolen").await;
    assert_eq!(settle(&w).await, 1);
    let targets = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{id}/service-levels"))
        .await
        .json();
    let first = targets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "first_response")
        .unwrap_or_else(|| panic!("{targets}"));
    assert!(first["met_at"].is_null(), "{first}");

    let t = ticket(&w, &id).await;
    assert_eq!(t["priority"], "high");
    assert_eq!(t["tags"], json!(["welcomed"]));
    let messages = w
        .get(&w.admin, &format!("/api/v1/tickets/{id}/messages"))
        .await
        .json();
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let reply = &messages[1];
    let number = t["number"].as_i64().unwrap();
    assert_eq!(reply["visibility"], "public");
    assert!(
        reply["body"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Hello customer, we have ticket #{number}.")),
        "{reply}"
    );
    // Written by the automation account, which can never sign in.
    let automaton = w.state.desk().automaton().await.unwrap();
    assert_eq!(reply["author_id"], automaton.to_string());
    assert!(w.store.get_user(&automaton).await.unwrap().disabled);
    // Its changes are audited as the rule's, and the run names the rule and the event.
    let ran = runs(&w, &rule).await;
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0]["outcome"], "success");
    assert_eq!(ran[0]["ticket"], id.as_str());
    assert_eq!(
        ran[0]["done"],
        json!(["replied", "updated", "tagged", "notified"])
    );
    let changed_by_rule = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == format!("rule:{rule}") && e.object == id)
        .map(|e| e.action)
        .collect::<Vec<_>>();
    for action in ["ticket.message_added", "ticket.updated", "ticket.tags_changed"] {
        assert!(
            changed_by_rule.iter().any(|a| a == action),
            "{action}: {changed_by_rule:?}"
        );
    }
    // Its own reply and changes set nothing off again; nor does anything later.
    assert_eq!(settle(&w).await, 0);
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "On it", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(settle(&w).await, 0);
    assert_eq!(runs(&w, &rule).await.len(), 1);

    // A ticket the conditions exclude is looked at, and left alone.
    let vip = open_ticket(&w, "Private banking").await;
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("/api/v1/tickets/{vip}/tags"),
            json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(settle(&w).await, 1);
    assert_eq!(ticket(&w, &vip).await["priority"], "normal");
    let ran = runs(&w, &rule).await;
    assert_eq!(ran[1]["skipped"], "conditions");

    // A disabled rule queues nothing; the page shows the rule and its audit is there.
    let r = w
        .json(
            &w.admin,
            "PUT",
            &format!("/api/v1/rules/{rule}"),
            json!({"name": "Welcome", "team_id": w.team_a.to_string(), "event": "ticket_created",
                   "enabled": false, "actions": {"add_tags": ["welcomed"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["enabled"], false);
    open_ticket(&w, "Quiet").await;
    assert_eq!(settle(&w).await, 0);
    let page = w.get(&w.admin, "/admin/rules").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("Welcome") && page.text().contains("Tag urgent"),
        "{}",
        page.text()
    );
}

async fn rules_never_loop_and_never_reach_beyond_their_team(backend: Backend) {
    let w = World::new(backend).await;
    // Two rules that undo each other: pending → open → pending → …
    let reopen = create_rule(
        &w,
        json!({"name": "Reopen", "team_id": w.team_a.to_string(), "event": "status_changed",
               "conditions": {"statuses": ["pending"]}, "actions": {"set_status": "open"}}),
    )
    .await;
    let park = create_rule(
        &w,
        json!({"name": "Park", "team_id": w.team_a.to_string(), "event": "status_changed",
               "conditions": {"statuses": ["open"]}, "actions": {"set_status": "pending"}}),
    )
    .await;
    // And one that retriggers itself through its own change.
    let again = create_rule(
        &w,
        json!({"name": "Again", "team_id": w.team_a.to_string(), "event": "status_changed",
               "actions": {"add_tags": ["seen"], "set_priority": "urgent"}}),
    )
    .await;
    let id = open_ticket(&w, "Loop").await;
    settle(&w).await;
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Settles (the helper fails a chain that does not end): Reopen runs on the agent's
    // change, Park on Reopen's, and neither again on a chain it is already in.
    settle(&w).await;
    assert_eq!(
        runs(&w, &reopen)
            .await
            .iter()
            .filter(|r| r["outcome"] == "success")
            .count(),
        1
    );
    let parked: Vec<Value> = runs(&w, &park).await;
    assert!(
        parked.iter().filter(|r| r.get("done").is_some()).count() <= 1,
        "{parked:?}"
    );
    let again_runs = runs(&w, &again).await;
    assert!(again_runs.len() <= 3, "{again_runs:?}");
    assert_eq!(ticket(&w, &id).await["status"], "pending");

    // A rule of team A that would hand tickets to team B: its team may not, so the run
    // is refused, audited, and the ticket stays.
    for rule in [&reopen, &park, &again] {
        let r = w
            .json(&w.admin, "DELETE", &format!("/api/v1/rules/{rule}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    // A rule has no way to hand tickets to another team (its team's rights route into
    // none): asking for one is a malformed rule.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/rules",
            json!({"name": "Mover", "team_id": w.team_a.to_string(), "event": "ticket_created",
                   "actions": {"move_to_team_id": w.team_b.to_string()}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A macro shared with the rule's team, later given to another team only: the run
    // no longer reaches it, fails with its failure audited, and the ticket is untouched.
    let hello = json!({"name": "Team A hello", "body": "Hello", "visibility": "public",
                       "share_with": w.team_a.to_string()});
    let r = w.json(&w.supervisor, "POST", "/api/v1/macros", hello).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let hello = r.json()["id"].as_str().unwrap().to_owned();
    let greeter = create_rule(
        &w,
        json!({"name": "Greeter", "team_id": w.team_a.to_string(), "event": "ticket_created",
               "actions": {"macro_id": hello}}),
    )
    .await;
    let r = w
        .json(
            &w.supervisor,
            "PUT",
            &format!("/api/v1/macros/{hello}"),
            json!({"name": "Team A hello", "body": "Hello", "visibility": "public",
                   "share_with": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let greeted = open_ticket(&w, "Hello?").await;
    assert_eq!(settle(&w).await, 1);
    let messages = w
        .get(&w.admin, &format!("/api/v1/tickets/{greeted}/messages"))
        .await
        .json();
    assert_eq!(messages.as_array().unwrap().len(), 1, "nothing was sent");
    let ran = runs(&w, &greeter).await;
    assert_eq!(ran[0]["outcome"], "failure", "{ran:?}");
    let r = w
        .json(&w.admin, "DELETE", &format!("/api/v1/rules/{greeter}"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // A rule of team B never touches team A's tickets.
    let other = create_rule(
        &w,
        json!({"name": "Team B only", "team_id": w.team_b.to_string(), "event": "ticket_created",
               "actions": {"add_tags": ["b"]}}),
    )
    .await;
    let a_ticket = open_ticket(&w, "Mine").await;
    settle(&w).await;
    assert_eq!(ticket(&w, &a_ticket).await["tags"], json!([]));
    assert!(runs(&w, &other).await.is_empty());
}

async fn an_automation_runs_once_per_stay_across_nodes(backend: Backend) {
    let clock = ManualClock::at(UnixMillis::now());
    let w = World::new(backend)
        .await
        .with_config(|c| c.clock = Arc::new(clock.clone()));
    let rule = create_rule(
        &w,
        json!({"name": "Close abandoned", "team_id": w.team_a.to_string(),
               "wait_state": "pending", "wait_minutes": 4320,
               "actions": {"set_status": "solved", "add_tags": ["abandoned"],
                           "reply": "We have not heard back, so we closed ticket #{ticket_number}."}}),
    )
    .await;
    let id = open_ticket(&w, "Waiting on you").await;
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    settle(&w).await;
    let desk = w.state.desk();
    assert_eq!(desk.sweep_automations().await.unwrap(), 0, "not yet");
    clock.advance_secs(3 * 24 * 3600 - 120);
    assert_eq!(desk.sweep_automations().await.unwrap(), 0, "two minutes short");
    clock.advance_secs(180);
    // Two nodes sweeping at once queue one run.
    let other_node = w.state.desk().clone();
    let (a, b) = tokio::join!(desk.sweep_automations(), other_node.sweep_automations());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let (a, b) = tokio::join!(
        desk.run_rules(common::ORIGIN),
        other_node.run_rules(common::ORIGIN)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let t = ticket(&w, &id).await;
    assert_eq!(t["status"], "solved");
    assert_eq!(t["tags"], json!(["abandoned"]));
    assert_eq!(desk.sweep_automations().await.unwrap(), 0, "once per stay");
    settle(&w).await;

    // Set pending again: a new stay, a new run — but only three days after the new
    // stay began. (The store stamps events with the real time, so the injected clock
    // goes back to it first: a clock jumping back neither repeats nor brings forward
    // a run.)
    clock.set(UnixMillis::now());
    assert_eq!(desk.sweep_automations().await.unwrap(), 0);
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    settle(&w).await;
    assert_eq!(desk.sweep_automations().await.unwrap(), 0);
    clock.advance_secs(3 * 24 * 3600 + 60);
    // A ticket that leaves the state before its run is made is left alone.
    assert_eq!(desk.sweep_automations().await.unwrap(), 1);
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    settle(&w).await;
    assert_eq!(ticket(&w, &id).await["status"], "open");
    let ran = runs(&w, &rule).await;
    assert_eq!(ran.len(), 2);
    assert_eq!(ran[1]["skipped"], "state_left");
}

async fn only_administrators_write_rules_and_rules_are_checked_on_save(backend: Backend) {
    let w = World::new(backend).await;
    let body = json!({"name": "Sneaky", "team_id": w.team_a.to_string(), "event": "ticket_created",
                      "actions": {"set_status": "closed"}});
    for who in [&w.supervisor, &w.agent_a, &w.light_a, &w.auditor, &w.customer_1] {
        let r = w.json(who, "POST", "/api/v1/rules", body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w.get(who, "/api/v1/rules").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w
            .form(
                who,
                "/admin/rules",
                &format!(
                    "name=Sneaky&team={}&kind=trigger&event=ticket_created&a.status=closed",
                    w.team_a
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w
            .json(who, "DELETE", &format!("/api/v1/rules/{}", w.rule), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    assert_eq!(w.store.rules().await.unwrap().len(), 1, "only the fixture's");

    // A macro shared with team B only is not team A's to use; a personal field's
    // value never sits in a rule; a rule does something, at one time.
    let team_b_macro = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/macros",
            json!({"name": "B only", "body": "Hi", "visibility": "public",
                   "share_with": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(
        team_b_macro.status,
        StatusCode::CREATED,
        "{}",
        team_b_macro.text()
    );
    let team_b_macro = team_b_macro.json()["id"].as_str().unwrap().to_owned();
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/fields",
            json!({"key": "iban", "label": "IBAN", "kind": "text", "personal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let team_a = w.team_a.to_string();
    for (rule, status) in [
        (
            json!({"name": "M", "team_id": team_a, "event": "ticket_created",
                   "actions": {"macro_id": team_b_macro}}),
            409,
        ),
        (
            json!({"name": "M", "team_id": team_a, "event": "ticket_created",
                   "actions": {"macro_id": w.shared_macro}}),
            201,
        ),
        (
            json!({"name": "F", "team_id": team_a, "event": "ticket_created",
                   "conditions": {"field": "iban", "field_value": "DE89"}, "actions": {"add_tags": ["x"]}}),
            409,
        ),
        (
            json!({"name": "F", "team_id": team_a, "event": "ticket_created",
                   "actions": {"field": "iban", "field_value": "DE89"}}),
            409,
        ),
        (
            json!({"name": "N", "team_id": team_a, "event": "ticket_created", "actions": {}}),
            409,
        ),
        (
            json!({"name": "W", "team_id": team_a, "event": "ticket_created", "wait_state": "pending",
                   "wait_minutes": 5, "actions": {"add_tags": ["x"]}}),
            409,
        ),
        (
            json!({"name": "W", "team_id": team_a, "actions": {"add_tags": ["x"]}}),
            409,
        ),
        (
            json!({"name": "T", "team_id": team_a, "event": "ticket_created",
                   "actions": {"add_tags": ["Same"], "remove_tags": ["same"]}}),
            409,
        ),
        (
            json!({"name": "A", "team_id": team_a, "event": "ticket_created",
                   "actions": {"assign_to": w.agent_b.id.to_string()}}),
            409,
        ),
        (
            json!({"name": "R", "team_id": team_a, "event": "ticket_created",
                   "actions": {"reply": "Dear {requester.email}"}}),
            400,
        ),
        (
            json!({"name": "Tag urgent", "team_id": team_a, "event": "ticket_created",
                   "actions": {"add_tags": ["x"]}}),
            409,
        ),
        (
            json!({"name": "E", "team_id": team_a, "event": "ticket_deleted", "actions": {"add_tags": ["x"]}}),
            400,
        ),
    ] {
        let r = w.json(&w.admin, "POST", "/api/v1/rules", rule.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{rule}: {}", r.text());
    }
    assert_eq!(w.store.rules().await.unwrap().len(), 2);

    // The page: an automation created from the form, refused input shown with why.
    let r = w
        .form(
            &w.admin,
            "/admin/rules",
            &format!(
                "name=Chase&team={}&kind=automation&event=ticket_created&wait_state=unassigned&wait_minutes=30&enabled=on&a.notify_supervisors=on&c.priority=urgent",
                w.team_a
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let chase = w
        .store
        .rules()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Chase")
        .unwrap();
    assert_eq!(chase.kind, "automation");
    let edit = w.get(&w.admin, &format!("/admin/rules/{}", chase.id)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.text().contains("value=\"Chase\""), "{}", edit.text());
    let r = w
        .form(
            &w.admin,
            "/admin/rules",
            &format!("name=Nothing&team={}&kind=trigger&event=ticket_created", w.team_a),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("a rule does something"), "{}", r.text());
    assert!(
        r.text().contains("value=\"Nothing\""),
        "the form keeps what was typed"
    );
    let r = w
        .form(&w.admin, &format!("/admin/rules/{}/delete", chase.id), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!w.store.rules().await.unwrap().iter().any(|r| r.name == "Chase"));
    let audit: Vec<String> = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(audit.iter().any(|a| a == "automation.rule_saved"));
    assert!(audit.iter().any(|a| a == "automation.rule_deleted"));
}
