//! Embedded migrations. Each is applied once, in order, inside a transaction. On
//! PostgreSQL an advisory lock makes nodes that start together take turns, so exactly
//! one applies each migration.

use sqlx::{Executor, Row};

use crate::{Dialect, Store, StoreError};

struct Migration {
    version: i64,
    /// PostgreSQL dialect; see [`for_dialect`].
    sql: &'static str,
    /// SQLite's own text, where the dialects differ beyond [`for_dialect`] (triggers).
    sqlite: Option<&'static str>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/0001_init.sql"),
        sqlite: None,
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/0002_throttle.sql"),
        sqlite: None,
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/0003_api_tokens.sql"),
        sqlite: None,
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/0004_mfa.sql"),
        sqlite: None,
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/0005_oidc.sql"),
        sqlite: None,
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/0006_outbox.sql"),
        sqlite: None,
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/0007_reply_capabilities.sql"),
        sqlite: None,
    },
    Migration {
        version: 8,
        sql: include_str!("../migrations/0008_received_mail.sql"),
        sqlite: None,
    },
    Migration {
        version: 9,
        sql: include_str!("../migrations/0009_bounces.sql"),
        sqlite: None,
    },
    Migration {
        version: 10,
        sql: include_str!("../migrations/0010_site_tokens.sql"),
        sqlite: None,
    },
    Migration {
        version: 11,
        sql: include_str!("../migrations/0011_help_centre.sql"),
        sqlite: None,
    },
    Migration {
        version: 12,
        sql: include_str!("../migrations/0012_assistant.sql"),
        sqlite: None,
    },
    Migration {
        version: 13,
        sql: include_str!("../migrations/0013_public_limits.sql"),
        sqlite: None,
    },
    Migration {
        version: 14,
        sql: include_str!("../migrations/0014_model_budget.sql"),
        sqlite: None,
    },
    Migration {
        version: 15,
        sql: include_str!("../migrations/0015_article_files.sql"),
        sqlite: None,
    },
    Migration {
        version: 16,
        sql: include_str!("../migrations/0016_article_version_place.sql"),
        sqlite: None,
    },
    Migration {
        version: 17,
        sql: include_str!("../migrations/0017_requester_confirmation.sql"),
        sqlite: None,
    },
    Migration {
        version: 18,
        sql: include_str!("../migrations/0018_domain_events.sql"),
        sqlite: None,
    },
    Migration {
        version: 19,
        sql: include_str!("../migrations/0019_event_subscriptions.sql"),
        sqlite: None,
    },
    Migration {
        version: 20,
        sql: include_str!("../migrations/0020_attachment_message.sql"),
        sqlite: None,
    },
    Migration {
        version: 21,
        sql: include_str!("../migrations/0021_attachment_scan.sql"),
        sqlite: None,
    },
    Migration {
        version: 22,
        sql: include_str!("../migrations/0022_message_html.sql"),
        sqlite: None,
    },
    Migration {
        version: 23,
        sql: include_str!("../migrations/0023_team_secure_delivery.sql"),
        sqlite: None,
    },
    Migration {
        version: 24,
        sql: include_str!("../migrations/0024_notifications.sql"),
        sqlite: None,
    },
    Migration {
        version: 25,
        sql: include_str!("../migrations/0025_team_notification_text.sql"),
        sqlite: None,
    },
    Migration {
        version: 26,
        sql: include_str!("../migrations/0026_ticket_priority_type_version.sql"),
        sqlite: None,
    },
    Migration {
        version: 27,
        sql: include_str!("../migrations/0027_macros.sql"),
        sqlite: None,
    },
    Migration {
        version: 28,
        sql: include_str!("../migrations/0028_ticket_presence.sql"),
        sqlite: None,
    },
    Migration {
        version: 29,
        sql: include_str!("../migrations/0029_saved_views.sql"),
        sqlite: None,
    },
    Migration {
        version: 30,
        sql: include_str!("../migrations/0030_ticket_merge_links.sql"),
        sqlite: None,
    },
    Migration {
        version: 31,
        sql: include_str!("../migrations/0031_custom_fields.sql"),
        sqlite: None,
    },
    Migration {
        version: 32,
        sql: include_str!("../migrations/0032_desk_settings.sql"),
        sqlite: None,
    },
    Migration {
        version: 33,
        sql: include_str!("../migrations/0033_people_terms.sql"),
        sqlite: None,
    },
    Migration {
        version: 34,
        sql: include_str!("../migrations/0034_customer_merge.sql"),
        sqlite: None,
    },
    Migration {
        version: 35,
        sql: include_str!("../migrations/0035_user_locale.sql"),
        sqlite: None,
    },
    Migration {
        version: 36,
        sql: include_str!("../migrations/0036_field_value_fold.sql"),
        sqlite: None,
    },
    Migration {
        version: 37,
        sql: include_str!("../migrations/0037_mailbox_routes.sql"),
        sqlite: None,
    },
    Migration {
        version: 38,
        sql: include_str!("../migrations/0038_service_levels.sql"),
        sqlite: None,
    },
    Migration {
        version: 39,
        sql: include_str!("../migrations/0039_automation.sql"),
        sqlite: None,
    },
    Migration {
        version: 40,
        sql: include_str!("../migrations/0040_team_routing.sql"),
        sqlite: None,
    },
    Migration {
        version: 41,
        sql: include_str!("../migrations/0041_satisfaction.sql"),
        sqlite: None,
    },
    Migration {
        version: 42,
        sql: include_str!("../migrations/0042_identity_changes.sql"),
        sqlite: Some(include_str!("../migrations/0042_identity_changes.sqlite.sql")),
    },
    Migration {
        version: 43,
        sql: include_str!("../migrations/0043_ticket_number_sequence.sql"),
        sqlite: Some(include_str!(
            "../migrations/0043_ticket_number_sequence.sqlite.sql"
        )),
    },
    Migration {
        version: 44,
        sql: include_str!("../migrations/0044_search_pending.sql"),
        sqlite: Some(include_str!("../migrations/0044_search_pending.sqlite.sql")),
    },
    Migration {
        version: 45,
        sql: include_str!("../migrations/0045_ticket_tags_by_tag.sql"),
        sqlite: None,
    },
    Migration {
        version: 46,
        sql: include_str!("../migrations/0046_search_terms_by_time.sql"),
        sqlite: None,
    },
    Migration {
        version: 47,
        sql: include_str!("../migrations/0047_advisory_checks.sql"),
        sqlite: None,
    },
    Migration {
        version: 48,
        sql: include_str!("../migrations/0048_master_rotations.sql"),
        sqlite: None,
    },
    Migration {
        version: 49,
        sql: include_str!("../migrations/0049_audit_signing_keys.sql"),
        sqlite: Some(include_str!("../migrations/0049_audit_signing_keys.sqlite.sql")),
    },
    Migration {
        version: 50,
        sql: include_str!("../migrations/0050_root_rotations.sql"),
        sqlite: None,
    },
    Migration {
        version: 51,
        sql: include_str!("../migrations/0051_privacy.sql"),
        sqlite: None,
    },
    Migration {
        version: 52,
        sql: include_str!("../migrations/0052_retention.sql"),
        sqlite: None,
    },
    Migration {
        version: 53,
        sql: include_str!("../migrations/0053_consents.sql"),
        sqlite: None,
    },
    Migration {
        version: 54,
        sql: include_str!("../migrations/0054_webhooks.sql"),
        sqlite: None,
    },
    Migration {
        version: 55,
        sql: include_str!("../migrations/0055_oauth.sql"),
        sqlite: None,
    },
];

/// A migration that changes nothing in a dialect is only comments there.
fn has_statements(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .any(|line| !line.is_empty() && !line.starts_with("--"))
}

/// The schema is written once; SQLite only needs its name for byte strings.
fn for_dialect(sql: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => sql.to_owned(),
        Dialect::Sqlite => sql.replace("BYTEA", "BLOB"),
    }
}

// The number is arbitrary ("palisade" in ASCII); it names Palisade's migration lock
// among other advisory locks.
const PG_LOCK: &str = "SELECT pg_advisory_lock(8097872805151990885)";
const PG_UNLOCK: &str = "SELECT pg_advisory_unlock(8097872805151990885)";

/// The newest schema this build knows (its last migration).
pub fn schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.write.acquire().await?;
    if store.dialect == Dialect::Postgres {
        conn.execute(PG_LOCK).await?;
    }
    let result = apply_pending(store.dialect, &mut conn).await;
    if store.dialect == Dialect::Postgres {
        conn.execute(PG_UNLOCK).await?;
    }
    result
}

async fn apply_pending(dialect: Dialect, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS palisade_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM palisade_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match (dialect, m.sqlite) {
            (Dialect::Sqlite, Some(own)) => own.to_owned(),
            _ => for_dialect(m.sql, dialect),
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        if has_statements(&sql) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO palisade_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(m.version)
            .bind(palisade_core::UnixMillis::now().0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_statements;

    #[test]
    fn a_body_of_comments_alone_changes_nothing() {
        assert!(!has_statements("-- nothing here\n\n   -- nor here\n"));
        assert!(has_statements("-- why\nCREATE SEQUENCE s;\n"));
        assert!(has_statements("  SELECT 1"));
    }
}
