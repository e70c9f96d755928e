//! Second factors through the API and the pages, on SQLite and PostgreSQL: a password
//! alone opens nothing for staff, codes work once, guessing codes is throttled, staff
//! must enrol before anything else, enrolment and removal end other sessions, and the
//! last factor of a staff account cannot be removed.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, PASSWORD, Response, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    a_password_alone_opens_nothing_for_staff_and_a_code_works_once,
    guessing_codes_is_throttled_and_audited,
    staff_without_a_factor_can_only_enrol_and_enrolment_ends_other_sessions,
    recovery_codes_work_once_each,
    the_last_factor_of_staff_stays_and_customers_remove_theirs_after_step_up,
    the_sign_in_pages_take_a_browser_through_both_steps,
    changing_the_password_needs_step_up_and_ends_every_other_session,
    a_burst_of_code_guesses_is_evaluated_no_more_than_the_limit_allows,
    a_burst_of_step_up_guesses_is_evaluated_no_more_than_the_limit_allows,
);

async fn get(w: &World, token: &str, path: &str) -> Response {
    w.raw(
        None,
        "GET",
        path,
        Body::empty(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

fn code_for(secret_base32: &str, offset_steps: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret_base32).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(u64::try_from(i64::try_from(now).unwrap() + offset_steps * 30).unwrap())
        .to_string()
}

fn audited(entries: &[palisade_audit::AuditEntry], action: &str, outcome: &str) -> bool {
    entries.iter().any(|e| e.action == action && e.outcome == outcome)
}

async fn a_password_alone_opens_nothing_for_staff_and_a_code_works_once(backend: Backend) {
    let w = World::new(backend).await;
    let first = w.password_step("agent.a@desk.test").await;
    assert_eq!(first["stage"], "second_factor");
    assert_eq!(first["methods"], json!(["totp"]));
    let pending = first["token"].as_str().unwrap();
    for path in [
        "/api/v1/tickets",
        "/api/v1/me",
        "/api/v1/me/sessions",
        "/api/v1/me/mfa",
    ] {
        let r = get(&w, pending, path).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{path} with a password-only session"
        );
        assert!(
            r.json()["type"]
                .as_str()
                .unwrap()
                .ends_with("/second-factor-required"),
            "{path}: {}",
            r.text()
        );
    }
    let ticket = format!("/api/v1/tickets/{}", w.ticket_1);
    assert_eq!(get(&w, pending, &ticket).await.status, StatusCode::UNAUTHORIZED);
    // A pending session cannot start enrolling a different factor either.
    assert_eq!(
        w.post_bearer(pending, "/api/v1/me/mfa/totp", json!({}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let wrong = w
        .post_bearer(
            pending,
            "/api/v1/sessions/current/second-factor",
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let code = common::totp_code(0);
    let done = w
        .post_bearer(
            pending,
            "/api/v1/sessions/current/second-factor",
            json!({"code": code}),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(done.json()["stage"], "full");
    let full = done.json()["token"].as_str().unwrap().to_owned();
    assert_ne!(full, pending, "the token changes when the sign-in completes");
    assert_eq!(
        get(&w, pending, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&w, &full, &ticket).await.status, StatusCode::OK);

    // Someone who watched the code being typed replays it on their own sign-in.
    let attacker = w.password_step("agent.a@desk.test").await;
    let attacker = attacker["token"].as_str().unwrap();
    let replay = w
        .post_bearer(
            attacker,
            "/api/v1/sessions/current/second-factor",
            json!({"code": code}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a code is accepted once");
    assert_eq!(
        get(&w, attacker, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A full session cannot be pushed through the second step again.
    let again = w
        .post_bearer(
            &full,
            "/api/v1/sessions/current/second-factor",
            json!({"code": common::totp_code(1)}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let replayed = entries
        .iter()
        .any(|e| e.action == "auth.mfa_failed" && e.detail.contains("replayed_code"));
    assert!(replayed, "the replay is audited with its reason");
    assert!(audited(&entries, "auth.mfa_challenge", "success"));
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.sign_in" && e.outcome == "success" && e.detail.contains("totp"))
    );
}

async fn guessing_codes_is_throttled_and_audited(backend: Backend) {
    let w = World::new(backend).await;
    let pending = w.password_step("super@desk.test").await;
    let pending = pending["token"].as_str().unwrap();
    let mut statuses = Vec::new();
    for guess in 0..8 {
        let code = format!("{:06}", 100_000 + guess);
        let r = w
            .post_bearer(
                pending,
                "/api/v1/sessions/current/second-factor",
                json!({"code": code}),
            )
            .await;
        statuses.push(r.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "eight wrong codes in a row must be slowed down: {statuses:?}"
    );
    // While throttled, even the right code is not checked.
    let right = w
        .post_bearer(
            pending,
            "/api/v1/sessions/current/second-factor",
            json!({"code": common::totp_code(0)}),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let failures = entries.iter().filter(|e| e.action == "auth.mfa_failed").count();
    assert!(failures >= 5, "{failures} failures audited");
}

async fn staff_without_a_factor_can_only_enrol_and_enrolment_ends_other_sessions(backend: Backend) {
    let w = World::new(backend).await;
    let mut tx = w.store.begin().await.unwrap();
    assert!(w.store.delete_totp(&mut tx, &w.agent_b.id).await.unwrap());
    tx.commit().await.unwrap();
    let signed = w.password_step("agent.b@desk.test").await;
    assert_eq!(signed["stage"], "enrol");
    let enrol = signed["token"].as_str().unwrap();
    let r = get(&w, enrol, "/api/v1/tickets").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.json()["type"]
            .as_str()
            .unwrap()
            .ends_with("/mfa-enrolment-required")
    );
    assert_eq!(get(&w, enrol, "/api/v1/me/mfa").await.json()["required"], true);

    let setup = w.post_bearer(enrol, "/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(setup.status, StatusCode::CREATED, "{}", setup.text());
    let secret = setup.json()["secret"].as_str().unwrap().to_owned();
    let uri = setup.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&secret),
        "{uri}"
    );
    let qr = w
        .raw(
            None,
            "GET",
            "/account/security/totp.svg",
            Body::empty(),
            &[("cookie", &format!("__Host-palisade-session={enrol}"))],
        )
        .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert!(qr.text().contains("<svg"));
    // The secret is sealed at rest.
    let dump = w.db.raw_dump().await.unwrap();
    let raw_secret = totp_rs::Secret::try_from_base32(&secret).unwrap();
    assert!(
        !dump.windows(20).any(|x| x == raw_secret.as_bytes()),
        "TOTP secret stored in clear"
    );

    let wrong = w
        .post_bearer(enrol, "/api/v1/me/mfa/totp/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let done = w
        .post_bearer(
            enrol,
            "/api/v1/me/mfa/totp/confirm",
            json!({"code": code_for(&secret, 0)}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let codes = done.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);
    let full = done.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&w, &full, "/api/v1/tickets").await.status, StatusCode::OK);
    assert_eq!(
        get(&w, enrol, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "the enrol-only token died"
    );
    assert_eq!(
        get(&w, &w.agent_b.token, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "a factor change ends the account's other sessions"
    );
    // Recovery codes are stored only as keyed hashes.
    let first = codes[0].as_str().unwrap();
    let dump = w.db.raw_dump().await.unwrap();
    assert!(!dump.windows(first.len()).any(|x| x == first.as_bytes()));
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audited(&entries, "auth.mfa_enrolled", "success"));
    assert!(audited(&entries, "auth.recovery_codes_issued", "success"));
}

async fn recovery_codes_work_once_each(backend: Backend) {
    let w = World::new(backend).await;
    let fresh = common::session_signed_in_at(
        &w.store,
        w.agent_a.id.clone(),
        w.agent_a.role,
        palisade_core::UnixMillis::now(),
    )
    .await;
    let r = w
        .json(&fresh, "POST", "/api/v1/me/mfa/recovery-codes", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let codes: Vec<String> = r.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let pending = w.password_step("agent.a@desk.test").await;
    assert_eq!(pending["methods"], json!(["totp", "recovery_code"]));
    let pending = pending["token"].as_str().unwrap();
    // Typed in lower case with spaces: still the same code.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let ok = w
        .post_bearer(
            pending,
            "/api/v1/sessions/current/second-factor",
            json!({"recovery_code": typed}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    let again = w.password_step("agent.a@desk.test").await;
    let again = again["token"].as_str().unwrap();
    let reused = w
        .post_bearer(
            again,
            "/api/v1/sessions/current/second-factor",
            json!({"recovery_code": codes[3]}),
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );
    let other_account = w.password_step("super@desk.test").await;
    let other_account = other_account["token"].as_str().unwrap();
    let stolen = w
        .post_bearer(
            other_account,
            "/api/v1/sessions/current/second-factor",
            json!({"recovery_code": codes[4]}),
        )
        .await;
    assert_eq!(
        stolen.status,
        StatusCode::UNAUTHORIZED,
        "codes belong to one account"
    );
    let status = get(&w, ok.json()["token"].as_str().unwrap(), "/api/v1/me/mfa").await;
    assert_eq!(status.json()["recovery_codes_left"], 9);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audited(&entries, "auth.recovery_code_used", "success"));
}

async fn the_last_factor_of_staff_stays_and_customers_remove_theirs_after_step_up(backend: Backend) {
    let w = World::new(backend).await;
    let r = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            "/api/v1/me/mfa/totp",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audited(&entries, "auth.mfa_removed", "denied"));

    // A customer opts in, then removes the app: only within the step-up window.
    let c1: Actor = w.customer_1.clone();
    let setup = w.json(&c1, "POST", "/api/v1/me/mfa/totp", json!({})).await;
    assert_eq!(setup.status, StatusCode::CREATED);
    let secret = setup.json()["secret"].as_str().unwrap().to_owned();
    let done = w
        .json(
            &c1,
            "POST",
            "/api/v1/me/mfa/totp/confirm",
            json!({"code": code_for(&secret, 0)}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let c1 = Actor {
        token: done.json()["token"].as_str().unwrap().to_owned(),
        ..c1
    };
    let stale = common::session_signed_in_at(
        &w.store,
        c1.id.clone(),
        c1.role,
        palisade_core::UnixMillis::now().plus_secs(-3600),
    )
    .await;
    let r = w
        .raw(Some(&stale), "DELETE", "/api/v1/me/mfa/totp", Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "removal needs a recent step-up");
    let r = w
        .raw(Some(&c1), "DELETE", "/api/v1/me/mfa/totp", Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        w.get(&stale, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "auth.mfa_removed"
        && e.outcome == "success"
        && e.detail.contains("\"last_factor\":true")));
    // Signing in is back to the password alone.
    assert_eq!(w.password_step("c1@sharing.test").await["stage"], "full");
}

fn cookie_of(r: &Response) -> String {
    let set = r.headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn the_sign_in_pages_take_a_browser_through_both_steps(backend: Backend) {
    let w = World::new(backend).await;
    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", common::ORIGIN),
    ];
    let body = format!(
        "email=agent.a%40desk.test&password={}",
        PASSWORD.replace(' ', "+")
    );
    let r = w.raw(None, "POST", "/login", Body::from(body), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login/second-factor");
    let pending = cookie_of(&r);
    let tickets = w
        .raw(None, "GET", "/tickets", Body::empty(), &[("cookie", &pending)])
        .await;
    assert_eq!(
        tickets.status,
        StatusCode::SEE_OTHER,
        "no tickets before the second factor"
    );
    assert_eq!(tickets.headers["location"], "/login/second-factor");
    let page = w
        .raw(
            None,
            "GET",
            "/login/second-factor",
            Body::empty(),
            &[("cookie", &pending)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("authenticator app"));
    let with_cookie = [form[0], form[1], ("cookie", pending.as_str())];
    let bad = w
        .raw(
            None,
            "POST",
            "/login/second-factor",
            Body::from("code=000000"),
            &with_cookie,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.text().contains("not accepted"));
    let good = w
        .raw(
            None,
            "POST",
            "/login/second-factor",
            Body::from(format!("code={}", common::totp_code(0))),
            &with_cookie,
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.text());
    assert_eq!(good.headers["location"], "/tickets");
    let full = cookie_of(&good);
    assert_ne!(full, pending);
    let tickets = w
        .raw(None, "GET", "/tickets", Body::empty(), &[("cookie", &full)])
        .await;
    assert_eq!(tickets.status, StatusCode::OK);
    // The security page offers the factor management and step-up guards removal.
    let security = w
        .raw(
            None,
            "GET",
            "/account/security",
            Body::empty(),
            &[("cookie", &full)],
        )
        .await;
    assert_eq!(security.status, StatusCode::OK);
    assert!(security.text().contains("An authenticator app is set up"));
}

async fn changing_the_password_needs_step_up_and_ends_every_other_session(backend: Backend) {
    let w = World::new(backend).await;
    let me = &w.customer_1;
    let other_device = common::extra_session(&w.store, &me.id).await;
    let change = |token: String, password: &'static str| {
        let w = &w;
        async move {
            w.post_bearer(&token, "/api/v1/me/password", json!({ "new_password": password }))
                .await
        }
    };
    // A weak password is refused and changes nothing.
    let r = change(me.token.clone(), "password1234").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A session whose sign-in is older than the step-up window must step up first.
    let stale = common::session_signed_in_at(
        &w.store,
        me.id.clone(),
        me.role,
        palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 - 20 * 60 * 1000),
    )
    .await;
    let r = change(stale.token.clone(), "a completely new passphrase").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json()["type"],
        "https://palisade.invalid/problems/step-up-required"
    );
    // An API token can never step up, so it can never change the password.
    let (_, api) = common::api_token(&w.store, &me.id, &["people:write"]).await;
    assert_eq!(
        change(api, "a completely new passphrase").await.status,
        StatusCode::FORBIDDEN
    );

    let r = change(me.token.clone(), "a completely new passphrase").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let new_token = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&w, &new_token, "/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        get(&w, &me.token, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&w, &stale.token, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let live: Vec<_> = w.store.live_sessions(&me.id).await.unwrap();
    assert_eq!(live.len(), 1, "only the rotated session is left");
    assert!(live.iter().all(|s| s.id != other_device));
    // The old password no longer signs in; the new one does.
    let old = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "c1@sharing.test", "password": PASSWORD}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(
                json!({"email": "c1@sharing.test", "password": "a completely new passphrase"}).to_string(),
            ),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(new.status, StatusCode::CREATED);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "auth.password_changed"
        && e.object == me.id.to_string()
        && e.detail.contains("\"other_sessions_ended\":2")));
}

/// Second-factor failures the server actually evaluated (each one is audited).
async fn evaluated_factor_failures(w: &World, detail: &str) -> usize {
    w.store
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "auth.mfa_failed" && e.detail.contains(detail))
        .count()
}

async fn a_burst_of_code_guesses_is_evaluated_no_more_than_the_limit_allows(backend: Backend) {
    let w = World::new(backend).await;
    let pending = w.password_step("super@desk.test").await;
    let pending = pending["token"].as_str().unwrap();
    let right = common::totp_code(0);
    let guesses: Vec<_> = (0..80)
        .map(|i| format!("{:06}", 100_000 + i))
        .filter(|g| *g != right && *g != common::totp_code(-1) && *g != common::totp_code(1))
        .map(|code| {
            let w = &w;
            async move {
                w.post_bearer(
                    pending,
                    "/api/v1/sessions/current/second-factor",
                    json!({"code": code}),
                )
                .await
                .status
            }
        })
        .collect();
    let sent = guesses.len();
    let statuses = palisade_testkit::burst::join_all(guesses).await;
    let evaluated = evaluated_factor_failures(&w, "wrong_code").await;
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} of {sent} concurrent codes were checked; five may be"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        sent - evaluated,
        "every code not checked was refused as throttled"
    );
    // The right code now is not checked either: the session stays pending.
    let r = w
        .post_bearer(
            pending,
            "/api/v1/sessions/current/second-factor",
            json!({"code": right}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        get(&w, pending, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_burst_of_step_up_guesses_is_evaluated_no_more_than_the_limit_allows(backend: Backend) {
    let w = World::new(backend).await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let w = &w;
            async move {
                w.json(
                    &w.supervisor,
                    "POST",
                    "/api/v1/sessions/current/step-up",
                    json!({"password": format!("not my password {i}"), "code": "123456"}),
                )
                .await
                .status
            }
        })
        .collect();
    let statuses = palisade_testkit::burst::join_all(guesses).await;
    let evaluated = evaluated_factor_failures(&w, "step_up:wrong_password").await;
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} of 40 concurrent step-ups were checked"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        40 - evaluated
    );
    let right = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/sessions/current/step-up",
            json!({"password": PASSWORD, "code": common::totp_code(0)}),
        )
        .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled even for the right answer"
    );
}
