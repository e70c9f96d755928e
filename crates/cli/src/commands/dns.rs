//! `palisade dns check`: are the organisation's SPF, DKIM and DMARC records what they
//! must be for nobody else to send as the support domain and for Palisade's own mail
//! to pass? Prints one line per finding, worst first; exits 1 when any check fails.

use std::time::Duration;

use palisade_core::SecretBytes;
use palisade_mail::{Level, OwnDomainCheck, SenderVerifier};

use crate::config::{DnsCheckArgs, Settings};
use crate::error::CliError;

pub async fn check(settings: &Settings, args: &DnsCheckArgs) -> Result<(), CliError> {
    let relay = settings.mail.as_ref();
    let domain = match (&args.domain, relay) {
        (Some(d), _) => d.clone(),
        (None, Some(mail)) => mail.from.domain().to_owned(),
        (None, None) => return Err(CliError::Config("give --domain (or configure [mail])".into())),
    };
    let nameservers = if args.nameserver.is_empty() {
        settings
            .smtp
            .as_ref()
            .map(|s| s.nameservers.clone())
            .unwrap_or_default()
    } else {
        args.nameserver.clone()
    };
    let configured_dkim = relay.and_then(|m| m.dkim.as_ref());
    let selector = args
        .selector
        .clone()
        .or_else(|| configured_dkim.map(|d| d.selector.clone()));
    let key = match &args.dkim_key {
        Some(path) => Some(read_key(path)?),
        None => configured_dkim.map(|d| d.key_pkcs8.clone()),
    };
    let dkim_public_key = key
        .as_ref()
        .map(palisade_mail::dkim_public_key)
        .transpose()
        .map_err(|e| CliError::Config(e.to_string()))?;
    let next_key = match (&args.next_selector, &args.next_dkim_key) {
        (Some(selector), Some(path)) => Some((selector.clone(), read_key(path)?)),
        _ => settings.dkim_rotation.next.clone(),
    };
    let dkim_next = next_key
        .map(|(selector, key)| palisade_mail::dkim_public_key(&key).map(|public| (selector, public)))
        .transpose()
        .map_err(|e| CliError::Config(e.to_string()))?;
    let dkim_retired = if args.retired_selector.is_empty() {
        settings.dkim_rotation.retired.clone()
    } else {
        args.retired_selector.clone()
    };
    let verifier = SenderVerifier::new(&nameservers, &domain, Duration::from_secs(5))
        .map_err(|e| CliError::Config(format!("{e} (give --nameserver or [smtp] nameservers)")))?;
    let findings = verifier
        .check_own_domain(&OwnDomainCheck {
            domain: domain.clone(),
            dkim_selector: selector,
            dkim_public_key,
            dkim_next,
            dkim_retired,
            relay_ips: args.relay_ip.clone(),
        })
        .await;
    println!("DNS records for {domain}:");
    for f in &findings {
        println!("  {:<4}  {:<5}  {}", f.level.as_str(), f.record, f.text);
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    if failed > 0 {
        return Err(CliError::Refused {
            exit: 1,
            reply: format!("{failed} check(s) failed"),
        });
    }
    Ok(())
}

fn read_key(path: &std::path::Path) -> Result<SecretBytes, CliError> {
    use rustls::pki_types::{PrivatePkcs8KeyDer, pem::PemObject as _};
    let key = PrivatePkcs8KeyDer::from_pem_file(path)
        .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
    Ok(SecretBytes::new(key.secret_pkcs8_der().to_vec()))
}
