use palisade_core::{
    ArticleId, Audience, CompanyId, ConversationId, MacroId, Role, TeamId, TicketId, UserId, ViewId,
};

/// What the policies need to know about a ticket: relationships, never content.
#[derive(Clone, Debug)]
pub struct TicketFacts {
    pub id: TicketId,
    pub requester: UserId,
    pub collaborators: Vec<UserId>,
    pub team: TeamId,
    pub assignee: Option<UserId>,
    pub company: Option<CompanyId>,
    pub company_sharing: bool,
    /// False while nobody has proved to be the requester: no customer reads it yet.
    pub requester_confirmed: bool,
}

/// What the policies need to know about an account being acted on.
#[derive(Clone, Debug)]
pub struct UserFacts {
    pub id: UserId,
    pub role: Role,
    pub company: Option<CompanyId>,
    pub teams: Vec<TeamId>,
}

/// What the policies need to know about a help-centre article: who it is for and
/// whether it is out, never its text.
#[derive(Clone, Debug)]
pub struct ArticleFacts {
    pub id: ArticleId,
    pub audience: Audience,
    /// For [`Audience::Customers`]: only these companies' customers; empty for all.
    pub companies: Vec<CompanyId>,
    pub published: bool,
}

/// Whose a macro is: its owner's alone, or shared (with one team, or every team).
#[derive(Clone, Debug)]
pub struct MacroFacts {
    pub id: MacroId,
    /// A personal macro's owner; `None` for a shared one.
    pub owner: Option<UserId>,
    /// A shared macro's team; `None` for every team.
    pub team: Option<TeamId>,
}

/// Whose a saved view is: its owner's alone, or shared with one team's staff.
#[derive(Clone, Debug)]
pub struct ViewFacts {
    pub id: ViewId,
    /// A personal view's owner; `None` for a shared one.
    pub owner: Option<UserId>,
    /// A shared view's team.
    pub team: Option<TeamId>,
}

#[derive(Clone, Debug)]
pub enum Resource {
    Ticket(TicketFacts),
    User(UserFacts),
    Company(CompanyId),
    Team(TeamId),
    /// The directory of people, teams and companies, for list and create actions.
    Directory,
    AuditTrail,
    Article(ArticleFacts),
    /// An assistant conversation and its owner (`None`: anonymous).
    Conversation(ConversationId, Option<UserId>),
    Macro(MacroFacts),
    View(ViewFacts),
}

/// The kinds of resource, for matching actions to what they apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Ticket,
    User,
    Company,
    Team,
    Directory,
    AuditTrail,
    Article,
    Conversation,
    Macro,
    View,
}

impl Resource {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Ticket(_) => ResourceKind::Ticket,
            Resource::User(_) => ResourceKind::User,
            Resource::Company(_) => ResourceKind::Company,
            Resource::Team(_) => ResourceKind::Team,
            Resource::Directory => ResourceKind::Directory,
            Resource::AuditTrail => ResourceKind::AuditTrail,
            Resource::Article(_) => ResourceKind::Article,
            Resource::Conversation(..) => ResourceKind::Conversation,
            Resource::Macro(_) => ResourceKind::Macro,
            Resource::View(_) => ResourceKind::View,
        }
    }

    /// A short reference for the audit trail.
    pub fn audit_ref(&self) -> String {
        match self {
            Resource::Ticket(t) => t.id.to_string(),
            Resource::User(u) => u.id.to_string(),
            Resource::Company(c) => c.to_string(),
            Resource::Team(t) => t.to_string(),
            Resource::Directory => "directory".into(),
            Resource::AuditTrail => "audit-trail".into(),
            Resource::Article(a) => a.id.to_string(),
            Resource::Conversation(id, _) => id.to_string(),
            Resource::Macro(m) => m.id.to_string(),
            Resource::View(v) => v.id.to_string(),
        }
    }
}
