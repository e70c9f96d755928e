//! The register of outside parties, read from the resolved configuration: whatever
//! `serve` would send personal data to beyond this desk's own servers and database.

use palisade_service::{OutsideParty, PartyKind};
use palisade_store::database_host;

use super::Settings;

impl Settings {
    /// Every outside party this configuration sends personal data to, in the order
    /// mail, sign-in, assistant, scanning, audit export, resolvers, backup checks.
    pub fn outside_parties(&self) -> Vec<OutsideParty> {
        let mut parties = Vec::new();
        if let Some(relay) = &self.mail {
            let endpoint = format!("{}:{}", relay.host, relay.port);
            parties.push(OutsideParty::new(
                PartyKind::MailRelay,
                relay.host.clone(),
                endpoint,
            ));
        }
        for mailbox in &self.imap {
            let endpoint = format!("{}:{}", mailbox.host, mailbox.port);
            parties.push(OutsideParty::new(
                PartyKind::Mailbox,
                mailbox.mailbox.as_str(),
                endpoint,
            ));
        }
        for provider in &self.oidc {
            // The token and key endpoints may live on other origins than the issuer.
            let endpoint = std::iter::once(public_part(&provider.issuer))
                .chain(provider.endpoint_origins.iter().map(|o| public_part(o)))
                .collect::<Vec<_>>()
                .join(", ");
            parties.push(OutsideParty::new(
                PartyKind::IdentityProvider,
                provider.display_name.clone(),
                endpoint,
            ));
        }
        if let Some(model) = &self.model {
            parties.push(OutsideParty::new(
                PartyKind::LanguageModel,
                model.model.clone(),
                public_part(&model.url),
            ));
        }
        if let Some(scanner) = &self.scanner {
            let endpoint = scanner.endpoint().to_string();
            parties.push(OutsideParty::new(PartyKind::VirusScanner, "clamd", endpoint));
        }
        if let Some((address, server_name, _)) = self.siem.as_ref().and_then(|siem| siem.syslog.as_ref()) {
            parties.push(OutsideParty::new(
                PartyKind::Siem,
                server_name.clone(),
                address.clone(),
            ));
        }
        for resolver in self.smtp.iter().flat_map(|smtp| &smtp.nameservers) {
            if !resolver.ip().is_loopback() {
                parties.push(OutsideParty::new(
                    PartyKind::DnsResolver,
                    resolver.ip().to_string(),
                    resolver.to_string(),
                ));
            }
        }
        let scratch = self
            .backup
            .schedule
            .as_ref()
            .and_then(|s| s.scratch_url.as_deref());
        if let Some(scratch) = scratch.filter(|url| database_host(url) != database_host(&self.database_url)) {
            let host = database_host(scratch);
            parties.push(OutsideParty::new(
                PartyKind::BackupCheckDatabase,
                host.clone(),
                host,
            ));
        }
        parties
    }
}

/// A URL as the register shows it: scheme, host, port and path, never the user
/// information or query that may carry a credential.
fn public_part(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_never_reach_the_register() {
        assert_eq!(
            public_part("https://user:s3cret@llm.example:8443/v1/chat?key=s3cret#x"),
            "https://llm.example:8443/v1/chat"
        );
        assert_eq!(
            public_part("https://login.example.com"),
            "https://login.example.com"
        );
        assert_eq!(
            database_host("postgres://palisade:s3cret@db1:5432,db2:5432/palisade?sslmode=require"),
            "db1:5432,db2:5432",
            "database servers by host only"
        );
    }
}
