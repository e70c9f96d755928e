//! One typed configuration: defaults, then an optional TOML file, then `PALISADE_*`
//! environment variables and command-line flags (clap merges those two). Unknown TOML
//! keys and unknown `PALISADE_*` variables are errors, so a typo never silently leaves a
//! setting at its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use palisade_core::{EmailAddress, Role, SecretBytes, SecretString};
use palisade_identity::{OidcSettings, OnSessionLimit, SessionLimits};
use palisade_mail::{RelaySettings, RelayTls};
use serde::Deserialize;

use crate::error::CliError;

mod backup;
mod file;
mod file_assist;
mod flags;
mod keys;
mod operations;
mod privacy;
mod register;
mod webhooks;

pub use backup::*;
pub use file::*;
pub use file_assist::*;
pub use flags::*;
pub use keys::*;
pub use operations::*;
pub use privacy::*;
pub use webhooks::*;

/// The resolved configuration every command works from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub listen: SocketAddr,
    pub public_origin: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_json: bool,
    pub sessions: SessionLimits,
    pub token_requests_per_minute: u32,
    pub oidc: Vec<OidcSettings>,
    /// Built-in redaction plus `[[redaction]]` patterns (checked at start).
    pub redactor: std::sync::Arc<palisade_assist::Redactor>,
    /// Default: none, so the socket peer is the client.
    pub trusted_proxies: palisade_web::TrustedProxies,
    /// `None`: no relay configured; mail waits in the outbox.
    pub mail: Option<RelaySettings>,
    /// `None`: no inbound SMTP.
    pub smtp: Option<SmtpSettings>,
    pub default_locale: String,
    pub assistant: palisade_assist::assistant::Thresholds,
    pub privacy_notice_url: String,
    pub public_limits: palisade_web::PublicLimits,
    /// New HTTPS connections handshaken per second (`crate::handshakes`).
    pub tls_handshakes_per_second: u32,
    pub anomaly: palisade_web::DetectorConfig,
    /// `None`: answers from articles only (the default).
    pub model: Option<palisade_assist::assistant::ModelSettings>,
    pub widget_origins: Vec<String>,
    /// `None`: the widget is anonymous only.
    pub site_tokens: Option<std::sync::Arc<palisade_assist::SiteTokenVerifier>>,
    /// `None`: scanning turned off (`[scan] clamd = "off"`); files are served unscanned.
    pub scanner: Option<palisade_scan::Scanner>,
    /// Hosted mailboxes to take mail from (`[[imap]]`; needs `[smtp]`, listening or not).
    pub imap: Vec<palisade_mail::ImapMailbox>,
    /// `[backup]`: recipients and PostgreSQL's tools.
    pub backup: BackupSettings,
    /// `[metrics]`: where Prometheus scrapes, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// `[advisories] database`: checked at start and daily by `serve`.
    pub advisory_db: Option<PathBuf>,
    /// `[siem]`: where audit entries are exported, if anywhere.
    pub siem: Option<SiemSettings>,
    /// `[reply_tokens]`: the key versions of reply, `Message-ID` and bounce tokens.
    pub reply_keys: palisade_mail::ReplyKeys,
    /// `[hsm]`: the wrapping key in a PKCS#11 token.
    pub hsm: Option<palisade_hsm::HsmSettings>,
    /// `[audit]`: a checkpoint signing key of its own, if configured.
    pub audit_signing: Option<AuditSigning>,
    /// A DKIM key rotation under way, for `dns check`.
    pub dkim_rotation: DkimRotation,
    /// `[privacy]`: four eyes, deadlines, the erasure ledger.
    pub privacy: PrivacySettings,
    /// `[webhooks]`: allowed internal hosts, nameservers, extra CA.
    pub webhooks: WebhookSettings,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

impl Settings {
    pub fn resolve(global: &GlobalArgs, serve: Option<&ServeArgs>) -> Result<Self, CliError> {
        let file: FileConfig = match &global.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| CliError::Io(path.display().to_string(), e))?;
                toml::from_str(&text).map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?
            }
            None => FileConfig::default(),
        };
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("palisade-data"));
        let database_url = global
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("palisade.db").display()));
        let master_key_file = global
            .master_key_file
            .clone()
            .or(file.master_key_file)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let listen = match serve.and_then(|s| s.listen).or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN
                .parse()
                .map_err(|_| CliError::Config("bad default listen address".into()))?,
        };
        let public_origin = serve
            .and_then(|s| s.public_origin.clone())
            .or(file.public_origin)
            .unwrap_or_else(|| default_origin(listen));
        let dkim_rotation = file
            .mail
            .as_ref()
            .map(MailFileConfig::dkim_rotation)
            .transpose()?
            .unwrap_or_default();
        let mail = file.mail.map(|m| m.into_settings(&public_origin)).transpose()?;
        let smtp = match file.smtp {
            None if file.mailbox.is_empty() => None,
            None => return Err(CliError::Config("[[mailbox]] needs an [smtp] listener".into())),
            Some(smtp) => {
                if smtp.nameservers.is_empty() {
                    return Err(CliError::Config(
                        "[smtp] nameservers must list at least one server".into(),
                    ));
                }
                if file.mailbox.is_empty() {
                    return Err(CliError::Config("[smtp] needs at least one [[mailbox]]".into()));
                }
                let mailboxes = file
                    .mailbox
                    .iter()
                    .map(|m| {
                        EmailAddress::parse(&m.address)
                            .map(|a| (a, m.team.clone()))
                            .map_err(|_| CliError::Config(format!("[[mailbox]] address {:?}", m.address)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(SmtpSettings {
                    listen: smtp.listen,
                    hostname: smtp.hostname.unwrap_or_else(|| {
                        public_origin
                            .trim_start_matches("https://")
                            .split(':')
                            .next()
                            .unwrap_or("localhost")
                            .to_owned()
                    }),
                    max_message_bytes: smtp.max_message_bytes.unwrap_or(25 * 1024 * 1024),
                    file_limits: palisade_mail::FileLimits {
                        max_files: smtp
                            .max_attachments
                            .unwrap_or(palisade_mail::FileLimits::default().max_files),
                        max_file_bytes: smtp
                            .max_attachment_bytes
                            .unwrap_or(palisade_mail::FileLimits::default().max_file_bytes),
                    },
                    max_connections: smtp.max_connections.unwrap_or(256),
                    max_connections_per_ip: smtp.max_connections_per_ip.unwrap_or(10),
                    messages_per_minute_per_ip: smtp.messages_per_minute_per_ip.unwrap_or(120),
                    nameservers: smtp.nameservers,
                    own_domains: own_domains(&mailboxes, mail.as_ref(), &smtp.own_domains)?,
                    trusted_arc_forwarders: smtp.trusted_arc_forwarders,
                    redact: smtp.redact,
                    mailboxes,
                })
            }
        };
        if !file.imap.is_empty() && smtp.is_none() {
            return Err(CliError::Config(
                "[[imap]] needs [smtp] (without `listen` if mail only arrives by IMAP) and [[mailbox]]"
                    .into(),
            ));
        }
        let imap = file
            .imap
            .into_iter()
            .map(ImapFileConfig::into_mailbox)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(smtp) = &smtp
            && let Some(unknown) = imap
                .iter()
                .find(|i| !smtp.mailboxes.iter().any(|(a, _)| *a == i.mailbox))
        {
            return Err(CliError::Config(format!(
                "[[imap]] {} is not one of the [[mailbox]] addresses",
                unknown.mailbox.as_str()
            )));
        }
        let privacy = file
            .privacy
            .clone()
            .unwrap_or_default()
            .into_settings(&master_key_file)?;
        let settings = Self {
            imap,
            mail,
            smtp,
            data_dir,
            database_url,
            master_key_file,
            listen,
            public_origin,
            tls_cert: serve.and_then(|s| s.tls_cert.clone()).or(file.tls_cert),
            tls_key: serve.and_then(|s| s.tls_key.clone()).or(file.tls_key),
            log_json: global.log_json || file.log_json.unwrap_or(false),
            sessions: file.sessions.unwrap_or_default().into_limits()?,
            token_requests_per_minute: match file.api_tokens.and_then(|a| a.requests_per_minute) {
                None => palisade_identity::DEFAULT_TOKEN_REQUESTS_PER_MINUTE,
                Some(n) if n > 0 => n,
                Some(_) => {
                    return Err(CliError::Config(
                        "[api_tokens] requests_per_minute must be positive".into(),
                    ));
                }
            },
            oidc: file
                .oidc
                .into_iter()
                .map(OidcFileConfig::into_settings)
                .collect::<Result<_, _>>()?,
            redactor: std::sync::Arc::new(
                palisade_assist::Redactor::new(
                    &file
                        .redaction
                        .iter()
                        .map(|r| palisade_assist::CustomPattern {
                            name: r.name.clone(),
                            regex: r.regex.clone(),
                        })
                        .collect::<Vec<_>>(),
                )
                .map_err(|e| CliError::Config(format!("[[redaction]] {e}")))?,
            ),
            trusted_proxies: file
                .proxy
                .map(ProxyFileConfig::into_settings)
                .transpose()?
                .unwrap_or_default(),
            default_locale: match file.help.and_then(|h| h.default_locale) {
                Some(l) if palisade_assist::help::valid_locale(&l) => l,
                Some(l) => {
                    return Err(CliError::Config(format!(
                        "[help] default_locale {l:?}: use en, de, pt-BR…"
                    )));
                }
                None => "en".into(),
            },
            assistant: file.assistant.clone().unwrap_or_default().thresholds()?,
            widget_origins: file
                .assistant
                .as_ref()
                .map(|a| a.widget_origins.clone())
                .unwrap_or_default(),
            site_tokens: file
                .assistant
                .as_ref()
                .and_then(|a| a.site_tokens.clone())
                .map(|t| t.into_verifier().map(std::sync::Arc::new))
                .transpose()?,
            model: file
                .assistant
                .as_ref()
                .and_then(|a| a.model.clone())
                .map(ModelFileConfig::into_settings)
                .transpose()?
                .flatten(),
            privacy_notice_url: file
                .assistant
                .and_then(|a| a.privacy_notice_url)
                .unwrap_or_else(|| "/help/en/privacy-notice".into()),
            tls_handshakes_per_second: file
                .limits
                .as_ref()
                .map_or(Ok(None), |l| l.handshakes())?
                .unwrap_or(crate::handshakes::DEFAULT_HANDSHAKES_PER_SECOND),
            public_limits: file.limits.unwrap_or_default().into_settings()?,
            anomaly: file.anomaly.unwrap_or_default().into_settings()?,
            scanner: file
                .scan
                .unwrap_or(ScanFileConfig {
                    clamd: None,
                    timeout_secs: None,
                })
                .into_scanner()?,
            backup: file.backup.unwrap_or_default().into_settings()?,
            metrics_listen: file.metrics.unwrap_or_default().into_listen()?,
            advisory_db: file.advisories.unwrap_or_default().database,
            siem: file.siem.unwrap_or_default().into_settings()?,
            reply_keys: file.reply_tokens.unwrap_or_default().into_keys()?,
            hsm: file.hsm.map(HsmFileConfig::into_settings).transpose()?,
            audit_signing: file.audit.unwrap_or_default().into_settings()?,
            privacy,
            dkim_rotation,
            webhooks: file.webhooks.unwrap_or_default().into_settings()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses configurations that would run insecurely or not at all.
    fn validate(&self) -> Result<(), CliError> {
        for origin in &self.widget_origins {
            // Exactly as browsers send Origin: lower case, no default port.
            let host_ok = |host: &str| {
                !host.is_empty()
                    && !host.ends_with(":443")
                    && host.chars().all(|c| {
                        c.is_ascii_lowercase()
                            || c.is_ascii_digit()
                            || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
            };
            // Plain http only for a page on this machine (development and tests).
            let loopback = |host: &str| {
                ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .any(|l| host == *l || host.strip_prefix(l).is_some_and(|port| port.starts_with(':')))
            };
            let valid = match (origin.strip_prefix("https://"), origin.strip_prefix("http://")) {
                (Some(host), _) => host_ok(host),
                (None, Some(host)) => host_ok(host) && loopback(host),
                _ => false,
            };
            if !valid {
                return Err(CliError::Config(format!(
                    "[assistant] widget_origins: {origin:?} is not an https origin like https://www.example.com (http only on loopback)"
                )));
            }
        }
        if !self.public_origin.starts_with("https://") {
            return Err(CliError::Config(
                "public origin must be an https:// origin".into(),
            ));
        }
        if self.public_origin.ends_with('/') || self.public_origin[8..].contains('/') {
            return Err(CliError::Config(
                "public origin is scheme://host[:port] with no path".into(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(CliError::Config(
                "set both tls_cert and tls_key, or neither".into(),
            ));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres")) {
            return Err(CliError::Config(
                "database URL must be sqlite:… or postgres://…".into(),
            ));
        }
        Ok(())
    }
}

fn own_domains(
    mailboxes: &[(EmailAddress, String)],
    mail: Option<&RelaySettings>,
    extra: &[String],
) -> Result<Vec<String>, CliError> {
    let mut domains: Vec<String> = mailboxes
        .iter()
        .map(|(a, _)| a.domain().to_owned())
        .chain(mail.map(|m| m.from.domain().to_owned()))
        .collect();
    for domain in extra {
        let probe = EmailAddress::parse(&format!("postmaster@{domain}"))
            .map_err(|_| CliError::Config(format!("[smtp] own_domains: {domain:?} is not a domain")))?;
        domains.push(probe.domain().to_owned());
    }
    let mut domains: Vec<String> = domains.into_iter().map(|d| d.to_ascii_lowercase()).collect();
    domains.sort();
    domains.dedup();
    Ok(domains)
}

fn default_origin(listen: SocketAddr) -> String {
    let host = if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        listen.ip().to_string()
    };
    if listen.port() == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{}", listen.port())
    }
}

#[cfg(test)]
mod tests;
