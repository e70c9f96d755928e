//! Teams: their members and their settings (how replies are mailed, how new tickets
//! are assigned and acknowledged, whether requesters are asked how satisfied they are).

use palisade_core::{TeamId, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub created_at: UnixMillis,
    /// Replies are mailed as "sign in to read it" only, never their content.
    pub secure_delivery: bool,
    /// Agents' notification mail may carry message text and the customer's address.
    pub notifications_with_text: bool,
    /// `off`, `round_robin` or `least_open`.
    pub auto_assign: String,
    /// At most this many unsolved tickets per agent are assigned automatically.
    pub assign_cap: Option<i64>,
    /// The agent last given a ticket automatically (the round goes on after them).
    pub assign_cursor: Option<String>,
    /// New tickets' requesters are sent an acknowledgement.
    pub acknowledge: bool,
    /// JSON: the acknowledgement's text per language tag (the built-in one without).
    pub ack_texts: String,
    /// Requesters are mailed a satisfaction survey once a ticket is solved.
    pub satisfaction_survey: bool,
    /// JSON: the survey's text per language tag.
    pub survey_texts: String,
}

/// A change to a team's settings; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct TeamSettings {
    pub secure_delivery: Option<bool>,
    pub notifications_with_text: Option<bool>,
    pub auto_assign: Option<String>,
    /// `Some(None)` removes the cap.
    pub assign_cap: Option<Option<i64>>,
    pub acknowledge: Option<bool>,
    pub ack_texts: Option<String>,
    pub satisfaction_survey: Option<bool>,
    pub survey_texts: Option<String>,
}

impl Store {
    pub async fn create_team(&self, tx: &mut Tx, name: &str) -> Result<TeamId, StoreError> {
        let id = TeamId::generate();
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id.as_str())
            .bind(name)
            .bind(UnixMillis::now().0)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        Ok(id)
    }

    /// Changes the team's settings named in `change`.
    pub async fn update_team_settings(
        &self,
        tx: &mut Tx,
        team: &TeamId,
        change: &TeamSettings,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE teams SET secure_delivery = COALESCE($1, secure_delivery), \
             notifications_with_text = COALESCE($2, notifications_with_text), \
             auto_assign = COALESCE($4, auto_assign), acknowledge = COALESCE($5, acknowledge), \
             ack_texts = COALESCE($6, ack_texts), satisfaction_survey = COALESCE($7, satisfaction_survey), \
             survey_texts = COALESCE($8, survey_texts) WHERE id = $3",
        )
        .bind(change.secure_delivery.map(i64::from))
        .bind(change.notifications_with_text.map(i64::from))
        .bind(team.as_str())
        .bind(change.auto_assign.clone())
        .bind(change.acknowledge.map(i64::from))
        .bind(change.ack_texts.clone())
        .bind(change.satisfaction_survey.map(i64::from))
        .bind(change.survey_texts.clone())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(cap) = change.assign_cap {
            sqlx::query("UPDATE teams SET assign_cap = $1 WHERE id = $2")
                .bind(cap)
                .bind(team.as_str())
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn add_team_member(&self, tx: &mut Tx, team: &TeamId, user: &UserId) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(team.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Whether `user` was a member (and no longer is).
    pub async fn remove_team_member(
        &self,
        tx: &mut Tx,
        team: &TeamId,
        user: &UserId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list_teams(&self) -> Result<Vec<TeamRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, secure_delivery, notifications_with_text, auto_assign, assign_cap, \
             assign_cursor, acknowledge, ack_texts, satisfaction_survey, survey_texts FROM teams ORDER BY name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(team_from_row).collect()
    }

    pub async fn get_team(&self, id: &TeamId) -> Result<TeamRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, created_at, secure_delivery, notifications_with_text, auto_assign, assign_cap, \
             assign_cursor, acknowledge, ack_texts, satisfaction_survey, survey_texts FROM teams WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        team_from_row(&row)
    }

    pub async fn team_members(&self, id: &TeamId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
            .bind(id.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }
}

fn team_from_row(row: &AnyRow) -> Result<TeamRecord, StoreError> {
    Ok(TeamRecord {
        id: TeamId::parse(&row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        created_at: UnixMillis(row.try_get("created_at")?),
        secure_delivery: row.try_get::<i64, _>("secure_delivery")? != 0,
        notifications_with_text: row.try_get::<i64, _>("notifications_with_text")? != 0,
        auto_assign: row.try_get("auto_assign")?,
        assign_cap: row.try_get("assign_cap")?,
        assign_cursor: row.try_get("assign_cursor")?,
        acknowledge: row.try_get::<i64, _>("acknowledge")? != 0,
        ack_texts: row.try_get("ack_texts")?,
        satisfaction_survey: row.try_get::<i64, _>("satisfaction_survey")? != 0,
        survey_texts: row.try_get("survey_texts")?,
    })
}
