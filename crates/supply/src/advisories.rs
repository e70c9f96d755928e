//! The compiled-in dependency list against a RustSec advisory database directory
//! (`crates/<name>/RUSTSEC-….md`, each with a TOML front matter), offline: a crate's
//! version is affected by an advisory when neither its `patched` nor its `unaffected`
//! requirements admit it, unless the advisory was withdrawn. Vulnerabilities fail the
//! check; `informational` advisories (unmaintained, unsound, notice) are reported as
//! warnings, as `cargo audit` does. Advisories reviewed and accepted for this release
//! (`.cargo/audit.toml`'s `ignore`, compiled in) are listed apart and do not fail it.

use std::path::Path;

use semver::{Comparator, Op, Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::{ACCEPTED, DEPENDENCIES, Dependency, SupplyError};

/// An advisory that applies to a compiled-in crate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub package: String,
    pub version: String,
    pub title: String,
    /// `vulnerability`, or the advisory's informational kind.
    pub kind: String,
    pub patched: Vec<String>,
    pub url: Option<String>,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub dependencies: usize,
    /// Advisories read for the compiled-in crates' names.
    pub advisories_read: usize,
    pub vulnerable: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// Vulnerabilities reviewed and accepted for this release (see SECURITY.md).
    pub accepted: Vec<Finding>,
}

#[derive(Deserialize)]
struct Front {
    advisory: Advisory,
    #[serde(default)]
    versions: Versions,
}

#[derive(Deserialize)]
struct Advisory {
    id: String,
    package: String,
    informational: Option<String>,
    withdrawn: Option<toml::Value>,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Checks this binary's dependencies against the database at `db`.
pub fn check(db: &Path) -> Result<Report, SupplyError> {
    check_list(db, DEPENDENCIES, ACCEPTED)
}

pub fn check_list(db: &Path, dependencies: &[Dependency], accepted: &[&str]) -> Result<Report, SupplyError> {
    let crates = db.join("crates");
    // An empty directory would say "nothing known" about everything: fail closed.
    let holds_advisories = std::fs::read_dir(&crates)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if !holds_advisories {
        return Err(SupplyError::NotADatabase(db.display().to_string()));
    }
    let mut report = Report {
        dependencies: dependencies.len(),
        advisories_read: 0,
        vulnerable: Vec::new(),
        warnings: Vec::new(),
        accepted: Vec::new(),
    };
    let mut names: Vec<&str> = dependencies
        .iter()
        .filter(|d| d.source != "workspace")
        .map(|d| d.name)
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let dir = crates.join(name);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            // Unreadable is not "no advisories".
            Err(e) => return Err(SupplyError::Io(dir.display().to_string(), e)),
        };
        for entry in entries {
            let path = entry
                .map_err(|e| SupplyError::Io(dir.display().to_string(), e))?
                .path();
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| SupplyError::Io(path.display().to_string(), e))?;
            let (front, title) = parse(&text).map_err(|why| SupplyError::Advisory {
                path: path.display().to_string(),
                why,
            })?;
            report.advisories_read += 1;
            if front.advisory.withdrawn.is_some() {
                continue;
            }
            let admitted = requirements(&front.versions.patched)
                .chain(requirements(&front.versions.unaffected))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| SupplyError::Advisory {
                    path: path.display().to_string(),
                    why,
                })?;
            for dependency in dependencies.iter().filter(|d| d.name == front.advisory.package) {
                let Ok(version) = Version::parse(dependency.version) else {
                    continue;
                };
                if admitted.iter().any(|req| satisfies(req, &version)) {
                    continue;
                }
                let finding = Finding {
                    id: front.advisory.id.clone(),
                    package: dependency.name.to_owned(),
                    version: dependency.version.to_owned(),
                    title: title.clone(),
                    kind: front
                        .advisory
                        .informational
                        .clone()
                        .unwrap_or_else(|| "vulnerability".into()),
                    patched: front.versions.patched.clone(),
                    url: front.advisory.url.clone(),
                };
                if front.advisory.informational.is_some() {
                    report.warnings.push(finding);
                } else if accepted.contains(&finding.id.as_str()) {
                    report.accepted.push(finding);
                } else {
                    report.vulnerable.push(finding);
                }
            }
        }
    }
    for list in [&mut report.vulnerable, &mut report.warnings, &mut report.accepted] {
        list.sort_by(|a, b| (&a.package, &a.id).cmp(&(&b.package, &b.id)));
    }
    Ok(report)
}

/// The TOML front matter (between "```toml" and "```") and the first "# " heading.
fn parse(text: &str) -> Result<(Front, String), String> {
    let rest = text
        .trim_start()
        .strip_prefix("```toml")
        .ok_or("no ```toml front matter")?;
    let (toml_text, body) = rest.split_once("\n```").ok_or("unterminated front matter")?;
    let front: Front = toml::from_str(toml_text).map_err(|e| e.message().to_owned())?;
    let title = body
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
        .to_owned();
    Ok((front, title))
}

fn requirements(texts: &[String]) -> impl Iterator<Item = Result<VersionReq, String>> + '_ {
    texts
        .iter()
        .map(|t| VersionReq::parse(t).map_err(|e| format!("version requirement {t:?}: {e}")))
}

/// `req.matches(version)`, except that a pre-release is compared by version order
/// against `>`, `>=`, `<`, `<=` and `=` bounds (semver's matching refuses pre-releases
/// outright, which would call `0.10.0-rc.19` unpatched by `>= 0.9.1`).
fn satisfies(req: &VersionReq, version: &Version) -> bool {
    if version.pre.is_empty() {
        return req.matches(version);
    }
    req.comparators.iter().all(|c| comparator_admits(c, version))
}

fn comparator_admits(comparator: &Comparator, version: &Version) -> bool {
    let full = |major: u64, minor: u64, patch: u64| Version {
        major,
        minor,
        patch,
        pre: comparator.pre.clone(),
        build: semver::BuildMetadata::EMPTY,
    };
    let (major, minor, patch) = (comparator.major, comparator.minor, comparator.patch);
    // The first version a partial bound leaves out: `> 1.2` means `>= 1.3.0`,
    // `<= 1.2` means `< 1.3.0`.
    let past = || match (minor, patch) {
        (None, _) => full(major + 1, 0, 0),
        (Some(minor), None) => full(major, minor + 1, 0),
        (Some(minor), Some(patch)) => full(major, minor, patch),
    };
    let lowest = full(major, minor.unwrap_or(0), patch.unwrap_or(0));
    match comparator.op {
        Op::Greater if patch.is_some() => *version > lowest,
        Op::Greater => *version >= past(),
        Op::GreaterEq => *version >= lowest,
        Op::Less => *version < lowest,
        Op::LessEq if patch.is_some() => *version <= lowest,
        Op::LessEq => *version < past(),
        Op::Exact if patch.is_some() => *version == lowest,
        // Caret, tilde, wildcards and partial `=`: at or above their lowest version
        // (a pre-release of it is below it) and within the range its release is in.
        _ => {
            let release = Version::new(version.major, version.minor, version.patch);
            *version >= lowest && comparator.matches(&release)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dependency(name: &'static str, version: &'static str) -> Dependency {
        Dependency {
            name,
            version,
            source: "crates.io",
            license: "MIT",
            sha256: "",
        }
    }

    fn advisory(db: &Path, name: &str, id: &str, extra: &str, versions: &str) {
        let dir = db.join("crates").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{id}.md")),
            format!(
                "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{name}\"\ndate = \"2026-01-01\"\n{extra}\n\n[versions]\n{versions}\n```\n\n# Something bad in {name}\n\nDetails.\n"
            ),
        )
        .unwrap();
    }

    #[test]
    fn affected_versions_fail_and_patched_unaffected_withdrawn_and_informational_do_not() {
        let db = std::env::temp_dir().join(format!("palisade-advisories-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&db);
        advisory(
            &db,
            "alpha",
            "RUSTSEC-2026-0001",
            "url = \"https://example.org/a\"",
            "patched = [\">= 1.2.3\"]",
        );
        advisory(
            &db,
            "beta",
            "RUSTSEC-2026-0002",
            "",
            "patched = [\">= 2.0.0\"]\nunaffected = [\"< 1.0.0\"]",
        );
        advisory(
            &db,
            "gamma",
            "RUSTSEC-2026-0003",
            "withdrawn = \"2026-02-01\"",
            "patched = []",
        );
        advisory(
            &db,
            "delta",
            "RUSTSEC-2026-0004",
            "informational = \"unmaintained\"",
            "patched = []",
        );
        advisory(&db, "eps", "RUSTSEC-2026-0005", "", "patched = [\">= 0.9.1\"]");
        advisory(
            &db,
            "zeta",
            "RUSTSEC-2026-0006",
            "",
            "patched = [\"^1.4.2\", \">= 2.1.0\"]",
        );
        let report = check_list(
            &db,
            &[
                dependency("alpha", "1.2.2"),
                dependency("beta", "0.9.0"),
                dependency("gamma", "1.0.0"),
                dependency("delta", "3.0.0"),
                dependency("eps", "0.10.0-rc.19"),
                dependency("zeta", "2.0.5"),
                dependency("unrelated", "1.0.0"),
            ],
            &[],
        )
        .unwrap();
        let ids: Vec<&str> = report.vulnerable.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["RUSTSEC-2026-0001", "RUSTSEC-2026-0006"], "{report:#?}");
        assert_eq!(report.vulnerable[0].title, "Something bad in alpha");
        assert_eq!(report.vulnerable[0].url.as_deref(), Some("https://example.org/a"));
        assert_eq!(report.warnings.len(), 1);
        assert_eq!(report.warnings[0].kind, "unmaintained");
        assert_eq!(report.advisories_read, 6);

        // The patched release is clean.
        let clean = check_list(
            &db,
            &[dependency("alpha", "1.2.3"), dependency("zeta", "1.4.9")],
            &[],
        )
        .unwrap();
        assert!(clean.vulnerable.is_empty(), "{clean:#?}");
        // Pre-releases: before the fix is before it, whatever the operator.
        let pre = check_list(
            &db,
            &[
                dependency("zeta", "1.4.2-rc.1"),
                dependency("alpha", "1.2.3-rc.1"),
            ],
            &[],
        )
        .unwrap();
        let ids: Vec<&str> = pre.vulnerable.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["RUSTSEC-2026-0001", "RUSTSEC-2026-0006"], "{pre:#?}");
        // A reviewed acceptance moves the finding aside; it no longer fails the check.
        let reviewed = check_list(&db, &[dependency("alpha", "1.0.0")], &["RUSTSEC-2026-0001"]).unwrap();
        assert!(reviewed.vulnerable.is_empty());
        assert_eq!(reviewed.accepted[0].id, "RUSTSEC-2026-0001");
        std::fs::remove_dir_all(&db).unwrap();
    }

    #[test]
    fn a_directory_that_is_not_a_database_is_refused() {
        assert!(matches!(
            check(Path::new("/nonexistent/advisory-db")),
            Err(SupplyError::NotADatabase(_))
        ));
        let empty = std::env::temp_dir().join(format!("palisade-advisories-empty-{}", std::process::id()));
        std::fs::create_dir_all(empty.join("crates")).unwrap();
        assert!(
            matches!(check(&empty), Err(SupplyError::NotADatabase(_))),
            "an empty database knows nothing: fail closed"
        );
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn partial_bounds_mean_what_semver_means() {
        let v = |t: &str| Version::parse(t).unwrap();
        let req = |t: &str| VersionReq::parse(t).unwrap();
        assert!(!satisfies(&req("> 1.2"), &v("1.2.5-rc.1")), "> 1.2 is >= 1.3.0");
        assert!(satisfies(&req("> 1.2"), &v("1.3.0")));
        assert!(!satisfies(&req("> 1.2"), &v("1.2.9")));
        assert!(satisfies(&req("<= 1.2"), &v("1.2.7-rc.1")), "<= 1.2 is < 1.3.0");
        assert!(
            !satisfies(&req("^1.4.2"), &v("1.4.2-rc.1")),
            "the fix shipped in 1.4.2"
        );
        assert!(satisfies(&req("^1.4.2"), &v("1.5.0-rc.1")));
    }
}
