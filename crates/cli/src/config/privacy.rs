//! `[privacy]`: how privacy requests are answered. Four eyes for erasure (off unless
//! asked for), the deadline every request is answered by, and where the erasure ledger
//! lives (beside the master key unless told otherwise: it must survive what a backup
//! restore replaces, and go wherever the key goes).

use super::*;

/// `[privacy]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PrivacyFileConfig {
    /// A second person with privacy rights approves each erasure.
    pub four_eyes: Option<bool>,
    /// Days within which a request is answered (default 30; GDPR allows one month).
    pub answer_within_days: Option<u32>,
    /// The erasure ledger's file (default: `erasures.ledger` beside the master key).
    pub erasure_ledger: Option<PathBuf>,
}

/// `[privacy]`, resolved.
#[derive(Debug, Clone)]
pub struct PrivacySettings {
    pub four_eyes: bool,
    pub answer_within_days: u32,
    pub erasure_ledger: PathBuf,
}

impl PrivacyFileConfig {
    pub fn into_settings(self, master_key_file: &Path) -> Result<PrivacySettings, CliError> {
        let answer_within_days = match self.answer_within_days {
            None => 30,
            Some(days @ 1..=90) => days,
            Some(_) => {
                return Err(CliError::Config(
                    "[privacy] answer_within_days is between 1 and 90".into(),
                ));
            }
        };
        let erasure_ledger = self.erasure_ledger.unwrap_or_else(|| {
            palisade_backup::erasure_ledger::ErasureLedger::beside(master_key_file)
                .path()
                .to_owned()
        });
        Ok(PrivacySettings {
            four_eyes: self.four_eyes.unwrap_or(false),
            answer_within_days,
            erasure_ledger,
        })
    }
}
