//! Which audiences a reader may search, decided by asking the Cedar policies about one
//! representative article of each audience, so the search filter cannot drift from the
//! rules that guard a single article. Each hit is authorised again on its own.

use palisade_core::{ArticleId, Audience, CompanyId};

use crate::{Action, ArticleFacts, PolicyEngine, Reader, Resource};

/// The audiences a reader's search covers; built only by
/// [`PolicyEngine::audience_filter`], read by the search that applies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudienceFilter {
    public: bool,
    internal: bool,
    customers_any: bool,
    customers_unrestricted: bool,
    company: Option<CompanyId>,
}

impl AudienceFilter {
    /// Articles open to everyone.
    pub fn public(&self) -> bool {
        self.public
    }

    /// Staff-only articles.
    pub fn internal(&self) -> bool {
        self.internal
    }

    /// Every article for customers, whichever companies it is limited to.
    pub fn customers_any(&self) -> bool {
        self.customers_any
    }

    /// Articles for customers not limited to any company.
    pub fn customers_unrestricted(&self) -> bool {
        self.customers_unrestricted
    }

    /// Articles for customers limited to this company (among others).
    pub fn company(&self) -> Option<&CompanyId> {
        self.company.as_ref()
    }

    /// True when the reader may search nothing at all.
    pub fn is_empty(&self) -> bool {
        !self.public && !self.internal && !self.customers_unrestricted && self.company.is_none()
    }
}

impl PolicyEngine {
    /// The audiences `reader` may search.
    pub fn audience_filter(&self, reader: Reader<'_>) -> AudienceFilter {
        match reader {
            Reader::Visitor => self
                .visitor_audience
                .get_or_init(|| self.ask_audience_filter(reader))
                .clone(),
            Reader::User(_) => self.ask_audience_filter(reader),
        }
    }

    fn ask_audience_filter(&self, reader: Reader<'_>) -> AudienceFilter {
        let policy = self;
        let may_read = |audience, companies: Vec<CompanyId>| {
            let probe = Resource::Article(ArticleFacts {
                id: ArticleId::generate(),
                audience,
                companies,
                published: true,
            });
            policy
                .authorize_reader(reader, Action::ArticleRead, &probe)
                .is_ok()
        };
        // An article limited to a company nobody belongs to: readable only by those who
        // read customer articles regardless of company.
        let customers_any = may_read(Audience::Customers, vec![CompanyId::generate()]);
        let own_company = match reader {
            Reader::User(principal) => principal.company.clone(),
            Reader::Visitor => None,
        };
        AudienceFilter {
            public: may_read(Audience::Public, vec![]),
            internal: may_read(Audience::Internal, vec![]),
            customers_any,
            customers_unrestricted: customers_any || may_read(Audience::Customers, vec![]),
            company: own_company.filter(|c| !customers_any && may_read(Audience::Customers, vec![c.clone()])),
        }
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::{Principal, Role, UserId};

    use super::*;

    fn principal(role: Role, company: Option<CompanyId>) -> Principal {
        Principal {
            user_id: UserId::generate(),
            role,
            teams: vec![],
            company,
            session: None,
            scopes: None,
        }
    }

    #[test]
    fn a_visitors_filter_asked_once_is_the_one_the_policies_give() {
        let policy = PolicyEngine::load().unwrap();
        let first = policy.audience_filter(Reader::Visitor);
        assert_eq!(first, policy.ask_audience_filter(Reader::Visitor));
        assert_eq!(policy.audience_filter(Reader::Visitor), first);
        // A signed-in reader is never answered from the visitor's filter.
        let staff = principal(Role::Agent, None);
        assert!(policy.audience_filter(Reader::User(&staff)).internal());
        assert!(!policy.audience_filter(Reader::Visitor).internal());
    }

    /// `Desk::readable_articles` shares one decision between hits whose facts differ
    /// only in their id; that holds only while no policy names an article by id.
    #[test]
    fn no_policy_names_an_article_by_id() {
        let policies = include_str!("../cedar/palisade.cedar");
        assert!(!policies.contains("Article::\""), "a policy names one article");
        assert!(!policies.contains("resource.id"));
        // Two articles alike but for their id get the same decision, for every reader.
        let policy = PolicyEngine::load().unwrap();
        let acme = CompanyId::generate();
        let readers = [
            principal(Role::Customer, Some(acme.clone())),
            principal(Role::Customer, None),
            principal(Role::Agent, None),
        ];
        for audience in [Audience::Public, Audience::Customers, Audience::Internal] {
            for companies in [vec![], vec![acme.clone()]] {
                let article = |id| {
                    Resource::Article(ArticleFacts {
                        id,
                        audience,
                        companies: companies.clone(),
                        published: true,
                    })
                };
                let (one, other) = (article(ArticleId::generate()), article(ArticleId::generate()));
                let decide = |reader: Reader<'_>, r: &Resource| {
                    policy.authorize_reader(reader, Action::ArticleRead, r).is_ok()
                };
                assert_eq!(decide(Reader::Visitor, &one), decide(Reader::Visitor, &other));
                for p in &readers {
                    assert_eq!(decide(Reader::User(p), &one), decide(Reader::User(p), &other));
                }
            }
        }
    }

    #[test]
    fn filters_follow_the_policies() {
        let policy = PolicyEngine::load().unwrap();
        let visitor = policy.audience_filter(Reader::Visitor);
        assert!(visitor.public && !visitor.internal && !visitor.customers_unrestricted);
        assert_eq!(visitor.company, None);

        let acme = CompanyId::generate();
        let customer = principal(Role::Customer, Some(acme.clone()));
        let filter = policy.audience_filter(Reader::User(&customer));
        assert!(filter.public && !filter.internal && !filter.customers_any);
        assert!(filter.customers_unrestricted);
        assert_eq!(filter.company, Some(acme));

        let agent = principal(Role::Agent, None);
        let filter = policy.audience_filter(Reader::User(&agent));
        assert!(filter.public && filter.internal && filter.customers_any);

        let auditor = principal(Role::Auditor, None);
        let filter = policy.audience_filter(Reader::User(&auditor));
        assert!(filter.public && !filter.internal && !filter.customers_unrestricted);

        let mut narrowed = principal(Role::Agent, None);
        narrowed.scopes = Some(vec![palisade_core::Scope::TicketsRead]);
        assert!(policy.audience_filter(Reader::User(&narrowed)).is_empty());
    }
}
