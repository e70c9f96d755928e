//! PostgreSQL's own tools, run as children: `pg_dump` inside the snapshot Palisade
//! holds open (so the dump is exactly what the manifest counted) and `pg_restore` into
//! an empty database. The password goes in the environment, never on a command line
//! another user could read.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::BackupError;

/// Where `pg_dump` and `pg_restore` are.
#[derive(Clone, Debug, Default)]
pub struct PgTools {
    /// A directory holding both; otherwise `PATH`, then Debian's
    /// `/usr/lib/postgresql/<newest>/bin`.
    pub bin_dir: Option<PathBuf>,
}

impl PgTools {
    fn tool(&self, name: &str) -> PathBuf {
        if let Some(dir) = &self.bin_dir {
            return dir.join(name);
        }
        let on_path = std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|t| t.is_file())
            })
            .unwrap_or_default();
        if let Some(found) = on_path {
            return found;
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse().ok()?;
                Some((version, e.path().join("bin").join(name)))
            })
            .filter(|(_, p)| p.is_file())
            .collect();
        versions.sort();
        versions.pop().map_or_else(|| PathBuf::from(name), |(_, p)| p)
    }

    /// Dumps the database at `url` as it is in the exported snapshot `snapshot`.
    pub(crate) async fn dump(&self, url: &str, snapshot: &str, out: &Path) -> Result<(), BackupError> {
        let mut args = vec![
            "--format=custom".to_owned(),
            "--no-owner".to_owned(),
            "--no-privileges".to_owned(),
            format!("--snapshot={snapshot}"),
            "--file".to_owned(),
        ];
        args.push(path_arg(out)?);
        self.run("pg_dump", url, args).await
    }

    /// Restores a dump into the (empty) database at `url`, all or nothing.
    pub(crate) async fn restore(&self, url: &str, dump: &Path) -> Result<(), BackupError> {
        let args = vec![
            "--no-owner".to_owned(),
            "--no-privileges".to_owned(),
            "--exit-on-error".to_owned(),
            "--single-transaction".to_owned(),
            path_arg(dump)?,
        ];
        self.run("pg_restore", url, args).await
    }

    async fn run(&self, name: &str, url: &str, mut args: Vec<String>) -> Result<(), BackupError> {
        let (url, password) = without_password(url)?;
        args.push(format!("--dbname={url}"));
        let mut command = tokio::process::Command::new(self.tool(name));
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        let output = command.output().await.map_err(|e| BackupError::Tool {
            tool: name.into(),
            detail: format!(
                "could not start it ({e}); install the PostgreSQL client or set [backup] pg_bin_dir"
            ),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(BackupError::Tool {
            tool: name.into(),
            detail: format!("{}: {}", output.status, tail.trim()),
        })
    }
}

fn path_arg(path: &Path) -> Result<String, BackupError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| BackupError::Refused(format!("{} is not a UTF-8 path", path.display())))
}

/// The URL without its password, and the password.
fn without_password(url: &str) -> Result<(String, Option<String>), BackupError> {
    let mut parsed =
        url::Url::parse(url).map_err(|_| BackupError::Refused("the database URL does not parse".into()))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    parsed
        .set_password(None)
        .map_err(|_| BackupError::Refused("the database URL has no host".into()))?;
    Ok((parsed.to_string(), password))
}

/// `url` with its database name replaced by `name`.
pub(crate) fn with_database(url: &str, name: &str) -> Result<String, BackupError> {
    let mut parsed =
        url::Url::parse(url).map_err(|_| BackupError::Refused("the database URL does not parse".into()))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_and_is_decoded() {
        let (url, password) =
            without_password("postgres://palisade:p%40s+s@127.0.0.1:5432/desk?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://palisade@127.0.0.1:5432/desk?sslmode=disable");
        assert_eq!(password.as_deref(), Some("p@s+s"));
        assert_eq!(without_password("postgres://u@h/d").unwrap().1, None);
        assert_eq!(
            with_database("postgres://u:p@h:1/desk?x=1", "scratch").unwrap(),
            "postgres://u:p@h:1/scratch?x=1"
        );
    }
}
