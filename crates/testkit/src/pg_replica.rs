//! A PostgreSQL primary with a synchronous streaming standby, on loopback, for failover
//! tests: `synchronous_standby_names = '*'` and `synchronous_commit = on`, so a commit
//! is acknowledged only once the standby has it. The primary can be killed outright
//! (SIGKILL to every one of its processes, as a lost machine would be) and the standby
//! promoted. Both are stopped and removed when dropped.
//!
//! Each server runs in a process group of its own, so that "kill the primary" reaches
//! its backends and WAL sender too, not only the postmaster. `fsync` is off: the test
//! kills processes, not the machine, and what a killed process wrote is in the page
//! cache for the survivor to read.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

/// The database both servers carry.
pub const DATABASE: &str = "palisade";

pub struct ReplicatedPostgres {
    pub primary_port: u16,
    pub standby_port: u16,
    bin: PathBuf,
    dir: PathBuf,
    primary: Option<Child>,
    standby: Option<Child>,
}

impl Drop for ReplicatedPostgres {
    fn drop(&mut self) {
        for child in [self.primary.take(), self.standby.take()].into_iter().flatten() {
            kill_group(child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SIGKILL to the server's whole process group, then reaps the child.
fn kill_group(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl ReplicatedPostgres {
    /// Starts the primary, copies it with `pg_basebackup`, starts the standby and waits
    /// until the primary reports it as its synchronous standby.
    pub async fn start() -> anyhow::Result<ReplicatedPostgres> {
        let bin = pg_bin()?;
        let dir = std::env::temp_dir().join(format!("palisade-pgpair-{}", crate::random_hex(6)?));
        std::fs::create_dir(&dir)?;
        let mut pair = ReplicatedPostgres {
            primary_port: free_port()?,
            standby_port: free_port()?,
            bin,
            dir,
            primary: None,
            standby: None,
        };
        as_postgres_owner(&pair.dir)?;
        let primary_data = pair.dir.join("primary");
        pair.run(
            "initdb",
            &[
                "-D",
                path_str(&primary_data)?,
                "--auth=trust",
                "--username=palisade",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )?;
        let port = pair.primary_port;
        pair.primary = Some(pair.server(
            &primary_data,
            port,
            &["wal_level=replica", "max_wal_senders=4", "synchronous_commit=on"],
        )?);
        let mut admin = connect_within(port, "postgres", Duration::from_secs(60)).await?;
        sqlx::query("CREATE DATABASE palisade")
            .execute(&mut admin)
            .await?;
        let standby_data = pair.dir.join("standby");
        pair.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "palisade",
                "-D",
                path_str(&standby_data)?,
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
        )?;
        // The copy is taken before the primary is made synchronous: the promoted
        // standby must not wait for a synchronous standby of its own that does not exist.
        pair.standby = Some(pair.server(&standby_data, pair.standby_port, &["hot_standby=on"])?);
        // Synchronous only now: before the standby exists, every commit (CREATE
        // DATABASE included) would wait for it.
        sqlx::query("ALTER SYSTEM SET synchronous_standby_names = '*'")
            .execute(&mut admin)
            .await?;
        sqlx::query("SELECT pg_reload_conf()").execute(&mut admin).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sync: i64 = sqlx::query("SELECT COUNT(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
                .fetch_one(&mut admin)
                .await?
                .try_get(0)?;
            if sync == 1 {
                break;
            }
            if Instant::now() > deadline {
                bail!("the standby did not become synchronous within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        admin.close().await.ok();
        Ok(pair)
    }

    /// libpq's multi-host URL naming both servers, primary first.
    pub fn url(&self) -> String {
        format!(
            "postgres://palisade@127.0.0.1:{},127.0.0.1:{}/{DATABASE}",
            self.primary_port, self.standby_port
        )
    }

    /// The same list with the standby first: a client must still find the primary.
    pub fn url_standby_first(&self) -> String {
        format!(
            "postgres://palisade@127.0.0.1:{},127.0.0.1:{}/{DATABASE}?target_session_attrs=read-write",
            self.standby_port, self.primary_port
        )
    }

    /// The URL of the standby alone (the primary after promotion).
    pub fn standby_url(&self) -> String {
        format!("postgres://palisade@127.0.0.1:{}/{DATABASE}", self.standby_port)
    }

    /// SIGKILL to every process of the primary at once.
    pub fn kill_primary(&mut self) {
        if let Some(child) = self.primary.take() {
            kill_group(child);
        }
    }

    /// Promotes the standby and waits until it takes writes.
    pub async fn promote_standby(&self) -> anyhow::Result<()> {
        let mut standby = connect_within(self.standby_port, DATABASE, Duration::from_secs(10)).await?;
        let promoted: bool = sqlx::query("SELECT pg_promote(true, 30)")
            .fetch_one(&mut standby)
            .await?
            .try_get(0)?;
        if !promoted {
            bail!("pg_promote did not finish within 30 s");
        }
        standby.close().await.ok();
        Ok(())
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let output = as_postgres(&self.bin.join(tool))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {tool}"))?;
        if !output.status.success() {
            bail!(
                "{tool} failed: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn server(&self, data: &Path, port: u16, settings: &[&str]) -> anyhow::Result<Child> {
        use std::os::unix::process::CommandExt as _;
        let log = std::fs::File::create(self.dir.join(format!("postgres-{port}.log")))?;
        let mut command = as_postgres(&self.bin.join("postgres"));
        command
            .args([
                "-D",
                path_str(data)?,
                "-p",
                &port.to_string(),
                "-k",
                path_str(&self.dir)?,
            ])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=300",
            ]);
        for setting in settings {
            command.args(["-c", setting]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0);
        command.spawn().context("starting postgres")
    }

    /// The servers' logs, for a failing test's report.
    pub fn logs(&self) -> String {
        [self.primary_port, self.standby_port]
            .iter()
            .map(|port| {
                let text = std::fs::read_to_string(self.dir.join(format!("postgres-{port}.log")))
                    .unwrap_or_default();
                format!("--- postgres on {port}\n{text}")
            })
            .collect()
    }
}

async fn connect_within(port: u16, database: &str, wait: Duration) -> anyhow::Result<PgConnection> {
    let url = format!("postgres://palisade@127.0.0.1:{port}/{database}");
    let deadline = Instant::now() + wait;
    loop {
        match PgConnection::connect(&url).await {
            Ok(connection) => return Ok(connection),
            Err(e) if Instant::now() > deadline => {
                return Err(e).with_context(|| format!("connecting to {url}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The PostgreSQL server binaries: `PALISADE_TEST_PG_BIN` (scripts/test.sh sets it),
/// else Debian's newest.
fn pg_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("PALISADE_TEST_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").is_file())
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .context("no PostgreSQL server binaries (scripts/test.sh installs postgresql-15)")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user.
fn as_postgres(tool: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(tool);
        command
    } else {
        Command::new(tool)
    }
}

fn as_postgres_owner(dir: &Path) -> anyhow::Result<()> {
    if running_as_root() {
        let status = Command::new("chown").arg("postgres:").arg(dir).status()?;
        if !status.success() {
            bail!("chown postgres {} failed", dir.display());
        }
    }
    Ok(())
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("temp path is not UTF-8")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}
