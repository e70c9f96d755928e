//! The authors' pages: the list of articles, a form to write one, and for each its
//! latest text, history and publishing controls. The decisions and writes are the
//! API's (`help`), so the two cannot differ.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_assist::ArticleInput;
use serde::Deserialize;

use super::{UiError, render};
use crate::api::articles::{ManagedArticle, managed_view};
use crate::help;
use crate::{AppError, AppState, Caller};

pub(crate) struct Row {
    id: String,
    title: String,
    locale: String,
    readers: String,
    state: String,
}

#[derive(Template)]
#[template(path = "articles.html")]
struct ListPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    rows: Vec<Row>,
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    s.desk()
        .enter_workspace(&caller.actor())
        .await
        .map_err(AppError::from)?;
    let rows = help::managed_list(&s, &caller)
        .await?
        .into_iter()
        .map(|(a, title, _)| Row {
            id: a.id.to_string(),
            title,
            locale: a.locale.clone(),
            readers: readers_text(a.audience, a.companies.len()),
            state: match a.published_version {
                Some(v) if v == a.latest_version => crate::locale::text("articles-published"),
                Some(v) => crate::locale::text_with("articles-published-newer", &[("number", v.into())]),
                None => crate::locale::text("articles-draft"),
            },
        })
        .collect();
    Ok(render(&ListPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        rows,
    }))
}

#[derive(Deserialize, Default)]
pub struct ArticleForm {
    title: String,
    body_html: String,
    #[serde(default)]
    slug: String,
    locale: String,
    audience: String,
    /// Company ids separated by spaces or commas.
    #[serde(default)]
    companies: String,
}

impl From<ArticleForm> for ArticleInput {
    fn from(f: ArticleForm) -> Self {
        ArticleInput {
            title: f.title,
            body_html: f.body_html,
            slug: f.slug,
            locale: f.locale,
            audience: f.audience,
            companies: f
                .companies
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "article_edit.html")]
struct EditPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    /// `None` while writing a new article.
    article: Option<ManagedArticle>,
    title: String,
    body_html: String,
    slug: String,
    locale: String,
    audience: String,
    companies: String,
    error: Option<String>,
    /// The latest version is not the published one.
    latest_unpublished: bool,
    history: Vec<HistoryRow>,
}

struct HistoryRow {
    version: i64,
    title: String,
    saved: String,
    published: bool,
}

impl EditPage {
    fn new(caller: &Caller, article: Option<ManagedArticle>, error: Option<String>) -> Self {
        let (title, body_html, slug, locale, audience, companies) = match &article {
            Some(a) => (
                a.title.clone(),
                a.body_html.clone(),
                a.slug.clone(),
                a.locale.clone(),
                a.audience.clone(),
                a.company_ids.join(" "),
            ),
            None => Default::default(),
        };
        let latest_unpublished = article
            .as_ref()
            .is_some_and(|a| a.published_version != Some(a.latest_version));
        let history = article
            .iter()
            .flat_map(|a| {
                a.versions.iter().map(|v| HistoryRow {
                    version: v.version,
                    title: v.title.clone(),
                    saved: v.created_at.clone(),
                    published: a.published_version == Some(v.version),
                })
            })
            .collect();
        Self {
            user_name: caller.user.name.clone(),
            role: caller.principal.role.as_str(),
            is_customer: false,
            latest_unpublished,
            history,
            article,
            title,
            body_html,
            slug,
            locale: if locale.is_empty() { "en".into() } else { locale },
            audience: if audience.is_empty() {
                "public".into()
            } else {
                audience
            },
            companies,
            error,
        }
    }

    /// Shows the author's submission again with what to fix.
    fn with_submission(mut self, form: ArticleForm, error: String) -> Self {
        self.title = form.title;
        self.body_html = form.body_html;
        self.slug = form.slug;
        self.locale = form.locale;
        self.audience = form.audience;
        self.companies = form.companies;
        self.error = Some(error);
        self
    }
}

/// Only an author's own mistakes are shown on the form; anything else is the usual
/// error page (a refused author gets the same 404 as a missing article).
fn is_author_error(e: &AppError) -> bool {
    matches!(e, AppError::BadRequest(_) | AppError::Conflict(_))
}

pub async fn new_form(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    // The form is offered to those who may write an internal draft.
    let probe = palisade_policy::Resource::Article(palisade_policy::ArticleFacts {
        id: palisade_core::ArticleId::generate(),
        audience: palisade_core::Audience::Internal,
        companies: vec![],
        published: false,
    });
    if !s.permits(&caller, palisade_policy::Action::ArticleManage, &probe) {
        return Err(AppError::NotFound.into());
    }
    Ok(render(&EditPage::new(&caller, None, None)))
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<ArticleForm>,
) -> Result<Response, UiError> {
    let submitted = clone_form(&form);
    let result = match ArticleInput::from(form).into_draft() {
        Ok(draft) => help::create(&s, &caller, &draft).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/articles/{id}")).into_response()),
        Err(e) if is_author_error(&e) => Ok(render(
            &EditPage::new(&caller, None, None).with_submission(submitted, e.to_string()),
        )),
        Err(e) => Err(e.into()),
    }
}

fn clone_form(f: &ArticleForm) -> ArticleForm {
    ArticleForm {
        title: f.title.clone(),
        body_html: f.body_html.clone(),
        slug: f.slug.clone(),
        locale: f.locale.clone(),
        audience: f.audience.clone(),
        companies: f.companies.clone(),
    }
}

pub async fn edit_form(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let (article, _) = help::managed_article(&s, &caller, &id).await?;
    let view = managed_view(&s, &article).await?;
    Ok(render(&EditPage::new(&caller, Some(view), None)))
}

pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<ArticleForm>,
) -> Result<Response, UiError> {
    let submitted = clone_form(&form);
    let result = match ArticleInput::from(form).into_draft() {
        Ok(draft) => help::revise(&s, &caller, &id, &draft).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/articles/{id}")).into_response()),
        Err(e) if is_author_error(&e) => {
            let (article, _) = help::managed_article(&s, &caller, &id).await?;
            let view = managed_view(&s, &article).await?;
            Ok(render(
                &EditPage::new(&caller, Some(view), None).with_submission(submitted, e.to_string()),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PublishForm {
    version: Option<i64>,
}

pub async fn publish(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<PublishForm>,
) -> Result<Response, UiError> {
    help::publish(&s, &caller, &id, form.version).await?;
    Ok(Redirect::to(&format!("/articles/{id}")).into_response())
}

pub async fn withdraw(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    help::withdraw(&s, &caller, &id).await?;
    Ok(Redirect::to(&format!("/articles/{id}")).into_response())
}

/// Who reads an article, in the page's language.
fn readers_text(audience: palisade_core::Audience, companies: usize) -> String {
    match (audience, companies) {
        (palisade_core::Audience::Customers, n) if n > 0 => crate::locale::text_with(
            "audience-companies",
            &[(
                "count",
                palisade_i18n::Arg::Number(i64::try_from(n).unwrap_or(i64::MAX)),
            )],
        ),
        (audience, _) => crate::locale::text(&format!("audience-{}", audience.as_str())),
    }
}
