//! SMTP command lines, read strictly. `smtp-proto` parses the command; before that the
//! raw line must end in exactly one CRLF (no bare CR or LF, which smtp-proto would
//! accept and which SMTP smuggling relies on), and for `MAIL FROM` / `RCPT TO` the raw
//! path must pass Palisade's own identity parser and agree with what smtp-proto read:
//! any disagreement between two parsers is an ambiguity, and ambiguities are refused.

use palisade_core::EmailAddress;
use smtp_proto::Request;

use crate::mailbox::{IdentityRejection, parse_smtp_path};

/// RFC 5321 allows 512 octets; extensions' parameters make room for a little more.
pub const MAX_COMMAND_LINE: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    /// `from: None` is the null sender `<>` (bounces). `size` is the announced size.
    MailFrom {
        from: Option<EmailAddress>,
        size: Option<usize>,
    },
    RcptTo(EmailAddress),
    Data,
    Rset,
    Noop,
    Quit,
    StartTls,
    /// A command this server does not offer (VRFY, EXPN, AUTH, BDAT, …).
    NotOffered(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandRejection {
    BareLineEnding,
    ControlCharacter,
    TooLong,
    Syntax,
    BadHostName,
    BadPath(IdentityRejection),
    /// Palisade's parser and smtp-proto read different addresses.
    Ambiguous,
}

impl CommandRejection {
    /// The SMTP reply (code and text) for this refusal.
    pub fn reply(self) -> (u16, &'static str) {
        match self {
            Self::BareLineEnding => (500, "5.5.2 command lines must end with CRLF"),
            Self::ControlCharacter => (500, "5.5.2 control characters in command"),
            Self::TooLong => (500, "5.5.2 command line too long"),
            Self::Syntax => (500, "5.5.2 syntax error"),
            Self::BadHostName => (501, "5.5.4 invalid host name"),
            Self::BadPath(_) => (553, "5.1.3 address must be a plain <local@domain>"),
            Self::Ambiguous => (553, "5.1.3 ambiguous address"),
        }
    }
}

/// Parses one command line, CRLF included.
pub fn parse_command(line: &[u8]) -> Result<Command, CommandRejection> {
    if line.len() > MAX_COMMAND_LINE {
        return Err(CommandRejection::TooLong);
    }
    let body = line
        .strip_suffix(b"\r\n")
        .ok_or(CommandRejection::BareLineEnding)?;
    if body.contains(&b'\r') || body.contains(&b'\n') {
        return Err(CommandRejection::BareLineEnding);
    }
    if body.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f)) {
        return Err(CommandRejection::ControlCharacter);
    }
    let text = std::str::from_utf8(body).map_err(|_| CommandRejection::Syntax)?;
    // Our reading of the path comes first, so a refusal names the real reason.
    let verb = text.get(..10).unwrap_or(text).to_ascii_uppercase();
    let path = if verb.starts_with("MAIL FROM:") {
        Some(parse_smtp_path(raw_path(text)?, true).map_err(CommandRejection::BadPath)?)
    } else if verb.starts_with("RCPT TO:") {
        let address = parse_smtp_path(raw_path(text)?, false).map_err(CommandRejection::BadPath)?;
        Some(Some(
            address.ok_or(CommandRejection::BadPath(IdentityRejection::Empty))?,
        ))
    } else {
        None
    };
    let request = Request::parse(&mut line.iter()).map_err(|_| CommandRejection::Syntax)?;
    Ok(match (request, path) {
        (Request::Ehlo { host }, None) => Command::Ehlo(host_name(&host)?),
        (Request::Helo { host }, None) => Command::Helo(host_name(&host)?),
        (Request::Mail { from }, Some(ours)) => {
            agree(ours.as_ref(), &from.address)?;
            Command::MailFrom {
                from: ours,
                size: (from.size > 0).then_some(from.size),
            }
        }
        (Request::Rcpt { to }, Some(Some(ours))) => {
            agree(Some(&ours), &to.address)?;
            Command::RcptTo(ours)
        }
        // The two parsers disagree about which command this is.
        (Request::Mail { .. } | Request::Rcpt { .. }, _) | (_, Some(_)) => {
            return Err(CommandRejection::Ambiguous);
        }
        (Request::Data, None) => Command::Data,
        (Request::Rset, None) => Command::Rset,
        (Request::Noop { .. }, None) => Command::Noop,
        (Request::Quit, None) => Command::Quit,
        (Request::StartTls, None) => Command::StartTls,
        (other, None) => Command::NotOffered(other.name()),
    })
}

/// The raw `<…>` after the command's colon: from the first `<` to the first `>`.
fn raw_path(text: &str) -> Result<&str, CommandRejection> {
    let (_, after_colon) = text.split_once(':').ok_or(CommandRejection::Syntax)?;
    let start = after_colon
        .find('<')
        .ok_or(CommandRejection::BadPath(IdentityRejection::Malformed))?;
    // Only spaces may stand between the colon and the path.
    if !after_colon[..start].trim_matches(' ').is_empty() {
        return Err(CommandRejection::BadPath(IdentityRejection::Malformed));
    }
    let end = after_colon[start..]
        .find('>')
        .ok_or(CommandRejection::BadPath(IdentityRejection::Malformed))?;
    Ok(&after_colon[start..=start + end])
}

fn agree(ours: Option<&EmailAddress>, theirs: &str) -> Result<(), CommandRejection> {
    let same = match ours {
        None => theirs.is_empty(),
        Some(address) => address.as_str().eq_ignore_ascii_case(theirs),
    };
    same.then_some(()).ok_or(CommandRejection::Ambiguous)
}

/// The HELO/EHLO argument: a domain (RFC 5321 `Domain`: letter-digit-hyphen labels)
/// or an address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). Anything else is
/// refused: the name ends up in the verdict and in `Received` lines.
fn host_name(host: &str) -> Result<String, CommandRejection> {
    let ok = if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        match literal.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                literal[5..].parse::<std::net::Ipv6Addr>().is_ok()
            }
            _ => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        }
    } else {
        is_domain(host)
    };
    ok.then(|| host.to_ascii_lowercase())
        .ok_or(CommandRejection::BadHostName)
}

fn is_domain(host: &str) -> bool {
    host.len() <= 255
        && host.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes.first() != Some(&b'-')
                && bytes.last() != Some(&b'-')
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cmd(line: &str) -> Result<Command, CommandRejection> {
        parse_command(line.as_bytes())
    }

    #[test]
    fn ordinary_commands_parse() {
        assert_eq!(
            cmd("EHLO mail.example.com\r\n").unwrap(),
            Command::Ehlo("mail.example.com".into())
        );
        assert_eq!(
            cmd("MAIL FROM:<Ann@Example.com> SIZE=1000\r\n").unwrap(),
            Command::MailFrom {
                from: Some(EmailAddress::parse("ann@example.com").unwrap()),
                size: Some(1000)
            }
        );
        assert_eq!(
            cmd("MAIL FROM:<>\r\n").unwrap(),
            Command::MailFrom {
                from: None,
                size: None
            }
        );
        assert_eq!(
            cmd("rcpt to:<support@desk.example>\r\n").unwrap(),
            Command::RcptTo(EmailAddress::parse("support@desk.example").unwrap())
        );
        assert_eq!(cmd("DATA\r\n").unwrap(), Command::Data);
        assert_eq!(
            cmd("EHLO [192.0.2.1]\r\n").unwrap(),
            Command::Ehlo("[192.0.2.1]".into())
        );
        assert_eq!(
            cmd("HELO [IPv6:2001:db8::1]\r\n").unwrap(),
            Command::Helo("[ipv6:2001:db8::1]".into())
        );
        assert_eq!(
            cmd("EHLO localhost\r\n").unwrap(),
            Command::Ehlo("localhost".into())
        );
        assert_eq!(cmd("QUIT\r\n").unwrap(), Command::Quit);
        assert_eq!(cmd("STARTTLS\r\n").unwrap(), Command::StartTls);
        assert!(matches!(cmd("VRFY root\r\n").unwrap(), Command::NotOffered(_)));
    }

    #[test]
    fn smuggling_and_ambiguous_paths_are_refused() {
        use CommandRejection::*;
        for (line, want) in [
            ("DATA\n", BareLineEnding),
            ("MAIL FROM:<a@example.com>\n", BareLineEnding),
            ("RCPT TO:<a@example.com>\r\rDATA\r\n", BareLineEnding),
            ("RCPT TO:<a@example.com>\nDATA\r\n", BareLineEnding),
            ("NOOP \0\r\n", ControlCharacter),
            (
                "MAIL FROM:<@relay.example:ann@example.com>\r\n",
                BadPath(IdentityRejection::SourceRoute),
            ),
            (
                "MAIL FROM:<ann@example.com(comment)>\r\n",
                BadPath(IdentityRejection::Comment),
            ),
            (
                "RCPT TO:<\"ann@example.com\"@evil.example>\r\n",
                BadPath(IdentityRejection::QuotedLocalPart),
            ),
            ("RCPT TO:<>\r\n", BadPath(IdentityRejection::Empty)),
            (
                "RCPT TO:ann@example.com\r\n",
                BadPath(IdentityRejection::Malformed),
            ),
            (
                "RCPT TO:x <ann@example.com>\r\n",
                BadPath(IdentityRejection::Malformed),
            ),
            ("EHLO\r\n", Syntax),
            ("EHLO <script>\r\n", BadHostName),
            ("EHLO mail.example.com;rm\r\n", BadHostName),
            ("EHLO a..b\r\n", BadHostName),
            ("EHLO -a.example\r\n", BadHostName),
            ("HELO under_score.example\r\n", BadHostName),
            ("EHLO [300.1.1.1]\r\n", BadHostName),
            ("EHLO [IPv6:nothing]\r\n", BadHostName),
            ("EHLO [127.0.0.1\r\n", BadHostName),
        ] {
            assert_eq!(cmd(line).unwrap_err(), want, "{line:?}");
        }
        assert_eq!(
            cmd(&format!("NOOP {}\r\n", "x".repeat(1200))).unwrap_err(),
            TooLong
        );
    }
}
