//! Palisade's own answer to "who sent this?": the single `From` mailbox the strict
//! parser decided is authenticated only when a DKIM signature or the SPF check of the
//! envelope sender passes *for a domain aligned with it*. A domain without a DMARC
//! record therefore gets in only with an aligned pass, never because no policy said
//! otherwise. DKIM signatures with a body length limit (`l=`, which lets anyone append
//! to a signed message) or rsa-sha1 do not count. When DNS cannot answer and nothing
//! else authenticated the sender, the verdict is "try later" (451), never a pass.
//!
//! Results are typed values handed to the caller; `Authentication-Results` headers
//! that arrive with a message are never read.

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
        })
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

        if let Some(message) = AuthenticatedMessage::parse(raw) {
            for output in self.auth.verify_dkim(&message).await {
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
        if temporary.is_empty() {
            Verdict::Unauthenticated(findings)
        } else {
            Verdict::TryLater(temporary.join("; "))
        }
    }
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
