//! Help-centre articles as their authors work on them: create, revise, publish,
//! withdraw and attach files, each decided by Cedar on the article as it is and (for a
//! revision) as it will be, in one transaction with its audit entry. Nodes' search
//! indexes follow the database's change sequence; the caller refreshes its own.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{ArticleFileId, ArticleId};
use palisade_i18n::Refusal;
use palisade_policy::{Action, ArticleFacts, Authorized, Resource};
use palisade_store::{ArticleDraft, ArticleRecord, NewArticleFile};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

/// A file for an article, as the adapter received it (name checked by the adapter).
pub struct ArticleUpload {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

fn facts_of(id: &ArticleId, draft: &ArticleDraft, published: bool) -> Resource {
    Resource::Article(ArticleFacts {
        id: id.clone(),
        audience: draft.audience,
        companies: draft.companies.clone(),
        published,
    })
}

impl Desk {
    /// An article the actor may manage (drafts included); `NotFound` otherwise, audited.
    pub async fn managed_article(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<(ArticleRecord, Authorized), ServiceError> {
        let found = match ArticleId::parse(raw_id) {
            Ok(id) => self.store.get_article(&id).await?,
            Err(_) => None,
        };
        let Some(article) = found else {
            self.audit_denial(&actor.audit, Action::ArticleManage, raw_id, "not_found")
                .await?;
            return Err(ServiceError::NotFound);
        };
        match self.policy.authorize(
            &actor.principal,
            Action::ArticleManage,
            &Resource::Article(article.facts()),
        ) {
            Ok(proof) => Ok((article, proof)),
            Err(_) => {
                self.audit_denial(&actor.audit, Action::ArticleManage, raw_id, "denied")
                    .await?;
                Err(ServiceError::NotFound)
            }
        }
    }

    /// Articles the actor may manage, most recently changed first, with their latest
    /// title and the latest version's slug (where it will live once published).
    pub async fn managed_articles(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(ArticleRecord, String, Option<String>)>, ServiceError> {
        let all = self.store.list_articles(1000).await?;
        Ok(all
            .into_iter()
            .filter(|(a, _, _)| {
                self.permits(
                    &actor.principal,
                    Action::ArticleManage,
                    &Resource::Article(a.facts()),
                )
            })
            .collect())
    }

    /// Companies named by an author must exist: a typo would otherwise hide an article
    /// from the customers it was meant for.
    async fn check_companies(&self, draft: &ArticleDraft) -> Result<(), ServiceError> {
        for company in &draft.companies {
            if self.store.get_company(company).await.is_err() {
                return Err(ServiceError::Conflict(
                    Refusal::new("refusal-no-company").with("value", company.to_string()),
                ));
            }
        }
        Ok(())
    }

    /// Creates an unpublished article.
    pub async fn create_article(
        &self,
        actor: &Actor,
        draft: &ArticleDraft,
    ) -> Result<ArticleId, ServiceError> {
        let id = ArticleId::generate();
        let proof = self
            .authorize(actor, Action::ArticleManage, &facts_of(&id, draft, false))
            .await?;
        self.check_companies(draft).await?;
        let mut tx = self.store.begin().await?;
        self.store
            .create_article(&mut tx, &proof, &id, &actor.principal.user_id, draft)
            .await?;
        let event = AuditEvent::new(AuditAction::ArticleCreated, id.as_str(), Outcome::Success).with_detail(
            // Not the slug: a draft's (often made from a title not yet public) is kept
            // sealed with its version, and the trail is not encrypted.
            json!({ "locale": draft.locale, "audience": draft.audience.as_str() }),
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves a new version; returns its number. The actor must manage the article as
    /// it is and as it will be (no moving it to an audience they could not manage).
    pub async fn revise_article(
        &self,
        actor: &Actor,
        raw_id: &str,
        draft: &ArticleDraft,
    ) -> Result<i64, ServiceError> {
        let (article, proof) = self.managed_article(actor, raw_id).await?;
        self.authorize(
            actor,
            Action::ArticleManage,
            &facts_of(&article.id, draft, article.published_version.is_some()),
        )
        .await?;
        self.check_companies(draft).await?;
        let mut tx = self.store.begin().await?;
        let version = self
            .store
            .revise_article(&mut tx, &proof, &article.id, &actor.principal.user_id, draft)
            .await?;
        let event = AuditEvent::new(AuditAction::ArticleRevised, article.id.as_str(), Outcome::Success)
            .with_detail(json!({ "version": version, "locale": draft.locale,
                    "audience": draft.audience.as_str(),
                    "companies": draft.companies.iter().map(|c| c.as_str()).collect::<Vec<_>>() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Publishes `version` (the latest when `None`); returns the version published.
    pub async fn publish_article(
        &self,
        actor: &Actor,
        raw_id: &str,
        version: Option<i64>,
    ) -> Result<i64, ServiceError> {
        let (article, proof) = self.managed_article(actor, raw_id).await?;
        let version = version.unwrap_or(article.latest_version);
        self.set_published(actor, &proof, &article.id, Some(version))
            .await?;
        Ok(version)
    }

    /// Takes the article out of the help centre (its versions stay).
    pub async fn withdraw_article(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        let (article, proof) = self.managed_article(actor, raw_id).await?;
        self.set_published(actor, &proof, &article.id, None).await
    }

    async fn set_published(
        &self,
        actor: &Actor,
        proof: &Authorized,
        id: &ArticleId,
        version: Option<i64>,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        self.store
            .set_published_version(&mut tx, proof, id, version)
            .await?;
        let event = match version {
            Some(v) => AuditEvent::new(AuditAction::ArticlePublished, id.as_str(), Outcome::Success)
                .with_detail(json!({ "version": v })),
            None => AuditEvent::new(AuditAction::ArticleWithdrawn, id.as_str(), Outcome::Success),
        };
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Attaches a file to an article the actor manages; its name is redacted like text.
    pub async fn add_article_file(
        &self,
        actor: &Actor,
        raw_id: &str,
        upload: ArticleUpload,
    ) -> Result<(ArticleFileId, String), ServiceError> {
        let (article, proof) = self.managed_article(actor, raw_id).await?;
        if upload.content.is_empty() {
            return Err(ServiceError::invalid("refusal-empty-file"));
        }
        let filename = self.redactor.redact(&upload.filename).text;
        let new = NewArticleFile {
            uploader: actor.principal.user_id.clone(),
            filename: filename.clone(),
            content_type: upload.content_type,
            content: upload.content,
        };
        let mut tx = self.store.begin().await?;
        let file = self
            .store
            .add_article_file(&mut tx, &proof, &article.id, &new)
            .await?;
        let event = AuditEvent::new(
            AuditAction::ArticleFileAdded,
            article.id.as_str(),
            Outcome::Success,
        )
        .with_detail(json!({ "file": file.as_str(), "bytes": new.content.len() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((file, filename))
    }
}
