//! The TOML file's shape, section by section (every key optional, unknown keys
//! refused), for the server, proxies, sessions, mail and sign-in; the self-service
//! sections are in `file_assist.rs`.

use super::*;

/// The TOML file's shape; every key optional, unknown keys refused.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_origin: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_json: Option<bool>,
    pub sessions: Option<SessionFileConfig>,
    pub api_tokens: Option<ApiTokenFileConfig>,
    pub mail: Option<MailFileConfig>,
    pub smtp: Option<SmtpFileConfig>,
    /// `[[mailbox]]` tables: support addresses and the team each belongs to.
    #[serde(default)]
    pub mailbox: Vec<MailboxFileConfig>,
    /// `[[oidc]]` tables, one per single sign-on provider.
    #[serde(default)]
    pub oidc: Vec<OidcFileConfig>,
    /// `[[redaction]]` tables: the organisation's own patterns to remove from what
    /// customers write, besides the built-in ones.
    #[serde(default)]
    pub redaction: Vec<RedactionFileConfig>,
    pub proxy: Option<ProxyFileConfig>,
    pub help: Option<HelpFileConfig>,
    pub assistant: Option<AssistantFileConfig>,
    pub limits: Option<LimitsFileConfig>,
    pub anomaly: Option<AnomalyFileConfig>,
    pub scan: Option<ScanFileConfig>,
    pub backup: Option<BackupFileConfig>,
    pub metrics: Option<MetricsFileConfig>,
    pub advisories: Option<AdvisoriesFileConfig>,
    pub siem: Option<SiemFileConfig>,
    pub reply_tokens: Option<ReplyTokensFileConfig>,
    pub hsm: Option<HsmFileConfig>,
    pub audit: Option<AuditFileConfig>,
    pub privacy: Option<PrivacyFileConfig>,
    pub webhooks: Option<WebhooksFileConfig>,
    /// `[[imap]]` tables: hosted mailboxes to take mail from.
    #[serde(default)]
    pub imap: Vec<ImapFileConfig>,
}

/// One `[[imap]]` hosted mailbox (docs/EMAIL.md, "IMAP intake").
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ImapFileConfig {
    /// The support address it receives for: one of the `[[mailbox]]` addresses.
    pub mailbox: String,
    pub host: String,
    pub port: Option<u16>,
    pub user: String,
    /// A file holding the password (mode 0600), or…
    pub password_file: Option<PathBuf>,
    /// …a file holding an OAuth 2.0 access token (XOAUTH2), kept current by the
    /// operator's token refresher; read at every connection.
    pub xoauth2_token_file: Option<PathBuf>,
    pub folder: Option<String>,
    /// The provider's authserv-id in `Authentication-Results` (e.g. `mx.google.com`).
    pub authserv_id: String,
    /// Domains whose ARC seals are believed when the provider recorded no aligned
    /// pass (a forwarder in front of the mailbox, or the provider's sealing domain).
    #[serde(default)]
    pub arc_sealers: Vec<String>,
    pub ca_file: Option<PathBuf>,
    pub poll_secs: Option<u64>,
}

impl ImapFileConfig {
    pub(super) fn into_mailbox(self) -> Result<palisade_mail::ImapMailbox, CliError> {
        let bad = |what: &str| CliError::Config(format!("[[imap]] {}: {what}", self.mailbox));
        let mailbox = EmailAddress::parse(&self.mailbox).map_err(|_| bad("mailbox is not an address"))?;
        let auth = match (&self.password_file, &self.xoauth2_token_file) {
            (Some(path), None) => {
                let password =
                    std::fs::read_to_string(path).map_err(|e| CliError::Io(path.display().to_string(), e))?;
                palisade_mail::ImapAuth::Password {
                    user: self.user.clone(),
                    password: SecretString::new(password.trim_end_matches(['\r', '\n']).to_owned()),
                }
            }
            (None, Some(path)) => palisade_mail::ImapAuth::XOAuth2 {
                user: self.user.clone(),
                token_file: path.clone(),
            },
            _ => return Err(bad("give exactly one of password_file and xoauth2_token_file")),
        };
        if self.authserv_id.trim().is_empty() || self.authserv_id.contains(char::is_whitespace) {
            return Err(bad("authserv_id must be the provider's authserv-id"));
        }
        if self
            .arc_sealers
            .iter()
            .any(|d| d.trim().is_empty() || d.contains(|c: char| c.is_whitespace() || c == '@'))
        {
            return Err(bad("arc_sealers must be domain names"));
        }
        Ok(palisade_mail::ImapMailbox {
            host: self.host.clone(),
            port: self.port.unwrap_or(993),
            auth,
            folder: self.folder.clone().unwrap_or_else(|| "INBOX".into()),
            mailbox,
            trust: palisade_mail::ProviderTrust {
                authserv_id: self.authserv_id.clone(),
                arc_sealers: self.arc_sealers.clone(),
            },
            ca_file: self.ca_file.clone(),
            poll: std::time::Duration::from_secs(self.poll_secs.unwrap_or(30).clamp(5, 3600)),
        })
    }
}

/// `[scan]`: malware scanning of every file by ClamAV's daemon.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScanFileConfig {
    /// `unix:/path/to/clamd.sock`, `tcp:127.0.0.1:3310`, or `off` (files are then
    /// served unscanned and marked so). Default: Debian's `unix:/run/clamav/clamd.ctl`.
    pub clamd: Option<String>,
    /// Seconds one file's scan may take before it counts as a failure (default 60).
    pub timeout_secs: Option<u64>,
}

/// Where Debian's `clamav-daemon` listens.
pub const DEFAULT_CLAMD: &str = "unix:/run/clamav/clamd.ctl";

impl ScanFileConfig {
    pub(super) fn into_scanner(self) -> Result<Option<palisade_scan::Scanner>, CliError> {
        let endpoint = self.clamd.unwrap_or_else(|| DEFAULT_CLAMD.into());
        if endpoint == "off" {
            return Ok(None);
        }
        let endpoint = palisade_scan::Endpoint::parse(&endpoint)
            .map_err(|e| CliError::Config(format!("[scan] clamd: {e}")))?;
        let timeout = match self.timeout_secs {
            None => 60,
            Some(s @ 1..=600) => s,
            Some(_) => return Err(CliError::Config("[scan] timeout_secs must be 1 to 600".into())),
        };
        Ok(Some(palisade_scan::Scanner::new(
            endpoint,
            std::time::Duration::from_secs(timeout),
        )))
    }
}

/// `[proxy]`: reverse proxies in front of Palisade whose forwarding header is believed.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProxyFileConfig {
    /// Addresses or networks (`"10.0.0.5"`, `"10.0.0.0/8"`).
    pub trusted: Vec<String>,
    /// `x-forwarded-for` or `forwarded` (RFC 7239): the one header they set.
    pub header: String,
}

impl ProxyFileConfig {
    pub(super) fn into_settings(self) -> Result<palisade_web::TrustedProxies, CliError> {
        let header = match self.header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => palisade_web::ForwardedHeader::XForwardedFor,
            "forwarded" => palisade_web::ForwardedHeader::Forwarded,
            other => {
                return Err(CliError::Config(format!(
                    "[proxy] header {other:?}: use x-forwarded-for or forwarded"
                )));
            }
        };
        let networks = self
            .trusted
            .iter()
            .map(|t| {
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        CliError::Config(format!("[proxy] trusted {t:?}: not an address or network"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if networks.is_empty() {
            return Err(CliError::Config("[proxy] trusted lists no proxy".into()));
        }
        Ok(palisade_web::TrustedProxies {
            networks,
            header: Some(header),
        })
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RedactionFileConfig {
    /// Shown to the writer: "[removed: <name>]".
    pub name: String,
    /// A regular expression (Rust `regex` syntax).
    pub regex: String,
}

/// `[sessions]`: lifetimes and concurrency by kind of account.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct SessionFileConfig {
    pub staff_idle_minutes: Option<i64>,
    pub staff_absolute_hours: Option<i64>,
    pub customer_idle_minutes: Option<i64>,
    pub customer_absolute_hours: Option<i64>,
    pub staff_max_sessions: Option<usize>,
    pub customer_max_sessions: Option<usize>,
    /// `end_oldest` (default) or `refuse_new`.
    pub on_limit: Option<String>,
}

/// `[mail]`: the relay outbound mail goes through.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct MailFileConfig {
    pub relay_host: String,
    /// Default 587 (submission).
    pub relay_port: Option<u16>,
    /// `starttls` (default, certificate verified) or `none` (loopback relays only).
    pub relay_tls: Option<String>,
    pub relay_ca_file: Option<PathBuf>,
    pub from_address: String,
    pub from_name: Option<String>,
    /// Default: the host of the public origin.
    pub helo_name: Option<String>,
    /// A PEM PKCS#8 RSA key (`palisade dkim generate`); with `dkim_selector`.
    pub dkim_key_file: Option<PathBuf>,
    pub dkim_selector: Option<String>,
    /// A DKIM rotation: the key and selector to sign with next (published first,
    /// checked by `palisade dns check`, used once they replace the two above).
    pub dkim_next_key_file: Option<PathBuf>,
    pub dkim_next_selector: Option<String>,
    /// Selectors signed with before, kept published for the overlap.
    #[serde(default)]
    pub dkim_retired_selectors: Vec<String>,
}

/// A DKIM key rotation under way (`[mail] dkim_next_*`, `dkim_retired_selectors`).
#[derive(Clone, Debug, Default)]
pub struct DkimRotation {
    pub next: Option<(String, SecretBytes)>,
    pub retired: Vec<String>,
}

impl MailFileConfig {
    /// The rotation settings, checked against the signing selector.
    pub(super) fn dkim_rotation(&self) -> Result<DkimRotation, CliError> {
        use rustls::pki_types::{PrivatePkcs8KeyDer, pem::PemObject as _};
        let next = match (&self.dkim_next_key_file, &self.dkim_next_selector) {
            (None, None) => None,
            (Some(path), Some(selector)) => {
                if self.dkim_selector.as_deref() == Some(selector.as_str()) {
                    return Err(CliError::Config(
                        "[mail] dkim_next_selector must differ from dkim_selector".into(),
                    ));
                }
                let key = PrivatePkcs8KeyDer::from_pem_file(path).map_err(|e| {
                    CliError::Config(format!("[mail] dkim_next_key_file {}: {e}", path.display()))
                })?;
                Some((
                    selector.clone(),
                    SecretBytes::new(key.secret_pkcs8_der().to_vec()),
                ))
            }
            _ => {
                return Err(CliError::Config(
                    "[mail] set both dkim_next_key_file and dkim_next_selector".into(),
                ));
            }
        };
        if self
            .dkim_retired_selectors
            .iter()
            .any(|s| Some(s.as_str()) == self.dkim_selector.as_deref())
        {
            return Err(CliError::Config(
                "[mail] dkim_retired_selectors lists the selector in use".into(),
            ));
        }
        Ok(DkimRotation {
            next,
            retired: self.dkim_retired_selectors.clone(),
        })
    }

    pub(super) fn into_settings(self, public_origin: &str) -> Result<RelaySettings, CliError> {
        let tls = match self.relay_tls.as_deref() {
            None | Some("starttls") => RelayTls::StartTls,
            Some("none") => RelayTls::None,
            Some(other) => {
                return Err(CliError::Config(format!(
                    "[mail] relay_tls {other:?}: use starttls or none"
                )));
            }
        };
        let origin_host = public_origin
            .trim_start_matches("https://")
            .split(':')
            .next()
            .unwrap_or("localhost")
            .to_owned();
        let settings = RelaySettings {
            host: self.relay_host,
            port: self.relay_port.unwrap_or(587),
            tls,
            ca_file: self.relay_ca_file,
            helo_name: self.helo_name.unwrap_or(origin_host),
            from: EmailAddress::parse(&self.from_address)
                .map_err(|e| CliError::Config(format!("[mail] from_address: {e}")))?,
            from_name: self.from_name.unwrap_or_else(|| "Support".into()),
            dkim: None,
        };
        let from_domain = settings.from.domain().to_owned();
        let settings = match (self.dkim_key_file, self.dkim_selector) {
            (None, None) => settings,
            (Some(path), Some(selector)) => {
                use rustls::pki_types::{PrivatePkcs8KeyDer, pem::PemObject as _};
                let key = PrivatePkcs8KeyDer::from_pem_file(&path)
                    .map_err(|e| CliError::Config(format!("[mail] dkim_key_file {}: {e}", path.display())))?;
                RelaySettings {
                    dkim: Some(palisade_mail::DkimSettings {
                        domain: from_domain,
                        selector,
                        key_pkcs8: SecretBytes::new(key.secret_pkcs8_der().to_vec()),
                    }),
                    ..settings
                }
            }
            _ => {
                return Err(CliError::Config(
                    "[mail] set both dkim_key_file and dkim_selector".into(),
                ));
            }
        };
        settings
            .validate()
            .map_err(|e| CliError::Config(format!("[mail] {e}")))?;
        Ok(settings)
    }
}

/// `[smtp]`: the inbound listener.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SmtpFileConfig {
    /// Absent: no listener (mail arrives through `palisade ingest` behind an MTA).
    pub listen: Option<SocketAddr>,
    /// Default: the host of the public origin.
    pub hostname: Option<String>,
    /// Default 25 MiB.
    pub max_message_bytes: Option<usize>,
    /// Attachments and inline images per message; more is refused (552). Default 20.
    pub max_attachments: Option<usize>,
    /// Bytes of one attachment, decoded; a larger one is refused (552). Default 10 MiB.
    pub max_attachment_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    /// Default 10.
    pub max_connections_per_ip: Option<usize>,
    /// Default 120.
    pub messages_per_minute_per_ip: Option<u32>,
    /// DNS servers for SPF/DKIM lookups (`"127.0.0.1:53"`); a local validating
    /// resolver is the right choice.
    pub nameservers: Vec<SocketAddr>,
    /// The organisation's domains besides those of the mailboxes and the `[mail]`
    /// sender: unauthenticated mail claiming them is refused.
    #[serde(default)]
    pub own_domains: Vec<String>,
    /// Forwarding services (their ARC sealing domains) whose record of what they
    /// verified is believed when they break the original signature. Default: none.
    #[serde(default)]
    pub trusted_arc_forwarders: Vec<String>,
    /// Apply redaction (built-in and `[[redaction]]`) to mail that becomes a ticket or
    /// a reply, as to what is written through the web. Default: off.
    #[serde(default)]
    pub redact: bool,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct MailboxFileConfig {
    pub address: String,
    pub team: String,
}

/// The inbound listener, resolved.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub listen: Option<SocketAddr>,
    pub hostname: String,
    pub max_message_bytes: usize,
    pub file_limits: palisade_mail::FileLimits,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub messages_per_minute_per_ip: u32,
    pub nameservers: Vec<SocketAddr>,
    /// (support address, team name)
    pub mailboxes: Vec<(EmailAddress, String)>,
    /// Mailbox domains, the `[mail]` sender's and `own_domains`, lowercase, once each.
    pub own_domains: Vec<String>,
    pub trusted_arc_forwarders: Vec<String>,
    pub redact: bool,
}

/// `[api_tokens]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenFileConfig {
    /// Requests per minute per token (per node), bursts of a sixth of that.
    pub requests_per_minute: Option<u32>,
}

/// One `[[oidc]]` provider.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct OidcFileConfig {
    pub name: String,
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub scopes: Option<Vec<String>>,
    pub link_by_email: Option<bool>,
    pub create_accounts: Option<bool>,
    pub new_account_role: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub trust_provider_mfa: Option<bool>,
    pub mfa_amr: Option<Vec<String>>,
    pub mfa_acr: Option<Vec<String>>,
    pub ca_file: Option<PathBuf>,
    pub endpoint_origins: Option<Vec<String>>,
}

impl OidcFileConfig {
    pub(super) fn into_settings(self) -> Result<OidcSettings, CliError> {
        let bad = |why: &str| CliError::Config(format!("[[oidc]] {}: {why}", self.name));
        let secret = match (&self.client_secret, &self.client_secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| CliError::Io(path.display().to_string(), e))?
                .trim()
                .to_owned(),
            _ => return Err(bad("set exactly one of client_secret and client_secret_file")),
        };
        let mut settings = OidcSettings::new(
            &self.name,
            &self.issuer,
            &self.client_id,
            SecretString::new(secret),
        );
        if let Some(role) = &self.new_account_role {
            settings.new_account_role = Role::parse(role).map_err(|_| bad("unknown new_account_role"))?;
        }
        settings.display_name = self.display_name.unwrap_or_else(|| self.name.clone());
        settings.scopes = self.scopes.unwrap_or(settings.scopes);
        settings.link_by_email = self.link_by_email.unwrap_or(settings.link_by_email);
        settings.create_accounts = self.create_accounts.unwrap_or(settings.create_accounts);
        settings.allowed_domains = self.allowed_domains.unwrap_or_default();
        settings.trust_provider_mfa = self.trust_provider_mfa.unwrap_or(false);
        settings.mfa_amr = self.mfa_amr.unwrap_or(settings.mfa_amr);
        settings.mfa_acr = self.mfa_acr.unwrap_or_default();
        settings.ca_file = self.ca_file;
        settings.endpoint_origins = self.endpoint_origins.unwrap_or_default();
        settings.validate().map_err(|e| CliError::Config(e.to_string()))?;
        Ok(settings)
    }
}

impl SessionFileConfig {
    pub(super) fn into_limits(self) -> Result<SessionLimits, CliError> {
        let d = SessionLimits::default();
        let positive = |v: Option<i64>, unit: i64, default: i64, name: &str| match v {
            None => Ok(default),
            Some(n) if n > 0 && n < 100_000 => Ok(n * unit),
            Some(_) => Err(CliError::Config(format!("[sessions] {name} must be positive"))),
        };
        Ok(SessionLimits {
            staff_idle_secs: positive(
                self.staff_idle_minutes,
                60,
                d.staff_idle_secs,
                "staff_idle_minutes",
            )?,
            staff_absolute_secs: positive(
                self.staff_absolute_hours,
                3600,
                d.staff_absolute_secs,
                "staff_absolute_hours",
            )?,
            customer_idle_secs: positive(
                self.customer_idle_minutes,
                60,
                d.customer_idle_secs,
                "customer_idle_minutes",
            )?,
            customer_absolute_secs: positive(
                self.customer_absolute_hours,
                3600,
                d.customer_absolute_secs,
                "customer_absolute_hours",
            )?,
            staff_max_sessions: self.staff_max_sessions.unwrap_or(d.staff_max_sessions).max(1),
            customer_max_sessions: self
                .customer_max_sessions
                .unwrap_or(d.customer_max_sessions)
                .max(1),
            on_limit: match self.on_limit.as_deref() {
                None | Some("end_oldest") => OnSessionLimit::EndOldest,
                Some("refuse_new") => OnSessionLimit::RefuseNew,
                Some(_) => {
                    return Err(CliError::Config(
                        "[sessions] on_limit is end_oldest or refuse_new".into(),
                    ));
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ImapFileConfig;

    fn imap(extra: &str) -> ImapFileConfig {
        toml::from_str(&format!(
            "mailbox = \"support@example.com\"\nhost = \"imap.example.com\"\nuser = \"u\"\n\
             xoauth2_token_file = \"/nonexistent\"\nauthserv_id = \"mx.example.com\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn arc_sealers_are_domains() {
        let mailbox = imap("arc_sealers = [\"lists.example.org\"]")
            .into_mailbox()
            .unwrap();
        assert_eq!(mailbox.trust.authserv_id, "mx.example.com");
        assert_eq!(mailbox.trust.arc_sealers, ["lists.example.org"]);
        assert!(imap("").into_mailbox().unwrap().trust.arc_sealers.is_empty());
        for bad in ["\"\"", "\"a b.test\"", "\"list@example.org\""] {
            assert!(
                imap(&format!("arc_sealers = [{bad}]")).into_mailbox().is_err(),
                "{bad}"
            );
        }
    }
}
