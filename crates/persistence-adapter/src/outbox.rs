//! The `OutboxStore` port: claiming due messages (the one backend-specific query) and
//! recording what became of them.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::{AsyncConnection, RunQueryDsl};
use rekey_application::ports::{
    ClaimedMessage, CurrentCode, OutboxEntry, OutboxStore, SentEvent, SkipReason,
};
use rekey_application::{Failure, Sealed};
use rekey_domain::{KeyId, NewEvent, NotificationType, UserId};

use crate::error::{TxError, query_failure};
use crate::prepared::{Prepared, Value, sql};
use crate::rows::{EventRow, OutboxRow};
use crate::schema::{events, outbox, password_codes};
use crate::{Pool, Store, with_conn, with_writer};

sql!(
    /// Takes `$2` sequence numbers of a user for events that do not depend on its state;
    /// answers the last. Hand-written so that it is prepared once per connection (diesel
    /// prepares its update statements on every execution).
    Append = "UPDATE users SET sequence = sequence + $2, changed_at = $3 WHERE id = $1 \
         RETURNING sequence AS last"
);

#[derive(QueryableByName)]
struct Appended {
    #[diesel(sql_type = BigInt)]
    last: i64,
}

fn channel(text: &str) -> Result<NotificationType, Failure> {
    match text {
        "email" => Ok(NotificationType::Email),
        "sms" => Ok(NotificationType::Sms),
        other => Err(Failure::Unexpected(format!("stored channel {other:?}"))),
    }
}

fn claimed(row: OutboxRow) -> Result<ClaimedMessage, Failure> {
    Ok(ClaimedMessage {
        channel: channel(&row.channel)?,
        user_id: UserId::try_from(row.user_id)
            .map_err(|e| Failure::Unexpected(format!("stored user id: {e}")))?,
        payload: row.payload.map(|bytes| Sealed {
            key_id: KeyId(row.key_id.clone()),
            bytes,
        }),
        id: row.id,
        kind: row.kind,
        recipient_masked: row.recipient_masked,
        code_sequence: row.code_sequence,
        idempotency_key: row.idempotency_key,
        attempts: row.attempts,
        trace_context: row.trace_context,
    })
}

/// Narrows an update to one pending message.
macro_rules! pending {
    ($id:expr) => {
        outbox::table
            .filter(outbox::id.eq($id))
            .filter(outbox::status.eq("pending"))
    };
}

impl Store {
    /// How many messages are pending, and how old the oldest is (for metrics).
    ///
    /// # Errors
    /// [`Failure`] when the database cannot answer.
    pub async fn outbox_depth(&self) -> Result<crate::OutboxDepth, Failure> {
        let (pending, oldest): (i64, Option<NaiveDateTime>) = with_conn!(self, |conn| {
            outbox::table
                .filter(outbox::status.eq("pending"))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::min(outbox::created_at),
                ))
                .get_result(conn)
                .await
                .map_err(query_failure)?
        });
        Ok(crate::OutboxDepth {
            pending,
            oldest: oldest.map(|at| at.and_utc()),
        })
    }
}

impl OutboxStore for Store {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, Failure> {
        let now_naive = now.naive_utc();
        let until = (now + lease).naive_utc();
        let limit = i64::from(limit);
        // Backend-specific SQL: PostgreSQL skips rows another instance is claiming right now
        // (`FOR UPDATE SKIP LOCKED`), so any number of instances share the work without
        // waiting on each other; SQLite has one writer at a time and no such clause. Both
        // claim and lease in one statement.
        const CLAIM_POSTGRES: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *";
        const CLAIM_SQLITE: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? \
             ORDER BY next_attempt_at LIMIT ?) RETURNING *";
        let claim = match &self.pool {
            Pool::Postgres(_) => CLAIM_POSTGRES,
            Pool::Sqlite(_) => CLAIM_SQLITE,
        };
        let rows: Vec<OutboxRow> = with_writer!(self, |conn| diesel::sql_query(claim)
            .bind::<Timestamp, _>(until)
            .bind::<Timestamp, _>(now_naive)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
            .map_err(query_failure))?;
        rows.into_iter().map(claimed).collect()
    }

    async fn renew(
        &self,
        ids: &[&str],
        leased_until: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, Failure> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (leased_until, until) = (leased_until.naive_utc(), until.naive_utc());
        let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        with_writer!(self, |conn| diesel::update(
            outbox::table
                .filter(outbox::id.eq_any(ids))
                .filter(outbox::status.eq("pending"))
                .filter(outbox::next_attempt_at.eq(leased_until)),
        )
        .set(outbox::next_attempt_at.eq(until))
        .returning(outbox::id)
        .get_results(conn)
        .await
        .map_err(query_failure))
    }

    async fn current_codes(&self, users: &[UserId]) -> Result<Vec<(UserId, CurrentCode)>, Failure> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = users.iter().map(UserId::as_str).collect();
        let rows: Vec<(String, i64, NaiveDateTime)> =
            with_conn!(self, |conn| password_codes::table
                .filter(password_codes::user_id.eq_any(&ids))
                .select((
                    password_codes::user_id,
                    password_codes::sequence,
                    password_codes::expires_at,
                ))
                .load(conn)
                .await
                .map_err(query_failure)?);
        rows.into_iter()
            .map(|(user, sequence, expires_at)| {
                let user = UserId::try_from(user)
                    .map_err(|e| Failure::Unexpected(format!("stored user id: {e}")))?;
                let code = CurrentCode {
                    sequence,
                    expires_at: expires_at.and_utc(),
                };
                Ok((user, code))
            })
            .collect()
    }

    async fn mark_sent(&self, sent: &[(&str, SentEvent)]) -> Result<(), Failure> {
        let Some(at) = sent.iter().map(|(_, event)| event.at).max() else {
            return Ok(());
        };
        let at = at.naive_utc();
        let ids: Vec<String> = sent.iter().map(|(id, _)| (*id).to_owned()).collect();
        let sent: Vec<(String, SentEvent)> = sent
            .iter()
            .map(|(id, event)| ((*id).to_owned(), event.clone()))
            .collect();
        let system =
            rekey_domain::UserId::try_from(rekey_application::usecase::SYSTEM_USER.to_owned())
                .map_err(|e| Failure::Unexpected(e.to_string()))?;
        let result: Result<(), TxError> = with_writer!(self, |conn| conn
            .transaction::<_, TxError, _>(async |tx| {
                // Only messages still pending: another worker may have finished one after
                // this one's lease ran out, and then it gets no second event.
                let marked: Vec<String> = diesel::update(
                    outbox::table
                        .filter(outbox::id.eq_any(&ids))
                        .filter(outbox::status.eq("pending")),
                )
                .set((
                    outbox::status.eq("sent"),
                    outbox::payload.eq(None::<Vec<u8>>),
                    outbox::sent_at.eq(Some(at)),
                ))
                .returning(outbox::id)
                .get_results(tx)
                .await?;
                // Per user, in the batch's order: take as many sequence numbers as the user
                // has messages (appending does not depend on the aggregate's state).
                let marked: std::collections::HashSet<&str> =
                    marked.iter().map(String::as_str).collect();
                let mut per_user: Vec<(&UserId, Vec<&SentEvent>)> = Vec::new();
                for (id, event) in &sent {
                    if !marked.contains(id.as_str()) {
                        continue;
                    }
                    match per_user
                        .iter_mut()
                        .find(|(user, _)| **user == event.user_id)
                    {
                        Some((_, events)) => events.push(event),
                        None => per_user.push((&event.user_id, vec![event])),
                    }
                }
                // Users' rows are locked in one order (by id), so that two workers (or
                // instances) recording overlapping batches wait for each other instead of
                // deadlocking.
                per_user.sort_by_key(|(user, _)| *user);
                let mut rows = Vec::with_capacity(marked.len());
                for (user, events) in per_user {
                    let count = events.len() as i64;
                    let Appended { last } = Prepared::<Append>::new(vec![
                        Value::Text(user.as_str()),
                        Value::BigInt(count),
                        Value::Timestamp(&at),
                    ])
                    .get_result(tx)
                    .await?;
                    for (k, event) in events.into_iter().enumerate() {
                        rows.push(EventRow::from_domain(&NewEvent {
                            aggregate_id: user.to_string(),
                            sequence: last - count + 1 + k as i64,
                            event: event.event.clone(),
                            resource_owner: event.org_id.clone(),
                            creator: system.clone(),
                            created_at: event.at,
                        })?);
                    }
                }
                // One insert per event: diesel-async has no multi-row insert for SQLite.
                for row in &rows {
                    diesel::insert_into(events::table)
                        .values(row)
                        .execute(tx)
                        .await?;
                }
                Ok(())
            })
            .await);
        result.map_err(|e| match e {
            TxError::Failure(f) => f,
            other => Failure::Unexpected(format!("{other:?}")),
        })
    }

    async fn mark_retry(&self, id: &str, at: DateTime<Utc>, error: &str) -> Result<(), Failure> {
        let at = at.naive_utc();
        let (id, error) = (id.to_owned(), error.to_owned());
        with_writer!(self, |conn| diesel::update(pending!(id))
            .set((
                outbox::next_attempt_at.eq(at),
                outbox::last_error.eq(Some(error))
            ))
            .execute(conn)
            .await
            .map(drop)
            .map_err(query_failure))
    }

    async fn mark_dead(&self, id: &str, error: &str) -> Result<(), Failure> {
        let (id, error) = (id.to_owned(), error.to_owned());
        with_writer!(self, |conn| diesel::update(pending!(id))
            .set((
                outbox::status.eq("dead"),
                outbox::last_error.eq(Some(error))
            ))
            .execute(conn)
            .await
            .map(drop)
            .map_err(query_failure))
    }

    async fn mark_skipped(&self, skipped: &[(&str, SkipReason)]) -> Result<(), Failure> {
        for reason in [SkipReason::Superseded, SkipReason::Expired] {
            let ids: Vec<String> = skipped
                .iter()
                .filter(|(_, r)| *r == reason)
                .map(|(id, _)| (*id).to_owned())
                .collect();
            if ids.is_empty() {
                continue;
            }
            with_writer!(self, |conn| diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(&ids))
                    .filter(outbox::status.eq("pending"))
            )
            .set((
                outbox::status.eq("skipped"),
                outbox::last_error.eq(Some(reason.as_str())),
                outbox::payload.eq(None::<Vec<u8>>),
            ))
            .execute(conn)
            .await
            .map(drop)
            .map_err(query_failure))?;
        }
        Ok(())
    }

    async fn list(&self, status: Option<&str>, limit: u32) -> Result<Vec<OutboxEntry>, Failure> {
        let limit = i64::from(limit);
        let rows: Vec<OutboxRow> = with_conn!(self, |conn| {
            let mut query = outbox::table
                .order((outbox::created_at.desc(), outbox::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(outbox::status.eq(status));
            }
            query.load(conn).await.map_err(query_failure)?
        });
        rows.into_iter()
            .map(|row| {
                Ok(OutboxEntry {
                    channel: channel(&row.channel)?,
                    id: row.id,
                    kind: row.kind,
                    recipient_masked: row.recipient_masked,
                    status: row.status,
                    attempts: row.attempts,
                    next_attempt_at: row.next_attempt_at.and_utc(),
                    last_error: row.last_error,
                    created_at: row.created_at.and_utc(),
                })
            })
            .collect()
    }

    async fn retry(&self, id: &str, now: DateTime<Utc>) -> Result<bool, Failure> {
        let now = now.naive_utc();
        let id = id.to_owned();
        with_writer!(self, |conn| diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq("dead"))
        )
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|n| n == 1)
        .map_err(query_failure))
    }
}
