//! Running Node scripts against the npm packages `scripts/test.sh` installs (an OpenID
//! provider, playwright-core for headless Chromium).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::Command;

pub const NPM_DIR_ENV: &str = "PALISADE_TEST_NPM_DIR";
const DEFAULT_NPM_DIR: &str = "/var/cache/palisade/npm";

/// Where the npm packages for test peers are installed.
pub fn npm_dir() -> PathBuf {
    std::env::var_os(NPM_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_NPM_DIR))
}

/// Writes `source` as a uniquely named module into the npm directory, so its imports
/// of installed packages resolve (ES modules ignore `NODE_PATH`). Fails with a hint
/// when `package` is not installed.
pub(crate) async fn install_script(source: &str, package: &str) -> anyhow::Result<PathBuf> {
    let dir = npm_dir();
    if !dir.join("node_modules").join(package).is_dir() {
        bail!(
            "npm {package} is not installed in {} (run the tests through scripts/test.sh)",
            dir.display()
        );
    }
    let script = dir.join(format!(".palisade-test-{}.mjs", crate::random_hex(8)?));
    tokio::fs::write(&script, source)
        .await
        .context("writing the script")?;
    Ok(script)
}

/// Runs a browser scenario (a playwright-core script) with `input` as JSON in
/// `PALISADE_BROWSER_INPUT`, bounded in time; returns the last line it printed, which
/// scenarios use for their JSON report.
pub async fn run_browser_scenario(source: &str, input: &str, timeout: Duration) -> anyhow::Result<String> {
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        bail!("/usr/bin/chromium is missing (scripts/test.sh installs Debian's chromium)");
    }
    let script = install_script(source, "playwright-core").await?;
    let child = Command::new("node")
        .arg(&script)
        .current_dir(npm_dir())
        .env("PALISADE_BROWSER_INPUT", input)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node")?;
    let output = tokio::time::timeout(timeout, child.wait_with_output()).await;
    let _ = tokio::fs::remove_file(&script).await;
    let output = output.context("the browser scenario timed out")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the browser scenario failed ({}):\n{}\n{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout.lines().last().unwrap_or_default().to_owned())
}
