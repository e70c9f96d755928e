//! Capability tokens for mail: the part of a reply address, `Message-ID` or bounce
//! address that lets mail from outside reach a ticket. A token is a random capability
//! id (80 bits, whose meaning — ticket and participant — lives in the database) and a
//! 96-bit HMAC-SHA256 tag over the purpose, key version and id, so a guessed or altered
//! token is refused before any lookup, in constant time. Keys are derived from the
//! master key per version; rotating means minting with a new version while still
//! accepting the previous one for a grace period.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const CAPABILITY_ID_LEN: usize = 10;
const TAG_LEN: usize = 12;
const RAW_LEN: usize = 1 + CAPABILITY_ID_LEN + TAG_LEN;
/// Base32 characters in an encoded token.
pub const CAPABILITY_TOKEN_CHARS: usize = (RAW_LEN * 8).div_ceil(5);

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

type HmacSha256 = Hmac<Sha256>;

/// What a token may be used for; a token minted for one purpose fails for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityPurpose {
    /// The reply address and `Message-ID` of mail to a ticket participant.
    Reply,
    /// The envelope sender (VERP) of outbound mail, for matching bounces.
    Bounce,
}

impl CapabilityPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Reply => b"reply",
            Self::Bounce => b"bounce",
        }
    }
}

pub struct CapabilityKeys {
    root: Zeroizing<[u8; 32]>,
}

impl CapabilityKeys {
    pub(crate) fn new(root: Zeroizing<[u8; 32]>) -> Self {
        Self { root }
    }

    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.root
    }

    fn tag(&self, purpose: CapabilityPurpose, version: u8, id: &[u8; CAPABILITY_ID_LEN]) -> [u8; 32] {
        // HMAC accepts keys of any length, so neither construction can fail.
        let Ok(mut derive) = HmacSha256::new_from_slice(self.root.as_slice()) else {
            unreachable!("HMAC takes any key length")
        };
        derive.update(b"palisade capability key v");
        derive.update(&[version]);
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(derive.finalize().into_bytes().into());
        let Ok(mut mac) = HmacSha256::new_from_slice(key.as_slice()) else {
            unreachable!("HMAC takes any key length")
        };
        mac.update(purpose.label());
        mac.update(&[0, version]);
        mac.update(id);
        mac.finalize().into_bytes().into()
    }

    /// The token for capability `id` under key `version`: lowercase base32, safe in an
    /// address local part and a `Message-ID`.
    pub fn mint(&self, purpose: CapabilityPurpose, version: u8, id: &[u8; CAPABILITY_ID_LEN]) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = version;
        raw[1..1 + CAPABILITY_ID_LEN].copy_from_slice(id);
        raw[1 + CAPABILITY_ID_LEN..].copy_from_slice(&self.tag(purpose, version, id)[..TAG_LEN]);
        base32(&raw)
    }

    /// The capability id of a genuine token minted for `purpose` under one of the
    /// `accepted` key versions, with the version; `None` for anything else.
    pub fn verify(
        &self,
        purpose: CapabilityPurpose,
        token: &str,
        accepted: &[u8],
    ) -> Option<(u8, [u8; CAPABILITY_ID_LEN])> {
        let raw = unbase32(token)?;
        let version = raw[0];
        if !accepted.contains(&version) {
            return None;
        }
        let mut id = [0u8; CAPABILITY_ID_LEN];
        id.copy_from_slice(&raw[1..1 + CAPABILITY_ID_LEN]);
        let expected = self.tag(purpose, version, &id);
        let ok: bool = raw[1 + CAPABILITY_ID_LEN..].ct_eq(&expected[..TAG_LEN]).into();
        ok.then_some((version, id))
    }
}

fn base32(raw: &[u8; RAW_LEN]) -> String {
    let mut out = String::with_capacity(CAPABILITY_TOKEN_CHARS);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in raw {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes exactly one token's worth of lowercase base32; anything else is `None`.
/// (Uppercase is accepted too: some systems change the case of local parts.)
fn unbase32(text: &str) -> Option<[u8; RAW_LEN]> {
    if text.len() != CAPABILITY_TOKEN_CHARS {
        return None;
    }
    let mut out = [0u8; RAW_LEN];
    let (mut buffer, mut bits, mut n) = (0u32, 0u32, 0usize);
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c.to_ascii_lowercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (buffer >> bits) as u8;
            n += 1;
        }
    }
    // The unused low bits of the last character must be zero: one encoding per token.
    (n == RAW_LEN && buffer & ((1 << bits) - 1) == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seed: u8) -> CapabilityKeys {
        CapabilityKeys::new(Zeroizing::new([seed; 32]))
    }

    #[test]
    fn a_genuine_token_round_trips_and_nothing_else_does() {
        let k = keys(1);
        let id = [7u8; CAPABILITY_ID_LEN];
        let token = k.mint(CapabilityPurpose::Reply, 1, &id);
        assert_eq!(token.len(), CAPABILITY_TOKEN_CHARS);
        assert!(token.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(k.verify(CapabilityPurpose::Reply, &token, &[1]), Some((1, id)));
        assert_eq!(
            k.verify(CapabilityPurpose::Reply, &token.to_uppercase(), &[1]),
            Some((1, id))
        );
        // Another purpose, another master key, a retired version: refused.
        assert_eq!(k.verify(CapabilityPurpose::Bounce, &token, &[1]), None);
        assert_eq!(keys(2).verify(CapabilityPurpose::Reply, &token, &[1]), None);
        assert_eq!(k.verify(CapabilityPurpose::Reply, &token, &[2]), None);
        // Every single-character change is refused (guessing, bit flips, truncation).
        for i in 0..token.len() {
            for c in ALPHABET.iter().map(|&c| char::from(c)) {
                let mut forged: Vec<char> = token.chars().collect();
                if forged[i] == c {
                    continue;
                }
                forged[i] = c;
                let forged: String = forged.into_iter().collect();
                assert_eq!(
                    k.verify(CapabilityPurpose::Reply, &forged, &[1]),
                    None,
                    "{forged}"
                );
            }
        }
        assert_eq!(k.verify(CapabilityPurpose::Reply, &token[1..], &[1]), None);
        assert_eq!(k.verify(CapabilityPurpose::Reply, "", &[1]), None);
    }

    #[test]
    fn rotation_mints_with_the_new_version_and_accepts_the_old_during_grace() {
        let k = keys(3);
        let id = [9u8; CAPABILITY_ID_LEN];
        let old = k.mint(CapabilityPurpose::Reply, 1, &id);
        let new = k.mint(CapabilityPurpose::Reply, 2, &id);
        assert_ne!(old, new);
        assert_eq!(k.verify(CapabilityPurpose::Reply, &old, &[2, 1]), Some((1, id)));
        assert_eq!(k.verify(CapabilityPurpose::Reply, &new, &[2, 1]), Some((2, id)));
        assert_eq!(
            k.verify(CapabilityPurpose::Reply, &old, &[2]),
            None,
            "after the grace period"
        );
    }
}
