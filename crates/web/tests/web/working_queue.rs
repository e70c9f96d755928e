//! The working queue on SQLite and PostgreSQL: the built-in views and their counts, the
//! filters and the search box, for staff and customers. Beside the genuine use the
//! attacks: a filter naming another team finds none of its tickets, a view's count
//! never counts what the reader may not read, and a customer searching for a word
//! that is only in an internal note finds nothing.

use crate::common;

use axum::http::StatusCode;
use common::{Actor, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    the_queue_shows_each_reader_only_what_they_may_read,
    the_list_filters_by_requester_company_and_opening_day
);

async fn open(w: &World, who: &Actor, subject: &str, team: &palisade_core::TeamId) -> String {
    let r = w
        .json(
            who,
            "POST",
            "/api/v1/tickets",
            json!({"subject": subject, "body": "details", "requester_id": w.customer_1.id.to_string(),
                   "team_id": team.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// The number a view shows in the sidebar.
fn count_in(page: &str, slug: &str) -> i64 {
    let at = page
        .find(&format!("/tickets?view={slug}\""))
        .unwrap_or_else(|| panic!("no {slug} view"));
    let rest = &page[at..];
    let start = rest.find("class=\"count\">").unwrap() + "class=\"count\">".len();
    rest[start..start + rest[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}

async fn the_queue_shows_each_reader_only_what_they_may_read(backend: Backend) {
    let w = World::new(backend).await;
    let refund = open(&w, &w.agent_a, "Refund for order Quokka", &w.team_a).await;
    let urgent = open(&w, &w.agent_a, "Card stolen Wombat", &w.team_a).await;
    let other_team = open(&w, &w.agent_b, "Secret of team B Platypus", &w.team_b).await;
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{urgent}"),
            json!({"priority": "urgent", "assignee_id": w.agent_a.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Agent A's views: the urgent ticket is theirs, the refund unassigned in their team.
    let mine = w.get(&w.agent_a, "/tickets?view=mine").await;
    assert_eq!(mine.status, StatusCode::OK);
    let mine = mine.text();
    assert!(mine.contains("Card stolen Wombat") && !mine.contains("Refund for order Quokka"));
    assert_eq!(count_in(&mine, "mine"), 1);
    assert!(mine.contains("urgent"), "the priority column");
    let unassigned = w.get(&w.agent_a, "/tickets?view=unassigned").await.text();
    assert!(unassigned.contains("Refund for order Quokka"));
    assert!(!unassigned.contains("Card stolen Wombat"));
    // Team B's ticket is in no view, list, count or filter of agent A's.
    let team_open = count_in(&unassigned, "team-open");
    for path in [
        "/tickets".to_owned(),
        "/tickets?view=team-open".to_owned(),
        format!("/tickets?team={}", w.team_b),
        format!("/tickets?team={}&view=unassigned", w.team_b),
        "/tickets?q=Platypus".to_owned(),
    ] {
        let page = w.get(&w.agent_a, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.text().contains("Secret of team B"),
            "{path} shows team B's ticket"
        );
    }
    let b_sees = w.get(&w.agent_b, "/tickets?view=team-open").await.text();
    assert!(b_sees.contains("Platypus") && !b_sees.contains("Quokka"));
    let all = w.get(&w.supervisor, "/api/v1/tickets?limit=100").await.json();
    let unsolved = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| ["new", "open", "pending"].contains(&t["status"].as_str().unwrap()))
        .count() as i64;
    let page = w.get(&w.supervisor, "/tickets?view=team-open").await.text();
    let supervisor_count = count_in(&page, "team-open");
    assert_eq!(
        supervisor_count, unsolved,
        "a supervisor in no team counts every team's open tickets"
    );
    assert!(
        supervisor_count > team_open,
        "…including team B's, which agent A's count leaves out"
    );

    // Filters: priority, assignee.
    let page = w.get(&w.agent_a, "/tickets?priority=urgent").await.text();
    assert!(page.contains("Wombat") && !page.contains("Quokka"));
    let page = w
        .get(&w.agent_a, "/tickets?assignee=nobody&status=new")
        .await
        .text();
    assert!(page.contains("Quokka") && !page.contains("Wombat"));
    assert_eq!(
        w.get(&w.agent_a, "/tickets?view=everything").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        w.get(&w.agent_a, "/tickets?priority=critical").await.status,
        StatusCode::BAD_REQUEST
    );

    // The search box: a word of an internal note finds the ticket for staff only.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{refund}/messages"),
            json!({"body": "customer flagged Zeppelinword by fraud team", "visibility": "internal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let staff = w.get(&w.agent_a, "/tickets?q=zeppelinword").await.text();
    assert!(staff.contains("Refund for order Quokka"), "staff find it");
    let customer = w.get(&w.customer_1, "/tickets?q=zeppelinword").await;
    assert_eq!(customer.status, StatusCode::OK);
    assert!(
        !customer.text().contains("Quokka"),
        "a customer must not find internal words"
    );
    let customer = w.get(&w.customer_1, "/tickets?q=quokka").await.text();
    assert!(
        customer.contains("Refund for order Quokka"),
        "their own ticket by its subject"
    );
    // Customers get no views, counts or internal columns.
    let portal = w.get(&w.customer_1, "/tickets").await.text();
    assert!(!portal.contains("view=mine") && !portal.contains("Priority"));
    // Nor can they order their tickets by a priority they do not see.
    let r = w.get(&w.customer_1, "/tickets?sort=priority").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        w.get(&w.customer_1, "/tickets?sort=oldest").await.status,
        StatusCode::OK
    );
    // Nor filter by what only staff see: each would tell them which of their tickets
    // carries an internal tag or priority.
    for filter in [
        "tag=billing",
        "priority=urgent",
        "type=incident",
        "assignee=nobody",
        "team=x",
    ] {
        let r = w.get(&w.customer_1, &format!("/tickets?{filter}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{filter}");
    }
    let _ = other_team;
}

async fn the_list_filters_by_requester_company_and_opening_day(backend: Backend) {
    let w = World::new(backend).await;
    let colleague = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Colleague's question", "body": "details", "requester_id": w.customer_2.id.to_string(),
                   "team_id": w.team_a.to_string()}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = |query: String| {
        let w = &w;
        async move {
            let r = w.get(&w.agent_a, &format!("/tickets?{query}")).await;
            assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
            r.text()
        }
    };
    let shows = |page: &str, id: &str| page.contains(&format!("/tickets/{id}\""));

    let theirs = list(format!("requester={}", w.customer_1.id)).await;
    assert!(shows(&theirs, &w.ticket_1) && !shows(&theirs, &colleague));
    assert!(theirs.contains("Only tickets requested by"), "{theirs}");
    let customer_page = w
        .get(&w.agent_a, &format!("/customers/{}", w.customer_1.id))
        .await
        .text();
    assert!(customer_page.contains(&format!("/tickets?requester={}", w.customer_1.id)));

    let sharing = list(format!("company={}", w.sharing_company)).await;
    assert!(shows(&sharing, &w.ticket_1) && shows(&sharing, &colleague));
    let private = list(format!("company={}", w.private_company)).await;
    assert!(!shows(&private, &w.ticket_1) && !shows(&private, &colleague));

    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let tomorrow = today.next_day().unwrap();
    let yesterday = today.previous_day().unwrap();
    let opened_today = list(format!("created_from={}&created_to={}", day(today), day(today))).await;
    assert!(shows(&opened_today, &w.ticket_1) && shows(&opened_today, &colleague));
    assert!(!shows(
        &list(format!("created_from={}", day(tomorrow))).await,
        &w.ticket_1
    ));
    assert!(!shows(
        &list(format!("created_to={}", day(yesterday))).await,
        &w.ticket_1
    ));
    let r = w.get(&w.agent_a, "/tickets?created_from=2026-02-30").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The filters narrow the reader's tickets, never widen them: team B's ticket is not
    // agent A's whatever the requester.
    let third = list(format!("requester={}", w.customer_3.id)).await;
    assert!(!shows(&third, &w.ticket_3));
}
