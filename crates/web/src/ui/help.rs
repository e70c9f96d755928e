//! The help centre in the portal: browsing, searching and reading the published
//! articles the visitor may see — signed-in customers see their own audience's too,
//! staff see internal ones. Plain server-rendered pages: they work without JavaScript.

use super::filters;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{UiError, render};
use crate::api::extract::ApiQuery;
use crate::caller::MaybeCaller;
use crate::help;
use crate::{AppState, Caller, RequestMeta};

/// Who is looking, for the page header.
pub(crate) struct Viewer {
    pub user_name: String,
    pub role: &'static str,
    pub is_customer: bool,
}

impl Viewer {
    pub(crate) fn of(caller: Option<&Caller>) -> Option<Self> {
        caller.map(|c| Viewer {
            user_name: c.user.name.clone(),
            role: c.principal.role.as_str(),
            is_customer: c.principal.role == palisade_core::Role::Customer,
        })
    }
}

/// One piece of a snippet: text, marked when it matched the search.
pub(crate) struct Piece {
    pub text: String,
    pub matched: bool,
}

pub(crate) struct HitRow {
    pub title: String,
    pub url: String,
    pub snippet: Vec<Piece>,
}

fn pieces(snippet: &palisade_assist::help::Snippet) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = 0;
    for range in &snippet.highlights {
        let (Some(before), Some(matched)) =
            (snippet.text.get(at..range.start), snippet.text.get(range.clone()))
        else {
            continue;
        };
        out.push(Piece {
            text: before.to_owned(),
            matched: false,
        });
        out.push(Piece {
            text: matched.to_owned(),
            matched: true,
        });
        at = range.end;
    }
    out.push(Piece {
        text: snippet.text.get(at..).unwrap_or_default().to_owned(),
        matched: false,
    });
    out
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    organisation: String,
    viewer: Option<Viewer>,
    locale: String,
    query: String,
    searched: bool,
    total: usize,
    hits: Vec<HitRow>,
}

#[derive(Deserialize)]
pub struct HelpParams {
    q: Option<String>,
    locale: Option<String>,
}

/// Browsing (no words) and searching are one page.
pub async fn index(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ApiQuery(params): ApiQuery<HelpParams>,
) -> Result<Response, UiError> {
    let locale = help::locale(&s, params.locale.as_deref()).await?;
    let query = params.q.unwrap_or_default().trim().to_owned();
    let (total, hits) = help::search(&s, caller.as_ref(), &meta, &locale, &query, help::MAX_RESULTS).await?;
    Ok(render(&HelpPage {
        organisation: s.settings().await?.organisation_name,
        viewer: Viewer::of(caller.as_ref()),
        searched: !query.is_empty(),
        hits: hits
            .iter()
            .map(|h| HitRow {
                title: h.article.title.clone(),
                url: format!("/help/{}/{}", h.article.locale, h.article.slug),
                snippet: pieces(&h.snippet),
            })
            .collect(),
        locale,
        query,
        total,
    }))
}

#[derive(Template)]
#[template(path = "help_article.html")]
struct ArticlePage {
    viewer: Option<Viewer>,
    locale: String,
    title: String,
    /// Sanitised again on the way out, whatever is stored.
    body_html: String,
    updated_at: String,
}

pub async fn article(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    Path((locale, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let (article, text) = help::published_by_slug(&s, caller.as_ref(), &meta, &locale, &slug).await?;
    let files = s.store.article_file_ids(&article.id).await?;
    Ok(render(&ArticlePage {
        viewer: Viewer::of(caller.as_ref()),
        locale: article.locale,
        title: text.title,
        body_html: palisade_html::sanitize_article_html_for(&text.body_html, &files),
        updated_at: crate::api::dto::rfc3339(text.created_at.0),
    }))
}

/// A file of an article (its images, its downloads), for those who may read it.
pub async fn file(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    Ok(help::article_file(&s, caller.as_ref(), &meta, &id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_pieces_mark_exactly_the_matches() {
        let snippet = palisade_assist::help::Snippet {
            text: "Ask for a refund within 30 days".into(),
            highlights: vec![10..16, 100..120],
        };
        let p = pieces(&snippet);
        let marked: Vec<_> = p.iter().filter(|x| x.matched).map(|x| x.text.as_str()).collect();
        assert_eq!(marked, ["refund"]);
        let whole: String = p.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(whole, snippet.text);
    }
}
