//! `[backup]`: who backups are encrypted to, where PostgreSQL's own tools are, and the
//! schedule `serve` keeps.

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
    /// Where `serve` writes scheduled backups; none are taken without it.
    pub directory: Option<PathBuf>,
    /// Minutes between scheduled backups (default a day; at least 15).
    pub every_minutes: Option<u64>,
    /// The newest this many scheduled backups are kept (default 7).
    pub keep: Option<usize>,
    /// Scheduled backups younger than this many days are kept too (default 30).
    pub keep_days: Option<u64>,
    /// The identity `serve` checks its own backups with (default: one it generates as
    /// `backup-verify.age` in the data directory). Its recipient is added to each
    /// scheduled backup's, so this server can decrypt what it wrote; the backup host
    /// still cannot.
    pub verify_identity: Option<PathBuf>,
    /// For PostgreSQL: the server where the check's scratch database is created and
    /// dropped (default: the database URL's server; the role needs CREATEDB).
    pub scratch_url: Option<String>,
}

/// `[backup]`, checked.
#[derive(Clone, Default)]
pub struct BackupSettings {
    pub recipients: Vec<palisade_backup::Recipient>,
    pub tools: palisade_backup::PgTools,
    pub schedule: Option<BackupSchedule>,
}

/// Scheduled backups, as `[backup]` sets them.
#[derive(Clone)]
pub struct BackupSchedule {
    pub directory: PathBuf,
    pub every: std::time::Duration,
    pub keep: usize,
    pub keep_for: std::time::Duration,
    pub verify_identity: Option<PathBuf>,
    pub scratch_url: Option<String>,
}

impl std::fmt::Debug for BackupSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupSettings")
            .field("recipients", &self.recipients.len())
            .field("tools", &self.tools)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl std::fmt::Debug for BackupSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The scratch URL may carry a password.
        f.debug_struct("BackupSchedule")
            .field("directory", &self.directory)
            .field("every", &self.every)
            .field("keep", &self.keep)
            .field("keep_for", &self.keep_for)
            .field("verify_identity", &self.verify_identity)
            .field("scratch_url", &self.scratch_url.as_ref().map(|_| "…"))
            .finish()
    }
}

impl BackupFileConfig {
    pub fn into_settings(self) -> Result<BackupSettings, CliError> {
        let recipients = parse_recipients(&self.recipients, "[backup] recipients")?;
        let schedule = match self.directory {
            Some(directory) => {
                if recipients.is_empty() {
                    return Err(CliError::Config(
                        "[backup] directory needs recipients: scheduled backups are encrypted to them".into(),
                    ));
                }
                let every_minutes = self.every_minutes.unwrap_or(24 * 60);
                if !(15..=7 * 24 * 60).contains(&every_minutes) {
                    return Err(CliError::Config(
                        "[backup] every_minutes must be 15 to 10080 (a week)".into(),
                    ));
                }
                let keep = self.keep.unwrap_or(7);
                if keep == 0 {
                    return Err(CliError::Config(
                        "[backup] keep must be at least 1: the newest backup is always kept".into(),
                    ));
                }
                let keep_days = self.keep_days.unwrap_or(30);
                if keep_days > 36_500 {
                    return Err(CliError::Config(
                        "[backup] keep_days must be at most 36500".into(),
                    ));
                }
                Some(BackupSchedule {
                    directory,
                    every: std::time::Duration::from_secs(every_minutes * 60),
                    keep,
                    keep_for: std::time::Duration::from_secs(keep_days * 86_400),
                    verify_identity: self.verify_identity,
                    scratch_url: self.scratch_url,
                })
            }
            None if self.every_minutes.is_some()
                || self.keep.is_some()
                || self.keep_days.is_some()
                || self.verify_identity.is_some()
                || self.scratch_url.is_some() =>
            {
                return Err(CliError::Config(
                    "[backup] schedule settings need a directory to write backups to".into(),
                ));
            }
            None => None,
        };
        Ok(BackupSettings {
            recipients,
            tools: palisade_backup::PgTools {
                bin_dir: self.pg_bin_dir,
            },
            schedule,
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
