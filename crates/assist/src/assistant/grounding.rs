//! Grounded answers: passages quoted from published articles the customer may read,
//! each with its link, and nothing else. When no article answers the question well
//! enough, the assistant says so plainly and offers a person — it never improvises.

use palisade_core::ArticleId;

use crate::help::SearchHit;

/// When an article counts as answering a question. Tunable in configuration; the
/// defaults are explained in docs/ASSISTANT.md.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// The BM25 score the best article must reach.
    pub min_score: f32,
    /// The share of the question's words (stemmed, stop words aside) an article must
    /// contain.
    pub min_coverage: f32,
    /// How many articles an answer quotes at most.
    pub max_passages: usize,
    /// Questions in a row without an answer before a person is offered unasked.
    pub misses_before_handover: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_score: 1.0,
            min_coverage: 0.5,
            max_passages: 3,
            misses_before_handover: 2,
        }
    }
}

/// How much of an article a model is given to answer from.
const CONTEXT_CHARS: usize = 1500;

/// One quoted passage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    pub article: ArticleId,
    pub title: String,
    /// The help-centre page of the article.
    pub url: String,
    /// The quoted passage.
    pub text: String,
    /// More of the article, for a model to answer from.
    pub context: String,
}

/// The articles that answer a question, best first; empty when none does.
pub fn ground(hits: &[SearchHit], thresholds: &Thresholds) -> Vec<Passage> {
    let Some(best) = hits.first() else {
        return Vec::new();
    };
    if best.score < thresholds.min_score || best.coverage < thresholds.min_coverage {
        return Vec::new();
    }
    hits.iter()
        .filter(|h| h.coverage >= thresholds.min_coverage && h.score >= thresholds.min_score)
        // Weaker matches than half the best one add noise, not answers.
        .filter(|h| h.score >= best.score * 0.5)
        .take(thresholds.max_passages)
        .map(|h| Passage {
            article: h.article.id.clone(),
            title: h.article.title.clone(),
            url: format!("/help/{}/{}", h.article.locale, h.article.slug),
            context: h.article.text.chars().take(CONTEXT_CHARS).collect(),
            text: if h.snippet.text.is_empty() {
                h.article.text.chars().take(300).collect()
            } else {
                h.snippet.text.clone()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use palisade_core::Audience;

    use super::*;
    use crate::help::{IndexedArticle, Snippet};

    fn hit(title: &str, score: f32, coverage: f32) -> SearchHit {
        SearchHit {
            article: IndexedArticle {
                id: ArticleId::generate(),
                slug: title.to_lowercase().replace(' ', "-"),
                locale: "en".into(),
                audience: Audience::Public,
                companies: vec![],
                title: title.into(),
                text: "Refunds within 30 days.".into(),
            },
            score,
            coverage,
            snippet: Snippet {
                text: "Refunds within 30 days.".into(),
                highlights: vec![],
            },
        }
    }

    #[test]
    fn only_articles_that_answer_are_quoted() {
        let t = Thresholds::default();
        assert!(ground(&[], &t).is_empty());
        // The best match covers too little of the question: no answer at all.
        assert!(ground(&[hit("Refund policy", 5.0, 0.25)], &t).is_empty());
        assert!(ground(&[hit("Refund policy", 0.3, 1.0)], &t).is_empty());
        let answer = ground(
            &[
                hit("Refund policy", 6.0, 1.0),
                hit("Refund status", 4.0, 0.5),
                hit("Loosely related", 1.2, 0.5),
                hit("Also", 5.0, 0.2),
            ],
            &t,
        );
        let titles: Vec<_> = answer.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Refund policy", "Refund status"]);
        assert_eq!(answer[0].url, "/help/en/refund-policy");
    }
}
