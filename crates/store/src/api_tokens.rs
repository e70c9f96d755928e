//! Personal API tokens: stored as hashes with their scopes, expiry, revocation and
//! last use. What a scope allows is decided in `palisade-policy`, not here.

use palisade_core::{UnixMillis, UserId};
use palisade_crypto::TokenHash;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct NewApiToken {
    pub user: UserId,
    pub name: String,
    pub token_hash: TokenHash,
    pub scopes: Vec<String>,
    pub expires_at: UnixMillis,
}

#[derive(Clone, Debug)]
pub struct ApiTokenRecord {
    pub id: String,
    pub user: UserId,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub revoked: bool,
    pub last_used_at: Option<UnixMillis>,
    pub last_used_ip: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at, last_used_ip, token_hash";

fn from_row(r: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiTokenRecord {
        id: r.try_get("id")?,
        user: UserId::parse(&r.try_get::<String, _>("user_id")?)?,
        name: r.try_get("name")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: UnixMillis(r.try_get("created_at")?),
        expires_at: UnixMillis(r.try_get("expires_at")?),
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(UnixMillis),
        last_used_ip: r.try_get("last_used_ip")?,
    })
}

impl Store {
    pub async fn create_api_token(&self, tx: &mut Tx, id: &str, new: &NewApiToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(new.user.as_str())
        .bind(&new.name)
        .bind(&new.token_hash.0)
        .bind(new.scopes.join(" "))
        .bind(UnixMillis::now().0)
        .bind(new.expires_at.0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// A usable token (not revoked, not expired) for the presented hash.
    pub async fn find_live_api_token(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        )))
        .bind(&hash.0)
        .bind(UnixMillis::now().0)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if !TokenHash(row.try_get("token_hash")?).ct_eq(hash) {
            return Ok(None);
        }
        Ok(Some(from_row(&row)?))
    }

    pub async fn list_api_tokens(&self, user: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        )))
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Revokes one of `user`'s tokens; false when it is not theirs or already revoked.
    pub async fn revoke_api_token(&self, tx: &mut Tx, user: &UserId, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(UnixMillis::now().0)
        .bind(id)
        .bind(user.as_str())
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_user_api_tokens(&self, tx: &mut Tx, user: &UserId) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(UnixMillis::now().0)
                .bind(user.as_str())
                .execute(tx.conn())
                .await?;
        Ok(done.rows_affected())
    }

    pub async fn mark_api_token_used(&self, id: &str, ip: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(UnixMillis::now().0)
            .bind(ip)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
