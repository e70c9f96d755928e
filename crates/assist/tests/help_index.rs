//! The help centre's index on SQLite and PostgreSQL: two nodes over one database see
//! each other's changes (publish, new version, move to staff only, withdraw) within the
//! documented second, and no article text reaches the database in clear.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use palisade_assist::{ArticleInput, HelpCentre};
use palisade_audit::AuditContext;
use palisade_core::{EmailAddress, Principal, Role};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::AudienceFilter;
use palisade_policy::{PolicyEngine, Reader};
use palisade_service::{Actor, Channel, Desk};
use palisade_store::{ArticleDraft, NewUser, Store};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(two_nodes_follow_each_others_changes);

fn draft(title: &str, body: &str, audience: &str) -> ArticleDraft {
    ArticleInput {
        title: title.into(),
        body_html: body.into(),
        locale: "en".into(),
        audience: audience.into(),
        ..ArticleInput::default()
    }
    .into_draft()
    .unwrap()
}

async fn found(node: &HelpCentre, filter: &AudienceFilter, words: &str) -> usize {
    node.search("en", filter, words, 10).await.unwrap().total
}

/// Waits (boundedly) for a node to reach `want` results, returning what it saw.
async fn eventually(node: &HelpCentre, filter: &AudienceFilter, words: &str, want: usize) -> usize {
    for _ in 0..30 {
        let n = found(node, filter, words).await;
        if n == want {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found(node, filter, words).await
}

/// An agent who writes articles: their id, principal and audit context.
async fn author(store: &Store) -> (palisade_core::UserId, Principal, AuditContext) {
    let mut tx = store.begin().await.unwrap();
    let author = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Agent,
                email: EmailAddress::parse("author@desk.test").unwrap(),
                name: "Author".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let principal = Principal {
        user_id: author.clone(),
        role: Role::Agent,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let ctx = AuditContext {
        actor: author.to_string(),
        ..AuditContext::default()
    };
    (author, principal, ctx)
}

async fn two_nodes_follow_each_others_changes(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let store_a = Store::connect(&db.url, keys.clone()).await.unwrap();
    let store_b = Store::connect(&db.url, keys).await.unwrap();
    let policy = PolicyEngine::load().unwrap();
    let (_, principal, ctx) = author(&store_a).await;
    let node_a = HelpCentre::open(store_a.clone()).await.unwrap();
    let node_b = HelpCentre::open(store_b.clone()).await.unwrap();
    let visitor = policy.audience_filter(Reader::Visitor);
    let staff = policy.audience_filter(Reader::User(&principal));

    let first = draft(
        "Warranty claims",
        "<p>Claims need the serial number xylophonic.</p>",
        "public",
    );
    // Authors' writes are the service layer's; each node's index follows the change
    // sequence, at once on the node that wrote.
    let desk_a = Desk::new(store_a.clone(), Arc::new(PolicyEngine::load().unwrap()));
    let desk_b = Desk::new(store_b.clone(), Arc::new(PolicyEngine::load().unwrap()));
    let actor = Actor {
        principal: principal.clone(),
        audit: ctx.clone(),
        channel: Channel::Api,
    };
    let id = desk_a.create_article(&actor, &first).await.unwrap();
    let id = id.as_str();
    desk_a.publish_article(&actor, id, Some(1)).await.unwrap();
    node_a.catch_up(true).await.unwrap();
    // The writing node sees its own change at once; the other within a second.
    assert_eq!(found(&node_a, &visitor, "xylophonic").await, 1);
    assert_eq!(eventually(&node_b, &visitor, "xylophonic", 1).await, 1);

    // Moved to staff only on node B: node A stops showing it to visitors.
    let internal = draft(
        "Warranty claims",
        "<p>Claims need the serial number xylophonic.</p>",
        "internal",
    );
    desk_b.revise_article(&actor, id, &internal).await.unwrap();
    node_b.catch_up(true).await.unwrap();
    assert_eq!(eventually(&node_a, &visitor, "xylophonic", 0).await, 0);
    assert_eq!(eventually(&node_a, &staff, "xylophonic", 1).await, 1);

    // Withdrawn on node A: gone everywhere.
    desk_a.withdraw_article(&actor, id).await.unwrap();
    node_a.catch_up(true).await.unwrap();
    assert_eq!(eventually(&node_b, &staff, "xylophonic", 0).await, 0);
    assert_eq!(node_b.indexed_articles(), 0);

    // A node started later builds its index from the database.
    desk_b.publish_article(&actor, id, Some(2)).await.unwrap();
    node_b.catch_up(true).await.unwrap();
    let node_c = HelpCentre::open(store_b.clone()).await.unwrap();
    assert_eq!(found(&node_c, &staff, "xylophonic").await, 1);
    assert_eq!(found(&node_c, &visitor, "xylophonic").await, 0);

    // No article text in the database files or tables.
    store_a.close().await;
    store_b.close().await;
    let dump = db.raw_dump().await.unwrap();
    for marker in ["xylophonic", "Warranty claims"] {
        assert!(
            !dump.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} stored in clear on {}",
            backend.name()
        );
    }
}

palisade_testkit::on_both_backends!(hidden_articles_do_not_move_the_scores_of_visible_ones);

/// BM25 statistics spanning every audience would let a visitor learn, from the order
/// (or scores) of the articles they may read, whether hidden ones use a word. Scores
/// come from the reader's own articles only: adding internal articles full of a word
/// changes nothing a visitor sees.
async fn hidden_articles_do_not_move_the_scores_of_visible_ones(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let policy = PolicyEngine::load().unwrap();
    let (_, principal, ctx) = author(&store).await;
    let node = HelpCentre::open(store.clone()).await.unwrap();
    let desk = Desk::new(store.clone(), Arc::new(PolicyEngine::load().unwrap()));
    let actor = Actor {
        principal: principal.clone(),
        audit: ctx.clone(),
        channel: Channel::Api,
    };
    let publish = |title: String, body: String, audience: &'static str| {
        let (node, desk, actor) = (&node, &desk, &actor);
        async move {
            let id = desk
                .create_article(actor, &draft(&title, &body, audience))
                .await
                .unwrap();
            desk.publish_article(actor, id.as_str(), Some(1)).await.unwrap();
            node.catch_up(true).await.unwrap();
        }
    };
    publish(
        "Refund policy".into(),
        "<p>Refunds are paid within 30 days of the return.</p>".into(),
        "public",
    )
    .await;
    publish(
        "Lost parcels".into(),
        "<p>A parcel lost by the courier is refunded or sent again, as you prefer.</p>".into(),
        "public",
    )
    .await;
    let visitor = policy.audience_filter(Reader::Visitor);
    let staff = policy.audience_filter(Reader::User(&principal));
    let seen = |results: palisade_assist::SearchResults| {
        results
            .hits
            .iter()
            .map(|h| (h.article.id.to_string(), h.score, h.snippet.text.clone()))
            .collect::<Vec<_>>()
    };
    let before = seen(
        node.search("en", &visitor, "refund parcel courier", 10)
            .await
            .unwrap(),
    );
    assert_eq!(before.len(), 2);
    // Coverage: the share of the query's words an article has, in its title or text,
    // as the analyzer reads them ("refunded" is "refund", "parcels" is "parcel").
    let coverage: HashMap<String, f32> = node
        .search("en", &visitor, "refund parcel courier", 10)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| (h.article.title, h.coverage))
        .collect();
    assert_eq!(coverage["Lost parcels"], 1.0);
    assert!(
        (coverage["Refund policy"] - 1.0 / 3.0).abs() < 1e-6,
        "{coverage:?}"
    );
    for i in 0..20 {
        publish(
            format!("Courier fraud runbook {i}"),
            "<p>Courier refund parcel courier courier: internal checks before any refund.</p>".into(),
            "internal",
        )
        .await;
    }
    let after = seen(
        node.search("en", &visitor, "refund parcel courier", 10)
            .await
            .unwrap(),
    );
    assert_eq!(
        before, after,
        "what a visitor sees does not depend on hidden articles"
    );
    assert_eq!(
        node.search("en", &staff, "refund parcel courier", 30)
            .await
            .unwrap()
            .total,
        22
    );
}
