//! `[hsm]`: the data-key wrapping key in a PKCS#11 token instead of the master key
//! file (the file keeps the root the derived keys come from).
//! `[reply_tokens]`: which key version signs the capability tokens in reply addresses,
//! `Message-ID`s and bounce addresses, and which older versions are still accepted.
//! Moving `key_version` up while keeping the old one in `also_accept` starts a grace
//! period; dropping it from `also_accept` ends it, and every address minted before is
//! refused from then on (a leaked or long-forwarded reply address stops working).

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
        Ok(palisade_hsm::HsmSettings {
            module: self.module,
            token_label: self.token_label,
            key_label: self.key_label.unwrap_or_else(|| "palisade-wrapping".into()),
            pin: palisade_hsm::read_pin(&self.pin_file)?,
        })
    }
}
