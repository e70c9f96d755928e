//! The administration pages for staff and teams, on SQLite and PostgreSQL: an
//! administrator changes a team's settings, moves an agent in and out of a team (who
//! then reads its tickets, then no longer does), invites someone and disables them —
//! each change audited. Beside it the attacks: a supervisor changing a team's
//! settings, an agent inviting themselves an administrator, an administrator
//! disabling their own account, an unknown account, and an agent creating a company.
//! An administrator also moves a support address to another team and back to the
//! file's; supervisors and agents may not, and only the file's addresses and existing
//! teams can be named.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_store::UserKind;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(
    administrators_manage_teams_and_staff_from_the_pages,
    administrators_choose_the_team_a_support_address_delivers_to
);

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
    assert!(
        r.text().contains("an account with this email already exists"),
        "the form says why"
    );

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

async fn administrators_choose_the_team_a_support_address_delivers_to(backend: Backend) {
    let w = World::new(backend).await;
    let listed = w.get(&w.admin, "/api/v1/mailboxes").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let listed = listed.json();
    assert_eq!(listed[0]["address"], "help@desk.test");
    assert_eq!(listed[0]["team_id"], w.team_a.to_string());
    assert_eq!(listed[0]["changed"], false);

    // From the Teams page: the address moves to team B's card, marked as moved.
    let r = w
        .form(
            &w.admin,
            "/admin/mailboxes",
            &format!("address=help%40desk.test&team_id={}", w.team_b),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        w.store.mailbox_route("help@desk.test").await.unwrap(),
        Some(w.team_b.clone())
    );
    assert!(actions(&w).await.contains(&"directory.mailbox_routed".to_owned()));
    let page = w.get(&w.admin, "/admin/teams?done=routed").await.text();
    let (team_a_card, team_b_card) = page.split_at(page.find(&format!("team-{}", w.team_b)).unwrap());
    assert!(
        team_b_card.contains("<code>help@desk.test</code>")
            && !team_a_card.contains("<code>help@desk.test</code>"),
        "{page}"
    );
    assert!(
        team_b_card.contains("the configuration file names Team A"),
        "{page}"
    );

    // Nobody else may move it, and nothing changes when they try.
    let attempts = [
        (&w.supervisor, w.team_a.to_string()),
        (&w.agent_b, w.team_a.to_string()),
    ];
    for (who, team) in attempts {
        let r = w
            .json(
                who,
                "PUT",
                "/api/v1/mailboxes/help@desk.test",
                serde_json::json!({"team_id": team}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w
            .form(
                who,
                "/admin/mailboxes",
                &format!("address=help%40desk.test&team_id={team}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    assert_eq!(
        w.store.mailbox_route("help@desk.test").await.unwrap(),
        Some(w.team_b.clone())
    );
    // Only the file's addresses, and only teams that exist.
    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/mailboxes/other@desk.test",
            serde_json::json!({"team_id": w.team_a.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(w.store.mailbox_route("other@desk.test").await.unwrap(), None);
    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/mailboxes/help@desk.test",
            serde_json::json!({"team_id": "team_AAAAAAAAAAAAAAAAAAAAAA"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Back to the file's team.
    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/mailboxes/help@desk.test",
            serde_json::json!({"team_id": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let back = r.json();
    assert_eq!(back["team_id"], w.team_a.to_string());
    assert_eq!(back["changed"], false);
    assert_eq!(w.store.mailbox_route("help@desk.test").await.unwrap(), None);
}
