//! Subject access on SQLite and PostgreSQL: a customer asks for their data in the
//! portal (after a step-up), it is built in the background, and its single-use link
//! works once. The archive holds everything stored about them (profile, their ticket
//! with the staff note, files, sign-ins, audit entries) and nothing of another customer,
//! and its manifest is signed with the desk's published audit key. An administrator's
//! export for another customer leaves internal notes out under a documented exemption.
//! The attacks: a stale session asking, another customer taking the link or minting
//! one, and the link used twice.

use crate::common;

use std::collections::HashMap;
use std::io::Read;

use axum::http::StatusCode;
use common::World;
use ed25519_dalek::Verifier;
use palisade_core::{Role, UnixMillis};
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(a_customer_gets_everything_stored_about_them_once);

fn unpack(archive: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(path, bytes);
    }
    out
}

/// Builds what is waiting and returns the caller's newest access request.
async fn built(w: &World, who: &common::Actor) -> Value {
    assert_eq!(w.state.desk().build_pending_exports(10).await.unwrap(), 1);
    let list = w.get(who, "/api/v1/me/privacy/requests").await.json();
    list["items"][0].clone()
}

async fn a_customer_gets_everything_stored_about_them_once(backend: Backend) {
    let w = World::new(backend).await;
    let me = &w.customer_1;

    // Attack: a session signed in long ago asks; the step-up is owed first.
    let stale = common::session_signed_in_at(
        &w.store,
        me.id.clone(),
        Role::Customer,
        UnixMillis(UnixMillis::now().0 - 3_600_000),
    )
    .await;
    let r = w
        .json(&stale, "POST", "/api/v1/me/privacy/exports", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    // Her ticket carries a personal field value, and she rates it once it is solved.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/fields",
            json!({"key": "account_ref", "label": "Account reference", "kind": "text", "personal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ticket = format!("/api/v1/tickets/{}", w.ticket_1);
    let r = w
        .json(
            &w.supervisor,
            "PUT",
            &format!("{ticket}/fields"),
            json!({"values": {"account_ref": "ACC-Exq9Field"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(&w.supervisor, "PATCH", &ticket, json!({"status": "solved"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(
            me,
            "PUT",
            &format!("{ticket}/satisfaction"),
            json!({"rating": "good", "comment": "Quick Exq9Rate"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());

    // Her first message arrived by mail: the original is kept.
    let thread = w.get(&w.admin, &format!("{ticket}/messages")).await.json();
    let her_message = thread
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_id"] == me.id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = w.json(me, "POST", "/api/v1/me/privacy/exports", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["state"], "building");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    // One at a time.
    let again = w.json(me, "POST", "/api/v1/me/privacy/exports", json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    let request = built(&w, me).await;
    assert_eq!(request["id"], id.as_str());
    assert_eq!(request["state"], "ready");

    // Attack: another customer mints a link to it.
    let link_path = format!("/api/v1/privacy/requests/{id}/link");
    let r = w.json(&w.customer_3, "POST", &link_path, json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w.json(me, "POST", &link_path, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_owned();
    // Attack: another customer follows the link: refused, and it still works for her.
    assert_eq!(w.get(&w.customer_3, &url).await.status, StatusCode::NOT_FOUND);
    let download = w.get(me, &url).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text());
    // Attack: the link used twice.
    assert_eq!(w.get(me, &url).await.status, StatusCode::NOT_FOUND);
    let list = w.get(me, "/api/v1/me/privacy/requests").await.json();
    assert_eq!(list["items"][0]["state"], "done");

    // The archive: signed with the desk's audit key over the manifest, every file's
    // digest in it.
    let files = unpack(&download.body);
    let manifest = &files["manifest.json"];
    let signature = hex_decode(std::str::from_utf8(&files["manifest.sig"]).unwrap());
    let mut signed = b"palisade/subject-access-export/v1\n".to_vec();
    signed.extend_from_slice(manifest);
    w.keyring
        .audit_verifying_key()
        .verify(
            &signed,
            &ed25519_dalek::Signature::from_slice(&signature).unwrap(),
        )
        .expect("the manifest verifies with the desk's audit key");
    let manifest: Value = serde_json::from_slice(manifest).unwrap();
    for listed in manifest["files"].as_array().unwrap() {
        let path = listed["path"].as_str().unwrap();
        assert_eq!(
            palisade_crypto::sha256_hex(&files[path]),
            listed["sha256"].as_str().unwrap(),
            "{path}"
        );
    }
    // Attack: the archive changed after signing does not verify.
    let mut forged = signed.clone();
    forged.extend_from_slice(b" ");
    assert!(
        w.keyring
            .audit_verifying_key()
            .verify(
                &forged,
                &ed25519_dalek::Signature::from_slice(&signature).unwrap()
            )
            .is_err()
    );

    // Everything stored about her; nothing of another customer.
    let text = String::from_utf8(files["export.json"].clone()).unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["schema"], "palisade/subject-access/v1");
    assert_eq!(export["person"]["id"], me.id.to_string());
    let mine = w
        .get(&w.admin, &format!("/api/v1/customers/{}", me.id))
        .await
        .json();
    assert_eq!(export["person"]["name"], mine["name"]);
    for stored in [
        "Refund for order 1234",
        "My card was charged twice",
        "We are on it",
    ] {
        assert!(text.contains(stored), "{stored} in the export");
    }
    // Her field value and her rating, with its comment.
    let asked = export["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == w.ticket_1.as_str())
        .unwrap();
    assert_eq!(
        asked["fields"],
        json!([{"key": "account_ref", "value": "ACC-Exq9Field"}])
    );
    assert_eq!(asked["rating"]["rating"], "good");
    assert_eq!(asked["rating"]["comment"], "Quick Exq9Rate");
    assert_eq!(export["sign_in"]["sso_links"], json!([]));
    // The application she allowed (the fixture's grant).
    let apps = export["sign_in"]["connected_applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0]["application"], "CRM app");
    assert_eq!(apps[0]["scopes"], json!(["tickets:read"]));
    let mailed = asked["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == her_message.as_str())
        .unwrap();
    let path = mailed["original"].as_str().unwrap();
    assert!(
        String::from_utf8_lossy(&files[path])
            .to_ascii_lowercase()
            .contains("from:"),
        "the mail she sent is in the archive"
    );
    // Attack: internal notes reach a customer only through privacy staff.
    assert_eq!(export["request"]["internal_notes_included"], false);
    assert!(
        !text.contains("secretword"),
        "no internal note in a self-service export"
    );
    assert!(export["sign_in"]["sessions"].as_array().unwrap().len() >= 2);
    assert!(
        export["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "privacy.access_requested")
    );
    assert!(
        files.keys().any(|path| path.starts_with("files/")),
        "her ticket's public files are there"
    );
    assert!(
        !files.values().any(|b| b.as_slice() == b"internal analysis"),
        "no internal file either"
    );
    // Staff who acted on her are named, not where they acted from.
    for entry in export["audit"].as_array().unwrap() {
        if entry["actor"] != me.id.to_string() {
            assert_eq!(entry["ip"], "", "{entry}");
        }
    }
    for other in [
        "Cannot log in",
        "Password reset mail never came",
        w.customer_3.id.as_str(),
    ] {
        assert!(!text.contains(other), "{other} is another customer's");
    }

    // An administrator's export of her: the staff note and internal file are there.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/exports",
            json!({"person": me.id.to_string(), "reason": "Art. 15 request 2026-30"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let full = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(w.state.desk().build_pending_exports(10).await.unwrap(), 1);
    // Attack: she takes the export staff asked for (its notes are staff's to release).
    let r = w
        .json(
            me,
            "POST",
            &format!("/api/v1/privacy/requests/{full}/link"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/privacy/requests/{full}/link"),
            json!({}),
        )
        .await;
    let download = w.get(&w.admin, r.json()["url"].as_str().unwrap()).await;
    assert_eq!(download.status, StatusCode::OK);
    let files = unpack(&download.body);
    let text = String::from_utf8(files["export.json"].clone()).unwrap();
    assert!(text.contains("Looks like fraud, secretword escalate"));
    assert!(files.values().any(|b| b.as_slice() == b"internal analysis"));

    // An administrator's export of customer 3 under an exemption: no internal notes.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/exports",
            json!({"person": w.customer_3.id.to_string(), "reason": "Art. 15 request 2026-31",
                   "withhold_internal_notes": "Art. 23: fraud investigation under way"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let second = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(w.state.desk().build_pending_exports(10).await.unwrap(), 1);
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/privacy/requests/{second}/link"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let download = w.get(&w.admin, r.json()["url"].as_str().unwrap()).await;
    assert_eq!(download.status, StatusCode::OK);
    let files = unpack(&download.body);
    let export: Value = serde_json::from_slice(&files["export.json"]).unwrap();
    assert_eq!(export["request"]["internal_notes_included"], false);
    assert_eq!(
        export["request"]["internal_notes_withheld_because"],
        "Art. 23: fraud investigation under way"
    );
    let text = String::from_utf8(files["export.json"].clone()).unwrap();
    assert!(text.contains("Cannot log in"));
    assert!(!text.contains("Refund for order 1234"));
    assert!(
        export["tickets"][0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["visibility"] == "public")
    );
    // Erased before their export is built: the request is closed, nothing is kept.
    let r = w
        .json(&w.customer_4, "POST", "/api/v1/me/privacy/exports", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/erasures",
            json!({"person": w.customer_4.id.to_string(), "reason": "Art. 17 request 2026-40"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(w.state.desk().build_pending_exports(10).await.unwrap(), 0);

    // Attack: a customer asks for someone else's export through the staff route.
    let r = w
        .json(
            me,
            "POST",
            "/api/v1/privacy/exports",
            json!({"person": w.customer_3.id.to_string(), "reason": "curious"}),
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.text()
    );
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
