//! `palisade ingest`: one message on stdin from an MTA that already spoke SMTP (for
//! example a Postfix `pipe` transport), with the envelope as flags. It goes through the
//! same recipient decision and `Reception` as the listener, and answers with sysexits
//! statuses the MTA understands, so a refusal becomes the MTA's bounce or deferral.

use std::io::Read as _;

use palisade_mail::{Arrival, Recipient, Reply, parse_smtp_path};

use super::mail_setup::{mailboxes, reception};
use crate::app;
use crate::config::{IngestArgs, Settings};
use crate::error::CliError;

const EX_DATAERR: u8 = 65;
const EX_NOUSER: u8 = 67;
const EX_TEMPFAIL: u8 = 75;
const EX_NOPERM: u8 = 77;

pub async fn run(settings: &Settings, args: &IngestArgs) -> Result<(), CliError> {
    let Some(smtp) = &settings.smtp else {
        return Err(CliError::Config(
            "ingest needs [smtp] and [[mailbox]] in the configuration".into(),
        ));
    };
    let mail_from = parse_smtp_path(&format!("<{}>", args.mail_from), true)
        .map_err(|e| refused(EX_DATAERR, &format!("553 5.1.7 sender address: {}", e.as_str())))?;
    let rcpt = parse_smtp_path(&format!("<{}>", args.rcpt), false)
        .ok()
        .flatten()
        .ok_or_else(|| refused(EX_NOUSER, "550 5.1.3 recipient address"))?;
    if args.helo.is_empty() || args.helo.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused(EX_DATAERR, "501 5.5.4 HELO name"));
    }
    let raw = read_stdin(smtp.max_message_bytes)?;
    // Past this point a failure is Palisade's (database, configuration), never the
    // message's: the MTA keeps the message and retries.
    deliver(settings, smtp, args, mail_from, rcpt, raw)
        .await
        .map_err(|e| match e {
            refusal @ CliError::Refused { .. } => refusal,
            other => {
                tracing::error!(error = %other, "ingest could not take the message");
                refused(EX_TEMPFAIL, "451 4.3.0 try again later")
            }
        })
}

async fn deliver(
    settings: &Settings,
    smtp: &crate::config::SmtpSettings,
    args: &IngestArgs,
    mail_from: Option<palisade_core::EmailAddress>,
    rcpt: palisade_core::EmailAddress,
    raw: Vec<u8>,
) -> Result<(), CliError> {
    let opened = app::open(settings, false).await?;
    let setup = mailboxes(settings, &opened.store).await?;
    let recipient = match setup.threading.recipient(&rcpt).await {
        Ok(Recipient::Unknown) => return Err(refused(EX_NOUSER, "550 5.1.1 no such recipient")),
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "recipient lookup failed");
            return Err(refused(EX_TEMPFAIL, "451 4.3.0 try again later"));
        }
    };
    let reception = reception(settings, smtp, &setup, &opened.store)?;
    let arrival = Arrival {
        client_ip: args.client_ip,
        helo: args.helo.clone(),
        mail_from,
        recipient,
    };
    let answer = reception.receive(arrival, raw).await;
    opened.store.close().await;
    outcome(&answer)
}

/// Reads the message, at most `max` bytes. An MTA's pipe hands over LF line endings;
/// they become CRLF only when the input has no CR at all, so a mix (the ambiguity SMTP
/// smuggling relies on) still reaches the strict reader and is refused there.
fn read_stdin(max: usize) -> Result<Vec<u8>, CliError> {
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| CliError::Io("reading the message from stdin".into(), e))?;
    if raw.len() > max {
        return Err(refused(EX_DATAERR, "552 5.3.4 message too large"));
    }
    Ok(normalise_line_endings(raw))
}

fn normalise_line_endings(raw: Vec<u8>) -> Vec<u8> {
    if raw.contains(&b'\r') {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for byte in raw {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

fn outcome(answer: &Reply) -> Result<(), CliError> {
    if answer.is_accepted() {
        return Ok(());
    }
    let exit = if answer.is_temporary() {
        EX_TEMPFAIL
    } else if answer.text.starts_with("5.7.") {
        EX_NOPERM
    } else if answer.text.starts_with("5.1.1") {
        EX_NOUSER
    } else {
        EX_DATAERR
    };
    Err(refused(exit, &format!("{} {}", answer.code, answer.text)))
}

fn refused(exit: u8, reply: &str) -> CliError {
    CliError::Refused {
        exit,
        reply: reply.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_only_input_becomes_crlf_and_mixed_input_is_left_for_the_strict_reader() {
        assert_eq!(
            normalise_line_endings(b"A: b\n\nbody\n".to_vec()),
            b"A: b\r\n\r\nbody\r\n"
        );
        let mixed = b"A: b\r\n\r\nbody\n.\r\n".to_vec();
        assert_eq!(normalise_line_endings(mixed.clone()), mixed);
    }

    #[test]
    fn replies_map_to_the_statuses_mtas_understand() {
        let exit = |code, text: &str| match outcome(&Reply {
            code,
            text: text.into(),
        }) {
            Ok(()) => 0,
            Err(CliError::Refused { exit, .. }) => exit,
            Err(_) => 1,
        };
        assert_eq!(exit(250, "2.0.0 accepted"), 0);
        assert_eq!(exit(451, "4.7.0 cannot verify"), EX_TEMPFAIL);
        assert_eq!(
            exit(550, "5.7.1 mail from this domain must be authenticated"),
            EX_NOPERM
        );
        assert_eq!(exit(550, "5.6.0 bare CR or LF"), EX_DATAERR);
        assert_eq!(exit(550, "5.1.1 no such recipient"), EX_NOUSER);
    }
}
