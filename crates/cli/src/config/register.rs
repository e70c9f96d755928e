//! The register of outside parties, read from the resolved configuration: whatever
//! `serve` would send personal data to beyond this desk's own servers and database.

use palisade_service::{OutsideParty, PartyKind};

use super::Settings;

impl Settings {
    /// Every outside party this configuration sends personal data to, in the order
    /// mail, sign-in, assistant, scanning, audit export.
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
            parties.push(OutsideParty::new(
                PartyKind::IdentityProvider,
                provider.display_name.clone(),
                provider.issuer.clone(),
            ));
        }
        if let Some(model) = &self.model {
            parties.push(OutsideParty::new(
                PartyKind::LanguageModel,
                model.model.clone(),
                model.url.clone(),
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
        parties
    }
}
