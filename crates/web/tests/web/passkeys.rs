//! Passkeys through the API with a software authenticator, on SQLite and PostgreSQL:
//! registration (several per account, naming, removal), the second step of signing in,
//! and the attacks: a replayed assertion, a challenge taken from another session, an
//! assertion made for another origin, and another account's authenticator.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Actor, ORIGIN, Response, World};
use palisade_identity::{CreationChallengeResponse, RequestChallengeResponse};
use palisade_testkit::Backend;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

palisade_testkit::on_both_backends!(
    a_passkey_finishes_sign_in_and_its_answers_cannot_be_reused_or_redirected,
    staff_can_enrol_with_a_passkey_keep_several_and_not_remove_the_last,
);

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// Registers a passkey for the session `token`; returns the response of the finish.
async fn register(w: &World, token: &str, authenticator: &mut SoftPasskey, name: &str) -> Response {
    let start = w
        .post_bearer(token, "/api/v1/me/passkeys/registration", json!({}))
        .await;
    assert_eq!(start.status, StatusCode::CREATED, "{}", start.text());
    let options: CreationChallengeResponse = serde_json::from_value(start.json()["options"].clone()).unwrap();
    let credential = authenticator.do_registration(origin(), options).unwrap();
    w.post_bearer(
        token,
        "/api/v1/me/passkeys",
        json!({"ceremony": start.json()["ceremony"], "name": name, "credential": credential}),
    )
    .await
}

async fn list_passkeys(w: &World, token: &str) -> Response {
    w.raw(
        None,
        "GET",
        "/api/v1/me/passkeys",
        Body::empty(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

/// A challenge for `token` and an assertion for it by `authenticator` at `at`.
async fn assertion(w: &World, token: &str, authenticator: &mut SoftPasskey, at: Url) -> (String, Value) {
    let start = w
        .post_bearer(token, "/api/v1/sessions/current/passkey-challenge", json!({}))
        .await;
    assert_eq!(start.status, StatusCode::CREATED, "{}", start.text());
    let options: RequestChallengeResponse = serde_json::from_value(start.json()["options"].clone()).unwrap();
    let credential = authenticator.do_authentication(at, options).unwrap();
    (
        start.json()["ceremony"].as_str().unwrap().to_owned(),
        serde_json::to_value(credential).unwrap(),
    )
}

async fn answer(w: &World, token: &str, ceremony: &str, credential: &Value) -> Response {
    w.post_bearer(
        token,
        "/api/v1/sessions/current/second-factor/passkey",
        json!({"ceremony": ceremony, "credential": credential}),
    )
    .await
}

async fn a_passkey_finishes_sign_in_and_its_answers_cannot_be_reused_or_redirected(backend: Backend) {
    let w = World::new(backend).await;
    let mut key = SoftPasskey::new(true);
    let c1: Actor = w.customer_1.clone();
    let done = register(&w, &c1.token, &mut key, "Laptop").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(done.json()["recovery_codes"].as_array().unwrap().len(), 10);

    let pending = w.password_step("c1@sharing.test").await;
    assert_eq!(pending["stage"], "second_factor");
    assert_eq!(pending["methods"], json!(["passkey", "recovery_code"]));
    let pending = pending["token"].as_str().unwrap().to_owned();

    // A look-alike site relays the challenge; the browser there signs client data
    // naming the look-alike's origin. Rewriting the origin back breaks the signature;
    // leaving it names the wrong origin. Both are refused.
    let (ceremony, genuine) = assertion(&w, &pending, &mut key, origin()).await;
    let client_data = genuine["response"]["clientDataJSON"].as_str().unwrap();
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(client_data).unwrap()).unwrap();
    assert!(decoded.contains(ORIGIN), "{decoded}");
    let mut phished = genuine.clone();
    phished["response"]["clientDataJSON"] =
        json!(URL_SAFE_NO_PAD.encode(decoded.replace(ORIGIN, "https://palisade-login.evil.test")));
    assert_eq!(
        answer(&w, &pending, &ceremony, &phished).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A genuine answer works once; replaying it is refused.
    let (ceremony, genuine) = assertion(&w, &pending, &mut key, origin()).await;
    let ok = answer(&w, &pending, &ceremony, &genuine).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    assert_eq!(ok.json()["stage"], "full");
    let full = ok.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        w.raw(
            None,
            "GET",
            "/api/v1/me",
            Body::empty(),
            &[("authorization", &format!("Bearer {full}"))]
        )
        .await
        .status,
        StatusCode::OK
    );

    let second = w.password_step("c1@sharing.test").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        answer(&w, &second, &ceremony, &genuine).await.status,
        StatusCode::UNAUTHORIZED,
        "a used challenge cannot be answered again, from any session"
    );
    // A challenge issued to one session cannot be answered from another.
    let third = w.password_step("c1@sharing.test").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (their_ceremony, their_answer) = assertion(&w, &third, &mut key, origin()).await;
    assert_eq!(
        answer(&w, &second, &their_ceremony, &their_answer).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Another account's authenticator cannot answer for this account.
    let mut other_key = SoftPasskey::new(true);
    let c2 = w.customer_2.clone();
    assert_eq!(
        register(&w, &c2.token, &mut other_key, "Phone").await.status,
        StatusCode::OK
    );
    let fourth = w.password_step("c1@sharing.test").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = w
        .post_bearer(&fourth, "/api/v1/sessions/current/passkey-challenge", json!({}))
        .await;
    let options: RequestChallengeResponse = serde_json::from_value(start.json()["options"].clone()).unwrap();
    // The foreign authenticator has no credential for this account's allow-list.
    assert!(other_key.do_authentication(origin(), options).is_err());

    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.mfa_failed" && e.detail.contains("passkey_rejected"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.mfa_failed" && e.detail.contains("unknown_or_used_challenge"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.sign_in" && e.outcome == "success" && e.detail.contains("passkey"))
    );
    // The credential is sealed at rest: its id does not appear in the passkey blob.
    let listed = w
        .raw(
            None,
            "GET",
            "/api/v1/me/passkeys",
            Body::empty(),
            &[("authorization", &format!("Bearer {full}"))],
        )
        .await;
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    assert!(listed.json()[0]["last_used_at"].is_string());
}

async fn staff_can_enrol_with_a_passkey_keep_several_and_not_remove_the_last(backend: Backend) {
    let w = World::new(backend).await;
    let mut tx = w.store.begin().await.unwrap();
    assert!(w.store.delete_totp(&mut tx, &w.agent_b.id).await.unwrap());
    tx.commit().await.unwrap();
    let enrol = w.password_step("agent.b@desk.test").await;
    assert_eq!(enrol["stage"], "enrol");
    let enrol = enrol["token"].as_str().unwrap().to_owned();
    // An enrol-only session has no passkey to answer with.
    let refused = w
        .post_bearer(&enrol, "/api/v1/sessions/current/passkey-challenge", json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    let mut laptop = SoftPasskey::new(true);
    let done = register(&w, &enrol, &mut laptop, "Laptop").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let token = done.json()["token"].as_str().unwrap().to_owned();

    assert_eq!(
        list_passkeys(&w, &token).await.status,
        StatusCode::OK,
        "enrolled staff session is full"
    );

    // A second key, registered within the step-up window of the fresh session.
    let mut backup = SoftPasskey::new(true);
    let second = register(&w, &token, &mut backup, "Backup key").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert!(
        second.json()["recovery_codes"].is_null(),
        "codes are issued once, with the first factor"
    );
    let token = second.json()["token"].as_str().unwrap().to_owned();
    let list = list_passkeys(&w, &token).await.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (first_id, second_id) = (
        list[0]["id"].as_str().unwrap().to_owned(),
        list[1]["id"].as_str().unwrap().to_owned(),
    );
    // Registering again asks authenticators to refuse keys the account already has.
    let start = w
        .post_bearer(&token, "/api/v1/me/passkeys/registration", json!({}))
        .await;
    let excluded = start.json()["options"]["publicKey"]["excludeCredentials"].clone();
    assert_eq!(excluded.as_array().map(Vec::len), Some(2), "{excluded}");

    let auth = format!("Bearer {token}");
    let rename = w
        .raw(
            None,
            "PATCH",
            &format!("/api/v1/me/passkeys/{second_id}"),
            Body::from(json!({"name": "Drawer key"}).to_string()),
            &[("content-type", "application/json"), ("authorization", &auth)],
        )
        .await;
    assert_eq!(rename.status, StatusCode::NO_CONTENT);
    // Another account cannot remove or rename this account's passkeys.
    let foreign = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            &format!("/api/v1/me/passkeys/{first_id}"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    let removed = w
        .raw(
            None,
            "DELETE",
            &format!("/api/v1/me/passkeys/{first_id}"),
            Body::empty(),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    let token = removed.json()["token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");
    let last = w
        .raw(
            None,
            "DELETE",
            &format!("/api/v1/me/passkeys/{second_id}"),
            Body::empty(),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "staff keep their last factor");
    let list = list_passkeys(&w, &token).await.json();
    assert_eq!(list[0]["name"], "Drawer key");

    // And the remaining key signs in.
    let pending = w.password_step("agent.b@desk.test").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ceremony, genuine) = assertion(&w, &pending, &mut backup, origin()).await;
    assert_eq!(
        answer(&w, &pending, &ceremony, &genuine).await.status,
        StatusCode::CREATED
    );
}
