//! Authenticated sessions remembered between requests, so that the hot path of every
//! request is one primary-key read (the identity-change number) instead of the session
//! join, the teams query and the AEAD opens of the account's sealed fields.
//!
//! An entry is trusted only while the database's identity-change number is the one it
//! was loaded under. Triggers move that number with every change to an account, a team
//! membership or a session's standing (migration 0042), on whichever node or process
//! makes it, so a sign-out, a role or team change or a disabled account is seen by the
//! very next request everywhere. Expiry is checked against the entry's own deadlines;
//! an entry past its idle deadline is reloaded (another node may have extended it),
//! never trusted. Only fully signed-in sessions are kept, and a miss is never cached.

use std::collections::HashMap;
use std::sync::Mutex;

use palisade_core::{TeamId, UnixMillis};
use palisade_crypto::TokenHash;
use palisade_store::LiveSession;

/// Enough for every agent of a large desk and many customers at once; each entry is a
/// few hundred bytes.
pub const SESSION_CACHE_CAPACITY: usize = 10_000;

#[derive(Clone)]
pub(crate) struct CachedSession {
    pub live: LiveSession,
    pub teams: Vec<TeamId>,
}

struct Entry {
    session: CachedSession,
    token_hash: TokenHash,
    generation: i64,
}

pub(crate) struct SessionCache {
    entries: Mutex<Entries>,
    capacity: usize,
}

#[derive(Default)]
struct Entries {
    by_token: HashMap<String, Entry>,
    /// The newest identity-change number seen: entries from before it can never be
    /// trusted again, so they (and the account data they hold) go at once.
    newest: i64,
}

impl Entries {
    fn saw(&mut self, generation: i64) {
        if generation > self.newest {
            self.newest = generation;
            self.by_token.retain(|_, e| e.generation >= generation);
        }
    }
}

impl SessionCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            capacity: capacity.max(1),
        }
    }

    /// The session for `token_hash`, if it was loaded under `generation` and is still
    /// within both of its deadlines at `now`.
    pub fn get(&self, token_hash: &TokenHash, generation: i64, now: UnixMillis) -> Option<CachedSession> {
        let mut entries = self.lock();
        entries.saw(generation);
        let entries = &mut entries.by_token;
        let entry = entries.get(&token_hash.0)?;
        // The map found it by the hash; confirm in constant time, as the store does.
        let fresh = entry.generation == generation
            && entry.token_hash.ct_eq(token_hash)
            && entry.session.live.idle_expires.0 > now.0
            && entry.session.live.expires.0 > now.0;
        if fresh {
            return Some(entry.session.clone());
        }
        entries.remove(&token_hash.0);
        None
    }

    /// Remembers a session read from the database after `generation` was read.
    pub fn insert(&self, token_hash: TokenHash, generation: i64, session: CachedSession) {
        let mut entries = self.lock();
        entries.saw(generation);
        if generation < entries.newest {
            return;
        }
        let entries = &mut entries.by_token;
        // Full of current entries (older ones went in `saw`): drop an arbitrary one.
        if entries.len() >= self.capacity
            && !entries.contains_key(&token_hash.0)
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(
            token_hash.0.clone(),
            Entry {
                session,
                token_hash,
                generation,
            },
        );
    }

    /// Records that this node has just extended the session's idle deadline.
    pub fn touched(&self, token_hash: &TokenHash, last_seen: UnixMillis, idle_expires: UnixMillis) {
        if let Some(entry) = self.lock().by_token.get_mut(&token_hash.0) {
            entry.session.live.last_seen = last_seen;
            entry.session.live.idle_expires = idle_expires;
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().by_token.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written (every
        // change is one map operation), so a poisoned map is still sound.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{EmailAddress, Role, SessionId, UserId};
    use palisade_store::{SessionStage, UserRecord};

    fn session(idle_expires: i64, expires: i64) -> CachedSession {
        CachedSession {
            live: LiveSession {
                id: SessionId::generate(),
                last_seen: UnixMillis(0),
                stage: SessionStage::Full,
                auth_at: UnixMillis(0),
                idle_expires: UnixMillis(idle_expires),
                expires: UnixMillis(expires),
                user: UserRecord {
                    id: UserId::generate(),
                    role: Role::Agent,
                    email: EmailAddress::parse("agent@example.com").expect("valid"),
                    name: "Agent".into(),
                    phone: None,
                    company: None,
                    disabled: false,
                    created_at: UnixMillis(0),
                    locale: None,
                    erased: false,
                },
            },
            teams: Vec::new(),
        }
    }

    fn hash(n: u8) -> TokenHash {
        TokenHash(format!("{n:064x}"))
    }

    #[test]
    fn an_entry_is_trusted_only_under_its_generation_and_deadlines() {
        let cache = SessionCache::new(8);
        cache.insert(hash(1), 5, session(1_000, 2_000));
        assert!(cache.get(&hash(1), 5, UnixMillis(999)).is_some());
        assert!(cache.get(&hash(2), 5, UnixMillis(999)).is_none(), "another token");
        assert!(
            cache.get(&hash(1), 6, UnixMillis(999)).is_none(),
            "identity changed"
        );
        assert!(
            cache.get(&hash(1), 5, UnixMillis(999)).is_none(),
            "a stale entry is dropped"
        );

        cache.insert(hash(1), 5, session(1_000, 2_000));
        assert!(
            cache.get(&hash(1), 5, UnixMillis(1_000)).is_none(),
            "idle deadline passed"
        );
        cache.insert(hash(1), 5, session(3_000, 2_000));
        assert!(
            cache.get(&hash(1), 5, UnixMillis(2_000)).is_none(),
            "absolute deadline passed"
        );
    }

    #[test]
    fn touching_moves_the_idle_deadline() {
        let cache = SessionCache::new(8);
        cache.insert(hash(1), 1, session(1_000, 9_000));
        cache.touched(&hash(1), UnixMillis(900), UnixMillis(5_000));
        let hit = cache.get(&hash(1), 1, UnixMillis(4_000)).expect("extended");
        assert_eq!(hit.live.last_seen, UnixMillis(900));
    }

    #[test]
    fn a_newer_number_drops_every_older_entry_at_once() {
        let cache = SessionCache::new(8);
        cache.insert(hash(1), 1, session(1_000, 2_000));
        cache.insert(hash(2), 1, session(1_000, 2_000));
        assert!(cache.get(&hash(3), 2, UnixMillis(0)).is_none());
        assert_eq!(cache.len(), 0, "account data of stale entries is not kept");
        cache.insert(hash(1), 1, session(1_000, 2_000));
        assert_eq!(
            cache.len(),
            0,
            "an entry loaded under an older number is not kept"
        );
    }

    #[test]
    fn the_cache_never_grows_past_its_bound() {
        let cache = SessionCache::new(4);
        for n in 0..20u8 {
            cache.insert(hash(n), i64::from(n / 8), session(1_000, 2_000));
            assert!(cache.len() <= 4);
        }
        assert!(
            cache.get(&hash(19), 2, UnixMillis(0)).is_some(),
            "the newest entry stays"
        );
    }
}
