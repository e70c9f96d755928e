//! The figures of a report and how they add up: counts, durations reduced to their
//! median and 90th percentile (nearest rank), service-level targets met and missed,
//! and satisfaction answers.

use serde::Serialize;

/// Durations (ms) of one kind, reduced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

/// The `p`th percentile (0 < p ≤ 100) of `values` by nearest rank: the smallest value
/// at least `p`% of all are at or below.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl Durations {
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        Self {
            count: values.len(),
            median_ms: percentile(&values, 50),
            p90_ms: percentile(&values, 90),
        }
    }
}

/// What a report says about one group of tickets (or all of them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Opened in the period.
    pub created: usize,
    /// Times a ticket became solved in the period.
    pub solved: usize,
    /// Unsolved (new, open or pending) at the end of the period.
    pub backlog: usize,
    /// From opening to the first public answer by staff, for tickets opened in the
    /// period, in business time where the ticket's policy has business hours.
    pub first_response: Durations,
    /// From opening to being solved, for tickets first solved in the period.
    pub resolution: Durations,
    /// Service-level targets decided in the period: met in time, and missed.
    pub targets_met: usize,
    pub targets_missed: usize,
    /// Satisfaction answers given in the period.
    pub rated_good: usize,
    pub rated_bad: usize,
}

impl Figures {
    /// Met targets as a share of decided ones, in percent (none decided: `None`).
    pub fn compliance_percent(&self) -> Option<f64> {
        let decided = self.targets_met + self.targets_missed;
        (decided > 0).then(|| self.targets_met as f64 * 100.0 / decided as f64)
    }

    /// Good answers as a share of all, in percent.
    pub fn satisfaction_percent(&self) -> Option<f64> {
        let rated = self.rated_good + self.rated_bad;
        (rated > 0).then(|| self.rated_good as f64 * 100.0 / rated as f64)
    }
}

/// The raw measurements of one group, reduced into [`Figures`] at the end.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    pub created: usize,
    pub solved: usize,
    pub backlog: usize,
    pub first_response: Vec<i64>,
    pub resolution: Vec<i64>,
    pub targets_met: usize,
    pub targets_missed: usize,
    pub rated_good: usize,
    pub rated_bad: usize,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.created += other.created;
        self.solved += other.solved;
        self.backlog += other.backlog;
        self.first_response.extend_from_slice(&other.first_response);
        self.resolution.extend_from_slice(&other.resolution);
        self.targets_met += other.targets_met;
        self.targets_missed += other.targets_missed;
        self.rated_good += other.rated_good;
        self.rated_bad += other.rated_bad;
    }

    pub fn figures(self) -> Figures {
        Figures {
            created: self.created,
            solved: self.solved,
            backlog: self.backlog,
            first_response: Durations::of(self.first_response),
            resolution: Durations::of(self.resolution),
            targets_met: self.targets_met,
            targets_missed: self.targets_missed,
            rated_good: self.rated_good,
            rated_bad: self.rated_bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50), Some(5));
        assert_eq!(percentile(&ten, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let d = Durations::of(vec![30, 10, 20]);
        assert_eq!((d.count, d.median_ms, d.p90_ms), (3, Some(20), Some(30)));
    }

    #[test]
    fn shares_need_something_to_share() {
        let f = Figures {
            targets_met: 3,
            targets_missed: 1,
            ..Figures::default()
        };
        assert_eq!(f.compliance_percent(), Some(75.0));
        assert_eq!(f.satisfaction_percent(), None);
    }
}
