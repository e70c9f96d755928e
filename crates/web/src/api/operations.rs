//! The operations status administrators and auditors watch: when the last verified
//! scheduled backup was made, what the last dependency advisory check found, and which
//! keys are in use (names and public keys only, never secret material).

use axum::Json;
use axum::extract::State;
use palisade_policy::{Action, Resource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct OperationsView {
    /// This server's Palisade version.
    pub version: String,
    /// When the newest scheduled backup that passed its check was made; absent if
    /// none was (or scheduled backups are not configured).
    pub last_verified_backup_at: Option<String>,
    /// The newest dependency advisory check; absent if none was made.
    pub advisories: Option<AdvisoryCheckView>,
    pub keys: KeysView,
    /// The register of outside parties: who beyond this desk receives personal data,
    /// and which categories, from the running configuration (docs/PRIVACY.md).
    pub outside_parties: Vec<OutsidePartyView>,
}

#[derive(Serialize, ToSchema)]
pub struct OutsidePartyView {
    #[schema(value_type = String, example = "mail_relay")]
    /// `mail_relay`, `mailbox`, `identity_provider`, `language_model`, `virus_scanner`,
    /// `siem`, `dns_resolver`, `backup_check_database` or `webhook_receiver` (one per
    /// enabled webhook endpoint).
    pub kind: palisade_service::PartyKind,
    pub name: String,
    pub endpoint: String,
    /// Of `contact_details`, `message_content`, `attachments`, `sign_in_events`,
    /// `assistant_questions`, `audit_events`.
    #[schema(value_type = Vec<String>)]
    pub receives: Vec<palisade_service::DataCategory>,
}

/// The keys this server uses, by name or public key (docs/KEYS.md).
#[derive(Serialize, ToSchema)]
pub struct KeysView {
    /// The id of the key that wraps new data keys (a name derived from it, not the key).
    pub wrapping_key_id: String,
    /// Where that key lives: `file` (the master key file) or `hsm` (a PKCS#11 token).
    pub wrapping_key_in: String,
    /// A master-key rotation under way; absent when none is.
    pub master_rotation: Option<MasterRotationView>,
    /// The Ed25519 public key (hex) this server signs audit checkpoints with, when it is
    /// its turn (see docs/KEYS.md, "Audit signing key").
    pub audit_signing_key: String,
    /// Earlier audit keys checkpoint signing was handed over from, oldest first.
    pub audit_handovers: Vec<AuditHandoverView>,
    /// The id of the master key's root, which every derived key comes from (a name
    /// derived from it, not the root).
    pub root_id: String,
    /// Root rotations recorded (`palisade keys rotate-root`), newest first.
    pub root_rotations: Vec<RootRotationView>,
}

#[derive(Serialize, ToSchema)]
pub struct RootRotationView {
    pub old_root_id: String,
    pub new_root_id: String,
    pub started_at: String,
    /// Absent while the rotation is under way (no node serves then).
    pub finished_at: Option<String>,
    /// Until when reply addresses minted under the old root are accepted.
    pub old_reply_addresses_until: String,
}

#[derive(Serialize, ToSchema)]
pub struct MasterRotationView {
    pub started_at: String,
    /// The wrapping key the data keys move to.
    pub new_wrapping_key_id: String,
    /// Data keys moved so far.
    pub rewrapped: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AuditHandoverView {
    /// The retired key (hex); its checkpoints before the handover still verify.
    pub public_key: String,
    /// The audit entry that handed signing over from it.
    pub at_entry: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AdvisoryCheckView {
    pub checked_at: String,
    /// `cli` (`palisade advisories check`) or `serve` (`[advisories] database`).
    pub checked_by: String,
    /// The Palisade version that was checked.
    pub palisade_version: String,
    pub dependencies: i64,
    /// How many vulnerabilities the check found (the list below names them).
    pub vulnerable_count: i64,
    pub vulnerable: Vec<FindingView>,
    /// Unmaintained, unsound or notice advisories.
    pub warnings: Vec<FindingView>,
    /// Vulnerabilities reviewed and accepted for this release (SECURITY.md).
    pub accepted: Vec<FindingView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    /// The RustSec id, e.g. `RUSTSEC-2023-0071`.
    pub id: String,
    pub package: String,
    pub version: String,
    pub title: String,
    /// `vulnerability`, `unmaintained`, `unsound` or `notice`.
    pub kind: String,
    /// Releases that carry the fix (version requirements); empty when none does.
    pub patched: Vec<String>,
    pub url: Option<String>,
}

#[derive(Deserialize, Default)]
struct StoredFindings {
    #[serde(default)]
    vulnerable: Vec<FindingView>,
    #[serde(default)]
    warnings: Vec<FindingView>,
    #[serde(default)]
    accepted: Vec<FindingView>,
}

pub(crate) async fn readable_status(s: &AppState, caller: &Caller) -> Result<OperationsView, AppError> {
    s.authorize(caller, Action::ReadAlerts, &Resource::AuditTrail)
        .await?;
    let backup = s
        .store
        .subscription_position(palisade_service::SCHEDULED_BACKUP_LEASE)
        .await?
        .filter(|at| *at > 0);
    let advisories = s.store.latest_advisory_check().await?.map(|check| {
        // Written by this code's service layer; an unreadable record shows as empty
        // lists beside its counts rather than hiding the check.
        let findings: StoredFindings = serde_json::from_str(&check.findings).unwrap_or_default();
        AdvisoryCheckView {
            checked_at: rfc3339(check.checked_at),
            checked_by: check.checked_by,
            palisade_version: check.palisade_version,
            dependencies: check.dependencies,
            vulnerable_count: check.vulnerable,
            vulnerable: findings.vulnerable,
            warnings: findings.warnings,
            accepted: findings.accepted,
        }
    });
    Ok(OperationsView {
        version: palisade_supply::VERSION.to_owned(),
        last_verified_backup_at: backup.map(rfc3339),
        advisories,
        keys: keys_in_use(s).await?,
        outside_parties: s
            .desk()
            .outside_parties(&caller.actor(), &s.config.outside_parties)
            .await?
            .iter()
            .map(|party| OutsidePartyView {
                kind: party.kind,
                name: party.name.clone(),
                endpoint: party.endpoint.clone(),
                receives: party.receives.clone(),
            })
            .collect(),
    })
}

async fn keys_in_use(s: &AppState) -> Result<KeysView, AppError> {
    let keys = s.store.keys();
    let master_rotation = s.store.rotation_under_way().await?.map(|r| MasterRotationView {
        started_at: rfc3339(r.started_at.0),
        new_wrapping_key_id: r.new_kek_id,
        rewrapped: r.rewrapped,
    });
    let audit_handovers = s
        .store
        .audit_key_handovers()
        .await?
        .into_iter()
        .map(|(public_key, at_entry)| AuditHandoverView { public_key, at_entry })
        .collect();
    let root_rotations = s
        .store
        .root_rotations()
        .await?
        .into_iter()
        .map(|r| RootRotationView {
            old_root_id: r.old_root_id,
            new_root_id: r.new_root_id,
            started_at: rfc3339(r.started_at.0),
            finished_at: r.finished_at.map(|at| rfc3339(at.0)),
            old_reply_addresses_until: rfc3339(r.replies_until.0),
        })
        .collect();
    Ok(KeysView {
        root_id: keys.root_id().to_owned(),
        root_rotations,
        wrapping_key_id: keys.kek_id().to_owned(),
        wrapping_key_in: if keys.wraps_in_token() { "hsm" } else { "file" }.to_owned(),
        master_rotation,
        audit_signing_key: hex::encode(keys.audit_verifying_key().to_bytes()),
        audit_handovers,
    })
}

#[utoipa::path(get, path = "/api/v1/operations", tag = "audit",
    responses((status = 200, body = OperationsView), (status = 403, body = Problem)))]
pub async fn status(State(s): State<AppState>, caller: Caller) -> Result<Json<OperationsView>, AppError> {
    Ok(Json(readable_status(&s, &caller).await?))
}
