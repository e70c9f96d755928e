//! Anomaly detection: a synthetic traffic trace with a fixed seed (hours of ordinary
//! broken links and typos from hundreds of sources, with a single-source probe, a
//! distributed burst and a credential-stuffing burst inside it) raises findings in the
//! attack segments only; and over HTTP, on SQLite and PostgreSQL, a burst of refused
//! or missing requests throttles the source, ends the session it came with, and raises
//! one alert (listed, audited, mailed).

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use palisade_web::{Detector, DetectorConfig, Finding, Signal};
use serde_json::json;

palisade_testkit::on_both_backends!(a_burst_is_throttled_ends_its_session_and_alerts_once);

/// SplitMix64: a tiny deterministic generator, so the trace is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MINUTE: i64 = 60_000;
const START: i64 = 1_790_000_000_000 - 1_790_000_000_000 % MINUTE;

struct Event {
    at: i64,
    signal: Signal,
    source: String,
}

/// Minutes `[from, to)` of each attack.
const PROBE: (i64, i64) = (30, 33);
const DISTRIBUTED: (i64, i64) = (70, 72);
const STUFFING: (i64, i64) = (95, 96);

fn trace(seed: u64) -> Vec<Event> {
    let mut rng = Rng(seed);
    let mut events = Vec::new();
    let mut push = |rng: &mut Rng, minute: i64, signal: Signal, source: String| {
        let at = START + minute * MINUTE + i64::try_from(rng.below(60_000)).unwrap();
        events.push(Event { at, signal, source });
    };
    for minute in 0..120 {
        // Ordinary traffic: 300 sources, a third active in any minute, each with a few
        // stale links or a mistyped password.
        for source in 0..300 {
            if rng.below(3) != 0 {
                continue;
            }
            for _ in 0..=rng.below(4) {
                push(
                    &mut rng,
                    minute,
                    Signal::NotFound,
                    format!("ip:198.51.100.{source}"),
                );
            }
            if rng.below(10) == 0 {
                push(
                    &mut rng,
                    minute,
                    Signal::Denied,
                    format!("ip:198.51.100.{source}"),
                );
            }
        }
        if (PROBE.0..PROBE.1).contains(&minute) {
            for _ in 0..150 {
                push(&mut rng, minute, Signal::NotFound, "ip:203.0.113.66".into());
            }
        }
        if (DISTRIBUTED.0..DISTRIBUTED.1).contains(&minute) {
            for bot in 0..80 {
                for _ in 0..12 {
                    push(&mut rng, minute, Signal::NotFound, format!("ip:192.0.2.{bot}"));
                }
            }
        }
        if (STUFFING.0..STUFFING.1).contains(&minute) {
            for _ in 0..60 {
                push(&mut rng, minute, Signal::Denied, "ip:203.0.113.99".into());
            }
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

fn minute_of(f: &Finding) -> i64 {
    (f.bucket_start - START) / MINUTE
}

#[test]
fn a_synthetic_trace_raises_findings_on_the_attack_segments_only() {
    for seed in [7, 2026, 0xDEAD_BEEF] {
        let mut detector = Detector::new(DetectorConfig::default());
        let mut findings = Vec::new();
        for e in trace(seed) {
            findings.extend(detector.record(e.signal, &e.source, e.at));
        }
        let within = |f: &Finding, (from, to): (i64, i64)| (from..to).contains(&minute_of(f));
        for f in &findings {
            assert!(
                within(f, PROBE) || within(f, DISTRIBUTED) || within(f, STUFFING),
                "seed {seed}: a finding outside the attacks: {f:?}"
            );
            if let Some(source) = &f.source {
                assert!(
                    source == "ip:203.0.113.66" || source == "ip:203.0.113.99",
                    "seed {seed}: an ordinary or distributed source flagged on its own: {f:?}"
                );
            }
        }
        let probe: Vec<_> = findings.iter().filter(|f| within(f, PROBE)).collect();
        assert!(
            probe
                .iter()
                .any(|f| f.source.as_deref() == Some("ip:203.0.113.66") && f.signal == Signal::NotFound),
            "seed {seed}: the probe was missed: {findings:?}"
        );
        // Flagged once per minute at most, and as soon as it crossed.
        let probe_source: Vec<_> = probe.iter().filter(|f| f.source.is_some()).collect();
        assert!(probe_source.len() <= 3, "{probe_source:?}");
        assert!(probe_source.iter().all(|f| f.count <= 40), "{probe_source:?}");
        assert!(
            findings
                .iter()
                .any(|f| within(f, DISTRIBUTED) && f.source.is_none() && f.signal == Signal::NotFound),
            "seed {seed}: the distributed burst was missed: {findings:?}"
        );
        assert!(
            findings.iter().any(|f| within(f, STUFFING)
                && f.source.as_deref() == Some("ip:203.0.113.99")
                && f.signal == Signal::Denied),
            "seed {seed}: the credential stuffing was missed: {findings:?}"
        );
    }
}

#[test]
fn the_baseline_does_not_learn_from_attacks() {
    let mut detector = Detector::new(DetectorConfig {
        min_per_source: 5,
        ..DetectorConfig::default()
    });
    let mut flagged_minutes = Vec::new();
    // An hour of one source probing 100 times a minute next to quiet neighbours: it is
    // flagged every minute, never accepted as the new normal.
    for minute in 0..60 {
        for n in 0..100 {
            for f in detector.record(Signal::NotFound, "ip:203.0.113.7", START + minute * MINUTE + n) {
                if f.source.is_some() {
                    flagged_minutes.push(minute);
                }
            }
        }
        for neighbour in 0..20 {
            detector.record(
                Signal::NotFound,
                &format!("ip:198.51.100.{neighbour}"),
                START + minute * MINUTE + 500,
            );
        }
    }
    assert_eq!(flagged_minutes, (0..60).collect::<Vec<_>>());
}

#[test]
fn many_sources_just_under_the_threshold_do_not_raise_it() {
    let mut detector = Detector::new(DetectorConfig::default());
    // An hour of 50 addresses each doing 29 a minute, just under the floor of 30.
    for minute in 0..60 {
        for source in 0..50 {
            for n in 0..29 {
                detector.record(
                    Signal::NotFound,
                    &format!("ip:192.0.2.{source}"),
                    START + minute * MINUTE + n,
                );
            }
        }
    }
    // A probe at 300 a minute — the ceiling — is still flagged.
    let t = START + 60 * MINUTE;
    let flagged = (0..300)
        .flat_map(|n| detector.record(Signal::NotFound, "ip:203.0.113.5", t + n))
        .any(|f| f.source.as_deref() == Some("ip:203.0.113.5"));
    assert!(flagged);
}

async fn alerts(w: &World, kind: &str) -> usize {
    w.store
        .security_alerts(50)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.kind == kind)
        .count()
}

async fn a_burst_is_throttled_ends_its_session_and_alerts_once(backend: Backend) {
    let small = DetectorConfig {
        min_per_source: 20,
        ..DetectorConfig::default()
    };
    // A visitor guessing ticket ids: refused (401) until the burst is flagged, then
    // refused everywhere for a while.
    let w = World::new(backend).await.with_config(|c| c.anomaly = small);
    let outbox_before = w.store.count_rows("outbox").await.unwrap();
    for n in 0..19 {
        let r = w
            .raw(
                None,
                "GET",
                &format!("/api/v1/tickets/tkt_guess{n:04}"),
                Body::empty(),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        alerts(&w, "anomaly.denied").await,
        0,
        "ordinary failures are not an anomaly"
    );
    let r = w
        .raw(None, "GET", "/api/v1/tickets/tkt_guess9999", Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(alerts(&w, "anomaly.denied").await, 1);
    let r = w.raw(None, "GET", "/api/v1/companies", Body::empty(), &[]).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the flagged source is slowed wherever it has no limit of its own"
    );
    assert!(r.headers.contains_key("retry-after"));
    // Sign-in and the help centre have their own limits: people behind the same
    // address (an office NAT) can still sign in and read help.
    let r = w.raw(None, "GET", "/help", Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "the help centre stays open");
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "agent.a@desk.test", "password": common::PASSWORD}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "a correct sign-in gets through: {}",
        r.text()
    );
    // A made-up credential does not get past the throttle.
    let r = w
        .raw(
            None,
            "GET",
            "/api/v1/companies",
            Body::empty(),
            &[("authorization", "Bearer made-up-token")],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Signed-in people behind the same address (an office, a carrier's NAT) keep working.
    let agent = w.agent_a.clone();
    let r = w.get(&agent, &format!("/api/v1/tickets/{}", w.ticket_1)).await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..30 {
        w.raw(None, "GET", "/api/v1/tickets/tkt_again", Body::empty(), &[])
            .await;
    }
    assert_eq!(
        alerts(&w, "anomaly.denied").await,
        1,
        "one alert, not one per request"
    );
    let audited = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "security.alert_raised")
        .count();
    assert_eq!(audited, 1);
    assert_eq!(
        w.store.count_rows("outbox").await.unwrap(),
        outbox_before + 1,
        "administrators are mailed once"
    );

    // Another site's page making its visitors' browsers load broken links here (images,
    // frames): not counted, so it can neither get their address refused nor sign them out.
    let w = World::new(backend).await.with_config(|c| c.anomaly = small);
    let customer = w.customer_1.clone();
    let cookie = format!("{}={}", palisade_web::SESSION_COOKIE, customer.token);
    for n in 0..60 {
        w.raw(
            None,
            "GET",
            &format!("/api/v1/tickets/tkt_lure{n:04}"),
            Body::empty(),
            &[("sec-fetch-site", "cross-site"), ("cookie", &cookie)],
        )
        .await;
    }
    assert_eq!(
        alerts(&w, "anomaly.not_found").await + alerts(&w, "anomaly.denied").await,
        0
    );
    assert_eq!(
        w.raw(None, "GET", "/help", Body::empty(), &[]).await.status,
        StatusCode::OK
    );
    assert!(
        w.state
            .identity
            .authenticate(&customer.token)
            .await
            .unwrap()
            .is_some()
    );

    // A client cannot switch counting off by calling its own requests a browser's
    // cross-site ones: with an Authorization header they count, and the session that
    // carried the burst is ended.
    let w = World::new(backend).await.with_config(|c| c.anomaly = small);
    let customer = w.customer_1.clone();
    let bearer = format!("Bearer {}", customer.token);
    for n in 0..20 {
        w.raw(
            None,
            "GET",
            &format!("/api/v1/tickets/tkt_claim{n:04}"),
            Body::empty(),
            &[("sec-fetch-site", "cross-site"), ("authorization", &bearer)],
        )
        .await;
    }
    assert_eq!(
        alerts(&w, "anomaly.not_found").await,
        1,
        "the forged header changed nothing"
    );
    assert!(
        w.state
            .identity
            .authenticate(&customer.token)
            .await
            .unwrap()
            .is_none()
    );

    // Images a page makes the reader's browser fetch (with the reader's cookie) are
    // counted, but never end the reader's session.
    let w = World::new(backend).await.with_config(|c| c.anomaly = small);
    let customer = w.customer_1.clone();
    let cookie = format!("{}={}", palisade_web::SESSION_COOKIE, customer.token);
    for n in 0..20 {
        w.raw(
            None,
            "GET",
            &format!("/help/files/afl_{n:0>22}"),
            Body::empty(),
            &[
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-dest", "image"),
                ("cookie", &cookie),
            ],
        )
        .await;
    }
    assert_eq!(alerts(&w, "anomaly.not_found").await, 1);
    assert!(
        w.state
            .identity
            .authenticate(&customer.token)
            .await
            .unwrap()
            .is_some(),
        "a page's subresources do not sign its reader out"
    );

    // A signed-in customer trying ids that are not theirs (404s): the session that
    // carried the burst is ended.
    let w = World::new(backend).await.with_config(|c| c.anomaly = small);
    let customer = w.customer_1.clone();
    for n in 0..20 {
        let r = w
            .raw(
                Some(&customer),
                "GET",
                &format!("/api/v1/tickets/tkt_other{n:04}"),
                Body::empty(),
                &[],
            )
            .await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::TOO_MANY_REQUESTS,
            "{}",
            r.status
        );
    }
    assert_eq!(alerts(&w, "anomaly.not_found").await, 1);
    assert!(
        w.state
            .identity
            .authenticate(&customer.token)
            .await
            .unwrap()
            .is_none(),
        "the session that carried the burst is ended"
    );
}
