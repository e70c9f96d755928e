//! Blocked sources remembered on the node, so a flood of sign-in or reset attempts from
//! a source the database has already blocked costs no write at all. Without this every
//! such attempt reserved a throttle row and appended its own audit entry, each under
//! the one audit-chain lock, and a flood from many addresses queued every genuine
//! write behind it.
//!
//! Only what the database decided is remembered (a source it blocked, until the moment
//! it named), so the limits are exactly the database's. The first refusal is audited as
//! before; the ones refused from memory are counted and audited together, one entry per
//! source and kind of attempt, by [`Identity::audit_remembered_refusals`] (`serve` calls
//! it every minute and once more when it stops). That entry names the source network
//! (an IPv6 source's /64, as the limit counts it), the count and the first and last
//! time, not each attempt's user agent; a crash loses at most a minute of counts.
//! The map is bounded: when it is full, nothing new is remembered
//! and those attempts go to the database as before.

use std::collections::HashMap;
use std::sync::Mutex;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::UnixMillis;
use serde_json::json;

use crate::{Identity, IdentityError};

/// Enough for a flood from many networks; each entry is a few dozen bytes.
pub const REMEMBERED_BLOCKS: usize = 50_000;

struct Block {
    until: UnixMillis,
    /// Attempts refused from memory and not yet audited.
    refused: u64,
    first_refused: UnixMillis,
    last_refused: UnixMillis,
}

#[derive(Default)]
pub(crate) struct RememberedBlocks {
    blocks: Mutex<HashMap<String, Block>>,
}

impl RememberedBlocks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Block>> {
        // Every change is one map operation, so a poisoned map is still sound.
        self.blocks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seconds until `key` may try again, counting this attempt as refused; `None` when
    /// the database must decide.
    pub(crate) fn refuse(&self, key: &str, now: UnixMillis) -> Option<u64> {
        let mut blocks = self.lock();
        let block = blocks.get_mut(key).filter(|b| b.until > now)?;
        if block.refused == 0 {
            block.first_refused = now;
        }
        block.refused += 1;
        block.last_refused = now;
        Some(
            u64::try_from((block.until.0 - now.0 + 999) / 1000)
                .unwrap_or(1)
                .max(1),
        )
    }

    /// The database blocked `key` until `until`.
    pub(crate) fn remember(&self, key: &str, until: UnixMillis) {
        let mut blocks = self.lock();
        if let Some(block) = blocks.get_mut(key) {
            block.until = block.until.max(until);
            return;
        }
        if blocks.len() >= REMEMBERED_BLOCKS {
            let now = UnixMillis::now();
            blocks.retain(|_, b| b.until > now || b.refused > 0);
            if blocks.len() >= REMEMBERED_BLOCKS {
                return;
            }
        }
        blocks.insert(
            key.to_owned(),
            Block {
                until,
                refused: 0,
                first_refused: UnixMillis(0),
                last_refused: UnixMillis(0),
            },
        );
    }

    /// The database lifted `key`'s block (a genuine attempt gave its reservation back).
    pub(crate) fn forget(&self, key: &str) {
        if let Some(block) = self.lock().get_mut(key) {
            block.until = UnixMillis(0);
        }
    }

    /// Gives back a count that could not be audited, for the next attempt.
    fn restore(&self, key: String, taken: Block) {
        let mut blocks = self.lock();
        let block = blocks.entry(key).or_insert(Block {
            until: taken.until,
            refused: 0,
            first_refused: taken.first_refused,
            last_refused: taken.last_refused,
        });
        if block.refused == 0 || taken.first_refused < block.first_refused {
            block.first_refused = taken.first_refused;
        }
        block.refused += taken.refused;
        block.last_refused = block.last_refused.max(taken.last_refused);
    }

    /// Takes the counts not yet audited, dropping blocks that have ended.
    fn take_refusals(&self, now: UnixMillis) -> Vec<(String, Block)> {
        let mut blocks = self.lock();
        let mut taken = Vec::new();
        for (key, block) in blocks.iter_mut() {
            if block.refused > 0 {
                taken.push((
                    key.clone(),
                    Block {
                        until: block.until,
                        refused: std::mem::take(&mut block.refused),
                        first_refused: block.first_refused,
                        last_refused: block.last_refused,
                    },
                ));
            }
        }
        blocks.retain(|_, b| b.until > now);
        taken
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Identity {
    /// Writes one audit entry per source whose attempts were refused from memory since
    /// the last call (what kind of attempt, how many, first and last), and one for the
    /// password-reset requests the node shed (`reset_admission`). Returns how many
    /// entries it wrote.
    pub async fn audit_remembered_refusals(&self) -> Result<usize, IdentityError> {
        let mut taken = self
            .remembered_blocks()
            .take_refusals(UnixMillis::now())
            .into_iter();
        let mut written = 0;
        while let Some((key, block)) = taken.next() {
            if let Err(e) = self.audit_refusals(&key, &block).await {
                // Nothing counted is lost: this count and the rest go back.
                self.remembered_blocks().restore(key, block);
                for (key, block) in taken {
                    self.remembered_blocks().restore(key, block);
                }
                return Err(e);
            }
            written += 1;
        }
        if self.audit_shed_resets().await? {
            written += 1;
        }
        Ok(written)
    }

    async fn audit_refusals(&self, key: &str, block: &Block) -> Result<(), IdentityError> {
        {
            let (action, network) = match key.split_once(':') {
                Some(("reset-ip", network)) => (AuditAction::PasswordResetRequested, network),
                Some((_, network)) => (AuditAction::SignIn, network),
                None => (AuditAction::SignIn, key),
            };
            let ctx = AuditContext {
                actor: "anonymous".into(),
                ip: network.to_owned(),
                user_agent: String::new(),
                session: String::new(),
            };
            let event = AuditEvent::new(action, "account", Outcome::Denied).with_detail(json!({
                "reason": "source_throttled",
                "refused_from_memory": block.refused,
                "first_at": block.first_refused.0,
                "last_at": block.last_refused.0,
            }));
            self.store().audit(&ctx, &event).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_blocked_source_is_refused_and_only_until_its_block_ends() {
        let blocks = RememberedBlocks::default();
        assert_eq!(
            blocks.refuse("ip:192.0.2.1", UnixMillis(0)),
            None,
            "nothing decided yet"
        );
        blocks.remember("ip:192.0.2.1", UnixMillis(5_000));
        assert_eq!(blocks.refuse("ip:192.0.2.1", UnixMillis(1_000)), Some(4));
        assert_eq!(
            blocks.refuse("ip:192.0.2.2", UnixMillis(1_000)),
            None,
            "another source"
        );
        assert_eq!(
            blocks.refuse("ip:192.0.2.1", UnixMillis(5_000)),
            None,
            "the block ended"
        );
        let taken = blocks.take_refusals(UnixMillis(6_000));
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].1.refused, 1);
        assert_eq!(blocks.len(), 0, "ended blocks are dropped once counted");
    }

    #[test]
    fn the_map_never_grows_past_its_bound() {
        let blocks = RememberedBlocks::default();
        let far = UnixMillis(i64::MAX);
        for n in 0..REMEMBERED_BLOCKS + 10 {
            blocks.remember(&format!("ip:{n}"), far);
        }
        assert_eq!(blocks.len(), REMEMBERED_BLOCKS);
        assert_eq!(
            blocks.refuse(&format!("ip:{}", REMEMBERED_BLOCKS + 5), UnixMillis(0)),
            None
        );
    }
}
