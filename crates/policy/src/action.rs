/// Everything a principal can ask to do. The mapping to Cedar action ids is one
/// exhaustive match, so adding an action forces a decision about its policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    TicketRead,
    TicketReadInternal,
    TicketReply,
    TicketNote,
    TicketAssign,
    TicketSetStatus,
    /// Priority and type.
    TicketClassify,
    TicketTag,
    TicketAttach,
    TicketManageCollaborators,
    TicketCreate,
    /// Merge a duplicate into another ticket: needed on both, the duplicate and the
    /// survivor.
    TicketMerge,
    /// Link two related tickets: needed on both.
    TicketLink,
    /// Set the values of a ticket's custom fields.
    TicketSetFields,
    /// Say how satisfied one is with a solved ticket (its requester).
    TicketRate,
    UserRead,
    UserUpdate,
    UserEndSessions,
    UserDisable,
    UserManageTokens,
    UserManageFactors,
    /// See a customer's contact details in clear (step-up, audited).
    UserUnmask,
    /// Merge a duplicate customer account into another: needed on both. Its tickets
    /// and conversations move, and the duplicate is closed for good.
    UserMerge,
    /// Erase a customer under privacy law: their key destroyed, their words removed.
    UserErase,
    /// Everything stored about a person, in one archive (subject access): the person
    /// themselves, and whoever answers privacy requests.
    UserExport,
    CompanyRead,
    /// Place a customer in a company (at creation or by moving them): company members
    /// may read each other's shared tickets, so this is a supervisor's decision.
    CompanyAddMember,
    TeamRead,
    /// Review quarantined mail of a team: read it, release it into a ticket, discard it.
    MailReview,
    /// Hand a ticket to this team (moving it there).
    TeamRouteTo,
    ListCustomers,
    CreateCustomer,
    ListStaff,
    ManageStaff,
    ManageTeams,
    ListTeams,
    ManageCompanies,
    /// Define, change and retire custom ticket fields.
    ManageFields,
    /// Change the desk's runtime settings (organisation name, default locale, the
    /// assistant's thresholds).
    ManageSettings,
    /// Business-hours calendars and service-level policies.
    ManageServiceLevels,
    /// Triggers and automations.
    ManageAutomation,
    ListCompanies,
    ListTickets,
    /// The reports: counts and times over the tickets one may read.
    ReadReports,
    SearchTickets,
    /// Read one help-centre article (anonymous visitors included).
    ArticleRead,
    /// Write, publish or withdraw a help-centre article.
    ArticleManage,
    /// Apply a macro to a ticket (the ticket's own actions are decided separately).
    MacroUse,
    /// Create, change or delete a macro.
    MacroManage,
    /// List the tickets of a saved view.
    ViewUse,
    /// Save or delete a view.
    ViewManage,
    /// Talk in one assistant conversation.
    AssistantUse,
    /// Hand one assistant conversation over to a person (a ticket in the owner's name).
    AssistantHandOver,
    /// Enter the staff workspace: the pages of the review queue, the articles and
    /// whatever else exists only for the people who serve customers.
    EnterWorkspace,
    AuditRead,
    /// Read the security alerts.
    ReadAlerts,
    /// Answer privacy requests (erasure, and approving another's) and place or
    /// release legal holds.
    ManagePrivacy,
    /// Webhook endpoints and the other ways in and out for third-party systems.
    ManageIntegrations,
}

impl Action {
    pub const ALL: [Action; 58] = [
        Action::TicketRead,
        Action::TicketReadInternal,
        Action::TicketReply,
        Action::TicketNote,
        Action::TicketAssign,
        Action::TicketSetStatus,
        Action::TicketClassify,
        Action::TicketTag,
        Action::TicketAttach,
        Action::TicketManageCollaborators,
        Action::TicketCreate,
        Action::TicketMerge,
        Action::TicketLink,
        Action::TicketSetFields,
        Action::TicketRate,
        Action::UserRead,
        Action::UserUpdate,
        Action::UserEndSessions,
        Action::UserDisable,
        Action::UserManageTokens,
        Action::UserManageFactors,
        Action::UserUnmask,
        Action::UserMerge,
        Action::UserErase,
        Action::UserExport,
        Action::CompanyRead,
        Action::CompanyAddMember,
        Action::TeamRead,
        Action::MailReview,
        Action::TeamRouteTo,
        Action::ListCustomers,
        Action::CreateCustomer,
        Action::ListStaff,
        Action::ManageStaff,
        Action::ManageTeams,
        Action::ListTeams,
        Action::ManageCompanies,
        Action::ManageFields,
        Action::ManageSettings,
        Action::ManageServiceLevels,
        Action::ManageAutomation,
        Action::ListCompanies,
        Action::ListTickets,
        Action::ReadReports,
        Action::SearchTickets,
        Action::ArticleRead,
        Action::ArticleManage,
        Action::MacroUse,
        Action::MacroManage,
        Action::ViewUse,
        Action::ViewManage,
        Action::AssistantUse,
        Action::AssistantHandOver,
        Action::EnterWorkspace,
        Action::AuditRead,
        Action::ReadAlerts,
        Action::ManagePrivacy,
        Action::ManageIntegrations,
    ];

    /// Whether the action only reads what it applies to.
    pub fn is_read(self) -> bool {
        matches!(self, Action::TicketRead | Action::TicketReadInternal)
    }

    /// Whether someone who is not signed in may be asked about at all, mirroring the
    /// `Visitor` principal in the schema's `appliesTo`.
    pub fn open_to_visitors(self) -> bool {
        matches!(
            self,
            Action::ArticleRead | Action::AssistantUse | Action::AssistantHandOver
        )
    }

    /// The kind of resource the action applies to, mirroring `appliesTo` in the schema.
    pub fn resource_kind(self) -> crate::ResourceKind {
        use crate::ResourceKind as K;
        match self {
            Action::TicketRead
            | Action::TicketReadInternal
            | Action::TicketReply
            | Action::TicketNote
            | Action::TicketAssign
            | Action::TicketSetStatus
            | Action::TicketClassify
            | Action::TicketTag
            | Action::TicketAttach
            | Action::TicketManageCollaborators
            | Action::TicketCreate
            | Action::TicketMerge
            | Action::TicketLink
            | Action::TicketSetFields
            | Action::TicketRate => K::Ticket,
            Action::UserRead
            | Action::UserUpdate
            | Action::UserEndSessions
            | Action::UserDisable
            | Action::UserManageTokens
            | Action::UserManageFactors
            | Action::UserUnmask
            | Action::UserMerge
            | Action::UserErase
            | Action::UserExport => K::User,
            Action::CompanyRead | Action::CompanyAddMember => K::Company,
            Action::TeamRead | Action::MailReview | Action::TeamRouteTo => K::Team,
            Action::ListCustomers
            | Action::CreateCustomer
            | Action::ListStaff
            | Action::ManageStaff
            | Action::ManageTeams
            | Action::ListTeams
            | Action::ManageCompanies
            | Action::ManageFields
            | Action::ManageSettings
            | Action::ManageServiceLevels
            | Action::ManageAutomation
            | Action::ManagePrivacy
            | Action::ManageIntegrations
            | Action::ListCompanies
            | Action::ListTickets
            | Action::ReadReports
            | Action::SearchTickets
            | Action::EnterWorkspace => K::Directory,
            Action::ArticleRead | Action::ArticleManage => K::Article,
            Action::MacroUse | Action::MacroManage => K::Macro,
            Action::ViewUse | Action::ViewManage => K::View,
            Action::AssistantUse | Action::AssistantHandOver => K::Conversation,
            Action::AuditRead | Action::ReadAlerts => K::AuditTrail,
        }
    }

    /// The API-token scope an action needs. Exhaustive, so a new action must say which.
    pub fn required_scope(self) -> palisade_core::Scope {
        use palisade_core::Scope;
        match self {
            Action::TicketRead
            | Action::TicketReadInternal
            | Action::ListTickets
            | Action::SearchTickets
            | Action::ReadReports => Scope::TicketsRead,
            Action::TicketReply
            | Action::TicketNote
            | Action::TicketAssign
            | Action::TicketSetStatus
            | Action::TicketClassify
            | Action::TicketTag
            | Action::TicketAttach
            | Action::TicketManageCollaborators
            | Action::TicketCreate
            | Action::TicketMerge
            | Action::TicketLink
            | Action::TicketSetFields
            | Action::TicketRate
            | Action::MailReview
            | Action::TeamRouteTo => Scope::TicketsWrite,
            Action::UserRead
            | Action::UserExport
            | Action::UserUnmask
            | Action::CompanyRead
            | Action::TeamRead
            | Action::ListCustomers
            | Action::ListStaff
            | Action::ListTeams
            | Action::ListCompanies => Scope::PeopleRead,
            Action::UserUpdate
            | Action::UserEndSessions
            | Action::UserDisable
            | Action::UserManageTokens
            | Action::UserManageFactors
            | Action::UserMerge
            | Action::UserErase
            | Action::CreateCustomer
            | Action::ManageStaff
            | Action::ManageTeams
            | Action::ManageCompanies
            | Action::CompanyAddMember => Scope::PeopleWrite,
            // The fields and settings are the desk's own configuration: an
            // administrator's session, or a token allowed to change people and teams
            // (never one made for ticket work).
            Action::ManageFields
            | Action::ManageSettings
            | Action::ManageServiceLevels
            | Action::ManageAutomation
            | Action::ManagePrivacy
            | Action::ManageIntegrations => Scope::PeopleWrite,
            Action::AuditRead | Action::ReadAlerts => Scope::AuditRead,
            Action::ArticleRead => Scope::ArticlesRead,
            Action::ArticleManage => Scope::ArticlesWrite,
            Action::MacroUse | Action::MacroManage => Scope::TicketsWrite,
            Action::ViewUse => Scope::TicketsRead,
            Action::ViewManage => Scope::TicketsWrite,
            // A conversation may open a ticket.
            Action::AssistantUse | Action::AssistantHandOver => Scope::TicketsWrite,
            Action::EnterWorkspace => Scope::TicketsRead,
        }
    }

    pub fn cedar_id(self) -> &'static str {
        match self {
            Action::TicketRead => "ticket.read",
            Action::TicketReadInternal => "ticket.read_internal",
            Action::TicketReply => "ticket.reply",
            Action::TicketNote => "ticket.note",
            Action::TicketAssign => "ticket.assign",
            Action::TicketSetStatus => "ticket.set_status",
            Action::TicketClassify => "ticket.classify",
            Action::TicketTag => "ticket.tag",
            Action::TicketAttach => "ticket.attach",
            Action::TicketManageCollaborators => "ticket.manage_collaborators",
            Action::TicketCreate => "ticket.create",
            Action::TicketMerge => "ticket.merge",
            Action::TicketLink => "ticket.link",
            Action::TicketSetFields => "ticket.set_fields",
            Action::TicketRate => "ticket.rate",
            Action::UserRead => "user.read",
            Action::UserUpdate => "user.update",
            Action::UserEndSessions => "user.end_sessions",
            Action::UserDisable => "user.disable",
            Action::UserManageTokens => "user.manage_tokens",
            Action::UserManageFactors => "user.manage_factors",
            Action::UserUnmask => "user.unmask",
            Action::UserMerge => "user.merge",
            Action::UserErase => "user.erase",
            Action::UserExport => "user.export",
            Action::CompanyRead => "company.read",
            Action::CompanyAddMember => "company.add_member",
            Action::TeamRead => "team.read",
            Action::MailReview => "mail.review",
            Action::TeamRouteTo => "team.route_to",
            Action::ListCustomers => "directory.list_customers",
            Action::CreateCustomer => "directory.create_customer",
            Action::ListStaff => "directory.list_staff",
            Action::ManageStaff => "directory.manage_staff",
            Action::ManageTeams => "directory.manage_teams",
            Action::ListTeams => "directory.list_teams",
            Action::ManageCompanies => "directory.manage_companies",
            Action::ManageFields => "directory.manage_fields",
            Action::ManageSettings => "directory.manage_settings",
            Action::ManageServiceLevels => "directory.manage_service_levels",
            Action::ManageAutomation => "directory.manage_automation",
            Action::ListCompanies => "directory.list_companies",
            Action::ListTickets => "directory.list_tickets",
            Action::ReadReports => "directory.read_reports",
            Action::SearchTickets => "directory.search_tickets",
            Action::ArticleRead => "article.read",
            Action::ArticleManage => "article.manage",
            Action::MacroUse => "macro.use",
            Action::MacroManage => "macro.manage",
            Action::ViewUse => "view.use",
            Action::ViewManage => "view.manage",
            Action::AssistantUse => "assistant.use",
            Action::AssistantHandOver => "assistant.hand_over",
            Action::EnterWorkspace => "workspace.enter",
            Action::AuditRead => "audit.read",
            Action::ReadAlerts => "alerts.read",
            Action::ManagePrivacy => "directory.manage_privacy",
            Action::ManageIntegrations => "directory.manage_integrations",
        }
    }
}
