//! OpenID Connect state: flows in progress (single use, sealed, short-lived) and the
//! links from a provider's subject to a local account.

use palisade_core::{UnixMillis, UserId};
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, seal};
use crate::{Store, StoreError, Tx};

/// A flow taken back when the provider answers.
#[derive(Debug)]
pub struct OidcFlowRecord {
    pub provider: String,
    pub browser_hash: String,
    /// The sealed secrets (PKCE verifier, nonce), opened.
    pub secrets: Vec<u8>,
}

impl Store {
    pub async fn put_oidc_flow(
        &self,
        state_hash: &str,
        provider: &str,
        browser_hash: &str,
        secrets: &[u8],
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "oidc_flows", "secrets_enc", state_hash, secrets)?;
        let now = UnixMillis::now();
        // Abandoned flows are swept by whoever starts a new one.
        sqlx::query("DELETE FROM oidc_flows WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.write)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_flows (state_hash, provider, browser_hash, secrets_enc, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(provider)
        .bind(browser_hash)
        .bind(sealed)
        .bind(now.plus_secs(ttl_secs).0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Removes and returns a live flow; a second call with the same state finds nothing.
    pub async fn take_oidc_flow(&self, state_hash: &str) -> Result<Option<OidcFlowRecord>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oidc_flows WHERE state_hash = $1 AND expires_at > $2 \
             RETURNING provider, browser_hash, secrets_enc",
        )
        .bind(state_hash)
        .bind(UnixMillis::now().0)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed: Vec<u8> = row.try_get(2)?;
        Ok(Some(OidcFlowRecord {
            provider: row.try_get(0)?,
            browser_hash: row.try_get(1)?,
            secrets: open_bytes(&key, "oidc_flows", "secrets_enc", state_hash, &sealed)?,
        }))
    }

    /// Moves a link stored under a retired root's index (`indexes[1..]`) to the current
    /// one (`indexes[0]`); nothing to do without a retired root.
    pub async fn rekey_oidc_link(&self, indexes: &[String]) -> Result<(), StoreError> {
        let Some((current, retired)) = indexes.split_first() else {
            return Ok(());
        };
        if retired.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE oidc_links SET subject_index = $1 WHERE subject_index IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM oidc_links WHERE subject_index = $1)",
            crate::db::placeholders(1, retired.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(current);
        for index in retired {
            query = query.bind(index);
        }
        query.execute(&self.write).await?;
        Ok(())
    }

    pub async fn oidc_linked_user(&self, subject_index: &str) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT user_id FROM oidc_links WHERE subject_index = $1")
            .bind(subject_index)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .transpose()
    }

    pub async fn link_oidc_subject(
        &self,
        tx: &mut Tx,
        subject_index: &str,
        provider: &str,
        user: &UserId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_links (subject_index, provider, user_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(subject_index)
        .bind(provider)
        .bind(user.as_str())
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn touch_oidc_link(&self, tx: &mut Tx, subject_index: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE oidc_links SET last_used_at = $1 WHERE subject_index = $2")
            .bind(UnixMillis::now().0)
            .bind(subject_index)
            .execute(tx.conn())
            .await?;
        Ok(())
    }
}
