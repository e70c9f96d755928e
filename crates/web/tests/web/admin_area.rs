//! The administration pages for staff and teams, on SQLite and PostgreSQL: an
//! administrator changes a team's settings, moves an agent in and out of a team (who
//! then reads its tickets, then no longer does), invites someone and disables them —
//! each change audited. Beside it the attacks: a supervisor changing a team's
//! settings, an agent inviting themselves an administrator, an administrator
//! disabling their own account, an unknown account, and an agent creating a company.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_store::UserKind;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(administrators_manage_teams_and_staff_from_the_pages);

async fn actions(w: &World) -> Vec<String> {
    w.store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn administrators_manage_teams_and_staff_from_the_pages(backend: Backend) {
    let w = World::new(backend).await.with_config(|c| {
        c.team_mailboxes = vec![("help@desk.test".into(), "Team A".into())];
    });
    let team = w.team_a.to_string();

    let page = w.get(&w.admin, "/admin/teams").await;
    assert_eq!(page.status, StatusCode::OK);
    let agent_a = w.store.get_user(&w.agent_a.id).await.unwrap();
    assert!(page.text().contains(&agent_a.name), "team A lists its agent");
    // Each team shows the support addresses that deliver to it, and only those.
    let text = page.text();
    let (team_a_card, team_b_card) = text.split_at(text.find(&format!("team-{}", w.team_b)).unwrap());
    assert!(team_a_card.contains("help@desk.test") && !team_b_card.contains("help@desk.test"));

    // Settings: ticked boxes are on, unticked ones off.
    let r = w
        .form(&w.admin, &format!("/admin/teams/{team}"), "secure_delivery=on")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let saved = w.store.get_team(&w.team_a).await.unwrap();
    assert!(saved.secure_delivery && !saved.notifications_with_text);
    assert!(actions(&w).await.contains(&"directory.team_updated".to_owned()));
    let r = w.form(&w.admin, &format!("/admin/teams/{team}"), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!w.store.get_team(&w.team_a).await.unwrap().secure_delivery);

    // A supervisor may not: refused, nothing changed.
    let r = w
        .form(
            &w.supervisor,
            &format!("/admin/teams/{team}"),
            "secure_delivery=on",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!w.store.get_team(&w.team_a).await.unwrap().secure_delivery);
    assert_eq!(
        w.get(&w.supervisor, "/admin/teams").await.status,
        StatusCode::FORBIDDEN
    );

    // Team B's agent joins team A: reads its ticket; leaves: no longer does.
    let ticket = format!("/api/v1/tickets/{}", w.ticket_1);
    assert_eq!(w.get(&w.agent_b, &ticket).await.status, StatusCode::NOT_FOUND);
    let r = w
        .form(
            &w.admin,
            &format!("/admin/teams/{team}/members"),
            &format!("user_id={}", w.agent_b.id),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(w.get(&w.agent_b, &ticket).await.status, StatusCode::OK);
    let r = w
        .form(
            &w.admin,
            &format!("/admin/teams/{team}/members/{}/remove", w.agent_b.id),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(w.get(&w.agent_b, &ticket).await.status, StatusCode::NOT_FOUND);
    assert!(
        actions(&w)
            .await
            .contains(&"directory.team_member_removed".to_owned())
    );
    // The same through the API.
    let r = w
        .raw(
            Some(&w.admin),
            "DELETE",
            &format!("/api/v1/teams/{team}/members/{}", w.agent_a.id),
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        !w.store
            .team_members(&w.team_a)
            .await
            .unwrap()
            .contains(&w.agent_a.id)
    );

    // An agent inviting an administrator (themselves, by another address): refused.
    let staff_before = w
        .store
        .list_users(UserKind::Staff, None, 500)
        .await
        .unwrap()
        .items
        .len();
    let r = w
        .form(
            &w.agent_a,
            "/admin/staff",
            "name=Me+Again&email=me-again%40desk.test&role=admin",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.store
            .list_users(UserKind::Staff, None, 500)
            .await
            .unwrap()
            .items
            .len(),
        staff_before
    );

    // The administrator invites a supervisor into team A; the setup link works once.
    let r = w
        .form(
            &w.admin,
            "/admin/staff",
            &format!("name=Sam+Super&email=sam%40desk.test&role=supervisor&team={team}"),
        )
        .await;
    let sam = w
        .store
        .list_users(UserKind::Staff, None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.email.as_str() == "sam@desk.test")
        .expect("invited");
    assert_eq!(sam.role.as_str(), "supervisor");
    assert_eq!(
        w.store.user_teams(&sam.id).await.unwrap(),
        std::slice::from_ref(&w.team_a)
    );
    if r.status == StatusCode::OK {
        // No relay in this world: the link is on the page, shown this once.
        assert!(r.text().contains("/setup/"), "the setup link is shown");
        assert!(!w.get(&w.admin, "/admin/staff").await.text().contains("/setup/"));
    } else {
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    // An address already in use: the form says so, nothing created.
    let r = w
        .form(
            &w.admin,
            "/admin/staff",
            "name=Again&email=sam%40desk.test&role=agent",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("already has an account"), "the form says why");

    // Roles: team B's agent becomes a supervisor, and is signed out so it applies at
    // the next sign-in. A supervisor cannot make themselves an administrator, nobody
    // changes their own role, and a customer's role is not a staff role.
    let me = |who: &common::Actor| {
        let who = who.clone();
        let w = &w;
        async move { w.get(&who, "/api/v1/me").await.status }
    };
    assert_eq!(me(&w.agent_b).await, StatusCode::OK);
    let r = w
        .form(
            &w.admin,
            &format!("/admin/staff/{}/role", w.agent_b.id),
            "role=supervisor",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        w.store.get_user(&w.agent_b.id).await.unwrap().role.as_str(),
        "supervisor"
    );
    assert_eq!(
        me(&w.agent_b).await,
        StatusCode::UNAUTHORIZED,
        "signed out by the change"
    );
    assert!(actions(&w).await.contains(&"directory.role_changed".to_owned()));
    let r = w
        .json(
            &w.supervisor,
            "PUT",
            &format!("/api/v1/users/{}/role", w.supervisor.id),
            serde_json::json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.store.get_user(&w.supervisor.id).await.unwrap().role.as_str(),
        "supervisor"
    );
    let r = w
        .json(
            &w.admin,
            "PUT",
            &format!("/api/v1/users/{}/role", w.admin.id),
            serde_json::json!({"role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = w
        .json(
            &w.admin,
            "PUT",
            &format!("/api/v1/users/{}/role", w.customer_1.id),
            serde_json::json!({"role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Companies: a supervisor creates one that shares tickets; an agent lists them but
    // may not create one.
    let r = w
        .form(&w.supervisor, "/admin/companies", "name=Globex&share_tickets=on")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let globex = w
        .store
        .list_companies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Globex")
        .expect("created");
    assert!(globex.share_tickets);
    let listed = w.get(&w.agent_a, "/admin/companies").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(listed.text().contains("Globex") && !listed.text().contains("New company"));
    let r = w.form(&w.agent_a, "/admin/companies", "name=Initech").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        !w.store
            .list_companies()
            .await
            .unwrap()
            .iter()
            .any(|c| c.name == "Initech")
    );

    // Disable Sam: every session ends; the page shows it.
    let r = w
        .form(&w.admin, &format!("/admin/staff/{}/disable", sam.id), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(w.store.get_user(&sam.id).await.unwrap().disabled);
    // Nobody disables their own account, and an unknown one is not found.
    let r = w
        .form(&w.admin, &format!("/admin/staff/{}/disable", w.admin.id), "")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!w.store.get_user(&w.admin.id).await.unwrap().disabled);
    let r = w
        .form(&w.admin, "/admin/staff/usr_AAAAAAAAAAAAAAAAAAAAAA/disable", "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
