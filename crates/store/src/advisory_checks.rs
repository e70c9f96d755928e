//! Dependency advisory checks as recorded: the service decides what a check found;
//! this keeps the latest ones for the administration pages.

use sqlx::Row as _;

use crate::{Store, StoreError, Tx};

/// How many checks are kept; older ones are dropped as new ones arrive.
const KEPT: i64 = 100;

/// One recorded check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisoryCheck {
    pub checked_at: i64,
    /// `cli` or `serve`.
    pub checked_by: String,
    pub palisade_version: String,
    pub dependencies: i64,
    pub advisories_read: i64,
    pub vulnerable: i64,
    pub warnings: i64,
    /// JSON: the findings.
    pub findings: String,
}

impl Store {
    pub async fn record_advisory_check(&self, tx: &mut Tx, check: &AdvisoryCheck) -> Result<(), StoreError> {
        let id = format!("adv_{}", hex::encode(palisade_crypto::random_bytes::<12>()?));
        sqlx::query(
            "INSERT INTO advisory_checks (id, checked_at, checked_by, palisade_version, dependencies, \
             advisories_read, vulnerable, warnings, findings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(check.checked_at)
        .bind(&check.checked_by)
        .bind(&check.palisade_version)
        .bind(check.dependencies)
        .bind(check.advisories_read)
        .bind(check.vulnerable)
        .bind(check.warnings)
        .bind(&check.findings)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "DELETE FROM advisory_checks WHERE id NOT IN \
             (SELECT id FROM advisory_checks ORDER BY checked_at DESC, id LIMIT $1)",
        )
        .bind(KEPT)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// The newest check, if any was made.
    pub async fn latest_advisory_check(&self) -> Result<Option<AdvisoryCheck>, StoreError> {
        let row = sqlx::query(
            "SELECT checked_at, checked_by, palisade_version, dependencies, advisories_read, vulnerable, \
             warnings, findings FROM advisory_checks ORDER BY checked_at DESC, id LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(AdvisoryCheck {
                checked_at: r.try_get("checked_at")?,
                checked_by: r.try_get("checked_by")?,
                palisade_version: r.try_get("palisade_version")?,
                dependencies: r.try_get("dependencies")?,
                advisories_read: r.try_get("advisories_read")?,
                vulnerable: r.try_get("vulnerable")?,
                warnings: r.try_get("warnings")?,
                findings: r.try_get("findings")?,
            })
        })
        .transpose()
    }
}
