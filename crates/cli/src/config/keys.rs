//! `[hsm]`: the data-key wrapping key in a PKCS#11 token instead of the master key
//! file (the file keeps the root the derived keys come from).
//! `[reply_tokens]`: which key version signs the capability tokens in reply addresses,
//! `Message-ID`s and bounce addresses, and which older versions are still accepted.
//! Moving `key_version` up while keeping the old one in `also_accept` starts a grace
//! period; dropping it from `also_accept` ends it, and every address minted before is
//! refused from then on (a leaked or long-forwarded reply address stops working).
//! `[audit]`: a checkpoint signing key of its own instead of the root's, and the earlier
//! keys whose checkpoints still verify (docs/KEYS.md, "Audit signing key").

use super::*;

/// `[reply_tokens]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplyTokensFileConfig {
    /// The version new tokens are minted under (1–255). Default 1.
    pub key_version: Option<u8>,
    /// Older versions still accepted (the grace period).
    #[serde(default)]
    pub also_accept: Vec<u8>,
}

impl ReplyTokensFileConfig {
    pub fn into_keys(self) -> Result<palisade_mail::ReplyKeys, CliError> {
        let current = self.key_version.unwrap_or(1);
        if current == 0 || self.also_accept.contains(&0) {
            return Err(CliError::Config(
                "[reply_tokens] key versions run from 1 to 255".into(),
            ));
        }
        if self.also_accept.iter().any(|v| *v > current) {
            return Err(CliError::Config(
                "[reply_tokens] also_accept lists a version newer than key_version: raise key_version instead".into(),
            ));
        }
        let mut also_accept = self.also_accept;
        also_accept.retain(|v| *v != current);
        also_accept.sort_unstable();
        also_accept.dedup();
        Ok(palisade_mail::ReplyKeys { current, also_accept })
    }
}

/// `[hsm]`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct HsmFileConfig {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    pub token_label: String,
    /// Default `palisade-wrapping`.
    pub key_label: Option<String>,
    /// Keys in the token that wrapping moved away from, while `keys rotate-master
    /// --to-hsm` moves the data keys to `key_label` (docs/KEYS.md).
    #[serde(default)]
    pub previous_key_labels: Vec<String>,
    /// A file holding the user PIN (mode 0600).
    pub pin_file: PathBuf,
}

impl HsmFileConfig {
    pub fn into_settings(self) -> Result<palisade_hsm::HsmSettings, CliError> {
        if !self.module.is_file() {
            return Err(CliError::Config(format!(
                "[hsm] module {} does not exist",
                self.module.display()
            )));
        }
        crate::app::refuse_if_shared(&self.pin_file)?;
        let key_label = self.key_label.unwrap_or_else(|| "palisade-wrapping".into());
        if self.previous_key_labels.contains(&key_label) {
            return Err(CliError::Config(
                "[hsm] previous_key_labels lists key_label, the key in use".into(),
            ));
        }
        Ok(palisade_hsm::HsmSettings {
            module: self.module,
            token_label: self.token_label,
            key_label,
            previous_key_labels: self.previous_key_labels,
            pin: palisade_hsm::read_pin(&self.pin_file)?,
        })
    }
}

/// `[audit]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditFileConfig {
    /// A key made by `palisade keys audit-generate` (mode 0600). Default: the key
    /// derived from the master key's root.
    pub signing_key_file: Option<PathBuf>,
    /// Public keys (hex) that signed earlier checkpoints, kept so those still verify.
    /// The root's own key is always trusted for the checkpoints it signed.
    #[serde(default)]
    pub retired_public_keys: Vec<String>,
}

/// The checkpoint signing key configured in `[audit]`.
#[derive(Debug, Clone)]
pub struct AuditSigning {
    pub key: palisade_audit::SigningKey,
    pub retired: Vec<palisade_audit::VerifyingKey>,
}

impl AuditFileConfig {
    pub fn into_settings(self) -> Result<Option<AuditSigning>, CliError> {
        let retired = self
            .retired_public_keys
            .iter()
            .map(|text| {
                palisade_crypto::parse_audit_public_key(text)
                    .map_err(|e| CliError::Config(format!("[audit] retired_public_keys: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some(path) = self.signing_key_file else {
            if !retired.is_empty() {
                return Err(CliError::Config(
                    "[audit] retired_public_keys needs signing_key_file: the key that replaced them".into(),
                ));
            }
            return Ok(None);
        };
        crate::app::refuse_if_shared(&path)?;
        let key = palisade_crypto::load_audit_signing_key(&path)?;
        if retired.contains(&key.verifying_key()) {
            return Err(CliError::Config(
                "[audit] retired_public_keys lists the key in signing_key_file".into(),
            ));
        }
        Ok(Some(AuditSigning { key, retired }))
    }
}
