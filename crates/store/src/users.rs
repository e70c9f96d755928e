//! People and customer companies. Names, email addresses and phone numbers are
//! sealed; email lookups go through a keyed blind index.

use palisade_core::{CompanyId, EmailAddress, Role, SecretString, TeamId, UnixMillis, UserId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{flag, placeholders};
use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::{Cursor, Page, Store, StoreError, Tx};

pub(crate) const EMAIL_INDEX_DOMAIN: &str = "users.email";

/// The domain of erased accounts' placeholder addresses: reserved (RFC 2606), so no
/// mail is ever delivered there.
pub const ERASED_DOMAIN: &str = "erased.invalid";

fn erased_address(id: &str) -> Result<EmailAddress, StoreError> {
    Ok(EmailAddress::parse(&format!(
        "{}@{ERASED_DOMAIN}",
        id.to_ascii_lowercase()
    ))?)
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub role: Role,
    pub email: EmailAddress,
    pub name: String,
    pub phone: Option<String>,
    pub company: Option<CompanyId>,
    /// An argon2 PHC string, or `None` for an account that has not set a password yet.
    pub password_hash: Option<SecretString>,
}

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: UserId,
    pub role: Role,
    pub email: EmailAddress,
    pub name: String,
    pub phone: Option<String>,
    pub company: Option<CompanyId>,
    pub disabled: bool,
    pub created_at: UnixMillis,
    /// The language they chose for the pages (a tag); `None`: their browser decides.
    pub locale: Option<String>,
    /// Erased under privacy law: nothing of the person is left (the name is empty and
    /// the address a reserved placeholder nobody receives mail at).
    pub erased: bool,
}

/// Changes to a person's profile; `None` keeps a field, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<CompanyId>>,
}

/// A live session joined with its account.
#[derive(Clone, Debug)]
pub struct LiveSession {
    pub id: palisade_core::SessionId,
    pub last_seen: UnixMillis,
    pub stage: crate::SessionStage,
    pub auth_at: UnixMillis,
    /// When the session ends unless used again, and when it ends regardless.
    pub idle_expires: UnixMillis,
    pub expires: UnixMillis,
    pub user: UserRecord,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKind {
    Customers,
    Staff,
}

#[derive(Clone, Debug)]
pub struct CompanyRecord {
    pub id: CompanyId,
    pub name: String,
    pub share_tickets: bool,
    pub created_at: UnixMillis,
}

const USER_COLUMNS: &str = "u.id, u.role, u.data_key_id, u.email_enc, u.name_enc, u.phone_enc, u.company_id, \
     u.disabled, u.created_at, u.locale, u.erased_at, dk.wrapped";

impl Store {
    pub fn email_index(&self, email: &EmailAddress) -> String {
        self.keys
            .blind_index()
            .compute(EMAIL_INDEX_DOMAIN, email.as_str())
    }

    pub async fn create_user(&self, tx: &mut Tx, new: &NewUser) -> Result<UserId, StoreError> {
        // `.invalid` is reserved (RFC 2606): no person has such an address, and the
        // desk's own accounts (its automation account) live there, so nobody can take
        // one of theirs by typing it or by sending mail from it.
        if new.email.as_str().ends_with(".invalid") {
            return Err(StoreError::Conflict);
        }
        self.insert_user(tx, new).await
    }

    /// Creates one of the desk's own accounts (at a reserved `.invalid` address).
    pub async fn create_system_user(&self, tx: &mut Tx, new: &NewUser) -> Result<UserId, StoreError> {
        if !new.email.as_str().ends_with(".invalid") {
            return Err(StoreError::Conflict);
        }
        self.insert_user(tx, new).await
    }

    async fn insert_user(&self, tx: &mut Tx, new: &NewUser) -> Result<UserId, StoreError> {
        let id = UserId::generate();
        // Each customer gets a data key of their own; staff share the organisation's.
        let (key_id, key) = if new.role == Role::Customer {
            self.create_key(tx, id.as_str()).await?
        } else {
            (ORG_KEY_ID.to_owned(), self.load_key_tx(tx, ORG_KEY_ID).await?)
        };
        let row = id.as_str();
        let email_enc = seal(&key, "users", "email", row, new.email.as_str().as_bytes())?;
        let name_enc = seal(&key, "users", "name", row, new.name.as_bytes())?;
        let phone_enc = match &new.phone {
            Some(p) => Some(seal(&key, "users", "phone", row, p.as_bytes())?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO users (id, role, data_key_id, email_index, email_enc, name_enc, phone_enc, company_id, \
             password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
        )
        .bind(row)
        .bind(new.role.as_str())
        .bind(&key_id)
        .bind(self.email_index(&new.email))
        .bind(email_enc)
        .bind(name_enc)
        .bind(phone_enc)
        .bind(new.company.as_ref().map(|c| c.to_string()))
        .bind(new.password_hash.as_ref().map(|h| h.expose().to_owned()))
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        self.index_person(tx, &id, &new.name, new.email.as_str()).await?;
        Ok(id)
    }

    fn user_from_row(&self, row: &AnyRow) -> Result<UserRecord, StoreError> {
        let id: String = row.try_get("id")?;
        if row.try_get::<Option<i64>, _>("erased_at")?.is_some() {
            let company: Option<String> = row.try_get("company_id")?;
            return Ok(UserRecord {
                role: Role::parse(&row.try_get::<String, _>("role")?)?,
                email: erased_address(&id)?,
                name: String::new(),
                phone: None,
                company: company.map(|c| CompanyId::parse(&c)).transpose()?,
                disabled: true,
                created_at: UnixMillis(row.try_get("created_at")?),
                locale: None,
                erased: true,
                id: UserId::parse(&id)?,
            });
        }
        let key = self.unwrap_key(&row.try_get::<String, _>("data_key_id")?, row.try_get("wrapped")?)?;
        let phone: Option<Vec<u8>> = row.try_get("phone_enc")?;
        let company: Option<String> = row.try_get("company_id")?;
        Ok(UserRecord {
            role: Role::parse(&row.try_get::<String, _>("role")?)?,
            email: EmailAddress::parse(&open_text(
                &key,
                "users",
                "email",
                &id,
                &row.try_get::<Vec<u8>, _>("email_enc")?,
            )?)?,
            name: open_text(
                &key,
                "users",
                "name",
                &id,
                &row.try_get::<Vec<u8>, _>("name_enc")?,
            )?,
            phone: phone
                .map(|p| open_text(&key, "users", "phone", &id, &p))
                .transpose()?,
            company: company.map(|c| CompanyId::parse(&c)).transpose()?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            created_at: UnixMillis(row.try_get("created_at")?),
            locale: row.try_get("locale")?,
            erased: false,
            id: UserId::parse(&id)?,
        })
    }

    pub async fn get_user(&self, id: &UserId) -> Result<UserRecord, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN data_keys dk ON dk.id = u.data_key_id WHERE u.id = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.user_from_row(&row)
    }

    /// As [`Store::get_user`], inside a write transaction (sees an account the
    /// transaction itself created).
    pub async fn get_user_in(&self, tx: &mut Tx, id: &UserId) -> Result<UserRecord, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN data_keys dk ON dk.id = u.data_key_id WHERE u.id = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        self.user_from_row(&row)
    }

    pub async fn find_user_by_email(&self, email: &EmailAddress) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN data_keys dk ON dk.id = u.data_key_id WHERE u.email_index = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(self.email_index(email))
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| self.user_from_row(&r)).transpose()
    }

    /// The account behind a live session token, in one query (the hot path of every
    /// authenticated request): the session's state and the enabled account.
    pub async fn live_session_user(
        &self,
        token_hash: &palisade_crypto::TokenHash,
    ) -> Result<Option<LiveSession>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.id AS session_id, s.last_seen_at AS session_last_seen, s.token_hash, \
             s.stage AS session_stage, s.auth_at AS session_auth_at, \
             s.idle_expires_at AS session_idle_expires, s.expires_at AS session_expires \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN data_keys dk ON dk.id = u.data_key_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.idle_expires_at > $2 AND s.expires_at > $2 \
             AND u.disabled = 0"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&token_hash.0)
            .bind(UnixMillis::now().0)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        // The hash was the lookup key; confirm it in constant time before trusting it.
        if !palisade_crypto::TokenHash(row.try_get("token_hash")?).ct_eq(token_hash) {
            return Ok(None);
        }
        Ok(Some(LiveSession {
            id: palisade_core::SessionId::parse(&row.try_get::<String, _>("session_id")?)?,
            last_seen: UnixMillis(row.try_get("session_last_seen")?),
            stage: crate::SessionStage::parse(&row.try_get::<String, _>("session_stage")?)?,
            auth_at: UnixMillis(row.try_get("session_auth_at")?),
            idle_expires: UnixMillis(row.try_get("session_idle_expires")?),
            expires: UnixMillis(row.try_get("session_expires")?),
            user: self.user_from_row(&row)?,
        }))
    }

    /// The identity-change number (migration 0042): it moves, by trigger, with every
    /// change to an account, a team membership or a session's standing, and with
    /// nothing else. A cached session is trusted only while this is unchanged.
    pub async fn identity_generation(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT value FROM counters WHERE name = 'identity_change'")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The stored password hash (PHC string) of an account, if it has one.
    pub async fn password_hash(&self, id: &UserId) -> Result<Option<SecretString>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row
            .try_get::<Option<String>, _>("password_hash")?
            .map(SecretString::new))
    }

    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        id: &UserId,
        hash: &SecretString,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.expose())
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Re-seals changed fields under the account's own data key.
    pub async fn update_profile(
        &self,
        tx: &mut Tx,
        id: &UserId,
        update: &ProfileUpdate,
    ) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT data_key_id, email_enc FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = self
            .load_key_tx(tx, &row.try_get::<String, _>("data_key_id")?)
            .await?;
        if let Some(name) = &update.name {
            sqlx::query("UPDATE users SET name_enc = $1 WHERE id = $2")
                .bind(seal(&key, "users", "name", id.as_str(), name.as_bytes())?)
                .bind(id.as_str())
                .execute(tx.conn())
                .await?;
            let email = open_text(
                &key,
                "users",
                "email",
                id.as_str(),
                &row.try_get::<Vec<u8>, _>("email_enc")?,
            )?;
            self.index_person(tx, id, name, &email).await?;
        }
        if let Some(phone) = &update.phone {
            let sealed = phone
                .as_ref()
                .map(|p| seal(&key, "users", "phone", id.as_str(), p.as_bytes()))
                .transpose()?;
            sqlx::query("UPDATE users SET phone_enc = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id.as_str())
                .execute(tx.conn())
                .await?;
        }
        if let Some(company) = &update.company {
            sqlx::query("UPDATE users SET company_id = $1 WHERE id = $2")
                .bind(company.as_ref().map(|c| c.to_string()))
                .bind(id.as_str())
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// The language a person chose for the pages; `None` leaves it to their browser.
    pub async fn set_user_locale(&self, id: &UserId, locale: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
            .bind(locale)
            .bind(id.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn set_user_role(&self, tx: &mut Tx, id: &UserId, role: Role) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn set_user_disabled(
        &self,
        tx: &mut Tx,
        id: &UserId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(flag(disabled))
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        if disabled {
            // What applications were allowed ends with the account, not just pauses:
            // enabling it again does not bring old tokens back.
            self.revoke_oauth_of_user(tx, id).await?;
        }
        Ok(())
    }

    pub async fn list_users(
        &self,
        kind: UserKind,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page<UserRecord>, StoreError> {
        let role_filter = match kind {
            UserKind::Customers => "u.role = 'customer'",
            UserKind::Staff => "u.role <> 'customer'",
        };
        let (cursor_sql, at, id) = match after {
            Some(c) => (
                "AND (u.created_at > $1 OR (u.created_at = $1 AND u.id > $2))",
                c.key,
                c.id.clone(),
            ),
            None => ("AND $1 = $1 AND $2 = $2", 0, String::new()),
        };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN data_keys dk ON dk.id = u.data_key_id \
             WHERE {role_filter} {cursor_sql} ORDER BY u.created_at, u.id LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(at)
            .bind(id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.read)
            .await?;
        let mut items = rows
            .iter()
            .map(|r| self.user_from_row(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(&mut items, limit, |u| Cursor {
            key: u.created_at.0,
            id: u.id.to_string(),
        }))
    }

    pub async fn user_teams(&self, id: &UserId) -> Result<Vec<TeamId>, StoreError> {
        let rows = sqlx::query("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
            .bind(id.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(TeamId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// Whether a company's customers read each other's tickets; false when there is
    /// no such company.
    pub async fn set_company_sharing(
        &self,
        tx: &mut Tx,
        id: &CompanyId,
        share_tickets: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE companies SET share_tickets = $1 WHERE id = $2")
            .bind(flag(share_tickets))
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_company(
        &self,
        tx: &mut Tx,
        name: &str,
        share_tickets: bool,
    ) -> Result<CompanyId, StoreError> {
        let id = CompanyId::generate();
        let key = self.load_key_tx(tx, ORG_KEY_ID).await?;
        let name_enc = seal(&key, "companies", "name", id.as_str(), name.as_bytes())?;
        sqlx::query(
            "INSERT INTO companies (id, name_enc, share_tickets, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(name_enc)
        .bind(flag(share_tickets))
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    pub async fn get_company(&self, id: &CompanyId) -> Result<CompanyRecord, StoreError> {
        let row = sqlx::query("SELECT id, name_enc, share_tickets, created_at FROM companies WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        self.company_from_row(&key, &row)
    }

    pub async fn list_companies(&self) -> Result<Vec<CompanyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name_enc, share_tickets, created_at FROM companies ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter().map(|r| self.company_from_row(&key, r)).collect()
    }

    fn company_from_row(
        &self,
        key: &palisade_crypto::DataKey,
        row: &AnyRow,
    ) -> Result<CompanyRecord, StoreError> {
        let id: String = row.try_get("id")?;
        Ok(CompanyRecord {
            name: open_text(
                key,
                "companies",
                "name",
                &id,
                &row.try_get::<Vec<u8>, _>("name_enc")?,
            )?,
            share_tickets: row.try_get::<i64, _>("share_tickets")? != 0,
            created_at: UnixMillis(row.try_get("created_at")?),
            id: CompanyId::parse(&id)?,
        })
    }

    /// Users by id, for showing authors and participants; unknown ids are skipped.
    pub async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<UserRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN data_keys dk ON dk.id = u.data_key_id WHERE u.id IN ({})",
            placeholders(0, ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.as_str());
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(|r| self.user_from_row(r)).collect()
    }
}

/// Trims the look-ahead item fetched to learn whether another page exists.
pub(crate) fn paginate<T>(items: &mut Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if has_more {
        items.last().map(|i| cursor_of(i).encode())
    } else {
        None
    };
    Page {
        items: std::mem::take(items),
        next_cursor,
    }
}
