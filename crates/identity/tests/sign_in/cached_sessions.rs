//! The authenticated-session cache never outlives a change: each node remembers the
//! sessions it has seen, and a sign-out, a role or team change, a disabled account or a
//! revocation made on another node (or behind every node's back, in SQL) is honoured by
//! the very next request. Node B reads through its cache; the changes come from node A.

use super::*;
use palisade_core::{Role, SessionId, TeamId, UnixMillis};
use palisade_crypto::RandomToken;
use palisade_store::{NewSession, SessionStage};

palisade_testkit::on_both_backends!(
    a_sign_out_on_one_node_ends_the_session_on_the_other_at_once,
    a_disabled_account_is_refused_at_its_next_request,
    role_and_team_changes_reach_every_node_at_once,
    a_change_made_in_sql_behind_every_node_is_honoured,
    unrelated_activity_keeps_the_cache_warm,
);

struct TwoNodes {
    _db: TestDatabase,
    store_a: Store,
    node_a: Identity,
    node_b: Identity,
    agent: UserId,
    session: SessionId,
    token: RandomToken,
    team: TeamId,
}

/// Two nodes on one database (on SQLite, two services sharing the one writer), an
/// agent in one team with a fully signed-in session that node B has already cached.
async fn two_nodes(backend: Backend) -> TwoNodes {
    let db = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let (store_a, node_a) = open(&db, keys.clone(), ThrottlePolicy::default()).await;
    let store_b = match backend {
        Backend::Postgres => open(&db, keys, ThrottlePolicy::default()).await.0,
        Backend::Sqlite => store_a.clone(),
    };
    let node_b = Identity::new(
        store_b,
        PasswordHasherPool::new(1).unwrap(),
        SessionLimits::default(),
    );
    let agent = account(&store_a, &node_a, "cached@desk.test").await;
    let token = RandomToken::generate().unwrap();
    let mut tx = store_a.begin().await.unwrap();
    let team = store_a.create_team(&mut tx, "Support").await.unwrap();
    store_a.add_team_member(&mut tx, &team, &agent).await.unwrap();
    let session = store_a
        .create_session(
            &mut tx,
            &NewSession {
                user: agent.clone(),
                stage: SessionStage::Full,
                auth_at: UnixMillis::now(),
                token_hash: token.hash(),
                idle_timeout_secs: 1800,
                absolute_timeout_secs: 36_000,
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let nodes = TwoNodes {
        _db: db,
        store_a,
        node_a,
        node_b,
        agent,
        session,
        token,
        team,
    };
    for _ in 0..2 {
        let seen = nodes.on_b().await.expect("the genuine session is served");
        assert_eq!(seen.principal.teams, vec![nodes.team.clone()]);
    }
    nodes
}

impl TwoNodes {
    async fn on_b(&self) -> Option<palisade_identity::Authenticated> {
        self.node_b.authenticate(self.token.expose()).await.unwrap()
    }
}

async fn a_sign_out_on_one_node_ends_the_session_on_the_other_at_once(backend: Backend) {
    let n = two_nodes(backend).await;
    n.node_a.sign_out(&n.session, &from("192.0.2.1")).await.unwrap();
    assert!(
        n.on_b().await.is_none(),
        "a signed-out token must not be served from a cache"
    );
}

async fn a_disabled_account_is_refused_at_its_next_request(backend: Backend) {
    let n = two_nodes(backend).await;
    let mut tx = n.store_a.begin().await.unwrap();
    n.store_a
        .set_user_disabled(&mut tx, &n.agent, true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        n.on_b().await.is_none(),
        "a disabled account must not be served from a cache"
    );
}

async fn role_and_team_changes_reach_every_node_at_once(backend: Backend) {
    let n = two_nodes(backend).await;
    let mut tx = n.store_a.begin().await.unwrap();
    n.store_a
        .remove_team_member(&mut tx, &n.team, &n.agent)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let seen = n.on_b().await.unwrap();
    assert!(
        seen.principal.teams.is_empty(),
        "removed from the team: {:?}",
        seen.principal.teams
    );

    let mut tx = n.store_a.begin().await.unwrap();
    n.store_a
        .set_user_role(&mut tx, &n.agent, Role::Customer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n.on_b().await.unwrap().principal.role, Role::Customer);
}

async fn a_change_made_in_sql_behind_every_node_is_honoured(backend: Backend) {
    let n = two_nodes(backend).await;
    // Not through any Palisade code path: the triggers alone must move the number.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&n._db.url)
        .await
        .unwrap();
    let sql = format!(
        "UPDATE sessions SET revoked_at = {} WHERE id = '{}'",
        UnixMillis::now().0,
        n.session
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(n.on_b().await.is_none(), "revoked in SQL");
}

async fn unrelated_activity_keeps_the_cache_warm(backend: Backend) {
    let n = two_nodes(backend).await;
    let before = n.store_a.identity_generation().await.unwrap();
    // Serving the session (which may extend its idle deadline) and opening another
    // session are not identity changes: the number must not move, or every request
    // would miss.
    n.on_b().await.unwrap();
    n.store_a
        .touch_session(&n.session, UnixMillis::now(), 1800)
        .await
        .unwrap();
    account(&n.store_a, &n.node_a, "another@desk.test").await;
    assert_eq!(n.store_a.identity_generation().await.unwrap(), before);
}

/// The number is moved at commit (deferred triggers), so it never orders two
/// transactions' other locks: one that changes an account and then ends a session, and
/// one that ends that session and then changes another account, both commit. With the
/// counter row locked at each change instead, they would deadlock and PostgreSQL would
/// abort one (a password change or a disable, say).
#[tokio::test]
async fn changes_locking_accounts_and_sessions_in_opposite_orders_both_commit_on_postgres() {
    let n = two_nodes(Backend::Postgres).await;
    let other = account(&n.store_a, &n.node_a, "other@desk.test").await;
    let before = n.store_a.identity_generation().await.unwrap();
    let connect = || async {
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&n._db.url)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        conn
    };
    let end_session = format!(
        "UPDATE sessions SET revoked_at = {} WHERE id = '{}'",
        UnixMillis::now().0,
        n.session
    );
    let (mut first, mut second) = (connect().await, connect().await);
    exec_in(
        &mut first,
        format!("UPDATE users SET locale = 'de' WHERE id = '{}'", n.agent),
    )
    .await
    .unwrap();
    exec_in(&mut second, end_session.clone())
        .await
        .expect("ending the session does not wait for the first's account change");
    // The first now waits for the session row the second holds.
    let first_done = tokio::spawn(async move {
        exec_in(&mut first, end_session).await?;
        exec_in(&mut first, "COMMIT".into()).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    exec_in(
        &mut second,
        format!("UPDATE users SET locale = 'fr' WHERE id = '{other}'"),
    )
    .await
    .expect("the second is not stuck behind the first");
    exec_in(&mut second, "COMMIT".into()).await.unwrap();
    first_done.await.unwrap().expect("the first commits too");
    assert!(n.store_a.identity_generation().await.unwrap() >= before + 3);
    assert!(n.on_b().await.is_none(), "and the ended session is refused");
}

/// Runs `sql`; waiting more than ten seconds for a lock counts as failing.
async fn exec_in(conn: &mut sqlx::AnyConnection, sql: String) -> Result<(), sqlx::Error> {
    let statement = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn);
    match tokio::time::timeout(std::time::Duration::from_secs(10), statement).await {
        Ok(done) => done.map(|_| ()),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}
