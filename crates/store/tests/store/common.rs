//! Fixtures the scenarios share.

use sqlx::{AssertSqlSafe, Connection};

/// Runs `sql` on a connection of its own, as someone with write access to the database
/// would: behind the store's back.
pub async fn exec(url: &str, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}
