//! Prometheus metrics. Adapters count through [`Metrics`]: HTTP requests by route
//! template, method and status with latency; SMTP sessions and the answers given to
//! messages; committed audit entries by action and outcome (which is where sign-in
//! failures, throttles and alerts show); and, at each scrape, gauges the binary reads
//! from the database and peers ([`Gauges`]). Every label value comes from a closed set
//! in code (route templates, action names, status codes): never an id, an address, a
//! name or anything a client chose.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    answer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditLabels {
    action: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn latency() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    smtp_sessions: Family<AnswerLabels, Counter>,
    smtp_messages: Family<AnswerLabels, Counter>,
    audit_entries: Family<AuditLabels, Counter>,
    outbox_queued: Gauge,
    outbox_failed: Gauge,
    outbox_oldest_seconds: FloatGauge,
    event_backlog: Family<NameLabels, Gauge>,
    event_backlog_seconds: Family<NameLabels, FloatGauge>,
    pool_connections: Family<PoolLabels, Gauge>,
    peer_up: Family<NameLabels, Gauge>,
}

/// This node's metrics. Cheap to clone; every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What a scrape reads from the database and the peers.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub outbox_queued: i64,
    pub outbox_failed: i64,
    /// How long the oldest queued mail has waited.
    pub outbox_oldest_seconds: f64,
    /// Per event subscriber: events not yet handled, and how old the oldest is.
    pub event_backlog: Vec<(String, i64, f64)>,
    /// Per pool (`read`, `write`): connections open and idle.
    pub pools: Vec<(&'static str, u32, u32)>,
    /// Per peer (`database`, `scanner`, `relay`): whether it answered.
    pub peers: Vec<(&'static str, bool)>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("palisade");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_seconds = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response head, by route template and method",
            http_seconds.clone(),
        );
        let smtp_sessions = Family::<AnswerLabels, Counter>::default();
        registry.register(
            "smtp_sessions",
            "SMTP connections: accepted, or turned away (too many, too many from one address)",
            smtp_sessions.clone(),
        );
        let smtp_messages = Family::<AnswerLabels, Counter>::default();
        registry.register(
            "smtp_messages",
            "Messages answered after DATA: accepted (2xx), deferred (4xx) or refused (5xx)",
            smtp_messages.clone(),
        );
        let audit_entries = Family::<AuditLabels, Counter>::default();
        registry.register(
            "audit_entries",
            "Audit entries committed on this node, by action and outcome (sign-in failures: auth.sign_in with outcome failure; throttles; security.alert_raised)",
            audit_entries.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "outbox_queued",
            "Mail waiting in the outbox",
            outbox_queued.clone(),
        );
        let outbox_failed = Gauge::default();
        registry.register(
            "outbox_failed",
            "Mail the outbox gave up on (the relay refused it or kept failing)",
            outbox_failed.clone(),
        );
        let outbox_oldest_seconds = FloatGauge::default();
        registry.register(
            "outbox_oldest_queued_seconds",
            "How long the oldest queued mail has waited",
            outbox_oldest_seconds.clone(),
        );
        let event_backlog = Family::<NameLabels, Gauge>::default();
        registry.register(
            "event_backlog",
            "Domain events a subscriber has not handled yet",
            event_backlog.clone(),
        );
        let event_backlog_seconds = Family::<NameLabels, FloatGauge>::default();
        registry.register(
            "event_backlog_oldest_seconds",
            "Age of the oldest domain event a subscriber has not handled",
            event_backlog_seconds.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "database_pool_connections",
            "Database connections, by pool and state (open, idle)",
            pool_connections.clone(),
        );
        let peer_up = Family::<NameLabels, Gauge>::default();
        registry.register(
            "peer_up",
            "Whether a peer answered at the last scrape (1) or not (0)",
            peer_up.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            http_requests,
            http_seconds,
            smtp_sessions,
            smtp_messages,
            audit_entries,
            outbox_queued,
            outbox_failed,
            outbox_oldest_seconds,
            event_backlog,
            event_backlog_seconds,
            pool_connections,
            peer_up,
        }))
    }

    /// One HTTP request answered. `route` is the matched route template (`None` for a
    /// path no route matched, counted as `unmatched`: never the path itself).
    pub fn http_request(&self, route: Option<&str>, method: &str, status: u16, seconds: f64) {
        let route = route.unwrap_or("unmatched").to_owned();
        let method = known_method(method);
        self.0
            .http_requests
            .get_or_create(&HttpLabels {
                route: route.clone(),
                method,
                status,
            })
            .inc();
        self.0
            .http_seconds
            .get_or_create(&RouteLabels { route, method })
            .observe(seconds);
    }

    /// An SMTP connection taken (`accepted`) or turned away (`too_many`,
    /// `too_many_from_address`).
    pub fn smtp_session(&self, answer: &'static str) {
        self.0.smtp_sessions.get_or_create(&AnswerLabels { answer }).inc();
    }

    /// The reply code given to a message after DATA.
    pub fn smtp_message(&self, code: u16) {
        let answer = match code {
            200..=299 => "accepted",
            400..=499 => "deferred",
            _ => "refused",
        };
        self.0.smtp_messages.get_or_create(&AnswerLabels { answer }).inc();
    }

    /// Sets the scrape-time gauges.
    pub fn set(&self, gauges: &Gauges) {
        self.0.outbox_queued.set(gauges.outbox_queued);
        self.0.outbox_failed.set(gauges.outbox_failed);
        self.0.outbox_oldest_seconds.set(gauges.outbox_oldest_seconds);
        for (name, behind, seconds) in &gauges.event_backlog {
            let labels = NameLabels { name: name.clone() };
            self.0.event_backlog.get_or_create(&labels).set(*behind);
            self.0.event_backlog_seconds.get_or_create(&labels).set(*seconds);
        }
        for (pool, open, idle) in &gauges.pools {
            for (state, value) in [("open", open), ("idle", idle)] {
                self.0
                    .pool_connections
                    .get_or_create(&PoolLabels { pool, state })
                    .set(i64::from(*value));
            }
        }
        for (peer, up) in &gauges.peers {
            self.0
                .peer_up
                .get_or_create(&NameLabels {
                    name: (*peer).to_owned(),
                })
                .set(i64::from(*up));
        }
    }

    /// The OpenMetrics text of everything counted so far.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.0.registry).is_err() {
            // Writing into a String cannot fail; an empty scrape is the honest answer if
            // it ever did.
            text.clear();
        }
        text
    }
}

impl palisade_store::AuditTap for Metrics {
    fn committed(&self, action: &'static str, outcome: &'static str) {
        self.0
            .audit_entries
            .get_or_create(&AuditLabels { action, outcome })
            .inc();
    }
}

/// Methods outside the standard set are one label, so a client cannot mint labels.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::AuditTap as _;

    #[test]
    fn the_text_names_templates_and_closed_labels_only() {
        let metrics = Metrics::new();
        metrics.http_request(Some("/api/v1/tickets/{id}"), "GET", 200, 0.004);
        metrics.http_request(None, "BREW", 404, 0.001);
        metrics.smtp_session("accepted");
        metrics.smtp_message(250);
        metrics.smtp_message(451);
        metrics.committed("auth.sign_in", "failure");
        metrics.set(&Gauges {
            outbox_queued: 3,
            event_backlog: vec![("security_notices".into(), 2, 1.5)],
            pools: vec![("read", 4, 3)],
            peers: vec![("scanner", false)],
            ..Gauges::default()
        });
        let text = metrics.render();
        for line in [
            r#"palisade_http_requests_total{route="/api/v1/tickets/{id}",method="GET",status="200"} 1"#,
            r#"palisade_http_requests_total{route="unmatched",method="other",status="404"} 1"#,
            r#"palisade_smtp_messages_total{answer="accepted"} 1"#,
            r#"palisade_smtp_messages_total{answer="deferred"} 1"#,
            r#"palisade_audit_entries_total{action="auth.sign_in",outcome="failure"} 1"#,
            "palisade_outbox_queued 3",
            r#"palisade_event_backlog{name="security_notices"} 2"#,
            r#"palisade_database_pool_connections{pool="read",state="idle"} 3"#,
            r#"palisade_peer_up{name="scanner"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.contains("palisade_http_request_duration_seconds_bucket"));
        assert!(!text.contains("BREW"), "a client's method never becomes a label");
        assert!(text.ends_with("# EOF\n"));
    }
}
