//! The administration area's use cases over staff and teams: who is in which team,
//! membership changes, and what an administrator does to someone else's account
//! (ending their sessions, disabling it). The API and the admin pages both come here,
//! so a page cannot do what the API refuses or skip the audit entry.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{EmailAddress, Role, TeamId, UserId};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource, UserFacts};
use palisade_store::{CompanyRecord, Cursor, TeamRecord, UserKind, UserRecord};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

/// A staff account and the teams it belongs to.
#[derive(Clone, Debug)]
pub struct StaffEntry {
    pub user: UserRecord,
    pub teams: Vec<TeamId>,
}

/// A team and its members.
#[derive(Clone, Debug)]
pub struct TeamEntry {
    pub team: TeamRecord,
    pub members: Vec<UserRecord>,
}

/// Staff accounts read per store round trip while listing the whole directory.
const DIRECTORY_PAGE: u32 = 200;

impl Desk {
    /// Every staff account with its teams, for those who manage staff.
    pub async fn staff_directory(&self, actor: &Actor) -> Result<Vec<StaffEntry>, ServiceError> {
        self.authorize(actor, Action::ManageStaff, &Resource::Directory)
            .await?;
        let mut entries = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = self
                .store
                .list_users(UserKind::Staff, after.as_ref(), DIRECTORY_PAGE)
                .await?;
            for user in page.items {
                let teams = self.store.user_teams(&user.id).await?;
                entries.push(StaffEntry { user, teams });
            }
            match page.next_cursor {
                Some(next) => after = Some(Cursor::decode(&next)?),
                None => break,
            }
        }
        Ok(entries)
    }

    /// Every company, by name, for those who may list them.
    pub async fn companies(&self, actor: &Actor) -> Result<Vec<CompanyRecord>, ServiceError> {
        self.authorize(actor, Action::ListCompanies, &Resource::Directory)
            .await?;
        let mut companies = self.store.list_companies().await?;
        companies.sort_by_key(|c| c.name.to_lowercase());
        Ok(companies)
    }

    /// A page of customers or of staff, for those who may list them (contact details as
    /// stored: masking is the reader's view, applied by the adapter).
    pub async fn list_people(
        &self,
        actor: &Actor,
        kind: UserKind,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<palisade_store::Page<UserRecord>, ServiceError> {
        let action = match kind {
            UserKind::Customers => Action::ListCustomers,
            UserKind::Staff => Action::ListStaff,
        };
        self.authorize(actor, action, &Resource::Directory).await?;
        let cursor = cursor.map(Cursor::decode).transpose()?;
        Ok(self.store.list_users(kind, cursor.as_ref(), limit).await?)
    }

    /// Whether the principal may find customers by their whole address: those who may
    /// see a customer's address in clear (`user.unmask`). Everyone else works with
    /// masked addresses, so an address must not be confirmable by searching for it.
    pub fn may_search_addresses(&self, principal: &palisade_core::Principal) -> bool {
        let any_customer = Resource::User(UserFacts {
            id: UserId::generate(),
            role: Role::Customer,
            company: None,
            teams: Vec::new(),
        });
        self.permits(principal, Action::UserUnmask, &any_customer)
    }

    /// People of `kind` whose name holds every word of `query` or (for those who may
    /// see addresses) whose address is `query`, for those who may list them. The caller
    /// bounds how often an account may search.
    pub async fn find_people(
        &self,
        actor: &Actor,
        kind: UserKind,
        query: &str,
        limit: u32,
    ) -> Result<Vec<UserRecord>, ServiceError> {
        let action = match kind {
            UserKind::Customers => Action::ListCustomers,
            UserKind::Staff => Action::ListStaff,
        };
        self.authorize(actor, action, &Resource::Directory).await?;
        if query.len() > 500 {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-query-long").with("max", 500_i64),
            ));
        }
        let by_address = self.may_search_addresses(&actor.principal);
        Ok(self
            .store
            .find_people(kind, query, by_address, limit.clamp(1, 100))
            .await?)
    }

    /// Every team with its members, for those who manage teams.
    pub async fn team_directory(&self, actor: &Actor) -> Result<Vec<TeamEntry>, ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let mut entries = Vec::new();
        for team in self.store.list_teams().await? {
            let mut members = Vec::new();
            for id in self.store.team_members(&team.id).await? {
                members.push(self.store.get_user(&id).await?);
            }
            members.sort_by_key(|m| m.name.to_lowercase());
            entries.push(TeamEntry { team, members });
        }
        Ok(entries)
    }

    /// Takes a staff account out of a team: from the next request on it no longer
    /// reads the team's tickets, and notifications about them stop (each is
    /// authorised when delivered). Removing someone who is not a member is a no-op.
    pub async fn remove_team_member(
        &self,
        actor: &Actor,
        raw_team: &str,
        user: &UserId,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let team = TeamId::parse(raw_team).map_err(|_| ServiceError::NotFound)?;
        self.store.get_team(&team).await?;
        let mut tx = self.store.begin().await?;
        if self.store.remove_team_member(&mut tx, &team, user).await? {
            let event = AuditEvent::new(AuditAction::TeamMemberRemoved, team.to_string(), Outcome::Success)
                .with_detail(json!({ "user": user.to_string() }));
            self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The support addresses whose team was changed from the configuration file's, for
    /// those who manage teams.
    pub async fn mailbox_routes(&self, actor: &Actor) -> Result<Vec<(String, TeamId)>, ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        Ok(self.store.mailbox_routes().await?)
    }

    /// Sends mail arriving at `address` (one of the file's support addresses; the
    /// caller knows which exist) to another team from the next message on, or with
    /// `None` back to the team the file names. Tickets already opened stay where they
    /// are.
    pub async fn route_mailbox(
        &self,
        actor: &Actor,
        address: &EmailAddress,
        team: Option<&str>,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageTeams, &Resource::Directory)
            .await?;
        let team = match team {
            Some(raw) => {
                let id = TeamId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
                self.store
                    .get_team(&id)
                    .await
                    .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
                Some(id)
            }
            None => None,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .put_mailbox_route(&mut tx, address.as_str(), team.as_ref(), &actor.principal.user_id)
            .await?;
        let event = AuditEvent::new(AuditAction::MailboxRouted, address.as_str(), Outcome::Success)
            .with_detail(json!({ "team": team.as_ref().map(ToString::to_string) }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The policy's view of an account, for decisions about it.
    pub async fn user_resource(&self, id: &UserId) -> Result<Resource, ServiceError> {
        let user = self.store.get_user(id).await?;
        let teams = self.store.user_teams(id).await?;
        Ok(Resource::User(UserFacts {
            id: user.id,
            role: user.role,
            company: user.company,
            teams,
        }))
    }

    /// An account another actor acts on: unknown accounts and accounts the actor may
    /// not read are both `NotFound` (audited); readable but not this action, `Forbidden`.
    async fn account_target(
        &self,
        actor: &Actor,
        raw_id: &str,
        action: Action,
    ) -> Result<UserId, ServiceError> {
        let id = UserId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let resource = match self.user_resource(&id).await {
            Ok(r) => r,
            Err(ServiceError::NotFound) => {
                self.audit_denial(&actor.audit, action, id.as_str(), "not_found")
                    .await?;
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e),
        };
        self.authorize(actor, Action::UserRead, &resource)
            .await
            .map_err(|_| ServiceError::NotFound)?;
        self.authorize(actor, action, &resource).await?;
        Ok(id)
    }

    /// Signs an account out everywhere (the actor's own current session excepted, when
    /// it is their own account). Returns how many sessions ended.
    pub async fn end_sessions_of(&self, actor: &Actor, raw_id: &str) -> Result<usize, ServiceError> {
        let user = self
            .account_target(actor, raw_id, Action::UserEndSessions)
            .await?;
        let keep = if user == actor.principal.user_id {
            actor.principal.session.as_ref()
        } else {
            None
        };
        Ok(self
            .identity()?
            .end_sessions(&user, keep, "ended_by_admin", &actor.audit)
            .await?)
    }

    /// Removes every second factor of a staff account and ends its sessions, so its
    /// owner sets up a new one at the next sign-in (told by mail). Administrators only,
    /// who must have proved who they are just now (`recently_proved`: the adapter,
    /// which holds the session, asks `palisade_identity::require_recent_auth`; judged
    /// only once the administrator is allowed at all); nobody resets their own, which
    /// their security page does with their old factor.
    pub async fn require_new_second_factor(
        &self,
        actor: &Actor,
        raw_id: &str,
        recently_proved: bool,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageStaff, &Resource::Directory)
            .await?;
        let user = self
            .account_target(actor, raw_id, Action::UserManageFactors)
            .await?;
        if user == actor.principal.user_id {
            return Err(ServiceError::conflict("refusal-own-factors"));
        }
        if !self.store.get_user(&user).await?.role.is_staff() {
            return Err(ServiceError::conflict("refusal-customer-factors"));
        }
        if !recently_proved {
            return Err(palisade_identity::IdentityError::StepUpRequired.into());
        }
        Ok(self.identity()?.reset_second_factors(&user, &actor.audit).await?)
    }

    /// Gives a staff account another staff role. Its sessions end, so the new role (and
    /// its second-factor and session rules) applies from the next sign-in. Nobody
    /// changes their own role: an administrator cannot lock the last one out, or
    /// quietly widen their own reach.
    pub async fn change_role(&self, actor: &Actor, raw_id: &str, role: Role) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageStaff, &Resource::Directory)
            .await?;
        let user = self.account_target(actor, raw_id, Action::UserUpdate).await?;
        if user == actor.principal.user_id {
            return Err(ServiceError::conflict("refusal-own-role"));
        }
        if !role.is_staff() {
            return Err(ServiceError::invalid("refusal-staff-role"));
        }
        let record = self.store.get_user(&user).await?;
        if !record.role.is_staff() {
            return Err(ServiceError::conflict("refusal-customer-role"));
        }
        if record.role == role {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        self.store.set_user_role(&mut tx, &user, role).await?;
        let event = AuditEvent::new(AuditAction::RoleChanged, user.to_string(), Outcome::Success)
            .with_detail(json!({ "from": record.role.as_str(), "to": role.as_str() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        self.identity()?
            .end_sessions(&user, None, "role_changed", &actor.audit)
            .await?;
        Ok(())
    }

    /// Disables an account and ends its sessions. Nobody disables their own account
    /// (an administrator could lock the last one out).
    pub async fn disable_account(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        let user = self.account_target(actor, raw_id, Action::UserDisable).await?;
        if user == actor.principal.user_id {
            return Err(ServiceError::conflict("refusal-own-disable"));
        }
        self.identity()?.disable_account(&user, &actor.audit).await?;
        Ok(())
    }
}
