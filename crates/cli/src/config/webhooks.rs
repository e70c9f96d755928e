//! `[webhooks]`: where webhooks may go besides public https destinations, and how
//! their names are resolved. Nothing is allowed by default: an endpoint's address must
//! resolve to public addresses only, at every delivery.

use super::*;

/// `[webhooks]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFileConfig {
    /// Host names or address literals webhooks may reach although they are not public
    /// (an intranet CRM; a loopback receiver in tests, the only place plain http goes).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// DNS servers to resolve endpoints' names with (default: the system's resolver).
    #[serde(default)]
    pub nameservers: Vec<SocketAddr>,
    /// Extra CA certificates (PEM) to trust for receivers on the intranet.
    pub ca_file: Option<PathBuf>,
}

/// `[webhooks]`, resolved.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub allow_hosts: Vec<String>,
    pub nameservers: Vec<SocketAddr>,
    pub ca_file: Option<PathBuf>,
}

impl WebhooksFileConfig {
    pub fn into_settings(self) -> Result<WebhookSettings, CliError> {
        let mut allow_hosts = Vec::new();
        for host in self.allow_hosts {
            let bare = host
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase();
            if bare.is_empty()
                || (bare.contains(['/', ':', '@', ' ']) && bare.parse::<std::net::IpAddr>().is_err())
            {
                return Err(CliError::Config(format!(
                    "[webhooks] allow_hosts: {host:?} is not a host name or address"
                )));
            }
            allow_hosts.push(bare);
        }
        Ok(WebhookSettings {
            allow_hosts,
            nameservers: self.nameservers,
            ca_file: self.ca_file,
        })
    }
}

impl WebhookSettings {
    /// The client deliveries go through: the allowed hosts trusted by name, resolving
    /// with the configured nameservers.
    pub fn client(&self) -> Result<palisade_outbound::HttpClient, CliError> {
        let mut client = palisade_outbound::HttpClient::new(self.ca_file.as_deref())
            .map_err(|e| CliError::Config(format!("[webhooks] {e}")))?;
        for host in &self.allow_hosts {
            let literal = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            client = client.trust_host(&format!("https://{literal}"));
        }
        if !self.nameservers.is_empty() {
            client = client
                .resolving_with(&self.nameservers)
                .map_err(|e| CliError::Config(format!("[webhooks] {e}")))?;
        }
        Ok(client)
    }

    pub fn hosts(&self) -> palisade_service::WebhookHosts {
        palisade_service::WebhookHosts(self.allow_hosts.clone())
    }
}
