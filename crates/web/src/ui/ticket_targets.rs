//! A ticket's service-level targets on its page, for staff: when each falls due, and
//! whether it was met, missed, or stands still while the ticket waits.

use palisade_store::TicketRecord;

use super::UiError;
use crate::{AppState, Caller};

pub struct TargetRow {
    /// `first_response`, `next_response` or `resolution`.
    pub target: &'static str,
    /// `met`, `met_late`, `breached`, `running` or `paused`.
    pub state: &'static str,
    /// RFC 3339, for `<time>`; empty while the clock stands still.
    pub due_at: String,
    /// The due time as the reader's language writes it (UTC).
    pub due: String,
}

pub struct Targets {
    pub rows: Vec<TargetRow>,
}

impl Targets {
    pub async fn of(s: &AppState, caller: &Caller, ticket: &TicketRecord) -> Result<Self, UiError> {
        let locale = crate::locale::current();
        let rows = s
            .desk()
            .targets_shown(&caller.actor(), ticket)
            .await?
            .into_iter()
            .map(|t| TargetRow {
                target: t.target.as_str(),
                state: match (t.met_at, t.breached, t.due_at) {
                    (Some(_), false, _) => "met",
                    (Some(_), true, _) => "met_late",
                    (None, true, _) => "breached",
                    (None, false, Some(_)) => "running",
                    (None, false, None) => "paused",
                },
                due_at: t.due_at.map(crate::api::dto::rfc3339).unwrap_or_default(),
                due: t
                    .due_at
                    .map(|ms| palisade_i18n::format_datetime(locale, ms))
                    .unwrap_or_default(),
            })
            .collect();
        Ok(Self { rows })
    }
}
