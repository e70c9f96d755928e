//! The help centre's reads, for visitors as well as signed-in people: which audiences a
//! search may cover, whether one hit may be shown, one published article and one
//! article file. An article the reader may not see is `NotFound`, exactly like one
//! that does not exist; a signed-in reader's miss is audited like a ticket miss, a
//! visitor's probing is left to the adapter's abuse limits.

use palisade_core::{ArticleFileId, ArticleId};
use palisade_policy::{Action, ArticleFacts, AudienceFilter, Reader, Resource};
use palisade_store::{ArticleFile, ArticleRecord, ArticleVersion, StoreError};

use crate::{Actor, Desk, ServiceError};

/// The reader an actor is, or a visitor when nobody is signed in.
pub fn reader_of(actor: Option<&Actor>) -> Reader<'_> {
    actor.map(|a| &a.principal).into()
}

impl Desk {
    /// The audiences `reader` may search: the search filters by them inside the query.
    pub fn article_audience(&self, reader: Reader<'_>) -> AudienceFilter {
        self.policy.audience_filter(reader)
    }

    /// Whether `reader` may read a published article: every search hit is checked
    /// again on its own, so a filter that drifted from the policies shows nothing.
    pub fn may_read_article(&self, reader: Reader<'_>, facts: ArticleFacts) -> bool {
        let allowed = self
            .policy
            .authorize_reader(reader, Action::ArticleRead, &Resource::Article(facts.clone()))
            .is_ok();
        if !allowed {
            tracing::error!(article = %facts.id, "search filter and policy disagree");
        }
        allowed
    }

    /// The search hits `reader` may read, each authorised again on its own facts, so a
    /// filter that drifted from the policies shows nothing. Hits whose facts differ
    /// only in their id share one decision: no policy names an article by id (a test
    /// in `palisade-policy` holds the policies to that), so Cedar cannot tell them
    /// apart, and a page of public hits costs one evaluation instead of one per hit.
    pub fn readable_articles<T>(
        &self,
        reader: Reader<'_>,
        hits: Vec<T>,
        facts_of: impl Fn(&T) -> ArticleFacts,
    ) -> Vec<T> {
        let mut decided: Vec<(ArticleFacts, bool)> = Vec::new();
        hits.into_iter()
            .filter(|hit| {
                let facts = facts_of(hit);
                let same = |seen: &ArticleFacts| {
                    seen.audience == facts.audience
                        && seen.companies == facts.companies
                        && seen.published == facts.published
                };
                if let Some((_, allowed)) = decided.iter().find(|(seen, _)| same(seen)) {
                    return *allowed;
                }
                let allowed = self.may_read_article(reader, facts.clone());
                decided.push((facts, allowed));
                allowed
            })
            .collect()
    }

    /// The published text of `article` (as found by the adapter, `None` when nothing
    /// was), if the actor may read it; `asked_for` names the miss in the audit trail.
    pub async fn published_article(
        &self,
        actor: Option<&Actor>,
        article: Option<ArticleRecord>,
        asked_for: &str,
    ) -> Result<(ArticleRecord, ArticleVersion), ServiceError> {
        let readable = article.filter(|a| {
            a.published_version.is_some()
                && self
                    .policy
                    .authorize_reader(
                        reader_of(actor),
                        Action::ArticleRead,
                        &Resource::Article(a.facts()),
                    )
                    .is_ok()
        });
        let Some((article, version)) = readable.and_then(|a| a.published_version.map(|v| (a, v))) else {
            if let Some(actor) = actor {
                self.audit_denial(&actor.audit, Action::ArticleRead, asked_for, "not_found")
                    .await?;
            }
            return Err(ServiceError::NotFound);
        };
        let text = self.store.article_version(&article.id, version).await?;
        Ok((article, text))
    }

    /// A published article by locale and slug.
    pub async fn published_by_slug(
        &self,
        actor: Option<&Actor>,
        locale: &str,
        slug: &str,
    ) -> Result<(ArticleRecord, ArticleVersion), ServiceError> {
        let found = if palisade_core::valid_locale(locale) && slug.len() <= 80 {
            self.store.article_by_slug(locale, slug).await?
        } else {
            None
        };
        self.published_article(actor, found, &format!("{locale}/{slug}"))
            .await
    }

    /// A published article by id.
    pub async fn published_by_id(
        &self,
        actor: Option<&Actor>,
        raw_id: &str,
    ) -> Result<(ArticleRecord, ArticleVersion), ServiceError> {
        let found = match ArticleId::parse(raw_id) {
            Ok(id) => self.store.get_article(&id).await?,
            Err(_) => None,
        };
        self.published_article(actor, found, raw_id).await
    }

    /// A file of an article, for exactly those who may read the article, or manage it
    /// (so authors see their drafts' images).
    pub async fn article_file(
        &self,
        actor: Option<&Actor>,
        raw_id: &str,
    ) -> Result<ArticleFile, ServiceError> {
        let file_id = ArticleFileId::parse(raw_id).ok();
        let article = match &file_id {
            Some(id) => match self.store.article_of_file(id).await {
                Ok(article) => self.store.get_article(&article).await?,
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let manages = match (actor, &article) {
            (Some(a), Some(article)) => self.permits(
                &a.principal,
                Action::ArticleManage,
                &Resource::Article(article.facts()),
            ),
            _ => false,
        };
        let article = match article {
            Some(article) if manages => article,
            other => self.published_article(actor, other, raw_id).await?.0,
        };
        let file_id = file_id.ok_or(ServiceError::NotFound)?;
        Ok(self.store.read_article_file(&article.id, &file_id).await?)
    }
}
