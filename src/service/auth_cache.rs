//! Verified callers, reused for a moment (PostgreSQL only).
//!
//! Every request with a bearer token needs its user's current role, team and
//! active flag, and whether its session has ended: one lookup
//! ([`super::auth::recheck`]), a second round trip for a request that reads one
//! row. On PostgreSQL a server keeps that answer for `CASEWORK_AUTH_CACHE_SECS`
//! (2 s) and drops it as soon as anything could have changed it:
//!
//! - triggers on `app_user` and `refresh_token` (migration
//!   `m20261126_001403_auth_notify`) send `NOTIFY casework_auth` with the
//!   user's id for every update or delete, whoever makes it: the application on
//!   any server, or someone in `psql`. Every server `LISTEN`s and evicts that
//!   user; the notification is sent when the change commits.
//! - The server that commits such a change through a [`super::UnitOfWork`]
//!   also evicts before it answers, so the client's next request never meets
//!   the old state, even before the notification comes back.
//! - Nothing is stored while the listener is not connected, and everything is
//!   dropped when it reconnects (notifications sent meanwhile are lost).
//! - An answer read before an eviction is never stored after it (a generation
//!   count), so a slow lookup cannot put back what a notification removed.
//!
//! The token itself (signature, expiry) is still checked on every request, and
//! only successful lookups are kept. SQLite keeps no cache: there the lookup is
//! a call, not a round trip, and nothing would tell the process about a change
//! made with another tool.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::{
    auth::Actor,
    events::{Heard, listen_forever},
};

/// The PostgreSQL notification channel of the triggers.
pub const CHANNEL: &str = "casework_auth";

/// More entries than this and the stale ones go; if none is stale, all go.
const MAX_ENTRIES: usize = 20_000;

/// A token's user, its `token_version` and its session.
pub type Key = (Uuid, i32, Option<Uuid>);

pub struct AuthCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Whether notifications are being received (entries may be stored).
    listening: bool,
    /// Moves on every eviction.
    generation: u64,
    entries: HashMap<Key, (Instant, Actor)>,
}

/// What [`AuthCache::lookup`] found.
pub enum Lookup {
    Hit(Actor),
    /// Not cached: read it, then [`AuthCache::store`] it under this
    /// generation (`None`: do not store).
    Miss(Option<u64>),
}

impl AuthCache {
    /// A cache that keeps entries for `ttl` (zero: never) once
    /// [`AuthCache::listen`] is receiving notifications.
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache { ttl, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn lookup(&self, key: &Key) -> Lookup {
        let state = self.state();
        if !state.listening || self.ttl.is_zero() {
            return Lookup::Miss(None);
        }
        match state.entries.get(key) {
            Some((stored, actor)) if stored.elapsed() < self.ttl => {
                metrics::counter!("casework_auth_cache_hits_total").increment(1);
                Lookup::Hit(actor.clone())
            }
            _ => {
                metrics::counter!("casework_auth_cache_misses_total").increment(1);
                Lookup::Miss(Some(state.generation))
            }
        }
    }

    /// Keeps `actor` for `key` unless something was evicted since `generation`.
    pub fn store(&self, generation: u64, key: Key, actor: Actor) {
        let mut state = self.state();
        if !state.listening || state.generation != generation {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            state.entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
            if state.entries.len() >= MAX_ENTRIES {
                state.entries.clear();
            }
        }
        state.entries.insert(key, (Instant::now(), actor));
    }

    /// Forgets every entry of `user`.
    pub fn evict_user(&self, user: Uuid) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.retain(|(id, _, _), _| *id != user);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.clear();
    }

    /// A listening cache holding `users` (their token version 0, no session).
    #[cfg(test)]
    pub(crate) fn listening_for_tests(ttl: Duration, users: &[Uuid]) -> AuthCache {
        let cache = AuthCache::new(ttl);
        cache.set_listening(true);
        for user in users {
            let key = (*user, 0, None);
            let Lookup::Miss(Some(generation)) = cache.lookup(&key) else { unreachable!("a new listening cache") };
            cache.store(generation, key, tests::actor(*user));
        }
        cache
    }

    fn set_listening(&self, listening: bool) {
        let mut state = self.state();
        state.listening = listening;
        state.generation += 1;
        state.entries.clear();
    }

    /// Receives the triggers' notifications until the process ends; entries
    /// are kept only while this is connected.
    pub async fn listen(self: Arc<Self>, database_url: String) {
        listen_forever(&database_url, CHANNEL, |heard| match heard {
            Heard::Listening => self.set_listening(true),
            Heard::Lost => self.set_listening(false),
            Heard::Notification(payload) => match payload.parse::<Uuid>() {
                Ok(user) => self.evict_user(user),
                Err(_) => self.clear(),
            },
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::enums::Role;

    pub(super) fn actor(user: Uuid) -> Actor {
        Actor { user_id: user, role: Role::Agent, team_id: None, authority_limit: Decimal::ZERO, authority_currency: None }
    }

    fn generation(cache: &AuthCache, key: &Key) -> Option<u64> {
        match cache.lookup(key) {
            Lookup::Hit(_) => panic!("unexpected hit"),
            Lookup::Miss(generation) => generation,
        }
    }

    #[test]
    fn nothing_is_kept_until_notifications_arrive() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let key = (Uuid::now_v7(), 0, None);
        assert_eq!(generation(&cache, &key), None);
        cache.store(0, key, actor(key.0));
        assert!(matches!(cache.lookup(&key), Lookup::Miss(None)));
        cache.set_listening(true);
        let at = generation(&cache, &key).expect("listening");
        cache.store(at, key, actor(key.0));
        assert!(matches!(cache.lookup(&key), Lookup::Hit(a) if a.user_id == key.0));
        cache.set_listening(false);
        assert!(matches!(cache.lookup(&key), Lookup::Miss(None)), "a lost listener drops everything");
    }

    #[test]
    fn a_reading_older_than_an_eviction_is_not_stored() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.set_listening(true);
        let (mine, other) = ((Uuid::now_v7(), 3, Some(Uuid::now_v7())), (Uuid::now_v7(), 0, None));
        let read_at = generation(&cache, &mine).unwrap();
        cache.evict_user(other.0);
        cache.store(read_at, mine, actor(mine.0));
        assert!(matches!(cache.lookup(&mine), Lookup::Miss(Some(_))), "stored across an eviction");
        for key in [mine, other] {
            let at = generation(&cache, &key).unwrap();
            cache.store(at, key, actor(key.0));
        }
        cache.evict_user(mine.0);
        assert!(matches!(cache.lookup(&mine), Lookup::Miss(Some(_))));
        assert!(matches!(cache.lookup(&other), Lookup::Hit(_)), "only that user's entries go");
        cache.clear();
        assert!(matches!(cache.lookup(&other), Lookup::Miss(Some(_))));
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let cache = AuthCache::new(Duration::from_millis(30));
        cache.set_listening(true);
        let key = (Uuid::now_v7(), 1, None);
        let at = generation(&cache, &key).unwrap();
        cache.store(at, key, actor(key.0));
        assert!(matches!(cache.lookup(&key), Lookup::Hit(_)));
        std::thread::sleep(Duration::from_millis(40));
        assert!(matches!(cache.lookup(&key), Lookup::Miss(Some(_))));
        let off = AuthCache::new(Duration::ZERO);
        off.set_listening(true);
        assert!(matches!(off.lookup(&key), Lookup::Miss(None)));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.set_listening(true);
        for _ in 0..MAX_ENTRIES + 10 {
            let key = (Uuid::now_v7(), 0, None);
            let at = generation(&cache, &key).unwrap();
            cache.store(at, key, actor(key.0));
        }
        assert!(cache.state().entries.len() <= MAX_ENTRIES);
    }
}
