use palisade_audit::AuditContext;
use palisade_identity::{Identity, PasswordHasherPool, SessionLimits};

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

/// Creates an administrator (and, on a fresh install, the first team, which receives
/// new tickets) and prints the one-time link to choose a password.
pub async fn create(
    settings: &Settings,
    email: &str,
    name: &str,
    origin: Option<&str>,
) -> Result<(), CliError> {
    let opened = app::open(settings, true).await?;
    let store = opened.store;
    let ctx = AuditContext {
        actor: "cli".into(),
        ip: "local".into(),
        user_agent: "palisade admin create".into(),
        session: String::new(),
    };
    // One hashing slot is plenty for a single command.
    let identity = Identity::new(
        store.clone(),
        PasswordHasherPool::new(1)?,
        SessionLimits::default(),
    );
    let policy = std::sync::Arc::new(palisade_policy::PolicyEngine::load()?);
    let desk = palisade_service::Desk::new(store.clone(), policy).with_identity(identity);
    let (id, token) =
        desk.bootstrap_admin(&ctx, email, name, "cli")
            .await
            .map_err(|e| match e {
                palisade_service::ServiceError::Invalid(why)
                | palisade_service::ServiceError::Conflict(why) => CliError::Invalid(why.to_string()),
                other => CliError::Service(other),
            })?;
    let origin = origin.unwrap_or(&settings.public_origin);
    println!("Administrator created: {id}");
    println!("Open this link within 30 minutes to choose a password (it works once):");
    println!("  {origin}/setup/{}", token.expose());
    store.close().await;
    Ok(())
}
