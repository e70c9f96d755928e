use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

/// A normalised email address: trimmed, domain lower-cased, local part kept as
/// written except for case (treated case-insensitively, as every real provider does).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(CoreError::InvalidEmail);
        }
        let (local, domain) = s.split_once('@').ok_or(CoreError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !local_ok || !domain_ok {
            return Err(CoreError::InvalidEmail);
        }
        Ok(Self(format!(
            "{}@{}",
            local.to_ascii_lowercase(),
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Debug for EmailAddress {
    // Addresses are personal data: keep them out of debug output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress(<redacted>@{})", self.domain())
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, CoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(CoreError::UnknownVariant { kind: $kind, value: s.chars().take(32).collect() }),
                }
            }
        }
    };
}

string_enum!(
    /// Life cycle of a ticket.
    TicketStatus, "status", {
        New => "new",
        Open => "open",
        Pending => "pending",
        Solved => "solved",
        Closed => "closed",
    }
);

string_enum!(
    /// How urgently a ticket needs an answer; `Normal` unless someone says otherwise.
    Priority, "priority", {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

string_enum!(
    /// What kind of request a ticket is; unset until someone classifies it.
    TicketType, "ticket type", {
        Question => "question",
        Incident => "incident",
        Problem => "problem",
        Task => "task",
    }
);

string_enum!(
    /// Who may see a message: public replies reach the customer, internal notes never do.
    Visibility, "visibility", {
        Public => "public",
        Internal => "internal",
    }
);

string_enum!(
    /// Who may read a help-centre article once it is published.
    Audience, "audience", {
        Public => "public",
        Customers => "customers",
        Internal => "internal",
    }
);

/// A ticket tag: short, plain, case-folded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TagName(String);

impl TagName {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let s = raw.trim().to_lowercase();
        let ok = !s.is_empty()
            && s.chars().count() <= 64
            && s.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(s))
        } else {
            Err(CoreError::InvalidTag)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TagName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `en`, `de`, `pt-BR`: a language and an optional region, nothing else.
pub fn valid_locale(locale: &str) -> bool {
    let (lang, region) = match locale.split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (locale, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

/// Characters a reader cannot see: zero-width spaces and joiners, bidirectional
/// overrides and isolates, word joiners and invisible operators, the byte-order mark,
/// soft hyphens, and the Unicode tag block.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised() {
        let e = EmailAddress::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "alice.smith@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn ambiguous_or_malformed_emails_are_rejected() {
        for bad in [
            "",
            "no-at-sign",
            "a@b@example.com",
            "\"quoted@evil\"@example.com",
            "a b@example.com",
            "a@example",
            "a@-example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a@example.com\r\nBcc: x@y.z",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn debug_hides_local_part() {
        let e = EmailAddress::parse("secret.person@example.com").unwrap();
        assert!(!format!("{e:?}").contains("secret.person"));
    }

    #[test]
    fn status_round_trips() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(TicketStatus::parse("deleted").is_err());
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Ok(*p));
        }
        assert!(Priority::parse("critical").is_err());
        for t in TicketType::ALL {
            assert_eq!(TicketType::parse(t.as_str()), Ok(*t));
        }
        assert!(TicketType::parse("bug").is_err());
    }

    #[test]
    fn tags_are_validated() {
        assert_eq!(TagName::parse("Billing").unwrap().as_str(), "billing");
        assert!(TagName::parse("a b").is_err());
        assert!(TagName::parse("<script>").is_err());
    }
}
