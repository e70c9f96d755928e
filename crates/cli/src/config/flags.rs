//! The command line: subcommands, flags and the `PALISADE_*` variables clap reads, and
//! the refusal of unknown `PALISADE_*` variables.

use super::*;

#[derive(Parser, Debug)]
#[command(name = "palisade", version, about = "Security-first, self-hosted help desk")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Optional TOML configuration file.
    #[arg(long, env = "PALISADE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the SQLite database, master key and TLS certificate live.
    #[arg(long, env = "PALISADE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite in the data directory.
    #[arg(long, env = "PALISADE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The master key file (64 hex characters). Defaults to `<data-dir>/master.key`.
    #[arg(long, env = "PALISADE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "PALISADE_LOG_JSON", global = true)]
    pub log_json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTPS server.
    Serve(ServeArgs),
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// DKIM keys for outbound mail.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
    /// Receive one message on stdin from an existing MTA (pipe mode). Exit status:
    /// 0 taken, 65 refused (data), 67 unknown recipient, 75 try again later, 77
    /// refused (policy); the SMTP reply is printed on stderr.
    Ingest(IngestArgs),
    /// DNS checks for the organisation's own domain.
    Dns {
        #[command(subcommand)]
        command: DnsCommand,
    },
    /// Encrypted backups of the whole desk (see docs/OPERATIONS.md).
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Restore a backup into the configured database, which must be empty, then check
    /// it as `backup verify` does.
    Restore(RestoreArgs),
    /// This build's version; with `--sbom`, the crates compiled into it as a CycloneDX
    /// JSON document.
    Version {
        #[arg(long)]
        sbom: bool,
    },
    /// Known vulnerabilities in the crates compiled into this binary.
    Advisories {
        #[command(subcommand)]
        command: AdvisoriesCommand,
    },
    /// The master key and its rotation (see docs/KEYS.md).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Re-wrap every data key under a new master key while the desk keeps serving,
    /// then retire the current key. Writes the new key to `--new-key-file` (which must
    /// not exist), or, given an existing file, resumes the rotation to that key.
    RotateMaster {
        #[arg(long, required_unless_present = "to_hsm", conflicts_with = "to_hsm")]
        new_key_file: Option<PathBuf>,
        /// Move every data key into the `[hsm]` key instead (configure every node with
        /// `[hsm]` first); the master key file's wrapping key is then retired.
        #[arg(long)]
        to_hsm: bool,
        /// How long running nodes are given to learn the new key before data keys
        /// move, and again before the old key is retired (at least 6 seconds).
        #[arg(long, default_value_t = 15)]
        settle_seconds: u64,
    },
    /// Replace the root every derived key comes from (lookups, search terms, reply
    /// tokens, audit and backup signing), keeping the wrapping key. Serving nodes stop
    /// while it runs; start them again with the new file. Writes the new key to
    /// `--new-key-file` (which must not exist), or, given an existing file, resumes.
    RotateRoot {
        #[arg(long, required_unless_present = "abort", conflicts_with = "abort")]
        new_key_file: Option<PathBuf>,
        /// How long serving nodes are given to see the rotation and stop before the
        /// rewrite begins (at least 16 seconds).
        #[arg(long, default_value_t = 20)]
        settle_seconds: u64,
        /// Days reply addresses already sent (minted under the old root) keep working.
        /// 0 refuses them at once: for a key file known to have leaked.
        #[arg(long, default_value_t = 14)]
        old_reply_addresses_days: u64,
        /// Revoke every unused recovery code: their hashes can only stay under the old
        /// root, so whoever holds the old file could try guesses against a copy of the
        /// database. Users issue new ones in their account page.
        #[arg(long)]
        revoke_recovery_codes: bool,
        /// Abandon the rotation under way (run with the current, old key file); nothing
        /// was rewritten yet, and nodes with the old file may start again.
        #[arg(
            long,
            conflicts_with_all = ["settle_seconds", "old_reply_addresses_days", "revoke_recovery_codes"]
        )]
        abort: bool,
    },
    /// Generate the wrapping key inside the `[hsm]` token (AES-256, sensitive, never
    /// extractable); prints its id.
    HsmGenerate,
    /// Write a new audit checkpoint signing key to `--out` (mode 0600) and print the
    /// `[audit]` settings that hand signing over to it.
    AuditGenerate {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdvisoriesCommand {
    /// Compare the compiled-in crates with a RustSec advisory database directory
    /// (offline); exits 1 when one is vulnerable. The result is recorded for the
    /// administration pages (and a vulnerability raises an alert) unless `--no-record`.
    Check {
        #[arg(long)]
        db: PathBuf,
        /// Only print: open no database (for CI, or before installing).
        #[arg(long)]
        no_record: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Create an age identity for reading backups (post-quantum unless `--x25519`);
    /// prints the recipient to configure. Keep the file off the server.
    Keygen {
        /// Where to write the identity; refused if the file exists.
        #[arg(long)]
        out: PathBuf,
        /// A classic X25519 identity, for Debian's `age` 1.1 (not post-quantum).
        #[arg(long)]
        x25519: bool,
    },
    /// Write one backup of the running desk into a directory, encrypted to the
    /// `[backup] recipients` (or to `--recipient`).
    Create {
        #[arg(long)]
        to: PathBuf,
        /// An age X25519 recipient (`age1…`), repeatable; replaces the configured ones.
        #[arg(long)]
        recipient: Vec<String>,
    },
    /// Decrypt a backup into a scratch database and check it; exits non-zero naming
    /// what failed.
    Verify {
        file: PathBuf,
        /// The age identity file (`age-keygen`'s) of one of the recipients.
        #[arg(long)]
        identity: PathBuf,
        /// Where a SQLite backup is decrypted for the check (default: the temporary
        /// directory); removed afterwards.
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// A PostgreSQL server where a scratch database may be created and dropped
        /// (default: the configured database's server).
        #[arg(long)]
        scratch_url: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    pub file: PathBuf,
    /// The age identity file of one of the backup's recipients.
    #[arg(long)]
    pub identity: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum DnsCommand {
    /// Verify the published SPF, DKIM and DMARC records; exits 1 if any check fails.
    Check(DnsCheckArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DnsCheckArgs {
    /// Default: the domain of `[mail] from_address`.
    #[arg(long)]
    pub domain: Option<String>,
    /// Default: `[mail] dkim_selector`.
    #[arg(long)]
    pub selector: Option<String>,
    /// The DKIM private key whose public half must be published. Default:
    /// `[mail] dkim_key_file`.
    #[arg(long)]
    pub dkim_key: Option<PathBuf>,
    /// A DKIM rotation: the selector to sign with next, whose record must already be
    /// published. Default: `[mail] dkim_next_selector`.
    #[arg(long, requires = "next_dkim_key")]
    pub next_selector: Option<String>,
    /// The next selector's private key. Default: `[mail] dkim_next_key_file`.
    #[arg(long, requires = "next_selector")]
    pub next_dkim_key: Option<PathBuf>,
    /// A selector signed with before the switch, kept published for the overlap
    /// (repeatable). Default: `[mail] dkim_retired_selectors`.
    #[arg(long)]
    pub retired_selector: Vec<String>,
    /// An address Palisade's mail leaves from, which SPF must authorise (repeatable).
    #[arg(long)]
    pub relay_ip: Vec<std::net::IpAddr>,
    /// DNS server to ask (repeatable). Default: `[smtp] nameservers`.
    #[arg(long)]
    pub nameserver: Vec<SocketAddr>,
}

#[derive(Args, Debug, Clone)]
pub struct IngestArgs {
    /// The SMTP client's address as the MTA saw it.
    #[arg(long)]
    pub client_ip: std::net::IpAddr,
    /// The name the client gave in HELO/EHLO.
    #[arg(long)]
    pub helo: String,
    /// The envelope sender; empty for the null sender.
    #[arg(long, default_value = "")]
    pub mail_from: String,
    /// The envelope recipient (one; the MTA runs one ingest per recipient).
    #[arg(long)]
    pub rcpt: String,
}

#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Create an RSA-2048 key pair; prints the TXT record to publish.
    Generate {
        #[arg(long)]
        domain: String,
        #[arg(long, default_value = "palisade")]
        selector: String,
        /// Where to write the private key (PEM); refused if the file exists.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on for HTTPS.
    #[arg(long, env = "PALISADE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Public origin for links and same-origin checks, e.g. `https://help.example.com`.
    #[arg(long, env = "PALISADE_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// PEM certificate chain; with `--tls-key`, replaces the generated self-signed one.
    #[arg(long, env = "PALISADE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "PALISADE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator and print a one-time setup link (valid 30 minutes).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Origin to print the link with.
        #[arg(long, env = "PALISADE_PUBLIC_ORIGIN")]
        public_origin: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every entry's hash, every link and every signed checkpoint.
    Verify {
        /// Hex Ed25519 public key to check checkpoints with, repeated for the keys of
        /// earlier checkpoints: the first is the current one (default: the configured
        /// keys, as the current one is written to `<data-dir>/audit-signing.pub`).
        #[arg(long)]
        public_key: Vec<String>,
        /// `SEQ:HASH` as an earlier run printed it, kept off this machine: the trail must
        /// still hold that entry (repeatable). Catches newest entries removed together
        /// with the checkpoints that covered them.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Vec<String>,
    },
    /// Sign a checkpoint of the current chain head now.
    Checkpoint,
}

/// Every `PALISADE_*` variable the program reads; anything else with the prefix is a typo.
const KNOWN_ENV: &[&str] = &[
    "PALISADE_CONFIG",
    "PALISADE_DATA_DIR",
    "PALISADE_DATABASE_URL",
    "PALISADE_MASTER_KEY_FILE",
    "PALISADE_LOG_JSON",
    "PALISADE_LISTEN",
    "PALISADE_PUBLIC_ORIGIN",
    "PALISADE_TLS_CERT",
    "PALISADE_TLS_KEY",
    "PALISADE_LOG",
];

/// Test harness variables share the prefix but are never read by the server.
fn is_test_harness_var(name: &str) -> bool {
    name.starts_with("PALISADE_TEST_") || name == "PALISADE_TOOLS" || name == "PALISADE_PG_BIN"
}

pub fn reject_unknown_env() -> Result<(), CliError> {
    let unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PALISADE_") && !KNOWN_ENV.contains(&k.as_str()) && !is_test_harness_var(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(CliError::Config(format!(
            "unknown environment variables: {}",
            unknown.join(", ")
        )))
    }
}
