//! One typed configuration: defaults, then an optional TOML file, then `PALISADE_*`
//! environment variables and command-line flags (clap merges those two). Unknown TOML
//! keys and unknown `PALISADE_*` variables are errors, so a typo never silently leaves a
//! setting at its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use palisade_core::{EmailAddress, Role, SecretBytes, SecretString};
use palisade_identity::{OidcSettings, OnSessionLimit, SessionLimits};
use palisade_mail::{RelaySettings, RelayTls};
use serde::Deserialize;

use crate::error::CliError;

#[derive(Parser, Debug)]
#[command(name = "palisade", version, about = "Security-first, self-hosted help desk")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Optional TOML configuration file.
    #[arg(long, env = "PALISADE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the SQLite database, master key and TLS certificate live.
    #[arg(long, env = "PALISADE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite in the data directory.
    #[arg(long, env = "PALISADE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The master key file (64 hex characters). Defaults to `<data-dir>/master.key`.
    #[arg(long, env = "PALISADE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "PALISADE_LOG_JSON", global = true)]
    pub log_json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTPS server.
    Serve(ServeArgs),
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// DKIM keys for outbound mail.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
    /// Receive one message on stdin from an existing MTA (pipe mode). Exit status:
    /// 0 taken, 65 refused (data), 67 unknown recipient, 75 try again later, 77
    /// refused (policy); the SMTP reply is printed on stderr.
    Ingest(IngestArgs),
    /// DNS checks for the organisation's own domain.
    Dns {
        #[command(subcommand)]
        command: DnsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum DnsCommand {
    /// Verify the published SPF, DKIM and DMARC records; exits 1 if any check fails.
    Check(DnsCheckArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DnsCheckArgs {
    /// Default: the domain of `[mail] from_address`.
    #[arg(long)]
    pub domain: Option<String>,
    /// Default: `[mail] dkim_selector`.
    #[arg(long)]
    pub selector: Option<String>,
    /// The DKIM private key whose public half must be published. Default:
    /// `[mail] dkim_key_file`.
    #[arg(long)]
    pub dkim_key: Option<PathBuf>,
    /// An address Palisade's mail leaves from, which SPF must authorise (repeatable).
    #[arg(long)]
    pub relay_ip: Vec<std::net::IpAddr>,
    /// DNS server to ask (repeatable). Default: `[smtp] nameservers`.
    #[arg(long)]
    pub nameserver: Vec<SocketAddr>,
}

#[derive(Args, Debug, Clone)]
pub struct IngestArgs {
    /// The SMTP client's address as the MTA saw it.
    #[arg(long)]
    pub client_ip: std::net::IpAddr,
    /// The name the client gave in HELO/EHLO.
    #[arg(long)]
    pub helo: String,
    /// The envelope sender; empty for the null sender.
    #[arg(long, default_value = "")]
    pub mail_from: String,
    /// The envelope recipient (one; the MTA runs one ingest per recipient).
    #[arg(long)]
    pub rcpt: String,
}

#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Create an RSA-2048 key pair; prints the TXT record to publish.
    Generate {
        #[arg(long)]
        domain: String,
        #[arg(long, default_value = "palisade")]
        selector: String,
        /// Where to write the private key (PEM); refused if the file exists.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on for HTTPS.
    #[arg(long, env = "PALISADE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Public origin for links and same-origin checks, e.g. `https://help.example.com`.
    #[arg(long, env = "PALISADE_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// PEM certificate chain; with `--tls-key`, replaces the generated self-signed one.
    #[arg(long, env = "PALISADE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "PALISADE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator and print a one-time setup link (valid 30 minutes).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Origin to print the link with.
        #[arg(long, env = "PALISADE_PUBLIC_ORIGIN")]
        public_origin: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every entry's hash, every link and every signed checkpoint.
    Verify {
        /// Hex Ed25519 public key to check checkpoints with (default: derived from the
        /// master key, as written to `<data-dir>/audit-signing.pub`).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Sign a checkpoint of the current chain head now.
    Checkpoint,
}

/// Every `PALISADE_*` variable the program reads; anything else with the prefix is a typo.
const KNOWN_ENV: &[&str] = &[
    "PALISADE_CONFIG",
    "PALISADE_DATA_DIR",
    "PALISADE_DATABASE_URL",
    "PALISADE_MASTER_KEY_FILE",
    "PALISADE_LOG_JSON",
    "PALISADE_LISTEN",
    "PALISADE_PUBLIC_ORIGIN",
    "PALISADE_TLS_CERT",
    "PALISADE_TLS_KEY",
    "PALISADE_LOG",
];

/// Test harness variables share the prefix but are never read by the server.
fn is_test_harness_var(name: &str) -> bool {
    name.starts_with("PALISADE_TEST_") || name == "PALISADE_TOOLS" || name == "PALISADE_PG_BIN"
}

pub fn reject_unknown_env() -> Result<(), CliError> {
    let unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PALISADE_") && !KNOWN_ENV.contains(&k.as_str()) && !is_test_harness_var(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(CliError::Config(format!(
            "unknown environment variables: {}",
            unknown.join(", ")
        )))
    }
}

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
}

/// `[anomaly]`: when refused or missing requests from one source, or from all sources
/// together, count as an anomaly (docs/ASSISTANT.md).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AnomalyFileConfig {
    pub z: Option<f64>,
    pub alpha: Option<f64>,
    pub min_per_source_per_minute: Option<u64>,
    pub min_total_per_minute: Option<u64>,
    pub max_per_source_per_minute: Option<u64>,
    pub throttle_minutes: Option<i64>,
}

impl AnomalyFileConfig {
    fn into_settings(self) -> Result<palisade_web::DetectorConfig, CliError> {
        let bad = |why: &str| CliError::Config(format!("[anomaly] {why}"));
        let mut c = palisade_web::DetectorConfig::default();
        if let Some(z) = self.z {
            if !(1.0..=20.0).contains(&z) {
                return Err(bad("z must be between 1 and 20"));
            }
            c.z = z;
        }
        if let Some(alpha) = self.alpha {
            if !(0.01..=0.5).contains(&alpha) {
                return Err(bad("alpha must be between 0.01 and 0.5"));
            }
            c.alpha = alpha;
        }
        if let Some(n) = self.min_per_source_per_minute {
            c.min_per_source = n.max(1);
        }
        if let Some(n) = self.min_total_per_minute {
            c.min_total = n.max(1);
        }
        if let Some(n) = self.max_per_source_per_minute {
            c.max_per_source = n.max(c.min_per_source);
        }
        if let Some(m) = self.throttle_minutes {
            if !(1..=24 * 60).contains(&m) {
                return Err(bad("throttle_minutes must be between 1 and 1440"));
            }
            c.throttle_ms = m * 60_000;
        }
        Ok(c)
    }
}

/// `[help]`: the help centre.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct HelpFileConfig {
    /// The locale shown when a visitor names none (default `en`).
    pub default_locale: Option<String>,
}

/// `[assistant]`: when an article counts as an answer, and the privacy notice.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AssistantFileConfig {
    pub privacy_notice_url: Option<String>,
    pub min_score: Option<f32>,
    pub min_coverage: Option<f32>,
    pub max_passages: Option<usize>,
    pub misses_before_handover: Option<i64>,
    /// `[assistant.model]`: the optional language model.
    pub model: Option<ModelFileConfig>,
    /// Origins of the organisation's own pages that may embed the widget.
    #[serde(default)]
    pub widget_origins: Vec<String>,
    /// `[assistant.site_tokens]`: verified conversations in the widget.
    pub site_tokens: Option<SiteTokensFileConfig>,
}

/// `[assistant.site_tokens]`: the tokens the organisation's site issues for its
/// signed-in customers, and the keys they are checked with.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SiteTokensFileConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: Vec<SiteKeyFileConfig>,
}

/// One `[[assistant.site_tokens.keys]]` entry: the algorithm is pinned here, never
/// taken from a token.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SiteKeyFileConfig {
    pub kid: String,
    /// `HS256` or `EdDSA`.
    pub algorithm: String,
    /// HS256: a file holding the shared secret (at least 32 bytes).
    pub secret_file: Option<PathBuf>,
    /// EdDSA: the site's Ed25519 public key, base64 (32 bytes).
    pub public_key: Option<String>,
}

impl SiteTokensFileConfig {
    fn into_verifier(self) -> Result<palisade_assist::SiteTokenVerifier, CliError> {
        use base64::Engine as _;
        let bad = |why: String| CliError::Config(format!("[assistant.site_tokens] {why}"));
        let mut keys = Vec::new();
        for key in self.keys {
            keys.push(
                match (key.algorithm.as_str(), &key.secret_file, &key.public_key) {
                    ("HS256", Some(path), None) => palisade_assist::SiteKey::Hs256 {
                        kid: key.kid.clone(),
                        secret: SecretBytes::new(
                            std::fs::read_to_string(path)
                                .map_err(|e| CliError::Io(path.display().to_string(), e))?
                                .trim()
                                .as_bytes()
                                .to_vec(),
                        ),
                    },
                    ("EdDSA", None, Some(public)) => {
                        let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
                            .decode(public.trim())
                            .ok()
                            .and_then(|b| b.try_into().ok())
                            .ok_or_else(|| {
                                bad(format!("{}: public_key is not 32 bytes of base64", key.kid))
                            })?;
                        palisade_assist::SiteKey::EdDsa {
                            kid: key.kid.clone(),
                            key: palisade_assist::ed25519_key(&bytes)
                                .ok_or_else(|| bad(format!("{}: not an Ed25519 public key", key.kid)))?,
                        }
                    }
                    _ => {
                        return Err(bad(format!(
                            "{}: use algorithm HS256 with secret_file, or EdDSA with public_key",
                            key.kid
                        )));
                    }
                },
            );
        }
        palisade_assist::SiteTokenVerifier::new(keys, &self.issuer, &self.audience)
            .map_err(|e| bad(e.to_string()))
    }
}

/// `[assistant.model]`: an OpenAI-compatible chat-completions endpoint. Off unless
/// `enabled = true`; one Palisade deployment is one organisation, so this is the
/// organisation's switch.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ModelFileConfig {
    #[serde(default)]
    pub enabled: bool,
    pub url: String,
    pub model: String,
    /// A file holding the API key (never the key itself in this file).
    pub api_key_file: Option<PathBuf>,
    pub max_answer_tokens: Option<u32>,
    pub conversation_budget: Option<i64>,
    pub daily_budget: Option<i64>,
    #[serde(default)]
    pub allowed_link_domains: Vec<String>,
    pub timeout_seconds: Option<u64>,
    pub ca_file: Option<PathBuf>,
}

impl ModelFileConfig {
    fn into_settings(self) -> Result<Option<palisade_assist::assistant::ModelSettings>, CliError> {
        if !self.enabled {
            return Ok(None);
        }
        let bad = |why: String| CliError::Config(format!("[assistant.model] {why}"));
        let api_key = match &self.api_key_file {
            Some(path) => Some(SecretString::new(
                std::fs::read_to_string(path)
                    .map_err(|e| CliError::Io(path.display().to_string(), e))?
                    .trim()
                    .to_owned(),
            )),
            None => None,
        };
        let positive = |name: &str, v: Option<i64>, default: i64| match v {
            Some(v) if v < 1 => Err(bad(format!("{name} must be at least 1"))),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        for domain in &self.allowed_link_domains {
            let valid = domain.contains('.')
                && !domain.starts_with(['.', '-'])
                && !domain.ends_with(['.', '-'])
                && domain
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
            if !valid {
                return Err(bad(format!(
                    "allowed_link_domains: {domain:?} is not a lower-case host name like status.example.com"
                )));
            }
        }
        let settings = palisade_assist::assistant::ModelSettings {
            url: self.url,
            api_key,
            model: self.model,
            max_answer_tokens: self.max_answer_tokens.unwrap_or(400).clamp(16, 4000),
            conversation_budget: positive("conversation_budget", self.conversation_budget, 20_000)?,
            daily_budget: positive("daily_budget", self.daily_budget, 2_000_000)?,
            allowed_link_domains: self.allowed_link_domains,
            timeout: std::time::Duration::from_secs(self.timeout_seconds.unwrap_or(20).clamp(1, 120)),
            ca_file: self.ca_file,
        };
        // Checks the URL now rather than at the first question.
        palisade_assist::assistant::OpenAiCompatible::new(&settings).map_err(|e| bad(e.to_string()))?;
        Ok(Some(settings))
    }
}

/// `[limits]`: how much of each public surface one source may use (docs/ASSISTANT.md).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsFileConfig {
    pub help_searches_per_minute: Option<i64>,
    pub article_misses_per_10_minutes: Option<i64>,
    pub conversations_per_10_minutes: Option<i64>,
    pub assistant_messages_per_minute: Option<i64>,
    pub messages_per_conversation_per_minute: Option<i64>,
    pub conversation_probes_per_10_minutes: Option<i64>,
    pub manipulation_attempts_per_conversation: Option<i64>,
    pub site_token_failures_per_10_minutes: Option<i64>,
    pub ticket_searches_per_minute: Option<i64>,
}

impl LimitsFileConfig {
    fn into_settings(self) -> Result<palisade_web::PublicLimits, CliError> {
        let mut limits = palisade_web::PublicLimits::default();
        for (value, limit) in [
            (self.help_searches_per_minute, &mut limits.help_search_per_ip),
            (
                self.article_misses_per_10_minutes,
                &mut limits.article_misses_per_ip,
            ),
            (
                self.conversations_per_10_minutes,
                &mut limits.conversations_per_ip,
            ),
            (
                self.assistant_messages_per_minute,
                &mut limits.assistant_messages_per_ip,
            ),
            (
                self.messages_per_conversation_per_minute,
                &mut limits.messages_per_conversation,
            ),
            (
                self.conversation_probes_per_10_minutes,
                &mut limits.conversation_probes_per_ip,
            ),
            (
                self.manipulation_attempts_per_conversation,
                &mut limits.manipulation_per_conversation,
            ),
            (self.ticket_searches_per_minute, &mut limits.ticket_searches),
            (
                self.site_token_failures_per_10_minutes,
                &mut limits.site_token_failures_per_ip,
            ),
        ] {
            if let Some(max) = value {
                if !(1..=1_000_000).contains(&max) {
                    return Err(CliError::Config(format!(
                        "[limits] {}: {max} is not between 1 and 1000000",
                        limit.name
                    )));
                }
                limit.max = max;
            }
        }
        Ok(limits)
    }
}

impl AssistantFileConfig {
    fn thresholds(&self) -> Result<palisade_assist::assistant::Thresholds, CliError> {
        let mut t = palisade_assist::assistant::Thresholds::default();
        if let Some(v) = self.min_score {
            t.min_score = v;
        }
        if let Some(v) = self.min_coverage {
            if !(0.0..=1.0).contains(&v) {
                return Err(CliError::Config(
                    "[assistant] min_coverage must be between 0 and 1".into(),
                ));
            }
            t.min_coverage = v;
        }
        if let Some(v) = self.max_passages {
            t.max_passages = v.clamp(1, 10);
        }
        if let Some(v) = self.misses_before_handover {
            t.misses_before_handover = v.max(1);
        }
        Ok(t)
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
    fn into_settings(self) -> Result<palisade_web::TrustedProxies, CliError> {
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
}

impl MailFileConfig {
    fn into_settings(self, public_origin: &str) -> Result<RelaySettings, CliError> {
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
    fn into_settings(self) -> Result<OidcSettings, CliError> {
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
    fn into_limits(self) -> Result<SessionLimits, CliError> {
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
    pub anomaly: palisade_web::DetectorConfig,
    /// `None`: answers from articles only (the default).
    pub model: Option<palisade_assist::assistant::ModelSettings>,
    pub widget_origins: Vec<String>,
    /// `None`: the widget is anonymous only.
    pub site_tokens: Option<std::sync::Arc<palisade_assist::SiteTokenVerifier>>,
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
        let settings = Self {
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
            public_limits: file.limits.unwrap_or_default().into_settings()?,
            anomaly: file.anomaly.unwrap_or_default().into_settings()?,
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
mod tests {
    use super::*;

    fn global() -> GlobalArgs {
        GlobalArgs {
            config: None,
            data_dir: None,
            database_url: None,
            master_key_file: None,
            log_json: false,
        }
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::resolve(&global(), None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(s.public_origin, "https://localhost:8443");
        assert!(s.database_url.starts_with("sqlite://palisade-data/palisade.db"));
        assert_eq!(s.master_key_file, PathBuf::from("palisade-data/master.key"));
    }

    #[test]
    fn insecure_or_half_settings_are_refused() {
        let serve = ServeArgs {
            listen: None,
            public_origin: Some("http://help.example.com".into()),
            tls_cert: None,
            tls_key: None,
        };
        assert!(Settings::resolve(&global(), Some(&serve)).is_err());
        let serve = ServeArgs {
            listen: None,
            public_origin: None,
            tls_cert: Some("c.pem".into()),
            tls_key: None,
        };
        assert!(Settings::resolve(&global(), Some(&serve)).is_err());
    }

    #[test]
    fn unknown_toml_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"").is_err());
        assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"").is_ok());
    }

    #[test]
    fn help_assistant_and_limits_sections() {
        let s = from_toml(
            "[help]\ndefault_locale = \"de\"\n[assistant]\nmin_coverage = 0.6\nprivacy_notice_url = \"https://example.com/privacy\"\n[limits]\nhelp_searches_per_minute = 30\n",
        )
        .unwrap();
        assert_eq!(s.default_locale, "de");
        assert!((s.assistant.min_coverage - 0.6).abs() < f32::EPSILON);
        assert_eq!(s.privacy_notice_url, "https://example.com/privacy");
        assert_eq!(s.public_limits.help_search_per_ip.max, 30);
        assert_eq!(
            s.public_limits.conversations_per_ip,
            palisade_web::PublicLimits::default().conversations_per_ip
        );
        for bad in [
            "[help]\ndefault_locale = \"../x\"\n",
            "[assistant]\nmin_coverage = 2.0\n",
            "[limits]\nhelp_searches_per_minute = 0\n",
            "[limits]\nsearches = 5\n",
        ] {
            assert!(from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_widget_and_site_token_sections() {
        let s = from_toml("[assistant.model]\nurl = \"https://llm.example/v1\"\nmodel = \"m\"\n").unwrap();
        assert!(s.model.is_none(), "a configured model stays off until enabled");
        let s = from_toml(
            "[assistant]\nwidget_origins = [\"https://www.example.com\", \"http://127.0.0.1:8080\"]\n\
             [assistant.model]\nenabled = true\nurl = \"https://llm.example/v1\"\nmodel = \"m\"\ndaily_budget = 5000\n\
             [assistant.site_tokens]\nissuer = \"https://www.example.com\"\naudience = \"palisade\"\n\
             [[assistant.site_tokens.keys]]\nkid = \"ed-1\"\nalgorithm = \"EdDSA\"\n\
             public_key = \"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"\n",
        )
        .unwrap();
        let model = s.model.unwrap();
        assert_eq!(model.daily_budget, 5000);
        assert_eq!(model.conversation_budget, 20_000);
        assert_eq!(s.widget_origins.len(), 2);
        assert!(s.site_tokens.is_some());
        for bad in [
            // Plain http to a model anywhere but loopback.
            "[assistant.model]\nenabled = true\nurl = \"http://llm.example\"\nmodel = \"m\"\n",
            "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\ndaily_budget = 0\n",
            "[assistant]\nwidget_origins = [\"http://www.example.com\"]\n",
            "[assistant]\nwidget_origins = [\"https://www.example.com/page\"]\n",
            "[assistant]\nwidget_origins = [\"*\"]\n",
            "[assistant]\nwidget_origins = [\"https://WWW.example.com\"]\n",
            "[assistant]\nwidget_origins = [\"https://www.example.com:443\"]\n",
            "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\nallowed_link_domains = [\"com\"]\n",
            "[assistant.model]\nenabled = true\nurl = \"https://llm.example\"\nmodel = \"m\"\nallowed_link_domains = [\"https://x.example\"]\n",
            // The algorithm is pinned by configuration, with the matching key material.
            "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\n[[assistant.site_tokens.keys]]\nkid = \"k\"\nalgorithm = \"none\"\n",
            "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\n[[assistant.site_tokens.keys]]\nkid = \"k\"\nalgorithm = \"EdDSA\"\npublic_key = \"AAAA\"\n",
            "[assistant.site_tokens]\nissuer = \"i\"\naudience = \"a\"\nkeys = []\n",
        ] {
            assert!(from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_need_a_header_and_real_networks() {
        let ok = from_toml("[proxy]\ntrusted = [\"10.0.0.0/8\", \"192.0.2.1\"]\nheader = \"forwarded\"\n")
            .unwrap();
        assert_eq!(ok.trusted_proxies.networks.len(), 2);
        assert!(
            from_toml("").unwrap().trusted_proxies.networks.is_empty(),
            "nobody by default"
        );
        for bad in [
            "[proxy]\ntrusted = [\"10.0.0.0/8\"]\nheader = \"x-real-ip\"\n",
            "[proxy]\ntrusted = [\"proxy.example\"]\nheader = \"forwarded\"\n",
            "[proxy]\ntrusted = []\nheader = \"forwarded\"\n",
        ] {
            assert!(matches!(from_toml(bad), Err(CliError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn redaction_patterns_are_checked_at_start() {
        let ok = from_toml("[[redaction]]\nname = \"member number\"\nregex = 'M-\\d{8}'\n").unwrap();
        assert_eq!(
            ok.redactor.redact("member M-12345678").text,
            "member [removed: member number]"
        );
        for bad in ["regex = '('", "regex = 'x*'"] {
            let text = format!("[[redaction]]\nname = \"bad\"\n{bad}\n");
            assert!(matches!(from_toml(&text), Err(CliError::Config(_))), "{bad}");
        }
    }

    fn from_toml(text: &str) -> Result<Settings, CliError> {
        let dir = std::env::temp_dir().join(format!("palisade-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{:x}.toml",
            text.len() * 7919 + text.bytes().map(usize::from).sum::<usize>()
        ));
        std::fs::write(&path, text).unwrap();
        let mut g = global();
        g.config = Some(path.clone());
        let result = Settings::resolve(&g, None);
        let _ = std::fs::remove_file(path);
        result
    }

    #[test]
    fn oidc_providers_and_session_limits_come_from_the_file() {
        let s = from_toml(
            r#"
[api_tokens]
requests_per_minute = 120

[mail]
relay_host = "smtp.example.com"
from_address = "support@example.com"

[sessions]
staff_idle_minutes = 15
customer_max_sessions = 3
on_limit = "refuse_new"

[[oidc]]
name = "corp"
display_name = "Corporate login"
issuer = "https://login.example.com"
client_id = "palisade"
client_secret = "s3cret"
create_accounts = true
new_account_role = "agent"
allowed_domains = ["example.com"]
"#,
        )
        .unwrap();
        assert_eq!(s.sessions.staff_idle_secs, 15 * 60);
        assert_eq!(s.token_requests_per_minute, 120);
        let mail = s.mail.as_ref().unwrap();
        assert_eq!(
            (mail.port, mail.tls, mail.helo_name.as_str()),
            (587, RelayTls::StartTls, "localhost")
        );
        assert_eq!(s.sessions.customer_max_sessions, 3);
        assert_eq!(s.sessions.on_limit, OnSessionLimit::RefuseNew);
        assert_eq!(s.oidc.len(), 1);
        assert_eq!(s.oidc[0].new_account_role, Role::Agent);
        assert!(
            !s.oidc[0].trust_provider_mfa,
            "provider MFA is never trusted by default"
        );
        assert!(
            !format!("{:?}", s.oidc[0]).contains("s3cret"),
            "the client secret never prints"
        );
    }

    #[test]
    fn unsafe_oidc_settings_are_refused() {
        let base = "[[oidc]]\nname = \"corp\"\nclient_id = \"p\"\nclient_secret = \"s\"\n";
        // Plain HTTP to a remote issuer, a missing secret, staff creation for any domain.
        assert!(from_toml(&format!("{base}issuer = \"http://login.example.com\"")).is_err());
        assert!(
            from_toml("[[oidc]]\nname = \"corp\"\nclient_id = \"p\"\nissuer = \"https://a.example\"")
                .is_err()
        );
        assert!(
            from_toml(&format!(
                "{base}issuer = \"https://a.example\"\ncreate_accounts = true\nnew_account_role = \"admin\""
            ))
            .is_err()
        );
        assert!(from_toml(&format!("{base}issuer = \"https://a.example\"\nname2 = 1")).is_err());
        assert!(from_toml(&format!("{base}issuer = \"https://a.example\"")).is_ok());
        // Mail in clear to a relay elsewhere is refused; to a local MTA it is allowed.
        let mail = |host: &str| {
            format!("[mail]\nrelay_host = \"{host}\"\nrelay_tls = \"none\"\nfrom_address = \"a@b.example\"")
        };
        assert!(from_toml(&mail("smtp.example.com")).is_err());
        assert!(from_toml(&mail("127.0.0.1")).is_ok());
    }
}
