//! The `EventOutbox` port on [`Store`]: deliveries of events to the configured targets, queued
//! by the commits that record the events (see `insert_event!` in `stores.rs`).

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use diesel_async::RunQueryDsl;
use rekey_application::Failure;
use rekey_application::ports::{EventDelivery, EventOutbox, StoredEvent};

use crate::error::query_failure;
use crate::rows::EventRow;
use crate::schema::{event_deliveries, events};
use crate::{Pool, Store, with_conn, with_writer};

/// A claimed delivery, as the claim returns it.
#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    aggregate_id: String,
    #[diesel(sql_type = BigInt)]
    sequence: i64,
}

impl EventOutbox for Store {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<EventDelivery>, Failure> {
        // As the outbox's claim: PostgreSQL skips rows another instance is claiming; SQLite
        // has one writer.
        const CLAIM_POSTGRES: &str = "UPDATE event_deliveries SET attempts = attempts + 1, \
             next_attempt_at = $1 WHERE id IN (SELECT id FROM event_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at \
             LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, target, attempts, aggregate_id, sequence";
        const CLAIM_SQLITE: &str = "UPDATE event_deliveries SET attempts = attempts + 1, \
             next_attempt_at = ? WHERE id IN (SELECT id FROM event_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at \
             LIMIT ?) RETURNING id, target, attempts, aggregate_id, sequence";
        let until = (now + lease).naive_utc();
        let (now, limit) = (now.naive_utc(), i64::from(limit));
        let claim = match &self.pool {
            Pool::Postgres(_) => CLAIM_POSTGRES,
            Pool::Sqlite(_) => CLAIM_SQLITE,
        };
        let claimed: Vec<Claimed> = with_writer!(self, |conn| diesel::sql_query(claim)
            .bind::<Timestamp, _>(until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
            .map_err(query_failure))?;
        let mut deliveries = Vec::with_capacity(claimed.len());
        for delivery in claimed {
            let key = (delivery.aggregate_id.as_str(), delivery.sequence);
            let event: EventRow = with_conn!(self, |conn| events::table
                .find(key)
                .get_result(conn)
                .await
                .map_err(query_failure)?);
            deliveries.push(EventDelivery {
                id: delivery.id,
                target: delivery.target,
                attempts: delivery.attempts,
                event: StoredEvent {
                    aggregate_id: event.aggregate_id,
                    aggregate_type: event.aggregate_type,
                    sequence: event.sequence,
                    event_type: event.event_type,
                    payload: event.payload,
                    resource_owner: event.resource_owner,
                    creator: event.creator,
                    created_at: event.created_at.and_utc(),
                },
            });
        }
        Ok(deliveries)
    }

    async fn event_sent(&self, id: &str, at: DateTime<Utc>) -> Result<(), Failure> {
        let id = id.to_owned();
        with_writer!(self, |conn| diesel::update(
            event_deliveries::table.find(id)
        )
        .set((
            event_deliveries::status.eq("sent"),
            event_deliveries::sent_at.eq(Some(at.naive_utc())),
            event_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(drop)
        .map_err(query_failure))
    }

    async fn event_failed(
        &self,
        id: &str,
        next: Option<DateTime<Utc>>,
        error: &str,
    ) -> Result<(), Failure> {
        let error: String = error.chars().take(500).collect();
        let row = event_deliveries::table.find(id.to_owned());
        with_writer!(self, |conn| match next {
            Some(at) =>
                diesel::update(row)
                    .set((
                        event_deliveries::next_attempt_at.eq(at.naive_utc()),
                        event_deliveries::last_error.eq(Some(&error)),
                    ))
                    .execute(conn)
                    .await,
            None =>
                diesel::update(row)
                    .set((
                        event_deliveries::status.eq("dead"),
                        event_deliveries::last_error.eq(Some(&error)),
                    ))
                    .execute(conn)
                    .await,
        }
        .map(drop)
        .map_err(query_failure))
    }
}
