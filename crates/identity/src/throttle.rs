//! Sign-in throttling with exponential back-off, per account and per source address.
//! Counters live in the database (`palisade-store`), so the limits hold across nodes.
//!
//! The two limits answer different attacks. Guessing one account's password trips the
//! account limit: after a few failures the account is locked for a growing time, and
//! attempts get the same answer as a wrong password. Credential stuffing (one address,
//! many accounts, one or two guesses each) never trips an account limit; the address
//! limit slows the source instead, so the victims are not locked out.

use palisade_audit::AuditContext;
use palisade_store::Reservation;

use crate::{Identity, IdentityError};

/// Which of the policy's two counters a key belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    /// A source network (the address; for IPv6 its /64).
    Source,
    /// One account (or one address typed at sign-in, whether or not it has one).
    Account,
}

/// The key of the source counter `kind` for the request in `ctx`: IPv6 sources count
/// per /64, like every other limit.
pub(crate) fn source_key(kind: &str, ctx: &AuditContext) -> String {
    format!("{kind}:{}", palisade_core::source_network(&ctx.ip))
}

/// Thresholds and back-off. Failures older than `window_ms` are forgotten.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub window_ms: i64,
    pub account_free_failures: i64,
    pub account_base_block_ms: i64,
    pub account_max_block_ms: i64,
    pub ip_free_failures: i64,
    pub ip_base_block_ms: i64,
    pub ip_max_block_ms: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            window_ms: 3_600_000,
            account_free_failures: 5,
            account_base_block_ms: 30_000,
            account_max_block_ms: 3_600_000,
            ip_free_failures: 20,
            ip_base_block_ms: 1_000,
            ip_max_block_ms: 900_000,
        }
    }
}

fn backoff(failures: i64, free: i64, base_ms: i64, max_ms: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = (failures - free - 1).min(30) as u32;
    base_ms.saturating_mul(1_i64 << doublings).min(max_ms)
}

impl ThrottlePolicy {
    pub fn account_block_ms(&self, failures: i64) -> i64 {
        backoff(
            failures,
            self.account_free_failures,
            self.account_base_block_ms,
            self.account_max_block_ms,
        )
    }

    pub fn ip_block_ms(&self, failures: i64) -> i64 {
        backoff(
            failures,
            self.ip_free_failures,
            self.ip_base_block_ms,
            self.ip_max_block_ms,
        )
    }
}

impl ThrottlePolicy {
    fn block_ms(&self, counter: Counter, failures: i64) -> i64 {
        match counter {
            Counter::Source => self.ip_block_ms(failures),
            Counter::Account => self.account_block_ms(failures),
        }
    }
}

impl Identity {
    /// Reserves one attempt on `key` before it is evaluated (see
    /// [`palisade_store::Store::reserve_attempt`]). `Ok(failures)`, this one
    /// included, when it may be evaluated; `Err(Throttled)` when the key is blocked.
    pub(crate) async fn reserve_attempt(&self, key: &str, counter: Counter) -> Result<i64, IdentityError> {
        let policy = self.throttle_policy();
        match self
            .store()
            .reserve_attempt(key, policy.window_ms, |n| policy.block_ms(counter, n))
            .await?
        {
            Reservation::Granted { failures } => Ok(failures),
            blocked @ Reservation::Blocked { until } => {
                if matches!(counter, Counter::Source) {
                    self.remembered_blocks().remember(key, until);
                }
                Err(IdentityError::Throttled {
                    retry_after_secs: blocked.retry_after_secs().unwrap_or(1),
                })
            }
        }
    }

    /// Gives back an attempt that turned out genuine.
    pub(crate) async fn release_attempt(&self, key: &str, counter: Counter) -> Result<(), IdentityError> {
        let policy = self.throttle_policy();
        self.store()
            .release_attempt(key, |n| policy.block_ms(counter, n))
            .await?;
        self.remembered_blocks().forget(key);
        Ok(())
    }

    /// How long the attempt that was the `failures`-th blocks the next one, in ms.
    pub(crate) fn next_block_ms(&self, counter: Counter, failures: i64) -> i64 {
        self.throttle_policy().block_ms(counter, failures + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_starts_after_the_free_failures_and_doubles_up_to_a_cap() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.account_block_ms(5), 0);
        assert_eq!(p.account_block_ms(6), 30_000);
        assert_eq!(p.account_block_ms(7), 60_000);
        assert_eq!(p.account_block_ms(100), 3_600_000);
        assert_eq!(p.ip_block_ms(20), 0);
        assert_eq!(p.ip_block_ms(21), 1_000);
        assert_eq!(p.ip_block_ms(1_000), 900_000);
    }
}
