//! Second factors: authenticator-app secrets, recovery codes, passkeys and the state of
//! WebAuthn ceremonies. Secrets and credentials are sealed with the owner's data key;
//! recovery codes are stored as keyed hashes computed by the caller. The
//! "accept once" rules are single conditional UPDATEs, so two nodes racing with the
//! same code cannot both win.

use palisade_core::{CeremonyId, PasskeyId, SecretBytes, SessionId, UnixMillis, UserId};
use palisade_crypto::DataKey;
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, seal};
use crate::{Store, StoreError, Tx};

/// An account's authenticator-app enrolment.
#[derive(Debug)]
pub struct TotpRecord {
    pub secret: SecretBytes,
    pub confirmed: bool,
    pub last_step: i64,
}

#[derive(Clone, Debug)]
pub struct PasskeyRecord {
    pub id: PasskeyId,
    pub name: String,
    pub credential_id: String,
    /// The serialised credential (public key, signature counter), opened.
    pub credential: Vec<u8>,
    pub created_at: UnixMillis,
    pub last_used_at: Option<UnixMillis>,
}

impl Store {
    async fn user_key(&self, tx: Option<&mut Tx>, user: &UserId) -> Result<DataKey, StoreError> {
        let sql = "SELECT dk.id, dk.wrapped FROM users u JOIN data_keys dk ON dk.id = u.data_key_id WHERE u.id = $1";
        let query = sqlx::query(sql).bind(user.as_str());
        let row = match tx {
            Some(tx) => query.fetch_optional(tx.conn()).await?,
            None => query.fetch_optional(&self.read).await?,
        }
        .ok_or(StoreError::NotFound)?;
        self.unwrap_key(&row.try_get::<String, _>("id")?, row.try_get("wrapped")?)
    }

    /// Starts (or restarts) authenticator-app enrolment with a new secret. Fails with
    /// `Conflict` when the account already has a confirmed app.
    pub async fn put_pending_totp(
        &self,
        tx: &mut Tx,
        user: &UserId,
        secret: &[u8],
    ) -> Result<(), StoreError> {
        let key = self.user_key(Some(&mut *tx), user).await?;
        let sealed = seal(&key, "mfa_totp", "secret", user.as_str(), secret)?;
        sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NULL")
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO mfa_totp (user_id, secret_enc, confirmed_at, last_step, created_at) \
             VALUES ($1, $2, NULL, 0, $3)",
        )
        .bind(user.as_str())
        .bind(sealed)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn totp(&self, user: &UserId) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query("SELECT secret_enc, confirmed_at, last_step FROM mfa_totp WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let key = self.user_key(None, user).await?;
        let sealed: Vec<u8> = row.try_get("secret_enc")?;
        Ok(Some(TotpRecord {
            secret: SecretBytes::new(open_bytes(&key, "mfa_totp", "secret", user.as_str(), &sealed)?),
            confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
            last_step: row.try_get("last_step")?,
        }))
    }

    /// Confirms a pending enrolment with the time step of its first valid code.
    pub async fn confirm_totp(&self, tx: &mut Tx, user: &UserId, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_totp SET confirmed_at = $1, last_step = $2 \
             WHERE user_id = $3 AND confirmed_at IS NULL AND last_step < $2",
        )
        .bind(UnixMillis::now().0)
        .bind(step)
        .bind(user.as_str())
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the code of time step `step` was used. False when that step (or a
    /// later one) was already used: the code is a replay.
    pub async fn consume_totp_step(&self, user: &UserId, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_totp SET last_step = $1 WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
        )
        .bind(step)
        .bind(user.as_str())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_totp(&self, tx: &mut Tx, user: &UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces every recovery code of `user` with the given keyed hashes.
    pub async fn replace_recovery_codes(
        &self,
        tx: &mut Tx,
        user: &UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        let now = UnixMillis::now().0;
        for hash in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, NULL)",
            )
            .bind(user.as_str())
            .bind(hash)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        }
        Ok(())
    }

    /// Spends a recovery code; false when it is unknown or already used.
    /// Uses the unused code whose hash is one of `hashes` (the code's under the current
    /// root and under roots a rotation retired: codes issued before it still work).
    pub async fn use_recovery_code(&self, user: &UserId, hashes: &[String]) -> Result<bool, StoreError> {
        if hashes.is_empty() {
            return Ok(false);
        }
        let sql = format!(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL AND code_hash IN ({})",
            crate::db::placeholders(2, hashes.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(UnixMillis::now().0)
            .bind(user.as_str());
        for hash in hashes {
            query = query.bind(hash);
        }
        let done = query.execute(&self.write).await?;
        Ok(done.rows_affected() >= 1)
    }

    pub async fn recovery_codes_left(&self, user: &UserId) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.as_str())
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn delete_recovery_codes(&self, tx: &mut Tx, user: &UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn add_passkey(
        &self,
        tx: &mut Tx,
        user: &UserId,
        name: &str,
        credential_id: &str,
        credential: &[u8],
    ) -> Result<PasskeyId, StoreError> {
        let id = PasskeyId::generate();
        let key = self.user_key(Some(&mut *tx), user).await?;
        let sealed = seal(&key, "passkeys", "credential", id.as_str(), credential)?;
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, name, credential_id, passkey_enc, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(name)
        .bind(credential_id)
        .bind(sealed)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    pub async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, credential_id, passkey_enc, created_at, last_used_at FROM passkeys \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.user_key(None, user).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let sealed: Vec<u8> = row.try_get("passkey_enc")?;
                Ok(PasskeyRecord {
                    credential: open_bytes(&key, "passkeys", "credential", &id, &sealed)?,
                    id: PasskeyId::parse(&id)?,
                    name: row.try_get("name")?,
                    credential_id: row.try_get("credential_id")?,
                    created_at: UnixMillis(row.try_get("created_at")?),
                    last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(UnixMillis),
                })
            })
            .collect()
    }

    /// Stores a credential's new state (signature counter) after a successful use.
    pub async fn passkey_used(
        &self,
        user: &UserId,
        id: &PasskeyId,
        credential: &[u8],
    ) -> Result<(), StoreError> {
        let key = self.user_key(None, user).await?;
        let sealed = seal(&key, "passkeys", "credential", id.as_str(), credential)?;
        sqlx::query("UPDATE passkeys SET passkey_enc = $1, last_used_at = $2 WHERE id = $3 AND user_id = $4")
            .bind(sealed)
            .bind(UnixMillis::now().0)
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn rename_passkey(
        &self,
        tx: &mut Tx,
        user: &UserId,
        id: &PasskeyId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes every passkey of `user`; returns how many there were.
    pub async fn delete_passkeys_of(&self, tx: &mut Tx, user: &UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete_passkey(
        &self,
        tx: &mut Tx,
        user: &UserId,
        id: &PasskeyId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps a WebAuthn ceremony's server-side state until `ttl_secs` from now.
    pub async fn put_ceremony(
        &self,
        session: &SessionId,
        kind: &str,
        state: &[u8],
        ttl_secs: i64,
    ) -> Result<CeremonyId, StoreError> {
        let id = CeremonyId::generate();
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "webauthn_ceremonies", kind, id.as_str(), state)?;
        let now = UnixMillis::now();
        // Expired ceremonies are swept by whoever starts a new one.
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.write)
            .await?;
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, session_id, kind, state_enc, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(session.as_str())
        .bind(kind)
        .bind(sealed)
        .bind(now.plus_secs(ttl_secs).0)
        .execute(&self.write)
        .await?;
        Ok(id)
    }

    /// Removes and returns a ceremony's state if it belongs to `session`, is of `kind`
    /// and has not expired: each challenge can be answered once.
    pub async fn take_ceremony(
        &self,
        id: &CeremonyId,
        session: &SessionId,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND session_id = $2 AND kind = $3 AND expires_at > $4 \
             RETURNING state_enc",
        )
        .bind(id.as_str())
        .bind(session.as_str())
        .bind(kind)
        .bind(UnixMillis::now().0)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed: Vec<u8> = row.try_get(0)?;
        Ok(Some(open_bytes(
            &key,
            "webauthn_ceremonies",
            kind,
            id.as_str(),
            &sealed,
        )?))
    }
}
