//! The TOML sections of self-service: the anomaly detector, the help centre, the
//! assistant, site tokens, the model and the public limits.

use super::*;

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
    pub(super) fn into_settings(self) -> Result<palisade_web::DetectorConfig, CliError> {
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
    pub(super) fn into_verifier(self) -> Result<palisade_assist::SiteTokenVerifier, CliError> {
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
    pub(super) fn into_settings(self) -> Result<Option<palisade_assist::assistant::ModelSettings>, CliError> {
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
    /// Not per source: the whole node's new HTTPS connections (`handshakes.rs`).
    pub tls_handshakes_per_second: Option<i64>,
}

impl LimitsFileConfig {
    pub(super) fn handshakes(&self) -> Result<Option<u32>, CliError> {
        self.tls_handshakes_per_second
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (10..=100_000).contains(n))
                    .ok_or_else(|| {
                        CliError::Config(format!(
                            "[limits] tls_handshakes_per_second: {n} is not between 10 and 100000"
                        ))
                    })
            })
            .transpose()
    }

    pub(super) fn into_settings(self) -> Result<palisade_web::PublicLimits, CliError> {
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
    pub(super) fn thresholds(&self) -> Result<palisade_assist::assistant::Thresholds, CliError> {
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
