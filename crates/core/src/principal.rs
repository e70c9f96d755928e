use serde::{Deserialize, Serialize};

use crate::{CompanyId, CoreError, SessionId, TeamId, UserId};

/// What an account may be. Access rules live in the Cedar policies, not here: the role
/// is only an attribute those policies read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
    LightAgent,
    Auditor,
    Customer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Supervisor,
        Role::Agent,
        Role::LightAgent,
        Role::Auditor,
        Role::Customer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::LightAgent => "light_agent",
            Role::Auditor => "auditor",
            Role::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| CoreError::UnknownVariant {
                kind: "role",
                value: s.chars().take(32).collect(),
            })
    }

    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Customer)
    }

    /// Whether tickets may be assigned to someone with this role: those who answer
    /// customers (light agents only add notes, auditors only read).
    pub fn takes_assignments(self) -> bool {
        matches!(self, Role::Agent | Role::Supervisor | Role::Admin)
    }
}

/// What an API token may be used for. A token acts as its owner, narrowed to its scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    TicketsRead,
    TicketsWrite,
    PeopleRead,
    PeopleWrite,
    AuditRead,
    /// Read help-centre articles, drafts and internal ones included where the owner may.
    ArticlesRead,
    /// Write, publish and withdraw help-centre articles.
    ArticlesWrite,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::TicketsRead,
        Scope::TicketsWrite,
        Scope::PeopleRead,
        Scope::PeopleWrite,
        Scope::AuditRead,
        Scope::ArticlesRead,
        Scope::ArticlesWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::PeopleRead => "people:read",
            Scope::PeopleWrite => "people:write",
            Scope::AuditRead => "audit:read",
            Scope::ArticlesRead => "articles:read",
            Scope::ArticlesWrite => "articles:write",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| CoreError::UnknownVariant {
                kind: "scope",
                value: s.chars().take(32).collect(),
            })
    }
}

/// The authenticated caller of one request, built by the web layer from a session or
/// an API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub teams: Vec<TeamId>,
    pub company: Option<CompanyId>,
    pub session: Option<SessionId>,
    /// `Some` when the caller used an API token: only these scopes apply, on top of
    /// everything the owner's role allows. `None` for a signed-in session.
    pub scopes: Option<Vec<Scope>>,
}
