//! Which scheduled backups to keep. A backup stays while either rule keeps it: it is
//! one of the newest `keep`, or younger than `keep_for`. Age is read from the name
//! `create` gave it (not the file's time, which a copy to another disk changes), and a
//! file whose name does not parse is never touched: retention removes only what it
//! can prove is an old Palisade backup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::BackupError;
use crate::error::io;

const PREFIX: &str = "palisade-";
const SUFFIX: &str = ".backup.age";
/// Work left behind by a backup that was interrupted (a crash, a kill) is removed once
/// it is older than this: no backup runs that long, so it is nobody's work in flight.
const ABANDONED_AFTER: Duration = Duration::from_secs(12 * 3600);

/// What retention removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub backups: Vec<PathBuf>,
    pub abandoned: Vec<PathBuf>,
}

/// Removes from `dir` the backups neither rule keeps, every set-aside failed archive
/// but the newest (kept for inspection; a failure that repeats must not fill the
/// disk), and abandoned work.
pub fn prune(dir: &Path, keep: usize, keep_for: Duration, now_ms: i64) -> Result<Pruned, BackupError> {
    let mut backups = Vec::new();
    let mut failed = Vec::new();
    let mut pruned = Pruned {
        abandoned: remove_abandoned(dir)?,
        ..Pruned::default()
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir.display()))? {
        let entry = entry.map_err(io(dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(made) = made_at(name) {
            backups.push((made, entry.path()));
        } else if let Some(made) = name.strip_suffix(".failed").and_then(made_at) {
            failed.push((made, entry.path()));
        }
    }
    failed.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, path) in failed.into_iter().skip(1) {
        remove(&path)?;
        pruned.backups.push(path);
    }
    backups.sort_by_key(|b| std::cmp::Reverse(b.0));
    let keep_for_ms = i64::try_from(keep_for.as_millis()).unwrap_or(i64::MAX);
    for (made, path) in backups.into_iter().skip(keep.max(1)) {
        if now_ms.saturating_sub(made) > keep_for_ms {
            remove(&path)?;
            pruned.backups.push(path);
        }
    }
    Ok(pruned)
}

/// Removes what an interrupted backup or check left in `dir` (a working directory
/// with an unencrypted copy, a partial archive) once it is old enough to be nobody's
/// work in flight.
pub fn remove_abandoned(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(is_leftover) && older_than(&entry, ABANDONED_AFTER) {
            remove(&entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// When a backup named `palisade-yyyymmddThhmmss.mmmZ.backup.age` was made, in Unix
/// milliseconds.
fn made_at(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let bytes = stamp.as_bytes();
    if bytes.len() != 20 || bytes[8] != b'T' || bytes[15] != b'.' || bytes[19] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = stamp.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let month = time::Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(number(0..4)?).ok()?,
        month,
        u8::try_from(number(6..8)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms_milli(
        u8::try_from(number(9..11)?).ok()?,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(13..15)?).ok()?,
        u16::try_from(number(16..19)?).ok()?,
    )
    .ok()?;
    let at = time::PrimitiveDateTime::new(date, clock).assume_utc();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A working directory or partial archive `create` makes and removes when it ends.
fn is_leftover(name: &str) -> bool {
    (name.starts_with(".palisade-backup-") || name.starts_with(".palisade-verify-"))
        || (name.starts_with(".palisade-") && name.ends_with(".backup.age.partial"))
}

fn older_than(entry: &std::fs::DirEntry, age: Duration) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

fn remove(path: &Path) -> Result<(), BackupError> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.map_err(io(path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn names_give_the_time_they_were_made() {
        assert_eq!(made_at("palisade-19700101T000000.000Z.backup.age"), Some(0));
        assert_eq!(
            made_at("palisade-20261207T081500.123Z.backup.age"),
            Some(1_796_631_300_123)
        );
        for other in [
            "palisade-20261207T081500.123Z.backup.age.partial",
            "palisade-20261307T081500.123Z.backup.age",
            "palisade-2026120xT081500.123Z.backup.age",
            "notes.txt",
            "palisade-20261207T081500.123Z.backup.age.failed",
        ] {
            assert_eq!(made_at(other), None, "{other}");
        }
    }

    fn backup(dir: &Path, day: i64) -> PathBuf {
        let at = time::OffsetDateTime::from_unix_timestamp(day * 86_400).unwrap();
        let name = format!(
            "palisade-{:04}{:02}{:02}T000000.000Z.backup.age",
            at.year(),
            u8::from(at.month()),
            at.day()
        );
        let path = dir.join(name);
        std::fs::write(&path, b"x").unwrap();
        path
    }

    #[test]
    fn a_backup_goes_only_when_neither_rule_keeps_it() {
        let dir = std::env::temp_dir().join(format!("palisade-retention-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let days: Vec<PathBuf> = (0..10).map(|day| backup(&dir, 20_000 + day)).collect();
        std::fs::write(dir.join("operator-notes.txt"), b"mine").unwrap();
        let failed_old = dir.join("palisade-20200101T000000.000Z.backup.age.failed");
        let failed_new = dir.join("palisade-20200102T000000.000Z.backup.age.failed");
        std::fs::write(&failed_old, b"x").unwrap();
        std::fs::write(&failed_new, b"x").unwrap();
        let now = (20_009 * DAY_MS) + DAY_MS / 2;
        // The newest three, and whatever is younger than five days.
        let pruned = prune(&dir, 3, Duration::from_secs(5 * 86_400), now).unwrap();
        let mut gone = pruned.backups.clone();
        gone.sort();
        let mut expected = days[..5].to_vec();
        expected.push(failed_old.clone());
        expected.sort();
        assert_eq!(gone, expected);
        assert!(
            failed_new.exists(),
            "the newest failed archive stays for inspection"
        );
        for kept in &days[5..] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(dir.join("operator-notes.txt").exists());
        // However old, the newest backup stays.
        std::fs::remove_file(&failed_new).unwrap();
        let pruned = prune(&dir, 0, Duration::ZERO, now + 400 * DAY_MS).unwrap();
        assert_eq!(pruned.backups.len(), 4);
        assert!(days[9].exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
