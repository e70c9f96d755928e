//! The sender verdict for mail fetched from a hosted mailbox (IMAP), where Palisade did
//! not speak SMTP with the sender and cannot check SPF or the connection itself: the
//! provider's own `Authentication-Results` (RFC 8601) is believed, but only
//! - the topmost such header of the message (a provider prepends its own; anything
//!   below was there before it, and can be written by anyone),
//! - when its authserv-id is exactly the one configured for that mailbox, and
//! - for a `pass` aligned with the `From` domain: `dmarc` for that domain, `dkim` with
//!   an aligned `header.d`, or `spf` with an aligned `smtp.mailfrom`.
//!
//! Anything else — no header, another authserv-id on top, a result that is not a pass,
//! a pass for another domain — is unauthenticated, and the message is held like any
//! other such mail, unless a valid ARC chain sealed by domains the operator named for
//! the mailbox records an aligned pass (checked by the [`crate::SenderVerifier`], the
//! one place ARC is verified).

use crate::{AuthMethod, Findings, StrictMessage, Verdict, aligned};

/// Whom a hosted mailbox believes about the sender of the mail fetched from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderTrust {
    /// The provider's authserv-id in `Authentication-Results` (e.g. `mx.google.com`).
    pub authserv_id: String,
    /// Domains whose ARC seals are believed when the provider itself recorded no
    /// aligned pass (a mailing list or forwarder in front of the mailbox, or the
    /// provider's own sealing domain). Nobody by default.
    pub arc_sealers: Vec<String>,
}

/// The verdict `authserv_id`'s `Authentication-Results` gives `message`.
pub fn provider_verdict(message: &StrictMessage, authserv_id: &str) -> Verdict {
    let from_domain = message.from.address.domain().to_ascii_lowercase();
    let unauthenticated = || Verdict::Unauthenticated(Findings::default());
    let Some(topmost) = message.values("Authentication-Results").next() else {
        return unauthenticated();
    };
    let Some(results) = parse(topmost) else {
        return unauthenticated();
    };
    if !results.authserv_id.eq_ignore_ascii_case(authserv_id) {
        return unauthenticated();
    }
    for result in &results.methods {
        if result.result != "pass" {
            continue;
        }
        let domain = match result.method.as_str() {
            "dmarc" => result.property("header.from"),
            "dkim" => result
                .property("header.d")
                .or_else(|| result.property("header.i").and_then(|i| i.rsplit('@').next())),
            "spf" => result
                .property("smtp.mailfrom")
                .map(|m| m.rsplit('@').next().unwrap_or(m)),
            _ => None,
        };
        if let Some(domain) = domain.map(str::to_ascii_lowercase)
            && !domain.is_empty()
            && aligned(&domain, &from_domain)
        {
            return Verdict::Authenticated(AuthMethod::Provider {
                provider: results.authserv_id.to_ascii_lowercase(),
                method: result.method.clone(),
                domain,
            });
        }
    }
    unauthenticated()
}

struct Results {
    authserv_id: String,
    methods: Vec<MethodResult>,
}

struct MethodResult {
    method: String,
    result: String,
    properties: Vec<(String, String)>,
}

impl MethodResult {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// RFC 8601's `authserv-id [version] ; resinfo ; resinfo …` with comments removed.
/// Anything malformed is `None` (and the message unauthenticated).
fn parse(value: &str) -> Option<Results> {
    let text = without_comments(value)?;
    let mut parts = text.split(';');
    let head = parts.next()?.trim();
    let authserv_id = head.split_whitespace().next()?.to_owned();
    if authserv_id.is_empty() || authserv_id.contains('=') {
        return None;
    }
    let mut methods = Vec::new();
    for part in parts {
        let mut tokens = part.split_whitespace();
        let Some(first) = tokens.next() else { continue };
        if first.eq_ignore_ascii_case("none") {
            continue;
        }
        let (method, result) = first.split_once('=')?;
        let method = method.split('/').next()?.to_ascii_lowercase();
        let mut properties = Vec::new();
        for token in tokens {
            if let Some((name, value)) = token.split_once('=')
                && name.contains('.')
            {
                properties.push((name.to_ascii_lowercase(), value.trim_matches('"').to_owned()));
            }
        }
        methods.push(MethodResult {
            method,
            result: result.to_ascii_lowercase(),
            properties,
        });
    }
    Some(Results { authserv_id, methods })
}

/// The value without `(comments)` (nested, with `\` escapes); `None` if unbalanced.
fn without_comments(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0u32;
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if depth > 0 || quoted => {
                chars.next();
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.checked_sub(1)?,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    (depth == 0 && !quoted).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read_message;

    fn verdict(headers: &str) -> Verdict {
        let raw = format!(
            "{headers}From: Ann <ann@customer.test>\r\nTo: support@desk.test\r\nSubject: x\r\n\r\nbody\r\n"
        );
        provider_verdict(&read_message(raw.as_bytes()).unwrap(), "mx.provider.test")
    }

    fn authenticated(v: &Verdict) -> bool {
        matches!(v, Verdict::Authenticated(_))
    }

    #[test]
    fn the_providers_topmost_pass_for_the_from_domain_counts() {
        for header in [
            "Authentication-Results: mx.provider.test; dmarc=pass (p=reject) header.from=customer.test\r\n",
            "Authentication-Results: mx.provider.test 1; dkim=pass header.d=mail.customer.test header.s=s1; spf=fail\r\n",
            "Authentication-Results: MX.Provider.Test;\r\n  spf=pass smtp.mailfrom=bounce@customer.test\r\n",
        ] {
            assert!(authenticated(&verdict(header)), "{header}");
        }
    }

    #[test]
    fn forged_misplaced_or_foreign_results_do_not() {
        for header in [
            // No header at all.
            "",
            // Another provider's (or a sender's) header on top.
            "Authentication-Results: evil.test; dmarc=pass header.from=customer.test\r\n\
             Authentication-Results: mx.provider.test; dmarc=pass header.from=customer.test\r\n",
            // The provider's own verdict on top says fail; a forged pass below it.
            "Authentication-Results: mx.provider.test; dmarc=fail header.from=customer.test\r\n\
             Authentication-Results: mx.provider.test; dmarc=pass header.from=customer.test\r\n",
            // A pass, but for another domain.
            "Authentication-Results: mx.provider.test; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=x@evil.test\r\n",
            // A lookalike of the authserv-id.
            "Authentication-Results: mx.provider.test.evil.test; dmarc=pass header.from=customer.test\r\n",
            // Hidden in a comment.
            "Authentication-Results: mx.provider.test; dmarc=fail (dmarc=pass header.from=customer.test) header.from=customer.test\r\n",
            // Unbalanced comment: malformed, so nothing.
            "Authentication-Results: mx.provider.test; dmarc=pass header.from=customer.test (\r\n",
            "Authentication-Results: mx.provider.test; none\r\n",
        ] {
            assert!(!authenticated(&verdict(header)), "{header}");
        }
    }
}
