//! Sign-in throttling with exponential back-off, per account and per source address.
//! Counters live in the database (`palisade-store`), so the limits hold across nodes.
//!
//! The two limits answer different attacks. Guessing one account's password trips the
//! account limit: after a few failures the account is locked for a growing time, and
//! attempts get the same answer as a wrong password. Credential stuffing (one address,
//! many accounts, one or two guesses each) never trips an account limit; the address
//! limit slows the source instead, so the victims are not locked out.

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
