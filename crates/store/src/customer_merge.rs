//! Merging a duplicate customer account into the account that stays. The duplicate's
//! tickets become the survivor's: every sealed value of each is opened with the
//! duplicate's data key and sealed again with the survivor's (so erasing one person's
//! key later erases exactly their data), and the ticket joins the survivor's company.
//! The duplicate is disabled for good and points at the survivor; mail from its
//! address is then taken as the survivor's ([`Store::find_mail_sender`]).

use palisade_core::{CustomFieldId, EmailAddress, TicketId, UnixMillis};
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::custom_fields::value_row;
use crate::keys::{open_bytes, seal};
use crate::ticket_merge::SEALED;
use crate::{Store, StoreError, Tx, UserRecord};

/// What a merge of customers moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeopleMerged {
    /// Tickets the duplicate had asked.
    pub tickets: usize,
    /// Tickets the duplicate took part in, now the survivor's to take part in.
    pub participations: usize,
}

impl Store {
    /// Moves `duplicate`'s tickets, participations, reply addresses and pending
    /// confirmations to `survivor`, ends the duplicate's sessions and closes it.
    /// Proofs of `user.merge` on both accounts are required.
    pub async fn merge_customers(
        &self,
        tx: &mut Tx,
        proofs: &[Authorized],
        duplicate: &UserRecord,
        survivor: &UserRecord,
    ) -> Result<PeopleMerged, StoreError> {
        let allowed = |u: &UserRecord| proofs.iter().any(|p| p.covers(Action::UserMerge, u.id.as_str()));
        if !allowed(duplicate) || !allowed(survivor) || duplicate.id == survivor.id {
            return Err(StoreError::Unauthorized);
        }
        let survivor_key_id: String = sqlx::query("SELECT data_key_id FROM users WHERE id = $1")
            .bind(survivor.id.as_str())
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
        let to_key = self.load_key_tx(tx, &survivor_key_id).await?;
        // The duplicate's tickets are locked first (on PostgreSQL) so no reply or file
        // is added to one while its values are sealed again: a write to a ticket locks
        // its row as well, so it waits and then sees the survivor's key.
        let lock = match self.dialect {
            crate::Dialect::Postgres => " ORDER BY id FOR UPDATE",
            crate::Dialect::Sqlite => "",
        };
        let asked = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, data_key_id, subject_enc FROM tickets WHERE requester_id = $1{lock}"
        )))
        .bind(duplicate.id.as_str())
        .fetch_all(tx.conn())
        .await?;
        let mut merged = PeopleMerged::default();
        for row in &asked {
            let ticket = TicketId::parse(&row.try_get::<String, _>("id")?)?;
            let from_key = self
                .load_key_tx(tx, &row.try_get::<String, _>("data_key_id")?)
                .await?;
            for sealed in &SEALED {
                self.reseal(tx, sealed, &ticket, &from_key, &to_key).await?;
            }
            let subject = open_bytes(
                &from_key,
                "tickets",
                "subject",
                ticket.as_str(),
                &row.try_get::<Vec<u8>, _>("subject_enc")?,
            )?;
            self.reseal_field_values(tx, &ticket, &from_key, &to_key).await?;
            self.reseal(
                tx,
                &crate::satisfaction::SATISFACTION_SEALED,
                &ticket,
                &from_key,
                &to_key,
            )
            .await?;
            sqlx::query(
                "UPDATE tickets SET requester_id = $1, data_key_id = $2, company_id = $3, subject_enc = $4, \
                 version = version + 1, updated_at = $5 WHERE id = $6",
            )
            .bind(survivor.id.as_str())
            .bind(&survivor_key_id)
            .bind(survivor.company.as_ref().map(ToString::to_string))
            .bind(seal(&to_key, "tickets", "subject", ticket.as_str(), &subject)?)
            .bind(UnixMillis::now().0)
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
            merged.tickets += 1;
        }
        // Taking part: the survivor takes the duplicate's place, unless they already
        // ask or take part in that ticket.
        merged.participations = sqlx::query(
            "INSERT INTO ticket_collaborators (ticket_id, user_id) \
             SELECT c.ticket_id, $1 FROM ticket_collaborators c JOIN tickets t ON t.id = c.ticket_id \
             WHERE c.user_id = $2 AND t.requester_id <> $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind(survivor.id.as_str())
        .bind(duplicate.id.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected() as usize;
        sqlx::query("DELETE FROM ticket_collaborators WHERE user_id = $1")
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        // A ticket the survivor now asks does not list them as taking part as well.
        sqlx::query(
            "DELETE FROM ticket_collaborators WHERE user_id = $1 \
             AND ticket_id IN (SELECT id FROM tickets WHERE requester_id = $1)",
        )
        .bind(survivor.id.as_str())
        .execute(tx.conn())
        .await?;
        // Replies to mail the duplicate was sent, and links mailed to them, keep working
        // for the same person.
        // Their choices about the assistant are the same person's history.
        for table in [
            "reply_capabilities",
            "requester_confirmations",
            "satisfaction_links",
            "consent_records",
        ] {
            let sql = format!("UPDATE {table} SET user_id = $1 WHERE user_id = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(survivor.id.as_str())
                .bind(duplicate.id.as_str())
                .execute(tx.conn())
                .await?;
        }
        sqlx::query("DELETE FROM people_terms WHERE user_id = $1")
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        self.revoke_user_sessions(tx, &duplicate.id).await?;
        sqlx::query("UPDATE users SET disabled = 1, merged_into = $1 WHERE id = $2")
            .bind(survivor.id.as_str())
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        // Accounts merged into the duplicate before now point at the survivor, so mail
        // from their addresses follows one step to an open account.
        sqlx::query("UPDATE users SET merged_into = $1 WHERE merged_into = $2")
            .bind(survivor.id.as_str())
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(merged)
    }

    /// Locks both accounts for a merge (in id order, so two merges of the same pair
    /// never wait on each other) and says, for each, whether it is disabled and
    /// whether it was merged already (in the order given).
    pub async fn lock_for_merge(
        &self,
        tx: &mut Tx,
        accounts: [&palisade_core::UserId; 2],
    ) -> Result<[(bool, bool); 2], StoreError> {
        let lock = match self.dialect {
            crate::Dialect::Postgres => " FOR UPDATE",
            crate::Dialect::Sqlite => "",
        };
        let mut out = [(false, false); 2];
        let mut order = [0, 1];
        order.sort_by_key(|&i| accounts[i].as_str());
        for i in order {
            let (slot, id) = (&mut out[i], accounts[i]);
            let sql = format!("SELECT disabled, merged_into FROM users WHERE id = $1{lock}");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(tx.conn())
                .await?
                .ok_or(StoreError::NotFound)?;
            *slot = (
                row.try_get::<i64, _>("disabled")? != 0,
                row.try_get::<Option<String>, _>("merged_into")?.is_some(),
            );
        }
        Ok(out)
    }

    /// The ticket's personal field values, sealed again under `to`.
    async fn reseal_field_values(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        from: &palisade_crypto::DataKey,
        to: &palisade_crypto::DataKey,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT field_id, value_enc FROM ticket_field_values WHERE ticket_id = $1 AND value_enc IS NOT NULL",
        )
        .bind(ticket.as_str())
        .fetch_all(tx.conn())
        .await?;
        for row in rows {
            let field = CustomFieldId::parse(&row.try_get::<String, _>("field_id")?)?;
            let place = value_row(ticket, &field);
            let plain = open_bytes(
                from,
                "ticket_field_values",
                "value",
                &place,
                &row.try_get::<Vec<u8>, _>("value_enc")?,
            )?;
            sqlx::query(
                "UPDATE ticket_field_values SET value_enc = $1 WHERE ticket_id = $2 AND field_id = $3",
            )
            .bind(seal(to, "ticket_field_values", "value", &place, &plain)?)
            .bind(ticket.as_str())
            .bind(field.as_str())
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }

    /// The account mail from `address` belongs to: its own, or for a merged duplicate
    /// the account it was merged into. Only the mail channel follows merges; signing
    /// in and password resets never do, so a merged address opens no other account.
    pub async fn find_mail_sender(&self, address: &EmailAddress) -> Result<Option<UserRecord>, StoreError> {
        let Some(account) = self.find_user_by_email(address).await? else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT merged_into FROM users WHERE id = $1")
            .bind(account.id.as_str())
            .fetch_one(&self.read)
            .await?;
        match row.try_get::<Option<String>, _>(0)? {
            Some(survivor) => Ok(Some(
                self.get_user(&palisade_core::UserId::parse(&survivor)?).await?,
            )),
            None => Ok(Some(account)),
        }
    }
}
