//! The one strict parser of mail identities: the `From` header's mailbox and the
//! paths of SMTP `MAIL FROM` / `RCPT TO`. What it accepts is deliberately narrower
//! than RFC 5322 allows, because every construct that mail systems disagree about
//! ("Composition Kills", USENIX Security 2020) is a way to make a verifier and a
//! display see different senders: comments, quoted local parts (which can hide a
//! second `@`), source routes, groups, several mailboxes, domain literals and
//! non-ASCII addresses are all refused. The address itself is checked by
//! [`EmailAddress::parse`], the same rules every account address follows.

use palisade_core::EmailAddress;

/// Why an identity was refused; each becomes a 5xx at SMTP before anything is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityRejection {
    Empty,
    /// `(comment)` anywhere outside a quoted display name.
    Comment,
    /// More than one mailbox, or group syntax (`,`, `;`, `:` outside quotes).
    SeveralMailboxes,
    /// `<@relay:user@domain>`.
    SourceRoute,
    /// A quoted local part (`"a@b"@c`), which can hide a second `@`.
    QuotedLocalPart,
    /// Unbalanced `<`/`>` or quotes, text after `>`, or a bare address with spaces.
    Malformed,
    /// The address itself is not a plain `local@domain` (domain literals, non-ASCII…).
    BadAddress,
    /// A control character (NUL, CR, LF, …).
    ControlCharacter,
}

impl IdentityRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Comment => "comment",
            Self::SeveralMailboxes => "several_mailboxes",
            Self::SourceRoute => "source_route",
            Self::QuotedLocalPart => "quoted_local_part",
            Self::Malformed => "malformed",
            Self::BadAddress => "bad_address",
            Self::ControlCharacter => "control_character",
        }
    }
}

/// The author of a message as the strict parser decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub address: EmailAddress,
    /// The display name, unquoted; shown to agents only beside the address, never
    /// instead of it.
    pub display_name: Option<String>,
}

/// Parses a `From` header value (unfolded) into exactly one mailbox.
pub fn parse_from_header(value: &str) -> Result<Mailbox, IdentityRejection> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(IdentityRejection::ControlCharacter);
    }
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return Err(IdentityRejection::Empty);
    }
    let scan = scan_outside_quotes(value)?;
    if scan.angle_open.is_none() {
        // A bare addr-spec: nothing but the address; quotes here can only be a quoted
        // local part.
        if scan.has_quote {
            return Err(IdentityRejection::QuotedLocalPart);
        }
        if scan.has_whitespace {
            return Err(IdentityRejection::Malformed);
        }
        return Ok(Mailbox {
            address: addr_spec(value)?,
            display_name: None,
        });
    }
    let (open, close) = match (scan.angle_open, scan.angle_close) {
        (Some(o), Some(c)) if c > o => (o, c),
        _ => return Err(IdentityRejection::Malformed),
    };
    if !value[close + 1..].trim_matches([' ', '\t']).is_empty() {
        return Err(IdentityRejection::Malformed);
    }
    let display = value[..open].trim_matches([' ', '\t']);
    let address = addr_spec(&value[open + 1..close])?;
    Ok(Mailbox {
        address,
        display_name: display_name(display)?,
    })
}

/// Parses the path of `MAIL FROM:` (null path allowed, `Ok(None)`) or `RCPT TO:`
/// (`allow_null = false`): `<addr-spec>`, without routes, comments or quotes.
pub fn parse_smtp_path(path: &str, allow_null: bool) -> Result<Option<EmailAddress>, IdentityRejection> {
    if path.chars().any(|c| c.is_control()) {
        return Err(IdentityRejection::ControlCharacter);
    }
    let inner = path
        .strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .ok_or(IdentityRejection::Malformed)?;
    if inner.is_empty() {
        return if allow_null {
            Ok(None)
        } else {
            Err(IdentityRejection::Empty)
        };
    }
    if inner.contains(['<', '>']) {
        return Err(IdentityRejection::Malformed);
    }
    addr_spec(inner).map(Some)
}

struct Scan {
    angle_open: Option<usize>,
    angle_close: Option<usize>,
    has_whitespace: bool,
    has_quote: bool,
}

/// One pass over the value outside quoted strings, refusing what must never appear
/// there: comments, groups and lists, a second `<…>`.
fn scan_outside_quotes(value: &str) -> Result<Scan, IdentityRejection> {
    let mut scan = Scan {
        angle_open: None,
        angle_close: None,
        has_whitespace: false,
        has_quote: false,
    };
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                // Quotes belong to the display name, before any `<`.
                if scan.angle_open.is_some() {
                    return Err(IdentityRejection::QuotedLocalPart);
                }
                scan.has_quote = true;
                in_quotes = true;
            }
            '(' | ')' => return Err(IdentityRejection::Comment),
            ',' | ';' => return Err(IdentityRejection::SeveralMailboxes),
            ':' => {
                return Err(if scan.angle_open.is_some() && scan.angle_close.is_none() {
                    IdentityRejection::SourceRoute
                } else {
                    IdentityRejection::SeveralMailboxes
                });
            }
            '<' if scan.angle_open.is_some() => return Err(IdentityRejection::SeveralMailboxes),
            '<' => scan.angle_open = Some(i),
            '>' if scan.angle_close.is_some() || scan.angle_open.is_none() => {
                return Err(IdentityRejection::Malformed);
            }
            '>' => scan.angle_close = Some(i),
            ' ' | '\t' => scan.has_whitespace = true,
            _ => {}
        }
    }
    if in_quotes {
        return Err(IdentityRejection::Malformed);
    }
    Ok(scan)
}

fn addr_spec(spec: &str) -> Result<EmailAddress, IdentityRejection> {
    if spec.starts_with('@') {
        return Err(IdentityRejection::SourceRoute);
    }
    if spec.contains('"') {
        return Err(IdentityRejection::QuotedLocalPart);
    }
    if spec.contains(['(', ')']) {
        return Err(IdentityRejection::Comment);
    }
    if spec.matches('@').count() != 1 || spec.contains([' ', '\t']) {
        return Err(IdentityRejection::BadAddress);
    }
    EmailAddress::parse(spec).map_err(|_| IdentityRejection::BadAddress)
}

/// The display name without its quotes and escapes; encoded words stay as they are
/// (they are shown, never interpreted as an address).
fn display_name(raw: &str) -> Result<Option<String>, IdentityRejection> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for c in raw.chars() {
        match (in_quotes, escaped, c) {
            (true, true, _) => {
                out.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_quotes = !in_quotes,
            _ => out.push(c),
        }
    }
    let name = out.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok((!name.is_empty()).then_some(name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn from(value: &str) -> Result<(String, Option<String>), IdentityRejection> {
        parse_from_header(value).map(|m| (m.address.as_str().to_owned(), m.display_name))
    }

    #[test]
    fn ordinary_from_headers_are_accepted() {
        assert_eq!(from("alice@example.com").unwrap().0, "alice@example.com");
        assert_eq!(
            from("Alice Example <Alice@Example.COM>").unwrap(),
            ("alice@example.com".into(), Some("Alice Example".into()))
        );
        assert_eq!(
            from("\"Example, Alice\" <alice@example.com>").unwrap(),
            ("alice@example.com".into(), Some("Example, Alice".into()))
        );
        assert_eq!(
            from("=?utf-8?q?Andr=C3=A9?= <andre@example.com>").unwrap().0,
            "andre@example.com"
        );
        assert_eq!(
            from(" <bob@example.com> ").unwrap(),
            ("bob@example.com".into(), None)
        );
    }

    /// The ambiguous `From` forms of "Composition Kills" and friends: each is refused
    /// rather than guessed at.
    #[test]
    fn ambiguous_from_headers_are_refused() {
        use IdentityRejection::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("alice@example.com, mallory@evil.example", SeveralMailboxes),
            (
                "Alice <alice@example.com>, <mallory@evil.example>",
                SeveralMailboxes,
            ),
            ("<alice@example.com> <mallory@evil.example>", SeveralMailboxes),
            ("Friends: alice@example.com;", SeveralMailboxes),
            ("undisclosed-recipients:;", SeveralMailboxes),
            ("<@evil.example:alice@example.com>", SourceRoute),
            (
                "<@evil.example,@relay.example:alice@example.com>",
                SeveralMailboxes,
            ),
            ("alice@example.com(@evil.example)", Comment),
            ("mallory@evil.example (alice@example.com)", Comment),
            ("Alice (CEO) <alice@example.com>", Comment),
            ("<\"alice@example.com\"@evil.example>", QuotedLocalPart),
            ("\"alice@example.com\"@evil.example", QuotedLocalPart),
            ("<alice@example.com@evil.example>", BadAddress),
            ("<alice@[192.0.2.1]>", BadAddress),
            ("<alice@exämple.com>", BadAddress),
            ("<alice@example.com", Malformed),
            ("alice@example.com>", Malformed),
            ("<alice@example.com> trailing", Malformed),
            ("\"unterminated <alice@example.com>", Malformed),
            ("alice @example.com", Malformed),
            ("alice@example.com\0", ControlCharacter),
            ("alice@example.com\r\nBcc: x@evil.example", ControlCharacter),
        ];
        for (value, want) in cases {
            assert_eq!(from(value).unwrap_err(), want, "{value:?}");
        }
    }

    #[test]
    fn a_display_name_that_looks_like_an_address_is_not_believed() {
        // The address is the mailbox; the lure stays a display name, which never names
        // a customer account (the service layer ignores names with an `@`).
        let m = parse_from_header("\"ceo@bank.example\" <mallory@evil.example>").unwrap();
        assert_eq!(m.address.as_str(), "mallory@evil.example");
        assert_eq!(m.display_name.as_deref(), Some("ceo@bank.example"));
    }

    #[test]
    fn smtp_paths_are_strict() {
        use IdentityRejection::*;
        assert_eq!(
            parse_smtp_path("<Alice@Example.com>", false)
                .unwrap()
                .unwrap()
                .as_str(),
            "alice@example.com"
        );
        assert_eq!(parse_smtp_path("<>", true).unwrap(), None);
        assert_eq!(parse_smtp_path("<>", false).unwrap_err(), Empty);
        for (path, want) in [
            ("alice@example.com", Malformed),
            ("<@relay.example:alice@example.com>", SourceRoute),
            ("<\"a@b\"@example.com>", QuotedLocalPart),
            ("<alice@example.com(comment)>", Comment),
            ("<alice@example.com><x@y.example>", Malformed),
            ("<alice@example.com\r>", ControlCharacter),
        ] {
            assert_eq!(parse_smtp_path(path, false).unwrap_err(), want, "{path:?}");
        }
    }
}
