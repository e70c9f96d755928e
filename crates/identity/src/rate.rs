//! Request rate limits for API tokens (GCRA, via `governor`). A script gone wrong or a
//! leaked token cannot flood the server or scrape faster than the operator allows. The
//! state is per node: behind a load balancer with N nodes a token gets at most N times
//! the rate, which still bounds it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

/// Default requests per minute and per token.
pub const DEFAULT_TOKEN_REQUESTS_PER_MINUTE: u32 = 600;

/// Denials are audited at most this often per token, so a flood cannot turn into a
/// flood of audit writes.
const AUDIT_INTERVAL: Duration = Duration::from_secs(60);

/// Forget idle tokens' state once the table is this large.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Clone)]
pub struct TokenRateLimits {
    limiter: Arc<RateLimiter<String, HashMapStateStore<String>, DefaultClock>>,
    last_audited: Arc<Mutex<HashMap<String, Instant>>>,
    clock: DefaultClock,
}

/// A refused request: when to retry, and whether this denial should be audited.
pub(crate) struct Refused {
    pub retry_after_secs: u64,
    pub audit: bool,
}

impl TokenRateLimits {
    /// `per_minute` requests per token, with bursts of up to a sixth of that (ten
    /// seconds' worth).
    pub fn per_minute(per_minute: u32) -> Self {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new((per_minute / 6).max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: Arc::new(RateLimiter::hashmap(Quota::per_minute(rate).allow_burst(burst))),
            last_audited: Arc::new(Mutex::new(HashMap::new())),
            clock: DefaultClock::default(),
        }
    }

    pub(crate) fn check(&self, token_id: &str) -> Result<(), Refused> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        let key = token_id.to_owned();
        match self.limiter.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let now = Instant::now();
                let audit = match self.last_audited.lock() {
                    Ok(mut seen) => {
                        if seen.len() > PRUNE_ABOVE {
                            seen.retain(|_, at| now.duration_since(*at) < AUDIT_INTERVAL);
                        }
                        let due = seen
                            .get(&key)
                            .is_none_or(|at| now.duration_since(*at) >= AUDIT_INTERVAL);
                        if due {
                            seen.insert(key, now);
                        }
                        due
                    }
                    Err(_) => true,
                };
                Err(Refused {
                    retry_after_secs: wait.as_secs().max(1),
                    audit,
                })
            }
        }
    }
}

impl Default for TokenRateLimits {
    fn default() -> Self {
        Self::per_minute(DEFAULT_TOKEN_REQUESTS_PER_MINUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_token_waits_and_others_do_not() {
        let limits = TokenRateLimits::per_minute(60);
        // Burst of 10 (a sixth of a minute's worth), then refusals.
        for _ in 0..10 {
            assert!(limits.check("tok_a").is_ok());
        }
        let refused = limits.check("tok_a").unwrap_err();
        assert!(refused.retry_after_secs >= 1);
        assert!(refused.audit, "the first denial is audited");
        assert!(
            !limits.check("tok_a").unwrap_err().audit,
            "later ones within a minute are not"
        );
        assert!(limits.check("tok_b").is_ok(), "tokens are limited separately");
    }
}
