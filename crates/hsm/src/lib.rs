//! The data-key wrapping key in a hardware security module, through PKCS#11
//! (`cryptoki`): an AES-256 key generated inside the token, sensitive and never
//! extractable, that seals and opens data keys with AES-GCM inside the token. Its
//! secret never enters Palisade's memory; only the data keys it opens do, as they
//! must to seal fields. Tested against SoftHSM v2; any PKCS#11 v2.40 module with
//! `CKM_AES_GCM` serves.
//!
//! Sealed data keys carry their own version byte (2), a 12-byte IV chosen here and
//! the tag, so they are told apart from those the master key file wraps (version 1).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use palisade_crypto::{CryptoError, ExternalWrappingKey, random_bytes};
use zeroize::Zeroizing;

const SEAL_VERSION: u8 = 2;
const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("PKCS#11 module {0}: {1}")]
    Module(PathBuf, String),
    #[error("no token labelled {0:?} in the PKCS#11 module")]
    NoToken(String),
    #[error("signing in to the token failed (wrong PIN?)")]
    Login,
    #[error("no key labelled {0:?} on the token (create it with `palisade keys hsm-generate`)")]
    NoKey(String),
    #[error("a key labelled {0:?} already exists on the token")]
    KeyExists(String),
    #[error("the key {0:?} on the token is not a sensitive, non-extractable AES key")]
    WeakKey(String),
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
}

impl From<Pkcs11Error> for HsmError {
    fn from(e: Pkcs11Error) -> Self {
        HsmError::Pkcs11(e.to_string())
    }
}

/// Where the token and key are (`[hsm]`).
#[derive(Clone)]
pub struct HsmSettings {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    pub token_label: String,
    pub key_label: String,
    /// Keys wrapping was moved away from (`keys rotate-master --to-hsm` with a new
    /// `key_label`): they only open data keys not moved yet.
    pub previous_key_labels: Vec<String>,
    pub pin: Zeroizing<String>,
}

impl std::fmt::Debug for HsmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmSettings")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("previous_key_labels", &self.previous_key_labels)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// A signed-in session on the token and the wrapping key's handle. The session is
/// not shareable between threads, so calls take turns on it.
pub struct HsmWrappingKey {
    session: Mutex<Session>,
    key: ObjectHandle,
    id: String,
}

impl std::fmt::Debug for HsmWrappingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HsmWrappingKey({})", self.id)
    }
}

fn open_session(settings: &HsmSettings) -> Result<Session, HsmError> {
    let module = Pkcs11::new(&settings.module)
        .map_err(|e| HsmError::Module(settings.module.clone(), e.to_string()))?;
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(HsmError::Module(settings.module.clone(), e.to_string())),
    }
    let slot = module
        .get_slots_with_token()?
        .into_iter()
        .find(|slot| {
            module
                .get_token_info(*slot)
                .is_ok_and(|info| info.label() == settings.token_label)
        })
        .ok_or_else(|| HsmError::NoToken(settings.token_label.clone()))?;
    let session = module.open_rw_session(slot)?;
    let pin = AuthPin::from(settings.pin.as_str());
    // Login state is per process and token: a second session of this process (the
    // key generated, then opened) is already signed in.
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(_) => return Err(HsmError::Login),
    }
    Ok(session)
}

/// The one secret key under `label`; two under one label are refused, since which
/// one a token returns first is not defined.
fn find_key(session: &Session, label: &str) -> Result<Option<ObjectHandle>, HsmError> {
    let found = session.find_objects(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(HsmError::WeakKey(label.to_owned())),
    }
}

/// Generates the wrapping key inside the token: AES-256, sensitive, never extractable,
/// for encrypting and decrypting only. Refuses when one with the label exists.
pub fn generate(settings: &HsmSettings) -> Result<String, HsmError> {
    let session = open_session(settings)?;
    if find_key(&session, &settings.key_label)?.is_some() {
        return Err(HsmError::KeyExists(settings.key_label.clone()));
    }
    let id: [u8; 8] = random_bytes().map_err(|e| HsmError::Pkcs11(e.to_string()))?;
    session.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::ValueLen(32u64.into()),
            Attribute::Label(settings.key_label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ],
    )?;
    Ok(hex::encode(id))
}

impl HsmWrappingKey {
    /// Signs in to the token and finds the wrapping key; refuses one that could leave
    /// the token.
    pub fn open(settings: &HsmSettings) -> Result<Self, HsmError> {
        Self::open_label(settings, &settings.key_label)
    }

    /// The keys wrapping moved away from, in the order configured.
    pub fn open_previous(settings: &HsmSettings) -> Result<Vec<Self>, HsmError> {
        settings
            .previous_key_labels
            .iter()
            .map(|label| Self::open_label(settings, label))
            .collect()
    }

    fn open_label(settings: &HsmSettings, label: &str) -> Result<Self, HsmError> {
        let session = open_session(settings)?;
        let key = find_key(&session, label)?.ok_or_else(|| HsmError::NoKey(label.to_owned()))?;
        let attributes = session.get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Local,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Id,
            ],
        )?;
        // Generated inside the token and never out of it: an imported key (not local)
        // or one that was ever readable may be known elsewhere.
        let (mut aes, mut id) = (false, Vec::new());
        let (mut sensitive, mut extractable, mut local, mut always_sensitive, mut never_extractable) =
            (false, true, false, false, false);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(kind) => aes = kind == KeyType::AES,
                Attribute::Sensitive(value) => sensitive = value,
                Attribute::Extractable(value) => extractable = value,
                Attribute::Local(value) => local = value,
                Attribute::AlwaysSensitive(value) => always_sensitive = value,
                Attribute::NeverExtractable(value) => never_extractable = value,
                Attribute::Id(value) => id = value,
                _ => {}
            }
        }
        if !aes
            || !sensitive
            || extractable
            || !local
            || !always_sensitive
            || !never_extractable
            || id.is_empty()
        {
            return Err(HsmError::WeakKey(label.to_owned()));
        }
        Ok(Self {
            session: Mutex::new(session),
            key,
            id: hex::encode(&id),
        })
    }

    /// Whether the token may hand out the key's value (it must not). Only an answer
    /// that withholds the value counts as "no": anything else (a failed call) cannot
    /// show the value is safe.
    pub fn value_is_readable(&self) -> bool {
        let Ok(session) = self.session.lock() else {
            return true;
        };
        match session.get_attributes(self.key, &[AttributeType::Value]) {
            Ok(values) => values
                .iter()
                .any(|a| matches!(a, Attribute::Value(v) if !v.is_empty())),
            Err(Pkcs11Error::Pkcs11(RvError::AttributeSensitive, _)) => false,
            Err(_) => true,
        }
    }
}

impl ExternalWrappingKey for HsmWrappingKey {
    fn id(&self) -> &str {
        &self.id
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut iv: [u8; IV_LEN] = random_bytes()?;
        let params = GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(|_| CryptoError::Format)?;
        let session = self.session.lock().map_err(|_| CryptoError::Decrypt)?;
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), self.key, plaintext)
            .map_err(|_| CryptoError::Decrypt)?;
        drop(session);
        // Read only now: a token may choose the IV itself and write it back.
        let mut out = Vec::with_capacity(1 + IV_LEN + sealed.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        // Not sealed by a token key (e.g. by the master key file): not ours to open.
        if sealed.first() != Some(&SEAL_VERSION) || sealed.len() < 1 + IV_LEN + 16 {
            return Err(CryptoError::Decrypt);
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&sealed[1..1 + IV_LEN]);
        let params = GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(|_| CryptoError::Format)?;
        let session = self.session.lock().map_err(|_| CryptoError::Decrypt)?;
        session
            .decrypt(&Mechanism::AesGcm(params), self.key, &sealed[1 + IV_LEN..])
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Reads a PIN file: one line, owner-only (checked by the caller like other secrets).
pub fn read_pin(path: &Path) -> Result<Zeroizing<String>, HsmError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| HsmError::Pkcs11(format!("{}: {e}", path.display())))?,
    );
    Ok(Zeroizing::new(text.trim().to_owned()))
}
