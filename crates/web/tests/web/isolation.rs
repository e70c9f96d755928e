//! Cross-tenant attacks: customers and agents reaching tickets, notes and files that
//! are not theirs, through every path (direct reads, lists, search, attachments,
//! writes), each beside the genuine case. Refusals must look exactly like absence.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    other_customer_cannot_reach_a_ticket_through_any_path,
    refused_and_missing_tickets_are_indistinguishable,
    colleague_sees_shared_company_tickets_only_when_the_company_shares,
    agent_never_reaches_another_teams_ticket,
    internal_notes_never_reach_a_customer,
    light_agent_reads_and_notes_but_never_replies_publicly,
    ticket_numbers_are_not_references,
    customer_cannot_open_a_ticket_for_someone_else,
);

async fn other_customer_cannot_reach_a_ticket_through_any_path(backend: Backend) {
    let w = World::new(backend).await;
    let (owner, stranger) = (&w.customer_1, &w.customer_3);
    let t = &w.ticket_1;
    // Genuine case: the requester reaches everything.
    assert_eq!(
        w.get(owner, &format!("/api/v1/tickets/{t}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        w.get(owner, &format!("/api/v1/attachments/{}", w.public_attachment))
            .await
            .status,
        StatusCode::OK
    );
    // Attack: every read and write path answers 404.
    for path in [
        format!("/api/v1/tickets/{t}"),
        format!("/api/v1/tickets/{t}/messages"),
        format!("/api/v1/tickets/{t}/attachments"),
        format!("/api/v1/attachments/{}", w.public_attachment),
        format!("/tickets/{t}"),
    ] {
        assert_eq!(
            w.get(stranger, &path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let before = w.count("messages").await;
    let r = w
        .json(
            stranger,
            "POST",
            &format!("/api/v1/tickets/{t}/messages"),
            json!({"body": "I am in", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w
        .form(
            stranger,
            &format!("/tickets/{t}/messages"),
            "body=hi&visibility=public",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w
        .raw(
            Some(stranger),
            "POST",
            &format!("/api/v1/tickets/{t}/attachments?filename=x.txt"),
            "x".into(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.count("messages").await,
        before,
        "a refused write changed nothing"
    );
    // Lists, counts and search never include it.
    let list = w.get(stranger, "/api/v1/tickets").await.json();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.ticket_3.as_str()]);
    let hits = w.get(stranger, "/api/v1/tickets/search?q=refund").await.json();
    assert!(
        hits["items"].as_array().unwrap().is_empty(),
        "search leaked another customer's ticket"
    );
    let own_hits = w.get(owner, "/api/v1/tickets/search?q=refund").await.json();
    assert_eq!(own_hits["items"][0]["id"], json!(t));
    let page = w.get(stranger, "/tickets").await.text();
    assert!(!page.contains("Refund for order 1234"));
}

async fn refused_and_missing_tickets_are_indistinguishable(backend: Backend) {
    let w = World::new(backend).await;
    let refused = w
        .get(&w.customer_3, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await;
    let missing = w
        .get(&w.customer_3, "/api/v1/tickets/tkt_AAAAAAAAAAAAAAAAAAAAAA")
        .await;
    let malformed = w.get(&w.customer_3, "/api/v1/tickets/1001").await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!((refused.status, &refused.body), (missing.status, &missing.body));
    assert_eq!(
        (refused.status, &refused.body),
        (malformed.status, &malformed.body)
    );
    let refused_file = w
        .get(
            &w.customer_3,
            &format!("/api/v1/attachments/{}", w.public_attachment),
        )
        .await;
    let missing_file = w
        .get(&w.customer_3, "/api/v1/attachments/att_AAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(
        (refused_file.status, &refused_file.body),
        (missing_file.status, &missing_file.body)
    );
    // Both were audited: a denial and a miss each leave an entry.
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let denials = entries.iter().filter(|e| e.action == "access.denied").count();
    assert!(denials >= 4, "denials and misses are audited (found {denials})");
}

async fn colleague_sees_shared_company_tickets_only_when_the_company_shares(backend: Backend) {
    let w = World::new(backend).await;
    // customer_2 shares a company with customer_1, and that company shares tickets.
    let r = w
        .get(&w.customer_2, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = w.get(&w.customer_2, "/api/v1/tickets").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // customer_4 is customer_3's colleague in a company that does not share.
    let r = w
        .get(&w.customer_4, &format!("/api/v1/tickets/{}", w.ticket_3))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        w.get(&w.customer_4, "/api/v1/tickets").await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn agent_never_reaches_another_teams_ticket(backend: Backend) {
    let w = World::new(backend).await;
    assert_eq!(
        w.get(&w.agent_b, &format!("/api/v1/tickets/{}", w.ticket_3))
            .await
            .status,
        StatusCode::OK
    );
    for path in [
        format!("/api/v1/tickets/{}", w.ticket_1),
        format!("/api/v1/tickets/{}/messages", w.ticket_1),
    ] {
        assert_eq!(
            w.get(&w.agent_b, &path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = w
        .json(
            &w.agent_b,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = w.get(&w.agent_b, "/api/v1/tickets").await.json();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.ticket_3.as_str()]);
    assert!(
        w.get(&w.agent_b, "/api/v1/tickets/search?q=secretword")
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // An agent cannot pull a ticket into their team by assigning it to themselves.
    let r = w
        .json(
            &w.agent_b,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"assignee_id": w.agent_b.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nor can a team-A agent assign a team-A ticket to a team-B agent.
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"assignee_id": w.agent_b.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({"assignee_id": w.agent_a.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn internal_notes_never_reach_a_customer(backend: Backend) {
    let w = World::new(backend).await;
    let t = &w.ticket_1;
    let staff_view = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{t}/messages"))
        .await
        .json();
    assert!(
        staff_view.to_string().contains("secretword"),
        "genuine case: staff see the note"
    );
    for customer in [&w.customer_1, &w.customer_2] {
        let messages = w.get(customer, &format!("/api/v1/tickets/{t}/messages")).await;
        assert_eq!(messages.status, StatusCode::OK);
        assert!(!messages.text().contains("secretword"));
        assert!(
            messages
                .json()
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["visibility"] == "public")
        );
        let page = w.get(customer, &format!("/tickets/{t}")).await.text();
        assert!(
            page.contains("We are on it") && !page.contains("secretword"),
            "UI page leaked a note"
        );
        let files = w
            .get(customer, &format!("/api/v1/tickets/{t}/attachments"))
            .await
            .json();
        let mut listed: Vec<&str> = files
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        listed.sort_unstable();
        let mut public = vec![w.public_attachment.as_str(), w.public_image.as_str()];
        public.sort_unstable();
        assert_eq!(listed, public, "internal attachment listed to a customer");
        let r = w
            .get(
                customer,
                &format!("/api/v1/attachments/{}", w.internal_attachment),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let hits = w
            .get(customer, "/api/v1/tickets/search?q=secretword")
            .await
            .json();
        assert!(
            hits["items"].as_array().unwrap().is_empty(),
            "search matched words of an internal note"
        );
    }
    // A customer cannot write an internal note either, nor attach an internal file.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            &format!("/api/v1/tickets/{t}/messages"),
            json!({"body": "x", "visibility": "internal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .raw(
            Some(&w.customer_1),
            "POST",
            &format!("/api/v1/tickets/{t}/attachments?filename=n.txt&visibility=internal"),
            "x".into(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        w.get(&w.agent_a, "/api/v1/tickets/search?q=secretword")
            .await
            .json()["items"][0]["id"]
            == json!(t)
    );
}

async fn light_agent_reads_and_notes_but_never_replies_publicly(backend: Backend) {
    let w = World::new(backend).await;
    let t = &w.ticket_1;
    let path = format!("/api/v1/tickets/{t}/messages");
    assert!(w.get(&w.light_a, &path).await.text().contains("secretword"));
    let r = w
        .json(
            &w.light_a,
            "POST",
            &path,
            json!({"body": "note", "visibility": "internal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = w
        .json(
            &w.light_a,
            "POST",
            &path,
            json!({"body": "to the customer", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .json(
            &w.light_a,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn ticket_numbers_are_not_references(backend: Backend) {
    let w = World::new(backend).await;
    let t1 = w
        .get(&w.customer_1, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json();
    let number = t1["number"].as_i64().unwrap();
    assert!(
        w.ticket_1.starts_with("tkt_") && w.ticket_1.len() == 26,
        "random 128-bit ids"
    );
    assert!(!w.ticket_1.contains(&number.to_string()));
    for guess in [
        number.to_string(),
        (number + 1).to_string(),
        format!("tkt_{number}"),
    ] {
        assert_eq!(
            w.get(&w.admin, &format!("/api/v1/tickets/{guess}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

async fn customer_cannot_open_a_ticket_for_someone_else(backend: Backend) {
    let w = World::new(backend).await;
    let before = w.count("tickets").await;
    let body =
        json!({"subject": "Hi", "body": "on your behalf", "requester_id": w.customer_3.id.to_string()});
    let r = w.json(&w.customer_1, "POST", "/api/v1/tickets", body).await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::FORBIDDEN,
        "{}",
        r.status
    );
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Hi", "body": "x", "team_id": w.team_b.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(w.count("tickets").await, before);
}

palisade_testkit::on_both_backends!(customer_profiles_are_changed_only_by_directory_staff_and_stay_encrypted);

async fn customer_profiles_are_changed_only_by_directory_staff_and_stay_encrypted(backend: Backend) {
    let w = World::new(backend).await;
    let path = format!("/api/v1/customers/{}", w.customer_1.id);
    let body = json!({"name": "Carla Renamed", "phone": "+44 20 7946 0000", "company_id": null});
    // The customer themself, an agent, and another customer may not.
    for who in [&w.customer_1, &w.agent_a] {
        assert_eq!(
            w.json(who, "PATCH", &path, body.clone()).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        w.json(&w.customer_3, "PATCH", &path, body.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    let r = w.json(&w.supervisor, "PATCH", &path, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "Carla Renamed");
    assert_eq!(r.json()["company_id"], serde_json::Value::Null);
    // Tickets keep the company they were opened under: moving the person does not move
    // their history, so the colleague still sees the earlier ticket.
    assert_eq!(
        w.get(&w.customer_2, &format!("/api/v1/tickets/{}", w.ticket_1))
            .await
            .status,
        StatusCode::OK
    );
    let dump = w.db.raw_dump().await.unwrap();
    assert!(
        !dump.windows(13).any(|x| x == b"Carla Renamed"),
        "updated name stored in clear"
    );
}

palisade_testkit::on_both_backends!(
    an_agent_cannot_place_a_customer_in_a_company_to_read_its_shared_tickets,
    a_customer_moved_between_companies_takes_no_tickets_along
);

/// The attack: an agent creates a customer inside a company that shares tickets, at an
/// address the agent controls, then signs in as that customer to read the company's
/// tickets of other teams. Placing someone in a company is a supervisor's decision, at
/// creation as when moving them.
async fn an_agent_cannot_place_a_customer_in_a_company_to_read_its_shared_tickets(backend: Backend) {
    let w = World::new(backend).await;
    let users_before = w.count("users").await;
    let planted = json!({
        "email": "mallory@agent-controlled.test",
        "name": "Not Mallory",
        "company_id": w.sharing_company.to_string(),
    });
    let r = w
        .json(&w.agent_a, "POST", "/api/v1/customers", planted.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(w.count("users").await, users_before, "nothing was created");
    let audit = w.store.audit_entries(0, 100_000).await.unwrap();
    assert!(
        audit.iter().any(|e| e.actor == w.agent_a.id.to_string()
            && e.outcome == "denied"
            && e.detail.contains("company.add_member")),
        "the refusal is audited"
    );
    // The same agent may create the customer without a company...
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/customers",
            json!({"email": "walk-in@example.test", "name": "Walk In"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json()["user"]["id"].as_str().unwrap().to_owned();
    // ...but not move them into one afterwards.
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/customers/{created}"),
            json!({"company_id": w.sharing_company.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A supervisor may do both.
    let r = w.json(&w.supervisor, "POST", "/api/v1/customers", planted).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["user"]["company_id"], w.sharing_company.to_string());
}

/// A ticket belongs to the company its requester was in when it was opened. Moving a
/// customer to another company gives them that company's shared tickets (which is why
/// placing people is a supervisor's decision) and takes none of their own history
/// along: the new colleagues do not see it, the old company keeps it.
async fn a_customer_moved_between_companies_takes_no_tickets_along(backend: Backend) {
    let w = World::new(backend).await;
    // customer_3 (private company, requester of ticket_3) joins the sharing company.
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/customers/{}", w.customer_3.id),
            json!({"company_id": w.sharing_company.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ticket_3 = format!("/api/v1/tickets/{}", w.ticket_3);
    let ticket_1 = format!("/api/v1/tickets/{}", w.ticket_1);
    assert_eq!(
        w.get(&w.customer_3, &ticket_3).await.status,
        StatusCode::OK,
        "own ticket"
    );
    assert_eq!(
        w.get(&w.customer_2, &ticket_3).await.status,
        StatusCode::NOT_FOUND,
        "the new colleagues do not get the history opened under the old company"
    );
    assert_eq!(
        w.get(&w.customer_3, &ticket_1).await.status,
        StatusCode::OK,
        "a member of a sharing company sees its shared tickets"
    );
    let listed = w.get(&w.customer_2, "/api/v1/tickets").await.json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != w.ticket_3.as_str()),
        "nor through the list"
    );
    // A ticket opened after the move belongs to the new company.
    let r = w
        .json(
            &w.customer_3,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "After the move", "body": "Hello from my new company"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let new_ticket = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        w.get(&w.customer_2, &format!("/api/v1/tickets/{new_ticket}"))
            .await
            .status,
        StatusCode::OK
    );
}
