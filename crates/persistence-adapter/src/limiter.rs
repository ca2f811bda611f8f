//! The `RateLimiter` port on the database, so every instance on one database shares the
//! budgets. A bucket is one row holding its GCRA "theoretical arrival time" (see
//! [`Budget::take`]); a take is one atomic upsert that advances it only when there is room.
//!
//! Raw SQL, like the outbox claim: the conditional upsert (`ON CONFLICT … DO UPDATE … WHERE`
//! with `RETURNING`) is not in diesel's DSL for both backends. The text is the same for both
//! except the placeholders (`$1` on PostgreSQL, `?1` on SQLite).

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::BigInt;
use diesel::{OptionalExtension, QueryDsl as _, QueryableByName};
use diesel_async::AsyncPgConnection;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rekey_application::Failure;
use rekey_application::ports::{Budget, BudgetKey, RateLimiter, UserStore as _, Verdict};
use rekey_domain::{User, UserId};
use sha2::{Digest, Sha256};

use crate::error::query_failure;
use crate::prepared::{Prepared, Value, sql};
use crate::rows::UserRow;
use crate::schema::users;
use crate::{Pool, Store, with_conn, with_writer};

sql!(
    /// Takes from a bucket if it has room; returns the new tat, or no row when it has none.
    Take = "INSERT INTO rate_limits (key, tat, refused) VALUES ($1, $2 + $3, 0) \
         ON CONFLICT (key) DO UPDATE SET \
         tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3, refused = 0 \
         WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 <= $2 + $4 \
         RETURNING tat, refused"
);

sql!(
    /// Counts a refusal.
    Refuse = "UPDATE rate_limits SET refused = refused + 1 WHERE key = $1 RETURNING tat, refused"
);

sql!(
    /// Gives a unit back to a bucket.
    GiveBack = "UPDATE rate_limits SET tat = tat - $2 WHERE key = $1"
);

sql!(
    /// Reads a bucket.
    Read = "SELECT tat, refused FROM rate_limits WHERE key = $1"
);

/// The take of `key` with `budget` at `now_us`.
fn take<'a>(key: &'a str, budget: &Budget, now_us: i64) -> Prepared<'a, Take> {
    Prepared::new(vec![
        Value::Text(key),
        Value::BigInt(now_us),
        Value::BigInt(span(budget.interval())),
        Value::BigInt(span(budget.window())),
    ])
}

#[derive(QueryableByName)]
struct Bucket {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn span(delta: TimeDelta) -> i64 {
    delta.num_microseconds().unwrap_or(i64::MAX / 4)
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The stored key: a digest, so no address or IP is kept in clear.
fn digest(key: &BudgetKey) -> String {
    crate::rows::hex(&Sha256::digest(key.key.as_bytes()))
}

/// Why a multi-bucket take stopped.
enum TakeError {
    Refused(usize),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TakeError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error)
    }
}

impl Store {
    /// The verdict on a take the bucket `key` (the `index`th) refused: the refusal counted,
    /// and when the bucket has room again.
    async fn refusal(
        &self,
        index: usize,
        key: &str,
        budget: Budget,
        now: DateTime<Utc>,
    ) -> Result<Verdict, Failure> {
        let key = key.to_owned();
        let bucket: Option<Bucket> =
            with_writer!(self, |conn| Prepared::<Refuse>::new(vec![Value::Text(
                &key
            )])
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure))?;
        let (tat, refused) = bucket.map_or((now, 1), |b| (instant(b.tat), b.refused));
        let retry_after = budget
            .take(Some(tat), now)
            .err()
            .unwrap_or(TimeDelta::zero());
        Ok(Verdict::Refused {
            index,
            retry_after,
            first: refused == 1,
        })
    }

    /// [`RateLimiter::take`] and [`UserStore::user`] at once. On PostgreSQL with one budget,
    /// the two statements go out together on one connection and their answers come back
    /// together (pipelined: one round trip instead of two); the user is then loaded even when
    /// the budget refuses. Otherwise one after the other, the user only when allowed.
    ///
    /// # Errors
    /// [`Failure`] when the database cannot answer.
    pub async fn take_and_load_user(
        &self,
        keys: &[BudgetKey],
        now: DateTime<Utc>,
        id: &UserId,
    ) -> Result<(Verdict, Option<User>), Failure> {
        let (Pool::Postgres(pools), [key]) = (&self.pool, keys) else {
            let verdict = self.take(keys, now).await?;
            let user = match verdict {
                Verdict::Allowed => self.user(id).await?,
                Verdict::Refused { .. } => None,
            };
            return Ok((verdict, user));
        };
        let digest = digest(key);
        let _span = crate::db_span("postgresql");
        let waiting = std::time::Instant::now();
        let pooled = pools.get().await.map_err(crate::error::pool_failure)?;
        crate::pool_waited("postgres", waiting);
        let conn: &AsyncPgConnection = &pooled;
        let taking = async {
            let mut conn = conn;
            take(&digest, &key.budget, micros(now))
                .get_result::<Bucket>(&mut conn)
                .await
                .optional()
        };
        let loading = async {
            let mut conn = conn;
            users::table
                .find(id.as_str())
                .get_result::<UserRow>(&mut conn)
                .await
                .optional()
        };
        let (taken, row) = futures_util::join!(taking, loading);
        let taken = taken.map_err(query_failure)?;
        drop(pooled);
        // The verdict first: a refused caller gets its refusal (counted as any other), never
        // an answer shaped by the user, not even a failure to load or read it.
        if taken.is_none() {
            return Ok((self.refusal(0, &digest, key.budget, now).await?, None));
        }
        let user = row
            .map_err(query_failure)?
            .map(UserRow::into_domain)
            .transpose()?;
        Ok((Verdict::Allowed, user))
    }
}

impl RateLimiter for Store {
    async fn take(&self, keys: &[BudgetKey], now: DateTime<Utc>) -> Result<Verdict, Failure> {
        let digests: Vec<String> = keys.iter().map(digest).collect();
        let budgets: Vec<Budget> = keys.iter().map(|k| k.budget).collect();
        let now_us = micros(now);
        // One bucket: its statement is atomic by itself, so no transaction (one round trip).
        // Several: all or none, in one transaction rolled back when a bucket has no room.
        let outcome: Result<(), TakeError> =
            if let ([key], [budget]) = (digests.as_slice(), budgets.as_slice()) {
                let (key, budget) = (key.clone(), *budget);
                let taken: Option<Bucket> = with_writer!(self, |conn| take(&key, &budget, now_us)
                    .get_result(conn)
                    .await
                    .optional()
                    .map_err(query_failure))?;
                taken.map(drop).ok_or(TakeError::Refused(0))
            } else {
                let buckets: Vec<(String, Budget)> = digests
                    .iter()
                    .cloned()
                    .zip(budgets.iter().copied())
                    .collect();
                with_writer!(self, |conn| conn
                    .transaction::<_, TakeError, _>(async |tx| {
                        for (index, (key, budget)) in buckets.iter().enumerate() {
                            let taken: Option<Bucket> =
                                take(key, budget, now_us).get_result(tx).await.optional()?;
                            if taken.is_none() {
                                return Err(TakeError::Refused(index));
                            }
                        }
                        Ok(())
                    })
                    .await)
            };
        match outcome {
            Ok(()) => Ok(Verdict::Allowed),
            Err(TakeError::Db(error)) => Err(query_failure(error)),
            Err(TakeError::Refused(index)) => {
                self.refusal(index, &digests[index], budgets[index], now)
                    .await
            }
        }
    }

    async fn spent(
        &self,
        key: &BudgetKey,
        now: DateTime<Utc>,
    ) -> Result<Option<TimeDelta>, Failure> {
        let digest = digest(key);
        let bucket: Option<Bucket> =
            with_conn!(self, |conn| Prepared::<Read>::new(vec![Value::Text(
                &digest
            )])
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        Ok(key.budget.take(bucket.map(|b| instant(b.tat)), now).err())
    }

    async fn give_back(&self, keys: &[BudgetKey]) -> Result<(), Failure> {
        // A tat in the past means a full bucket (takes start from `now`), so stepping it back
        // past `now` gives nothing beyond the budget.
        for key in keys {
            let digest = digest(key);
            let interval = span(key.budget.interval());
            with_writer!(self, |conn| Prepared::<GiveBack>::new(vec![
                Value::Text(&digest),
                Value::BigInt(interval),
            ])
            .execute(conn)
            .await
            .map_err(query_failure))?;
        }
        Ok(())
    }
}
