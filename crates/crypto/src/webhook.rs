//! Signatures for outgoing webhooks in the Standard Webhooks format: the receiver gets
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, the signature
//! being `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
//! subscription's secret (`whsec_` and the secret's base64). While a secret is rotated
//! both are in force and the header carries one signature per secret, space-separated,
//! so a receiver that knows either accepts the delivery.
//!
//! [`verify`] is what a receiver does; Palisade signs only, but the check lives here so
//! the desk's own tests and any operator tooling verify exactly as documented.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{CryptoError, random_bytes};

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;
/// The shortest secret accepted from an operator: 128 bits.
const MIN_SECRET_BYTES: usize = 16;
const MAX_SECRET_BYTES: usize = 64;

/// A subscription's signing secret. It never prints.
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// A new random secret (256 bits).
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(random_bytes::<SECRET_BYTES>()?.to_vec())))
    }

    /// Reads `whsec_<base64>`; a secret shorter than 128 bits or longer than 512 is
    /// refused.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(CryptoError::InvalidSecret)?;
        let bytes = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| CryptoError::InvalidSecret)?);
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(CryptoError::InvalidSecret);
        }
        Ok(Self(bytes))
    }

    /// The secret as the receiver configures it, for showing once.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(self.0.as_slice())))
    }

    /// The raw signature of one delivery (`v1,` and base64).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC takes a key of any length, so this cannot fail.
        let Ok(mut mac) = HmacSha256::new_from_slice(self.0.as_slice()) else {
            return [0; 32];
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The `webhook-signature` header: one signature per secret in force.
pub fn signature_header(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A receiver's check: the timestamp within `tolerance_secs` of `now_secs` (a replay
/// of an old delivery fails), and one `v1` signature in `header` made with `secret`
/// over exactly this id, timestamp and body (compared in constant time).
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> bool {
    if (now_secs - timestamp).abs() > tolerance_secs {
        return false;
    }
    let expected = secret.mac(id, timestamp, body);
    header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|sig| bool::from(sig.as_slice().ct_eq(&expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const AT: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_else(|_| panic!("parses"))
    }

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks specification.
        assert_eq!(
            secret().sign(ID, AT, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let header = signature_header(&[&secret()], ID, AT, BODY);
        assert!(verify(&secret(), ID, AT, BODY, &header, AT + 10, 300));
    }

    #[test]
    fn tampering_replay_and_other_secrets_fail() {
        let header = secret().sign(ID, AT, BODY);
        assert!(!verify(&secret(), ID, AT, br#"{"test": 1}"#, &header, AT, 300));
        assert!(!verify(&secret(), "msg_other", AT, BODY, &header, AT, 300));
        assert!(!verify(&secret(), ID, AT + 1, BODY, &header, AT, 300));
        assert!(
            !verify(&secret(), ID, AT, BODY, &header, AT + 301, 300),
            "too old"
        );
        let other = WebhookSecret::generate().unwrap_or_else(|_| panic!("random"));
        assert!(!verify(&other, ID, AT, BODY, &header, AT, 300));
        assert!(!verify(&secret(), ID, AT, BODY, "v2,abc v1,!!", AT, 300));
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let old = secret();
        let new = WebhookSecret::generate().unwrap_or_else(|_| panic!("random"));
        let header = signature_header(&[&new, &old], ID, AT, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&old, ID, AT, BODY, &header, AT, 300));
        assert!(verify(&new, ID, AT, BODY, &header, AT, 300));
    }

    #[test]
    fn secrets_read_back_and_never_print() {
        let made = WebhookSecret::generate().unwrap_or_else(|_| panic!("random"));
        let shown = made.expose();
        assert!(shown.starts_with("whsec_"));
        let again = WebhookSecret::parse(&shown).unwrap_or_else(|_| panic!("parses"));
        assert_eq!(again.sign(ID, AT, BODY), made.sign(ID, AT, BODY));
        assert_eq!(format!("{made:?}"), "WebhookSecret(..)");
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
        }
    }
}
