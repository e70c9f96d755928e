//! Who can read a backup. Two kinds of age recipient are accepted: hybrid
//! post-quantum ones (`age1pq1…`, ML-KEM with X25519; what age now recommends, since a
//! backup of personal and financial data must stay secret for years, past the day a
//! quantum computer could break X25519 alone) and classic X25519 ones (`age1…`), which
//! Debian's `age` 1.1 writes and reads. age refuses to mix the two in one file, so a
//! post-quantum backup is never weakened by an X25519 recipient beside it.

// age 0.13 marks the X25519 types deprecated for new recipients; this module is the
// one place they are named, on purpose (see above).
#![allow(deprecated)]

use std::str::FromStr;

/// An age recipient a backup is encrypted to.
#[derive(Clone)]
pub enum Recipient {
    PostQuantum(age::pq::Recipient),
    X25519(age::x25519::Recipient),
}

/// An age identity that opens a backup.
#[derive(Clone)]
pub enum Identity {
    PostQuantum(age::pq::Identity),
    X25519(age::x25519::Identity),
}

impl Recipient {
    /// Whether this is a hybrid post-quantum recipient (age refuses to mix the kinds).
    pub fn is_post_quantum(&self) -> bool {
        matches!(self, Self::PostQuantum(_))
    }

    pub(crate) fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Self::PostQuantum(r) => r,
            Self::X25519(r) => r,
        }
    }
}

impl Identity {
    /// A new post-quantum identity (for tests and first setups).
    pub fn generate() -> Self {
        Self::PostQuantum(age::pq::Identity::generate())
    }

    /// A new classic X25519 identity.
    pub fn generate_x25519() -> Self {
        Self::X25519(age::x25519::Identity::generate())
    }

    /// The recipient whose files this identity opens.
    pub fn to_public(&self) -> Recipient {
        match self {
            Self::PostQuantum(i) => Recipient::PostQuantum(i.to_public()),
            Self::X25519(i) => Recipient::X25519(i.to_public()),
        }
    }

    pub(crate) fn as_age(&self) -> &dyn age::Identity {
        match self {
            Self::PostQuantum(i) => i,
            Self::X25519(i) => i,
        }
    }
}

impl FromStr for Recipient {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with("age1pq1") {
            age::pq::Recipient::from_str(text).map(Self::PostQuantum)
        } else {
            age::x25519::Recipient::from_str(text).map(Self::X25519)
        }
    }
}

impl FromStr for Identity {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with("AGE-SECRET-KEY-PQ-1") {
            age::pq::Identity::from_str(text).map(Self::PostQuantum)
        } else {
            age::x25519::Identity::from_str(text).map(Self::X25519)
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PostQuantum(r) => r.fmt(f),
            Self::X25519(r) => r.fmt(f),
        }
    }
}

/// Writes `identity` in `age-keygen`'s format to a new file only its owner can read
/// (through the one writer of secret files, `palisade_crypto::write_secret_file`).
pub fn write_identity(path: &std::path::Path, identity: &Identity) -> Result<(), crate::BackupError> {
    use age::secrecy::ExposeSecret as _;
    let secret = match identity {
        Identity::PostQuantum(i) => i.to_string(),
        Identity::X25519(i) => i.to_string(),
    };
    let text = zeroize::Zeroizing::new(format!(
        "# a Palisade backup identity\n# public key: {}\n{}\n",
        identity.to_public(),
        secret.expose_secret()
    ));
    Ok(palisade_crypto::write_secret_file(path, text.as_bytes())?)
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PostQuantum(_) => f.write_str("Recipient(post-quantum)"),
            Self::X25519(_) => f.write_str("Recipient(x25519)"),
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_parse_from_their_text_and_identities_never_print() {
        use age::secrecy::ExposeSecret as _;
        let pq = age::pq::Identity::generate();
        let text = pq.to_string();
        assert!(matches!(
            text.expose_secret().parse::<Identity>(),
            Ok(Identity::PostQuantum(_))
        ));
        assert!(matches!(
            pq.to_public().to_string().parse::<Recipient>(),
            Ok(Recipient::PostQuantum(_))
        ));
        let classic = age::x25519::Identity::generate();
        assert!(matches!(
            classic.to_string().expose_secret().parse::<Identity>(),
            Ok(Identity::X25519(_))
        ));
        let public = classic.to_public().to_string();
        assert!(matches!(public.parse::<Recipient>(), Ok(Recipient::X25519(_))));
        assert!("age1nonsense".parse::<Recipient>().is_err());
        assert_eq!(format!("{:?}", Identity::PostQuantum(pq)), "Identity(<secret>)");
    }
}
