//! Only the service layer and the store open transactions, and only the service layer
//! (and the policy crate itself) asks the policy engine: adapters parse, authenticate,
//! call a use case and map its answer. Files that still do otherwise are listed here
//! by name, each with what is left to move; a new one fails, and so does a listed one
//! that no longer needs its place (the list only shrinks).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Files outside `service` and `store` that still open transactions.
const STILL_OPENING_TRANSACTIONS: &[&str] = &[
    // Identity's own flows: sign-in, second factors, passkeys, OIDC, tokens, resets.
    "crates/identity/src/api_tokens.rs",
    "crates/identity/src/credentials.rs",
    "crates/identity/src/mfa.rs",
    "crates/identity/src/oidc/mod.rs",
    "crates/identity/src/passkeys.rs",
    "crates/identity/src/reset.rs",
    "crates/identity/src/service.rs",
];

/// Files outside `service` and `policy` that still call the policy engine.
const STILL_ASKING_THE_POLICY_ENGINE: &[&str] = &[
    // The help centre's audience filter and per-hit checks.
    "crates/assist/src/help/audience.rs",
    "crates/web/src/help.rs",
    // Assistant conversations: who reads which articles, who owns a conversation.
    "crates/web/src/assistant/converse.rs",
    "crates/web/src/assistant/mod.rs",
];

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

fn check(what: &str, found: BTreeSet<String>, listed: &[&str]) {
    let listed: BTreeSet<String> = listed.iter().map(|s| (*s).to_owned()).collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let moved: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty(),
        "{what} outside the service layer: {new:?} (call a use case instead)"
    );
    assert!(
        moved.is_empty(),
        "{what}: these no longer need their place on the list: {moved:?}"
    );
}

#[test]
fn only_the_service_layer_and_the_store_open_transactions() {
    check(
        "transactions opened",
        files_with(&[".begin().await"], &["service", "store"]),
        STILL_OPENING_TRANSACTIONS,
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
            ],
            &["service", "policy"],
        ),
        STILL_ASKING_THE_POLICY_ENGINE,
    );
}
