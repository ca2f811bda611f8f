//! The `UserStore` and `TokenStore` ports on [`Store`].
//!
//! Lookups by a unique key read with `get_result`, not `first`: `first` adds `LIMIT ?`, and
//! SQLite (since 3.48) plans a bound `LIMIT` by its value, so a cached statement with one is
//! compiled again every time it is bound (8.7 % of the server's CPU under SQLite sendLink
//! load, all of it the user load).

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rekey_application::Failure;
use rekey_application::ports::{
    Change, CheckedPassword, PasswordCode, SessionQuery, SessionStore, StoreError, TokenStore,
    UserStore,
};
use rekey_domain::{
    NewEvent, OrgId, Organization, Principal, Session, TokenHash, User, UserId, UserState,
};

use crate::error::{TxError, event_insert, outbox_insert, query_failure, unique_violation};
use crate::prepared::{Prepared, Value, sql};
use crate::rows::{
    CodeRow, EventDeliveryRow, EventRow, OrgRow, OutboxRow, SessionRow, TokenRow, UserRow,
    roles_from_text,
};
use crate::schema::{
    event_deliveries, events, organizations, outbox, password_codes, sessions, tokens, users,
};
use crate::{Store, with_conn, with_writer};

impl UserStore for Store {
    async fn user(&self, id: &UserId) -> Result<Option<User>, Failure> {
        let row: Option<UserRow> = with_conn!(self, |conn| users::table
            .find(id.as_str())
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        row.map(UserRow::into_domain).transpose()
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, Failure> {
        let row: Option<OrgRow> = with_conn!(self, |conn| organizations::table
            .find(id.as_str())
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        row.map(OrgRow::into_domain).transpose()
    }

    async fn users_by_login_name(&self, login_name: &str) -> Result<Vec<User>, Failure> {
        let rows: Vec<UserRow> = with_conn!(self, |conn| users::table
            .filter(lower(users::username).eq(lower(login_name)))
            .filter(users::state.ne(UserState::Deleted.as_str()))
            .order(users::id)
            .limit(2)
            .load(conn)
            .await
            .map_err(query_failure)?);
        rows.into_iter().map(UserRow::into_domain).collect()
    }

    async fn password_hash(&self, id: &UserId) -> Result<Option<String>, Failure> {
        let hash: Option<Option<String>> = with_conn!(self, |conn| users::table
            .find(id.as_str())
            .select(users::password_hash)
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        Ok(hash.flatten())
    }

    async fn password_code(&self, id: &UserId) -> Result<Option<PasswordCode>, Failure> {
        let row: Option<CodeRow> = with_conn!(self, |conn| password_codes::table
            .find(id.as_str())
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        row.map(CodeRow::into_domain).transpose()
    }

    async fn count_code_attempt(
        &self,
        id: &UserId,
        code_sequence: i64,
    ) -> Result<Option<i32>, Failure> {
        let id = id.as_str().to_owned();
        with_writer!(self, |conn| diesel::update(
            password_codes::table
                .filter(password_codes::user_id.eq(id))
                .filter(password_codes::sequence.eq(code_sequence))
        )
        .set(password_codes::failed_attempts.eq(password_codes::failed_attempts + 1))
        .returning(password_codes::failed_attempts)
        .get_result(conn)
        .await
        .optional()
        .map_err(query_failure))
    }

    async fn is_empty(&self) -> Result<bool, Failure> {
        let any: Option<String> = with_conn!(self, |conn| organizations::table
            .select(organizations::id)
            .first(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        Ok(any.is_none())
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        // Rows are built before the transaction, so it holds its locks only for the writes.
        let work = Work::try_from(change)?;
        let queues_a_message = matches!(
            work,
            Work::AddPasswordCode {
                message: Some(_),
                ..
            } | Work::SetPassword {
                message: Some(_),
                ..
            }
        );
        let queues_a_message =
            queues_a_message || work.events().any(|e| self.routes.wants(&e.event_type));
        let routes = Arc::clone(&self.routes);
        let routed_code = routes.wants("user.human.password.code.added");
        if let (crate::Pool::Postgres(pool), Work::AddPasswordCode { .. }, false) =
            (&self.pool, &work, routed_code)
        {
            let committed = add_code_at_once(pool, &work).await;
            if committed.is_ok() && queues_a_message {
                self.queued.notify_one();
            }
            return committed;
        }
        let committed = with_writer!(self, |conn| conn
            .transaction::<_, TxError, _>(async |tx| apply_work!(&work, tx, &*routes))
            .await
            .map_err(StoreError::from));
        if committed.is_ok() && queues_a_message {
            self.queued.notify_one();
        }
        committed
    }

    async fn ping(&self) -> Result<(), Failure> {
        if let crate::Pool::Sqlite(pools) = &self.pool
            && pools.stopped()
        {
            return Err(Failure::Unavailable("the SQLite writer has stopped".into()));
        }
        with_conn!(self, |conn| diesel::sql_query("SELECT 1")
            .execute(conn)
            .await
            .map(drop)
            .map_err(query_failure))
    }
}

diesel::define_sql_function! {
    /// SQL's `lower`: full Unicode on PostgreSQL, ASCII letters only on SQLite.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

impl SessionStore for Store {
    async fn session(&self, id: &str) -> Result<Option<Session>, Failure> {
        let row: Option<SessionRow> = with_conn!(self, |conn| sessions::table
            .find(id)
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        row.map(SessionRow::into_domain).transpose()
    }

    async fn sessions(&self, query: &SessionQuery) -> Result<(Vec<Session>, u64), Failure> {
        /// The query's filters, as a boxed query of the connection's backend.
        macro_rules! filtered {
            () => {{
                let mut filtered = sessions::table.into_boxed();
                if let Some(ids) = &query.ids {
                    filtered = filtered.filter(sessions::id.eq_any(ids));
                }
                if let Some(user) = &query.user_id {
                    filtered = filtered.filter(sessions::user_id.eq(user.as_str()));
                }
                if let Some(creator) = &query.creator {
                    filtered = filtered.filter(sessions::creator.eq(creator.as_str()));
                }
                filtered
            }};
        }
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let limit = i64::from(query.limit);
        let (rows, total): (Vec<SessionRow>, i64) = with_conn!(self, |conn| {
            let total: i64 = filtered!()
                .count()
                .get_result(conn)
                .await
                .map_err(query_failure)?;
            let page = if query.ascending {
                filtered!().order((sessions::created_at.asc(), sessions::id.asc()))
            } else {
                filtered!().order((sessions::created_at.desc(), sessions::id.desc()))
            };
            let rows = page
                .offset(offset)
                .limit(limit)
                .load(conn)
                .await
                .map_err(query_failure)?;
            (rows, total)
        });
        let sessions = rows
            .into_iter()
            .map(SessionRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok((sessions, u64::try_from(total).unwrap_or(0)))
    }
}

/// A user's code row replaced by the new one (a user has one code at most).
macro_rules! replace_code_sql {
    () => {
        "ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, \
         key_id = excluded.key_id, created_at = excluded.created_at, \
         expires_at = excluded.expires_at, sequence = excluded.sequence, \
         failed_attempts = excluded.failed_attempts, \
         notification_type = excluded.notification_type, \
         url_template = excluded.url_template, returned = excluded.returned"
    };
}

/// The writes of a new reset code, fed by the guarded update (see [`AddCode`]).
macro_rules! add_code_sql {
    () => {
        concat!("WITH advanced AS (UPDATE users SET sequence = $2, changed_at = $3 \
         WHERE id = $1 AND sequence = $4 RETURNING id), \
         event AS (INSERT INTO events (aggregate_id, sequence, aggregate_type, event_type, payload, \
         resource_owner, creator, created_at) \
         SELECT $1, $2, $5, $6, $7, $8, $9, $3 FROM advanced RETURNING 1), \
         code AS (INSERT INTO password_codes (user_id, code_hash, key_id, created_at, expires_at, \
         sequence, failed_attempts, notification_type, url_template, returned) \
         SELECT $1, $10, $11, $12, $13, $14, $15, $16, $17, $18 FROM advanced ",
            replace_code_sql!(),
            " RETURNING 1)"
        )
    };
}

sql!(
    /// A new reset code on PostgreSQL, the hot path of PasswordReset: the same writes as
    /// `apply_work!`, as one statement (data-modifying CTEs). The guarded update of the user's
    /// sequence feeds every insert, so when it finds another sequence nothing is written; the
    /// statement is its own transaction, so it costs one round trip instead of a BEGIN, the
    /// writes and a COMMIT. Under READ COMMITTED a concurrent append makes the guard re-check
    /// the new row and match nothing (or the event's key is taken): a conflict either way.
    AddCode = concat!(add_code_sql!(), " SELECT count(*) AS advanced FROM advanced")
);

sql!(
    /// [`AddCode`] with a message queued for delivery.
    AddCodeQueued = concat!(
        add_code_sql!(),
        ", queued AS (INSERT INTO outbox (id, kind, user_id, channel, recipient_masked, key_id, \
         payload, code_sequence, idempotency_key, status, attempts, next_attempt_at, last_error, \
         created_at, sent_at, trace_context) \
         SELECT $19, $20, $1, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33 \
         FROM advanced RETURNING 1) \
         SELECT count(*) AS advanced FROM advanced"
    )
);

#[derive(diesel::QueryableByName)]
struct Advanced {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    advanced: i64,
}

async fn add_code_at_once(pool: &crate::pg_pools::PgPools, work: &Work) -> Result<(), StoreError> {
    let Work::AddPasswordCode {
        guard,
        code,
        event,
        message,
    } = work
    else {
        unreachable!("only called for AddPasswordCode")
    };
    let mut values = vec![
        Value::Text(&guard.user_id),
        Value::BigInt(guard.sequence),
        Value::Timestamp(&guard.at),
        Value::BigInt(guard.sequence - 1),
        Value::Text(&event.aggregate_type),
        Value::Text(&event.event_type),
        Value::Text(&event.payload),
        Value::Text(&event.resource_owner),
        Value::Text(&event.creator),
    ];
    values.extend(code_values(code));
    debug_assert_eq!(event.aggregate_id, guard.user_id);
    debug_assert_eq!(event.created_at, guard.at);
    let _span = crate::db_span("postgresql");
    let waiting = std::time::Instant::now();
    let mut conn = pool.get().await.map_err(crate::error::pool_failure)?;
    crate::pool_waited("postgres", waiting);
    // Bounded like the wait for a connection: during a failover the commit can wait for a
    // synchronous standby that is being promoted. The client gets 503 (the reset may or may not
    // have been made; a retry supersedes it) and the connection is closed, since its answer
    // would hold up the next statement. Cancelling the statement instead would turn the wait
    // into a local commit the standby may not have.
    let written = tokio::time::timeout(pool.patience, async {
        match message {
            None => {
                Prepared::<AddCode>::new(values)
                    .get_result::<Advanced>(&mut *conn)
                    .await
            }
            Some(message) => {
                values.extend([
                    Value::Text(&message.id),
                    Value::Text(&message.kind),
                    Value::Text(&message.channel),
                    Value::Text(&message.recipient_masked),
                    Value::Text(&message.key_id),
                    Value::NullableBinary(message.payload.as_deref()),
                    Value::BigInt(message.code_sequence),
                    Value::Text(&message.idempotency_key),
                    Value::Text(&message.status),
                    Value::Integer(message.attempts),
                    Value::Timestamp(&message.next_attempt_at),
                    Value::NullableText(message.last_error.as_deref()),
                    Value::Timestamp(&message.created_at),
                    Value::NullableTimestamp(message.sent_at.as_ref()),
                    Value::NullableText(message.trace_context.as_deref()),
                ]);
                Prepared::<AddCodeQueued>::new(values)
                    .get_result::<Advanced>(&mut *conn)
                    .await
            }
        }
    })
    .await;
    let Ok(written) = written else {
        conn.discard();
        return Err(StoreError::Failure(Failure::Unavailable(format!(
            "database: the reset's commit did not finish within {:?}",
            pool.patience
        ))));
    };
    match written.map_err(event_insert) {
        Ok(Advanced { advanced: 1 }) => Ok(()),
        Ok(_) => Err(StoreError::from(TxError::Conflict)),
        Err(error) => Err(StoreError::from(error)),
    }
}

impl TokenStore for Store {
    async fn principal(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, Failure> {
        type Found = (
            String,
            String,
            String,
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            String,
        );
        let found: Option<Found> = with_conn!(self, |conn| tokens::table
            .inner_join(users::table)
            .filter(tokens::token_hash.eq(&hash.0))
            .filter(tokens::revoked_at.is_null())
            .select((
                tokens::id,
                tokens::user_id,
                tokens::org_id,
                tokens::roles,
                tokens::expires_at,
                tokens::last_used_at,
                users::state,
            ))
            .get_result(conn)
            .await
            .optional()
            .map_err(query_failure)?);
        let Some((id, user_id, org_id, roles, expires_at, last_used_at, state)) = found else {
            return Ok(None);
        };
        let live = matches!(UserState::parse(&state), Some(UserState::Active));
        if !live || expires_at.is_some_and(|at| at.and_utc() <= now) {
            return Ok(None);
        }
        // The last use, to the minute: at most one write a minute per token.
        if last_used_at.is_none_or(|at| at.and_utc() + chrono::TimeDelta::minutes(1) <= now) {
            let now = now.naive_utc();
            with_writer!(self, |conn| diesel::update(tokens::table.find(&id))
                .set(tokens::last_used_at.eq(Some(now)))
                .execute(conn)
                .await
                .map_err(query_failure))?;
        }
        let corrupt = |e: rekey_domain::IdError| Failure::Unexpected(format!("stored token: {e}"));
        Ok(Some(Principal {
            user_id: user_id.try_into().map_err(corrupt)?,
            org_id: org_id.try_into().map_err(corrupt)?,
            roles: roles_from_text(&roles)?,
        }))
    }

    async fn tokens(
        &self,
        user: Option<&UserId>,
    ) -> Result<Vec<rekey_application::ports::TokenInfo>, Failure> {
        let rows: Vec<TokenRow> = with_conn!(self, |conn| {
            let mut query = tokens::table.into_boxed();
            if let Some(user) = user {
                query = query.filter(tokens::user_id.eq(user.as_str()));
            }
            query
                .order((tokens::created_at.asc(), tokens::id.asc()))
                .load(conn)
                .await
                .map_err(query_failure)?
        });
        rows.into_iter().map(TokenRow::into_info).collect()
    }
}

/// A change as rows, ready to write.
#[allow(clippy::enum_variant_names, reason = "the variants mirror `Change`'s")]
enum Work {
    AddOrganization(OrgRow, EventRow),
    AddUser(UserRow, EventRow),
    AddPasswordCode {
        guard: Guard,
        code: CodeRow,
        event: EventRow,
        message: Option<OutboxRow>,
    },
    AddToken {
        guard: Guard,
        token: TokenRow,
        event: EventRow,
    },
    SetPassword {
        guard: Guard,
        consumes_code: Option<i64>,
        password_hash: String,
        change_required: bool,
        event: EventRow,
        message: Option<OutboxRow>,
    },
    InvalidateCode {
        guard: Guard,
        code_sequence: i64,
        event: EventRow,
    },
    AppendEvent {
        guard: Guard,
        event: EventRow,
    },
    SaveSession {
        row: SessionRow,
        /// The stored sequence the change was built on; 0 for a new session.
        previous: i64,
        events: Vec<EventRow>,
        /// A password check: it matched `hash` of `user_id`, and `rehashed` replaces it.
        password: Option<CheckedPassword>,
    },
    FailPasswordCheck {
        user_id: String,
        /// The user's sequence before, and after, the events.
        previous: i64,
        last: i64,
        at: NaiveDateTime,
        failed_attempts: i32,
        locks: bool,
        events: Vec<EventRow>,
    },
    TerminateSession {
        session_id: String,
        previous: i64,
        event: EventRow,
    },
    SetUserState {
        guard: Guard,
        state: UserState,
        event: EventRow,
    },
    RevokeToken {
        guard: Guard,
        token_id: String,
        event: EventRow,
    },
    RemoveUser {
        guard: Guard,
        event: EventRow,
    },
}

impl Work {
    /// The events the change records.
    fn events(&self) -> impl Iterator<Item = &EventRow> {
        let (one, many): (Option<&EventRow>, &[EventRow]) = match self {
            Self::AddOrganization(_, event)
            | Self::AddUser(_, event)
            | Self::AddPasswordCode { event, .. }
            | Self::AddToken { event, .. }
            | Self::SetPassword { event, .. }
            | Self::InvalidateCode { event, .. }
            | Self::AppendEvent { event, .. }
            | Self::SetUserState { event, .. }
            | Self::RevokeToken { event, .. }
            | Self::RemoveUser { event, .. }
            | Self::TerminateSession { event, .. } => (Some(event), &[]),
            Self::SaveSession { events, .. } | Self::FailPasswordCheck { events, .. } => {
                (None, events)
            }
        };
        one.into_iter().chain(many)
    }
}

fn event_rows(events: &[NewEvent]) -> Result<Vec<EventRow>, Failure> {
    events.iter().map(EventRow::from_domain).collect()
}

/// The events whose payloads hold a user's address and names (emptied when it is deleted).
const PERSONAL_EVENTS: [&str; 2] = ["user.human.added", "user.machine.added"];

/// `text` for a `LIKE … ESCAPE '\\'` pattern: its `%`, `_` and `\\` match only themselves.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The optimistic-concurrency guard of an append to an existing user: its sequence must still
/// be the one the change was built on.
struct Guard {
    user_id: String,
    sequence: i64,
    at: NaiveDateTime,
}

impl Guard {
    fn of(event: &NewEvent) -> Self {
        Self {
            user_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            at: event.created_at.naive_utc(),
        }
    }
}

impl TryFrom<Change> for Work {
    type Error = Failure;
    fn try_from(change: Change) -> Result<Self, Failure> {
        Ok(match change {
            Change::AddOrganization { org, event } => {
                Self::AddOrganization(OrgRow::from_domain(&org), EventRow::from_domain(&event)?)
            }
            Change::AddUser {
                user,
                password_hash,
                event,
            } => Self::AddUser(
                UserRow::from_domain(&user, password_hash),
                EventRow::from_domain(&event)?,
            ),
            Change::AddPasswordCode {
                code,
                event,
                message,
            } => Self::AddPasswordCode {
                guard: Guard::of(&event),
                code: CodeRow::from_domain(&code),
                event: EventRow::from_domain(&event)?,
                message: message.as_ref().map(OutboxRow::from_domain),
            },
            Change::SetPassword {
                user_id: _,
                consumes_code,
                password_hash,
                change_required,
                event,
                message,
            } => Self::SetPassword {
                guard: Guard::of(&event),
                consumes_code,
                password_hash,
                change_required,
                event: EventRow::from_domain(&event)?,
                message: message.as_ref().map(OutboxRow::from_domain),
            },
            Change::InvalidateCode {
                user_id: _,
                code_sequence,
                event,
            } => Self::InvalidateCode {
                guard: Guard::of(&event),
                code_sequence,
                event: EventRow::from_domain(&event)?,
            },
            Change::AppendEvent { event } => Self::AppendEvent {
                guard: Guard::of(&event),
                event: EventRow::from_domain(&event)?,
            },
            Change::AddToken { token, event } => Self::AddToken {
                guard: Guard::of(&event),
                token: TokenRow::from_domain(&token),
                event: EventRow::from_domain(&event)?,
            },
            Change::SaveSession {
                session,
                events,
                password_checked,
            } => Self::SaveSession {
                previous: <[NewEvent]>::first(&events).map_or(session.sequence, |e| e.sequence - 1),
                row: SessionRow::from_domain(&session)?,
                events: event_rows(&events)?,
                password: password_checked,
            },
            Change::FailPasswordCheck {
                user_id,
                failed_attempts,
                locks,
                events,
            } => {
                // `<[_]>::first`: diesel's prelude has a `first` of its own.
                let (Some(first), Some(last)) = (<[NewEvent]>::first(&events), events.last())
                else {
                    return Err(Failure::Unexpected(
                        "a failed check without its event".into(),
                    ));
                };
                Self::FailPasswordCheck {
                    user_id: user_id.to_string(),
                    previous: first.sequence - 1,
                    last: last.sequence,
                    at: last.created_at.naive_utc(),
                    failed_attempts: i32::try_from(failed_attempts).unwrap_or(i32::MAX),
                    locks,
                    events: event_rows(&events)?,
                }
            }
            Change::SetUserState { state, event } => Self::SetUserState {
                guard: Guard::of(&event),
                state,
                event: EventRow::from_domain(&event)?,
            },
            Change::RevokeToken { token_id, event } => Self::RevokeToken {
                guard: Guard::of(&event),
                token_id,
                event: EventRow::from_domain(&event)?,
            },
            Change::RemoveUser { event } => Self::RemoveUser {
                guard: Guard::of(&event),
                event: EventRow::from_domain(&event)?,
            },
            Change::TerminateSession { event } => Self::TerminateSession {
                session_id: event.aggregate_id.clone(),
                previous: event.sequence - 1,
                event: EventRow::from_domain(&event)?,
            },
        })
    }
}

sql!(
    /// The guard of an append (see [`advance!`]).
    Advance = "UPDATE users SET sequence = $2, changed_at = $3 WHERE id = $1 AND sequence = $4"
);

sql!(
    /// A user's new reset code, replacing the one it had (see [`apply_work!`]).
    UpsertCode = concat!(
        "INSERT INTO password_codes (user_id, code_hash, key_id, created_at, expires_at, \
         sequence, failed_attempts, notification_type, url_template, returned) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ",
        replace_code_sql!()
    )
);

/// A code row's values after its user id, in column order: `$10`–`$18` of [`AddCode`],
/// `$2`–`$10` of [`UpsertCode`].
fn code_values(code: &CodeRow) -> [Value<'_>; 9] {
    [
        Value::Text(&code.code_hash),
        Value::Text(&code.key_id),
        Value::Timestamp(&code.created_at),
        Value::Timestamp(&code.expires_at),
        Value::BigInt(code.sequence),
        Value::Integer(code.failed_attempts),
        Value::NullableText(code.notification_type.as_deref()),
        Value::NullableText(code.url_template.as_deref()),
        Value::Bool(code.returned),
    ]
}

/// The values of [`UpsertCode`].
fn upsert_code(code: &CodeRow) -> Prepared<'_, UpsertCode> {
    let mut values = vec![Value::Text(&code.user_id)];
    values.extend(code_values(code));
    Prepared::new(values)
}

/// Appends to an existing user: advances its sequence only if it is still the one the change
/// was built on, else [`TxError::Conflict`]. It starts the transaction with a write, so SQLite
/// takes its write lock at once (no read-then-upgrade deadlock) and PostgreSQL locks one row.
/// Hand-written, as the next write of a reset code ([`UpsertCode`]), so that each is prepared
/// once per connection: diesel prepares its update and upsert statements on every execution.
macro_rules! advance {
    ($guard:expr, $tx:expr) => {{
        let guard: &Guard = $guard;
        let updated = Prepared::<Advance>::new(vec![
            Value::Text(&guard.user_id),
            Value::BigInt(guard.sequence),
            Value::Timestamp(&guard.at),
            Value::BigInt(guard.sequence - 1),
        ])
        .execute($tx)
        .await?;
        if updated != 1 {
            return Err(TxError::Conflict);
        }
    }};
}

/// Inserts an event; its key already taken means a concurrent append ([`TxError::Conflict`]).
/// Then queues its delivery to every target `$routes` sends it to, in the same transaction.
macro_rules! insert_event {
    ($event:expr, $tx:expr, $routes:expr) => {{
        let event: &EventRow = $event;
        diesel::insert_into(events::table)
            .values(event)
            .execute($tx)
            .await
            .map_err(event_insert)?;
        for target in $routes.targets_of(&event.event_type) {
            diesel::insert_into(event_deliveries::table)
                .values(EventDeliveryRow::queued(target, event))
                .execute($tx)
                .await?;
        }
    }};
}

/// Writes the rows of one change inside a transaction. A macro, not a function, so that the
/// one text is expanded for each backend's connection type by `with_writer!`.
macro_rules! apply_work {
    ($work:expr, $tx:expr, $routes:expr) => {{
        match $work {
            Work::AddOrganization(org, event) => {
                diesel::insert_into(organizations::table)
                    .values(org)
                    .execute($tx)
                    .await
                    .map_err(unique_violation)?;
                insert_event!(event, $tx, $routes);
            }
            Work::AddUser(user, event) => {
                diesel::insert_into(users::table)
                    .values(user)
                    .execute($tx)
                    .await
                    .map_err(unique_violation)?;
                insert_event!(event, $tx, $routes);
            }
            Work::AddPasswordCode {
                guard,
                code,
                event,
                message,
            } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                upsert_code(code).execute($tx).await?;
                if let Some(message) = message {
                    diesel::insert_into(outbox::table)
                        .values(message)
                        .execute($tx)
                        .await
                        .map_err(outbox_insert)?;
                }
            }
            Work::SetPassword {
                guard,
                consumes_code,
                password_hash,
                change_required,
                event,
                message,
            } => {
                // The guard first: a change that lost the race writes nothing else.
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                diesel::update(users::table.find(&guard.user_id))
                    .set((
                        users::password_hash.eq(Some(password_hash)),
                        users::password_change_required.eq(change_required),
                        users::password_changed_at.eq(Some(guard.at)),
                        users::failed_password_attempts.eq(0),
                    ))
                    .execute($tx)
                    .await?;
                // A new password ends the password factor of the user's sessions.
                diesel::update(
                    sessions::table
                        .filter(sessions::user_id.eq(&guard.user_id))
                        .filter(sessions::password_checked_at.is_not_null()),
                )
                .set(sessions::password_checked_at.eq(None::<NaiveDateTime>))
                .execute($tx)
                .await?;
                // Single use: the code that proved the change must still be there, and goes.
                // Without one (current password, admin), any outstanding code goes with the
                // old password.
                if let Some(sequence) = consumes_code {
                    let consumed = diesel::delete(
                        password_codes::table
                            .filter(password_codes::user_id.eq(&guard.user_id))
                            .filter(password_codes::sequence.eq(sequence)),
                    )
                    .execute($tx)
                    .await?;
                    if consumed != 1 {
                        return Err(TxError::Conflict);
                    }
                } else {
                    diesel::delete(password_codes::table.find(&guard.user_id))
                        .execute($tx)
                        .await?;
                }
                if let Some(message) = message {
                    diesel::insert_into(outbox::table)
                        .values(message)
                        .execute($tx)
                        .await
                        .map_err(outbox_insert)?;
                }
            }
            Work::InvalidateCode {
                guard,
                code_sequence,
                event,
            } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                diesel::delete(
                    password_codes::table
                        .filter(password_codes::user_id.eq(&guard.user_id))
                        .filter(password_codes::sequence.eq(code_sequence)),
                )
                .execute($tx)
                .await?;
            }
            Work::AddToken {
                guard,
                token,
                event,
            } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                diesel::insert_into(tokens::table)
                    .values(token)
                    .execute($tx)
                    .await?;
            }
            Work::AppendEvent { guard, event } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
            }
            Work::SaveSession {
                row,
                previous,
                events,
                password,
            } => {
                // The user's row first, as SetPassword locks it before the sessions: the
                // password checked must still be the user's, and the user may still log in.
                if let Some(checked) = password {
                    let still = diesel::update(
                        users::table
                            .filter(users::id.eq(checked.user_id.as_str()))
                            .filter(users::password_hash.eq(&checked.hash))
                            .filter(
                                users::state.eq_any([
                                    UserState::Active.as_str(),
                                    UserState::Initial.as_str(),
                                ]),
                            ),
                    )
                    .set((
                        users::failed_password_attempts.eq(0),
                        users::password_hash.eq(checked.rehashed.as_ref().unwrap_or(&checked.hash)),
                    ))
                    .execute($tx)
                    .await?;
                    if still != 1 {
                        return Err(TxError::Conflict);
                    }
                }
                let written = if *previous == 0 {
                    diesel::insert_into(sessions::table)
                        .values(row)
                        .execute($tx)
                        .await
                        .map_err(event_insert)?
                } else {
                    diesel::update(
                        sessions::table
                            .filter(sessions::id.eq(&row.id))
                            .filter(sessions::sequence.eq(previous)),
                    )
                    .set(row)
                    .execute($tx)
                    .await?
                };
                if written != 1 {
                    return Err(TxError::Conflict);
                }
                for event in events {
                    insert_event!(event, $tx, $routes);
                }
            }
            Work::FailPasswordCheck {
                user_id,
                previous,
                last,
                at,
                failed_attempts,
                locks,
                events,
            } => {
                let guarded = users::table
                    .filter(users::id.eq(user_id))
                    .filter(users::sequence.eq(previous));
                let counted = diesel::update(guarded)
                    .set((
                        users::sequence.eq(last),
                        users::changed_at.eq(at),
                        users::failed_password_attempts.eq(failed_attempts),
                    ))
                    .execute($tx)
                    .await?;
                if counted != 1 {
                    return Err(TxError::Conflict);
                }
                for event in events {
                    insert_event!(event, $tx, $routes);
                }
                if *locks {
                    diesel::update(users::table.find(user_id))
                        .set(users::state.eq(UserState::Locked.as_str()))
                        .execute($tx)
                        .await?;
                    // ZITADEL deletes a locked user's sessions.
                    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
                        .execute($tx)
                        .await?;
                }
            }
            Work::SetUserState {
                guard,
                state,
                event,
            } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                let user = users::table.find(&guard.user_id);
                if event.event_type == "user.unlocked" {
                    diesel::update(user)
                        .set((
                            users::state.eq(state.as_str()),
                            users::failed_password_attempts.eq(0),
                        ))
                        .execute($tx)
                        .await?;
                } else {
                    diesel::update(user)
                        .set(users::state.eq(state.as_str()))
                        .execute($tx)
                        .await?;
                }
                // ZITADEL ends the sessions of a user that is locked or deactivated.
                if matches!(state, UserState::Inactive | UserState::Locked) {
                    diesel::delete(sessions::table.filter(sessions::user_id.eq(&guard.user_id)))
                        .execute($tx)
                        .await?;
                }
            }
            Work::RevokeToken {
                guard,
                token_id,
                event,
            } => {
                advance!(guard, $tx);
                insert_event!(event, $tx, $routes);
                let revoked = diesel::update(
                    tokens::table
                        .filter(tokens::id.eq(token_id))
                        .filter(tokens::user_id.eq(&guard.user_id))
                        .filter(tokens::revoked_at.is_null()),
                )
                .set(tokens::revoked_at.eq(Some(guard.at)))
                .execute($tx)
                .await?;
                if revoked != 1 {
                    return Err(TxError::Conflict);
                }
            }
            Work::RemoveUser { guard, event } => {
                advance!(guard, $tx);
                // What refers to the user goes first, then the user's row.
                let user_id = &guard.user_id;
                diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
                    .execute($tx)
                    .await?;
                diesel::delete(password_codes::table.filter(password_codes::user_id.eq(user_id)))
                    .execute($tx)
                    .await?;
                diesel::delete(tokens::table.filter(tokens::user_id.eq(user_id)))
                    .execute($tx)
                    .await?;
                diesel::delete(outbox::table.filter(outbox::user_id.eq(user_id)))
                    .execute($tx)
                    .await?;
                diesel::delete(users::table.find(user_id))
                    .execute($tx)
                    .await?;
                // The events stay (the audit log) without the address and names their
                // payloads held; the deliveries of those not yet sent go too.
                diesel::delete(
                    event_deliveries::table.filter(event_deliveries::aggregate_id.eq(user_id)),
                )
                .execute($tx)
                .await?;
                diesel::update(
                    events::table
                        .filter(events::aggregate_id.eq(user_id))
                        .filter(events::event_type.eq_any(PERSONAL_EVENTS)),
                )
                .set(events::payload.eq("{}"))
                .execute($tx)
                .await?;
                // The browsers of its sessions (`session.added` holds IP and headers): the
                // sessions whose user check names this user.
                let checked: Vec<String> = events::table
                    .filter(events::event_type.eq("session.user.checked"))
                    .filter(
                        events::payload
                            .like(format!("%\"user_id\":\"{}\"%", like_escaped(user_id)))
                            .escape('\\'),
                    )
                    .select(events::aggregate_id)
                    .load($tx)
                    .await?;
                diesel::update(
                    events::table
                        .filter(events::event_type.eq("session.added"))
                        .filter(events::aggregate_id.eq_any(&checked)),
                )
                .set(events::payload.eq("{}"))
                .execute($tx)
                .await?;
                insert_event!(event, $tx, $routes);
            }
            Work::TerminateSession {
                session_id,
                previous,
                event,
            } => {
                let ended = diesel::delete(
                    sessions::table
                        .filter(sessions::id.eq(session_id))
                        .filter(sessions::sequence.eq(previous)),
                )
                .execute($tx)
                .await?;
                if ended != 1 {
                    return Err(TxError::Conflict);
                }
                insert_event!(event, $tx, $routes);
            }
        }
        Ok(())
    }};
}
use {advance, apply_work, insert_event};

/// How many rows each table holds: for readiness reports, the admin CLI and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// `organizations`.
    pub organizations: i64,
    /// `users`.
    pub users: i64,
    /// `events`.
    pub events: i64,
    /// `password_codes`.
    pub password_codes: i64,
    /// `tokens`.
    pub tokens: i64,
    /// `outbox`.
    pub outbox: i64,
}

impl Store {
    /// Counts the rows of every table, in one connection.
    ///
    /// # Errors
    /// [`Failure`] when the database cannot answer.
    pub async fn row_counts(&self) -> Result<RowCounts, Failure> {
        macro_rules! count {
            ($table:ident, $conn:expr) => {
                $table::table
                    .count()
                    .get_result($conn)
                    .await
                    .map_err(query_failure)?
            };
        }
        with_conn!(self, |conn| Ok(RowCounts {
            organizations: count!(organizations, &mut *conn),
            users: count!(users, &mut *conn),
            events: count!(events, &mut *conn),
            password_codes: count!(password_codes, &mut *conn),
            tokens: count!(tokens, &mut *conn),
            outbox: count!(outbox, &mut *conn),
        }))
    }
}
