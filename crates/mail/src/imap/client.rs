//! The few IMAP4rev1 commands the intake needs (RFC 3501): sign in with SASL
//! (`PLAIN` or `XOAUTH2`, initial response inline), select a folder, search by UID for
//! messages not yet taken, fetch one whole message without marking it seen, and mark it
//! taken with a keyword. Responses are read strictly and within limits: a line longer
//! than [`MAX_LINE`], a literal larger than the caller's limit, or anything that does
//! not parse ends the session with an error (the next poll starts afresh).

use base64::Engine as _;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest response line read (literals apart).
const MAX_LINE: usize = 64 * 1024;
/// Untagged responses accepted for one command.
const MAX_RESPONSES: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server refused {command}: {text}")]
    Refused { command: &'static str, text: String },
    #[error("the server's answer could not be read: {0}")]
    Protocol(String),
}

/// One untagged response: its line (literals replaced by `{n}`) and the literals.
#[derive(Debug, Default)]
pub struct Untagged {
    pub line: String,
    pub literals: Vec<Vec<u8>>,
}

/// A signed-in session on `S` (a TLS stream).
pub struct Session<S> {
    stream: S,
    next_tag: u32,
    max_literal: usize,
}

/// How to sign in.
pub enum Credentials<'a> {
    Password {
        user: &'a str,
        password: &'a str,
    },
    /// An OAuth 2.0 access token (Google, Microsoft 365), as SASL XOAUTH2.
    XOAuth2 {
        user: &'a str,
        token: &'a str,
    },
}

impl<S: AsyncBufRead + AsyncWrite + Unpin> Session<S> {
    /// Reads the greeting and signs in. `max_literal` bounds any message fetched.
    pub async fn sign_in(
        stream: S,
        credentials: &Credentials<'_>,
        max_literal: usize,
    ) -> Result<Self, ImapError> {
        let mut session = Self {
            stream,
            next_tag: 1,
            max_literal,
        };
        let greeting = session.read_response_line().await?;
        if !greeting.line.starts_with("* OK") {
            return Err(ImapError::Refused {
                command: "greeting",
                text: printable(&greeting.line),
            });
        }
        let (mechanism, initial) = match credentials {
            Credentials::Password { user, password } => ("PLAIN", format!("\0{user}\0{password}")),
            Credentials::XOAuth2 { user, token } => {
                ("XOAUTH2", format!("user={user}\x01auth=Bearer {token}\x01\x01"))
            }
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(initial.as_bytes());
        session
            .command("AUTHENTICATE", &format!("AUTHENTICATE {mechanism} {encoded}"))
            .await?;
        Ok(session)
    }

    /// Selects `folder` for reading and writing; returns its UIDVALIDITY.
    pub async fn select(&mut self, folder: &str) -> Result<u64, ImapError> {
        let responses = self
            .command("SELECT", &format!("SELECT {}", quoted(folder)?))
            .await?;
        responses
            .iter()
            .find_map(|r| {
                let rest = r.line.split("[UIDVALIDITY ").nth(1)?;
                rest.split(']').next()?.trim().parse().ok()
            })
            .ok_or_else(|| ImapError::Protocol("SELECT gave no UIDVALIDITY".into()))
    }

    /// UIDs of messages without `keyword`, ascending.
    pub async fn uids_without(&mut self, keyword: &str) -> Result<Vec<u32>, ImapError> {
        let responses = self
            .command("SEARCH", &format!("UID SEARCH UNKEYWORD {}", atom(keyword)?))
            .await?;
        let mut uids = Vec::new();
        for r in responses.iter().filter(|r| r.line.starts_with("* SEARCH")) {
            for n in r.line["* SEARCH".len()..].split_whitespace() {
                uids.push(
                    n.parse()
                        .map_err(|_| ImapError::Protocol(format!("SEARCH: {}", printable(&r.line))))?,
                );
            }
        }
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    /// The whole message with this UID, leaving its flags as they are; `None` if it is
    /// gone (expunged meanwhile).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let responses = self
            .command("FETCH", &format!("UID FETCH {uid} (UID BODY.PEEK[])"))
            .await?;
        for r in responses {
            if !r.line.contains(" FETCH (")
                || !r.line.contains(&format!("UID {uid} ")) && !r.line.contains(&format!("UID {uid})"))
            {
                continue;
            }
            if let (true, Some(body)) = (r.line.contains("BODY[] {"), r.literals.into_iter().next()) {
                return Ok(Some(body));
            }
        }
        Ok(None)
    }

    /// Adds `keyword` to the message with this UID.
    pub async fn mark(&mut self, uid: u32, keyword: &str) -> Result<(), ImapError> {
        self.command(
            "STORE",
            &format!("UID STORE {uid} +FLAGS.SILENT ({})", atom(keyword)?),
        )
        .await?;
        Ok(())
    }

    /// Whether the server announces `capability` (e.g. `IDLE`).
    pub async fn supports(&mut self, capability: &str) -> Result<bool, ImapError> {
        let responses = self.command("CAPABILITY", "CAPABILITY").await?;
        Ok(responses.iter().any(|r| {
            r.line.strip_prefix("* CAPABILITY ").is_some_and(|caps| {
                caps.split_whitespace()
                    .any(|c| c.eq_ignore_ascii_case(capability))
            })
        }))
    }

    /// Waits (RFC 2177 IDLE) until the server reports new mail or `wait` passes;
    /// returns whether new mail was reported.
    pub async fn idle(&mut self, wait: std::time::Duration) -> Result<bool, ImapError> {
        let tag = format!("P{}", self.next_tag);
        self.next_tag += 1;
        self.stream
            .write_all(format!("{tag} IDLE\r\n").as_bytes())
            .await?;
        self.stream.flush().await?;
        let accepted = self.read_response_line().await?;
        if !accepted.line.starts_with('+') {
            return Err(ImapError::Refused {
                command: "IDLE",
                text: printable(&accepted.line),
            });
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut new_mail = false;
        while let Ok(line) = tokio::time::timeout_at(deadline, self.read_response_line()).await {
            if line?.line.ends_with(" EXISTS") {
                new_mail = true;
                break;
            }
        }
        self.stream.write_all(b"DONE\r\n").await?;
        self.stream.flush().await?;
        loop {
            let response = self.read_response_line().await?;
            if let Some(rest) = response.line.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(new_mail)
                } else {
                    Err(ImapError::Refused {
                        command: "IDLE",
                        text: printable(rest),
                    })
                };
            }
            new_mail |= response.line.ends_with(" EXISTS");
        }
    }

    pub async fn logout(mut self) {
        let _ = self.command("LOGOUT", "LOGOUT").await;
    }

    /// Sends one tagged command and reads up to its tagged answer, which must be OK.
    async fn command(&mut self, name: &'static str, text: &str) -> Result<Vec<Untagged>, ImapError> {
        let tag = format!("P{}", self.next_tag);
        self.next_tag += 1;
        self.stream
            .write_all(format!("{tag} {text}\r\n").as_bytes())
            .await?;
        self.stream.flush().await?;
        let mut untagged = Vec::new();
        loop {
            let response = self.read_response_line().await?;
            if let Some(rest) = response.line.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(untagged)
                } else {
                    Err(ImapError::Refused {
                        command: name,
                        text: printable(rest),
                    })
                };
            }
            if response.line.starts_with('+') {
                // A continuation request: nothing here sends more than one line.
                return Err(ImapError::Protocol(format!(
                    "{name} asked for more: {}",
                    printable(&response.line)
                )));
            }
            if !response.line.starts_with("* ") {
                return Err(ImapError::Protocol(format!(
                    "unexpected line: {}",
                    printable(&response.line)
                )));
            }
            if untagged.len() == MAX_RESPONSES {
                return Err(ImapError::Protocol("too many responses".into()));
            }
            untagged.push(response);
        }
    }

    /// One response: a line, and for each `{n}` at its end, n bytes and the rest of
    /// the line after them.
    async fn read_response_line(&mut self) -> Result<Untagged, ImapError> {
        let mut response = Untagged::default();
        loop {
            let line = self.read_line().await?;
            let literal = literal_length(&line);
            response.line.push_str(&line);
            let Some(length) = literal else {
                return Ok(response);
            };
            if length > self.max_literal {
                return Err(ImapError::Protocol(format!(
                    "a literal of {length} bytes is over the limit"
                )));
            }
            let mut bytes = vec![0; length];
            self.stream.read_exact(&mut bytes).await?;
            response.literals.push(bytes);
        }
    }

    /// One CRLF-terminated line, without the CRLF.
    async fn read_line(&mut self) -> Result<String, ImapError> {
        let mut line = Vec::new();
        let read = (&mut self.stream)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Err(ImapError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if !line.ends_with(b"\r\n") {
            return Err(ImapError::Protocol("line too long or not ended by CRLF".into()));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| ImapError::Protocol("a response line is not UTF-8".into()))
    }
}

/// `{n}` (or `{n+}`) at the end of a line announces n bytes to follow.
fn literal_length(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    let inner = line[open + 1..].strip_suffix('}')?;
    inner.trim_end_matches('+').parse().ok()
}

/// A folder name as a quoted string; names that would need escaping are refused.
fn quoted(text: &str) -> Result<String, ImapError> {
    if text.is_empty() || text.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(ImapError::Protocol(format!("unusable folder name {text:?}")));
    }
    Ok(format!("\"{text}\""))
}

/// A keyword: an IMAP atom.
fn atom(text: &str) -> Result<&str, ImapError> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !"(){%*\"\\]".contains(c));
    if ok {
        Ok(text)
    } else {
        Err(ImapError::Protocol(format!("unusable keyword {text:?}")))
    }
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_session_reads_literals_and_refuses_oversized_ones() {
        let server =
            b"* OK ready\r\nP1 OK signed in\r\n* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\nP2 OK done\r\n\
                       * 2 FETCH (UID 8 BODY[] {999999}\r\n";
        let (client, mut peer) = tokio::io::duplex(1 << 16);
        peer.write_all(server).await.unwrap();
        let mut session = Session::sign_in(
            tokio::io::BufReader::new(client),
            &Credentials::Password {
                user: "u",
                password: "p",
            },
            1000,
        )
        .await
        .unwrap();
        assert_eq!(session.fetch(7).await.unwrap(), Some(b"hello".to_vec()));
        assert!(matches!(session.fetch(8).await, Err(ImapError::Protocol(_))));
    }

    #[test]
    fn names_that_could_inject_commands_are_refused() {
        assert!(quoted("INBOX").is_ok());
        assert!(quoted("INBOX\" DELETE \"x").is_err());
        assert!(quoted("a\r\nP9 LOGOUT").is_err());
        assert!(atom("$PalisadeTaken").is_ok());
        assert!(atom("x) (\\Deleted").is_err());
        assert_eq!(literal_length("* 1 FETCH (BODY[] {42}"), Some(42));
        assert_eq!(literal_length("* OK {fine}"), None);
    }
}
