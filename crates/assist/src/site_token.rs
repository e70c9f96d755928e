//! Tokens the organisation's own site issues for its signed-in user, so the assistant
//! widget can act for a verified customer. Compact JWS only, verified strictly: the
//! key is chosen by `kid` and its algorithm is pinned by configuration (HS256 or
//! EdDSA), so the token's `alg` can only confirm it, never choose it (`none`, an HS256
//! token for an EdDSA key, anything else: refused); `iss` and `aud` must match; `exp`
//! must be in the future and at most 15 minutes ahead; `sub` and `jti` are required,
//! and `crit` headers are refused. Single use of `jti` is the caller's check against
//! the database (`Store::first_use_of_token_id`), until the token expires.

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use palisade_core::SecretBytes;
use serde_json::Value;
use sha2::Sha256;

use crate::AssistError;

/// How far ahead `exp` may be.
pub const MAX_SITE_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Clock difference tolerated between the site and Palisade.
pub const LEEWAY_SECS: i64 = 30;
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// An Ed25519 public key from its 32 bytes, for [`SiteKey::EdDsa`]; `None` if the
/// bytes are not a valid point.
pub fn ed25519_key(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(bytes).ok()
}

/// One of the site's keys, with the algorithm it is pinned to.
pub enum SiteKey {
    Hs256 { kid: String, secret: SecretBytes },
    EdDsa { kid: String, key: VerifyingKey },
}

impl SiteKey {
    fn kid(&self) -> &str {
        match self {
            Self::Hs256 { kid, .. } | Self::EdDsa { kid, .. } => kid,
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Hs256 { .. } => "HS256",
            Self::EdDsa { .. } => "EdDSA",
        }
    }
}

pub struct SiteTokenVerifier {
    keys: Vec<SiteKey>,
    issuer: String,
    audience: String,
}

/// Shorter HS256 secrets can be guessed offline from any token the site issued.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// What a genuine token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteClaims {
    /// The site's identifier for its user.
    pub subject: String,
    /// Only with `email_verified: true` in the token: the site vouches that its user
    /// controls the address, not merely typed it at sign-up.
    pub email: Option<String>,
    pub token_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused (for logs and the audit trail; callers answer all alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteTokenRejection {
    Malformed,
    UnknownKey,
    AlgorithmMismatch,
    CriticalHeader,
    BadSignature,
    Expired,
    NotYetValid,
    LifetimeTooLong,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
}

impl std::fmt::Debug for SiteTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteTokenVerifier")
            .field("kids", &self.keys.iter().map(SiteKey::kid).collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl SiteTokenVerifier {
    /// The issuer tokens must name (also the namespace of their `jti`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Refuses configurations that would make tokens forgeable or ambiguous: no keys,
    /// an HS256 secret under 32 bytes, two keys with one `kid`, an empty issuer or
    /// audience.
    pub fn new(keys: Vec<SiteKey>, issuer: &str, audience: &str) -> Result<Self, AssistError> {
        let bad = |reason: &str| AssistError::BadSiteKey(reason.to_owned());
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        if issuer.is_empty() || audience.is_empty() {
            return Err(bad("issuer and audience are required"));
        }
        for (i, key) in keys.iter().enumerate() {
            if key.kid().is_empty() || keys[..i].iter().any(|k| k.kid() == key.kid()) {
                return Err(bad(&format!("kid {:?} is empty or used twice", key.kid())));
            }
            if let SiteKey::Hs256 { secret, .. } = key
                && secret.expose().len() < MIN_HS256_SECRET_BYTES
            {
                return Err(bad(&format!(
                    "the HS256 secret of {:?} is shorter than {MIN_HS256_SECRET_BYTES} bytes",
                    key.kid()
                )));
            }
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Verifies `token` at Unix time `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<SiteClaims, SiteTokenRejection> {
        use SiteTokenRejection as R;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(R::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(R::Malformed);
        };
        let header = decode_json(header_b64)?;
        let kid = header["kid"].as_str().ok_or(R::UnknownKey)?;
        let key = self.keys.iter().find(|k| k.kid() == kid).ok_or(R::UnknownKey)?;
        if header["alg"].as_str() != Some(key.alg()) {
            return Err(R::AlgorithmMismatch);
        }
        if header.get("crit").is_some() {
            return Err(R::CriticalHeader);
        }
        let signature = base64url(signature_b64)?;
        let signed = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        match key {
            SiteKey::Hs256 { secret, .. } => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose()) else {
                    return Err(R::BadSignature);
                };
                mac.update(signed);
                // Constant time.
                mac.verify_slice(&signature).map_err(|_| R::BadSignature)?;
            }
            SiteKey::EdDsa { key, .. } => {
                let signature = Signature::from_slice(&signature).map_err(|_| R::BadSignature)?;
                key.verify(signed, &signature).map_err(|_| R::BadSignature)?;
            }
        }
        let claims = decode_json(payload_b64)?;
        if claims["iss"].as_str() != Some(self.issuer.as_str()) {
            return Err(R::WrongIssuer);
        }
        let audience_ok = match &claims["aud"] {
            Value::String(a) => *a == self.audience,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(R::WrongAudience);
        }
        let expires_at = claims["exp"].as_i64().ok_or(R::MissingClaim)?;
        if expires_at <= now - LEEWAY_SECS {
            return Err(R::Expired);
        }
        let max_ahead = i64::try_from(MAX_SITE_TOKEN_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        if expires_at > now + max_ahead + LEEWAY_SECS {
            return Err(R::LifetimeTooLong);
        }
        if let Some(not_before) = claims.get("nbf") {
            let not_before = not_before.as_i64().ok_or(R::Malformed)?;
            if not_before > now + LEEWAY_SECS {
                return Err(R::NotYetValid);
            }
        }
        let subject = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or(R::MissingClaim)?;
        let token_id = claims["jti"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or(R::MissingClaim)?;
        Ok(SiteClaims {
            subject: subject.to_owned(),
            email: claims["email"]
                .as_str()
                .filter(|_| claims["email_verified"].as_bool() == Some(true))
                .map(str::to_owned),
            token_id: token_id.to_owned(),
            expires_at,
        })
    }
}

fn base64url(part: &str) -> Result<Vec<u8>, SiteTokenRejection> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| SiteTokenRejection::Malformed)
}

fn decode_json(part: &str) -> Result<Value, SiteTokenRejection> {
    let value: Value =
        serde_json::from_slice(&base64url(part)?).map_err(|_| SiteTokenRejection::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(SiteTokenRejection::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use palisade_testkit::jwt::{b64, eddsa, hs256};
    use serde_json::json;

    const NOW: i64 = 1_790_000_000;
    const SECRET: &[u8] = b"a shared secret of at least thirty-two bytes!";

    fn claims() -> Value {
        json!({"iss": "https://shop.example", "aud": "palisade", "sub": "user-42", "jti": "t-1",
               "exp": NOW + 600, "email": "ann@customer.test", "email_verified": true})
    }

    fn setup() -> (SiteTokenVerifier, SigningKey) {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let verifier = SiteTokenVerifier::new(
            vec![
                SiteKey::Hs256 {
                    kid: "hmac-1".into(),
                    secret: SecretBytes::new(SECRET.to_vec()),
                },
                SiteKey::EdDsa {
                    kid: "ed-1".into(),
                    key: signing.verifying_key(),
                },
            ],
            "https://shop.example",
            "palisade",
        )
        .unwrap();
        (verifier, signing)
    }

    #[test]
    fn weak_or_ambiguous_key_configurations_are_refused() {
        let hs = |kid: &str, secret: &[u8]| SiteKey::Hs256 {
            kid: kid.into(),
            secret: SecretBytes::new(secret.to_vec()),
        };
        assert!(SiteTokenVerifier::new(vec![], "iss", "aud").is_err());
        assert!(SiteTokenVerifier::new(vec![hs("k", b"short secret")], "iss", "aud").is_err());
        assert!(SiteTokenVerifier::new(vec![hs("k", SECRET), hs("k", SECRET)], "iss", "aud").is_err());
        assert!(SiteTokenVerifier::new(vec![hs("", SECRET)], "iss", "aud").is_err());
        assert!(SiteTokenVerifier::new(vec![hs("k", SECRET)], "", "aud").is_err());
        assert!(SiteTokenVerifier::new(vec![hs("k", SECRET)], "iss", "aud").is_ok());
    }

    #[test]
    fn genuine_tokens_of_either_pinned_algorithm_verify() {
        let (v, signing) = setup();
        let t = hs256(
            &json!({"alg": "HS256", "kid": "hmac-1", "typ": "JWT"}),
            &claims(),
            SECRET,
        );
        let c = v.verify(&t, NOW).unwrap();
        assert_eq!((c.subject.as_str(), c.token_id.as_str()), ("user-42", "t-1"));
        assert_eq!(c.email.as_deref(), Some("ann@customer.test"));
        let t = eddsa(&json!({"alg": "EdDSA", "kid": "ed-1"}), &claims(), &signing);
        assert!(v.verify(&t, NOW).is_ok());
        let mut listed = claims();
        listed["aud"] = json!(["other", "palisade"]);
        assert!(
            v.verify(
                &hs256(&json!({"alg": "HS256", "kid": "hmac-1"}), &listed, SECRET),
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn the_algorithm_is_the_keys_never_the_tokens() {
        use SiteTokenRejection as R;
        let (v, signing) = setup();
        // alg none, unsigned.
        let none = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "kid": "hmac-1"}).to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        assert_eq!(v.verify(&none, NOW), Err(R::AlgorithmMismatch));
        // An HS256 token for the EdDSA key, "signed" with the public key as the secret.
        let public = signing.verifying_key().to_bytes();
        let confused = hs256(&json!({"alg": "HS256", "kid": "ed-1"}), &claims(), &public);
        assert_eq!(v.verify(&confused, NOW), Err(R::AlgorithmMismatch));
        // An EdDSA token naming the HMAC key.
        let swapped = eddsa(&json!({"alg": "EdDSA", "kid": "hmac-1"}), &claims(), &signing);
        assert_eq!(v.verify(&swapped, NOW), Err(R::AlgorithmMismatch));
        // No kid, an unknown kid, a critical header.
        assert_eq!(
            v.verify(&hs256(&json!({"alg": "HS256"}), &claims(), SECRET), NOW),
            Err(R::UnknownKey)
        );
        let unknown = hs256(&json!({"alg": "HS256", "kid": "old"}), &claims(), SECRET);
        assert_eq!(v.verify(&unknown, NOW), Err(R::UnknownKey));
        let crit = hs256(
            &json!({"alg": "HS256", "kid": "hmac-1", "crit": ["exp"]}),
            &claims(),
            SECRET,
        );
        assert_eq!(v.verify(&crit, NOW), Err(R::CriticalHeader));
    }

    #[test]
    fn a_secret_rotates_with_overlap_by_kid_and_the_retired_one_is_refused() {
        const NEXT: &[u8] = b"the next shared secret, also thirty-two bytes long";
        let hs = |kid: &str, secret: &[u8]| SiteKey::Hs256 {
            kid: kid.into(),
            secret: SecretBytes::new(secret.to_vec()),
        };
        let old = hs256(&json!({"alg": "HS256", "kid": "hmac-1"}), &claims(), SECRET);
        let new = hs256(&json!({"alg": "HS256", "kid": "hmac-2"}), &claims(), NEXT);
        // The overlap: both keys configured, the site switching over.
        let both = SiteTokenVerifier::new(
            vec![hs("hmac-1", SECRET), hs("hmac-2", NEXT)],
            "https://shop.example",
            "palisade",
        )
        .unwrap();
        assert!(both.verify(&old, NOW).is_ok() && both.verify(&new, NOW).is_ok());
        // A token naming the new kid but signed with the old secret is a forgery.
        let mixed = hs256(&json!({"alg": "HS256", "kid": "hmac-2"}), &claims(), SECRET);
        assert_eq!(both.verify(&mixed, NOW), Err(SiteTokenRejection::BadSignature));
        // The old key removed: its tokens are refused.
        let after =
            SiteTokenVerifier::new(vec![hs("hmac-2", NEXT)], "https://shop.example", "palisade").unwrap();
        assert_eq!(after.verify(&old, NOW), Err(SiteTokenRejection::UnknownKey));
        assert!(after.verify(&new, NOW).is_ok());
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        use SiteTokenRejection as R;
        let (v, _) = setup();
        let header = json!({"alg": "HS256", "kid": "hmac-1"});
        let wrong_secret = hs256(
            &header,
            &claims(),
            b"another secret of thirty-two bytes or more..",
        );
        assert_eq!(v.verify(&wrong_secret, NOW), Err(R::BadSignature));
        // The payload swapped for another subject, the signature kept.
        let genuine = hs256(&header, &claims(), SECRET);
        let mut other = claims();
        other["sub"] = json!("admin");
        let parts: Vec<&str> = genuine.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], b64(other.to_string().as_bytes()), parts[2]);
        assert_eq!(v.verify(&spliced, NOW), Err(R::BadSignature));
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**", &format!("{genuine}.x")] {
            assert!(v.verify(garbage, NOW).is_err(), "{garbage}");
        }
        assert_eq!(v.verify(&"a".repeat(10_000), NOW), Err(R::Malformed));
    }

    #[test]
    fn lifetime_issuer_audience_and_claims_are_checked() {
        use SiteTokenRejection as R;
        let (v, _) = setup();
        let header = json!({"alg": "HS256", "kid": "hmac-1"});
        let with = |key: &str, value: Value| {
            let mut c = claims();
            c[key] = value;
            hs256(&header, &c, SECRET)
        };
        assert_eq!(v.verify(&with("exp", json!(NOW - 60)), NOW), Err(R::Expired));
        assert_eq!(
            v.verify(&with("exp", json!(NOW + 16 * 60)), NOW),
            Err(R::LifetimeTooLong)
        );
        assert!(v.verify(&with("exp", json!(NOW + 15 * 60)), NOW).is_ok());
        assert_eq!(v.verify(&with("nbf", json!(NOW + 300)), NOW), Err(R::NotYetValid));
        assert_eq!(
            v.verify(&with("iss", json!("https://evil.example")), NOW),
            Err(R::WrongIssuer)
        );
        assert_eq!(
            v.verify(&with("aud", json!("someone-else")), NOW),
            Err(R::WrongAudience)
        );
        assert_eq!(v.verify(&with("sub", json!("")), NOW), Err(R::MissingClaim));
        let mut no_jti = claims();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            v.verify(&hs256(&header, &no_jti, SECRET), NOW),
            Err(R::MissingClaim)
        );
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            v.verify(&hs256(&header, &no_exp, SECRET), NOW),
            Err(R::MissingClaim)
        );
    }
}
