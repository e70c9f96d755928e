use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{EmailAddress, Role};
use palisade_identity::{Identity, PasswordHasherPool, SessionLimits};
use palisade_store::NewUser;
use serde_json::json;

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
    let email = EmailAddress::parse(email).map_err(|e| CliError::Invalid(e.to_string()))?;
    if store.find_user_by_email(&email).await?.is_some() {
        return Err(CliError::Invalid(
            "an account with this email already exists".into(),
        ));
    }
    let ctx = AuditContext {
        actor: "cli".into(),
        ip: "local".into(),
        user_agent: "palisade admin create".into(),
        session: String::new(),
    };
    let mut tx = store.begin().await?;
    let new = NewUser {
        role: Role::Admin,
        email,
        name: name.to_owned(),
        phone: None,
        company: None,
        password_hash: None,
    };
    let id = store.create_user(&mut tx, &new).await?;
    let team = if store.list_teams().await?.is_empty() {
        let team = store.create_team(&mut tx, "Support").await?;
        store
            .append_audit(
                &mut tx,
                &ctx,
                &AuditEvent::new(AuditAction::TeamCreated, team.to_string(), Outcome::Success),
            )
            .await?;
        Some(team)
    } else {
        None
    };
    if let Some(team) = &team {
        store.add_team_member(&mut tx, team, &id).await?;
    }
    let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
        .with_detail(json!({ "role": "admin" }));
    store.append_audit(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    // One hashing slot is plenty for a single command.
    let identity = Identity::new(
        store.clone(),
        PasswordHasherPool::new(1)?,
        SessionLimits::default(),
    );
    let token = identity.issue_setup_link(&id, &ctx).await?;
    let origin = origin.unwrap_or(&settings.public_origin);
    println!("Administrator created: {id}");
    println!("Open this link within 30 minutes to choose a password (it works once):");
    println!("  {origin}/setup/{}", token.expose());
    store.close().await;
    Ok(())
}
