//! Anomaly detection on the public surfaces: each signal (refused requests, missing
//! resources, failed identity verifications…) is counted per source in one-minute
//! buckets and scored against a rolling baseline — an exponentially weighted mean and
//! variance of what one source does in a bucket, and of what all sources do together.
//! A source whose count in the current bucket crosses `mean + z·sd` (and an absolute
//! floor) is an anomaly at once, not at the end of the minute; so is a total across
//! sources that crosses its own baseline (a distributed burst). Anomalous sources do not
//! feed the baseline, so an attack cannot teach the detector that attacks are normal.
//!
//! Pure and clock-free (callers pass the time), so a recorded or synthetic trace replays
//! exactly. The state is per node; the alerts it raises go through the database and are
//! deduplicated there.

use std::collections::{HashMap, HashSet};

/// What is being counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// 401 and 403 answers.
    Denied,
    /// 404 answers: ids, addresses or articles tried that do not exist or are hidden.
    NotFound,
    /// Site tokens and other identity proofs refused.
    IdentityFailure,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Denied => "denied",
            Signal::NotFound => "not_found",
            Signal::IdentityFailure => "identity_failure",
        }
    }
}

/// Tunable in `[anomaly]`; docs/ASSISTANT.md explains the defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorConfig {
    pub bucket_ms: i64,
    /// Weight of the newest bucket in the baseline (0–1).
    pub alpha: f64,
    /// Standard deviations above the mean that make a count anomalous.
    pub z: f64,
    /// A source is never anomalous below this many events in a bucket.
    pub min_per_source: u64,
    /// All sources together are never anomalous below this many events in a bucket.
    pub min_total: u64,
    /// The smallest standard deviation assumed (a quiet baseline is not zero-tolerance).
    pub sd_floor: f64,
    /// Buckets of baseline needed before the total is scored at all.
    pub warmup_buckets: u64,
    /// How long an anomalous source is refused.
    pub throttle_ms: i64,
    /// The per-source threshold never rises above this many events a minute, however
    /// the baseline moves (so many sources staying just under it cannot raise it).
    pub max_per_source: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            bucket_ms: 60_000,
            alpha: 0.1,
            z: 4.0,
            min_per_source: 30,
            min_total: 200,
            sd_floor: 2.0,
            warmup_buckets: 10,
            throttle_ms: 10 * 60_000,
            max_per_source: 300,
        }
    }
}

/// One anomaly.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub signal: Signal,
    /// The source, or `None` for a burst across sources.
    pub source: Option<String>,
    pub count: u64,
    /// The count that was crossed.
    pub threshold: f64,
    pub bucket_start: i64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Ewma {
    mean: f64,
    var: f64,
    samples: u64,
}

impl Ewma {
    fn update(&mut self, x: f64, alpha: f64) {
        if self.samples == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let diff = x - self.mean;
            self.mean += alpha * diff;
            self.var = (1.0 - alpha) * (self.var + alpha * diff * diff);
        }
        self.samples += 1;
    }

    fn threshold(&self, config: &DetectorConfig, floor: u64) -> f64 {
        let sd = self.var.sqrt().max(config.sd_floor);
        (self.mean + config.z * sd).max(floor as f64)
    }

    fn capped_threshold(&self, config: &DetectorConfig, floor: u64, ceiling: u64) -> f64 {
        self.threshold(config, floor).min(ceiling.max(floor) as f64)
    }
}

#[derive(Debug, Default)]
struct SignalState {
    bucket_start: i64,
    counts: HashMap<String, u64>,
    total: u64,
    flagged: HashSet<String>,
    total_flagged: bool,
    per_source: Ewma,
    totals: Ewma,
}

#[derive(Debug, Default)]
pub struct Detector {
    config: DetectorConfig,
    signals: HashMap<Signal, SignalState>,
    throttled: HashMap<String, i64>,
}

/// Sources tracked per bucket at most, so a flood of spoofed addresses cannot exhaust
/// memory; beyond it new sources only count towards the total.
const MAX_SOURCES_PER_BUCKET: usize = 100_000;
const OVERFLOW_SOURCE: &str = "overflow:sources-beyond-the-cap";
/// Sources a bucket's per-source sample is taken over at least (absent ones count as
/// quiet): a majority of them, never one source, sets the baseline.
const BASELINE_QUORUM: usize = 5;

impl Detector {
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Counts one event of `signal` from `source` at `now_ms`; returns what became
    /// anomalous with it (each source and the total at most once per bucket).
    pub fn record(&mut self, signal: Signal, source: &str, now_ms: i64) -> Vec<Finding> {
        let config = self.config;
        let bucket_start = now_ms - now_ms.rem_euclid(config.bucket_ms.max(1));
        let state = self.signals.entry(signal).or_default();
        if state.bucket_start != bucket_start {
            close_buckets(state, &config, bucket_start);
            self.throttled.retain(|_, until| *until > now_ms);
        }
        let Some(state) = self.signals.get_mut(&signal) else {
            return Vec::new();
        };
        let mut findings = Vec::new();
        state.total += 1;
        // Beyond the cap, new sources share one counter: still seen, never unbounded.
        let key = if state.counts.len() < MAX_SOURCES_PER_BUCKET || state.counts.contains_key(source) {
            source
        } else {
            OVERFLOW_SOURCE
        };
        let count = {
            let c = state.counts.entry(key.to_owned()).or_default();
            *c += 1;
            *c
        };
        let source = key;
        let threshold =
            state
                .per_source
                .capped_threshold(&config, config.min_per_source, config.max_per_source);
        if count as f64 >= threshold && !state.flagged.contains(source) {
            state.flagged.insert(source.to_owned());
            findings.push(Finding {
                signal,
                source: Some(source.to_owned()),
                count,
                threshold,
                bucket_start,
            });
            self.throttled
                .insert(source.to_owned(), now_ms + config.throttle_ms);
        }
        if state.totals.samples >= config.warmup_buckets && !state.total_flagged {
            let threshold = state.totals.threshold(&config, config.min_total);
            if state.total as f64 >= threshold {
                state.total_flagged = true;
                findings.push(Finding {
                    signal,
                    source: None,
                    count: state.total,
                    threshold,
                    bucket_start,
                });
            }
        }
        findings
    }

    /// Whether `source` is being refused after an anomaly.
    pub fn is_throttled(&mut self, source: &str, now_ms: i64) -> bool {
        match self.throttled.get(source) {
            Some(until) if *until > now_ms => true,
            Some(_) => {
                self.throttled.remove(source);
                false
            }
            None => false,
        }
    }
}

/// Folds the finished bucket into the baselines (anomalous sources and totals left
/// out), counting empty buckets in between as quiet ones for the total. The per-source
/// baseline takes one sample per bucket — the median of the sources' counts — so no
/// number of sources can swing it within a bucket, and the order sources are stored in
/// does not matter.
fn close_buckets(state: &mut SignalState, config: &DetectorConfig, new_start: i64) {
    if state.bucket_start != 0 || state.total > 0 {
        let normal: Vec<u64> = state
            .counts
            .iter()
            .filter(|(s, _)| !state.flagged.contains(*s))
            .map(|(_, c)| *c)
            .collect();
        if !normal.is_empty() {
            // Fewer sources than a quorum are padded with quiet ones, so the median is
            // what most of a quorum did: on a quiet node one patient source, counting
            // just under the threshold minute after minute, stays a minority and
            // cannot walk the baseline up to the ceiling for everyone.
            let mut sample = normal.clone();
            sample.resize(sample.len().max(BASELINE_QUORUM), 0);
            sample.sort_unstable();
            let median = sample[sample.len() / 2];
            state.per_source.update(median as f64, config.alpha);
        }
        if !state.total_flagged {
            state
                .totals
                .update(normal.iter().sum::<u64>() as f64, config.alpha);
        }
        let gap = (new_start - state.bucket_start) / config.bucket_ms.max(1) - 1;
        for _ in 0..gap.clamp(0, 60) {
            state.totals.update(0.0, config.alpha);
        }
    }
    state.bucket_start = new_start;
    state.counts.clear();
    state.flagged.clear();
    state.total = 0;
    state.total_flagged = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_far_above_the_baseline_is_flagged_once_and_throttled() {
        let mut d = Detector::new(DetectorConfig {
            min_per_source: 5,
            ..DetectorConfig::default()
        });
        // Ten quiet minutes of three sources doing one or two things each.
        for minute in 0..10 {
            for (source, n) in [("a", 1), ("b", 2), ("c", 1)] {
                for _ in 0..n {
                    assert!(d.record(Signal::NotFound, source, minute * 60_000 + 1).is_empty());
                }
            }
        }
        let t = 10 * 60_000 + 5;
        let mut findings = Vec::new();
        for _ in 0..40 {
            findings.extend(d.record(Signal::NotFound, "probe", t));
        }
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].source.as_deref(), Some("probe"));
        assert!(
            findings[0].count < 15,
            "flagged as soon as it crossed, not at the end"
        );
        assert!(d.is_throttled("probe", t + 1));
        assert!(!d.is_throttled("a", t + 1));
        assert!(!d.is_throttled("probe", t + 11 * 60_000));
    }

    #[test]
    fn one_patient_source_cannot_raise_the_threshold_for_everyone() {
        let config = DetectorConfig::default();
        let mut d = Detector::new(config);
        // Two hours of one source staying just under whatever the threshold is.
        for minute in 0..120 {
            let threshold = d
                .signals
                .get(&Signal::NotFound)
                .map_or(config.min_per_source as f64, |s| {
                    s.per_source
                        .capped_threshold(&config, config.min_per_source, config.max_per_source)
                });
            let under = (threshold as u64).saturating_sub(1);
            for _ in 0..under {
                assert!(
                    d.record(Signal::NotFound, "patient", minute * 60_000 + 1)
                        .is_empty()
                );
            }
        }
        let state = &d.signals[&Signal::NotFound];
        let threshold =
            state
                .per_source
                .capped_threshold(&config, config.min_per_source, config.max_per_source);
        assert!(
            threshold < 2.0 * config.min_per_source as f64,
            "threshold walked up to {threshold}"
        );
        // A prober doing 40 in a minute is still caught.
        let t = 120 * 60_000 + 5;
        let findings: Vec<Finding> = (0..40)
            .flat_map(|_| d.record(Signal::NotFound, "probe", t))
            .collect();
        assert_eq!(findings.len(), 1, "{findings:?}");
    }
}
