//! Only the service layer (the desk's use cases and identity's) and the store open
//! transactions, only the desk (and the policy crate itself) asks the policy engine,
//! and no adapter decides access by role: adapters parse, authenticate, call a use
//! case and map its answer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files of `crates/*/src` (unit tests excluded: everything from `#[cfg(test)]` on)
/// with a line matching `needle`, except in `exempt` crates.
fn files_with(needles: &[&str], exempt: &[&str]) -> BTreeSet<String> {
    let root = workspace();
    let mut found = BTreeSet::new();
    let Ok(crates) = std::fs::read_dir(root.join("crates")) else {
        panic!("the workspace's crates are not where they should be");
    };
    for krate in crates.flatten() {
        let name = krate.file_name().to_string_lossy().into_owned();
        if exempt.contains(&name.as_str()) || name == "testkit" {
            continue;
        }
        let mut files = Vec::new();
        sources(&krate.path().join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let hit = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .any(|l| needles.iter().any(|n| l.contains(n)));
            if hit {
                let relative = file
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                found.insert(relative);
            }
        }
    }
    found
}

fn check(what: &str, found: BTreeSet<String>) {
    assert!(
        found.is_empty(),
        "{what} outside the service layer: {found:?} (call a use case instead)"
    );
}

#[test]
fn only_the_service_layer_and_the_store_open_transactions() {
    check(
        "transactions opened",
        // Identity is the service layer's other half: signing in, second factors,
        // passkeys, tokens and resets establish who the principal is, before any
        // decision about what they may do, so adapters call it exactly as they call
        // the desk's use cases.
        files_with(&[".begin().await"], &["service", "identity", "store"]),
    );
}

#[test]
fn only_the_service_layer_asks_the_policy_engine() {
    check(
        "the policy engine asked",
        files_with(
            &[
                "policy.authorize(",
                ".authorize_reader(",
                "policy.evaluate(",
                "policy().authorize",
                "audience_filter(",
            ],
            &["service", "policy"],
        ),
    );
}

#[test]
fn adapters_decide_nothing_by_role() {
    // What a page shows may follow the role (a customer's navigation differs); whether
    // a request is allowed never does: that is Cedar's, through the service layer.
    check(
        "access decided by role",
        files_with(
            &[
                "if caller.principal.role",
                "if c.principal.role",
                "if principal.role",
                "principal.role != ",
                "principal.role.is_staff()",
            ],
            &[
                "service", "policy", "store", "identity", "core", "crypto", "audit", "outbound",
            ],
        ),
    );
}
