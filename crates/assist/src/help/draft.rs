//! What an author submits, checked and made safe before it is stored: a slug and locale
//! in a fixed shape (they appear in URLs and index terms), a bounded title, and body
//! HTML sanitised on save.

use palisade_core::{Audience, CompanyId, valid_locale};
use palisade_i18n::Refusal;
use palisade_store::ArticleDraft;

use crate::AssistError;
use palisade_html::{sanitize_article_html, strip_invisible};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 65_536;
const MAX_SLUG_CHARS: usize = 80;
const MAX_COMPANIES: usize = 100;

/// An author's submission, as typed.
#[derive(Clone, Debug, Default)]
pub struct ArticleInput {
    pub title: String,
    pub body_html: String,
    /// Derived from the title when empty.
    pub slug: String,
    pub locale: String,
    pub audience: String,
    pub companies: Vec<String>,
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG_CHARS
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// A URL-safe slug from a title: ASCII letters and digits, words joined by hyphens.
pub fn slug_from(title: &str) -> String {
    let mut slug = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if slug.len() + word.len() + 1 > MAX_SLUG_CHARS {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    if slug.is_empty() { "article".into() } else { slug }
}

fn invalid(refusal: Refusal) -> AssistError {
    AssistError::InvalidArticle(refusal)
}

impl ArticleInput {
    /// Checks the submission and sanitises its body; the error says what to fix.
    pub fn into_draft(self) -> Result<ArticleDraft, AssistError> {
        let title = strip_invisible(self.title.trim());
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control)
        {
            return Err(invalid(
                Refusal::new("refusal-article-title").with("max", MAX_TITLE_CHARS),
            ));
        }
        // Counted in characters, as the API document states it; 65,536 of them are at
        // most 256 KiB.
        if self.body_html.chars().count() > MAX_BODY_CHARS {
            return Err(invalid(
                Refusal::new("refusal-article-body-long").with("max", MAX_BODY_CHARS),
            ));
        }
        let body_html = sanitize_article_html(&self.body_html);
        if palisade_html::html_to_text(&body_html).is_empty() {
            return Err(AssistError::UnusableArticle(Refusal::new(
                "refusal-article-no-text",
            )));
        }
        let slug = match self.slug.trim() {
            "" => slug_from(&title),
            given => given.to_owned(),
        };
        if !valid_slug(&slug) {
            return Err(invalid(Refusal::new("refusal-article-slug")));
        }
        let locale = self.locale.trim().to_owned();
        if !valid_locale(&locale) {
            return Err(invalid(Refusal::new("refusal-locale-form")));
        }
        let audience = Audience::parse(self.audience.trim())
            .map_err(|_| invalid(Refusal::new("refusal-article-audience")))?;
        let mut companies = Vec::new();
        for raw in self.companies.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let id = CompanyId::parse(raw)
                .map_err(|_| invalid(Refusal::new("refusal-article-company-id").with("value", raw)))?;
            if !companies.contains(&id) {
                companies.push(id);
            }
        }
        if !companies.is_empty() && audience != Audience::Customers {
            return Err(AssistError::UnusableArticle(Refusal::new(
                "refusal-article-companies",
            )));
        }
        if companies.len() > MAX_COMPANIES {
            return Err(invalid(
                Refusal::new("refusal-article-companies-at-most").with("max", MAX_COMPANIES),
            ));
        }
        Ok(ArticleDraft {
            slug,
            locale,
            audience,
            companies,
            title,
            body_html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ArticleInput {
        ArticleInput {
            title: "How do I get a refund?".into(),
            body_html: "<p>Within 30 days.</p>".into(),
            slug: String::new(),
            locale: "en".into(),
            audience: "public".into(),
            companies: vec![],
        }
    }

    #[test]
    fn a_genuine_article_is_accepted_with_a_derived_slug() {
        let draft = input().into_draft().unwrap();
        assert_eq!(draft.slug, "how-do-i-get-a-refund");
        assert_eq!(draft.audience, Audience::Public);
        let company = CompanyId::generate();
        let limited = ArticleInput {
            audience: "customers".into(),
            companies: vec![company.to_string(), company.to_string()],
            locale: "pt-BR".into(),
            ..input()
        }
        .into_draft()
        .unwrap();
        assert_eq!(limited.companies, [company]);
    }

    #[test]
    fn malformed_submissions_are_refused() {
        let cases = [
            ArticleInput {
                title: " ".into(),
                ..input()
            },
            ArticleInput {
                title: "a\nb".into(),
                ..input()
            },
            ArticleInput {
                title: "x".repeat(201),
                ..input()
            },
            ArticleInput {
                body_html: "<script>only</script>".into(),
                ..input()
            },
            ArticleInput {
                slug: "../etc".into(),
                ..input()
            },
            ArticleInput {
                slug: "Upper".into(),
                ..input()
            },
            ArticleInput {
                locale: "english".into(),
                ..input()
            },
            ArticleInput {
                locale: "en-gb".into(),
                ..input()
            },
            ArticleInput {
                audience: "everyone".into(),
                ..input()
            },
            ArticleInput {
                companies: vec!["org_nope".into()],
                audience: "customers".into(),
                ..input()
            },
            ArticleInput {
                companies: vec![CompanyId::generate().to_string()],
                ..input()
            },
            ArticleInput {
                body_html: "a".repeat(MAX_BODY_CHARS + 1),
                ..input()
            },
        ];
        for case in cases {
            assert!(case.clone().into_draft().is_err(), "{case:?} was accepted");
        }
    }

    #[test]
    fn slugs_are_url_safe_whatever_the_title() {
        assert_eq!(slug_from("Ünïcode — only!"), "n-code-only");
        assert_eq!(slug_from("日本語"), "article");
        assert!(slug_from(&"word ".repeat(40)).len() <= MAX_SLUG_CHARS);
    }
}
