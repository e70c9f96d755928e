//! The desk's runtime settings as stored: names and validated values (validation and
//! meaning belong to the service).

use palisade_core::{UnixMillis, UserId};
use sqlx::Row;

use crate::{Store, StoreError, Tx};

impl Store {
    /// Every stored setting, by name.
    pub async fn desk_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, value FROM desk_settings ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
            .collect()
    }

    /// The language mail to a person is written in (a tag): their own choice, else the
    /// desk's default language as set on the settings page; `None` when neither is.
    pub async fn mail_language(&self, chosen: Option<&str>) -> Result<Option<String>, StoreError> {
        if let Some(tag) = chosen {
            return Ok(Some(tag.to_owned()));
        }
        let row = sqlx::query("SELECT value FROM desk_settings WHERE name = 'default_locale'")
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Stores `value` for `name`, or with `None` removes it (back to the file's value).
    pub async fn put_desk_setting(
        &self,
        tx: &mut Tx,
        name: &str,
        value: Option<&str>,
        by: &UserId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM desk_settings WHERE name = $1")
            .bind(name)
            .execute(tx.conn())
            .await?;
        if let Some(value) = value {
            sqlx::query(
                "INSERT INTO desk_settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(value)
            .bind(UnixMillis::now().0)
            .bind(by.as_str())
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }
}
