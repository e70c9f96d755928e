//! Strict reading of a received message (the bytes after DATA): line endings, the
//! header block and the one `From`. Anything two mail systems could read differently is
//! refused before the message is verified or stored: bare CR or LF (SMTP smuggling),
//! NUL and other control characters in headers, header names with spaces before the
//! colon or folded onto a new line, over-long lines, and zero or several `From`
//! fields. Authentication, threading and display all use the [`Mailbox`] decided here.

use crate::mailbox::{IdentityRejection, Mailbox, parse_from_header};

/// RFC 5322's limit for a line, without its CRLF.
const MAX_LINE: usize = 998;
const MAX_HEADER_FIELDS: usize = 500;
/// The fields RFC 5322 section 3.6 allows at most once (besides `From`, which has its
/// own rejection).
const AT_MOST_ONCE: [&str; 10] = [
    "Date",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
];

/// Why a message was refused; each maps to a 5xx reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRejection {
    /// A CR not followed by LF, or an LF not preceded by CR, anywhere in the message.
    BareLineEnding,
    /// NUL anywhere, or another control character in the header block.
    ControlCharacter,
    /// A header line without a colon, a name with spaces or other characters outside
    /// printable ASCII, or a continuation line before the first field.
    MalformedHeader,
    LineTooLong,
    TooManyHeaders,
    NoFrom,
    SeveralFrom,
    /// A field RFC 5322 allows at most once (`Subject`, `To`, `Date`, …) appears
    /// twice: signers sign the last instance, readers show the first.
    RepeatedHeader,
    /// The `From` field is not exactly one plain mailbox.
    BadFrom(IdentityRejection),
}

impl MessageRejection {
    /// The SMTP reply text (after the code) for this refusal.
    pub fn reply(self) -> &'static str {
        match self {
            Self::BareLineEnding => "5.6.0 bare CR or LF in message; lines must end with CRLF",
            Self::ControlCharacter => "5.6.0 control characters in message",
            Self::MalformedHeader => "5.6.0 malformed header field",
            Self::LineTooLong => "5.6.0 line longer than 998 characters",
            Self::TooManyHeaders => "5.6.0 too many header fields",
            Self::NoFrom => "5.6.0 message has no From field",
            Self::SeveralFrom => "5.6.0 message has several From fields",
            Self::RepeatedHeader => "5.6.0 a header field that may appear once appears more than once",
            Self::BadFrom(_) => "5.6.0 From must be exactly one plain address",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BareLineEnding => "bare_line_ending",
            Self::ControlCharacter => "control_character",
            Self::MalformedHeader => "malformed_header",
            Self::LineTooLong => "line_too_long",
            Self::TooManyHeaders => "too_many_headers",
            Self::NoFrom => "no_from",
            Self::SeveralFrom => "several_from",
            Self::RepeatedHeader => "repeated_header",
            Self::BadFrom(_) => "bad_from",
        }
    }
}

/// A header field: its name as sent and its value unfolded (CRLF before
/// continuation lines removed), without the leading space after the colon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    pub name: String,
    pub value: String,
}

/// A message that passed the strict reading.
#[derive(Clone, Debug)]
pub struct StrictMessage {
    pub headers: Vec<HeaderField>,
    pub from: Mailbox,
    /// Offset of the body in the raw bytes (after the empty line), or the length of the
    /// message when there is no body.
    pub body_offset: usize,
}

impl StrictMessage {
    /// Every value of fields called `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The single value of `name`, or `None` when absent or repeated.
    pub fn single<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.values(name);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// Checks that every line of `raw` ends with CRLF and has no NUL. SMTP's DATA
/// terminator is recognised on CRLF.CRLF only, so a bare LF or CR is how a smuggled
/// second message hides; it is refused wherever it appears.
pub fn check_line_endings(raw: &[u8]) -> Result<(), MessageRejection> {
    let mut previous = 0u8;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            0 => return Err(MessageRejection::ControlCharacter),
            b'\n' if previous != b'\r' => return Err(MessageRejection::BareLineEnding),
            b'\r' if raw.get(i + 1) != Some(&b'\n') => return Err(MessageRejection::BareLineEnding),
            _ => {}
        }
        previous = b;
    }
    Ok(())
}

/// Reads `raw` strictly: line endings, the header block, and exactly one `From`.
pub fn read_message(raw: &[u8]) -> Result<StrictMessage, MessageRejection> {
    check_line_endings(raw)?;
    let mut headers: Vec<HeaderField> = Vec::new();
    let mut offset = 0;
    let mut body_offset = raw.len();
    while offset < raw.len() {
        let end = find_crlf(raw, offset).unwrap_or(raw.len());
        let line = &raw[offset..end];
        let next = (end + 2).min(raw.len());
        if line.is_empty() {
            body_offset = next;
            break;
        }
        if line.len() > MAX_LINE {
            return Err(MessageRejection::LineTooLong);
        }
        if line.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f)) {
            return Err(MessageRejection::ControlCharacter);
        }
        // Header values may carry UTF-8 (RFC 6532); anything else is not text.
        let text = std::str::from_utf8(line).map_err(|_| MessageRejection::MalformedHeader)?;
        if text.starts_with([' ', '\t']) {
            let field = headers.last_mut().ok_or(MessageRejection::MalformedHeader)?;
            field.value.push_str(text);
        } else {
            let (name, value) = text.split_once(':').ok_or(MessageRejection::MalformedHeader)?;
            let name_ok = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            if !name_ok {
                return Err(MessageRejection::MalformedHeader);
            }
            if headers.len() >= MAX_HEADER_FIELDS {
                return Err(MessageRejection::TooManyHeaders);
            }
            headers.push(HeaderField {
                name: name.to_owned(),
                value: value.strip_prefix(' ').unwrap_or(value).to_owned(),
            });
        }
        offset = next;
    }
    let mut froms = headers.iter().filter(|h| h.name.eq_ignore_ascii_case("From"));
    let from = froms.next().ok_or(MessageRejection::NoFrom)?;
    if froms.next().is_some() {
        return Err(MessageRejection::SeveralFrom);
    }
    for name in AT_MOST_ONCE {
        if headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
            > 1
        {
            return Err(MessageRejection::RepeatedHeader);
        }
    }
    let from = parse_from_header(&from.value).map_err(MessageRejection::BadFrom)?;
    Ok(StrictMessage {
        headers,
        from,
        body_offset,
    })
}

fn find_crlf(raw: &[u8], from: usize) -> Option<usize> {
    raw.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(text: &str) -> Result<StrictMessage, MessageRejection> {
        read_message(text.as_bytes())
    }

    #[test]
    fn a_plain_message_is_read_with_folded_values_unfolded() {
        let m = read(
            "From: Alice <alice@example.com>\r\nTo: support@desk.example\r\nSubject: a long\r\n subject\r\n\r\nHello\r\n",
        )
        .unwrap();
        assert_eq!(m.from.address.as_str(), "alice@example.com");
        assert_eq!(m.single("subject"), Some("a long subject"));
        assert_eq!(
            &"From: Alice <alice@example.com>\r\nTo: support@desk.example\r\nSubject: a long\r\n subject\r\n\r\nHello\r\n"
                [m.body_offset..],
            "Hello\r\n"
        );
    }

    #[test]
    fn smuggling_and_header_tricks_are_refused() {
        use MessageRejection::*;
        let cases: [(&str, MessageRejection); 17] = [
            (
                "From: a@example.com\r\nSubject: refund approved\r\nSubject: hello\r\n\r\n",
                RepeatedHeader,
            ),
            (
                "From: a@example.com\r\nTo: a@x.example\r\nto: b@x.example\r\n\r\n",
                RepeatedHeader,
            ),
            (
                "From: a@example.com\r\nMessage-ID: <1@x>\r\nMessage-Id: <2@x>\r\n\r\n",
                RepeatedHeader,
            ),
            (
                "From: a@example.com\r\nIn-Reply-To: <1@x>\r\nIn-Reply-To: <2@x>\r\n\r\n",
                RepeatedHeader,
            ),
            (
                "From: a@example.com\r\n\r\nbody\n.\r\nMAIL FROM:<x@evil.example>\r\n",
                BareLineEnding,
            ),
            ("From: a@example.com\r\n\r\nbody\r.\r\n", BareLineEnding),
            ("From: a@example.com\nTo: b@example.com\r\n\r\n", BareLineEnding),
            ("From: a@example.com\r\nX-A: \0\r\n\r\n", ControlCharacter),
            ("From: a@example.com\r\nX-A: \x1b[31m\r\n\r\n", ControlCharacter),
            (
                "From : mallory@evil.example\r\nFrom: a@example.com\r\n\r\n",
                MalformedHeader,
            ),
            (
                " From: mallory@evil.example\r\nFrom: a@example.com\r\n\r\n",
                MalformedHeader,
            ),
            ("From: a@example.com\r\nNo colon here\r\n\r\n", MalformedHeader),
            ("To: b@example.com\r\n\r\n", NoFrom),
            (
                "From: a@example.com\r\nfrom: mallory@evil.example\r\n\r\n",
                SeveralFrom,
            ),
            ("From: a@example.com\r\nFROM: a@example.com\r\n\r\n", SeveralFrom),
            (
                "From: a@example.com, mallory@evil.example\r\n\r\n",
                BadFrom(IdentityRejection::SeveralMailboxes),
            ),
            (
                "From: <@evil.example:a@example.com>\r\n\r\n",
                BadFrom(IdentityRejection::SourceRoute),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(read(text).unwrap_err(), want, "{text:?}");
        }
        let long = format!("From: a@example.com\r\nX-Long: {}\r\n\r\n", "x".repeat(1000));
        assert_eq!(read(&long).unwrap_err(), LineTooLong);
        // Folding the From value across lines still yields one mailbox...
        assert_eq!(
            read("From: Alice\r\n <alice@example.com>\r\n\r\n")
                .unwrap()
                .from
                .address
                .as_str(),
            "alice@example.com"
        );
        // ...but folding hides no second mailbox.
        assert!(read("From: alice@example.com,\r\n mallory@evil.example\r\n\r\n").is_err());
    }

    #[test]
    fn a_message_without_a_body_is_fine() {
        let m = read("From: a@example.com\r\nSubject: hi\r\n").unwrap();
        // Trace and resent fields repeat by design.
        read("Received: a\r\nReceived: b\r\nResent-To: x@example.com\r\nResent-To: y@example.com\r\nFrom: a@example.com\r\n\r\n")
            .unwrap();
        assert_eq!(m.body_offset, "From: a@example.com\r\nSubject: hi\r\n".len());
    }
}
