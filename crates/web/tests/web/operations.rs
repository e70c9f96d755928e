//! The operations page and API: before anything ran they say so; after a vulnerable
//! advisory check and a verified scheduled backup they show both, to administrators
//! and auditors (the route matrix keeps everyone else out), on both backends. The keys
//! in use are shown by name and public key: a master-key rotation under way and the
//! audit key's handovers appear, and no secret does.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_supply::advisories::{Finding, Report};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(operations_show_the_last_backup_and_advisory_check);

async fn operations_show_the_last_backup_and_advisory_check(backend: Backend) {
    let w = World::new(backend).await;
    let before = w.get(&w.admin, "/api/v1/operations").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    let body = before.json();
    assert!(body["last_verified_backup_at"].is_null());
    assert!(body["advisories"].is_null());
    let page = w.get(&w.auditor, "/admin/operations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("have not been checked yet"),
        "{}",
        page.text()
    );

    let finding = |id: &str, kind: &str| Finding {
        id: id.into(),
        package: "tokio".into(),
        version: "1.0.0".into(),
        title: "A drill advisory".into(),
        kind: kind.into(),
        patched: vec![">= 999.0.0".into()],
        url: None,
    };
    let report = Report {
        dependencies: 560,
        advisories_read: 3,
        vulnerable: vec![finding("RUSTSEC-2099-0001", "vulnerability")],
        warnings: vec![finding("RUSTSEC-2099-0002", "unmaintained")],
        accepted: vec![],
    };
    w.state
        .desk()
        .record_advisory_check(&report, "cli")
        .await
        .unwrap();
    // The schedule's lease position is the last verified backup's time.
    w.store
        .lease_subscription(palisade_service::SCHEDULED_BACKUP_LEASE, "node-a", 60_000, 0)
        .await
        .unwrap();
    let mut tx = w.store.begin().await.unwrap();
    assert!(
        w.store
            .advance_subscription(
                &mut tx,
                palisade_service::SCHEDULED_BACKUP_LEASE,
                "node-a",
                1_796_631_300_123,
                60_000
            )
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let after = w.get(&w.admin, "/api/v1/operations").await.json();
    assert_eq!(after["last_verified_backup_at"], "2026-12-07T08:15:00.123Z");
    assert_eq!(after["advisories"]["checked_by"], "cli");
    assert_eq!(after["advisories"]["vulnerable"][0]["id"], "RUSTSEC-2099-0001");
    assert_eq!(after["advisories"]["warnings"][0]["kind"], "unmaintained");
    let page = w.get(&w.admin, "/admin/operations").await.text();
    assert!(
        page.contains("RUSTSEC-2099-0001") && page.contains("role=\"alert\""),
        "{page}"
    );
    assert!(page.contains("2026-12-07T08:15:00.123Z"), "{page}");
    let alerts = w.get(&w.admin, "/api/v1/security-alerts").await.json();
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "vulnerable_dependency"),
        "{alerts}"
    );

    let keys = &after["keys"];
    let audit_key = hex::encode(w.store.keys().audit_verifying_key().to_bytes());
    assert_eq!(keys["audit_signing_key"], audit_key.as_str());
    assert_eq!(keys["wrapping_key_in"], "file");
    assert_eq!(keys["wrapping_key_id"], w.store.keys().kek_id());
    assert!(keys["master_rotation"].is_null() && keys["audit_handovers"] == serde_json::json!([]));
    assert!(page.contains(&audit_key), "{page}");
    assert_eq!(keys["root_id"], w.store.keys().root_id());
    assert!(keys["root_rotations"] == serde_json::json!([]));
    assert!(page.contains(w.store.keys().root_id()), "{page}");
    assert_eq!(
        after["outside_parties"],
        serde_json::json!([{
            "kind": "mail_relay",
            "name": "relay.desk.test",
            "endpoint": "relay.desk.test:587",
            "receives": ["contact_details", "message_content", "attachments"],
        }, {
            // The fixture's webhook endpoint: registered in the pages, listed here.
            "kind": "webhook_receiver",
            "name": "CRM",
            "endpoint": "https://hooks.example.test",
            "receives": ["message_content"],
        }])
    );
    assert!(
        page.contains("id=\"outside-parties\"")
            && page.contains("Mail relay (outgoing mail)")
            && page.contains("Webhook receiver")
            && page.contains("subjects and messages"),
        "{page}"
    );
    let secret = hex::encode(w.store.keys().audit_signing_key().to_bytes());
    assert!(
        !page.contains(&secret) && !after.to_string().contains(&secret),
        "the signing key never shows"
    );
}

palisade_testkit::on_both_backends!(operations_show_a_rotation_under_way_and_audit_key_handovers);

async fn operations_show_a_rotation_under_way_and_audit_key_handovers(backend: Backend) {
    let w = World::new(backend).await;
    let next = palisade_crypto::MasterKey::generate().unwrap();
    let rotation = w.store.begin_master_rotation(&next).await.unwrap();
    // What the handover writes for nodes to read; the trail itself is tested in the store.
    let retired = "ab".repeat(32);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&w.db.url)
        .await
        .unwrap();
    sqlx::query("INSERT INTO audit_retired_keys (public_key, retired_seq) VALUES ($1, 42)")
        .bind(&retired)
        .execute(&mut conn)
        .await
        .unwrap();
    let keys = w.get(&w.auditor, "/api/v1/operations").await.json()["keys"].clone();
    assert_eq!(
        keys["master_rotation"]["new_wrapping_key_id"],
        rotation.new_kek_id.as_str()
    );
    assert_eq!(keys["master_rotation"]["rewrapped"], 0);
    assert_eq!(
        keys["audit_handovers"],
        serde_json::json!([{"public_key": retired, "at_entry": 42}])
    );
    let page = w.get(&w.auditor, "/admin/operations").await.text();
    assert!(
        page.contains("id=\"master-rotation\"") && page.contains(&rotation.new_kek_id),
        "{page}"
    );
    assert!(
        page.contains(&retired) && page.contains("at audit entry 42"),
        "{page}"
    );

    // A finished root rotation, as `keys rotate-root` leaves it (the rewrite itself is
    // tested in the store and with the binary).
    sqlx::query(
        "INSERT INTO root_rotations (new_root_id, old_root_id, started_at, finished_at, replies_until) \
         VALUES ($1, 'feedfacefeedface', 1796631300000, 1796631360000, 1797840960000)",
    )
    .bind(w.store.keys().root_id())
    .execute(&mut conn)
    .await
    .unwrap();
    let keys = w.get(&w.auditor, "/api/v1/operations").await.json()["keys"].clone();
    assert_eq!(
        keys["root_rotations"],
        serde_json::json!([{
            "old_root_id": "feedfacefeedface",
            "new_root_id": w.store.keys().root_id(),
            "started_at": "2026-12-07T08:15:00Z",
            "finished_at": "2026-12-07T08:16:00Z",
            "old_reply_addresses_until": "2026-12-21T08:16:00Z",
        }])
    );
    let page = w.get(&w.auditor, "/admin/operations").await.text();
    assert!(
        page.contains("id=\"root-rotations\"") && page.contains("feedfacefeedface"),
        "{page}"
    );
}
