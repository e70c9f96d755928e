//! How much password-reset work one node takes on. Every request is answered at once
//! and does its work in the background (limits, lookups, the link and its mail, the
//! audit entry: several writes). Unbounded, a flood from thousands of addresses, each
//! inside its own limits, started a task per request and queued thousands of writes
//! ahead of the desk's own (`bench/flood.sh`). Now a node starts at most
//! [`RESETS_PER_SECOND`] of them (bursts of [`RESET_BURST`]) with at most
//! [`RESETS_IN_FLIGHT`] running; the rest are shed before any write, counted here and
//! audited together by [`Identity::audit_remembered_refusals`] (one entry per minute,
//! with the count and the first and last time). A genuine request shed during a flood
//! sends no mail and can be made again; the answer is the same either way.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::UnixMillis;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Identity, IdentityError};

/// Far above what people ask for (a few an hour on a busy desk), far below what a
/// flood sends.
pub const RESETS_PER_SECOND: u32 = 20;
pub const RESET_BURST: u32 = 100;
pub const RESETS_IN_FLIGHT: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shed {
    count: u64,
    first: UnixMillis,
    last: UnixMillis,
}

pub(crate) struct ResetAdmission {
    rate: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    running: Arc<Semaphore>,
    capacity: usize,
    shed: Mutex<Option<Shed>>,
}

impl Default for ResetAdmission {
    fn default() -> Self {
        Self::new(RESETS_PER_SECOND, RESET_BURST, RESETS_IN_FLIGHT)
    }
}

impl ResetAdmission {
    pub(crate) fn new(per_second: u32, burst: u32, in_flight: usize) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            rate: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            running: Arc::new(Semaphore::new(in_flight.max(1))),
            capacity: in_flight.max(1),
            shed: Mutex::new(None),
        }
    }

    fn shed_lock(&self) -> std::sync::MutexGuard<'_, Option<Shed>> {
        // One assignment per change, so a poisoned lock still holds a sound count.
        self.shed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for one request's work, held until it ends; `None` (and the request
    /// counted as shed) when the node has taken on all it will.
    pub(crate) fn admit(&self, now: UnixMillis) -> Option<OwnedSemaphorePermit> {
        let slot = self.running.clone().try_acquire_owned().ok();
        let slot = slot.filter(|_| self.rate.check().is_ok());
        if slot.is_none() {
            let mut shed = self.shed_lock();
            *shed = Some(match *shed {
                Some(s) => Shed {
                    count: s.count + 1,
                    last: now,
                    ..s
                },
                None => Shed {
                    count: 1,
                    first: now,
                    last: now,
                },
            });
        }
        slot
    }

    /// Requests now running in the background.
    pub(crate) fn running(&self) -> usize {
        self.capacity.saturating_sub(self.running.available_permits())
    }

    fn take_shed(&self) -> Option<Shed> {
        self.shed_lock().take()
    }

    /// Gives back a count that could not be audited.
    fn restore(&self, taken: Shed) {
        let mut shed = self.shed_lock();
        *shed = Some(match *shed {
            Some(s) => Shed {
                count: s.count + taken.count,
                first: taken.first.min(s.first),
                last: taken.last.max(s.last),
            },
            None => taken,
        });
    }
}

impl Identity {
    /// Audits the reset requests shed since the last call in one entry; true if it
    /// wrote one.
    pub(crate) async fn audit_shed_resets(&self) -> Result<bool, IdentityError> {
        let Some(shed) = self.reset_admission().take_shed() else {
            return Ok(false);
        };
        let ctx = AuditContext {
            actor: "anonymous".into(),
            ip: String::new(),
            user_agent: String::new(),
            session: String::new(),
        };
        let event = AuditEvent::new(AuditAction::PasswordResetRequested, "account", Outcome::Denied)
            .with_detail(json!({
                "reason": "node_busy",
                "shed": shed.count,
                "first_at": shed.first.0,
                "last_at": shed.last.0,
            }));
        if let Err(e) = self.store().audit(&ctx, &event).await {
            self.reset_admission().restore(shed);
            return Err(e.into());
        }
        Ok(true)
    }

    /// Password-reset requests whose background work has not ended yet (tests wait on it).
    pub fn resets_running(&self) -> usize {
        self.reset_admission().running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_burst_requests_are_shed_and_counted_until_audited() {
        let admission = ResetAdmission::new(1, 3, 10);
        let admitted: Vec<_> = (0..5).map(|i| admission.admit(UnixMillis(i))).collect();
        assert_eq!(admitted.iter().filter(|a| a.is_some()).count(), 3);
        let shed = admission.take_shed().unwrap();
        assert_eq!(
            (shed.count, shed.first, shed.last),
            (2, UnixMillis(3), UnixMillis(4))
        );
        assert_eq!(admission.take_shed(), None, "each is counted once");
        admission.restore(shed);
        assert_eq!(
            admission.take_shed(),
            Some(shed),
            "a count that was not audited comes back"
        );
    }

    #[tokio::test]
    async fn no_more_run_at_once_than_the_slots() {
        let admission = ResetAdmission::new(1000, 1000, 2);
        let first = admission.admit(UnixMillis(0));
        let second = admission.admit(UnixMillis(0));
        assert!(first.is_some() && second.is_some());
        assert!(admission.admit(UnixMillis(0)).is_none(), "both slots are taken");
        assert_eq!(admission.running(), 2);
        drop(first);
        assert!(
            admission.admit(UnixMillis(0)).is_some(),
            "an ended request frees its slot"
        );
    }
}
