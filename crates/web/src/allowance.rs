//! A node's share of the shared limits: instead of writing every counted request to the
//! database, a node reserves a few requests of a subject's allowance at once (one
//! write), answers from that reservation, and remembers when the database said the
//! allowance is spent, so a refused flood costs no writes either.
//!
//! The database still holds the count for every node, and reservations are capped so
//! that the reserved total never exceeds the limit: a subject is never let through more
//! often than the limit allows. What a node reserved and did not use is lost when its
//! window ends, so with several nodes a subject may be refused up to
//! `(nodes − 1) × (block − 1)` requests early — never late. Limits too small for a block
//! of two are counted one request per write, exactly as before.

use std::collections::HashMap;
use std::sync::Mutex;

/// A block is about a sixteenth of the limit, so that even with a few nodes a
/// subject's allowance is not held in reservations nobody uses.
const BLOCK_DIVISOR: i64 = 16;
const MAX_BLOCK: i64 = 64;

/// Subjects whose reservations a node keeps at once; past this (a flood from many
/// addresses within one window), requests are counted one write each, as without
/// reservations, so memory stays bounded without letting anyone through.
const MAX_LEASES: usize = 50_000;

/// How often a full table may be swept for lapsed reservations: a sweep reads every
/// entry under the lock, and a flood of new addresses must not buy one per request.
const SWEEP_INTERVAL_MS: i64 = 1_000;

/// How many requests of a limit of `max` one database write reserves.
pub(crate) fn block_for(max: i64) -> i64 {
    (max / BLOCK_DIVISOR).clamp(1, MAX_BLOCK)
}

#[derive(Debug)]
struct Lease {
    window_start: i64,
    window_end: i64,
    /// Reserved and not used yet.
    left: i64,
    /// The database refused a reservation in this window.
    spent: bool,
}

/// What a request may do before (or instead of) asking the database.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// Answered from this node's reservation.
    Granted,
    /// This node already knows the allowance is spent for this window.
    Refused,
    /// Reserve this many requests in the database, then [`Allowances::settle`].
    Reserve(i64),
}

/// What the database's answer to a reservation means for the request that asked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    Granted,
    /// Over the limit; `first` on this node's first refusal in the window (the one
    /// that raises the alert, which the database de-duplicates across nodes).
    Refused {
        first: bool,
    },
}

#[derive(Default)]
struct Leases {
    by_key: HashMap<String, Lease>,
    swept_at: i64,
}

#[derive(Default)]
pub(crate) struct Allowances {
    leases: Mutex<Leases>,
}

impl Allowances {
    fn leases(&self) -> std::sync::MutexGuard<'_, Leases> {
        // Every update below leaves a lease consistent, so a panic elsewhere while the
        // map was held does not stop the counting.
        self.leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One request of `key` in the window `[window_start, window_end)` of a limit of
    /// `max`.
    pub(crate) fn take(&self, key: &str, max: i64, window_start: i64, window_end: i64) -> Take {
        let block = block_for(max);
        if block == 1 {
            return Take::Reserve(1);
        }
        let mut guard = self.leases();
        let leases = &mut *guard;
        match leases.by_key.get_mut(key) {
            Some(lease) if lease.window_start == window_start => {
                if lease.spent {
                    Take::Refused
                } else if lease.left > 0 {
                    lease.left -= 1;
                    Take::Granted
                } else {
                    Take::Reserve(block)
                }
            }
            Some(lease) => {
                *lease = Lease {
                    window_start,
                    window_end,
                    left: 0,
                    spent: false,
                };
                Take::Reserve(block)
            }
            None => {
                let now = palisade_core::UnixMillis::now().0;
                if leases.by_key.len() >= MAX_LEASES && now - leases.swept_at >= SWEEP_INTERVAL_MS {
                    leases.by_key.retain(|_, lease| lease.window_end > now);
                    leases.swept_at = now;
                }
                if leases.by_key.len() >= MAX_LEASES {
                    return Take::Reserve(1);
                }
                leases.by_key.insert(
                    key.to_owned(),
                    Lease {
                        window_start,
                        window_end,
                        left: 0,
                        spent: false,
                    },
                );
                Take::Reserve(block)
            }
        }
    }

    /// The database counted `reserved` more for `key`, reaching `total`: this request
    /// gets one of what fits under `max`, the node keeps the rest.
    pub(crate) fn settle(
        &self,
        key: &str,
        max: i64,
        window_start: i64,
        reserved: i64,
        total: i64,
    ) -> Settled {
        let before = total - reserved;
        let fits = (max - before).clamp(0, reserved);
        let mut leases = self.leases();
        let lease = leases
            .by_key
            .get_mut(key)
            .filter(|lease| lease.window_start == window_start);
        if fits > 0 {
            if let Some(lease) = lease {
                lease.left += fits - 1;
            }
            return Settled::Granted;
        }
        let first = match lease {
            Some(lease) => !std::mem::replace(&mut lease.spent, true),
            // Counted one by one (no lease kept): the request that crossed the limit.
            None => before == max,
        };
        Settled::Refused { first }
    }

    /// Whether this node already knows `key`'s allowance is spent for the window.
    pub(crate) fn known_spent(&self, key: &str, window_start: i64) -> bool {
        self.leases()
            .by_key
            .get(key)
            .is_some_and(|lease| lease.window_start == window_start && lease.spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays `requests` requests through a node against a shared database count.
    fn run(
        node: &Allowances,
        db: &mut i64,
        key: &str,
        max: i64,
        window: i64,
        requests: usize,
    ) -> (usize, usize, usize) {
        let (mut granted, mut refused, mut writes) = (0, 0, 0);
        for _ in 0..requests {
            match node.take(key, max, window, window + 60_000) {
                Take::Granted => granted += 1,
                Take::Refused => refused += 1,
                Take::Reserve(n) => {
                    writes += 1;
                    *db += n;
                    match node.settle(key, max, window, n, *db) {
                        Settled::Granted => granted += 1,
                        Settled::Refused { .. } => refused += 1,
                    }
                }
            }
        }
        (granted, refused, writes)
    }

    #[test]
    fn one_node_lets_exactly_the_limit_through_with_a_write_per_block() {
        let node = Allowances::default();
        let mut db = 0;
        let (granted, refused, writes) = run(&node, &mut db, "k", 120, 0, 500);
        assert_eq!(granted, 120);
        assert_eq!(refused, 380);
        // 120 in blocks of 7 is 18 writes, and one more learns the allowance is spent;
        // the other refusals cost nothing.
        assert_eq!(writes, 19);
    }

    #[test]
    fn small_limits_are_counted_one_write_per_request() {
        let node = Allowances::default();
        let mut db = 0;
        let (granted, refused, writes) = run(&node, &mut db, "k", 15, 0, 20);
        assert_eq!((granted, refused, writes), (15, 5, 20));
        assert_eq!(db, 20);
    }

    #[test]
    fn several_nodes_together_never_let_more_than_the_limit_through() {
        let nodes: Vec<Allowances> = (0..3).map(|_| Allowances::default()).collect();
        let mut db = 0;
        let mut granted = 0;
        // Interleaved, one request at a time on each node in turn.
        for _ in 0..200 {
            for node in &nodes {
                granted += run(node, &mut db, "k", 100, 0, 1).0;
            }
        }
        assert!(granted <= 100, "{granted} let through");
        // What the other two nodes may hold unused: at most (block − 1) each.
        assert!(
            granted >= 100 - 2 * (block_for(100) - 1) as usize,
            "{granted} let through"
        );
    }

    #[test]
    fn a_new_window_starts_afresh_and_the_first_refusal_is_reported_once() {
        let node = Allowances::default();
        let mut db = 0;
        assert_eq!(run(&node, &mut db, "k", 32, 0, 32).0, 32);
        assert_eq!(node.take("k", 32, 0, 60_000), Take::Reserve(2));
        db += 2;
        assert_eq!(node.settle("k", 32, 0, 2, db), Settled::Refused { first: true });
        assert!(node.known_spent("k", 0));
        assert_eq!(node.take("k", 32, 0, 60_000), Take::Refused);
        let mut next_window = 0;
        assert_eq!(run(&node, &mut next_window, "k", 32, 60_000, 40).0, 32);
        assert!(!node.known_spent("k", 0));
    }

    #[test]
    fn one_by_one_counting_reports_the_request_that_crossed() {
        let node = Allowances::default();
        assert_eq!(node.settle("k", 10, 0, 1, 11), Settled::Refused { first: true });
        assert_eq!(node.settle("k", 10, 0, 1, 12), Settled::Refused { first: false });
    }

    #[test]
    fn a_full_table_counts_new_subjects_one_write_each_and_is_swept_once_they_lapse() {
        let node = Allowances::default();
        let now = palisade_core::UnixMillis::now().0;
        let window = now - now.rem_euclid(60_000);
        for n in 0..MAX_LEASES {
            assert_eq!(
                node.take(&format!("ip:{n}"), 64, window, window + 60_000),
                Take::Reserve(4)
            );
        }
        // Full: a new subject is counted exactly, and the table does not grow.
        assert_eq!(node.take("ip:new", 64, window, window + 60_000), Take::Reserve(1));
        assert_eq!(node.leases().by_key.len(), MAX_LEASES);
        assert!(!node.leases().by_key.contains_key("ip:new"));
        // Once those reservations have lapsed (and a sweep is due), room is made.
        for lease in node.leases().by_key.values_mut() {
            lease.window_end = now - 1;
        }
        node.leases().swept_at = now - SWEEP_INTERVAL_MS;
        assert_eq!(node.take("ip:new", 64, window, window + 60_000), Take::Reserve(4));
        assert_eq!(node.leases().by_key.len(), 1);
    }

    #[test]
    fn subjects_are_told_apart() {
        let node = Allowances::default();
        let (mut a, mut b) = (0, 0);
        assert_eq!(run(&node, &mut a, "a", 64, 0, 100).0, 64);
        assert_eq!(run(&node, &mut b, "b", 64, 0, 10).0, 10);
    }
}
