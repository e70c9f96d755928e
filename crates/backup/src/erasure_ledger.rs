//! The erasure ledger: every erasure, by id only, in a file beside the master key and
//! never in the database or a backup. A backup taken before an erasure still holds the
//! person's wrapped key; restoring it and then reconciling with the ledger erases them
//! again before anything is served.
//!
//! One JSON line per erasure, each signed with a key derived from the root (so an entry
//! written by anyone else is refused rather than erasing whom it names) and chained to
//! the line before (so a line taken out of the middle is noticed). A root rotation adds
//! a line signed by the old root's key and countersigned by the new one's, so the
//! ledger reads with either file: a backup from before the rotation is restored with
//! the old file and still gets every later erasure. Lines taken off the end cannot be
//! told from a shorter history by the file alone; the database's own `erasures` table
//! puts them back at the next reconciliation.

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
    /// An erasure (`user`, `data_key`), or `rekey`: the root changed to `next`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    data_key: Option<String>,
    at: i64,
    /// The public key that signed this line.
    key: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    next: Option<String>,
    prev: String,
    sig: String,
    /// The next key's signature over the same line: it agrees to succeed `key`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    next_sig: Option<String>,
}

impl Line {
    fn signed_message(&self, role: &str) -> Vec<u8> {
        format!(
            "palisade/erasure-ledger/v1/{role}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.seq,
            self.user.as_deref().unwrap_or(""),
            self.data_key.as_deref().unwrap_or(""),
            self.at,
            self.key,
            self.next.as_deref().unwrap_or(""),
            self.prev
        )
        .into_bytes()
    }
}

fn public_key(hex_key: &str) -> Option<VerifyingKey> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut bytes).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn verifies(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature, &mut bytes).is_ok()
        && key.verify(message, &Signature::from_bytes(&bytes)).is_ok()
}

/// A line as read: its erasure (none for a change of root) and its exact text.
type ReadLine = (Option<LedgerEntry>, String);

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
        Ok(self
            .read_lines(key)?
            .0
            .into_iter()
            .filter_map(|(entry, _)| entry)
            .collect())
    }

    /// Each line (its entry, if an erasure, and its text) and the root holding the
    /// ledger now (hex), checked as [`ErasureLedger::read`] says.
    fn read_lines(&self, key: &VerifyingKey) -> Result<(Vec<ReadLine>, Option<String>), BackupError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
            Err(e) => return Err(BackupError::Io(self.path.display().to_string(), e)),
        };
        let mut prev = FIRST_PREV.to_owned();
        let mut lines = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let broken = |why: &str| BackupError::Ledger(format!("line {}: {why}", n + 1));
            let line: Line = serde_json::from_str(raw).map_err(|_| broken("not a ledger entry"))?;
            if line.seq != n as u64 + 1 || line.prev != prev {
                return Err(broken("out of sequence (a line was removed or moved)"));
            }
            let signer = public_key(&line.key).ok_or_else(|| broken("not a signing key"))?;
            if !verifies(&signer, &line.signed_message("entry"), &line.sig) {
                return Err(broken("its signature does not verify"));
            }
            match (&line.next, &line.next_sig, &line.user) {
                (Some(next), Some(next_sig), None) => {
                    let next = public_key(next).ok_or_else(|| broken("not a signing key"))?;
                    if !verifies(&next, &line.signed_message("successor"), next_sig) {
                        return Err(broken("the new root's signature does not verify"));
                    }
                }
                (None, None, Some(_)) => {}
                _ => return Err(broken("neither an erasure nor a new root")),
            }
            prev = hex::encode(Sha256::digest(raw.as_bytes()));
            lines.push((line, raw.to_owned()));
        }
        // The roots in the order they held the ledger: each line is signed by the root
        // of its time, and a change of root (signed by both) hands over to the next. So
        // a root retired by a rotation signs nothing after it, and the ledger reads with
        // any root of the chain.
        let mut current: Option<&str> = None;
        let mut chain: Vec<&str> = Vec::new();
        for (line, _) in &lines {
            match current {
                None => chain.push(&line.key),
                Some(root) if root != line.key => {
                    return Err(BackupError::Ledger(format!(
                        "line {}: signed by a root that did not hold the ledger then",
                        line.seq
                    )));
                }
                Some(_) => {}
            }
            current = Some(line.next.as_deref().unwrap_or(&line.key));
            if let Some(next) = &line.next {
                chain.push(next);
            }
        }
        let reader = hex::encode(key.as_bytes());
        if !lines.is_empty() && !chain.contains(&reader.as_str()) {
            return Err(BackupError::Ledger(
                "signed with a key this master key does not vouch for".into(),
            ));
        }
        let current = current.map(str::to_owned);
        let mut out = Vec::new();
        for (line, raw) in lines {
            let entry = match (line.user, line.data_key) {
                (Some(user), Some(data_key_id)) => Some(LedgerEntry {
                    user: UserId::parse(&user)
                        .map_err(|_| BackupError::Ledger(format!("line {}: not an account id", line.seq)))?,
                    data_key_id,
                    erased_at: UnixMillis(line.at),
                }),
                _ => None,
            };
            out.push((entry, raw));
        }
        Ok((out, current))
    }

    /// Appends the entries not in the ledger yet (by account), signed with `key`;
    /// written and flushed to disk before returning. Returns how many were added.
    pub fn append(&self, key: &SigningKey, entries: &[LedgerEntry]) -> Result<usize, BackupError> {
        let _one = APPENDING
            .lock()
            .map_err(|_| BackupError::Ledger("a writer failed".into()))?;
        let (existing, current) = self.read_lines(&key.verifying_key())?;
        let signer = hex::encode(key.verifying_key().as_bytes());
        if current.as_ref().is_some_and(|root| *root != signer) {
            return Err(BackupError::Ledger(
                "a root rotation handed the ledger to another root: write with the current master key".into(),
            ));
        }
        let mut queued: Vec<&UserId> = Vec::new();
        let mut lines = Vec::new();
        for entry in entries {
            let known = existing
                .iter()
                .any(|(e, _)| e.as_ref().is_some_and(|e| e.user == entry.user));
            if known || queued.contains(&&entry.user) {
                continue;
            }
            queued.push(&entry.user);
            lines.push(Line {
                seq: 0,
                user: Some(entry.user.to_string()),
                data_key: Some(entry.data_key_id.clone()),
                at: entry.erased_at.0,
                key: hex::encode(key.verifying_key().as_bytes()),
                next: None,
                prev: String::new(),
                sig: String::new(),
                next_sig: None,
            });
        }
        self.write_after(&existing, lines, key, None)
    }

    /// Records a root rotation: `old` hands over to `new`, both signing, so the ledger
    /// reads with either root and later entries are signed with the new one.
    pub fn change_root(&self, old: &SigningKey, new: &SigningKey) -> Result<(), BackupError> {
        let _one = APPENDING
            .lock()
            .map_err(|_| BackupError::Ledger("a writer failed".into()))?;
        let (existing, current) = self.read_lines(&old.verifying_key())?;
        let next = hex::encode(new.verifying_key().as_bytes());
        match current {
            Some(root) if root == next => return Ok(()),
            Some(root) if root != hex::encode(old.verifying_key().as_bytes()) => {
                return Err(BackupError::Ledger(
                    "the old root does not hold the ledger".into(),
                ));
            }
            _ => {}
        }
        let line = Line {
            seq: 0,
            user: None,
            data_key: None,
            at: UnixMillis::now().0,
            key: hex::encode(old.verifying_key().as_bytes()),
            next: Some(next),
            prev: String::new(),
            sig: String::new(),
            next_sig: None,
        };
        self.write_after(&existing, vec![line], old, Some(new))
            .map(|_| ())
    }

    fn write_after(
        &self,
        existing: &[ReadLine],
        lines: Vec<Line>,
        key: &SigningKey,
        successor: Option<&SigningKey>,
    ) -> Result<usize, BackupError> {
        if lines.is_empty() {
            return Ok(0);
        }
        let mut prev = existing
            .last()
            .map(|(_, raw)| hex::encode(Sha256::digest(raw.as_bytes())))
            .unwrap_or_else(|| FIRST_PREV.to_owned());
        let mut seq = existing.len() as u64;
        let mut out = String::new();
        let added = lines.len();
        for mut line in lines {
            seq += 1;
            line.seq = seq;
            line.prev = prev;
            line.sig = hex::encode(key.sign(&line.signed_message("entry")).to_bytes());
            if let Some(next) = successor {
                line.next_sig = Some(hex::encode(
                    next.sign(&line.signed_message("successor")).to_bytes(),
                ));
            }
            let raw = serde_json::to_string(&line).map_err(|e| BackupError::Ledger(e.to_string()))?;
            prev = hex::encode(Sha256::digest(raw.as_bytes()));
            out.push_str(&raw);
            out.push('\n');
        }
        let mut file = open_for_append(&self.path)?;
        file.write_all(out.as_bytes()).map_err(io(self.path.display()))?;
        file.sync_all().map_err(io(self.path.display()))?;
        Ok(added)
    }
}

/// Writes each erasure to the ledger as the desk makes it, signed with `keys`' root.
pub struct LedgerWriter {
    ledger: ErasureLedger,
    keys: std::sync::Arc<Keyring>,
}

impl LedgerWriter {
    pub fn new(ledger: ErasureLedger, keys: std::sync::Arc<Keyring>) -> Self {
        Self { ledger, keys }
    }
}

impl palisade_store::ErasureLog for LedgerWriter {
    fn write(&self, erased: &[palisade_store::ErasureRecord]) -> Result<(), String> {
        let entries: Vec<LedgerEntry> = erased
            .iter()
            .map(|r| LedgerEntry {
                user: r.user.clone(),
                data_key_id: r.data_key_id.clone(),
                erased_at: r.erased_at,
            })
            .collect();
        self.ledger
            .append(self.keys.erasure_ledger_key(), &entries)
            .map(|_| ())
            .map_err(|e| e.to_string())
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
        planted
            .append(&SigningKey::from_bytes(&[8; 32]), &[entry(4)])
            .unwrap();
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

        // A new root: the ledger reads with either root, and later entries are the new
        // root's.
        std::fs::write(ledger.path(), format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        let new = SigningKey::from_bytes(&[9; 32]);
        ledger.change_root(&key, &new).unwrap();
        ledger.change_root(&key, &new).unwrap();
        let d = entry(5);
        assert_eq!(ledger.append(&new, std::slice::from_ref(&d)).unwrap(), 1);
        for reader in [&key, &new] {
            let read = ledger.read(&reader.verifying_key()).unwrap();
            assert_eq!(read.len(), 3, "every erasure, read with either root");
            assert_eq!(read[2], d);
        }
        // Attack: the retired root writes after the rotation. The ledger will not take
        // it, and a line it signs and appends by hand is refused by either root.
        assert!(ledger.append(&key, &[entry(7)]).is_err());
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        let last = text.lines().last().unwrap();
        let mut late = Line {
            seq: text.lines().count() as u64 + 1,
            user: Some(UserId::generate().to_string()),
            data_key: Some("dk_x".into()),
            at: 8,
            key: hex::encode(key.verifying_key().as_bytes()),
            next: None,
            prev: hex::encode(Sha256::digest(last.as_bytes())),
            sig: String::new(),
            next_sig: None,
        };
        late.sig = hex::encode(key.sign(&late.signed_message("entry")).to_bytes());
        let kept = text.clone();
        std::fs::write(
            ledger.path(),
            format!("{text}{}\n", serde_json::to_string(&late).unwrap()),
        )
        .unwrap();
        assert!(ledger.read(&key.verifying_key()).is_err());
        assert!(ledger.read(&new.verifying_key()).is_err());
        std::fs::write(ledger.path(), kept).unwrap();

        // Attack: a stranger's entry followed by a change of root to this root that this
        // root never countersigned (the stranger signs both halves) vouches for nothing.
        let stranger = SigningKey::from_bytes(&[10; 32]);
        let planted = ErasureLedger::at(dir.join("planted-root.ledger"));
        planted.append(&stranger, &[entry(6)]).unwrap();
        let first = std::fs::read_to_string(planted.path()).unwrap();
        let mut claim = Line {
            seq: 2,
            user: None,
            data_key: None,
            at: 7,
            key: hex::encode(stranger.verifying_key().as_bytes()),
            next: Some(hex::encode(new.verifying_key().as_bytes())),
            prev: hex::encode(Sha256::digest(first.trim_end().as_bytes())),
            sig: String::new(),
            next_sig: None,
        };
        claim.sig = hex::encode(stranger.sign(&claim.signed_message("entry")).to_bytes());
        claim.next_sig = Some(hex::encode(
            stranger.sign(&claim.signed_message("successor")).to_bytes(),
        ));
        std::fs::write(
            planted.path(),
            format!("{first}{}\n", serde_json::to_string(&claim).unwrap()),
        )
        .unwrap();
        assert!(planted.read(&new.verifying_key()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
