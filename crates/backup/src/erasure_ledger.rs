//! The erasure ledger: every erasure, by id only, in a file beside the master key and
//! never in the database or a backup. A backup taken before an erasure still holds the
//! person's wrapped key; restoring it and then reconciling with the ledger erases them
//! again before anything is served.
//!
//! One JSON line per erasure, each signed with a key derived from the root (so an entry
//! written by anyone else is refused rather than erasing whom it names) and chained to
//! the line before (so a line taken out of the middle is noticed). Lines taken off the
//! end cannot be told from a shorter history by the file alone; the database's own
//! `erasures` table puts them back at the next reconciliation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use palisade_core::{UnixMillis, UserId};
use palisade_crypto::Keyring;
use palisade_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{BackupError, io};

const FIRST_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends from this process never interleave.
static APPENDING: Mutex<()> = Mutex::new(());

/// One erasure the ledger holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub user: UserId,
    pub data_key_id: String,
    pub erased_at: UnixMillis,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    user: String,
    data_key: String,
    at: i64,
    prev: String,
    sig: String,
}

impl Line {
    fn signed_message(&self) -> Vec<u8> {
        format!(
            "palisade/erasure-ledger/v1\n{}\n{}\n{}\n{}\n{}",
            self.seq, self.user, self.data_key, self.at, self.prev
        )
        .into_bytes()
    }
}

/// What a reconciliation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Erasures this database held that the ledger lacked, now written to it.
    pub written: usize,
    /// People the ledger says were erased, whom this database still held: erased again.
    pub reapplied: Vec<UserId>,
}

/// The ledger file at one path.
#[derive(Clone, Debug)]
pub struct ErasureLedger {
    path: PathBuf,
}

impl ErasureLedger {
    /// The ledger beside `master_key_file`: `erasures.ledger` in the same directory.
    pub fn beside(master_key_file: &Path) -> Self {
        let dir = master_key_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self {
            path: dir.join("erasures.ledger"),
        }
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, each checked: its signature under `key` and its link to the line
    /// before. A missing file is an empty ledger.
    pub fn read(&self, key: &VerifyingKey) -> Result<Vec<LedgerEntry>, BackupError> {
        Ok(self.read_lines(key)?.into_iter().map(|(entry, _)| entry).collect())
    }

    fn read_lines(&self, key: &VerifyingKey) -> Result<Vec<(LedgerEntry, String)>, BackupError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BackupError::Io(self.path.display().to_string(), e)),
        };
        let mut prev = FIRST_PREV.to_owned();
        let mut entries = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let broken = |why: &str| BackupError::Ledger(format!("line {}: {why}", n + 1));
            let line: Line = serde_json::from_str(raw).map_err(|_| broken("not a ledger entry"))?;
            if line.seq != n as u64 + 1 || line.prev != prev {
                return Err(broken("out of sequence (a line was removed or moved)"));
            }
            let mut bytes = [0u8; 64];
            hex::decode_to_slice(&line.sig, &mut bytes).map_err(|_| broken("signature is not hex"))?;
            key.verify(&line.signed_message(), &Signature::from_bytes(&bytes))
                .map_err(|_| broken("signature does not verify with this master key"))?;
            prev = hex::encode(Sha256::digest(raw.as_bytes()));
            entries.push((
                LedgerEntry {
                    user: UserId::parse(&line.user).map_err(|_| broken("not an account id"))?,
                    data_key_id: line.data_key,
                    erased_at: UnixMillis(line.at),
                },
                raw.to_owned(),
            ));
        }
        Ok(entries)
    }

    /// Appends the entries not in the ledger yet (by account), signed with `key`;
    /// written and flushed to disk before returning. Returns how many were added.
    pub fn append(&self, key: &SigningKey, entries: &[LedgerEntry]) -> Result<usize, BackupError> {
        let _one = APPENDING.lock().map_err(|_| BackupError::Ledger("a writer failed".into()))?;
        let existing = self.read_lines(&key.verifying_key())?;
        let mut prev = existing
            .last()
            .map(|(_, raw)| hex::encode(Sha256::digest(raw.as_bytes())))
            .unwrap_or_else(|| FIRST_PREV.to_owned());
        let mut seq = existing.len() as u64;
        let mut out = String::new();
        let mut queued: Vec<&UserId> = Vec::new();
        for entry in entries {
            if existing.iter().any(|(e, _)| e.user == entry.user) || queued.contains(&&entry.user) {
                continue;
            }
            queued.push(&entry.user);
            seq += 1;
            let mut line = Line {
                seq,
                user: entry.user.to_string(),
                data_key: entry.data_key_id.clone(),
                at: entry.erased_at.0,
                prev,
                sig: String::new(),
            };
            line.sig = hex::encode(key.sign(&line.signed_message()).to_bytes());
            let raw = serde_json::to_string(&line).map_err(|e| BackupError::Ledger(e.to_string()))?;
            prev = hex::encode(Sha256::digest(raw.as_bytes()));
            out.push_str(&raw);
            out.push('\n');
        }
        let added = queued.len();
        if added == 0 {
            return Ok(0);
        }
        let mut file = open_for_append(&self.path)?;
        file.write_all(out.as_bytes()).map_err(io(self.path.display()))?;
        file.sync_all().map_err(io(self.path.display()))?;
        Ok(added)
    }

    /// Signs every entry again with `new` after checking it under `old` (a root
    /// rotation: the old root's key goes with it). Written to a new file that then
    /// replaces the old one.
    pub fn resign(&self, old: &VerifyingKey, new: &SigningKey) -> Result<usize, BackupError> {
        let entries = self.read(old)?;
        if entries.is_empty() {
            return Ok(0);
        }
        let fresh = Self::at(self.path.with_extension("ledger.new"));
        let _ = std::fs::remove_file(&fresh.path);
        let added = fresh.append(new, &entries)?;
        std::fs::rename(&fresh.path, &self.path).map_err(io(self.path.display()))?;
        Ok(added)
    }
}

fn open_for_append(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path.display()))
}

/// Brings the ledger and the database into agreement: erasures the database holds
/// are written to the ledger, and people the ledger names whom the database still
/// holds (a restored older backup) are erased again. Run by `restore` and by `serve`
/// before it serves.
pub async fn reconcile(
    store: &Store,
    ledger: &ErasureLedger,
    keys: &Keyring,
) -> Result<Reconciled, BackupError> {
    let signer = keys.erasure_ledger_key();
    let held = ledger.read(&signer.verifying_key())?;
    let recorded = store.erasures().await?;
    let missing: Vec<LedgerEntry> = recorded
        .iter()
        .filter(|r| !held.iter().any(|e| e.user == r.user))
        .map(|r| LedgerEntry {
            user: r.user.clone(),
            data_key_id: r.data_key_id.clone(),
            erased_at: r.erased_at,
        })
        .collect();
    let written = ledger.append(signer, &missing)?;
    let again: Vec<UserId> = held
        .iter()
        .filter(|e| !recorded.iter().any(|r| r.user == e.user))
        .map(|e| e.user.clone())
        .collect();
    let reapplied = store.reapply_erasures(&again).await?;
    Ok(Reconciled { written, reapplied })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> LedgerEntry {
        LedgerEntry {
            user: UserId::generate(),
            data_key_id: format!("dk_{n}"),
            erased_at: UnixMillis(n),
        }
    }

    #[test]
    fn entries_read_back_and_tampering_is_refused() {
        let dir = std::env::temp_dir().join(format!("ledger-test-{}", UserId::generate()));
        std::fs::create_dir_all(&dir).unwrap();
        let ledger = ErasureLedger::at(dir.join("erasures.ledger"));
        let key = SigningKey::from_bytes(&[7; 32]);
        let (a, b, c) = (entry(1), entry(2), entry(3));
        assert_eq!(ledger.append(&key, &[a.clone(), b.clone()]).unwrap(), 2);
        // The same account again adds nothing.
        assert_eq!(ledger.append(&key, &[a.clone(), c.clone()]).unwrap(), 1);
        assert_eq!(ledger.read(&key.verifying_key()).unwrap(), vec![a.clone(), b, c]);

        // Attack: an entry written by someone without the root (another key) is refused.
        let planted = ErasureLedger::at(dir.join("planted.ledger"));
        planted.append(&SigningKey::from_bytes(&[8; 32]), &[entry(4)]).unwrap();
        assert!(planted.read(&key.verifying_key()).is_err());

        // Attack: a line removed from the middle breaks the chain.
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(ledger.path(), format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert!(ledger.read(&key.verifying_key()).is_err());

        // Attack: another account id written into a signed line.
        let changed = lines[0].replace(a.user.as_str(), UserId::generate().as_str());
        std::fs::write(ledger.path(), format!("{changed}\n")).unwrap();
        assert!(ledger.read(&key.verifying_key()).is_err());

        // Signed again under a new root, it reads with the new key only.
        std::fs::write(ledger.path(), format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        let new = SigningKey::from_bytes(&[9; 32]);
        assert_eq!(ledger.resign(&key.verifying_key(), &new).unwrap(), 2);
        assert_eq!(ledger.read(&new.verifying_key()).unwrap().len(), 2);
        assert!(ledger.read(&key.verifying_key()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
