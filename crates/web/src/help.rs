//! The help centre's access paths, shared by its API and its pages so the two cannot
//! differ: searching (filtered inside the query by what Cedar lets the reader see, then
//! every hit authorised again), reading one published article, and the authors' view.
//! An article the reader may not see is answered exactly like one that does not exist.

use palisade_assist::{AudienceFilter, SearchHit, help::valid_locale};
use palisade_core::{ArticleId, Audience, CompanyId};
use palisade_policy::{Action, ArticleFacts, Authorized, Reader, Resource};
use palisade_store::{ArticleDraft, ArticleRecord, ArticleVersion};

use crate::limits::subject;
use crate::{AppError, AppState, Caller, RequestMeta};

pub(crate) const MAX_RESULTS: usize = 50;
pub(crate) const MAX_QUERY_CHARS: usize = 200;

pub(crate) fn reader(caller: Option<&Caller>) -> Reader<'_> {
    caller.map(|c| &c.principal).into()
}

/// The locale asked for, or the configured default; anything malformed is refused.
pub(crate) fn locale(s: &AppState, asked: Option<&str>) -> Result<String, AppError> {
    match asked.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(s.config.default_locale.clone()),
        Some(l) if valid_locale(l) => Ok(l.to_owned()),
        Some(_) => Err(AppError::BadRequest(
            "the locale must look like en, de or pt-BR".into(),
        )),
    }
}

/// Published articles of `locale` matching `text` (all of them when empty) that the
/// caller may read, and how many matched in all.
pub(crate) async fn search(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    locale: &str,
    text: &str,
    limit: usize,
) -> Result<(usize, Vec<SearchHit>), AppError> {
    s.enforce(
        &s.config.public_limits.help_search_per_ip,
        &subject(caller, meta),
        meta,
    )
    .await?;
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "a search is at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let reader = reader(caller);
    let filter = AudienceFilter::for_reader(&s.policy, reader);
    let results = s
        .help
        .search(locale, &filter, text, limit.clamp(1, MAX_RESULTS))
        .await?;
    let mut hits = Vec::with_capacity(results.hits.len());
    for hit in results.hits {
        let facts = ArticleFacts {
            id: hit.article.id.clone(),
            audience: hit.article.audience,
            companies: hit.article.companies.clone(),
            published: true,
        };
        if s.policy
            .authorize_reader(reader, Action::ArticleRead, &Resource::Article(facts))
            .is_ok()
        {
            hits.push(hit);
        } else {
            // The filter let through what the policies refuse: a bug in one of them.
            // The hit is dropped and the mismatch is reported, never shown.
            tracing::error!(article = %hit.article.id, "search filter and policy disagree");
        }
    }
    Ok((results.total, hits))
}

/// The published text of an article the caller may read, by locale and slug or by id.
pub(crate) async fn published_article(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    article: Option<ArticleRecord>,
    asked_for: &str,
) -> Result<(ArticleRecord, ArticleVersion), AppError> {
    let readable = article.filter(|a| {
        a.published_version.is_some()
            && s.policy
                .authorize_reader(reader(caller), Action::ArticleRead, &Resource::Article(a.facts()))
                .is_ok()
    });
    let Some(article) = readable else {
        // Signed-in callers' misses are audited like ticket misses (both kinds alike);
        // visitors' probing is for the abuse detectors, not the audit trail.
        if let Some(caller) = caller {
            s.audit_denial(caller, Action::ArticleRead, asked_for, "not_found")
                .await?;
        }
        // Many addresses that lead nowhere is someone looking for what is hidden.
        s.count_against(
            &s.config.public_limits.article_misses_per_ip,
            &subject(caller, meta),
            meta,
        )
        .await?;
        return Err(AppError::NotFound);
    };
    let version = article.published_version.ok_or(AppError::NotFound)?;
    let text = s.store.article_version(&article.id, version).await?;
    Ok((article, text))
}

pub(crate) async fn published_by_slug(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    locale: &str,
    slug: &str,
) -> Result<(ArticleRecord, ArticleVersion), AppError> {
    s.refuse_if_over(
        &s.config.public_limits.article_misses_per_ip,
        &subject(caller, meta),
    )
    .await?;
    let found = if valid_locale(locale) && slug.len() <= 80 {
        s.store.article_by_slug(locale, slug).await?
    } else {
        None
    };
    published_article(s, caller, meta, found, &format!("{locale}/{slug}")).await
}

pub(crate) async fn published_by_id(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    raw_id: &str,
) -> Result<(ArticleRecord, ArticleVersion), AppError> {
    s.refuse_if_over(
        &s.config.public_limits.article_misses_per_ip,
        &subject(caller, meta),
    )
    .await?;
    let found = match ArticleId::parse(raw_id) {
        Ok(id) => s.store.get_article(&id).await?,
        Err(_) => None,
    };
    published_article(s, caller, meta, found, raw_id).await
}

/// An article the caller may manage (authors' view: drafts included); 404 otherwise.
pub(crate) async fn managed_article(
    s: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<(ArticleRecord, Authorized), AppError> {
    Ok(s.desk().managed_article(&caller.actor(), raw_id).await?)
}

/// Articles the caller may manage, most recently changed first, with their latest
/// title and the latest version's slug (where it will live once published).
pub(crate) async fn managed_list(
    s: &AppState,
    caller: &Caller,
) -> Result<Vec<(ArticleRecord, String, Option<String>)>, AppError> {
    Ok(s.desk().managed_articles(&caller.actor()).await?)
}

// Each write brings this node's search index up to date at once; other nodes follow
// the change sequence within a second.

pub(crate) async fn create(
    s: &AppState,
    caller: &Caller,
    draft: &ArticleDraft,
) -> Result<ArticleId, AppError> {
    let id = s.desk().create_article(&caller.actor(), draft).await?;
    s.help.catch_up(true).await?;
    Ok(id)
}

pub(crate) async fn revise(
    s: &AppState,
    caller: &Caller,
    raw_id: &str,
    draft: &ArticleDraft,
) -> Result<i64, AppError> {
    let version = s.desk().revise_article(&caller.actor(), raw_id, draft).await?;
    s.help.catch_up(true).await?;
    Ok(version)
}

/// Publishes `version` (the latest when `None`).
pub(crate) async fn publish(
    s: &AppState,
    caller: &Caller,
    raw_id: &str,
    version: Option<i64>,
) -> Result<i64, AppError> {
    let version = s.desk().publish_article(&caller.actor(), raw_id, version).await?;
    s.help.catch_up(true).await?;
    Ok(version)
}

pub(crate) async fn withdraw(s: &AppState, caller: &Caller, raw_id: &str) -> Result<(), AppError> {
    s.desk().withdraw_article(&caller.actor(), raw_id).await?;
    s.help.catch_up(true).await?;
    Ok(())
}

/// Who an article is for, in words, for authors.
pub(crate) fn audience_label(audience: Audience, companies: &[CompanyId]) -> String {
    match (audience, companies.len()) {
        (Audience::Public, _) => "everyone".into(),
        (Audience::Customers, 0) => "signed-in customers".into(),
        (Audience::Customers, n) => format!("customers of {n} compan{}", if n == 1 { "y" } else { "ies" }),
        (Audience::Internal, _) => "staff only".into(),
    }
}

/// Image types shown inline (never SVG, which can carry script); everything else is a
/// download.
const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A file of an article, for exactly those who may read the article — or manage it,
/// so authors see their drafts' images. Anything else answers 404 like a missing file,
/// and counts as an article miss.
pub(crate) async fn article_file(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    raw_id: &str,
) -> Result<axum::response::Response, AppError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;

    s.refuse_if_over(
        &s.config.public_limits.article_misses_per_ip,
        &subject(caller, meta),
    )
    .await?;
    let file_id = palisade_core::ArticleFileId::parse(raw_id).ok();
    let article = match &file_id {
        Some(id) => match s.store.article_of_file(id).await {
            Ok(article) => s.store.get_article(&article).await?,
            Err(palisade_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let manages = match (caller, &article) {
        (Some(c), Some(a)) => s.permits(c, Action::ArticleManage, &Resource::Article(a.facts())),
        _ => false,
    };
    let article = if manages {
        article.ok_or(AppError::NotFound)?
    } else {
        published_article(s, caller, meta, article, raw_id).await?.0
    };
    let file_id = file_id.ok_or(AppError::NotFound)?;
    let file = s.store.read_article_file(&article.id, &file_id).await?;
    let inline = INLINE_TYPES.contains(&file.content_type.as_str());
    let mut response = file.content.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if !inline {
        h.insert(
            header::CONTENT_DISPOSITION,
            crate::api::tickets::content_disposition(&file.filename),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}
