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
            (_, Some(listen)) => {
                if !listen.ip().is_loopback() {
                    tracing::warn!(%listen, "[metrics] listens beyond loopback: keep it behind a firewall, it has no authentication");
                }
                Ok(Some(listen))
            }
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
