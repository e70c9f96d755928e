//! The templates' words: `{{ "nav-sign-out"|t }}` is the message in the page's
//! language, `{{ "list-delete-view"|t1("name", v.name) }}` one with a variable,
//! `{{ "ticket-bounces"|tn(n) }}` one that counts, and `{{ status|t_of("status") }}`
//! the word for a value (`status-open`). Their output is escaped like any other value.
//! The language comes with the render ([`super::render`]).

use std::fmt::Display;

use askama::Values;
use palisade_i18n::{Arg, Locale};

/// The key [`super::render`] gives the page's language under.
pub const LOCALE_KEY: &str = "locale";

fn locale(values: &dyn Values) -> Locale {
    askama::get_value::<Locale>(values, LOCALE_KEY)
        .copied()
        .unwrap_or_default()
}

pub fn t(id: impl Display, values: &dyn Values) -> askama::Result<String> {
    Ok(palisade_i18n::text(locale(values), &id.to_string()))
}

pub fn t1(
    id: impl Display,
    values: &dyn Values,
    name: impl Display,
    value: impl Display,
) -> askama::Result<String> {
    Ok(palisade_i18n::text_with(
        locale(values),
        &id.to_string(),
        &[(&name.to_string(), Arg::Text(value.to_string()))],
    ))
}

pub fn t2(
    id: impl Display,
    values: &dyn Values,
    name: impl Display,
    value: impl Display,
    other_name: impl Display,
    other_value: impl Display,
) -> askama::Result<String> {
    Ok(palisade_i18n::text_with(
        locale(values),
        &id.to_string(),
        &[
            (&name.to_string(), Arg::Text(value.to_string())),
            (&other_name.to_string(), Arg::Text(other_value.to_string())),
        ],
    ))
}

pub fn tn(id: impl Display, values: &dyn Values, count: impl Count) -> askama::Result<String> {
    Ok(palisade_i18n::text_with(
        locale(values),
        &id.to_string(),
        &[("count", Arg::Number(count.whole()))],
    ))
}

pub fn t_of(value: impl Display, values: &dyn Values, prefix: impl Display) -> askama::Result<String> {
    Ok(palisade_i18n::text(locale(values), &format!("{prefix}-{value}")))
}

/// A count as the page's language writes it ("1,234", "1.234").
pub fn count(value: impl Count, values: &dyn Values) -> askama::Result<String> {
    Ok(palisade_i18n::format_count(locale(values), value.whole()))
}

/// A whole number a template counts with, however the template holds it.
pub trait Count {
    fn whole(&self) -> i64;
}

impl Count for i64 {
    fn whole(&self) -> i64 {
        *self
    }
}

impl Count for usize {
    fn whole(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl Count for u64 {
    fn whole(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl<T: Count + ?Sized> Count for &T {
    fn whole(&self) -> i64 {
        (**self).whole()
    }
}

#[cfg(test)]
mod tests {
    use palisade_i18n::{Locale, message_ids};

    /// Every message a template names exists (so no page shows an id instead of words).
    #[test]
    fn every_message_the_templates_name_exists() {
        let english = message_ids(Locale::En);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut named = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for filter in ["\"|t }}", "\"|t1(", "\"|t2(", "\"|tn(", "\"|t)"] {
                for (at, _) in text.match_indices(filter) {
                    let start = text[..at].rfind('"').unwrap() + 1;
                    named.push(text[start..at].to_owned());
                }
            }
        }
        assert!(named.len() > 100, "{}", named.len());
        let missing: Vec<_> = named.iter().filter(|id| !english.contains(id)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    /// Every message the pages' code names exists too.
    #[test]
    fn every_message_the_code_names_exists() {
        let english = message_ids(Locale::En);
        let mut named = Vec::new();
        for dir in ["src/ui", "src"] {
            let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap();
                for call in ["locale::word(\"", "locale::text(\"", "locale::text_with(\""] {
                    for (at, _) in text.match_indices(call) {
                        let start = at + call.len();
                        let end = start + text[start..].find('"').unwrap();
                        named.push(text[start..end].to_owned());
                    }
                }
            }
        }
        assert!(named.len() > 40, "{}", named.len());
        let missing: Vec<_> = named.iter().filter(|id| !english.contains(id)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    /// The values shown through `t_of` have their words.
    #[test]
    fn every_value_shown_by_its_word_has_one() {
        use palisade_core::{Priority, Role, TicketStatus, TicketType};
        let english = message_ids(Locale::En);
        let mut ids: Vec<String> = Vec::new();
        ids.extend(TicketStatus::ALL.iter().map(|s| format!("status-{}", s.as_str())));
        ids.extend(Priority::ALL.iter().map(|p| format!("priority-{}", p.as_str())));
        ids.extend(TicketType::ALL.iter().map(|t| format!("type-{}", t.as_str())));
        ids.extend(
            palisade_store::TicketSort::ALL
                .iter()
                .map(|s| format!("sort-{}", s.as_str())),
        );
        ids.extend(
            palisade_service::BuiltInView::ALL
                .iter()
                .map(|v| format!("view-{}", v.slug())),
        );
        for role in [
            Role::Admin,
            Role::Supervisor,
            Role::Agent,
            Role::LightAgent,
            Role::Auditor,
            Role::Customer,
        ] {
            ids.push(format!("role-{}", role.as_str()));
        }
        let missing: Vec<_> = ids.iter().filter(|id| !english.contains(id)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }
}
