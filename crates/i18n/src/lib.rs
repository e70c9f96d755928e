//! Palisade's message catalogue: the pages' words in every language Palisade speaks,
//! from Project Fluent files compiled into the binary (`locales/<tag>/*.ftl`), with
//! the negotiation of a language from `Accept-Language` and the formatting of dates
//! and numbers for it. A message missing from a language falls back to English; a
//! test holds every language to the same set of messages, so none is ever missing.

mod format;

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

pub use format::{format_count, format_datetime, relative_time};

/// A language of the pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// The BCP 47 tag (`lang` attributes, the preference stored for a person).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    /// The language's name in itself, for a language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
        }
    }

    /// A tag's language (`de`, `de-AT`, `EN-gb`); `None` when Palisade does not speak it.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The language of mail for a stored tag ([`Locale::parse`]), English otherwise.
    pub fn for_mail(tag: Option<&str>) -> Self {
        tag.and_then(Self::parse).unwrap_or_default()
    }

    fn sources(self) -> &'static [&'static str] {
        match self {
            Self::En => &[
                include_str!("../locales/en/common.ftl"),
                include_str!("../locales/en/tickets.ftl"),
                include_str!("../locales/en/account.ftl"),
                include_str!("../locales/en/workspace.ftl"),
                include_str!("../locales/en/admin.ftl"),
                include_str!("../locales/en/notices.ftl"),
                include_str!("../locales/en/mail.ftl"),
                include_str!("../locales/en/refusals.ftl"),
            ],
            Self::De => &[
                include_str!("../locales/de/common.ftl"),
                include_str!("../locales/de/tickets.ftl"),
                include_str!("../locales/de/account.ftl"),
                include_str!("../locales/de/workspace.ftl"),
                include_str!("../locales/de/admin.ftl"),
                include_str!("../locales/de/notices.ftl"),
                include_str!("../locales/de/mail.ftl"),
                include_str!("../locales/de/refusals.ftl"),
            ],
        }
    }
}

/// The best language for an `Accept-Language` header: the highest weight Palisade
/// speaks, the earlier on a tie; `None` when it speaks none of them.
pub fn negotiate(accept_language: &str) -> Option<Locale> {
    let mut best: Option<(Locale, u16)> = None;
    for item in accept_language.split(',').take(20) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), quality)
            .unwrap_or(0);
        if weight == 0 {
            continue;
        }
        if let Some(locale) = Locale::parse(tag)
            && best.is_none_or(|(_, w)| weight > w)
        {
            best = Some((locale, weight));
        }
    }
    best.map(|(locale, _)| locale)
}

/// A `q` value in thousandths; `None` when it is not one.
fn quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

struct Catalogue {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    bundles: Locale::ALL.into_iter().map(|l| (l, bundle(l))).collect(),
});

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = locale.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks are for text mixing directions; both languages run left to right
    // and the marks would only show up as stray characters in mail and titles.
    bundle.set_use_isolating(false);
    for source in locale.sources() {
        // The files are part of the binary and checked by the tests below: a syntax
        // error keeps the messages that parsed rather than taking the pages down.
        let resource = match FluentResource::try_new((*source).to_owned()) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        let _ = bundle.add_resource(resource);
    }
    bundle
}

impl Catalogue {
    fn bundle(&self, locale: Locale) -> Option<&FluentBundle<FluentResource>> {
        self.bundles.iter().find(|(l, _)| *l == locale).map(|(_, b)| b)
    }

    fn format(&self, locale: Locale, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let bundle = self.bundle(locale)?;
        let pattern = bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        errors.is_empty().then(|| text.into_owned())
    }
}

/// The message `id` in `locale`, English when that language lacks it, and the id
/// itself when no language has it (so a missing message shows, and fails the tests).
pub fn text(locale: Locale, id: &str) -> String {
    text_with(locale, id, &[])
}

/// The message `id` with its variables (`{ $name }`): text, or whole numbers that
/// also choose plural forms.
pub fn text_with(locale: Locale, id: &str, args: &[(&str, Arg)]) -> String {
    let mut fluent = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Text(t) => fluent.set(*name, FluentValue::from(t.as_str())),
            Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
            Arg::Message(id) => fluent.set(*name, FluentValue::from(text(locale, id))),
        }
    }
    let args = (!args.is_empty()).then_some(&fluent);
    CATALOGUE
        .format(locale, id, args)
        .or_else(|| CATALOGUE.format(Locale::En, id, args))
        .unwrap_or_else(|| id.to_owned())
}

/// Every message without variables, formatted once per language: the words a page
/// holds as `&'static str` (notices, titles) come from here.
static PLAIN: LazyLock<std::collections::HashMap<(Locale, String), String>> = LazyLock::new(|| {
    let mut plain = std::collections::HashMap::new();
    for locale in Locale::ALL {
        for id in message_ids(locale) {
            if let Some(text) = CATALOGUE.format(locale, &id, None) {
                plain.insert((locale, id), text);
            }
        }
    }
    plain
});

/// [`text`] for a message without variables, as a `&'static str`; the id itself when
/// no language has it.
pub fn static_text(locale: Locale, id: &'static str) -> &'static str {
    PLAIN
        .get(&(locale, id.to_owned()))
        .or_else(|| PLAIN.get(&(Locale::En, id.to_owned())))
        .map_or(id, String::as_str)
}

/// A variable of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Number(i64),
    /// Another message, in the same language (a field's name inside a refusal).
    Message(&'static str),
}

/// Why a request was refused, as a message of the catalogue with its variables: the
/// layer that refuses does not know the reader's language, so the answer is written
/// where the reader is known ([`Refusal::render`]). Shown as English in logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Refusal {
    pub const fn new(id: &'static str) -> Self {
        Self { id, args: Vec::new() }
    }

    /// The refusal with the variable `name` set.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<Arg>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// The message id, for callers that act on one particular refusal.
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The refusal in `locale`.
    pub fn render(&self, locale: Locale) -> String {
        text_with(locale, self.id, &self.args)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Locale::En))
    }
}

impl From<&str> for Arg {
    fn from(t: &str) -> Self {
        Self::Text(t.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(t: &String) -> Self {
        Self::Text(t.clone())
    }
}

impl From<String> for Arg {
    fn from(t: String) -> Self {
        Self::Text(t)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Self::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

/// Every message id of a language, for the tests that hold the languages together.
pub fn message_ids(locale: Locale) -> Vec<String> {
    let mut ids: Vec<String> = locale
        .sources()
        .iter()
        .filter_map(|s| FluentResource::try_new((*s).to_owned()).ok())
        .flat_map(|r| {
            r.entries()
                .filter_map(|e| match e {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_parses_and_has_exactly_the_english_messages() {
        for locale in Locale::ALL {
            for source in locale.sources() {
                assert!(
                    FluentResource::try_new((*source).to_owned()).is_ok(),
                    "{} has a syntax error",
                    locale.tag()
                );
            }
        }
        let english = message_ids(Locale::En);
        assert!(english.len() > 50, "{}", english.len());
        for locale in Locale::ALL {
            let ids = message_ids(locale);
            // A second message with an id is dropped when the files are loaded.
            let twice: Vec<_> = ids.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
            assert!(twice.is_empty(), "{}: defined twice {twice:?}", locale.tag());
            let missing: Vec<_> = english.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                locale.tag()
            );
            // Every message formats without an error in its own language.
            for id in &ids {
                assert!(
                    CATALOGUE.format(locale, id, Some(&sample_args())).is_some(),
                    "{}: {id}",
                    locale.tag()
                );
            }
        }
    }

    /// Every message the workspace's code names (the pages', the mails') exists: a typo
    /// would otherwise go out as the bare id, in a page or a mail subject.
    #[test]
    fn every_message_the_code_names_exists() {
        let english = message_ids(Locale::En);
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![crates];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    if !path.ends_with("tests") && !path.ends_with("target") {
                        dirs.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut named = Vec::new();
        let mut sources = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            sources.push((file.display().to_string(), text.clone()));
            for call in [
                "text_with(",
                "text(",
                "word(",
                "static_text(",
                "Refusal::new(",
                "Message(",
                "invalid(",
                "conflict(",
                "bad_request(",
                "refuse(",
                "refusal(",
                "WeakPassword(",
            ] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let end = rest.char_indices().nth(60).map_or(rest.len(), |(i, _)| i);
                    let window = &rest[..end];
                    let Some(open) = window.find('"') else { continue };
                    let Some(close) = window[open + 1..].find('"') else {
                        continue;
                    };
                    let id = &window[open + 1..open + 1 + close];
                    let looks_like_id = id.len() > 2
                        && id.contains('-')
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
                    if looks_like_id {
                        named.push((file.display().to_string(), id.to_owned()));
                    }
                }
            }
        }
        // Refusals travel as ids through constants and closures: every literal that
        // looks like one must exist too.
        for (file, text) in &sources {
            for prefix in ["\"refusal-", "\"problem-", "\"field-word-"] {
                for (at, _) in text.match_indices(prefix) {
                    let rest = &text[at + 1..];
                    let Some(close) = rest.find('"') else { continue };
                    let id = &rest[..close];
                    if !id.ends_with('-') {
                        named.push((file.clone(), id.to_owned()));
                    }
                }
            }
        }
        assert!(named.len() > 60, "{}", named.len());
        let missing: Vec<_> = named
            .iter()
            .filter(|(_, id)| !english.contains(id) && id != "no-such-message")
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    fn sample_args() -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        for name in [
            "name", "other", "count", "number", "when", "query", "view", "role", "team", "address", "link",
            "field", "max", "min", "value", "kind", "key", "tag", "list", "option", "detail", "reason",
            "minutes", "days",
        ] {
            args.set(name, FluentValue::from(2));
        }
        args
    }

    #[test]
    fn a_refusal_is_written_in_the_readers_language_with_its_field_named_there_too() {
        let refusal = Refusal::new("refusal-text-empty").with("field", Arg::Message("field-word-subject"));
        assert_eq!(refusal.to_string(), "subject must not be empty");
        assert_eq!(
            refusal.render(Locale::De),
            "Das Feld „Betreff\" darf nicht leer sein"
        );
        assert_eq!(refusal.id(), "refusal-text-empty");
    }

    #[test]
    fn languages_are_negotiated_by_weight() {
        assert_eq!(negotiate("de-DE,de;q=0.9,en;q=0.8"), Some(Locale::De));
        assert_eq!(negotiate("fr-FR, en;q=0.5, de;q=0.7"), Some(Locale::De));
        assert_eq!(negotiate("en-GB,en;q=0.9"), Some(Locale::En));
        assert_eq!(negotiate("fr, it"), None);
        assert_eq!(negotiate("de;q=0, en;q=0.1"), Some(Locale::En));
        assert_eq!(negotiate("de;q=banana"), None);
        assert_eq!(negotiate(""), None);
    }

    #[test]
    fn plain_messages_are_ready_as_static_text() {
        assert_eq!(static_text(Locale::De, "nav-sign-out"), "Abmelden");
        assert_eq!(static_text(Locale::En, "nav-sign-out"), "Sign out");
        assert_eq!(static_text(Locale::De, "no-such-message"), "no-such-message");
    }

    #[test]
    fn a_message_falls_back_and_takes_variables() {
        assert_eq!(text(Locale::De, "nav-sign-out"), "Abmelden");
        assert_eq!(text(Locale::En, "nav-sign-out"), "Sign out");
        assert_eq!(text(Locale::De, "no-such-message"), "no-such-message");
        assert_eq!(
            text_with(Locale::En, "time-days-ago", &[("count", Arg::Number(1))]),
            "1 day ago"
        );
        assert_eq!(
            text_with(Locale::De, "time-days-ago", &[("count", Arg::Number(3))]),
            "vor 3 Tagen"
        );
    }
}
