//! `[metrics]`: the Prometheus listener, off unless asked for, on loopback unless told
//! otherwise (the numbers describe the desk's traffic; they are for the operator).
//! `[advisories]`: the RustSec advisory database `serve` checks its dependencies
//! against, daily.

use super::*;

pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// `[metrics]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsFileConfig {
    /// Turns the listener on at the default address.
    pub enabled: Option<bool>,
    /// Where `/metrics` is served over plain HTTP (turns the listener on).
    pub listen: Option<SocketAddr>,
}

impl MetricsFileConfig {
    /// The address to serve metrics on, if they are on.
    pub fn into_listen(self) -> Result<Option<SocketAddr>, CliError> {
        match (self.enabled, self.listen) {
            (Some(false), Some(_)) => Err(CliError::Config(
                "[metrics] enabled = false with a listen address: say which you mean".into(),
            )),
            (_, Some(listen)) => Ok(Some(listen)),
            (Some(true), None) => DEFAULT_METRICS_LISTEN
                .parse()
                .map(Some)
                .map_err(|_| CliError::Config("the default metrics address".into())),
            _ => Ok(None),
        }
    }
}

/// `[advisories]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AdvisoriesFileConfig {
    /// A RustSec advisory database directory (a clone of rustsec/advisory-db, kept
    /// current by the operator); `serve` checks against it at start and daily.
    pub database: Option<PathBuf>,
}

/// `[siem]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct SiemFileConfig {
    /// Action prefixes to export (`auth.`, `security.`, `access.`); default every entry.
    #[serde(default)]
    pub actions: Vec<String>,
    /// A syslog collector's TLS input, `host:port` (RFC 5425; 6514 is its port).
    pub syslog: Option<String>,
    /// The name the collector's certificate carries (default: the host of `syslog`).
    pub syslog_server_name: Option<String>,
    /// A CA file the collector's certificate may chain to, besides the system's roots.
    pub syslog_ca_file: Option<PathBuf>,
    /// Append entries as JSON lines to this file (owner-only).
    pub jsonl: Option<PathBuf>,
}

/// `[siem]`, checked: the destinations to build when `serve` starts.
#[derive(Clone, Debug, Default)]
pub struct SiemSettings {
    pub actions: Vec<String>,
    pub syslog: Option<(String, String, Option<PathBuf>)>,
    pub jsonl: Option<PathBuf>,
}

impl SiemFileConfig {
    pub fn into_settings(self) -> Result<Option<SiemSettings>, CliError> {
        if self.syslog.is_none() && self.jsonl.is_none() {
            if !self.actions.is_empty() || self.syslog_server_name.is_some() || self.syslog_ca_file.is_some()
            {
                return Err(CliError::Config(
                    "[siem] needs a destination: syslog = \"host:port\" or jsonl = \"/path\"".into(),
                ));
            }
            return Ok(None);
        }
        if let Some(bad) = self
            .actions
            .iter()
            .find(|a| a.is_empty() || !a.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'))
        {
            return Err(CliError::Config(format!(
                "[siem] actions: {bad:?} is not an action prefix such as \"auth.\""
            )));
        }
        let syslog = match self.syslog {
            Some(address) => {
                let host = address
                    .rsplit_once(':')
                    .filter(|(_, port)| port.parse::<u16>().is_ok())
                    .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']').to_owned())
                    .ok_or_else(|| {
                        CliError::Config(format!("[siem] syslog = {address:?} is not host:port"))
                    })?;
                Some((
                    address,
                    self.syslog_server_name.unwrap_or(host),
                    self.syslog_ca_file,
                ))
            }
            None => None,
        };
        Ok(Some(SiemSettings {
            actions: self.actions,
            syslog,
            jsonl: self.jsonl,
        }))
    }
}
