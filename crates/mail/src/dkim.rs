//! DKIM signing of outbound mail with an RSA key. Signing uses `ring` (constant-time
//! RSA), not the `rsa` crate, whose private-key operations have a timing side channel
//! (RUSTSEC-2023-0071); `rsa` only generates the key pair for `palisade dkim generate`.
//! Headers that change what a reader sees are oversigned (listed once more than they
//! appear), so nobody can add a second `From`, `Subject` or `Reply-To` to a signed
//! message without breaking the signature.

use mail_auth::common::crypto::{Algorithm, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter as _, Writable, Writer};
use mail_auth::dkim::DkimSigner;
use palisade_core::SecretBytes;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use crate::MailError;

/// Headers signed, each named twice: once for the field, once more so that an added
/// field of the same name breaks the signature.
const OVERSIGNED: [&str; 8] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Reply-To",
    "Message-ID",
    "In-Reply-To",
    "References",
];

/// What the outbox signs with.
#[derive(Clone, Debug)]
pub struct DkimSettings {
    pub domain: String,
    pub selector: String,
    /// PKCS#8 DER of an RSA private key (2048 bits or more).
    pub key_pkcs8: SecretBytes,
}

struct RingRsa {
    key: RsaKeyPair,
}

struct Collect(Vec<u8>);

impl Writer for Collect {
    fn write(&mut self, buf: &[u8]) {
        self.0.extend_from_slice(buf);
    }
}

impl SigningKey for RingRsa {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        // ring hashes the input itself, so the canonicalised data is collected first.
        let mut data = Collect(Vec::new());
        input.write(&mut data);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &data.0, &mut signature)
            .map_err(|_| {
                mail_auth::Error::Crypto(mail_auth::common::crypto::CryptoError::Library(
                    "RSA signing failed".into(),
                ))
            })?;
        Ok(signature)
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha256
    }
}

impl DkimSettings {
    /// Checks that the key is a usable RSA key.
    pub fn validate(&self) -> Result<(), MailError> {
        RsaKeyPair::from_pkcs8(self.key_pkcs8.expose())
            .map(|_| ())
            .map_err(|e| MailError::Config(format!("DKIM key: {e}")))
    }

    /// `message` with a `DKIM-Signature` field in front.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, MailError> {
        let key = RsaKeyPair::from_pkcs8(self.key_pkcs8.expose())
            .map_err(|e| MailError::Config(format!("DKIM key: {e}")))?;
        let headers: Vec<&str> = OVERSIGNED.iter().flat_map(|h| [*h, *h]).collect();
        let signature = DkimSigner::from_key(RingRsa { key })
            .domain(self.domain.as_str())
            .selector(self.selector.as_str())
            .headers(headers)
            .sign(message)
            .map_err(|e| MailError::Permanent(format!("DKIM signing: {e}")))?;
        let mut out = signature.to_header().into_bytes();
        out.extend_from_slice(message);
        Ok(out)
    }
}

/// A new 2048-bit RSA key: its PKCS#8 DER, and the TXT record to publish at
/// `<selector>._domainkey.<domain>`.
pub fn generate_dkim_key() -> Result<(SecretBytes, String), MailError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| MailError::Config(format!("generating the key: {e}")))?;
    let private = key
        .to_pkcs8_der()
        .map_err(|e| MailError::Config(format!("encoding the key: {e}")))?;
    let record = format!("v=DKIM1; k=rsa; p={}", public_key_base64(&key)?);
    Ok((SecretBytes::new(private.as_bytes().to_vec()), record))
}

/// The `p=` value (base64 SubjectPublicKeyInfo) for a PKCS#8 RSA private key. Only
/// parsing, no private-key operation.
pub fn dkim_public_key(pkcs8: &SecretBytes) -> Result<String, MailError> {
    use rsa::pkcs8::DecodePrivateKey as _;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.expose())
        .map_err(|e| MailError::Config(format!("DKIM key: {e}")))?;
    public_key_base64(&key)
}

fn public_key_base64(key: &rsa::RsaPrivateKey) -> Result<String, MailError> {
    use base64::Engine as _;
    use rsa::pkcs8::EncodePublicKey as _;
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| MailError::Config(format!("encoding the public key: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(public.as_bytes()))
}
