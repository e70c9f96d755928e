//! Rotating the master key's wrapping secret while the desk keeps serving. The store
//! does each step (publish the new key, re-wrap a batch, finish) in a transaction of
//! its own; this use case orders them and waits, twice, long enough for every running
//! node to have learned the new key ([`palisade_store::LEARN_EVERY_MS`]): before data
//! keys move, so no node meets a key it cannot open, and before the old key is
//! retired, so no node is still wrapping new data keys under it. A root rotation waits
//! the same way for serving nodes with the old root to stop.

use std::time::Duration;

use palisade_core::UnixMillis;
use palisade_crypto::{Keyring, MasterKey};
use palisade_store::{MasterRotation, RootReindexed, RootRotation, Store};

use crate::ServiceError;

/// Data keys re-wrapped per transaction.
const BATCH: i64 = 500;

/// Where a rotation moves the data keys.
pub enum RotationTarget<'a> {
    /// A new master key file's wrapping key.
    NewKey(&'a MasterKey),
    /// The HSM key this node is configured with.
    Token,
}

/// Rotates to `target` (or resumes the rotation to it), reporting each batch as
/// `(re-wrapped so far in this run, left)`.
pub async fn rotate_master_key(
    store: &Store,
    target: RotationTarget<'_>,
    settle: Duration,
    mut progress: impl FnMut(usize, i64),
) -> Result<MasterRotation, ServiceError> {
    let rotation = match target {
        RotationTarget::NewKey(next) => store.begin_master_rotation(next).await?,
        RotationTarget::Token => store.begin_rotation_into_token().await?,
    };
    // Never shorter than the nodes' look-up interval, whatever the caller asked.
    let settle = settle.max(min_settle());
    let id = rotation.new_kek_id;
    tokio::time::sleep(settle).await;
    let mut moved = rewrap_all(store, &id, 0, &mut progress).await?;
    tokio::time::sleep(settle).await;
    loop {
        moved = rewrap_all(store, &id, moved, &mut progress).await?;
        if store.finish_master_rotation(&id).await? {
            break;
        }
        // A data key created or re-wrapped elsewhere meanwhile: go round again.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.rotation(&id).await?.ok_or(ServiceError::NotFound)
}

/// Rotates the root from `old` to `store`'s own (connected with
/// `Store::connect_rotating_root`), or resumes that rotation: records it, waits for
/// every serving node with the old root to stop, then rewrites every derived value in
/// one transaction. Reply addresses minted under the old root keep working for
/// `reply_grace`.
pub async fn rotate_root(
    store: &Store,
    old: &Keyring,
    settle: Duration,
    reply_grace: Duration,
    revoke_recovery_codes: bool,
) -> Result<(RootRotation, RootReindexed), ServiceError> {
    let grace_ms = i64::try_from(reply_grace.as_millis()).unwrap_or(i64::MAX);
    let replies_until = UnixMillis(UnixMillis::now().0.saturating_add(grace_ms));
    let rotation = store.begin_root_rotation(old, replies_until).await?;
    tokio::time::sleep(settle.max(min_root_settle())).await;
    let done = store.finish_root_rotation(old, revoke_recovery_codes).await?;
    let finished = store
        .root_rotations()
        .await?
        .into_iter()
        .find(|r| r.new_root_id == rotation.new_root_id)
        .ok_or(ServiceError::NotFound)?;
    Ok((finished, done))
}

/// Abandons the root rotation under way, if any (nothing is rewritten before it
/// finishes); the rotation it abandoned.
pub async fn abort_root_rotation(store: &Store) -> Result<Option<RootRotation>, ServiceError> {
    Ok(store.abort_root_rotation().await?)
}

/// The shortest wait before a root rotation rewrites: every serving node has looked
/// for it, stopped beginning transactions, and any write it had queued behind
/// SQLite's lock has given up (busy timeout, 10 s).
pub fn min_root_settle() -> Duration {
    min_settle() + Duration::from_secs(10)
}

/// The shortest wait that lets every running node look for the rotation once.
pub fn min_settle() -> Duration {
    Duration::from_millis(u64::try_from(palisade_store::LEARN_EVERY_MS).unwrap_or(5_000) + 1_000)
}

async fn rewrap_all(
    store: &Store,
    id: &str,
    mut moved: usize,
    progress: &mut impl FnMut(usize, i64),
) -> Result<usize, ServiceError> {
    loop {
        let batch = store.rewrap_data_keys(id, BATCH).await?;
        moved += batch;
        let left = store.data_keys_not_under(id).await?;
        progress(moved, left);
        if batch == 0 || left == 0 {
            return Ok(moved);
        }
    }
}
