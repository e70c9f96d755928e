//! The help centre over the API: searching and reading published articles (open to
//! visitors, showing more to those who sign in), and authoring — drafts, versions,
//! publishing and withdrawing — for staff who may manage articles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_assist::{ArticleInput, SearchHit};
use palisade_i18n::Refusal;
use palisade_store::{ArticleRecord, ArticleVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::rfc3339;
use super::extract::{ApiBytes, ApiJson, ApiQuery};
use crate::caller::MaybeCaller;
use crate::help::{self, audience_label};
use crate::{AppError, AppState, Caller, Problem, RequestMeta};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelpQuery {
    /// Words to search for; all published articles (by title) when absent.
    pub q: Option<String>,
    /// `en`, `de`, `pt-BR`…; the configured default when absent.
    pub locale: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct HelpHit {
    pub id: String,
    pub title: String,
    pub locale: String,
    pub slug: String,
    /// The portal page of the article.
    pub url: String,
    /// The passage that matched, plain text (empty when listing). No score is given:
    /// BM25 statistics span articles the reader may not see.
    pub snippet: String,
}

#[derive(Serialize, ToSchema)]
pub struct HelpResults {
    /// Matches among the articles the caller may read.
    pub total: usize,
    pub items: Vec<HelpHit>,
}

fn hit_view(hit: &SearchHit) -> HelpHit {
    HelpHit {
        id: hit.article.id.to_string(),
        title: hit.article.title.clone(),
        locale: hit.article.locale.clone(),
        slug: hit.article.slug.clone(),
        url: format!("/help/{}/{}", hit.article.locale, hit.article.slug),
        snippet: hit.snippet.text.clone(),
    }
}

#[utoipa::path(get, path = "/api/v1/help/articles", tag = "help centre", params(HelpQuery),
    responses((status = 200, body = HelpResults), (status = 400, body = Problem)))]
pub async fn search(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ApiQuery(q): ApiQuery<HelpQuery>,
) -> Result<Json<HelpResults>, AppError> {
    // The API takes exactly what its document says (the page also forgives blanks).
    if q.locale
        .as_deref()
        .is_some_and(|l| !palisade_assist::help::valid_locale(l))
    {
        return Err(AppError::bad_request("refusal-locale-form"));
    }
    let locale = help::locale(&s, q.locale.as_deref()).await?;
    let (total, hits) = help::search(
        &s,
        caller.as_ref(),
        &meta,
        &locale,
        q.q.as_deref().unwrap_or_default(),
        super::contract::page_limit(q.limit, 20, super::contract::MAX_PAGE)? as usize,
    )
    .await?;
    Ok(Json(HelpResults {
        total,
        items: hits.iter().map(hit_view).collect(),
    }))
}

/// A published article as readers get it.
#[derive(Serialize, ToSchema)]
pub struct PublishedArticle {
    pub id: String,
    pub title: String,
    pub locale: String,
    pub slug: String,
    /// Sanitised HTML.
    pub body_html: String,
    pub version: i64,
    pub updated_at: String,
}

fn published_view(
    article: &ArticleRecord,
    text: ArticleVersion,
    files: &[palisade_core::ArticleFileId],
) -> PublishedArticle {
    PublishedArticle {
        id: article.id.to_string(),
        title: text.title,
        locale: article.locale.clone(),
        slug: article.slug.clone(),
        body_html: palisade_html::sanitize_article_html_for(&text.body_html, files),
        version: text.version,
        updated_at: rfc3339(text.created_at.0),
    }
}

#[utoipa::path(get, path = "/api/v1/help/articles/{id}", tag = "help centre",
    responses((status = 200, body = PublishedArticle), (status = 404, body = Problem)))]
pub async fn read(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Json<PublishedArticle>, AppError> {
    let (article, text) = help::published_by_id(&s, caller.as_ref(), &meta, &id).await?;
    let files = s.store.article_file_ids(&article.id).await?;
    Ok(Json(published_view(&article, text, &files)))
}

/// What an author sends to create an article or save a new version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    pub title: String,
    /// HTML; sanitised on save (no script, handlers, styles or hidden text).
    pub body_html: String,
    /// Derived from the title when absent.
    pub slug: Option<String>,
    pub locale: String,
    /// `public`, `customers` or `internal`.
    pub audience: String,
    /// For `customers`: only these companies' customers.
    #[serde(default)]
    pub company_ids: Vec<String>,
}

impl From<ArticleBody> for ArticleInput {
    fn from(b: ArticleBody) -> Self {
        ArticleInput {
            title: b.title,
            body_html: b.body_html,
            slug: b.slug.unwrap_or_default(),
            locale: b.locale,
            audience: b.audience,
            companies: b.company_ids,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    pub title: String,
    pub author_id: String,
    pub created_at: String,
}

/// The authors' view of an article: where it stands, its latest text, its history.
#[derive(Serialize, ToSchema)]
pub struct ManagedArticle {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub audience: String,
    pub company_ids: Vec<String>,
    /// Where readers find the published version now; absent until it is published.
    pub published_url: Option<String>,
    /// In words, e.g. "signed-in customers".
    pub readers: String,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub title: String,
    pub body_html: String,
    pub updated_at: String,
    pub versions: Vec<VersionSummary>,
}

pub(crate) async fn managed_view(s: &AppState, article: &ArticleRecord) -> Result<ManagedArticle, AppError> {
    let latest = s
        .store
        .article_version(&article.id, article.latest_version)
        .await?;
    let history = s.store.article_history(&article.id).await?;
    Ok(ManagedArticle {
        id: article.id.to_string(),
        // The latest version's place (older versions have none of their own).
        slug: latest.slug.clone().unwrap_or_else(|| article.slug.clone()),
        locale: latest.locale.clone().unwrap_or_else(|| article.locale.clone()),
        published_url: article
            .published_slug()
            .map(|slug| format!("/help/{}/{slug}", article.locale)),
        audience: article.audience.as_str().into(),
        company_ids: article.companies.iter().map(ToString::to_string).collect(),
        readers: audience_label(article.audience, &article.companies),
        latest_version: article.latest_version,
        published_version: article.published_version,
        title: latest.title,
        body_html: latest.body_html,
        updated_at: rfc3339(article.updated_at.0),
        versions: history
            .into_iter()
            .map(|v| VersionSummary {
                version: v.version,
                title: v.title,
                author_id: v.author.to_string(),
                created_at: rfc3339(v.created_at.0),
            })
            .collect(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct ManagedSummary {
    pub id: String,
    pub title: String,
    pub locale: String,
    /// The latest version's slug: where the article will live once that version is
    /// published.
    pub slug: String,
    /// Where readers find the published version now; absent until it is published.
    pub published_url: Option<String>,
    pub readers: String,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub updated_at: String,
}

#[utoipa::path(get, path = "/api/v1/articles", tag = "help centre",
    responses((status = 200, body = Vec<ManagedSummary>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<ManagedSummary>>, AppError> {
    let items = help::managed_list(&s, &caller).await?;
    Ok(Json(
        items
            .into_iter()
            .map(|(a, title, draft_slug)| ManagedSummary {
                id: a.id.to_string(),
                title,
                readers: audience_label(a.audience, &a.companies),
                published_url: a
                    .published_slug()
                    .map(|slug| format!("/help/{}/{slug}", a.locale)),
                slug: draft_slug.unwrap_or_else(|| a.slug.clone()),
                locale: a.locale,
                latest_version: a.latest_version,
                published_version: a.published_version,
                updated_at: rfc3339(a.updated_at.0),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/articles", tag = "help centre", request_body = ArticleBody,
    responses((status = 201, body = ManagedArticle), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ArticleBody>,
) -> Result<(StatusCode, Json<ManagedArticle>), AppError> {
    let draft = ArticleInput::from(body).into_draft()?;
    let id = help::create(&s, &caller, &draft).await?;
    let (article, _) = help::managed_article(&s, &caller, id.as_str()).await?;
    Ok((StatusCode::CREATED, Json(managed_view(&s, &article).await?)))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "help centre",
    responses((status = 200, body = ManagedArticle), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ManagedArticle>, AppError> {
    let (article, _) = help::managed_article(&s, &caller, &id).await?;
    Ok(Json(managed_view(&s, &article).await?))
}

#[utoipa::path(put, path = "/api/v1/articles/{id}", tag = "help centre", request_body = ArticleBody,
    responses((status = 200, body = ManagedArticle), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn revise(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ArticleBody>,
) -> Result<Json<ManagedArticle>, AppError> {
    let draft = ArticleInput::from(body).into_draft()?;
    help::revise(&s, &caller, &id, &draft).await?;
    let (article, _) = help::managed_article(&s, &caller, &id).await?;
    Ok(Json(managed_view(&s, &article).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The version to publish; the latest when absent.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/publish", tag = "help centre", request_body = PublishBody,
    responses((status = 200, body = ManagedArticle), (status = 404, body = Problem)))]
pub async fn publish(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ManagedArticle>, AppError> {
    // The body is optional: none publishes the latest version.
    let version = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<PublishBody>(&body)
            .map_err(|e| {
                AppError::BadRequest(Refusal::new("refusal-article-body").with("detail", e.to_string()))
            })?
            .version
    };
    help::publish(&s, &caller, &id, version).await?;
    let (article, _) = help::managed_article(&s, &caller, &id).await?;
    Ok(Json(managed_view(&s, &article).await?))
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/withdraw", tag = "help centre",
    responses((status = 200, body = ManagedArticle), (status = 404, body = Problem)))]
pub async fn withdraw(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ManagedArticle>, AppError> {
    help::withdraw(&s, &caller, &id).await?;
    let (article, _) = help::managed_article(&s, &caller, &id).await?;
    Ok(Json(managed_view(&s, &article).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// The file's name (kept for downloads; the type comes from its bytes).
    pub filename: String,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleFileView {
    pub id: String,
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    pub size: i64,
    /// Where readers of the article get it; use it in the article as `<img src>` or a link.
    pub url: String,
}

/// Attaches a file (an image the article shows, a document it links) to an article the
/// caller may manage. Served at `url` to exactly those who may read the article.
#[utoipa::path(post, path = "/api/v1/articles/{id}/files", tag = "articles",
    params(("id" = String, Path), FileQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArticleFileView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn upload_file(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FileQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<ArticleFileView>), AppError> {
    let upload = palisade_service::ArticleUpload {
        filename: super::tickets::validate_filename(&q.filename)?,
        content_type: palisade_service::sniff_content_type(&body),
        content: body.to_vec(),
    };
    let (content_type, size) = (upload.content_type.clone(), upload.content.len());
    let (file, filename) = s.desk().add_article_file(&caller.actor(), &id, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(ArticleFileView {
            url: format!("/help/files/{file}"),
            id: file.to_string(),
            filename,
            content_type,
            size: i64::try_from(size).unwrap_or(i64::MAX),
        }),
    ))
}
