//! Palisade's own answer to "who sent this?": the single `From` mailbox the strict
//! parser decided is authenticated only when a DKIM signature or the SPF check of the
//! envelope sender passes *for a domain aligned with it*. A domain without a DMARC
//! record therefore gets in only with an aligned pass, never because no policy said
//! otherwise. DKIM signatures with a body length limit (`l=`, which lets anyone append
//! to a signed message) or rsa-sha1 do not count. When DNS cannot answer and nothing
//! else authenticated the sender, the verdict is "try later" (451), never a pass.
//!
//! Results are typed values handed to the caller; `Authentication-Results` headers
//! that arrive with a message are never read. ARC is honoured only from forwarders the
//! operator named: when a set of a valid chain is sealed and signed by one of them,
//! and so is every newer set, its own record of what it verified (`dmarc`, `dkim` or
//! `spf` pass for a domain aligned with `From`) authenticates the sender — a mailing list or
//! forwarding service that breaks the original signature does not send genuine mail
//! to quarantine.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::common::crypto::Algorithm;
use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, SpfResult};
use palisade_core::EmailAddress;

use crate::{MailError, Mailbox};

/// How the sender was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// An aligned DKIM signature by this signing domain.
    Dkim { domain: String },
    /// SPF passed for this envelope domain, aligned with `From`.
    Spf { domain: String },
    /// A trusted forwarder's ARC set records an aligned pass for `domain`.
    Arc { forwarder: String, domain: String },
    /// The hosted mailbox's provider (its configured authserv-id) recorded an aligned
    /// pass of `method` (`dmarc`, `dkim`, `spf`) for `domain` (mail fetched by IMAP).
    Provider {
        provider: String,
        method: String,
        domain: String,
    },
}

/// What the checks found, for agents to see beside a quarantined message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// `d=` domains of signatures that verified but do not count (not aligned, `l=`,
    /// rsa-sha1), with the reason.
    pub dkim_not_counted: Vec<(String, &'static str)>,
    /// Signatures that did not verify.
    pub dkim_failed: usize,
    /// The SPF result and the domain it was for.
    pub spf: Option<(String, &'static str)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Authenticated(AuthMethod),
    /// No aligned pass: the message goes to quarantine.
    Unauthenticated(Findings),
    /// DNS could not answer and nothing authenticated the sender: 451.
    TryLater(String),
}

/// The SMTP facts about one message.
pub struct Envelope<'a> {
    pub client_ip: IpAddr,
    pub helo: &'a str,
    /// `None` for the null sender `<>`.
    pub mail_from: Option<&'a EmailAddress>,
}

pub struct SenderVerifier {
    auth: MessageAuthenticator,
    /// This host's name, for SPF's `%{r}` macro.
    host_name: String,
    /// Sealing domains whose ARC assertions are believed (lowercase).
    trusted_forwarders: Vec<String>,
}

impl SenderVerifier {
    /// Verifies against the given nameservers (tests and air-gapped sites use their own).
    pub fn new(nameservers: &[SocketAddr], host_name: &str, timeout: Duration) -> Result<Self, MailError> {
        if nameservers.is_empty() {
            return Err(MailError::Config("at least one nameserver is needed".into()));
        }
        let servers = nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = 2;
        let auth = MessageAuthenticator::new(ResolverConfig::from_parts(None, vec![], servers), options)
            .map_err(|e| MailError::Config(format!("DNS resolver: {e}")))?;
        Ok(Self {
            auth,
            host_name: host_name.to_owned(),
            trusted_forwarders: Vec::new(),
        })
    }

    /// Believes ARC sets sealed by these domains (forwarding services the organisation
    /// relies on). Nobody is trusted by default.
    pub fn with_trusted_forwarders(mut self, domains: &[String]) -> Self {
        self.trusted_forwarders = lowercase_domains(domains);
        self
    }

    pub(crate) fn authenticator(&self) -> &MessageAuthenticator {
        &self.auth
    }

    /// The verdict for `raw` (already accepted by the strict reader, which decided
    /// `from`).
    pub async fn verdict(&self, envelope: &Envelope<'_>, raw: &[u8], from: &Mailbox) -> Verdict {
        let from_domain = from.address.domain();
        let mut findings = Findings::default();
        let mut temporary = Vec::new();

        let parsed = AuthenticatedMessage::parse(raw);
        if let Some(message) = &parsed {
            for output in self.auth.verify_dkim(message).await {
                let signature = output.signature();
                match (output.result(), signature) {
                    (DkimResult::Pass, Some(sig)) => {
                        let why_not = if sig.l != 0 {
                            Some("body_length_limit")
                        } else if sig.a == Algorithm::RsaSha1 {
                            Some("rsa_sha1")
                        } else if !aligned(&sig.d, from_domain) {
                            Some("not_aligned")
                        } else {
                            None
                        };
                        match why_not {
                            None => {
                                return Verdict::Authenticated(AuthMethod::Dkim {
                                    domain: sig.d.to_ascii_lowercase(),
                                });
                            }
                            Some(why) => findings.dkim_not_counted.push((sig.d.to_ascii_lowercase(), why)),
                        }
                    }
                    (DkimResult::TempError(e), _) => temporary.push(format!("DKIM key lookup: {e}")),
                    (DkimResult::None, _) => {}
                    _ => findings.dkim_failed += 1,
                }
            }
        }

        // RFC 7208: the MAIL FROM identity, or for the null sender the HELO identity.
        let helo_sender;
        let sender = match envelope.mail_from {
            Some(address) => address.as_str(),
            None => {
                helo_sender = format!("postmaster@{}", envelope.helo);
                helo_sender.as_str()
            }
        };
        let spf = self
            .auth
            .verify_spf(SpfParameters::verify_mail_from(
                envelope.client_ip,
                envelope.helo,
                &self.host_name,
                sender,
            ))
            .await;
        let spf_domain = spf.domain().to_ascii_lowercase();
        let spf_result = match spf.result() {
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::Neutral => "neutral",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
            SpfResult::None => "none",
        };
        if spf.result() == SpfResult::Pass && aligned(&spf_domain, from_domain) {
            return Verdict::Authenticated(AuthMethod::Spf { domain: spf_domain });
        }
        if spf.result() == SpfResult::TempError {
            temporary.push(format!("SPF for {spf_domain}"));
        }
        findings.spf = Some((spf_domain, spf_result));
        if let Some(message) = &parsed
            && !self.trusted_forwarders.is_empty()
        {
            match self
                .arc_vouched(message, from_domain, &self.trusted_forwarders)
                .await
            {
                Ok(Some(method)) => return Verdict::Authenticated(method),
                Ok(None) => {}
                Err(why) => temporary.push(why),
            }
        }
        if temporary.is_empty() {
            Verdict::Unauthenticated(findings)
        } else {
            Verdict::TryLater(temporary.join("; "))
        }
    }
}

impl SenderVerifier {
    /// For mail fetched from a hosted mailbox whose provider did not record an aligned
    /// pass: the aligned pass one of `sealers` recorded in a valid ARC chain of `raw`.
    /// `Ok(None)` when there is none; `Err` when a sealer's key could not be looked up.
    pub(crate) async fn fetched_arc(
        &self,
        raw: &[u8],
        from: &Mailbox,
        sealers: &[String],
    ) -> Result<Option<AuthMethod>, String> {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Ok(None);
        };
        let sealers = lowercase_domains(sealers);
        self.arc_vouched(&message, from.address.domain(), &sealers).await
    }

    /// Sets are read from the newest down, and only while every one was sealed (and its
    /// message signature made) by a trusted domain: an untrusted hop above a trusted
    /// set could have changed the message after the trusted sealer vouched for it. A
    /// hosted provider that seals what it receives (as large ones do) is one more
    /// trusted set on top, not a reason to ignore the forwarder below it.
    async fn arc_vouched(
        &self,
        message: &AuthenticatedMessage<'_>,
        from_domain: &str,
        trusted: &[String],
    ) -> Result<Option<AuthMethod>, String> {
        let arc = self.auth.verify_arc(message).await;
        match arc.result() {
            DkimResult::Pass => {}
            DkimResult::TempError(e) => return Err(format!("ARC key lookup: {e}")),
            _ => return Ok(None),
        }
        let mut sets: Vec<_> = arc.sets().iter().collect();
        sets.sort_by_key(|set| std::cmp::Reverse(set.seal.header.i));
        for set in sets {
            let sealer = set.seal.header.d.to_ascii_lowercase();
            let signer = set.signature.header.d.to_ascii_lowercase();
            if sealer != signer || !trusted.contains(&sealer) {
                return Ok(None);
            }
            let recorded = String::from_utf8_lossy(set.results.value);
            if let Some(domain) = arc_assertion(&recorded, from_domain) {
                return Ok(Some(AuthMethod::Arc {
                    forwarder: sealer,
                    domain,
                }));
            }
        }
        Ok(None)
    }
}

fn lowercase_domains(domains: &[String]) -> Vec<String> {
    domains
        .iter()
        .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
        .collect()
}

/// What a trusted forwarder's `ARC-Authentication-Results` value asserts about the
/// `From` domain: the domain of a `dmarc=pass` (`header.from`), `dkim=pass`
/// (`header.d`/`header.i`) or `spf=pass` (`smtp.mailfrom`) aligned with it. Comments
/// are removed first; a clause naming its property twice counts as nothing.
pub fn arc_assertion(recorded: &str, from_domain: &str) -> Option<String> {
    let mut without_comments = String::with_capacity(recorded.len());
    let mut depth = 0usize;
    for c in recorded.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => without_comments.push(c),
            _ => {}
        }
    }
    for clause in without_comments.split(';') {
        let mut tokens = clause.split_whitespace();
        let Some((method, result)) = tokens.next().and_then(|t| t.split_once('=')) else {
            continue;
        };
        if !result.eq_ignore_ascii_case("pass") {
            continue;
        }
        let wanted: &[&str] = match method.to_ascii_lowercase().as_str() {
            "dmarc" => &["header.from"],
            "dkim" => &["header.d", "header.i"],
            "spf" => &["smtp.mailfrom"],
            _ => continue,
        };
        let values: Vec<&str> = tokens
            .filter_map(|t| t.split_once('='))
            .filter(|(property, _)| wanted.iter().any(|w| property.eq_ignore_ascii_case(w)))
            .map(|(_, value)| value.trim_matches('"'))
            .collect();
        let [value] = values.as_slice() else { continue };
        let domain = value.rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
        if !domain.is_empty() && aligned(&domain, from_domain) {
            return Some(domain);
        }
    }
    None
}

/// Relaxed alignment without a public-suffix list, erring on the strict side: the
/// domains are equal, or one is a subdomain of the other and the shorter one has at
/// least two labels (so a bare TLD never aligns anything). Sibling subdomains do not
/// align.
pub fn aligned(authenticated: &str, from_domain: &str) -> bool {
    let a = authenticated.trim_end_matches('.').to_ascii_lowercase();
    let f = from_domain.trim_end_matches('.').to_ascii_lowercase();
    if a == f {
        return true;
    }
    let (short, long) = if a.len() < f.len() { (&a, &f) } else { (&f, &a) };
    short.split('.').count() >= 2 && long.ends_with(&format!(".{short}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_assertions_count_only_aligned_passes() {
        let recorded = "i=1; lists.test; dkim=pass header.d=customer.test header.s=sel header.b=abc; spf=fail smtp.mailfrom=x@y.test";
        assert_eq!(
            arc_assertion(recorded, "customer.test"),
            Some("customer.test".into())
        );
        assert_eq!(arc_assertion(recorded, "other.test"), None);
        assert_eq!(
            arc_assertion(
                "i=1; lists.test; dmarc=pass (p=reject) header.from=Customer.Test",
                "customer.test"
            ),
            Some("customer.test".into())
        );
        assert_eq!(
            arc_assertion(
                "i=1; lists.test; spf=pass smtp.mailfrom=bounce@mail.customer.test",
                "customer.test"
            ),
            Some("mail.customer.test".into())
        );
        assert_eq!(
            arc_assertion(
                "i=1; lists.test; dkim=fail header.d=customer.test",
                "customer.test"
            ),
            None
        );
        // A pass hidden in a comment, or a clause naming two domains, proves nothing.
        assert_eq!(
            arc_assertion(
                "i=1; lists.test; dkim=fail (dkim=pass header.d=customer.test)",
                "customer.test"
            ),
            None
        );
        assert_eq!(
            arc_assertion(
                "i=1; lists.test; dkim=pass header.d=evil.test header.d=customer.test",
                "customer.test"
            ),
            None
        );
    }

    #[test]
    fn alignment_is_relaxed_but_never_across_organisations() {
        assert!(aligned("example.com", "example.com"));
        assert!(aligned("Example.COM", "example.com"));
        assert!(aligned("mail.example.com", "example.com"));
        assert!(aligned("example.com", "support.example.com"));
        assert!(!aligned("a.example.com", "b.example.com"));
        assert!(!aligned("evil.example", "example.com"));
        assert!(!aligned("com", "example.com"));
        assert!(!aligned("notexample.com", "example.com"));
        assert!(!aligned("example.com.evil.example", "example.com"));
    }
}
