//! OAuth 2.0 clients, grants, authorization codes and tokens. Client secrets, codes and
//! tokens are stored as SHA-256 hashes of 256-bit random values, never themselves. A
//! grant is one chain of refresh tokens for one client and person; revoking it revokes
//! every token of the chain.

use palisade_core::{UnixMillis, UserId};
use palisade_crypto::TokenHash;
use palisade_policy::{Action, Authorized};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::flag;
use crate::{Store, StoreError, Tx};

/// A client as an administrator describes it.
#[derive(Clone, Debug)]
pub struct OAuthClientChange {
    pub name: String,
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// The staff account a client-credentials token acts as; `None`: that grant is off.
    pub act_as: Option<UserId>,
    pub enabled: bool,
}

#[derive(Clone, Debug)]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub act_as: Option<UserId>,
    pub enabled: bool,
    pub created_by: UserId,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// What a person allowed an application.
#[derive(Clone, Debug)]
pub struct OAuthGrant {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub user: UserId,
    pub scopes: Vec<String>,
    pub created_at: UnixMillis,
    pub last_used_at: Option<UnixMillis>,
    pub revoked_at: Option<UnixMillis>,
}

/// An authorization code as redeemed (`used` when it had been redeemed before).
#[derive(Clone, Debug)]
pub struct OAuthCode {
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: UnixMillis,
    pub used: bool,
}

/// A token as presented: what it allows, and whether it still does.
#[derive(Clone, Debug)]
pub struct OAuthToken {
    /// `access` or `refresh`.
    pub kind: String,
    pub grant_id: Option<String>,
    pub client_id: String,
    pub user: UserId,
    pub scopes: Vec<String>,
    pub expires_at: UnixMillis,
    pub created_at: UnixMillis,
    /// A refresh token already exchanged.
    pub used: bool,
    /// The token, its grant or its client revoked or disabled.
    pub revoked: bool,
}

/// An authorization code to store: bound to its grant, client, redirect URI and PKCE
/// challenge.
pub struct NewOAuthCode<'a> {
    pub hash: &'a TokenHash,
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub expires_at: UnixMillis,
}

/// A token to store.
pub struct NewOAuthToken<'a> {
    pub hash: &'a TokenHash,
    pub kind: &'a str,
    pub grant_id: Option<&'a str>,
    pub client_id: &'a str,
    pub user: &'a UserId,
    pub scopes: &'a [String],
    pub expires_at: UnixMillis,
}

fn list(text: &str, column: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("{column} is not a list")))
}

fn json_list(values: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn may_manage(proof: &Authorized) -> Result<(), StoreError> {
    if proof.covers(Action::ManageIntegrations, "directory") {
        Ok(())
    } else {
        Err(StoreError::Unauthorized)
    }
}

const CLIENT_COLUMNS: &str =
    "id, name, confidential, redirect_uris, scopes, act_as, enabled, created_by, created_at, updated_at";

fn client_from(row: &AnyRow) -> Result<OAuthClient, StoreError> {
    let act_as: Option<String> = row.try_get("act_as")?;
    Ok(OAuthClient {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        confidential: row.try_get::<i64, _>("confidential")? != 0,
        redirect_uris: list(&row.try_get::<String, _>("redirect_uris")?, "redirect_uris")?,
        scopes: list(&row.try_get::<String, _>("scopes")?, "scopes")?,
        act_as: act_as.as_deref().map(UserId::parse).transpose()?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_by: UserId::parse(&row.try_get::<String, _>("created_by")?)?,
        created_at: UnixMillis(row.try_get("created_at")?),
        updated_at: UnixMillis(row.try_get("updated_at")?),
    })
}

fn grant_from(row: &AnyRow) -> Result<OAuthGrant, StoreError> {
    Ok(OAuthGrant {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        client_name: row.try_get("name")?,
        user: UserId::parse(&row.try_get::<String, _>("user_id")?)?,
        scopes: list(&row.try_get::<String, _>("scopes")?, "oauth_grants.scopes")?,
        created_at: UnixMillis(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(UnixMillis),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(UnixMillis),
    })
}

impl Store {
    pub async fn create_oauth_client(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &str,
        created_by: &UserId,
        client: &OAuthClientChange,
        secret: Option<&TokenHash>,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let now = self.now().0;
        sqlx::query(
            "INSERT INTO oauth_clients (id, name, confidential, secret_hash, redirect_uris, scopes, act_as, enabled, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id)
        .bind(&client.name)
        .bind(flag(client.confidential))
        .bind(secret.map(|h| h.0.clone()))
        .bind(json_list(&client.redirect_uris)?)
        .bind(json_list(&client.scopes)?)
        .bind(client.act_as.as_ref().map(UserId::as_str))
        .bind(flag(client.enabled))
        .bind(created_by.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Changes a client; its kind (confidential or public) stays. Narrowing its scopes
    /// narrows nothing already granted by itself: the caller revokes what exceeds them.
    pub async fn update_oauth_client(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &str,
        client: &OAuthClientChange,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let done = sqlx::query(
            "UPDATE oauth_clients SET name = $1, redirect_uris = $2, scopes = $3, act_as = $4, enabled = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&client.name)
        .bind(json_list(&client.redirect_uris)?)
        .bind(json_list(&client.scopes)?)
        .bind(client.act_as.as_ref().map(UserId::as_str))
        .bind(flag(client.enabled))
        .bind(self.now().0)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn set_oauth_client_secret(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &str,
        secret: &TokenHash,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        let done = sqlx::query(
            "UPDATE oauth_clients SET secret_hash = $1, updated_at = $2 WHERE id = $3 AND confidential = 1",
        )
        .bind(&secret.0)
        .bind(self.now().0)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes a client with everything it was granted and issued.
    pub async fn delete_oauth_client(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &str,
    ) -> Result<(), StoreError> {
        may_manage(proof)?;
        for sql in [
            "DELETE FROM oauth_tokens WHERE client_id = $1",
            "DELETE FROM oauth_codes WHERE client_id = $1",
            "DELETE FROM oauth_grants WHERE client_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(tx.conn()).await?;
        }
        let done = sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn oauth_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at, id"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(client_from).collect()
    }

    pub async fn oauth_client(&self, id: &str) -> Result<OAuthClient, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        client_from(&row)
    }

    /// The hash of a confidential client's secret, for comparing in constant time.
    pub async fn oauth_client_secret(&self, id: &str) -> Result<Option<TokenHash>, StoreError> {
        let row = sqlx::query("SELECT secret_hash FROM oauth_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<String>, _>(0)?.map(TokenHash),
            None => None,
        })
    }

    pub async fn create_oauth_grant(
        &self,
        tx: &mut Tx,
        id: &str,
        client_id: &str,
        user: &UserId,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_grants (id, client_id, user_id, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(client_id)
        .bind(user.as_str())
        .bind(json_list(scopes)?)
        .bind(self.now().0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// A person's grants, newest first (revoked ones too).
    pub async fn oauth_grants_of(&self, user: &UserId) -> Result<Vec<OAuthGrant>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.id, g.client_id, c.name, g.user_id, g.scopes, g.created_at, g.last_used_at, g.revoked_at \
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id WHERE g.user_id = $1 \
             ORDER BY g.created_at DESC, g.id",
        )
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(grant_from).collect()
    }

    pub async fn oauth_grant(&self, id: &str) -> Result<OAuthGrant, StoreError> {
        let row = sqlx::query(
            "SELECT g.id, g.client_id, c.name, g.user_id, g.scopes, g.created_at, g.last_used_at, g.revoked_at \
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id WHERE g.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        grant_from(&row)
    }

    /// Revokes a grant and every token of it; false when it was revoked already.
    pub async fn revoke_oauth_grant(&self, tx: &mut Tx, id: &str, why: &str) -> Result<bool, StoreError> {
        let now = self.now().0;
        let done = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $1, revoked_why = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(why)
        .bind(id)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE oauth_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every grant of a client and every token it was issued (it was disabled,
    /// or its scopes narrowed).
    pub async fn revoke_oauth_grants_of_client(
        &self,
        tx: &mut Tx,
        client_id: &str,
    ) -> Result<u64, StoreError> {
        let now = self.now().0;
        let done = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $1, revoked_why = 'client_changed' WHERE client_id = $2 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE oauth_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(client_id)
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// Revokes the tokens a client obtained as its own account (client credentials):
    /// the account it acts as changed.
    pub async fn revoke_oauth_client_tokens(&self, tx: &mut Tx, client_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $1 WHERE client_id = $2 AND grant_id IS NULL AND revoked_at IS NULL",
        )
        .bind(self.now().0)
        .bind(client_id)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes every grant and token a person holds (their account was disabled).
    pub async fn revoke_oauth_of_user(&self, tx: &mut Tx, user: &UserId) -> Result<u64, StoreError> {
        let now = self.now().0;
        let done = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $1, revoked_why = 'account' WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE oauth_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn insert_oauth_code(&self, tx: &mut Tx, code: &NewOAuthCode<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&code.hash.0)
        .bind(code.grant_id)
        .bind(code.client_id)
        .bind(code.redirect_uri)
        .bind(code.code_challenge)
        .bind(code.expires_at.0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// A code as stored, read in `tx` (`used` when it was redeemed already); `None`
    /// for a code that never existed.
    pub async fn find_oauth_code(
        &self,
        tx: &mut Tx,
        hash: &TokenHash,
    ) -> Result<Option<OAuthCode>, StoreError> {
        let row = sqlx::query(
            "SELECT grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at FROM oauth_codes \
             WHERE code_hash = $1",
        )
        .bind(&hash.0)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(OAuthCode {
            grant_id: row.try_get(0)?,
            client_id: row.try_get(1)?,
            redirect_uri: row.try_get(2)?,
            code_challenge: row.try_get(3)?,
            expires_at: UnixMillis(row.try_get(4)?),
            used: row.try_get::<Option<i64>, _>(5)?.is_some(),
        }))
    }

    /// Marks a code redeemed, in `tx`; false when another redemption got there first.
    pub async fn spend_oauth_code(&self, tx: &mut Tx, hash: &TokenHash) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
                .bind(self.now().0)
                .bind(&hash.0)
                .execute(tx.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_oauth_token(&self, tx: &mut Tx, token: &NewOAuthToken<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, kind, grant_id, client_id, user_id, scopes, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&token.hash.0)
        .bind(token.kind)
        .bind(token.grant_id)
        .bind(token.client_id)
        .bind(token.user.as_str())
        .bind(json_list(token.scopes)?)
        .bind(token.expires_at.0)
        .bind(self.now().0)
        .execute(tx.conn())
        .await?;
        if let Some(grant) = token.grant_id {
            sqlx::query("UPDATE oauth_grants SET last_used_at = $1 WHERE id = $2")
                .bind(self.now().0)
                .bind(grant)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// A token by its hash, with whether its grant or client still allows it.
    pub async fn find_oauth_token(&self, hash: &TokenHash) -> Result<Option<OAuthToken>, StoreError> {
        let row = sqlx::query(
            "SELECT t.kind, t.grant_id, t.client_id, t.user_id, t.scopes, t.expires_at, t.created_at, t.used_at, \
                    t.revoked_at, g.revoked_at, c.enabled \
             FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.client_id \
             LEFT JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
        )
        .bind(&hash.0)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(OAuthToken {
            kind: row.try_get(0)?,
            grant_id: row.try_get(1)?,
            client_id: row.try_get(2)?,
            user: UserId::parse(&row.try_get::<String, _>(3)?)?,
            scopes: list(&row.try_get::<String, _>(4)?, "oauth_tokens.scopes")?,
            expires_at: UnixMillis(row.try_get(5)?),
            created_at: UnixMillis(row.try_get(6)?),
            used: row.try_get::<Option<i64>, _>(7)?.is_some(),
            revoked: row.try_get::<Option<i64>, _>(8)?.is_some()
                || row.try_get::<Option<i64>, _>(9)?.is_some()
                || row.try_get::<i64, _>(10)? == 0,
        }))
    }

    /// Marks a refresh token exchanged, in `tx`; false when it had been already (the
    /// caller revokes the grant: someone holds a copy).
    pub async fn use_refresh_token(&self, tx: &mut Tx, hash: &TokenHash) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL",
        )
        .bind(self.now().0)
        .bind(&hash.0)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes one token (RFC 7009); false when there was none.
    pub async fn revoke_oauth_token(&self, tx: &mut Tx, hash: &TokenHash) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(self.now().0)
        .bind(&hash.0)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
