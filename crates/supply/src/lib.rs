//! What Palisade is built from, and whether any of it is known to be vulnerable. The
//! dependency list is written at build time (`build.rs`: the crates the `palisade`
//! binary's normal dependencies reach, with Cargo.lock's checksums), so it describes
//! this binary, not a checkout. [`sbom`] turns it into a CycloneDX document;
//! [`advisories::check`] compares it with a RustSec advisory database directory,
//! offline.

pub mod advisories;
mod error;
mod sbom;

pub use error::SupplyError;
pub use sbom::sbom;

/// One crate compiled into the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub name: &'static str,
    pub version: &'static str,
    /// `crates.io`, `workspace` (Palisade's own crates), `git` or `registry`.
    pub source: &'static str,
    /// The SPDX expression the crate declares (may be empty).
    pub license: &'static str,
    /// The registry archive's SHA-256 from Cargo.lock (empty for workspace crates).
    pub sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/dependencies.rs"));

/// Palisade's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_what_the_binary_links_and_not_what_only_tests_use() {
        let named = |name: &str| DEPENDENCIES.iter().any(|d| d.name == name);
        for linked in [
            "tokio",
            "rustls",
            "cedar-policy",
            "sqlx-core",
            "age",
            "palisade-web",
        ] {
            assert!(named(linked), "{linked} missing");
        }
        for test_only in ["palisade-testkit", "palisade-bench"] {
            assert!(!named(test_only), "{test_only} is not in the binary");
        }
        let tokio = DEPENDENCIES.iter().find(|d| d.name == "tokio").unwrap();
        assert_eq!(tokio.source, "crates.io");
        assert_eq!(tokio.sha256.len(), 64, "{tokio:?}");
        let mut sorted = DEPENDENCIES.to_vec();
        sorted.sort_by_key(|d| (d.name, d.version));
        sorted.dedup();
        assert_eq!(sorted.len(), DEPENDENCIES.len(), "each crate once");
        assert!(
            ACCEPTED.contains(&"RUSTSEC-2023-0071"),
            "cargo audit's reviewed list: {ACCEPTED:?}"
        );
    }
}
