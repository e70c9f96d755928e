//! The mail a team sends its requesters on its own: the acknowledgement of a new
//! ticket and the satisfaction survey once one is solved. Each is the team's own words
//! in the requester's language where it wrote some, else the built-in text of the
//! catalogue. Placeholders are filled in one pass, so what a customer wrote (a name, a
//! subject) is never read as a placeholder; the mail's HTML alternative escapes all of
//! it.

use std::collections::BTreeMap;

use palisade_i18n::{Arg, Locale, Refusal, text_with};

use crate::{ServiceError, validate_text};

/// The placeholders an acknowledgement may use.
pub const ACK_PLACEHOLDERS: [&str; 4] = [
    "{requester_name}",
    "{requester_first_name}",
    "{ticket_number}",
    "{ticket_subject}",
];
/// The placeholders a satisfaction survey may use; `{link}` it must.
pub const SURVEY_PLACEHOLDERS: [&str; 4] = [
    "{requester_name}",
    "{requester_first_name}",
    "{ticket_number}",
    "{link}",
];
/// The longest text a team may write, per language.
pub const MAX_ACK_CHARS: usize = 5000;

/// A team's acknowledgements as stored (see [`valid_texts`]).
pub fn valid_ack_texts(json: &str) -> Result<String, ServiceError> {
    valid_texts(json, &ACK_PLACEHOLDERS, None)
}

/// A team's survey texts as stored: each must carry the link.
pub fn valid_survey_texts(json: &str) -> Result<String, ServiceError> {
    valid_texts(json, &SURVEY_PLACEHOLDERS, Some("{link}"))
}

/// Texts as stored: JSON of known language tags to valid texts using only `known`
/// placeholders and each holding `required` (blank ones dropped, so clearing a
/// language's text returns it to the built-in one).
fn valid_texts(json: &str, known: &[&str], required: Option<&str>) -> Result<String, ServiceError> {
    let texts: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|_| ServiceError::invalid("refusal-ack-texts"))?;
    let mut kept = BTreeMap::new();
    for (tag, text) in texts {
        if Locale::parse(&tag).is_none_or(|l| l.tag() != tag) {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-unknown-variant")
                    .with("kind", "language")
                    .with("value", tag),
            ));
        }
        if text.trim().is_empty() {
            continue;
        }
        let text = validate_text("body", &text, MAX_ACK_CHARS)?;
        crate::macros::check_placeholders_of(&text, known)?;
        if required.is_some_and(|r| !text.contains(r)) {
            return Err(ServiceError::invalid("refusal-survey-link"));
        }
        kept.insert(tag, text);
    }
    serde_json::to_string(&kept)
        .map_err(|e| ServiceError::Store(palisade_store::StoreError::Corrupt(e.to_string())))
}

/// Replaces each placeholder of `values` in one pass over `text`.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        for (name, value) in values {
            if let Some(after) = rest.strip_prefix(name) {
                out.push_str(value);
                rest = after;
                continue 'scan;
            }
        }
        out.push('{');
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// A team's own words for `locale`, if it wrote some, with the requester's name, first
/// name and the ticket number filled in, and `extra` (one more placeholder and value).
fn own_words(
    texts_json: &str,
    locale: Locale,
    requester: &str,
    number: i64,
    extra: (&str, &str),
) -> Option<String> {
    let texts: BTreeMap<String, String> = serde_json::from_str(texts_json).unwrap_or_default();
    let own = texts.get(locale.tag())?;
    let first = requester.split_whitespace().next().unwrap_or(requester);
    let number = number.to_string();
    Some(fill(
        own,
        &[
            ("{requester_name}", requester),
            ("{requester_first_name}", first),
            ("{ticket_number}", &number),
            extra,
        ],
    ))
}

/// The survey's subject and text for a requester reading `locale`, with its link.
pub fn survey_text(
    texts_json: &str,
    locale: Locale,
    requester: &str,
    number: i64,
    link: &str,
) -> (String, String) {
    let subject = text_with(locale, "mail-survey-subject", &[("number", Arg::Number(number))]);
    let body = own_words(texts_json, locale, requester, number, ("{link}", link)).unwrap_or_else(|| {
        text_with(
            locale,
            "mail-survey-body",
            &[("number", Arg::Number(number)), ("link", link.into())],
        )
    });
    (subject, body)
}

/// The acknowledgement's subject and text for a requester reading `locale`.
pub fn ack_text(
    texts_json: &str,
    locale: Locale,
    requester: &str,
    number: i64,
    subject: &str,
) -> (String, String) {
    let mail_subject = text_with(locale, "mail-ack-subject", &[("number", Arg::Number(number))]);
    let own = own_words(
        texts_json,
        locale,
        requester,
        number,
        ("{ticket_subject}", subject),
    );
    let body = match own {
        Some(own) => own,
        None if subject.is_empty() => text_with(
            locale,
            "mail-ack-body-secure",
            &[("name", requester.into()), ("number", Arg::Number(number))],
        ),
        None => text_with(
            locale,
            "mail-ack-body",
            &[
                ("name", requester.into()),
                ("number", Arg::Number(number)),
                ("other", subject.into()),
            ],
        ),
    };
    (mail_subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_customer_wrote_is_never_read_as_a_placeholder() {
        let texts =
            r#"{"en": "Dear {requester_first_name}, #{ticket_number} ({ticket_subject}) is with us."}"#;
        let (subject, body) = ack_text(
            texts,
            Locale::En,
            "{ticket_number} Mallory",
            7,
            "{requester_name}",
        );
        assert!(subject.contains('7'), "{subject}");
        assert_eq!(body, "Dear {ticket_number}, #7 ({requester_name}) is with us.");
    }

    #[test]
    fn each_language_has_its_own_words_or_the_built_in_ones() {
        let texts = valid_ack_texts(r#"{"de": "Hallo {requester_name}", "en": "  "}"#).unwrap();
        assert_eq!(texts, r#"{"de":"Hallo {requester_name}"}"#);
        assert_eq!(ack_text(&texts, Locale::De, "Ann", 1, "x").1, "Hallo Ann");
        let english = ack_text(&texts, Locale::En, "Ann", 1, "Refund").1;
        assert!(english.contains("Ann") && english.contains("Refund"), "{english}");
        assert!(valid_ack_texts(r#"{"fr": "Bonjour"}"#).is_err());
        assert!(valid_ack_texts(r#"{"en": "Hi {requester.email}"}"#).is_err());
        assert!(valid_ack_texts("not json").is_err());
        assert!(
            valid_survey_texts(r#"{"en": "Rate us, {requester_name}"}"#).is_err(),
            "no link"
        );
        let texts = valid_survey_texts(r#"{"en": "Rate #{ticket_number}: {link}"}"#).unwrap();
        assert_eq!(
            survey_text(&texts, Locale::En, "Ann", 3, "https://d/rate/x").1,
            "Rate #3: https://d/rate/x"
        );
    }
}
