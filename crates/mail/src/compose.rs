//! Turns a queued [`OutgoingMail`] into an RFC 5322 message. Header values are checked
//! here even though mail-builder folds them, so a line break in a subject can never
//! become a header of its own.

use mail_builder::MessageBuilder;
use palisade_core::{EmailAddress, OutgoingMail};

use crate::MailError;

/// The message bytes (CRLF line endings) for `mail`, from `from`.
pub fn compose(mail: &OutgoingMail, from: &EmailAddress, from_name: &str) -> Result<Vec<u8>, MailError> {
    let to = EmailAddress::parse(&mail.to).map_err(|e| MailError::Permanent(format!("recipient: {e}")))?;
    for (what, value) in [("subject", mail.subject.as_str()), ("sender name", from_name)] {
        if value.chars().any(|c| c.is_control()) {
            return Err(MailError::Permanent(format!("control character in the {what}")));
        }
    }
    let domain = from.as_str().rsplit('@').next().unwrap_or("localhost");
    let message_id = match &mail.message_id {
        Some(id)
            if id.contains('@')
                && id
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b)) =>
        {
            id.clone()
        }
        Some(_) => return Err(MailError::Permanent("malformed Message-ID".into())),
        None => format!(
            "{}@{domain}",
            hex::encode(
                palisade_crypto::random_bytes::<16>()
                    .map_err(|e| MailError::Temporary(format!("random: {e}")))?
            )
        ),
    };
    let reply_to = mail
        .reply_to
        .as_deref()
        .map(|r| EmailAddress::parse(r).map_err(|_| MailError::Permanent("malformed Reply-To".into())))
        .transpose()?;
    let mut builder = MessageBuilder::new();
    if let Some(reply_to) = &reply_to {
        builder = builder.reply_to(reply_to.as_str());
    }
    if let Some(html) = &mail.html {
        builder = builder.html_body(html.as_str());
    }
    for file in &mail.files {
        if file.name.chars().any(|c| c.is_control()) || file.content_type.chars().any(|c| c.is_control()) {
            return Err(MailError::Permanent(
                "control character in a file's name or type".into(),
            ));
        }
        builder = builder.attachment(
            file.content_type.as_str(),
            file.name.as_str(),
            file.content.as_slice(),
        );
    }
    builder
        .from((from_name, from.as_str()))
        .to(to.as_str())
        .subject(mail.subject.as_str())
        .message_id(message_id)
        // Tells well-behaved systems not to auto-reply (no backscatter loops).
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-generated"),
        )
        .text_body(mail.text.as_str())
        .write_to_vec()
        .map_err(|e| MailError::Permanent(format!("composing: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mail(subject: &str) -> OutgoingMail {
        OutgoingMail {
            to: "ada@example.com".into(),
            subject: subject.into(),
            text: "Hello\n.\nBye".into(),
            ..OutgoingMail::default()
        }
    }

    #[test]
    fn composes_headers_and_refuses_injected_lines() {
        let from = EmailAddress::parse("desk@example.org").unwrap();
        let bytes = compose(&mail("Reset your password"), &from, "Palisade").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Subject: Reset your password\r\n"));
        assert!(
            text.contains("To: <ada@example.com>\r\n") || text.contains("To: ada@example.com\r\n"),
            "{text}"
        );
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
        assert!(text.contains("@example.org>"));
        assert!(compose(&mail("Hi\r\nBcc: evil@example.net"), &from, "Palisade").is_err());
        let mut bad = mail("Hi");
        bad.to = "a@b.example, evil@example.net".into();
        assert!(compose(&bad, &from, "Palisade").is_err());
        // Ticket mail: the capability reply address and Message-ID are used as given.
        let mut ticket = mail("[#7] Order");
        ticket.reply_to = Some("support+rabc@example.org".into());
        ticket.message_id = Some("rabc@example.org".into());
        let text = String::from_utf8(compose(&ticket, &from, "Palisade").unwrap()).unwrap();
        assert!(
            text.contains("Reply-To: <support+rabc@example.org>\r\n"),
            "{text}"
        );
        assert!(text.contains("Message-ID: <rabc@example.org>\r\n"), "{text}");
        ticket.message_id = Some("x@y>\r\nBcc: evil@example.net".into());
        assert!(compose(&ticket, &from, "Palisade").is_err());
    }

    #[test]
    fn a_reply_with_html_is_multipart_alternative() {
        let from = EmailAddress::parse("desk@example.org").unwrap();
        let mut reply = mail("[#7] Order");
        reply.html = Some("<div>Hello &amp; bye</div>".into());
        let text = String::from_utf8(compose(&reply, &from, "Palisade").unwrap()).unwrap();
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
        assert!(
            !String::from_utf8(compose(&mail("x"), &from, "Palisade").unwrap())
                .unwrap()
                .contains("multipart")
        );
        reply.files = vec![palisade_core::OutgoingFile {
            name: "statement.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4".to_vec(),
        }];
        let text = String::from_utf8(compose(&reply, &from, "Palisade").unwrap()).unwrap();
        assert!(
            text.contains("multipart/mixed") && text.contains("statement.pdf"),
            "{text}"
        );
        reply.files[0].name = "a\r\nBcc: x@evil.test".into();
        assert!(compose(&reply, &from, "Palisade").is_err());
    }
}
