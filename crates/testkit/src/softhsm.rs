//! SoftHSM v2 tokens for tests. `scripts/test.sh` points `SOFTHSM2_CONF` at a token
//! directory of the run's own (the module reads that variable in whichever process
//! loads it, tests and `palisade` alike); each test initialises a token with a label
//! of its own there.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

/// Debian's SoftHSM v2 PKCS#11 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// An initialised token: its label and user PIN.
pub struct Token {
    pub label: String,
    pub pin: String,
    pub module: PathBuf,
}

impl Token {
    /// Initialises a new token in the first free slot.
    pub fn init(prefix: &str) -> anyhow::Result<Token> {
        if std::env::var_os("SOFTHSM2_CONF").is_none() {
            bail!("SOFTHSM2_CONF is not set (scripts/test.sh sets it and installs softhsm2)");
        }
        if !std::path::Path::new(MODULE).exists() {
            bail!("{MODULE} is missing (scripts/test.sh installs Debian's softhsm2)");
        }
        let label = format!("{prefix}-{}", crate::random_hex(4)?);
        let pin = crate::random_hex(8)?;
        let output = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                &label,
                "--pin",
                &pin,
                "--so-pin",
            ])
            .arg(crate::random_hex(8)?)
            .output()
            .context("running softhsm2-util")?;
        if !output.status.success() {
            bail!(
                "softhsm2-util --init-token failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Token {
            label,
            pin,
            module: PathBuf::from(MODULE),
        })
    }
}
