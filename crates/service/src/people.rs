//! People: customers (read, create, update, placed in companies), staff accounts,
//! teams and companies. Placing someone in a company lets them read its shared tickets,
//! so it is decided by Cedar (`company.add_member`) at creation exactly as when moving.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{CompanyId, EmailAddress, Role, TeamId, UserId};
use palisade_crypto::RandomToken;
use palisade_policy::{Action, Resource, UserFacts};
use palisade_store::{CompanyRecord, NewUser, ProfileUpdate, TeamRecord, UserRecord};
use serde_json::json;

use crate::{Actor, Desk, ServiceError, validate_text};

/// A customer to create.
pub struct NewCustomer {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// A staff account to create.
pub struct NewStaff {
    pub role: Role,
    pub email: String,
    pub name: String,
    pub teams: Vec<TeamId>,
}

/// Changes to a customer; `None` leaves a field as it is.
pub struct CustomerChange {
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
}

/// A created account: customers are invited by mail; staff get a setup link to hand
/// over themselves.
pub struct CreatedAccount {
    pub user: UserRecord,
    pub setup_link: Option<RandomToken>,
}

impl Desk {
    /// A customer the actor may act on with `action`. Someone who may not even read
    /// the customer learns nothing, not even that the account exists.
    pub async fn customer_for(
        &self,
        actor: &Actor,
        raw_id: &str,
        action: Action,
    ) -> Result<UserRecord, ServiceError> {
        let id = UserId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let user = match self.store.get_user(&id).await {
            Ok(u) if u.role == Role::Customer => u,
            Ok(_) | Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, Action::UserRead, id.as_str(), "not_found")
                    .await?;
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        let teams = self.store.user_teams(&user.id).await?;
        let resource = Resource::User(UserFacts {
            id: user.id.clone(),
            role: user.role,
            company: user.company.clone(),
            teams,
        });
        self.authorize(actor, Action::UserRead, &resource)
            .await
            .map_err(|_| ServiceError::NotFound)?;
        if action != Action::UserRead {
            self.authorize(actor, action, &resource).await?;
            // Nothing of an erased person is kept again: no new name, phone or company.
            if user.erased {
                return Err(ServiceError::conflict("refusal-person-erased"));
            }
        }
        Ok(user)
    }

    pub async fn update_customer(
        &self,
        actor: &Actor,
        raw_id: &str,
        change: CustomerChange,
    ) -> Result<UserRecord, ServiceError> {
        let user = self.customer_for(actor, raw_id, Action::UserUpdate).await?;
        let company = match change.company {
            Some(Some(c)) => Some(Some(self.company_to_join(actor, &c).await?)),
            Some(None) => Some(None),
            None => None,
        };
        let update = ProfileUpdate {
            name: change.name.map(|n| validate_text("name", &n, 200)).transpose()?,
            phone: change.phone.map(optional_phone).transpose()?,
            company,
        };
        let mut tx = self.store.begin().await?;
        self.store.update_profile(&mut tx, &user.id, &update).await?;
        let changed: Vec<&str> = [
            ("name", update.name.is_some()),
            ("phone", update.phone.is_some()),
            ("company", update.company.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        let event = AuditEvent::new(AuditAction::UserUpdated, user.id.to_string(), Outcome::Success)
            .with_detail(json!({ "fields": changed, "channel": actor.channel.as_str() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_user(&user.id).await?)
    }

    /// The company a customer is being placed in, if the actor may place people there.
    async fn company_to_join(&self, actor: &Actor, company: &str) -> Result<CompanyId, ServiceError> {
        let company = CompanyId::parse(company)?;
        self.store
            .get_company(&company)
            .await
            .map_err(|_| ServiceError::conflict("refusal-unknown-company"))?;
        self.authorize(
            actor,
            Action::CompanyAddMember,
            &Resource::Company(company.clone()),
        )
        .await?;
        Ok(company)
    }

    pub async fn create_customer(
        &self,
        actor: &Actor,
        new: NewCustomer,
    ) -> Result<CreatedAccount, ServiceError> {
        self.authorize(actor, Action::CreateCustomer, &Resource::Directory)
            .await?;
        let company = match new.company.as_deref() {
            Some(c) => Some(self.company_to_join(actor, c).await?),
            None => None,
        };
        let new = NewUser {
            role: Role::Customer,
            email: EmailAddress::parse(&new.email)?,
            name: validate_text("name", &new.name, 200)?,
            phone: optional_phone(new.phone)?,
            company,
            password_hash: None,
        };
        self.create_account(actor, &new, &[]).await
    }

    pub async fn create_staff(&self, actor: &Actor, new: NewStaff) -> Result<CreatedAccount, ServiceError> {
        self.authorize(actor, Action::ManageStaff, &Resource::Directory)
            .await?;
        if !new.role.is_staff() {
            return Err(ServiceError::invalid("refusal-staff-endpoint"));
        }
        for t in &new.teams {
            self.store
                .get_team(t)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        }
        let account = NewUser {
            role: new.role,
            email: EmailAddress::parse(&new.email)?,
            name: validate_text("name", &new.name, 200)?,
            phone: None,
            company: None,
            password_hash: None,
        };
        self.create_account(actor, &account, &new.teams).await
    }

    async fn create_account(
        &self,
        actor: &Actor,
        new: &NewUser,
        teams: &[TeamId],
    ) -> Result<CreatedAccount, ServiceError> {
        let identity = self.identity()?;
        let mut tx = self.store.begin().await?;
        let id = self.store.create_user(&mut tx, new).await?;
        for t in teams {
            self.store.add_team_member(&mut tx, t, &id).await?;
        }
        let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success).with_detail(
            json!({ "role": new.role.as_str(), "teams": teams.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                    "channel": actor.channel.as_str() }),
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        if !new.role.is_staff() {
            identity
                .invite(&mut tx, &id, &new.email, &new.name, &actor.audit)
                .await?;
        }
        tx.commit().await?;
        let user = self.store.get_user(&id).await?;
        let setup_link = if new.role.is_staff() {
            Some(identity.issue_setup_link(&id, &actor.audit).await?)
        } else {
            None
        };
        Ok(CreatedAccount { user, setup_link })
    }

    /// An administrator made by the operator at the machine (`palisade admin create`:
    /// whoever holds the master key is trusted already), and on a fresh install the
    /// first team, which receives new tickets. Returns the account and its one-time
    /// setup link.
    /// The first administrator, from the link `serve` prints on an empty database:
    /// refused once any staff account exists, so the link cannot mint a second admin.
    pub async fn first_administrator(
        &self,
        audit: &AuditContext,
        email: &str,
        name: &str,
    ) -> Result<(UserId, RandomToken), ServiceError> {
        if self.has_staff().await? {
            return Err(ServiceError::conflict("refusal-admin-exists"));
        }
        self.bootstrap_admin(audit, email, name, "first_run_link").await
    }

    /// Whether any staff account exists (an empty desk has none).
    pub async fn has_staff(&self) -> Result<bool, ServiceError> {
        let page = self
            .store
            .list_users(palisade_store::UserKind::Staff, None, 1)
            .await?;
        Ok(!page.items.is_empty())
    }

    pub async fn bootstrap_admin(
        &self,
        audit: &AuditContext,
        email: &str,
        name: &str,
        channel: &str,
    ) -> Result<(UserId, RandomToken), ServiceError> {
        let identity = self.identity()?;
        let email = EmailAddress::parse(email)?;
        let name = validate_text("name", name, 200)?;
        if self.store.find_user_by_email(&email).await?.is_some() {
            return Err(ServiceError::conflict("refusal-email-taken"));
        }
        let first_team = self.store.list_teams().await?.is_empty();
        let mut tx = self.store.begin().await?;
        let new = NewUser {
            role: Role::Admin,
            email,
            name,
            phone: None,
            company: None,
            password_hash: None,
        };
        let id = self.store.create_user(&mut tx, &new).await?;
        let team = if first_team {
            let team = self.store.create_team(&mut tx, "Support").await?;
            self.store.add_team_member(&mut tx, &team, &id).await?;
            Some(team)
        } else {
            None
        };
        if let Some(team) = &team {
            let event = AuditEvent::new(AuditAction::TeamCreated, team.to_string(), Outcome::Success);
            self.store.append_audit(&mut tx, audit, &event).await?;
        }
        let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
            .with_detail(json!({ "role": "admin", "channel": channel }));
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        let token = identity.issue_setup_link(&id, audit).await?;
        Ok((id, token))
    }

    pub async fn create_team(&self, actor: &Actor, name: &str) -> Result<TeamRecord, ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let name = validate_text("name", name, 100)?;
        let mut tx = self.store.begin().await?;
        let id = self.store.create_team(&mut tx, &name).await?;
        let event = AuditEvent::new(AuditAction::TeamCreated, id.to_string(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_team(&id).await?)
    }

    /// Changes a team's settings: secure delivery of its replies (customers are
    /// mailed only that there is a reply and a link), and whether its agents'
    /// notification mail may carry message text and the customer's address.
    pub async fn update_team(
        &self,
        actor: &Actor,
        raw_team: &str,
        change: palisade_store::TeamSettings,
    ) -> Result<TeamRecord, ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let team = TeamId::parse(raw_team).map_err(|_| ServiceError::NotFound)?;
        crate::automation::valid_assignment(change.auto_assign.as_deref(), change.assign_cap)?;
        let mut change = change;
        if let Some(texts) = change.ack_texts.take() {
            change.ack_texts = Some(crate::automation::valid_ack_texts(&texts)?);
        }
        if let Some(texts) = change.survey_texts.take() {
            change.survey_texts = Some(crate::automation::valid_survey_texts(&texts)?);
        }
        let mut tx = self.store.begin().await?;
        self.store.update_team_settings(&mut tx, &team, &change).await?;
        let event = AuditEvent::new(AuditAction::TeamUpdated, team.to_string(), Outcome::Success)
            .with_detail(json!({ "secure_delivery": change.secure_delivery,
                    "notifications_with_text": change.notifications_with_text,
                    "auto_assign": change.auto_assign, "assign_cap": change.assign_cap,
                    "acknowledge": change.acknowledge, "ack_texts": change.ack_texts.is_some(),
                    "satisfaction_survey": change.satisfaction_survey, "survey_texts": change.survey_texts.is_some() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_team(&team).await?)
    }

    /// Adds a staff account to a team.
    pub async fn add_team_member(
        &self,
        actor: &Actor,
        raw_team: &str,
        user: &UserId,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let team = TeamId::parse(raw_team).map_err(|_| ServiceError::NotFound)?;
        self.store.get_team(&team).await?;
        match self.store.get_user(user).await {
            Ok(u) if u.role.is_staff() => {}
            _ => {
                return Err(ServiceError::conflict("refusal-team-members-staff"));
            }
        }
        let mut tx = self.store.begin().await?;
        self.store.add_team_member(&mut tx, &team, user).await?;
        let event = AuditEvent::new(AuditAction::TeamMemberAdded, team.to_string(), Outcome::Success)
            .with_detail(json!({ "user": user.to_string() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_company(
        &self,
        actor: &Actor,
        name: &str,
        share_tickets: bool,
    ) -> Result<CompanyRecord, ServiceError> {
        self.authorize(actor, Action::ManageCompanies, &Resource::Directory)
            .await?;
        let name = validate_text("name", name, 200)?;
        let mut tx = self.store.begin().await?;
        let id = self.store.create_company(&mut tx, &name, share_tickets).await?;
        let event = AuditEvent::new(AuditAction::CompanyCreated, id.to_string(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_company(&id).await?)
    }

    /// Turns on or off whether a company's customers read each other's tickets — from
    /// their next request, for every ticket of the company. Supervisors and
    /// administrators, audited with the old and new setting.
    pub async fn set_company_sharing(
        &self,
        actor: &Actor,
        raw_id: &str,
        share_tickets: bool,
    ) -> Result<CompanyRecord, ServiceError> {
        self.authorize(actor, Action::ManageCompanies, &Resource::Directory)
            .await?;
        let id = palisade_core::CompanyId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let before = self.store.get_company(&id).await?;
        if before.share_tickets != share_tickets {
            let mut tx = self.store.begin().await?;
            if !self
                .store
                .set_company_sharing(&mut tx, &id, share_tickets)
                .await?
            {
                return Err(ServiceError::NotFound);
            }
            let event = AuditEvent::new(
                AuditAction::CompanySharingChanged,
                id.to_string(),
                Outcome::Success,
            )
            .with_detail(serde_json::json!({ "from": before.share_tickets, "to": share_tickets }));
            self.store.append_audit(&mut tx, &actor.audit, &event).await?;
            tx.commit().await?;
        }
        Ok(self.store.get_company(&id).await?)
    }
}

fn optional_phone(phone: Option<String>) -> Result<Option<String>, ServiceError> {
    match phone {
        None => Ok(None),
        Some(p) => {
            let p = p.trim().to_owned();
            let ok = !p.is_empty()
                && p.len() <= 32
                && p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if ok {
                Ok(Some(p))
            } else {
                Err(ServiceError::invalid("refusal-phone"))
            }
        }
    }
}
