//! Custom ticket fields on SQLite and PostgreSQL. An administrator defines fields of
//! every kind; an agent fills them in through the API and the ticket page, each value
//! validated for its kind; a required field holds a ticket open; lists filter on a
//! field, a personal one by exact value only. Beside it, the attacks: a supervisor or
//! agent defining fields, a light agent, a customer or another team's agent setting
//! values, a customer reading an internal or personal field or filtering by one, and
//! personal values reaching the audit trail.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    administrators_define_fields_and_agents_fill_them_in,
    fields_hide_from_those_who_may_not_see_them,
    the_pages_define_set_and_filter_fields
);

async fn define(w: &World, body: Value) -> String {
    let r = w.json(&w.admin, "POST", "/api/v1/fields", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Every kind beside the world's `plan`: a personal account reference (required to
/// solve), a renewal date, a seat count and a VIP box.
async fn define_all(w: &World) {
    define(w, json!({"key": "account_ref", "label": "Account reference", "kind": "text", "personal": true, "required": true})).await;
    define(w, json!({"key": "renewal", "label": "Renewal", "kind": "date"})).await;
    define(
        w,
        json!({"key": "seats", "label": "Seats", "kind": "number", "customer_visible": true}),
    )
    .await;
    define(w, json!({"key": "vip", "label": "VIP", "kind": "checkbox"})).await;
}

fn values(fields: &Value) -> Vec<(String, Value)> {
    fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap().to_owned(), f["value"].clone()))
        .collect()
}

async fn administrators_define_fields_and_agents_fill_them_in(backend: Backend) {
    let w = World::new(backend).await;
    define_all(&w).await;
    // Only administrators define fields.
    for who in [&w.supervisor, &w.agent_a] {
        let r = w
            .json(
                who,
                "POST",
                "/api/v1/fields",
                json!({"key": "region", "label": "Region", "kind": "text"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    for (body, status) in [
        (
            json!({"key": "plan", "label": "Plan again", "kind": "text"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"key": "tier", "label": "Tier", "kind": "dropdown"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"key": "tier", "label": "Tier", "kind": "dropdown", "options": ["A"], "personal": true}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"key": "tier", "label": "Tier", "kind": "text", "options": ["A"]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"key": "Tier", "label": "Tier", "kind": "text"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = w.json(&w.admin, "POST", "/api/v1/fields", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }

    let path = format!("/api/v1/tickets/{}/fields", w.ticket_1);
    let before = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json();
    let set = json!({"values": {"plan": "Gold", "account_ref": "ACC-99812", "renewal": "2027-01-31",
                                "seats": "12", "vip": "true"}, "version": before["version"]});
    let r = w.json(&w.agent_a, "PUT", &path, set).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let now = r.json();
    assert_eq!(
        now["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 1
    );
    let got = values(&now);
    for (key, value) in [
        ("plan", "Gold"),
        ("account_ref", "ACC-99812"),
        ("renewal", "2027-01-31"),
        ("seats", "12"),
        ("vip", "true"),
    ] {
        assert!(got.contains(&(key.to_owned(), json!(value))), "{key} in {got:?}");
    }
    // Each value is checked for its kind; one bad value writes none of them.
    for bad in [
        json!({"seats": "12 seats"}),
        json!({"renewal": "2027-02-30"}),
        json!({"plan": "Platinum"}),
        json!({"vip": "yes"}),
        json!({"nope": "x"}),
        json!({"seats": "13", "renewal": "soon"}),
    ] {
        let r = w.json(&w.agent_a, "PUT", &path, json!({"values": bad})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{bad}: {}", r.text());
    }
    let got = values(&w.get(&w.agent_a, &path).await.json());
    assert!(got.contains(&("seats".to_owned(), json!("12"))), "{got:?}");
    // A stale version writes nothing.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &path,
            json!({"values": {"seats": "20"}, "version": before["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["type"], "https://palisade.invalid/problems/stale-ticket");

    // The trail names the fields that changed, never a value.
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    let entry = trail
        .iter()
        .find(|e| e.action == "ticket.fields_changed")
        .expect("audited");
    assert!(entry.detail.contains("account_ref"), "{}", entry.detail);
    assert!(
        !trail.iter().any(|e| e.detail.contains("ACC-99812")),
        "a personal value in the trail"
    );

    // Required to solve: ticket 3 has no account reference yet.
    let t3 = format!("/api/v1/tickets/{}", w.ticket_3);
    let r = w
        .json(&w.supervisor, "PATCH", &t3, json!({"status": "solved"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("Account reference"), "{}", r.text());
    // A "reply and solve" macro applies whole or not at all: no reply goes out to a
    // ticket that then stays open.
    let solve = w
        .json(&w.supervisor, "POST", "/api/v1/macros",
              json!({"name": "Solve", "body": "All sorted now.", "visibility": "public", "share_with": "everyone", "status": "solved"}))
        .await;
    assert_eq!(solve.status, StatusCode::CREATED, "{}", solve.text());
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("{t3}/macros/{}", solve.json()["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let thread = w.get(&w.supervisor, &format!("{t3}/messages")).await.text();
    assert!(!thread.contains("All sorted now."), "{thread}");
    let r = w
        .json(
            &w.supervisor,
            "PUT",
            &format!("{t3}/fields"),
            json!({"values": {"account_ref": "ACC-1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(&w.supervisor, "PATCH", &t3, json!({"status": "solved"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Retired: no longer listed, set or shown; no longer required.
    let fields = w.get(&w.admin, "/api/v1/fields").await.json();
    let id = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "vip")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w
        .raw(
            Some(&w.admin),
            "DELETE",
            &format!("/api/v1/fields/{id}"),
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let got = values(&w.get(&w.agent_a, &path).await.json());
    assert!(!got.iter().any(|(k, _)| k == "vip"), "{got:?}");
    let r = w
        .json(&w.agent_a, "PUT", &path, json!({"values": {"vip": "true"}}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

async fn fields_hide_from_those_who_may_not_see_them(backend: Backend) {
    let w = World::new(backend).await;
    define_all(&w).await;
    let path = format!("/api/v1/tickets/{}/fields", w.ticket_1);
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &path,
            json!({"values": {"plan": "Gold", "account_ref": "ACC-99812", "seats": "3"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The customer sees the fields shown to customers, and nothing else of them.
    let theirs = w.get(&w.customer_1, &path).await;
    assert_eq!(theirs.status, StatusCode::OK);
    let keys: Vec<String> = values(&theirs.json()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec!["plan".to_owned(), "seats".to_owned()]);
    assert!(!theirs.text().contains("ACC-99812"));
    let listed: Vec<String> = w
        .get(&w.customer_1, "/api/v1/fields")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, vec!["plan".to_owned(), "seats".to_owned()]);
    let page = w
        .get(&w.customer_1, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(
        page.contains("Gold") && !page.contains("ACC-99812") && !page.contains("Account reference"),
        "{page}"
    );
    assert!(!page.contains("Save fields"), "customers do not set fields");

    // Nobody but those who change the ticket sets its fields.
    for (who, status) in [
        (&w.customer_1, StatusCode::FORBIDDEN),
        (&w.light_a, StatusCode::FORBIDDEN),
        (&w.agent_b, StatusCode::NOT_FOUND),
        (&w.auditor, StatusCode::NOT_FOUND),
    ] {
        let r = w
            .json(who, "PUT", &path, json!({"values": {"plan": "Silver"}}))
            .await;
        assert_eq!(r.status, status, "{}", r.text());
    }
    assert_eq!(w.get(&w.agent_b, &path).await.status, StatusCode::NOT_FOUND);

    // Filtering: staff by any field (a personal one by exact value, through its blind
    // index); a customer never by a field hidden from them.
    let list = |who, query: &str| {
        let path = format!("/tickets?{query}");
        let w = &w;
        async move { w.get(who, &path).await }
    };
    let number = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json()["number"]
        .as_i64()
        .unwrap();
    let marker = format!("<td>{number}</td>");
    let hit = list(&w.agent_a, "field=account_ref&value=ACC-99812").await.text();
    assert!(hit.contains(&marker), "{hit}");
    let miss = list(&w.agent_a, "field=account_ref&value=ACC-9981").await.text();
    assert!(
        !miss.contains(&marker),
        "a personal field matches whole values only"
    );
    assert!(
        list(&w.agent_a, "field=plan&value=Gold")
            .await
            .text()
            .contains(&marker)
    );
    assert!(
        !list(&w.agent_a, "field=plan&value=Silver")
            .await
            .text()
            .contains(&marker)
    );
    let probe = list(&w.customer_1, "field=account_ref&value=ACC-99812").await;
    assert_eq!(
        probe.status,
        StatusCode::CONFLICT,
        "a customer cannot probe a hidden field"
    );
}

async fn the_pages_define_set_and_filter_fields(backend: Backend) {
    let w = World::new(backend).await;
    let r = w
        .form(
            &w.admin,
            "/admin/fields",
            "label=Renewal&key=renewal&kind=date&required=on",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers["location"], "/admin/fields?done=created");
    let page = w.get(&w.admin, "/admin/fields?done=created").await.text();
    assert!(
        page.contains("Renewal") && page.contains("Field added."),
        "{page}"
    );
    // A drop-down's options are edited one per line.
    let r = w
        .form(
            &w.admin,
            &format!("/admin/fields/{}", w.plan_field),
            "label=Plan&options=Gold%0ASilver%0ABronze&customer_visible=on",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = w
        .form(&w.admin, "/admin/fields", "label=Tier&key=tier&kind=dropdown")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("a drop-down has 1 to 50 options"),
        "{}",
        r.text()
    );
    for who in [&w.supervisor, &w.agent_a] {
        assert_eq!(w.get(who, "/admin/fields").await.status, StatusCode::FORBIDDEN);
    }

    let ticket = format!("/tickets/{}", w.ticket_1);
    let page = w.get(&w.agent_a, &ticket).await.text();
    assert!(
        page.contains("Save fields") && page.contains("<option value=\"Bronze\""),
        "{page}"
    );
    assert!(page.contains("Renewal (required to solve)"));
    let r = w
        .form(
            &w.agent_a,
            &format!("{ticket}/fields"),
            "shown.plan=1&field.plan=Bronze&shown.renewal=1&field.renewal=2027-02-30",
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "an impossible date is refused on the page"
    );
    assert!(r.text().contains("Renewal: a date"), "{}", r.text());
    let r = w
        .form(
            &w.agent_a,
            &format!("{ticket}/fields"),
            "shown.plan=1&field.plan=Bronze&shown.renewal=1&field.renewal=2027-02-28",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let got = values(
        &w.get(&w.agent_a, &format!("/api/v1/tickets/{}/fields", w.ticket_1))
            .await
            .json(),
    );
    assert!(got.contains(&("plan".to_owned(), json!("Bronze"))), "{got:?}");
    assert!(
        got.contains(&("renewal".to_owned(), json!("2027-02-28"))),
        "{got:?}"
    );
    // An empty input clears the value.
    let r = w
        .form(
            &w.agent_a,
            &format!("{ticket}/fields"),
            "shown.plan=1&field.plan=",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let got = values(
        &w.get(&w.agent_a, &format!("/api/v1/tickets/{}/fields", w.ticket_1))
            .await
            .json(),
    );
    assert!(got.contains(&("plan".to_owned(), Value::Null)), "{got:?}");
    let list = w.get(&w.agent_a, "/tickets").await.text();
    assert!(
        list.contains("<select name=\"field\">"),
        "the list filters on fields"
    );
}
