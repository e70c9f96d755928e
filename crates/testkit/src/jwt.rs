//! Compact JWS tokens as an organisation's site would mint them (HS256 or EdDSA), and
//! deliberately broken ones, for the site-token tests.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Signed with HMAC-SHA256 under `secret`, whatever `header` says.
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let signed = signing_input(header, claims);
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(signed.as_bytes());
    format!("{signed}.{}", b64(&mac.finalize().into_bytes()))
}

/// Signed with Ed25519 under `key`, whatever `header` says.
pub fn eddsa(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let signed = signing_input(header, claims);
    format!("{signed}.{}", b64(&key.sign(signed.as_bytes()).to_bytes()))
}
