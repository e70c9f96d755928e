//! The help centre's access paths, shared by its API and its pages so the two cannot
//! differ: searching (filtered inside the query by what Cedar lets the reader see, then
//! every hit authorised again), reading one published article, and the authors' view.
//! An article the reader may not see is answered exactly like one that does not exist.

use palisade_assist::{SearchHit, help::valid_locale};
use palisade_core::{ArticleId, Audience, CompanyId};
use palisade_i18n::Refusal;
use palisade_policy::Authorized;
use palisade_service::reader_of;
use palisade_store::{ArticleDraft, ArticleRecord, ArticleVersion};

use crate::limits::subject;
use crate::{AppError, AppState, Caller, RequestMeta};

pub(crate) const MAX_RESULTS: usize = 50;
pub(crate) const MAX_QUERY_CHARS: usize = 200;

/// The locale asked for, or the default in force; anything malformed is refused.
pub(crate) async fn locale(s: &AppState, asked: Option<&str>) -> Result<String, AppError> {
    match asked.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(s.settings().await?.default_locale),
        Some(l) if valid_locale(l) => Ok(l.to_owned()),
        Some(_) => Err(AppError::bad_request("refusal-locale-form")),
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
        return Err(AppError::BadRequest(
            Refusal::new("refusal-search-long").with("max", MAX_QUERY_CHARS),
        ));
    }
    let desk = s.desk();
    let actor = caller.map(Caller::actor);
    let reader = reader_of(actor.as_ref());
    let results = s
        .help
        .search(
            locale,
            &desk.article_audience(reader),
            text,
            limit.clamp(1, MAX_RESULTS),
        )
        .await?;
    let hits = desk.readable_articles(reader, results.hits, |hit| hit.facts());
    Ok((results.total, hits))
}

/// Counts a miss against the caller's allowance: many addresses that lead nowhere is
/// someone looking for what is hidden.
async fn counting_misses<T>(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    read: impl std::future::Future<Output = Result<T, palisade_service::ServiceError>>,
) -> Result<T, AppError> {
    let misses = &s.config.public_limits.article_misses_per_ip;
    s.refuse_if_over(misses, &subject(caller, meta)).await?;
    match read.await {
        Err(palisade_service::ServiceError::NotFound) => {
            s.count_against(misses, &subject(caller, meta), meta).await?;
            Err(AppError::NotFound)
        }
        other => Ok(other?),
    }
}

pub(crate) async fn published_by_slug(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    locale: &str,
    slug: &str,
) -> Result<(ArticleRecord, ArticleVersion), AppError> {
    let actor = caller.map(Caller::actor);
    let desk = s.desk();
    counting_misses(
        s,
        caller,
        meta,
        desk.published_by_slug(actor.as_ref(), locale, slug),
    )
    .await
}

pub(crate) async fn published_by_id(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    raw_id: &str,
) -> Result<(ArticleRecord, ArticleVersion), AppError> {
    let actor = caller.map(Caller::actor);
    let desk = s.desk();
    counting_misses(s, caller, meta, desk.published_by_id(actor.as_ref(), raw_id)).await
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

    let actor = caller.map(Caller::actor);
    let desk = s.desk();
    let file = counting_misses(s, caller, meta, desk.article_file(actor.as_ref(), raw_id)).await?;
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
