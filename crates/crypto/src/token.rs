use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::CryptoError;
use crate::keys::random_bytes;

/// Letters and digits that cannot be mistaken for one another when read aloud or
/// typed from paper (no 0/O, no 1/I).
const HUMAN_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random code for people to copy by hand: `groups` groups of five characters from
/// a 32-letter alphabet (5 bits each), joined by dashes.
pub fn human_code(groups: usize) -> Result<zeroize::Zeroizing<String>, CryptoError> {
    let mut out = zeroize::Zeroizing::new(String::with_capacity(groups * 6));
    for g in 0..groups {
        if g > 0 {
            out.push('-');
        }
        let bytes: zeroize::Zeroizing<[u8; 5]> = zeroize::Zeroizing::new(random_bytes()?);
        for b in bytes.iter() {
            // 256 is a multiple of 32: taking the low five bits is unbiased.
            out.push(char::from(HUMAN_ALPHABET[usize::from(b & 31)]));
        }
    }
    Ok(out)
}

/// A bearer secret (session, setup link) of 256 random bits. Shown to its holder once;
/// only its [`TokenHash`] is stored.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RandomToken(String);

impl fmt::Debug for RandomToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RandomToken(<redacted>)")
    }
}

impl RandomToken {
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes: [u8; 32] = random_bytes()?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts a presented token only if it has the exact shape of one we issue, so
    /// garbage never reaches a database lookup.
    pub fn from_presented(text: &str) -> Option<Self> {
        let ok = text.len() == 43
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(sha256_hex(self.0.as_bytes()))
    }
}

/// SHA-256 of a high-entropy token, hex encoded. A plain hash suffices because the
/// token has 256 bits of entropy: there is nothing to brute-force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(pub String);

impl TokenHash {
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Whether a PKCE `code_verifier` answers the `code_challenge` made with method S256
/// (RFC 7636 §4.6): base64url, unpadded, of the verifier's SHA-256. A verifier of the
/// wrong shape (43 to 128 unreserved characters) never answers. Constant time.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let same: bool = computed.as_bytes().ct_eq(challenge.as_bytes()).into();
    shaped && same
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_answers_only_its_own_challenge() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        // The challenge itself (the `plain` method's answer) is not a verifier for it.
        assert!(!pkce_s256_matches(challenge, challenge));
        assert!(!pkce_s256_matches(
            "short",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(b"short"))
        ));
    }

    #[test]
    fn tokens_are_unique_well_formed_and_hash_stably() {
        let a = RandomToken::generate().unwrap();
        let b = RandomToken::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(RandomToken::from_presented(a.expose()).is_some());
        assert_eq!(a.hash(), RandomToken::from_presented(a.expose()).unwrap().hash());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn malformed_presented_tokens_are_rejected_before_lookup() {
        assert!(RandomToken::from_presented("short").is_none());
        assert!(RandomToken::from_presented(&"a".repeat(42)).is_none());
        assert!(RandomToken::from_presented(&format!("{}'", "a".repeat(42))).is_none());
    }
}
