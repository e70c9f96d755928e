//! The files a received message carries: its attachments and inline images, every
//! part that is not the message's own text. Each is counted and size-capped; a message
//! over the limits is refused whole at SMTP time (552), never kept with parts missing.
//! Names are cleaned here (the last path segment, no control or invisible characters,
//! bounded), and types are left to the bytes: the service layer sniffs them.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use palisade_service::MailFile;

/// How much a message may carry besides its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLimits {
    /// Files (attachments and inline images) per message.
    pub max_files: usize,
    /// Bytes of one file, decoded.
    pub max_file_bytes: usize,
}

impl Default for FileLimits {
    fn default() -> Self {
        Self {
            max_files: 20,
            max_file_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Why a message's files were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilesRejection {
    TooMany,
    TooLarge,
    /// The MIME structure cannot be read: refused rather than kept without its files.
    Unreadable,
}

impl FilesRejection {
    /// The SMTP reply code: 552 for what is over the limits, 550 otherwise.
    pub fn code(self) -> u16 {
        match self {
            Self::TooMany | Self::TooLarge => 552,
            Self::Unreadable => 550,
        }
    }

    /// The SMTP reply text (after the code).
    pub fn reply(self, limits: &FileLimits) -> String {
        match self {
            Self::Unreadable => "5.6.0 the message's parts cannot be read".into(),
            Self::TooMany => format!("5.3.4 too many attachments (at most {})", limits.max_files),
            Self::TooLarge => format!(
                "5.3.4 an attachment is too large (at most {} bytes each)",
                limits.max_file_bytes
            ),
        }
    }
}

/// The longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

/// The files of `raw`, in the order they appear.
pub fn files_of(raw: &[u8], limits: &FileLimits) -> Result<Vec<MailFile>, FilesRejection> {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Err(FilesRejection::Unreadable);
    };
    let mut files = Vec::new();
    for part in message.attachments() {
        // A forwarded message is a file like any other (its raw bytes).
        let content = match &part.body {
            PartType::Multipart(_) => continue,
            _ => part.contents(),
        };
        if files.len() == limits.max_files {
            return Err(FilesRejection::TooMany);
        }
        if content.len() > limits.max_file_bytes {
            return Err(FilesRejection::TooLarge);
        }
        let n = files.len() + 1;
        files.push(MailFile {
            filename: clean_name(part.attachment_name(), n),
            content: content.to_vec(),
            content_id: part
                .content_id()
                .map(|id| id.trim().trim_matches(['<', '>']).chars().take(250).collect()),
        });
    }
    Ok(files)
}

/// A plain file name: the last segment of whatever path was sent, without control or
/// invisible characters, not hidden (no leading dot), at most `MAX_NAME_CHARS`
/// characters (the extension kept); `attachment-N` when nothing is left.
pub fn clean_name(sent: Option<&str>, n: usize) -> String {
    let sent = sent.unwrap_or_default();
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let visible: String = last
        .chars()
        .filter(|c| !c.is_control() && !palisade_core::is_invisible(*c))
        .collect();
    let trimmed = visible.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return format!("attachment-{n}");
    }
    if trimmed.chars().count() <= MAX_NAME_CHARS {
        return trimmed.to_owned();
    }
    let extension: String = match trimmed.rsplit_once('.') {
        Some((_, ext)) if ext.chars().count() <= 10 => format!(".{ext}"),
        _ => String::new(),
    };
    let stem: String = trimmed
        .chars()
        .take(MAX_NAME_CHARS - extension.chars().count())
        .collect();
    format!("{stem}{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_what_cannot_be_seen() {
        assert_eq!(clean_name(Some("../../etc/passwd"), 1), "passwd");
        assert_eq!(clean_name(Some("C:\\Users\\ann\\invoice.pdf"), 1), "invoice.pdf");
        assert_eq!(clean_name(Some("in\u{7}voice\r\n.pdf"), 1), "invoice.pdf");
        // A right-to-left override that would show "fdp.exe" as "exe.pdf".
        assert_eq!(clean_name(Some("invoice\u{202e}fdp.exe"), 1), "invoicefdp.exe");
        assert_eq!(clean_name(Some(".bashrc"), 2), "bashrc");
        assert_eq!(clean_name(Some("/"), 3), "attachment-3");
        assert_eq!(clean_name(None, 4), "attachment-4");
        let long = format!("{}.pdf", "a".repeat(500));
        let cleaned = clean_name(Some(&long), 1);
        assert_eq!(cleaned.chars().count(), MAX_NAME_CHARS);
        assert!(cleaned.ends_with(".pdf"));
    }

    fn multipart(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut raw = String::from(
            "From: ann@customer.test\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nSee attached.\r\n",
        );
        for (headers, body) in parts {
            raw.push_str(&format!("--b\r\n{headers}\r\n\r\n{body}\r\n"));
        }
        raw.push_str("--b--\r\n");
        raw.into_bytes()
    }

    #[test]
    fn every_file_is_kept_and_the_text_is_not_one() {
        let raw = multipart(&[
            (
                "Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64",
                "JVBERi0xLjQK",
            ),
            (
                "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <logo@x>\r\n\
                 Content-Transfer-Encoding: base64",
                "iVBORw0KGgo=",
            ),
        ]);
        let files = files_of(&raw, &FileLimits::default()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].filename, "a.pdf");
        assert!(files[0].content.starts_with(b"%PDF-1.4"));
        assert_eq!(files[1].filename, "attachment-2");
        assert_eq!(files[1].content_id.as_deref(), Some("logo@x"));
    }

    #[test]
    fn limits_refuse_the_whole_message() {
        let raw = multipart(&[
            (
                "Content-Type: text/csv; name=a.csv\r\nContent-Disposition: attachment",
                "1,2",
            ),
            (
                "Content-Type: text/csv; name=b.csv\r\nContent-Disposition: attachment",
                "3,4",
            ),
        ]);
        let two = FileLimits {
            max_files: 2,
            max_file_bytes: 100,
        };
        assert_eq!(files_of(&raw, &two).unwrap().len(), 2);
        let one = FileLimits { max_files: 1, ..two };
        assert_eq!(files_of(&raw, &one), Err(FilesRejection::TooMany));
        let small = FileLimits {
            max_file_bytes: 2,
            ..two
        };
        assert_eq!(files_of(&raw, &small), Err(FilesRejection::TooLarge));
    }
}
