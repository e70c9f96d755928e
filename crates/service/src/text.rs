use crate::ServiceError;

/// One set of limits for ticket text, whatever the channel.
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 50_000;

/// Rejects empty, oversized or control-character text (tabs and newlines allowed);
/// returns it trimmed.
pub fn validate_text(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::Invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ServiceError::Invalid(format!(
            "{field} is longer than {max_chars} characters"
        )));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ServiceError::Invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// As [`validate_text`], for one line: no line breaks or tabs either.
pub fn validate_line(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    let line = validate_text(field, value, max_chars)?;
    if line.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(format!("{field} must be one line")));
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
