use palisade_i18n::{Arg, Refusal};

use crate::ServiceError;

/// One set of limits for ticket text, whatever the channel.
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 50_000;

/// Rejects empty, oversized or control-character text (tabs and newlines allowed);
/// returns it trimmed.
pub fn validate_text(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-text-empty").with("field", field_name(field)),
        ));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-text-long")
                .with("field", field_name(field))
                .with("max", max_chars),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-text-control").with("field", field_name(field)),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A field's name in the reader's language when it is one of Palisade's own (an API
/// field); a custom field's label as it was written.
fn field_name(field: &str) -> Arg {
    match field {
        "subject" => Arg::Message("field-word-subject"),
        "body" => Arg::Message("field-word-body"),
        "name" => Arg::Message("field-word-name"),
        "text" => Arg::Message("field-word-text"),
        "label" => Arg::Message("field-word-label"),
        "option" => Arg::Message("field-word-option"),
        "organisation_name" => Arg::Message("field-word-organisation-name"),
        "comment" => Arg::Message("field-word-comment"),
        other => Arg::Text(other.to_owned()),
    }
}

/// As [`validate_text`], for one line: no line breaks or tabs either.
pub fn validate_line(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    let line = validate_text(field, value, max_chars)?;
    if line.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-text-one-line").with("field", field_name(field)),
        ));
    }
    Ok(line)
}

/// What redaction left of a text, and what it removed (kinds and counts, never values).
#[derive(Clone, Debug, Default)]
pub struct Redacted {
    pub text: String,
    pub found: Vec<(&'static str, usize)>,
}

/// Removes what customers must never send (card numbers, passwords, …) before anything
/// is stored; the binary passes `assist`'s redactor.
pub trait Redactor: Send + Sync {
    fn redact(&self, text: &str) -> Redacted;
}

/// Merges what one redaction found into the total of a request.
pub(crate) fn redact_into(
    redactor: &dyn Redactor,
    text: &str,
    found: &mut Vec<(&'static str, usize)>,
) -> String {
    let redacted = redactor.redact(text);
    for (kind, count) in redacted.found {
        match found.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += count,
            None => found.push((kind, count)),
        }
    }
    found.sort();
    redacted.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(
            validate_text("body", "  hi\tthere\n", 20).ok().as_deref(),
            Some("hi\tthere")
        );
        assert!(matches!(
            validate_text("body", " \n ", 20),
            Err(ServiceError::Invalid(_))
        ));
        assert!(matches!(
            validate_text("body", "abc", 2),
            Err(ServiceError::Invalid(_))
        ));
        assert!(matches!(
            validate_text("body", "a\u{7}b", 20),
            Err(ServiceError::Invalid(_))
        ));
        assert!(matches!(
            validate_text("body", "a\u{85}b", 20),
            Err(ServiceError::Invalid(_))
        ));
    }
}
