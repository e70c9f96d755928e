use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chacha20poly1305::XNonce;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;
use crate::index::BlindIndex;
pub use crate::wrapping::ExternalWrappingKey;
use crate::wrapping::{Kek, hkdf_expand};

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const WRAP_VERSION: u8 = 1;

/// The nonce that follows the one-byte version prefix of a sealed value.
pub(crate) fn nonce_at(sealed: &[u8]) -> Result<XNonce, CryptoError> {
    let nonce: [u8; NONCE_LEN] = sealed
        .get(1..1 + NONCE_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(CryptoError::Format)?;
    Ok(XNonce::from(nonce))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// Writes secret material (keys) to a new file readable by its owner only, and syncs
/// it; refuses to replace an existing file.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let fail = |e: std::io::Error| CryptoError::KeyFile(format!("{}: {e}", path.display()));
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .map_err(fail)
}

/// The master key: a root secret that every derived key (blind indexes, search terms,
/// signing keys, capability tokens) comes from, and the secret that wraps the data
/// keys. They are one and the same until the first rotation, which replaces only the
/// wrapping secret (`palisade keys rotate-master`): the derived keys stay valid, and
/// what a copy of the database holds after the rotation no longer opens with the old
/// file. Lives in a file (mode 0600) or the environment, never in the database.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    root: [u8; KEY_LEN],
    wrapping: [u8; KEY_LEN],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self::from_bytes(random_bytes()?))
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            root: bytes,
            wrapping: bytes,
        }
    }

    /// The file holds the key as 64 hex characters (a trailing newline is allowed), or,
    /// once rotated, as two lines: `root <64 hex>` and `wrapping <64 hex>`.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let parse = |hex_text: &str| {
            let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
            hex::decode_to_slice(hex_text.trim(), bytes.as_mut_slice()).map_err(|_| {
                CryptoError::KeyFile(
                    "expected 64 hexadecimal characters, or the lines `root …` and `wrapping …`".into(),
                )
            })?;
            Ok::<_, CryptoError>(bytes)
        };
        let text = text.trim();
        if !text.contains(char::is_whitespace) {
            return Ok(Self::from_bytes(*parse(text)?));
        }
        let (mut root, mut wrapping) = (None, None);
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once(char::is_whitespace) {
                Some(("root", value)) if root.is_none() => root = Some(parse(value)?),
                Some(("wrapping", value)) if wrapping.is_none() => wrapping = Some(parse(value)?),
                _ => {
                    return Err(CryptoError::KeyFile(
                        "unexpected line in the master key file".into(),
                    ));
                }
            }
        }
        match (root, wrapping) {
            (Some(root), Some(wrapping)) => Ok(Self {
                root: *root,
                wrapping: *wrapping,
            }),
            _ => Err(CryptoError::KeyFile(
                "a rotated master key file needs both a root line and a wrapping line".into(),
            )),
        }
    }

    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| CryptoError::KeyFile(format!("{}: {e}", path.display())))?,
        );
        Self::from_hex(&text)
    }

    /// Creates the key file readable by its owner only; refuses to overwrite one.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        let key = Self::generate()?;
        key.write_file(path)?;
        Ok(key)
    }

    /// The next key of a rotation: the same root, a new wrapping secret.
    pub fn rotated(&self) -> Result<Self, CryptoError> {
        Ok(Self {
            root: self.root,
            wrapping: random_bytes()?,
        })
    }

    /// The next key of a root rotation (`palisade keys rotate-root`): a new root, the
    /// same wrapping secret (the data keys stay as they are).
    pub fn rerooted(&self) -> Result<Self, CryptoError> {
        Ok(Self {
            root: random_bytes()?,
            wrapping: self.wrapping,
        })
    }

    /// Whether `other` wraps with the same secret, in constant time.
    pub fn same_wrapping(&self, other: &MasterKey) -> bool {
        use subtle::ConstantTimeEq as _;
        self.wrapping.ct_eq(&other.wrapping).into()
    }

    /// Whether `other` has the same root (is a rotation of this key), in constant time.
    pub fn same_root(&self, other: &MasterKey) -> bool {
        use subtle::ConstantTimeEq as _;
        self.root.ct_eq(&other.root).into()
    }

    /// Writes the key to a new file readable by its owner only; refuses to overwrite.
    pub fn write_file(&self, path: &Path) -> Result<(), CryptoError> {
        let text = Zeroizing::new(
            if bool::from(subtle::ConstantTimeEq::ct_eq(&self.root[..], &self.wrapping[..])) {
                format!("{}\n", hex::encode(self.root))
            } else {
                format!(
                    "root {}\nwrapping {}\n",
                    hex::encode(self.root),
                    hex::encode(self.wrapping)
                )
            },
        );
        write_secret_file(path, text.as_bytes())
    }

    fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        hkdf_expand(&self.root, purpose)
    }
}

/// A per-customer (or organisation-wide, for staff) data key. Deleting its wrapped form
/// makes every value sealed under it unreadable.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey(pub(crate) [u8; KEY_LEN]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes()?))
    }
}

/// A data key sealed by the key-encryption key, safe to store in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedDataKey(pub Vec<u8>);

/// Every key derived from the master key, held for the life of the process.
pub struct Keyring {
    kek: Kek,
    /// Wrapping keys that only open: the master key file's own while an HSM key is the
    /// one in use (data keys not yet moved into the HSM still open).
    previous: Vec<Kek>,
    /// Wrapping keys of a rotation under way, learned from the database (sealed under
    /// a key this ring already holds): data keys re-wrapped by the rotation still open,
    /// and new ones are wrapped under the newest.
    learned: RwLock<Vec<Kek>>,
    blind_index: BlindIndex,
    search: BlindIndex,
    audit_signing: SigningKey,
    /// The root's own audit key, which signed checkpoints until a key file replaced it
    /// (and signed those that name no key).
    audit_derived: VerifyingKey,
    /// Keys that signed earlier checkpoints, from the configuration.
    audit_retired: Vec<VerifyingKey>,
    backup_signing: SigningKey,
    erasure_signing: SigningKey,
    capabilities: crate::CapabilityKeys,
    /// Names the root without revealing anything of it (see [`Keyring::root_id`]).
    pub(crate) root_id: String,
    /// What this node keeps of roots a root rotation retired (see `crate::root`).
    pub(crate) retired_roots: RwLock<Vec<crate::root::RetiredRoot>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Self {
        let blind = master.derive("blind-index");
        let search = master.derive("search-terms");
        let audit = master.derive("audit-checkpoint-signing");
        let backup = master.derive("backup-manifest-signing");
        let erasure = master.derive("erasure-ledger-signing");
        let capabilities = crate::CapabilityKeys::new(master.derive("mail-capability-tokens"));
        let root_id = hex::encode(&master.derive("root-id")[..8]);
        Self {
            capabilities,
            root_id,
            retired_roots: RwLock::new(Vec::new()),
            kek: Kek::from_wrapping_secret(&master.wrapping),
            previous: Vec::new(),
            learned: RwLock::new(Vec::new()),
            blind_index: BlindIndex::new(&blind),
            search: BlindIndex::new(&search),
            audit_derived: SigningKey::from_bytes(&audit).verifying_key(),
            audit_signing: SigningKey::from_bytes(&audit),
            audit_retired: Vec::new(),
            backup_signing: SigningKey::from_bytes(&backup),
            erasure_signing: SigningKey::from_bytes(&erasure),
        }
    }

    /// The derived keys from `master`'s root, and `external` (an HSM key) as the wrapping
    /// key in use; the file's own wrapping key still opens what it sealed.
    pub fn with_external(master: &MasterKey, external: Arc<dyn ExternalWrappingKey>) -> Self {
        let mut ring = Self::new(master);
        let file = std::mem::replace(&mut ring.kek, Kek::External(external));
        ring.previous.push(file);
        ring
    }

    /// Adds a token key that wrapping moved away from: it opens the data keys it
    /// wrapped until a rotation moves them.
    pub fn with_previous_external(mut self, previous: Arc<dyn ExternalWrappingKey>) -> Self {
        self.previous.push(Kek::External(previous));
        self
    }

    /// Wraps a data key under the newest wrapping key this ring holds; `key_id` is
    /// bound as associated data so wrapped keys cannot be swapped.
    pub fn wrap(&self, key: &DataKey, key_id: &str) -> Result<WrappedDataKey, CryptoError> {
        Ok(self.wrap_tagged(key, key_id)?.0)
    }

    /// As [`Keyring::wrap`], with the name of the wrapping key used.
    pub fn wrap_tagged(&self, key: &DataKey, key_id: &str) -> Result<(WrappedDataKey, String), CryptoError> {
        let aad = format!("palisade/data-key/v1/{key_id}");
        let learned = self.learned.read().map_err(|_| CryptoError::Format)?;
        let kek = learned.last().unwrap_or(&self.kek);
        Ok((WrappedDataKey(kek.seal(&key.0, &aad)?), kek.id().to_owned()))
    }

    /// Wraps a data key under the wrapping key named `kek_id`, which this ring must hold.
    pub fn wrap_under(
        &self,
        kek_id: &str,
        key: &DataKey,
        key_id: &str,
    ) -> Result<WrappedDataKey, CryptoError> {
        let aad = format!("palisade/data-key/v1/{key_id}");
        let sealed = if self.kek.id() == kek_id {
            self.kek.seal(&key.0, &aad)?
        } else {
            let learned = self.learned.read().map_err(|_| CryptoError::Format)?;
            let kek = learned
                .iter()
                .find(|k| k.id() == kek_id)
                .ok_or(CryptoError::Decrypt)?;
            kek.seal(&key.0, &aad)?
        };
        // A re-wrap replaces the only copy of the key: it must open to the same key
        // before anyone stores it (a token that misbehaves loses nothing).
        let wrapped = WrappedDataKey(sealed);
        let reopened = self.unwrap(&wrapped, key_id)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&reopened.0[..], &key.0[..])) {
            return Err(CryptoError::Decrypt);
        }
        Ok(wrapped)
    }

    /// Opens a wrapped data key under whichever wrapping key this ring holds sealed it.
    pub fn unwrap(&self, wrapped: &WrappedDataKey, key_id: &str) -> Result<DataKey, CryptoError> {
        let aad = format!("palisade/data-key/v1/{key_id}");
        let plain = match self.kek.open(&wrapped.0, &aad) {
            Ok(plain) => plain,
            Err(CryptoError::Decrypt) => {
                let learned = self.learned.read().map_err(|_| CryptoError::Format)?;
                learned
                    .iter()
                    .rev()
                    .chain(&self.previous)
                    .find_map(|kek| kek.open(&wrapped.0, &aad).ok())
                    .ok_or(CryptoError::Decrypt)?
            }
            Err(e) => return Err(e),
        };
        let key: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Format)?;
        Ok(DataKey(key))
    }

    /// The name of the wrapping key in use: the HSM's when one is configured, else
    /// the master key file's.
    pub fn kek_id(&self) -> &str {
        self.kek.id()
    }

    /// Whether the wrapping key in use lives in a token (`[hsm]`), not in the key file.
    pub fn wraps_in_token(&self) -> bool {
        matches!(self.kek, Kek::External(_))
    }

    /// The names of the wrapping keys that only open (the file's, beside an HSM key).
    pub fn previous_kek_ids(&self) -> Vec<String> {
        self.previous.iter().map(|k| k.id().to_owned()).collect()
    }

    /// Whether this ring holds the wrapping key named `kek_id`.
    pub fn knows(&self, kek_id: &str) -> bool {
        self.kek.id() == kek_id
            || self.previous.iter().any(|k| k.id() == kek_id)
            || self
                .learned
                .read()
                .is_ok_and(|learned| learned.iter().any(|k| k.id() == kek_id))
    }

    /// The wrapping secret of `next` sealed under this ring's own wrapping key, for
    /// other nodes (holding this ring's key) to learn during a rotation; with its name.
    pub fn seal_next(&self, next: &MasterKey) -> Result<(String, Vec<u8>), CryptoError> {
        let id = Kek::from_wrapping_secret(&next.wrapping).id().to_owned();
        let sealed = self
            .kek
            .seal(&next.wrapping, &format!("palisade/next-wrapping-key/v1/{id}"))?;
        Ok((id, sealed))
    }

    /// Learns the wrapping key named `kek_id` from `sealed`, made by
    /// [`Keyring::seal_next`] under the key this ring uses; a no-op when already known.
    /// Only the key in use is trusted to introduce a successor: a retired or merely
    /// previous key (which someone may still hold) cannot plant one.
    pub fn learn(&self, kek_id: &str, sealed: &[u8]) -> Result<(), CryptoError> {
        if self.knows(kek_id) {
            return Ok(());
        }
        let aad = format!("palisade/next-wrapping-key/v1/{kek_id}");
        let secret = self.kek.open(sealed, &aad)?;
        let secret: Zeroizing<[u8; KEY_LEN]> =
            Zeroizing::new(secret.as_slice().try_into().map_err(|_| CryptoError::Format)?);
        self.hold(Kek::from_wrapping_secret(&secret), kek_id)
    }

    /// Holds the wrapping key of `next` beside this ring's own (the rotating process).
    pub fn learn_key(&self, next: &MasterKey) -> Result<(), CryptoError> {
        let kek = Kek::from_wrapping_secret(&next.wrapping);
        let id = kek.id().to_owned();
        if self.knows(&id) {
            return Ok(());
        }
        self.hold(kek, &id)
    }

    fn hold(&self, kek: Kek, expected_id: &str) -> Result<(), CryptoError> {
        if kek.id() != expected_id {
            return Err(CryptoError::Decrypt);
        }
        self.learned.write().map_err(|_| CryptoError::Format)?.push(kek);
        Ok(())
    }

    /// Keyed index for equality lookups on encrypted values (e.g. email addresses).
    pub fn blind_index(&self) -> &BlindIndex {
        &self.blind_index
    }

    pub(crate) fn blind_index_secret(&self) -> &[u8; KEY_LEN] {
        self.blind_index.secret()
    }

    /// Keyed word tokens for searching encrypted text.
    pub fn search_index(&self) -> &BlindIndex {
        &self.search
    }

    /// Keys for the capability tokens in reply and bounce addresses.
    pub fn capabilities(&self) -> &crate::CapabilityKeys {
        &self.capabilities
    }

    pub fn audit_signing_key(&self) -> &SigningKey {
        &self.audit_signing
    }

    /// Signs backup manifests: a backup shows it came from a holder of this master key.
    pub fn backup_signing_key(&self) -> &SigningKey {
        &self.backup_signing
    }

    pub fn backup_verifying_key(&self) -> VerifyingKey {
        self.backup_signing.verifying_key()
    }

    /// Signs the erasure ledger kept beside the master key: an entry nobody holding
    /// this root wrote is refused, so a planted one cannot erase anyone on restore.
    pub fn erasure_ledger_key(&self) -> &SigningKey {
        &self.erasure_signing
    }

    pub fn audit_verifying_key(&self) -> VerifyingKey {
        self.audit_signing.verifying_key()
    }

    /// Signs checkpoints with `key` (an `[audit] signing_key_file`) instead of the
    /// root's key; `retired` are earlier keys whose checkpoints still verify.
    pub fn with_audit_signing_key(mut self, key: SigningKey, retired: Vec<VerifyingKey>) -> Self {
        self.audit_signing = key;
        self.audit_retired = retired;
        self
    }

    /// The root's own audit key: it signed every checkpoint that names no key.
    pub fn audit_derived_verifying_key(&self) -> VerifyingKey {
        self.audit_derived
    }

    /// Every earlier key this node trusts for checkpoints signed before their handover:
    /// the configured ones and the root's own, unless that is the current key.
    pub fn audit_retired_verifying_keys(&self) -> Vec<VerifyingKey> {
        let current = self.audit_verifying_key();
        let mut keys: Vec<VerifyingKey> = Vec::new();
        for key in self.audit_retired.iter().chain([&self.audit_derived]) {
            if *key != current && !keys.contains(key) {
                keys.push(*key);
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_key_opens_only_under_its_id_and_master() {
        let ring = Keyring::new(&MasterKey::generate().unwrap());
        let dk = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dk, "dk_1").unwrap();
        assert_eq!(ring.unwrap(&wrapped, "dk_1").unwrap().0, dk.0);
        assert!(
            ring.unwrap(&wrapped, "dk_2").is_err(),
            "key swapped between rows must not open"
        );
        let other = Keyring::new(&MasterKey::generate().unwrap());
        assert!(
            other.unwrap(&wrapped, "dk_1").is_err(),
            "another master key must not open"
        );
    }

    #[test]
    fn master_key_file_is_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!(
            "palisade-key-test-{}",
            hex::encode(random_bytes::<8>().unwrap())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let created = MasterKey::create_file(&path).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!((created.root, created.wrapping), (loaded.root, loaded.wrapping));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim().len(),
            64,
            "one hex line until rotated"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(
            MasterKey::create_file(&path).is_err(),
            "must not overwrite an existing key"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_key_text_is_refused() {
        assert!(MasterKey::from_hex("abc").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_rotation_replaces_only_the_wrapping_key_and_its_file_says_both() {
        let old = MasterKey::generate().unwrap();
        let next = old.rotated().unwrap();
        let (old_ring, new_ring) = (Keyring::new(&old), Keyring::new(&next));
        assert_ne!(old_ring.kek_id(), new_ring.kek_id());
        assert_eq!(
            old_ring.blind_index().compute("email", "ann@example.org"),
            new_ring.blind_index().compute("email", "ann@example.org"),
            "lookups keep working across the rotation"
        );
        assert_eq!(old_ring.audit_verifying_key(), new_ring.audit_verifying_key());

        let dir = std::env::temp_dir().join(format!(
            "palisade-key-test-{}",
            hex::encode(random_bytes::<8>().unwrap())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("next.key");
        next.write_file(&path).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!(Keyring::new(&loaded).kek_id(), new_ring.kek_id());
        assert!(loaded.same_root(&old) && !loaded.same_root(&MasterKey::generate().unwrap()));
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("root "));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            MasterKey::from_hex(&format!("root {}", "ab".repeat(32))).is_err(),
            "half a rotated file"
        );
    }

    #[test]
    fn a_node_learns_the_next_key_only_from_a_key_it_holds() {
        let old = MasterKey::generate().unwrap();
        let next = old.rotated().unwrap();
        let rotating = Keyring::new(&old);
        let serving = Keyring::new(&old);
        let dk = DataKey::generate().unwrap();
        let before = serving.wrap(&dk, "dk_a").unwrap();

        let (next_id, sealed) = rotating.seal_next(&next).unwrap();
        rotating.learn_key(&next).unwrap();
        let rewrapped = rotating.wrap_under(&next_id, &dk, "dk_a").unwrap();
        assert!(serving.unwrap(&rewrapped, "dk_a").is_err(), "not yet learned");

        let stranger = Keyring::new(&MasterKey::generate().unwrap());
        assert!(
            stranger.learn(&next_id, &sealed).is_err(),
            "sealed under a key it lacks"
        );
        // A node that moved to `next` is not told a successor by the key it moved from.
        let after_next = Keyring::new(&next);
        let planted = next.rotated().unwrap();
        let (planted_id, planted_sealed) = Keyring::new(&old).seal_next(&planted).unwrap();
        assert!(
            after_next.learn(&planted_id, &planted_sealed).is_err(),
            "planted under a retired key"
        );
        assert!(serving.learn("0000000000000000", &sealed).is_err(), "wrong name");
        serving.learn(&next_id, &sealed).unwrap();
        assert_eq!(serving.unwrap(&rewrapped, "dk_a").unwrap().0, dk.0);
        assert_eq!(serving.unwrap(&before, "dk_a").unwrap().0, dk.0);
        let (created, used) = serving.wrap_tagged(&dk, "dk_b").unwrap();
        assert_eq!(used, next_id, "new data keys are wrapped under the newest key");

        let retired_ring = Keyring::new(&old);
        let new_ring = Keyring::new(&next);
        assert!(retired_ring.unwrap(&created, "dk_b").is_err());
        assert!(
            retired_ring.unwrap(&rewrapped, "dk_a").is_err(),
            "the old file opens nothing re-wrapped"
        );
        assert_eq!(new_ring.unwrap(&created, "dk_b").unwrap().0, dk.0);
        assert!(
            new_ring.unwrap(&before, "dk_a").is_err(),
            "the new file alone needs the rotation finished"
        );
    }
}
