//! `version [--sbom]` and `advisories check`: what this binary is built from, and
//! whether any of it is known to be vulnerable.

use std::path::Path;

use palisade_supply::advisories::Report;

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

pub fn version(sbom: bool) -> Result<(), CliError> {
    if sbom {
        let text = serde_json::to_string_pretty(&palisade_supply::sbom())
            .map_err(|e| CliError::Invalid(format!("writing the SBOM: {e}")))?;
        println!("{text}");
    } else {
        println!(
            "palisade {} ({} crates compiled in; `palisade version --sbom` lists them)",
            palisade_supply::VERSION,
            palisade_supply::DEPENDENCIES.len()
        );
    }
    Ok(())
}

/// Checks, prints, records unless `settings` is `None`; exit 1 when vulnerable.
pub async fn check(db: &Path, settings: Option<&Settings>) -> Result<(), CliError> {
    let report = palisade_supply::advisories::check(db).map_err(|e| CliError::Invalid(e.to_string()))?;
    print_report(&report);
    if let Some(settings) = settings {
        let opened = app::open(settings, false).await?;
        let policy = std::sync::Arc::new(palisade_policy::PolicyEngine::load()?);
        let recorded = palisade_service::Desk::new(opened.store.clone(), policy)
            .record_advisory_check(&report, "cli")
            .await
            .map_err(CliError::Service);
        opened.store.close().await;
        recorded?;
    }
    if report.vulnerable.is_empty() {
        Ok(())
    } else {
        Err(CliError::Refused {
            exit: 1,
            reply: format!(
                "{} vulnerable: upgrade to a release that carries the fixes",
                report.vulnerable.len()
            ),
        })
    }
}

fn print_report(report: &Report) {
    println!(
        "{} crates checked against {} advisories for their names: {} vulnerable, {} warnings, {} reviewed and accepted",
        report.dependencies,
        report.advisories_read,
        report.vulnerable.len(),
        report.warnings.len(),
        report.accepted.len()
    );
    for (label, findings) in [
        ("VULNERABLE", &report.vulnerable),
        ("warning", &report.warnings),
        ("accepted (see SECURITY.md)", &report.accepted),
    ] {
        for f in findings {
            println!(
                "{label}: {} {} {} ({}): {}{}",
                f.package,
                f.version,
                f.id,
                f.kind,
                f.title,
                if f.patched.is_empty() {
                    " (no fixed release)".to_owned()
                } else {
                    format!(" (fixed in {})", f.patched.join(" or "))
                }
            );
        }
    }
}

/// `serve`'s check: at start, then daily; a vulnerable build raises an alert (once per
/// set of advisories) and every check is shown on the operations page.
pub async fn daily_check(
    db: std::path::PathBuf,
    desk: palisade_service::Desk,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    loop {
        // A few hundred small files: read off the request threads.
        let path = db.clone();
        let checked = tokio::task::spawn_blocking(move || palisade_supply::advisories::check(&path)).await;
        match checked
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(report) => {
                if !report.vulnerable.is_empty() {
                    tracing::error!(
                        vulnerable = report.vulnerable.len(),
                        "this build has dependencies with known vulnerabilities"
                    );
                }
                if let Err(e) = desk.record_advisory_check(&report, "serve").await {
                    tracing::error!(error = %e, "recording the advisory check failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "the dependency advisory check could not run"),
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stopping.changed() => return,
        }
    }
}
