//! Palisade's key hierarchy and every cryptographic operation on stored data.
//!
//! One master key (a file outside the database) derives, through HKDF, a key-encryption
//! key that wraps per-customer data keys, the blind-index and search-token keys and the
//! audit signing key. Field values are sealed with XChaCha20-Poly1305 under a data key,
//! with associated data naming the table, column and row so a ciphertext moved to
//! another place no longer opens. Outgoing webhooks are signed here too (Standard
//! Webhooks, `webhook`). Nothing here touches the database or the network.

mod aead;
mod audit_key;
mod capability;
mod error;
mod index;
mod keys;
mod root;
mod token;
mod webhook;
mod wrapping;

pub use aead::{FieldAad, open_field, seal_field};
pub use audit_key::{create_audit_signing_key_file, load_audit_signing_key, parse_audit_public_key};
pub use capability::{CAPABILITY_ID_LEN, CAPABILITY_TOKEN_CHARS, CapabilityKeys, CapabilityPurpose};
pub use error::CryptoError;
pub use index::{BlindIndex, search_terms};
pub use keys::{
    DataKey, ExternalWrappingKey, Keyring, MasterKey, WrappedDataKey, random_bytes, write_secret_file,
};
pub use token::{RandomToken, TokenHash, human_code, pkce_s256_matches, sha256_hex};
pub use webhook::{WebhookSecret, signature_header, verify as verify_webhook};
