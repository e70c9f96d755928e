//! The inbound mail pieces `serve` (the SMTP listener, ticket mail) and `ingest` (the
//! MTA pipe) build the same way: capability threading with bounce addresses, the team
//! of each support mailbox, and one `Reception` with the organisation's own domains.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::{EmailAddress, TeamId};
use palisade_policy::PolicyEngine;
use palisade_store::Store;

use crate::config::{Settings, SmtpSettings};
use crate::error::CliError;

pub struct MailboxSetup {
    pub threading: Arc<palisade_mail::Threading>,
    pub teams_by_mailbox: HashMap<EmailAddress, TeamId>,
}

/// Resolves `[[mailbox]]` teams (they must exist) and the threading rules.
pub async fn mailboxes(settings: &Settings, store: &Store) -> Result<MailboxSetup, CliError> {
    let Some(smtp) = &settings.smtp else {
        return Err(CliError::Config(
            "receiving mail needs [smtp] and [[mailbox]]".into(),
        ));
    };
    let teams = store.list_teams().await?;
    let mut teams_by_mailbox = HashMap::new();
    for (address, team) in &smtp.mailboxes {
        let found = teams.iter().find(|t| t.name == *team).ok_or_else(|| {
            CliError::Config(format!(
                "[[mailbox]] {}: no team named {team:?}",
                address.as_str()
            ))
        })?;
        teams_by_mailbox.insert(address.clone(), found.id.clone());
    }
    let mut threading = palisade_mail::Threading::new(
        store.clone(),
        settings.reply_keys.clone(),
        teams_by_mailbox.keys().cloned().collect(),
    );
    if let Some(relay) = &settings.mail {
        threading = threading.with_bounce_sender(relay.from.clone());
    }
    Ok(MailboxSetup {
        threading: Arc::new(threading),
        teams_by_mailbox,
    })
}

/// Agents' public replies go out from the team's first configured mailbox.
pub fn reply_notifier(
    setup: &MailboxSetup,
    store: &Store,
    public_origin: &str,
    scanning: bool,
) -> Arc<palisade_mail::ReplyNotifier> {
    let mut by_team = HashMap::new();
    let mut mailboxes: Vec<_> = setup.teams_by_mailbox.iter().collect();
    mailboxes.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    for (mailbox, team) in mailboxes {
        by_team.entry(team.clone()).or_insert_with(|| mailbox.clone());
    }
    Arc::new(
        palisade_mail::ReplyNotifier::new(store.clone(), setup.threading.clone(), by_team, public_origin)
            .with_scanning(scanning),
    )
}

/// Verification against the configured nameservers, placement into tickets or
/// quarantine, bounces marking addresses.
pub fn reception(
    settings: &Settings,
    smtp: &SmtpSettings,
    setup: &MailboxSetup,
    store: &Store,
) -> Result<Arc<palisade_mail::Reception>, CliError> {
    let verifier =
        palisade_mail::SenderVerifier::new(&smtp.nameservers, &smtp.hostname, Duration::from_secs(5))
            .map_err(|e| CliError::Config(e.to_string()))?
            .with_trusted_forwarders(&smtp.trusted_arc_forwarders);
    let mut inbound = palisade_mail::Inbound::new(
        store.clone(),
        Arc::new(PolicyEngine::load()?),
        setup.teams_by_mailbox.clone(),
    )
    .with_own_domains(&smtp.own_domains)
    .with_file_limits(smtp.file_limits);
    if let Some(scanner) = &settings.scanner {
        inbound = inbound.with_scanner(scanner.clone());
    }
    if smtp.redact {
        let redactor = settings.redactor.clone();
        inbound = inbound.with_redaction(Arc::new(move |text: &str| redactor.redact(text).text));
    }
    let inbound = Arc::new(inbound);
    let for_mail = inbound.clone();
    let deliver: palisade_mail::Deliver = Arc::new(move |accepted| {
        let inbound = for_mail.clone();
        Box::pin(async move { inbound.deliver(accepted).await.map(|_| ()) })
    });
    let mut reception = palisade_mail::Reception::new(Arc::new(verifier), deliver)
        .with_own_domains(smtp.own_domains.clone())
        .with_file_limits(smtp.file_limits);
    if settings.mail.is_some() {
        reception = reception.with_bounces(Arc::new(move |bounce_id| {
            let inbound = inbound.clone();
            Box::pin(async move { inbound.record_bounce(bounce_id).await })
        }));
    }
    Ok(Arc::new(reception))
}
