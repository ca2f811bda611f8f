//! Short-lived, bounded in-process memories in front of two ports, so the hot path of a request
//! need not ask the database what it asked a moment ago:
//!
//! - [`TokenMemo`] remembers a token's principal for a configured time. A revoked or expired
//!   token, or one whose user is deactivated, is therefore refused at most that long later.
//! - [`RefusalMemo`] remembers a refused budget until its `retry_after` passes and refuses it
//!   again without asking the shared store. That is never looser than asking: a bucket only
//!   fills with time, and another instance can only take from it, so a bucket the store has
//!   refused has no room before `retry_after` (stricter at most: a take by another instance
//!   meanwhile would make the store refuse longer).
//!
//! Both are bounded: a full memory first forgets what has expired, and otherwise remembers
//! nothing new (the request then asks the port, as without a memory).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use rekey_domain::{Principal, TokenHash};

use crate::Failure;
use crate::ports::{BudgetKey, RateLimiter, TokenStore, Verdict};

/// Entries a memory holds at most.
const CAPACITY: usize = 4096;

/// A bounded map whose entries expire.
#[derive(Debug)]
struct Expiring<K, V> {
    entries: Mutex<HashMap<K, (V, DateTime<Utc>)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Expiring<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key` and its expiry, if it has not expired at `now`.
    fn get<Q>(&self, key: &Q, now: DateTime<Utc>) -> Option<(V, DateTime<Utc>)>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, until)| (value.clone(), *until))
    }

    /// Remembers `value` for `key` until `until`, if there is room.
    fn put(&self, key: K, value: V, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, (_, at)| *at > now);
            if entries.len() >= CAPACITY {
                return;
            }
        }
        entries.insert(key, (value, until));
    }
}

/// A [`TokenStore`] that remembers found principals for `ttl` (unknown tokens are not
/// remembered: they would let anyone fill the memory). A `ttl` of zero remembers nothing.
#[derive(Debug)]
pub struct TokenMemo<T> {
    inner: T,
    ttl: TimeDelta,
    found: Expiring<TokenHash, Principal>,
}

impl<T> TokenMemo<T> {
    /// `inner`, remembered for `ttl`.
    pub fn new(inner: T, ttl: TimeDelta) -> Self {
        Self {
            inner,
            ttl,
            found: Expiring::new(),
        }
    }

    /// The store behind the memory.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: TokenStore> TokenStore for TokenMemo<T> {
    async fn principal(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, Failure> {
        if self.ttl <= TimeDelta::zero() {
            return self.inner.principal(hash, now).await;
        }
        if let Some((principal, _)) = self.found.get(hash, now) {
            return Ok(Some(principal));
        }
        let found = self.inner.principal(hash, now).await?;
        if let Some(principal) = &found {
            self.found
                .put(hash.clone(), principal.clone(), now + self.ttl, now);
        }
        Ok(found)
    }

    /// Always from the store: a list is for an administrator, and must show a revocation.
    async fn tokens(
        &self,
        user: Option<&rekey_domain::UserId>,
    ) -> Result<Vec<crate::ports::TokenInfo>, Failure> {
        self.inner.tokens(user).await
    }
}

/// A [`RateLimiter`] that refuses a bucket the store refused, without asking it, until the
/// store's `retry_after` has passed.
#[derive(Debug)]
pub struct RefusalMemo<L> {
    inner: L,
    refused: Expiring<String, ()>,
}

impl<L> RefusalMemo<L> {
    /// `inner`, with a memory of its refusals.
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            refused: Expiring::new(),
        }
    }

    /// The limiter behind the memory.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L> RefusalMemo<L> {
    /// The refusal remembered for one of `keys` at `now`, if any: what the store would answer.
    pub fn remembered(&self, keys: &[BudgetKey], now: DateTime<Utc>) -> Option<Verdict> {
        keys.iter().enumerate().find_map(|(index, key)| {
            self.refused
                .get(key.key.as_str(), now)
                .map(|((), until)| Verdict::Refused {
                    index,
                    retry_after: until - now,
                    first: false,
                })
        })
    }

    /// Remembers the store's `verdict` on `keys` at `now`, if it refused for a while.
    pub fn remember(&self, keys: &[BudgetKey], verdict: &Verdict, now: DateTime<Utc>) {
        if let Verdict::Refused {
            index, retry_after, ..
        } = verdict
            && let Some(key) = keys.get(*index)
            && *retry_after > TimeDelta::zero()
        {
            self.refused
                .put(key.key.clone(), (), now + *retry_after, now);
        }
    }
}

impl<L: RateLimiter> RateLimiter for RefusalMemo<L> {
    async fn take(&self, keys: &[BudgetKey], now: DateTime<Utc>) -> Result<Verdict, Failure> {
        if let Some(refused) = self.remembered(keys, now) {
            return Ok(refused);
        }
        let verdict = self.inner.take(keys, now).await?;
        self.remember(keys, &verdict, now);
        Ok(verdict)
    }

    async fn spent(
        &self,
        key: &BudgetKey,
        now: DateTime<Utc>,
    ) -> Result<Option<TimeDelta>, Failure> {
        if let Some(((), until)) = self.refused.get(key.key.as_str(), now) {
            return Ok(Some(until - now));
        }
        self.inner.spent(key, now).await
    }

    /// Gives back to the store; a remembered refusal stays until it passes (a memory that
    /// refuses a little longer is only stricter).
    async fn give_back(&self, keys: &[BudgetKey]) -> Result<(), Failure> {
        self.inner.give_back(keys).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rekey_domain::{OrgId, Role, UserId};

    use super::*;
    use crate::ports::Budget;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    /// A token store that counts its lookups and answers from a switch.
    struct Tokens {
        asked: AtomicUsize,
        valid: std::sync::atomic::AtomicBool,
    }

    impl TokenStore for Tokens {
        async fn tokens(
            &self,
            _: Option<&UserId>,
        ) -> Result<Vec<crate::ports::TokenInfo>, Failure> {
            Ok(Vec::new())
        }

        async fn principal(
            &self,
            _: &TokenHash,
            _: DateTime<Utc>,
        ) -> Result<Option<Principal>, Failure> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(self.valid.load(Ordering::SeqCst).then(|| Principal {
                user_id: UserId::try_from("u1".to_owned()).expect("an id"),
                org_id: OrgId::try_from("o1".to_owned()).expect("an id"),
                roles: vec![Role::IamOwner],
            }))
        }
    }

    fn tokens(valid: bool) -> Tokens {
        Tokens {
            asked: AtomicUsize::new(0),
            valid: std::sync::atomic::AtomicBool::new(valid),
        }
    }

    #[tokio::test]
    async fn a_revoked_token_is_refused_once_the_ttl_has_passed() {
        let memo = TokenMemo::new(tokens(true), TimeDelta::seconds(5));
        let hash = TokenHash("h".into());
        assert!(memo.principal(&hash, at(0)).await.expect("ok").is_some());
        memo.inner().valid.store(false, Ordering::SeqCst);
        // Within the ttl the memory answers, without asking the store.
        assert!(memo.principal(&hash, at(4)).await.expect("ok").is_some());
        assert_eq!(memo.inner().asked.load(Ordering::SeqCst), 1);
        // At the ttl it asks again, and the revocation takes effect.
        assert!(memo.principal(&hash, at(5)).await.expect("ok").is_none());
        assert_eq!(memo.inner().asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unknown_tokens_are_not_remembered_and_a_zero_ttl_remembers_nothing() {
        let memo = TokenMemo::new(tokens(false), TimeDelta::seconds(5));
        let hash = TokenHash("h".into());
        for _ in 0..3 {
            assert!(memo.principal(&hash, at(0)).await.expect("ok").is_none());
        }
        assert_eq!(memo.inner().asked.load(Ordering::SeqCst), 3);
        let off = TokenMemo::new(tokens(true), TimeDelta::zero());
        for _ in 0..3 {
            assert!(off.principal(&hash, at(0)).await.expect("ok").is_some());
        }
        assert_eq!(off.inner().asked.load(Ordering::SeqCst), 3);
    }

    /// A limiter that refuses the key named `spent` for `retry_after` and counts its takes.
    struct Limiter {
        takes: AtomicUsize,
        spent: &'static str,
        retry_after: TimeDelta,
    }

    impl RateLimiter for Limiter {
        async fn take(&self, keys: &[BudgetKey], _: DateTime<Utc>) -> Result<Verdict, Failure> {
            self.takes.fetch_add(1, Ordering::SeqCst);
            Ok(match keys.iter().position(|k| k.name == self.spent) {
                Some(index) => Verdict::Refused {
                    index,
                    retry_after: self.retry_after,
                    first: true,
                },
                None => Verdict::Allowed,
            })
        }

        async fn spent(
            &self,
            _: &BudgetKey,
            _: DateTime<Utc>,
        ) -> Result<Option<TimeDelta>, Failure> {
            Ok(None)
        }

        async fn give_back(&self, _: &[BudgetKey]) -> Result<(), Failure> {
            Ok(())
        }
    }

    fn key(name: &'static str) -> BudgetKey {
        BudgetKey::new(name, "subject", Budget::new(1, TimeDelta::hours(1)))
    }

    #[tokio::test]
    async fn a_refused_bucket_is_refused_without_asking_until_retry_after() {
        let memo = RefusalMemo::new(Limiter {
            takes: AtomicUsize::new(0),
            spent: "caller",
            retry_after: TimeDelta::seconds(10),
        });
        let keys = [key("user"), key("caller")];
        let first = memo.take(&keys, at(0)).await.expect("ok");
        assert_eq!(
            first,
            Verdict::Refused {
                index: 1,
                retry_after: TimeDelta::seconds(10),
                first: true
            }
        );
        let again = memo.take(&keys, at(4)).await.expect("ok");
        assert_eq!(
            again,
            Verdict::Refused {
                index: 1,
                retry_after: TimeDelta::seconds(6),
                first: false
            }
        );
        assert_eq!(
            memo.spent(&key("caller"), at(4)).await.expect("ok"),
            Some(TimeDelta::seconds(6))
        );
        assert_eq!(memo.inner().takes.load(Ordering::SeqCst), 1);
        // Another bucket alone is asked for as usual.
        assert_eq!(
            memo.take(&[key("user")], at(4)).await.expect("ok"),
            Verdict::Allowed
        );
        // From retry_after on, the store is asked again.
        memo.take(&keys, at(10)).await.expect("ok");
        assert_eq!(memo.inner().takes.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_full_memory_forgets_what_expired_and_otherwise_takes_nothing_new() {
        let memory = Expiring::<usize, ()>::new();
        for k in 0..CAPACITY {
            memory.put(k, (), at(if k == 0 { 1 } else { 100 }), at(0));
        }
        // Full of live entries: nothing new.
        memory.put(CAPACITY, (), at(100), at(0));
        assert!(memory.get(&CAPACITY, at(0)).is_none());
        // Once one has expired it makes room.
        memory.put(CAPACITY, (), at(100), at(2));
        assert!(memory.get(&CAPACITY, at(2)).is_some());
        assert_eq!(memory.entries.lock().expect("lock").len(), CAPACITY);
    }
}
