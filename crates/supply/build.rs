//! Writes the list of crates compiled into the `palisade` binary: the packages its
//! normal dependencies reach in the workspace's resolve (`cargo metadata`, offline and
//! against the committed Cargo.lock), with each registry crate's checksum from the
//! lock. Dev and build dependencies are not in the binary, so they are not listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .ok_or("the supply crate lives in crates/supply")?
        .to_path_buf();
    let lock = workspace.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    for entry in std::fs::read_dir(workspace.join("crates"))? {
        let manifest = entry?.path().join("Cargo.toml");
        if manifest.exists() {
            println!("cargo:rerun-if-changed={}", manifest.display());
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::var("TARGET")?;
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--frozen",
            "--filter-platform",
            &target,
        ])
        .arg("--manifest-path")
        .arg(workspace.join("crates/cli/Cargo.toml"))
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let checksums = checksums(&std::fs::read_to_string(&lock)?)?;

    let resolve = &metadata["resolve"];
    let root = resolve["root"].as_str().ok_or("no root package")?;
    let nodes: BTreeMap<&str, &serde_json::Value> = resolve["nodes"]
        .as_array()
        .ok_or("no resolve nodes")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut reached = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !reached.insert(id) {
            continue;
        }
        let node = nodes.get(id).ok_or("a dependency outside the resolve")?;
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if normal && let Some(pkg) = dep["pkg"].as_str() {
                stack.push(pkg);
            }
        }
    }
    let packages: BTreeMap<&str, &serde_json::Value> = metadata["packages"]
        .as_array()
        .ok_or("no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let mut rows = Vec::new();
    for id in reached {
        if id == root {
            continue;
        }
        let package = packages.get(id).ok_or("a reached package without metadata")?;
        let name = package["name"].as_str().ok_or("a package without a name")?;
        let version = package["version"].as_str().ok_or("a package without a version")?;
        let source = match package["source"].as_str() {
            None => "workspace",
            Some(s) if s.starts_with("registry+https://github.com/rust-lang/crates.io-index") => "crates.io",
            Some(s) if s.starts_with("git+") => "git",
            Some(_) => "registry",
        };
        let license = package["license"].as_str().unwrap_or("");
        let checksum = checksums
            .get(&(name.to_owned(), version.to_owned()))
            .cloned()
            .unwrap_or_default();
        rows.push(format!(
            "    Dependency {{ name: {name:?}, version: {version:?}, source: {source:?}, license: {license:?}, sha256: {checksum:?} }},\n"
        ));
    }
    rows.sort();
    let accepted = accepted(&workspace.join(".cargo/audit.toml"))?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("dependencies.rs");
    std::fs::write(
        out,
        format!(
            "pub static DEPENDENCIES: &[Dependency] = &[\n{}];\npub static ACCEPTED: &[&str] = &{accepted:?};\n",
            rows.concat()
        ),
    )?;
    Ok(())
}

/// The advisories reviewed and accepted for this release: the `ignore` list `cargo
/// audit` reads, so the binary's own check and CI's agree (the reasons are in that
/// file and in SECURITY.md).
fn accepted(audit_toml: &Path) -> Result<Vec<String>, Failure> {
    println!("cargo:rerun-if-changed={}", audit_toml.display());
    let Ok(text) = std::fs::read_to_string(audit_toml) else {
        return Ok(Vec::new());
    };
    let parsed: toml::Value = toml::from_str(&text)?;
    Ok(parsed
        .get("advisories")
        .and_then(|a| a.get("ignore"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect())
}

/// (name, version) → the registry checksum Cargo.lock records.
fn checksums(lock: &str) -> Result<BTreeMap<(String, String), String>, Failure> {
    let parsed: toml::Value = toml::from_str(lock)?;
    let mut found = BTreeMap::new();
    for package in parsed
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |key: &str| package.get(key).and_then(toml::Value::as_str).map(str::to_owned);
        if let (Some(name), Some(version), Some(checksum)) =
            (field("name"), field("version"), field("checksum"))
        {
            found.insert((name, version), checksum);
        }
    }
    Ok(found)
}
