use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use palisade_core::{CompanyId, Principal, TeamId, UserId};

use crate::{Action, ArticleFacts, PolicyError, Resource, TicketFacts, UserFacts};

const SCHEMA: &str = include_str!("../cedar/palisade.cedarschema");
const POLICIES: &str = include_str!("../cedar/palisade.cedar");

/// Proof that one action on one resource was permitted. Only [`PolicyEngine`] makes
/// them, so a write path that demands one cannot be reached without a decision.
#[derive(Debug)]
pub struct Authorized {
    action: Action,
    resource: String,
    /// The account the decision was for; `None` for a visitor.
    principal: Option<palisade_core::UserId>,
}

impl Authorized {
    /// True when this proof covers `action` on the resource with reference `resource`.
    pub fn covers(&self, action: Action, resource: &str) -> bool {
        self.action == action && self.resource == resource
    }

    /// True when this proof covers `action` on `resource` for the account `actor`: a
    /// write made in someone's name needs a decision taken for them.
    pub fn covers_for(&self, action: Action, resource: &str, actor: &palisade_core::UserId) -> bool {
        self.covers(action, resource) && self.principal.as_ref() == Some(actor)
    }
}

pub struct PolicyEngine {
    schema: Schema,
    /// Per action, only the policies whose scope can name it (see [`slice_by_action`]).
    by_action: HashMap<Action, PolicySet>,
    authorizer: Authorizer,
    types: Types,
    /// A visitor's audiences, asked once: the policies are compiled in and a visitor has
    /// no attributes, so every visitor gets the same answer for the life of the engine.
    pub(crate) visitor_audience: std::sync::OnceLock<crate::AudienceFilter>,
}

struct Types {
    user: EntityTypeName,
    team: EntityTypeName,
    company: EntityTypeName,
    ticket: EntityTypeName,
    directory: EntityTypeName,
    audit: EntityTypeName,
    visitor: EntityTypeName,
    article: EntityTypeName,
    conversation: EntityTypeName,
    macro_: EntityTypeName,
    view: EntityTypeName,
    action: EntityTypeName,
}

/// Splits the policies by the action their scope names. Cedar evaluates every policy of
/// the set it is given; a policy whose scope names other actions can neither permit nor
/// forbid (nor err: the scope is matched before any condition), so leaving it out of
/// that action's set changes no decision, and a read meets a handful of policies
/// instead of all of them. Actions have no groups in the schema; a scope naming
/// anything that is not one of [`Action::ALL`] keeps its policy in every set.
fn slice_by_action(
    policies: &PolicySet,
    action_type: &EntityTypeName,
) -> Result<HashMap<Action, PolicySet>, PolicyError> {
    let uid_of = |action: Action| {
        EntityUid::from_type_name_and_id(action_type.clone(), EntityId::new(action.cedar_id()))
    };
    let known: HashSet<EntityUid> = Action::ALL.iter().map(|a| uid_of(*a)).collect();
    let mut sliced = HashMap::new();
    for action in Action::ALL {
        let uid = uid_of(action);
        let mut set = PolicySet::new();
        for policy in policies.policies() {
            let applies = match policy.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(named) => named == uid || !known.contains(&named),
                ActionConstraint::In(named) => named.iter().any(|n| *n == uid || !known.contains(n)),
            };
            if applies {
                set.add(policy.clone())
                    .map_err(|e| PolicyError::InvalidPolicies(e.to_string()))?;
            }
        }
        sliced.insert(action, set);
    }
    Ok(sliced)
}

/// Who is asking: an account, or someone who has not signed in.
#[derive(Clone, Copy, Debug)]
pub enum Reader<'a> {
    User(&'a Principal),
    Visitor,
}

impl<'a> From<Option<&'a Principal>> for Reader<'a> {
    fn from(principal: Option<&'a Principal>) -> Self {
        principal.map_or(Reader::Visitor, Reader::User)
    }
}

fn type_name(name: &str) -> Result<EntityTypeName, PolicyError> {
    EntityTypeName::from_str(name).map_err(|e| PolicyError::InvalidPolicies(e.to_string()))
}

impl PolicyEngine {
    /// Parses and validates the embedded schema and policies. Fails (and the server
    /// refuses to start) if any policy does not type-check against the schema.
    pub fn load() -> Result<Self, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyError::InvalidPolicies(e.to_string()))?;
        let policies =
            PolicySet::from_str(POLICIES).map_err(|e| PolicyError::InvalidPolicies(e.to_string()))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let problems: Vec<String> = validation.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::InvalidPolicies(problems.join("; ")));
        }
        let types = Types {
            user: type_name("Palisade::User")?,
            team: type_name("Palisade::Team")?,
            company: type_name("Palisade::Company")?,
            ticket: type_name("Palisade::Ticket")?,
            directory: type_name("Palisade::Directory")?,
            audit: type_name("Palisade::AuditTrail")?,
            visitor: type_name("Palisade::Visitor")?,
            article: type_name("Palisade::Article")?,
            conversation: type_name("Palisade::Conversation")?,
            macro_: type_name("Palisade::Macro")?,
            view: type_name("Palisade::View")?,
            action: type_name("Palisade::Action")?,
        };
        let by_action = slice_by_action(&policies, &types.action)?;
        Ok(Self {
            schema,
            by_action,
            authorizer: Authorizer::new(),
            types,
            visitor_audience: std::sync::OnceLock::new(),
        })
    }

    /// The one access decision. Any error on the way (building entities, validating the
    /// request, evaluating a policy) is a denial: this function never fails open.
    pub fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
    ) -> Result<Authorized, PolicyError> {
        self.authorize_reader(Reader::User(principal), action, resource)
    }

    /// [`Self::authorize`] for a caller who may not be signed in: a visitor is a
    /// principal of its own type with no account, company or team, so only the rules
    /// written for everyone can match it.
    pub fn authorize_reader(
        &self,
        reader: Reader<'_>,
        action: Action,
        resource: &Resource,
    ) -> Result<Authorized, PolicyError> {
        match reader {
            // An API token never does more than its scopes, whatever its owner may do.
            Reader::User(principal) => {
                if let Some(scopes) = &principal.scopes
                    && !scopes.contains(&action.required_scope())
                {
                    return Err(PolicyError::Denied);
                }
            }
            Reader::Visitor => {
                if !action.open_to_visitors() {
                    return Err(PolicyError::Denied);
                }
            }
        }
        if action.resource_kind() != resource.kind() {
            return Err(PolicyError::Denied);
        }
        let policies = self.by_action.get(&action).ok_or(PolicyError::Denied)?;
        match self.evaluate(reader, action, resource, false, policies) {
            Some(true) => Ok(Authorized {
                action,
                resource: resource.audit_ref(),
                principal: match reader {
                    Reader::User(principal) => Some(principal.user_id.clone()),
                    Reader::Visitor => None,
                },
            }),
            _ => Err(PolicyError::Denied),
        }
    }

    /// `Some(true)` only for a clean Allow with no evaluation errors.
    fn evaluate(
        &self,
        reader: Reader<'_>,
        action: Action,
        resource: &Resource,
        validate: bool,
        policies: &PolicySet,
    ) -> Option<bool> {
        let principal_entity = match reader {
            Reader::User(principal) => self.user_entity(
                &principal.user_id,
                principal.role.as_str(),
                principal.company.as_ref(),
                &principal.teams,
            )?,
            Reader::Visitor => self.visitor_entity()?,
        };
        let principal_uid = principal_entity.uid();
        let mut entities = vec![principal_entity];
        let resource_uid = match resource {
            Resource::Ticket(ticket) => {
                let entity = self.ticket_entity(ticket)?;
                let uid = entity.uid();
                entities.push(entity);
                uid
            }
            Resource::User(user) => {
                let uid = self.uid(&self.types.user, user.id.as_str());
                if uid != principal_uid {
                    entities.push(self.user_facts_entity(user)?);
                }
                uid
            }
            Resource::Company(id) => self.uid(&self.types.company, id.as_str()),
            Resource::Team(id) => self.uid(&self.types.team, id.as_str()),
            Resource::Directory => self.uid(&self.types.directory, "directory"),
            Resource::AuditTrail => self.uid(&self.types.audit, "audit-trail"),
            Resource::View(facts) => {
                let entity = self.owned_entity(
                    &self.types.view,
                    facts.id.as_str(),
                    facts.owner.as_ref(),
                    facts.team.as_ref(),
                )?;
                let uid = entity.uid();
                entities.push(entity);
                uid
            }
            Resource::Macro(facts) => {
                let entity = self.owned_entity(
                    &self.types.macro_,
                    facts.id.as_str(),
                    facts.owner.as_ref(),
                    facts.team.as_ref(),
                )?;
                let uid = entity.uid();
                entities.push(entity);
                uid
            }
            Resource::Article(article) => {
                let entity = self.article_entity(article)?;
                let uid = entity.uid();
                entities.push(entity);
                uid
            }
            Resource::Conversation(id, owner) => {
                let mut attrs = HashMap::new();
                if let Some(owner) = owner {
                    attrs.insert(
                        "owner".to_owned(),
                        RestrictedExpression::new_entity_uid(self.uid(&self.types.user, owner.as_str())),
                    );
                }
                let entity = Entity::new(
                    self.uid(&self.types.conversation, id.as_str()),
                    attrs,
                    HashSet::new(),
                )
                .ok()?;
                let uid = entity.uid();
                entities.push(entity);
                uid
            }
        };
        let action_uid = self.uid(&self.types.action, action.cedar_id());
        // The policies were validated against the schema at load time, and the entities
        // are built only here from typed facts, so requests skip per-call schema
        // validation (it dominated the cost of a decision). What that validation would
        // also catch, an action on the wrong kind of resource, is checked up front in
        // `authorize`; `entities_match_the_schema` in the tests guards against drift.
        let schema = if validate { Some(&self.schema) } else { None };
        let request = Request::new(principal_uid, action_uid, resource_uid, Context::empty(), schema).ok()?;
        let entities = Entities::from_entities(entities, schema).ok()?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        if response.diagnostics().errors().next().is_some() {
            return Some(false);
        }
        Some(response.decision() == Decision::Allow)
    }

    fn uid(&self, ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    fn user_entity(
        &self,
        id: &UserId,
        role: &str,
        company: Option<&CompanyId>,
        teams: &[TeamId],
    ) -> Option<Entity> {
        let mut attrs = HashMap::new();
        attrs.insert(
            "role".to_owned(),
            RestrictedExpression::new_string(role.to_owned()),
        );
        if let Some(company) = company {
            attrs.insert(
                "company".to_owned(),
                RestrictedExpression::new_entity_uid(self.uid(&self.types.company, company.as_str())),
            );
        }
        let parents: HashSet<EntityUid> = teams
            .iter()
            .map(|t| self.uid(&self.types.team, t.as_str()))
            .collect();
        Entity::new(self.uid(&self.types.user, id.as_str()), attrs, parents).ok()
    }

    fn visitor_entity(&self) -> Option<Entity> {
        let attrs = HashMap::from([(
            "role".to_owned(),
            RestrictedExpression::new_string("visitor".to_owned()),
        )]);
        Entity::new(self.uid(&self.types.visitor, "visitor"), attrs, HashSet::new()).ok()
    }

    /// A macro or saved view: personal (an owner) or shared (with a team, or all).
    fn owned_entity(
        &self,
        kind: &EntityTypeName,
        id: &str,
        owner: Option<&palisade_core::UserId>,
        team: Option<&palisade_core::TeamId>,
    ) -> Option<Entity> {
        let mut attrs = HashMap::new();
        if let Some(owner) = owner {
            attrs.insert(
                "owner".to_owned(),
                RestrictedExpression::new_entity_uid(self.uid(&self.types.user, owner.as_str())),
            );
        }
        if let Some(team) = team {
            attrs.insert(
                "team".to_owned(),
                RestrictedExpression::new_entity_uid(self.uid(&self.types.team, team.as_str())),
            );
        }
        Entity::new(self.uid(kind, id), attrs, HashSet::new()).ok()
    }

    fn article_entity(&self, article: &ArticleFacts) -> Option<Entity> {
        let companies = article
            .companies
            .iter()
            .map(|c| RestrictedExpression::new_entity_uid(self.uid(&self.types.company, c.as_str())));
        let attrs = HashMap::from([
            (
                "audience".to_owned(),
                RestrictedExpression::new_string(article.audience.as_str().to_owned()),
            ),
            ("companies".to_owned(), RestrictedExpression::new_set(companies)),
            (
                "published".to_owned(),
                RestrictedExpression::new_bool(article.published),
            ),
        ]);
        Entity::new(
            self.uid(&self.types.article, article.id.as_str()),
            attrs,
            HashSet::new(),
        )
        .ok()
    }

    fn user_facts_entity(&self, user: &UserFacts) -> Option<Entity> {
        self.user_entity(&user.id, user.role.as_str(), user.company.as_ref(), &user.teams)
    }

    fn ticket_entity(&self, ticket: &TicketFacts) -> Option<Entity> {
        let user =
            |id: &UserId| RestrictedExpression::new_entity_uid(self.uid(&self.types.user, id.as_str()));
        let mut attrs = HashMap::new();
        attrs.insert("requester".to_owned(), user(&ticket.requester));
        attrs.insert(
            "collaborators".to_owned(),
            RestrictedExpression::new_set(ticket.collaborators.iter().map(user)),
        );
        attrs.insert(
            "team".to_owned(),
            RestrictedExpression::new_entity_uid(self.uid(&self.types.team, ticket.team.as_str())),
        );
        if let Some(assignee) = &ticket.assignee {
            attrs.insert("assignee".to_owned(), user(assignee));
        }
        if let Some(company) = &ticket.company {
            attrs.insert(
                "company".to_owned(),
                RestrictedExpression::new_entity_uid(self.uid(&self.types.company, company.as_str())),
            );
        }
        attrs.insert(
            "company_sharing".to_owned(),
            RestrictedExpression::new_bool(ticket.company_sharing),
        );
        attrs.insert(
            "requester_confirmed".to_owned(),
            RestrictedExpression::new_bool(ticket.requester_confirmed),
        );
        Entity::new(
            self.uid(&self.types.ticket, ticket.id.as_str()),
            attrs,
            HashSet::new(),
        )
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::{Role, TeamId, TicketId, UserId};

    use super::*;

    #[test]
    fn embedded_policies_validate_against_the_schema() {
        PolicyEngine::load().expect("policies must type-check");
    }

    #[test]
    fn every_action_is_known_to_the_schema() {
        let engine = PolicyEngine::load().unwrap();
        let admin = Principal {
            user_id: UserId::generate(),
            role: Role::Admin,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        let ticket = Resource::Ticket(TicketFacts {
            id: TicketId::generate(),
            requester: UserId::generate(),
            collaborators: vec![],
            team: TeamId::generate(),
            assignee: None,
            company: None,
            company_sharing: false,
            requester_confirmed: true,
        });
        let directory = Resource::Directory;
        // Rating is its requester's alone (a guard rail forbids it to administrators
        // too), so it is evaluated for the requester of a ticket.
        let requester = Principal {
            role: Role::Customer,
            ..admin.clone()
        };
        let own = Resource::Ticket(TicketFacts {
            id: TicketId::generate(),
            requester: requester.user_id.clone(),
            collaborators: vec![],
            team: TeamId::generate(),
            assignee: None,
            company: None,
            company_sharing: false,
            requester_confirmed: true,
        });
        assert!(engine.authorize(&requester, Action::TicketRate, &own).is_ok());
        assert!(engine.authorize(&admin, Action::TicketRate, &own).is_err());
        for action in Action::ALL.into_iter().filter(|a| *a != Action::TicketRate) {
            // An action unknown to the schema would fail request validation for every
            // resource; admin is permitted everything, so each must be allowed on one.
            let article = Resource::Article(ArticleFacts {
                id: palisade_core::ArticleId::generate(),
                audience: palisade_core::Audience::Internal,
                companies: vec![],
                published: false,
            });
            let conversation = Resource::Conversation(palisade_core::ConversationId::generate(), None);
            let shared_macro = Resource::Macro(crate::MacroFacts {
                id: palisade_core::MacroId::generate(),
                owner: None,
                team: None,
            });
            let allowed = [
                &ticket,
                &directory,
                &Resource::AuditTrail,
                &article,
                &conversation,
                &shared_macro,
                &Resource::View(crate::ViewFacts {
                    id: palisade_core::ViewId::generate(),
                    owner: None,
                    team: Some(TeamId::generate()),
                }),
            ]
            .iter()
            .any(|r| engine.authorize(&admin, action, r).is_ok())
                || engine
                    .authorize(
                        &admin,
                        action,
                        &Resource::User(UserFacts {
                            id: UserId::generate(),
                            role: Role::Customer,
                            company: None,
                            teams: vec![],
                        }),
                    )
                    .is_ok()
                || engine
                    .authorize(&admin, action, &Resource::Team(TeamId::generate()))
                    .is_ok()
                || engine
                    .authorize(
                        &admin,
                        action,
                        &Resource::Company(palisade_core::CompanyId::generate()),
                    )
                    .is_ok();
            assert!(allowed, "{action:?} is not evaluable");
        }
    }

    /// Every kind of entity the engine builds type-checks against the schema, for every
    /// action on its kind of resource (the production path skips this per call).
    #[test]
    fn entities_match_the_schema() {
        use palisade_core::CompanyId;
        let engine = PolicyEngine::load().unwrap();
        let principal = Principal {
            user_id: UserId::generate(),
            role: Role::Customer,
            teams: vec![TeamId::generate()],
            company: Some(CompanyId::generate()),
            session: None,
            scopes: None,
        };
        let resources = [
            Resource::Ticket(TicketFacts {
                id: TicketId::generate(),
                requester: UserId::generate(),
                collaborators: vec![UserId::generate()],
                team: TeamId::generate(),
                assignee: Some(UserId::generate()),
                company: Some(CompanyId::generate()),
                company_sharing: true,
                requester_confirmed: true,
            }),
            Resource::User(UserFacts {
                id: UserId::generate(),
                role: Role::Agent,
                company: None,
                teams: vec![TeamId::generate()],
            }),
            Resource::Company(CompanyId::generate()),
            Resource::Team(TeamId::generate()),
            Resource::Directory,
            Resource::AuditTrail,
            Resource::Article(ArticleFacts {
                id: palisade_core::ArticleId::generate(),
                audience: palisade_core::Audience::Customers,
                companies: vec![CompanyId::generate(), CompanyId::generate()],
                published: true,
            }),
            Resource::Conversation(
                palisade_core::ConversationId::generate(),
                Some(UserId::generate()),
            ),
            Resource::Macro(crate::MacroFacts {
                id: palisade_core::MacroId::generate(),
                owner: Some(UserId::generate()),
                team: Some(TeamId::generate()),
            }),
            Resource::View(crate::ViewFacts {
                id: palisade_core::ViewId::generate(),
                owner: Some(UserId::generate()),
                team: None,
            }),
        ];
        for action in Action::ALL {
            let resource = resources
                .iter()
                .find(|r| r.kind() == action.resource_kind())
                .unwrap();
            assert!(
                engine
                    .evaluate(
                        Reader::User(&principal),
                        action,
                        resource,
                        true,
                        &engine.by_action[&action]
                    )
                    .is_some(),
                "{action:?} does not validate"
            );
            if action.open_to_visitors() {
                assert!(
                    engine
                        .evaluate(
                            Reader::Visitor,
                            action,
                            resource,
                            true,
                            &engine.by_action[&action]
                        )
                        .is_some(),
                    "{action:?} does not validate for a visitor"
                );
            }
        }
    }

    /// Slicing by action is an optimisation only: for people of every role, in and out
    /// of the resource's team and company, and every action on resources that are and
    /// are not theirs, the action's slice decides exactly as the whole set does.
    #[test]
    fn each_actions_slice_decides_exactly_as_the_whole_policy_set() {
        let engine = PolicyEngine::load().unwrap();
        let whole = PolicySet::from_str(POLICIES).unwrap();
        let (team, other_team) = (TeamId::generate(), TeamId::generate());
        let company = CompanyId::generate();
        let mut people = Vec::new();
        for role in Role::ALL {
            for teams in [vec![team.clone()], vec![other_team.clone()], vec![]] {
                for company in [Some(company.clone()), None] {
                    people.push(Principal {
                        user_id: UserId::generate(),
                        role,
                        teams: teams.clone(),
                        company,
                        session: None,
                        scopes: None,
                    });
                }
            }
        }
        let someone = people[0].user_id.clone();
        let mut resources = Vec::new();
        for person in &people {
            let own = person.user_id.clone();
            resources.push(Resource::Ticket(TicketFacts {
                id: TicketId::generate(),
                requester: own.clone(),
                collaborators: vec![],
                team: team.clone(),
                assignee: Some(own.clone()),
                company: person.company.clone(),
                company_sharing: true,
                requester_confirmed: true,
            }));
            resources.push(Resource::User(UserFacts {
                id: own.clone(),
                role: person.role,
                company: person.company.clone(),
                teams: person.teams.clone(),
            }));
            resources.push(Resource::Macro(crate::MacroFacts {
                id: palisade_core::MacroId::generate(),
                owner: Some(own.clone()),
                team: None,
            }));
            resources.push(Resource::View(crate::ViewFacts {
                id: palisade_core::ViewId::generate(),
                owner: Some(own.clone()),
                team: None,
            }));
            resources.push(Resource::Conversation(
                palisade_core::ConversationId::generate(),
                Some(own),
            ));
        }
        for audience in [
            palisade_core::Audience::Public,
            palisade_core::Audience::Customers,
            palisade_core::Audience::Internal,
        ] {
            for published in [true, false] {
                resources.push(Resource::Article(ArticleFacts {
                    id: palisade_core::ArticleId::generate(),
                    audience,
                    companies: vec![company.clone()],
                    published,
                }));
            }
        }
        resources.extend([
            Resource::Ticket(TicketFacts {
                id: TicketId::generate(),
                requester: someone.clone(),
                collaborators: vec![],
                team: other_team.clone(),
                assignee: None,
                company: Some(company.clone()),
                company_sharing: false,
                requester_confirmed: false,
            }),
            Resource::Company(company.clone()),
            Resource::Team(team.clone()),
            Resource::Team(other_team.clone()),
            Resource::Directory,
            Resource::AuditTrail,
            Resource::Conversation(palisade_core::ConversationId::generate(), None),
            Resource::Macro(crate::MacroFacts {
                id: palisade_core::MacroId::generate(),
                owner: None,
                team: Some(team.clone()),
            }),
            Resource::View(crate::ViewFacts {
                id: palisade_core::ViewId::generate(),
                owner: None,
                team: Some(other_team.clone()),
            }),
        ]);
        let (mut permitted, mut refused) = (0, 0);
        let readers = people.iter().map(Reader::User).chain([Reader::Visitor]);
        for reader in readers {
            for action in Action::ALL {
                for resource in resources.iter().filter(|r| r.kind() == action.resource_kind()) {
                    let sliced = engine.evaluate(reader, action, resource, false, &engine.by_action[&action]);
                    let full = engine.evaluate(reader, action, resource, false, &whole);
                    assert_eq!(
                        sliced,
                        full,
                        "{action:?} on {} for {reader:?}",
                        resource.audit_ref()
                    );
                    if sliced == Some(true) {
                        permitted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
        }
        assert!(
            permitted > 1_000 && refused > 1_000,
            "{permitted} permitted, {refused} refused"
        );
        let largest = engine.by_action.values().map(|set| set.policies().count()).max();
        assert!(
            largest < Some(whole.policies().count()),
            "no slice is smaller than the whole"
        );
    }

    #[test]
    fn mismatched_resource_type_is_denied_not_an_error_that_allows() {
        let engine = PolicyEngine::load().unwrap();
        let admin = Principal {
            user_id: UserId::generate(),
            role: Role::Admin,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        // ticket.read on the directory does not type-check: it must be a denial.
        assert!(
            engine
                .authorize(&admin, Action::TicketRead, &Resource::Directory)
                .is_err()
        );
    }

    /// A ticket opened from an address nobody authenticated belongs to no customer
    /// until the address confirms: not the named requester, not a collaborator, not a
    /// colleague in a sharing company; the team's agents work it as usual.
    #[test]
    fn unconfirmed_requester_tickets_reach_no_customer() {
        use palisade_core::CompanyId;
        let engine = PolicyEngine::load().unwrap();
        let company = CompanyId::generate();
        let team = TeamId::generate();
        let customer = |company: Option<CompanyId>| Principal {
            user_id: UserId::generate(),
            role: Role::Customer,
            teams: vec![],
            company,
            session: None,
            scopes: None,
        };
        let requester = customer(Some(company.clone()));
        let collaborator = customer(None);
        let colleague = customer(Some(company.clone()));
        let agent = Principal {
            user_id: UserId::generate(),
            role: Role::Agent,
            teams: vec![team.clone()],
            company: None,
            session: None,
            scopes: None,
        };
        let ticket = |requester_confirmed| {
            Resource::Ticket(TicketFacts {
                id: TicketId::generate(),
                requester: requester.user_id.clone(),
                collaborators: vec![collaborator.user_id.clone()],
                team: team.clone(),
                assignee: None,
                company: Some(company.clone()),
                company_sharing: true,
                requester_confirmed,
            })
        };
        for action in [Action::TicketRead, Action::TicketReply, Action::TicketAttach] {
            for who in [&requester, &collaborator, &colleague] {
                assert!(engine.authorize(who, action, &ticket(true)).is_ok(), "{action:?}");
                assert!(
                    engine.authorize(who, action, &ticket(false)).is_err(),
                    "{action:?}"
                );
            }
            assert!(
                engine.authorize(&agent, action, &ticket(false)).is_ok(),
                "{action:?}"
            );
        }
    }

    /// Who reads which article, for every role and a visitor: the help centre's whole
    /// access rule in one table.
    #[test]
    fn article_readers() {
        use palisade_core::{ArticleId, Audience, CompanyId};
        let engine = PolicyEngine::load().unwrap();
        let acme = CompanyId::generate();
        let globex = CompanyId::generate();
        let article = |audience, companies: Vec<CompanyId>, published| {
            Resource::Article(ArticleFacts {
                id: ArticleId::generate(),
                audience,
                companies,
                published,
            })
        };
        let cases = [
            ("public", article(Audience::Public, vec![], true)),
            ("public draft", article(Audience::Public, vec![], false)),
            ("customers", article(Audience::Customers, vec![], true)),
            (
                "customers of acme",
                article(Audience::Customers, vec![acme.clone()], true),
            ),
            (
                "customers of globex",
                article(Audience::Customers, vec![globex], true),
            ),
            ("internal", article(Audience::Internal, vec![], true)),
        ];
        let user = |role, company: Option<CompanyId>| Principal {
            user_id: UserId::generate(),
            role,
            teams: vec![TeamId::generate()],
            company,
            session: None,
            scopes: None,
        };
        // Columns follow `cases`.
        let readers: [(&str, Option<Principal>, &str); 8] = [
            ("visitor", None, "Y-----"),
            (
                "customer of acme",
                Some(user(Role::Customer, Some(acme))),
                "Y-YY--",
            ),
            (
                "customer without company",
                Some(user(Role::Customer, None)),
                "Y-Y---",
            ),
            ("auditor", Some(user(Role::Auditor, None)), "Y-----"),
            ("light agent", Some(user(Role::LightAgent, None)), "YYYYYY"),
            ("agent", Some(user(Role::Agent, None)), "YYYYYY"),
            ("supervisor", Some(user(Role::Supervisor, None)), "YYYYYY"),
            ("admin", Some(user(Role::Admin, None)), "YYYYYY"),
        ];
        for (who, principal, expected) in &readers {
            for ((what, resource), want) in cases.iter().zip(expected.chars()) {
                let got = engine
                    .authorize_reader(principal.as_ref().into(), Action::ArticleRead, resource)
                    .is_ok();
                assert_eq!(got, want == 'Y', "{who} reading a {what} article");
            }
        }
        // Writing: agents, supervisors and admins; never a visitor, light agent,
        // auditor or customer.
        let draft = article(Audience::Internal, vec![], false);
        for (role, allowed) in [
            (Role::Admin, true),
            (Role::Supervisor, true),
            (Role::Agent, true),
            (Role::LightAgent, false),
            (Role::Auditor, false),
            (Role::Customer, false),
        ] {
            assert_eq!(
                engine
                    .authorize(&user(role, None), Action::ArticleManage, &draft)
                    .is_ok(),
                allowed,
                "{role:?} managing articles"
            );
        }
        assert!(
            engine
                .authorize_reader(Reader::Visitor, Action::ArticleManage, &draft)
                .is_err()
        );
        // A visitor is never asked about anything but what is open to everyone.
        assert!(
            engine
                .authorize_reader(Reader::Visitor, Action::ListTickets, &Resource::Directory)
                .is_err()
        );
        // A token without the articles scope reads nothing, however public.
        let mut narrowed = user(Role::Agent, None);
        narrowed.scopes = Some(vec![palisade_core::Scope::TicketsRead]);
        assert!(
            engine
                .authorize(&narrowed, Action::ArticleRead, &cases[0].1)
                .is_err()
        );
    }

    #[test]
    fn conversations_belong_to_their_owner_or_to_whoever_holds_an_anonymous_one() {
        use palisade_core::ConversationId;
        let engine = PolicyEngine::load().unwrap();
        let customer = Principal {
            user_id: UserId::generate(),
            role: Role::Customer,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        let mut other = customer.clone();
        other.user_id = UserId::generate();
        let mine = Resource::Conversation(ConversationId::generate(), Some(customer.user_id.clone()));
        let anonymous = Resource::Conversation(ConversationId::generate(), None);
        let use_it = |reader, resource| {
            engine
                .authorize_reader(reader, Action::AssistantUse, resource)
                .is_ok()
        };
        assert!(use_it(Reader::User(&customer), &mine));
        assert!(!use_it(Reader::User(&other), &mine));
        assert!(!use_it(Reader::Visitor, &mine));
        assert!(use_it(Reader::Visitor, &anonymous));
        assert!(use_it(Reader::User(&other), &anonymous));
        // Not even an administrator talks in someone else's conversation.
        let mut admin = other.clone();
        admin.role = Role::Admin;
        assert!(!use_it(Reader::User(&admin), &mine));
    }

    #[test]
    fn only_a_customer_hands_their_own_conversation_to_a_ticket() {
        use palisade_core::ConversationId;
        let engine = PolicyEngine::load().unwrap();
        let person = |role| Principal {
            user_id: UserId::generate(),
            role,
            teams: vec![],
            company: None,
            session: None,
            scopes: None,
        };
        let hand_over = |reader, resource: &Resource| {
            engine
                .authorize_reader(reader, Action::AssistantHandOver, resource)
                .is_ok()
        };
        let customer = person(Role::Customer);
        let mine = Resource::Conversation(ConversationId::generate(), Some(customer.user_id.clone()));
        let anonymous = Resource::Conversation(ConversationId::generate(), None);
        assert!(hand_over(Reader::User(&customer), &mine));
        assert!(hand_over(Reader::Visitor, &anonymous));
        assert!(!hand_over(Reader::Visitor, &mine));
        let someone_else = person(Role::Customer);
        assert!(!hand_over(Reader::User(&someone_else), &mine));
        // Staff signed in to the portal talk to the assistant, but a handover would
        // open a ticket in their name: that is not what the assistant is for.
        let agent = person(Role::Agent);
        let agents = Resource::Conversation(ConversationId::generate(), Some(agent.user_id.clone()));
        assert!(
            engine
                .authorize_reader(Reader::User(&agent), Action::AssistantUse, &agents)
                .is_ok()
        );
        assert!(!hand_over(Reader::User(&agent), &agents));
        let admin = person(Role::Admin);
        assert!(!hand_over(Reader::User(&admin), &mine));
    }

    #[test]
    fn the_workspace_is_for_staff() {
        let engine = PolicyEngine::load().unwrap();
        for role in [
            Role::Admin,
            Role::Supervisor,
            Role::Agent,
            Role::LightAgent,
            Role::Auditor,
            Role::Customer,
        ] {
            let who = Principal {
                user_id: UserId::generate(),
                role,
                teams: vec![],
                company: None,
                session: None,
                scopes: None,
            };
            let enters = engine
                .authorize(&who, Action::EnterWorkspace, &Resource::Directory)
                .is_ok();
            assert_eq!(enters, role != Role::Customer, "{role:?}");
        }
        assert!(
            engine
                .authorize_reader(Reader::Visitor, Action::EnterWorkspace, &Resource::Directory)
                .is_err()
        );
    }

    /// Personal macros are their owner's alone; shared ones go to every agent or to
    /// one team's; only supervisors and administrators write shared ones.
    #[test]
    fn macros_follow_owner_and_team() {
        use crate::MacroFacts;
        use palisade_core::MacroId;
        let engine = PolicyEngine::load().unwrap();
        let team_a = TeamId::generate();
        let who = |role: Role, teams: Vec<TeamId>| Principal {
            user_id: UserId::generate(),
            role,
            teams,
            company: None,
            session: None,
            scopes: None,
        };
        let agent = who(Role::Agent, vec![team_a.clone()]);
        let other_agent = who(Role::Agent, vec![TeamId::generate()]);
        let light = who(Role::LightAgent, vec![team_a.clone()]);
        let supervisor = who(Role::Supervisor, vec![]);
        let customer = who(Role::Customer, vec![]);
        let facts = |owner: Option<&UserId>, team: Option<&TeamId>| {
            Resource::Macro(MacroFacts {
                id: MacroId::generate(),
                owner: owner.cloned(),
                team: team.cloned(),
            })
        };
        let allowed = |p: &Principal, a: Action, r: &Resource| engine.authorize(p, a, r).is_ok();

        let personal = facts(Some(&agent.user_id), None);
        assert!(allowed(&agent, Action::MacroUse, &personal));
        assert!(allowed(&agent, Action::MacroManage, &personal));
        for intruder in [&other_agent, &supervisor, &light, &customer] {
            assert!(
                !allowed(intruder, Action::MacroUse, &personal),
                "{:?}",
                intruder.role
            );
            assert!(
                !allowed(intruder, Action::MacroManage, &personal),
                "{:?}",
                intruder.role
            );
        }
        let everyone = facts(None, None);
        let team_only = facts(None, Some(&team_a));
        assert!(allowed(&agent, Action::MacroUse, &everyone));
        assert!(allowed(&other_agent, Action::MacroUse, &everyone));
        assert!(allowed(&agent, Action::MacroUse, &team_only));
        assert!(!allowed(&other_agent, Action::MacroUse, &team_only));
        assert!(allowed(&supervisor, Action::MacroUse, &team_only));
        assert!(!allowed(&customer, Action::MacroUse, &everyone));
        assert!(!allowed(&light, Action::MacroUse, &everyone));
        assert!(!allowed(&agent, Action::MacroManage, &everyone));
        assert!(allowed(&supervisor, Action::MacroManage, &team_only));
    }
}
