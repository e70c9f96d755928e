//! The archive: a tar of the signed manifest and the database copy, encrypted with age
//! to the operator's X25519 recipients, so that the host the backups are kept on
//! cannot read them. Reading takes only the three names it expects, into files it
//! names itself, with the manifest's size bounded.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{BackupError, error::io};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const SIGNATURE: &str = "manifest.sig";
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// Writes `out` (a new file) holding the manifest, its signature and the database file,
/// encrypted to `recipients` (never empty: `create` refuses that first).
pub(crate) fn write(
    out: &Path,
    recipients: &[crate::Recipient],
    manifest: &[u8],
    signature: &str,
    database_name: &str,
    database: &Path,
) -> Result<(), BackupError> {
    let file = create_private(out)?;
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(crate::Recipient::as_age))
        .map_err(|e| BackupError::Encrypt(e.to_string()))?;
    let sealed = encryptor
        .wrap_output(BufWriter::new(file))
        .map_err(io(out.display()))?;
    let mut tar = tar::Builder::new(sealed);
    append_bytes(&mut tar, MANIFEST, manifest)?;
    append_bytes(&mut tar, SIGNATURE, signature.as_bytes())?;
    let mut db = File::open(database).map_err(io(database.display()))?;
    tar.append_file(database_name, &mut db)
        .map_err(io(database.display()))?;
    let sealed = tar.into_inner().map_err(io(out.display()))?;
    let file = sealed
        .finish()
        .map_err(io(out.display()))?
        .into_inner()
        .map_err(|e| BackupError::Io(out.display().to_string(), e.into_error()))?;
    // Durable before it is called a backup.
    file.sync_all().map_err(io(out.display()))?;
    Ok(())
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> Result<(), BackupError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes).map_err(io(name))
}

/// A new file only its owner can read.
pub(crate) fn create_private(path: &Path) -> Result<File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path.display()))
}

/// What an archive held once decrypted.
pub(crate) struct Opened {
    pub manifest: Vec<u8>,
    pub signature: String,
    pub database_name: String,
    pub database: PathBuf,
    pub database_bytes: u64,
    pub database_sha256: String,
}

/// Decrypts `archive` with `identity`, keeping the database file as `database_dir`/`<its name>`.
pub(crate) fn read(
    archive: &Path,
    identity: &crate::Identity,
    database_dir: &Path,
) -> Result<Opened, BackupError> {
    let file = File::open(archive).map_err(io(archive.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let plain = decryptor
        .decrypt(std::iter::once(identity.as_age()))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let mut tar = tar::Archive::new(plain);
    let mut manifest = None;
    let mut signature = None;
    let mut database = None;
    // A changed byte anywhere fails age's authentication of its chunk, surfacing here
    // as a read error: nothing read before it is used unless the whole archive reads.
    for entry in tar.entries().map_err(decrypt_error)? {
        let mut entry = entry.map_err(decrypt_error)?;
        let name = entry
            .path()
            .map_err(decrypt_error)?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| BackupError::Format("a name that is not UTF-8".into()))?;
        match name.as_str() {
            MANIFEST if manifest.is_none() => {
                manifest = Some(read_small(&mut entry, MAX_MANIFEST_BYTES, MANIFEST)?);
            }
            SIGNATURE if signature.is_none() => {
                let bytes = read_small(&mut entry, 256, SIGNATURE)?;
                signature = Some(
                    String::from_utf8(bytes)
                        .map_err(|_| BackupError::Format("signature is not text".into()))?,
                );
            }
            "database.sqlite" | "database.pgdump" if database.is_none() => {
                let path = database_dir.join(&name);
                let mut out = BufWriter::new(create_private(&path)?);
                let (bytes, sha256) = hash_copy(&mut entry, &mut out).map_err(|e| match e {
                    CopyError::Read(e) => decrypt_error(e),
                    CopyError::Write(e) => BackupError::Io(path.display().to_string(), e),
                })?;
                out.flush().map_err(io(path.display()))?;
                database = Some((name, path, bytes, sha256));
            }
            other => {
                return Err(BackupError::Format(format!("unexpected entry {other:?}")));
            }
        }
    }
    let (Some(manifest), Some(signature), Some((database_name, database, database_bytes, database_sha256))) =
        (manifest, signature, database)
    else {
        return Err(BackupError::Format(
            "the manifest, its signature or the database is missing".into(),
        ));
    };
    Ok(Opened {
        manifest,
        signature,
        database_name,
        database,
        database_bytes,
        database_sha256,
    })
}

fn read_small(entry: &mut impl Read, limit: u64, name: &str) -> Result<Vec<u8>, BackupError> {
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(decrypt_error)?;
    if bytes.len() as u64 > limit {
        return Err(BackupError::Format(format!("{name} is too large")));
    }
    Ok(bytes)
}

fn decrypt_error(e: std::io::Error) -> BackupError {
    BackupError::Decrypt(e.to_string())
}

/// SHA-256 of a file, hex, and its length.
pub(crate) fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = BufReader::new(File::open(path).map_err(io(path.display()))?);
    hash_copy(&mut file, &mut std::io::sink()).map_err(|e| match e {
        CopyError::Read(e) | CopyError::Write(e) => BackupError::Io(path.display().to_string(), e),
    })
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copies `src` to `dst`, returning the length and SHA-256 (hex) of what passed.
fn hash_copy(src: &mut impl Read, dst: &mut impl Write) -> Result<(u64, String), CopyError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = src.read(&mut buffer).map_err(CopyError::Read)?;
        if n == 0 {
            return Ok((bytes, hex::encode(hasher.finalize())));
        }
        hasher.update(&buffer[..n]);
        dst.write_all(&buffer[..n]).map_err(CopyError::Write)?;
        bytes += n as u64;
    }
}
