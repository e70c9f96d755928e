//! Limits on the public surfaces (help centre, assistant) and the security alerts they
//! raise. Counts live in the database, so a limit holds across nodes; each node reserves
//! a few requests of a subject's allowance per write (`allowance`). The first request
//! over a limit in a window raises one alert for its source: listed for administrators,
//! mailed to them, written to the audit trail.

use palisade_store::Store;

use crate::allowance::{Settled, Take};
use crate::{AppError, AppState, RequestMeta};

/// One limit: at most `max` events per `window_ms` for one subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window_ms: i64,
    /// The alert raised when a subject goes over.
    pub alert: &'static str,
}

const MINUTE: i64 = 60_000;

/// The limits of the public surfaces; see docs/ASSISTANT.md for why these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicLimits {
    /// Help-centre searches and listings per source address.
    pub help_search_per_ip: Limit,
    /// Article addresses that led nowhere per source address (probing for drafts and
    /// internal articles).
    pub article_misses_per_ip: Limit,
    /// New assistant conversations per source address.
    pub conversations_per_ip: Limit,
    /// Assistant messages per source address.
    pub assistant_messages_per_ip: Limit,
    /// Messages in one conversation.
    pub messages_per_conversation: Limit,
    /// Conversation ids or secrets tried in vain per source address.
    pub conversation_probes_per_ip: Limit,
    /// Messages trying to instruct the assistant in one conversation before it ends.
    pub manipulation_per_conversation: Limit,
    /// Site tokens refused per source address (forged, expired, replayed, naming no
    /// account): failed identity verifications.
    pub site_token_failures_per_ip: Limit,
    /// Ticket searches per account.
    pub ticket_searches: Limit,
}

impl Default for PublicLimits {
    fn default() -> Self {
        Self {
            help_search_per_ip: Limit {
                name: "help_search",
                max: 120,
                window_ms: MINUTE,
                alert: "flood.help_search",
            },
            article_misses_per_ip: Limit {
                name: "article_miss",
                max: 30,
                window_ms: 10 * MINUTE,
                alert: "probing.articles",
            },
            conversations_per_ip: Limit {
                name: "conversation_start",
                max: 20,
                window_ms: 10 * MINUTE,
                alert: "flood.assistant_conversations",
            },
            assistant_messages_per_ip: Limit {
                name: "assistant_message_ip",
                max: 60,
                window_ms: MINUTE,
                alert: "flood.assistant_messages",
            },
            messages_per_conversation: Limit {
                name: "assistant_message_conversation",
                max: 15,
                window_ms: MINUTE,
                alert: "flood.assistant_messages",
            },
            conversation_probes_per_ip: Limit {
                name: "conversation_probe",
                max: 20,
                window_ms: 10 * MINUTE,
                alert: "probing.conversations",
            },
            manipulation_per_conversation: Limit {
                name: "assistant_manipulation",
                max: 3,
                window_ms: 24 * 60 * MINUTE,
                alert: "assistant.manipulation",
            },
            site_token_failures_per_ip: Limit {
                name: "site_token_failure",
                max: 10,
                window_ms: 10 * MINUTE,
                alert: "probing.site_tokens",
            },
            ticket_searches: Limit {
                name: "ticket_search",
                max: 60,
                window_ms: MINUTE,
                alert: "flood.ticket_search",
            },
        }
    }
}

/// Whom a limit counts: the account when signed in, else the source address — for
/// IPv6 its /64, which one subscriber usually holds whole (counting single addresses
/// would let one client rotate through billions of them).
pub(crate) fn subject(caller: Option<&crate::Caller>, meta: &RequestMeta) -> String {
    match caller {
        Some(c) => format!("user:{}", c.principal.user_id),
        None => format!("ip:{}", palisade_core::source_network(&meta.ip)),
    }
}

fn retry_after(limit: &Limit) -> u64 {
    u64::try_from(Store::rate_window_left(limit.window_ms) / 1000 + 1).unwrap_or(1)
}

impl AppState {
    /// Counts one event for `subject`; true when this one is over the limit. The
    /// first event over it in a window raises the alert.
    pub(crate) async fn count_against(
        &self,
        limit: &Limit,
        subject: &str,
        meta: &RequestMeta,
    ) -> Result<bool, AppError> {
        let key = format!("{}:{subject}", limit.name);
        let window_start = Store::rate_window_start(limit.window_ms);
        let window_end = window_start + limit.window_ms.max(1);
        let allowances = self.allowances();
        let reserve = match allowances.take(&key, limit.max, window_start, window_end) {
            Take::Granted => return Ok(false),
            Take::Refused => return Ok(true),
            Take::Reserve(n) => n,
        };
        let total = self
            .store
            .add_to_window_starting(&key, window_start, reserve)
            .await?;
        match allowances.settle(&key, limit.max, window_start, reserve, total) {
            Settled::Granted => Ok(false),
            Settled::Refused { first } => {
                if first {
                    let window = window_start / limit.window_ms.max(1);
                    let detail = format!(
                        "more than {} {} in {} s",
                        limit.max,
                        limit.name.replace('_', " "),
                        limit.window_ms / 1000
                    );
                    self.raise_alert(limit.alert, subject, &detail, &format!("{key}:{window}"), meta)
                        .await?;
                }
                Ok(true)
            }
        }
    }

    /// Refuses the request with 429 once `subject` is over `limit`.
    pub(crate) async fn enforce(
        &self,
        limit: &Limit,
        subject: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        if self.count_against(limit, subject, meta).await? {
            return Err(AppError::TooManyRequests(retry_after(limit)));
        }
        Ok(())
    }

    /// Refuses with 429 while `subject` is over `limit`, without counting this request.
    pub(crate) async fn refuse_if_over(&self, limit: &Limit, subject: &str) -> Result<(), AppError> {
        let key = format!("{}:{subject}", limit.name);
        if self
            .allowances()
            .known_spent(&key, Store::rate_window_start(limit.window_ms))
            || self.store.rate_window_hits(&key, limit.window_ms).await? > limit.max
        {
            return Err(AppError::TooManyRequests(retry_after(limit)));
        }
        Ok(())
    }

    /// Records a security alert (once per `dedupe_key`), audits it and mails every
    /// active administrator, in one transaction.
    pub(crate) async fn raise_alert(
        &self,
        kind: &str,
        source: &str,
        detail: &str,
        dedupe_key: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        if !self
            .desk()
            .raise_alert(
                &meta.anonymous_audit(),
                &meta.ip,
                kind,
                source,
                detail,
                dedupe_key,
            )
            .await?
        {
            return Ok(());
        }
        tracing::warn!(kind, source, detail, "security alert");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ip: &str) -> RequestMeta {
        RequestMeta {
            ip: ip.into(),
            user_agent: String::new(),
        }
    }

    #[test]
    fn ipv6_visitors_are_counted_by_their_64_and_ipv4_by_address() {
        assert_eq!(subject(None, &meta("192.0.2.7")), "ip:192.0.2.7");
        let a = subject(None, &meta("2001:db8:1:2:aaaa::1"));
        let b = subject(None, &meta("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(a, b, "rotating within one /64 is one source");
        assert_eq!(a, "ip:2001:db8:1:2::/64");
        assert_ne!(a, subject(None, &meta("2001:db8:1:3::1")));
        assert_eq!(subject(None, &meta("::ffff:192.0.2.7")), "ip:192.0.2.7");
    }
}
