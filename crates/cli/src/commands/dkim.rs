//! `palisade dkim generate`: a new DKIM key pair for outbound mail. The private key is
//! written (PEM, mode 0600, never over an existing file); the DNS record to publish is
//! printed.

use std::path::Path;

use crate::error::CliError;

pub fn generate(domain: &str, selector: &str, out: &Path) -> Result<(), CliError> {
    let valid_label =
        |s: &str| !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid_label(selector) {
        return Err(CliError::Invalid("the selector must be one DNS label".into()));
    }
    if !domain.split('.').all(valid_label) || !domain.contains('.') {
        return Err(CliError::Invalid("the domain must be a DNS name".into()));
    }
    let (key, record) = palisade_mail::generate_dkim_key().map_err(|e| CliError::Invalid(e.to_string()))?;
    let pem = pem_private_key(key.expose());
    palisade_crypto::write_secret_file(out, pem.as_bytes())
        .map_err(|e| CliError::Invalid(format!("{}: {e}", out.display())))?;
    println!(
        "Private key written to {} (keep it secret; mode 0600).",
        out.display()
    );
    println!();
    println!("Publish this TXT record:");
    println!("  {selector}._domainkey.{domain}");
    println!("  {record}");
    println!();
    println!(
        "Then configure [mail] dkim_key_file = \"{}\" and dkim_selector = \"{selector}\".",
        out.display()
    );
    Ok(())
}

fn pem_private_key(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}
