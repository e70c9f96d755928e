//! `[backup]`: who backups are encrypted to, and where PostgreSQL's own tools are.

use super::*;

/// `[backup]`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct BackupFileConfig {
    /// age X25519 recipients (`age1…`): every backup is encrypted to all of them, and
    /// only their identities (kept off this server) can read it.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// A directory holding `pg_dump` and `pg_restore` (default: `PATH`, then Debian's
    /// `/usr/lib/postgresql/<newest>/bin`).
    pub pg_bin_dir: Option<PathBuf>,
}

/// `[backup]`, checked.
#[derive(Clone, Default)]
pub struct BackupSettings {
    pub recipients: Vec<palisade_backup::Recipient>,
    pub tools: palisade_backup::PgTools,
}

impl std::fmt::Debug for BackupSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupSettings")
            .field("recipients", &self.recipients.len())
            .field("tools", &self.tools)
            .finish()
    }
}

impl BackupFileConfig {
    pub fn into_settings(self) -> Result<BackupSettings, CliError> {
        Ok(BackupSettings {
            recipients: parse_recipients(&self.recipients, "[backup] recipients")?,
            tools: palisade_backup::PgTools {
                bin_dir: self.pg_bin_dir,
            },
        })
    }
}

/// age X25519 recipients from their `age1…` text; `origin` names where they came from.
pub fn parse_recipients(texts: &[String], origin: &str) -> Result<Vec<palisade_backup::Recipient>, CliError> {
    texts
        .iter()
        .map(|text| {
            text.trim().parse().map_err(|_| {
                CliError::Config(format!(
                    "{origin}: {text:?} is not an age X25519 recipient (age1…)"
                ))
            })
        })
        .collect()
}
