//! Server-side sessions and one-time setup links. Only SHA-256 hashes of the bearer
//! tokens are stored, so a copy of the database cannot be used to sign in.

use palisade_core::{SessionId, UnixMillis, UserId};
use palisade_crypto::TokenHash;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, Tx};

/// What a session may do. Only `Full` sessions act on data; the others exist to finish
/// signing in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    Full,
    /// The password was right; a second factor is still owed.
    SecondFactor,
    /// A staff account without a second factor: it may only enrol one.
    Enrol,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Full => "full",
            SessionStage::SecondFactor => "second_factor",
            SessionStage::Enrol => "enrol",
        }
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "full" => Ok(SessionStage::Full),
            "second_factor" => Ok(SessionStage::SecondFactor),
            "enrol" => Ok(SessionStage::Enrol),
            other => Err(StoreError::Corrupt(format!("unknown session stage {other:?}"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub user: UserId,
    pub stage: SessionStage,
    /// When the holder proved who they are; 0 for a session that has not finished.
    pub auth_at: UnixMillis,
    pub token_hash: TokenHash,
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user: UserId,
    pub stage: SessionStage,
    pub auth_at: UnixMillis,
    pub created_at: UnixMillis,
    pub last_seen_at: UnixMillis,
    pub idle_expires_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub ip: String,
    pub user_agent: String,
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: SessionId::parse(&row.try_get::<String, _>("id")?)?,
        user: UserId::parse(&row.try_get::<String, _>("user_id")?)?,
        stage: SessionStage::parse(&row.try_get::<String, _>("stage")?)?,
        auth_at: UnixMillis(row.try_get("auth_at")?),
        created_at: UnixMillis(row.try_get("created_at")?),
        last_seen_at: UnixMillis(row.try_get("last_seen_at")?),
        idle_expires_at: UnixMillis(row.try_get("idle_expires_at")?),
        expires_at: UnixMillis(row.try_get("expires_at")?),
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

const SESSION_COLUMNS: &str = "s.id, s.user_id, s.stage, s.auth_at, s.created_at, s.last_seen_at, s.idle_expires_at, s.expires_at, s.ip, s.user_agent";

impl Store {
    pub async fn create_session(&self, tx: &mut Tx, new: &NewSession) -> Result<SessionId, StoreError> {
        let id = SessionId::generate();
        let now = UnixMillis::now();
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at, idle_expires_at, expires_at, \
             ip, user_agent, revoked_at, stage, auth_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, NULL, $9, $10)",
        )
        .bind(id.as_str())
        .bind(&new.token_hash.0)
        .bind(new.user.as_str())
        .bind(now.0)
        .bind(now.plus_secs(new.idle_timeout_secs).0)
        .bind(now.plus_secs(new.absolute_timeout_secs).0)
        .bind(&new.ip)
        .bind(&new.user_agent)
        .bind(new.stage.as_str())
        .bind(new.auth_at.0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    /// The live sessions of an account, newest first (for the devices page and for
    /// enforcing the concurrent-session limit). Sessions still signing in are included;
    /// callers look at `stage`.
    pub async fn live_sessions(&self, user: &UserId) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
             AND s.idle_expires_at > $2 AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id DESC"
        )))
        .bind(user.as_str())
        .bind(UnixMillis::now().0)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Ends one session of `user`; false when it is not theirs or already ended.
    pub async fn revoke_user_session(
        &self,
        tx: &mut Tx,
        user: &UserId,
        id: &SessionId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(UnixMillis::now().0)
        .bind(id.as_str())
        .bind(user.as_str())
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One session by id, whatever its state (for rotating it).
    pub async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Ends one live session inside `tx` and returns it, so a replacement can copy its
    /// device details; `None` if it had already ended (a concurrent rotation won).
    pub async fn take_session(
        &self,
        tx: &mut Tx,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let now = UnixMillis::now().0;
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1"
        )))
        .bind(id.as_str())
        .fetch_one(tx.conn())
        .await?;
        session_from_row(&row).map(Some)
    }

    /// Ends every session of `user` except `keep`, inside `tx`; returns how many ended.
    pub async fn revoke_other_sessions(
        &self,
        tx: &mut Tx,
        user: &UserId,
        keep: Option<&SessionId>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
        )
        .bind(UnixMillis::now().0)
        .bind(user.as_str())
        .bind(keep.map(|k| k.as_str()).unwrap_or(""))
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Extends the idle deadline. Callers throttle this so reads do not all become writes.
    /// Marks the session used at `now` and moves its idle deadline on from there.
    pub async fn touch_session(
        &self,
        id: &SessionId,
        now: UnixMillis,
        idle_timeout_secs: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(now.plus_secs(idle_timeout_secs).0)
        .bind(id.as_str())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, tx: &mut Tx, id: &SessionId) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(UnixMillis::now().0)
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn revoke_user_sessions(&self, tx: &mut Tx, user: &UserId) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(UnixMillis::now().0)
                .bind(user.as_str())
                .execute(tx.conn())
                .await?;
        Ok(done.rows_affected())
    }

    pub async fn create_setup_token(
        &self,
        tx: &mut Tx,
        user: &UserId,
        hash: &TokenHash,
        purpose: &str,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        let now = UnixMillis::now();
        sqlx::query(
            "INSERT INTO setup_tokens (token_hash, user_id, created_at, expires_at, used_at, purpose) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(&hash.0)
        .bind(user.as_str())
        .bind(now.0)
        .bind(now.plus_secs(ttl_secs).0)
        .bind(purpose)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Marks a setup token used and returns its user, atomically: of two concurrent
    /// redemptions exactly one succeeds.
    pub async fn redeem_setup_token(
        &self,
        tx: &mut Tx,
        hash: &TokenHash,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        let now = UnixMillis::now().0;
        // Only the account's newest link of its kind works: asking again replaces the
        // link, even when two requests raced.
        let row = sqlx::query(
            "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             AND NOT EXISTS (SELECT 1 FROM setup_tokens newer WHERE newer.user_id = setup_tokens.user_id \
                 AND newer.purpose = setup_tokens.purpose AND (newer.created_at > setup_tokens.created_at \
                 OR (newer.created_at = setup_tokens.created_at AND newer.token_hash > setup_tokens.token_hash))) \
             RETURNING user_id, purpose",
        )
        .bind(now)
        .bind(&hash.0)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = UserId::parse(&row.try_get::<String, _>(0)?)?;
        let purpose: String = row.try_get(1)?;
        // Used once: every other open link of the account for the same purpose dies.
        self.expire_setup_tokens(tx, &user, &purpose).await?;
        Ok(Some((user, purpose)))
    }

    /// Invalidates the account's unused links of `purpose` (a new reset link replaces
    /// older ones).
    pub async fn expire_setup_tokens(
        &self,
        tx: &mut Tx,
        user: &UserId,
        purpose: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE setup_tokens SET expires_at = 0 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(user.as_str())
        .bind(purpose)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// The account a redeemable setup token belongs to (to judge its new password).
    pub async fn setup_token_user(&self, hash: &TokenHash) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(&hash.0)
        .bind(UnixMillis::now().0)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .transpose()
    }

    /// Whether a setup token is currently redeemable (for showing the form).
    pub async fn setup_token_valid(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(&hash.0)
        .bind(UnixMillis::now().0)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }
}
