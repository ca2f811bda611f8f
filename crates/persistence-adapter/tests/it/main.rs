//! The persistence contract: every port method of `Store`, once, generically, run on each
//! backend. Each test gets a fresh, migrated database. The tests written against `Contract`
//! run on the application's in-memory fakes as well (`on_fakes`), so the fakes the use cases
//! are unit-tested on keep the store's semantics.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use rekey_application::ports::{
    Budget, BudgetKey, Change, CheckedPassword, Clock, OutboxStore, PasswordCode, Prunable,
    RateLimiter, Retention, SentEvent, SessionQuery, SessionStore, SkipReason, StoreError, Taken,
    TokenRecord, TokenStore, UserStore, Verdict,
};
use rekey_application::usecase::retention::{PruneReport, RetentionPolicy, prune};
use rekey_application::{OutboxMessage, Sealed};
use rekey_domain::{
    CheckedUser, CodeHash, Event, HumanProfile, KeyId, NewEvent, NotificationType, OrgId,
    Organization, Role, Session, TokenHash, User, UserAgent, UserKind, UserState,
};
use rekey_persistence_adapter::{DatabaseSettings, RowCounts, Store, connect, migrate};

/// A fresh SQLite database in a temp dir (kept alive by the returned guard).
async fn sqlite() -> (Store, tempfile::TempDir) {
    sqlite_in(tempfile::tempdir().unwrap()).await
}

/// [`sqlite`], in `dir`.
async fn sqlite_in(dir: tempfile::TempDir) -> (Store, tempfile::TempDir) {
    let url = format!("sqlite://{}/rekey.db", dir.path().display());
    let settings = DatabaseSettings::for_url(url);
    assert_eq!(migrate(&settings).await.unwrap(), 5);
    assert_eq!(
        migrate(&settings).await.unwrap(),
        0,
        "migrations are idempotent"
    );
    (connect(&settings).await.unwrap(), dir)
}

/// A fresh PostgreSQL database cloned from the migrated template (dropped with the guard).
async fn postgres() -> (Store, rekey_test_db::TestDatabase) {
    let db = rekey_test_db::TestDatabase::create(|url| async move {
        migrate(&DatabaseSettings::for_url(url))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    let settings = DatabaseSettings::for_url(db.url.clone());
    assert_eq!(
        migrate(&settings).await.unwrap(),
        0,
        "the template is migrated"
    );
    (connect(&settings).await.unwrap(), db)
}

/// Declares each contract test once per backend.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _db) = super::postgres().await;
                    assert_eq!(store.backend(), "postgres");
                    super::$name(&store).await;
                }
            )*
        }
    };
}

/// Declares each contract test once more, on the in-memory fakes the use cases' unit tests
/// run on, so that the fakes cannot drift from the store unnoticed.
macro_rules! contract_on_fakes {
    ($($name:ident),* $(,)?) => {
        mod on_fakes {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&rekey_application::usecase::fakes::Fake::new()).await;
                }
            )*
        }
    };
}

/// What the contract tests need of a store: the ports, and its row counts.
trait Contract: UserStore + SessionStore + OutboxStore + TokenStore + Retention + Sync {
    fn counts(&self) -> impl std::future::Future<Output = RowCounts> + Send;
}

impl Contract for Store {
    async fn counts(&self) -> RowCounts {
        self.row_counts().await.unwrap()
    }
}

impl Contract for rekey_application::usecase::fakes::Fake {
    async fn counts(&self) -> RowCounts {
        let [organizations, users, events, password_codes, tokens, outbox] =
            self.row_counts().map(|n| i64::try_from(n).unwrap());
        RowCounts {
            organizations,
            users,
            events,
            password_codes,
            tokens,
            outbox,
        }
    }
}

contract_on_fakes!(
    empty_store,
    organizations_are_unique_by_name_and_id,
    users_round_trip_and_are_unique_per_org,
    tokens_resolve_to_live_principals,
    outbox_claims_lease_and_record_outcomes,
    a_claim_is_renewed_only_by_its_holder,
    sent_messages_are_recorded_as_one_batch,
    codes_append_with_optimistic_concurrency,
    passwords_and_code_attempts,
    a_code_proves_one_change_and_the_guard_comes_first,
    outbox_marks_change_only_pending_messages,
    retention_prunes_ended_messages_never_pending_ones,
    retention_removes_codes_long_after_they_expired,
    sessions_are_saved_rotated_listed_and_ended,
    wrong_passwords_count_lock_and_unlock,
    a_new_password_ends_the_password_factor_of_sessions,
    login_names_ignore_case_and_deleted_users,
    deactivation_ends_sessions_and_deletion_leaves_no_personal_data,
);

contract!(
    retention_prunes_ended_messages_never_pending_ones,
    retention_removes_codes_long_after_they_expired,
    concurrent_pruning_deletes_each_row_once,
    outbox_marks_change_only_pending_messages,
    buckets_take_all_or_none_and_refill,
    concurrent_takes_never_overspend_a_bucket,
    a_take_and_a_user_load_at_once,
    empty_store,
    organizations_are_unique_by_name_and_id,
    users_round_trip_and_are_unique_per_org,
    codes_append_with_optimistic_concurrency,
    concurrent_appends_to_one_user_admit_exactly_one,
    tokens_resolve_to_live_principals,
    outbox_claims_lease_and_record_outcomes,
    a_claim_is_renewed_only_by_its_holder,
    sent_messages_are_recorded_as_one_batch,
    overlapping_sent_batches_do_not_deadlock,
    concurrent_claims_never_share_a_message,
    passwords_and_code_attempts,
    a_code_proves_one_change_and_the_guard_comes_first,
    sessions_are_saved_rotated_listed_and_ended,
    wrong_passwords_count_lock_and_unlock,
    a_new_password_ends_the_password_factor_of_sessions,
    login_names_ignore_case_and_deleted_users,
    deactivation_ends_sessions_and_deletion_leaves_no_personal_data,
    a_unit_given_back_is_taken_again,
    events_are_queued_with_their_event_for_each_target,
);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn org(id: &str, name: &str) -> Change {
    let now = at("2026-01-01T00:00:00Z");
    Change::AddOrganization {
        org: Organization {
            id: id.parse().unwrap(),
            name: name.into(),
            sequence: 1,
            created_at: now,
        },
        event: event(id, 1, Event::OrgAdded { name: name.into() }, id, now),
    }
}

fn event(
    aggregate: &str,
    sequence: i64,
    event: Event,
    owner: &str,
    now: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        aggregate_id: aggregate.into(),
        sequence,
        event,
        resource_owner: owner.parse().unwrap(),
        creator: "SYSTEM".parse().unwrap(),
        created_at: now,
    }
}

fn human(id: &str, org: &str, username: &str) -> User {
    let now = at("2026-01-01T00:00:01.123456Z");
    User {
        id: id.parse().unwrap(),
        org_id: org.parse().unwrap(),
        username: username.into(),
        state: UserState::Active,
        kind: UserKind::Human(HumanProfile {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            display_name: "Ada L.".into(),
            preferred_language: Some(rekey_domain::Language::new("de").unwrap()),
            email: "ada@example.com".parse().unwrap(),
            email_verified: true,
            phone: Some("+41791234567".parse().unwrap()),
            phone_verified: false,
            password_change_required: true,
            password_changed: Some(now),
        }),
        sequence: 1,
        failed_password_attempts: 0,
        created_at: now,
        changed_at: now,
    }
}

fn add_user(user: &User) -> Change {
    let added = Event::MachineAdded {
        username: user.username.clone(),
        name: String::new(),
    };
    Change::AddUser {
        user: user.clone(),
        password_hash: Some("$argon2id$v=19$test".into()),
        event: event(
            user.id.as_str(),
            1,
            added,
            user.org_id.as_str(),
            user.created_at,
        ),
    }
}

fn code_change(user: &str, sequence: i64, hash: &str, with_message: bool) -> Change {
    let now = at("2026-01-01T01:00:00Z");
    let code = PasswordCode {
        user_id: user.parse().unwrap(),
        hash: CodeHash {
            hash: hash.into(),
            key_id: KeyId("k1".into()),
        },
        created_at: now,
        expires_at: now + TimeDelta::hours(1),
        sequence,
        failed_attempts: 0,
        notification_type: with_message.then_some(NotificationType::Email),
        url_template: None,
        returned: !with_message,
    };
    let added = Event::PasswordCodeAdded {
        expires_at: code.expires_at,
        notification_type: code.notification_type,
        url_template: None,
        code_returned: !with_message,
        key_id: "k1".into(),
    };
    let message = with_message.then(|| OutboxMessage {
        id: format!("m{sequence}"),
        kind: "password_reset",
        user_id: user.parse().unwrap(),
        channel: NotificationType::Email,
        recipient_masked: "a***@example.com".into(),
        payload: Sealed {
            key_id: KeyId("k1".into()),
            bytes: vec![1, 2, 3],
        },
        code_sequence: sequence,
        idempotency_key: format!("{user}.{sequence}"),
        created_at: now,
        next_attempt_at: now,
        trace_context: Some(format!("00-{:032x}-{:016x}-01", 7, sequence)),
    });
    Change::AddPasswordCode {
        code,
        event: event(user, sequence, added, "o1", now),
        message,
    }
}

/// Organization `o1` ("acme") with the human user `u1` ("ada"), the start of most tests.
async fn ada_in_acme(store: &impl Contract) {
    store.commit(org("o1", "acme")).await.unwrap();
    store
        .commit(add_user(&human("u1", "o1", "ada")))
        .await
        .unwrap();
}

async fn empty_store(store: &impl Contract) {
    assert!(store.is_empty().await.unwrap());
    store.ping().await.unwrap();
    assert_eq!(store.counts().await, Default::default());
    assert_eq!(store.user(&"nobody".parse().unwrap()).await.unwrap(), None);
    assert_eq!(
        store.organization(&"none".parse().unwrap()).await.unwrap(),
        None
    );
}

async fn organizations_are_unique_by_name_and_id(store: &impl Contract) {
    store.commit(org("o1", "acme")).await.unwrap();
    assert!(!store.is_empty().await.unwrap());
    let loaded = store
        .organization(&"o1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.name, "acme");
    assert_eq!(loaded.sequence, 1);
    assert_eq!(
        store.commit(org("o2", "acme")).await,
        Err(StoreError::Duplicate(Taken::OrgName))
    );
    assert_eq!(
        store.commit(org("o1", "other")).await,
        Err(StoreError::Duplicate(Taken::OrgId))
    );
    let counts = store.counts().await;
    assert_eq!(
        (counts.organizations, counts.events),
        (1, 1),
        "failed commits leave nothing"
    );
}

async fn users_round_trip_and_are_unique_per_org(store: &impl Contract) {
    store.commit(org("o1", "acme")).await.unwrap();
    store.commit(org("o2", "beta")).await.unwrap();
    let ada = human("u1", "o1", "ada");
    store.commit(add_user(&ada)).await.unwrap();
    assert_eq!(
        store.user(&ada.id).await.unwrap(),
        Some(ada.clone()),
        "every field round-trips"
    );
    assert_eq!(
        store.commit(add_user(&human("u2", "o1", "ada"))).await,
        Err(StoreError::Duplicate(Taken::Username))
    );
    assert_eq!(
        store.commit(add_user(&human("u1", "o2", "bob"))).await,
        Err(StoreError::Duplicate(Taken::UserId))
    );
    store
        .commit(add_user(&human("u3", "o2", "ada")))
        .await
        .unwrap();
    let machine = User {
        kind: UserKind::Machine { name: "Bot".into() },
        ..human("u4", "o1", "bot")
    };
    store.commit(add_user(&machine)).await.unwrap();
    assert_eq!(
        store.user(&machine.id).await.unwrap().map(|u| u.kind),
        Some(machine.kind)
    );
}

async fn codes_append_with_optimistic_concurrency(store: &impl Contract) {
    ada_in_acme(store).await;
    store
        .commit(code_change("u1", 2, "h2", true))
        .await
        .unwrap();
    assert_eq!(
        store.commit(code_change("u1", 2, "again", true)).await,
        Err(StoreError::Conflict),
        "a change built on a stale sequence is refused"
    );
    assert_eq!(
        store.commit(code_change("u1", 4, "skip", false)).await,
        Err(StoreError::Conflict)
    );
    store
        .commit(code_change("u1", 3, "h3", false))
        .await
        .unwrap();
    let user = store.user(&"u1".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(user.sequence, 3);
    assert_eq!(user.changed_at, at("2026-01-01T01:00:00Z"));
    let counts = store.counts().await;
    assert_eq!(counts.events, 1 + 1 + 2);
    assert_eq!(counts.password_codes, 1, "a new code replaces the old");
    assert_eq!(
        counts.outbox, 1,
        "only the sendLink change queued a message"
    );
}

async fn concurrent_appends_to_one_user_admit_exactly_one(store: &Store) {
    ada_in_acme(store).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .commit(code_change("u1", 2, &format!("h{i}"), true))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let counts = store.row_counts().await.unwrap();
    assert_eq!((counts.events, counts.outbox), (3, 1));
}

async fn tokens_resolve_to_live_principals(store: &impl Contract) {
    ada_in_acme(store).await;
    let now = at("2026-01-01T02:00:00Z");
    let token =
        |id: &str, hash: &str, sequence: i64, expires_at: Option<DateTime<Utc>>| Change::AddToken {
            token: TokenRecord {
                id: id.into(),
                hash: TokenHash(hash.into()),
                user_id: "u1".parse().unwrap(),
                org_id: "o1".parse().unwrap(),
                roles: vec![Role::OrgOwner, Role::IamLoginClient],
                created_at: now,
                expires_at,
            },
            event: event(
                "u1",
                sequence,
                Event::token_added(id.into(), &[]),
                "o1",
                now,
            ),
        };
    store.commit(token("t1", "fp1", 2, None)).await.unwrap();
    store
        .commit(token("t2", "fp2", 3, Some(now + TimeDelta::minutes(5))))
        .await
        .unwrap();
    let principal = store
        .principal(&TokenHash("fp1".into()), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(principal.user_id.as_str(), "u1");
    assert_eq!(principal.org_id, "o1".parse::<OrgId>().unwrap());
    assert_eq!(principal.roles, vec![Role::OrgOwner, Role::IamLoginClient]);
    assert!(
        store
            .principal(&TokenHash("fp2".into()), now)
            .await
            .unwrap()
            .is_some()
    );
    let later = now + TimeDelta::minutes(6);
    assert!(
        store
            .principal(&TokenHash("fp2".into()), later)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .principal(&TokenHash("nope".into()), now)
            .await
            .unwrap()
            .is_none()
    );

    // The list, oldest first, and a revocation that takes effect at once.
    let listed = store.tokens(Some(&"u1".parse().unwrap())).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.id.as_str(), t.revoked_at))
            .collect::<Vec<_>>(),
        [("t1", None), ("t2", None)]
    );
    assert_eq!(listed[1].expires_at, Some(now + TimeDelta::minutes(5)));
    let revoke = |sequence| Change::RevokeToken {
        token_id: "t1".into(),
        event: event(
            "u1",
            sequence,
            Event::TokenRemoved {
                token_id: "t1".into(),
            },
            "o1",
            later,
        ),
    };
    store.commit(revoke(4)).await.unwrap();
    assert!(
        store
            .principal(&TokenHash("fp1".into()), later)
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );
    assert_eq!(
        store.commit(revoke(5)).await,
        Err(StoreError::Conflict),
        "a token is revoked once"
    );
    let listed = store.tokens(None).await.unwrap();
    assert_eq!(listed[0].revoked_at, Some(later));
}

/// A renewal extends a claim only while it is the holder's: leased until the holder's lease
/// end (to the microsecond, as claimed), still pending. Another worker's later claim, or an
/// ended message, is left alone.
async fn a_claim_is_renewed_only_by_its_holder(store: &impl Contract) {
    ada_in_acme(store).await;
    store
        .commit(code_change("u1", 2, "h2", true))
        .await
        .unwrap();
    let now = at("2026-01-01T01:00:00.123456Z");
    let lease = TimeDelta::seconds(10);
    assert_eq!(store.claim_due(now, lease, 10).await.unwrap().len(), 1);
    let held = now + lease;
    let renewed = held + TimeDelta::seconds(3);
    assert_eq!(
        store.renew(&["m2", "nothing"], held, renewed).await,
        Ok(vec!["m2".to_owned()])
    );
    assert!(
        store.claim_due(held, lease, 10).await.unwrap().is_empty(),
        "still claimed after the first lease end"
    );
    assert_eq!(
        store.renew(&["m2"], held, renewed + lease).await,
        Ok(vec![]),
        "a stale lease end renews nothing"
    );
    // The holder stops renewing; the lease runs out and another worker claims it.
    let other = store.claim_due(renewed, lease, 10).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(
        store.renew(&["m2"], renewed, renewed + lease).await,
        Ok(vec![]),
        "the first holder's renewal does not touch the new claim"
    );
    assert_eq!(
        store
            .renew(&["m2"], renewed + lease, renewed + lease * 2)
            .await,
        Ok(vec!["m2".to_owned()]),
        "the new holder's does"
    );
    store.mark_dead("m2", "smtp 550").await.unwrap();
    assert_eq!(
        store
            .renew(&["m2"], renewed + lease * 2, renewed + lease * 3)
            .await,
        Ok(vec![]),
        "an ended message is not renewed"
    );
    assert_eq!(store.renew(&[], now, now).await, Ok(vec![]));
}

async fn outbox_claims_lease_and_record_outcomes(store: &impl Contract) {
    ada_in_acme(store).await;
    store
        .commit(code_change("u1", 2, "h2", true))
        .await
        .unwrap();
    let now = at("2026-01-01T01:00:00Z");
    let lease = TimeDelta::seconds(60);
    let claimed = store.claim_due(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let m = &claimed[0];
    assert_eq!((m.id.as_str(), m.attempts, m.code_sequence), ("m2", 1, 2));
    assert_eq!(
        m.trace_context.as_deref(),
        Some("00-00000000000000000000000000000007-0000000000000002-01"),
        "the request's trace context comes back with the message"
    );
    assert_eq!(
        m.payload.as_ref().map(|p| p.bytes.clone()),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        m.payload.as_ref().map(|p| p.key_id.0.clone()),
        Some("k1".into())
    );
    assert!(
        store.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    let again = store.claim_due(now + lease, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1, "a lost lease makes it due again");
    assert_eq!(again[0].attempts, 2);

    let codes = store
        .current_codes(&["u1".parse().unwrap(), "nobody".parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(codes.len(), 1, "nobody has no code");
    let (user, code) = &codes[0];
    assert_eq!(
        (user.as_str(), code.sequence, code.expires_at),
        ("u1", 2, now + TimeDelta::hours(1))
    );

    let later = now + TimeDelta::minutes(5);
    store
        .mark_retry("m2", later, "smtp 451 busy")
        .await
        .unwrap();
    assert!(
        store
            .claim_due(later - TimeDelta::seconds(1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.claim_due(later, lease, 10).await.unwrap().len(), 1);
    let sent = SentEvent {
        user_id: "u1".parse().unwrap(),
        org_id: "o1".parse().unwrap(),
        event: Event::PasswordCodeSent {
            channel: rekey_domain::NotificationType::Email,
            code_sequence: 2,
        },
        at: later,
    };
    store.mark_sent(&[("m2", sent.clone())]).await.unwrap();
    // A second worker's late finish changes nothing.
    store.mark_sent(&[("m2", sent)]).await.unwrap();
    let listed = store.list(Some("sent"), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].attempts, listed[0].last_error.as_deref()),
        (3, Some("smtp 451 busy"))
    );
    let user = store.user(&"u1".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(user.sequence, 3, "code.sent appended once");
    assert_eq!(store.counts().await.events, 1 + 1 + 2);

    store
        .commit(code_change("u1", 4, "h4", true))
        .await
        .unwrap();
    store
        .commit(code_change("u1", 5, "h5", true))
        .await
        .unwrap();
    assert_eq!(store.claim_due(later, lease, 10).await.unwrap().len(), 2);
    store
        .mark_skipped(&[("m4", SkipReason::Superseded)])
        .await
        .unwrap();
    store
        .mark_dead("m5", "twilio 400 21211: invalid number")
        .await
        .unwrap();
    let skipped = store.list(Some("skipped"), 10).await.unwrap();
    assert_eq!(skipped[0].last_error.as_deref(), Some("superseded"));
    assert!(
        !store.retry("m4", later).await.unwrap(),
        "only dead messages are retried"
    );
    assert!(store.retry("m5", later).await.unwrap());
    let retried = store.claim_due(later, lease, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id.as_str(), retried[0].attempts), ("m5", 1));
    assert!(
        retried[0].payload.is_some(),
        "a dead message keeps its payload"
    );
    assert_eq!(store.list(None, 10).await.unwrap().len(), 3);
}

async fn sent_messages_are_recorded_as_one_batch(store: &impl Contract) {
    ada_in_acme(store).await;
    for sequence in 2..=4 {
        store
            .commit(code_change("u1", sequence, "h", true))
            .await
            .unwrap();
    }
    let now = at("2026-01-01T01:00:00Z");
    assert_eq!(
        store
            .claim_due(now, TimeDelta::seconds(60), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    let sent = |code_sequence| SentEvent {
        user_id: "u1".parse().unwrap(),
        org_id: "o1".parse().unwrap(),
        event: Event::PasswordCodeSent {
            channel: rekey_domain::NotificationType::Email,
            code_sequence,
        },
        at: now,
    };
    store
        .mark_sent(&[("m2", sent(2)), ("m3", sent(3))])
        .await
        .unwrap();
    let user = store.user(&"u1".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(user.sequence, 6, "two events, numbered on from 4");
    // m3 was sent already: only m4 gets an event.
    store
        .mark_sent(&[("m3", sent(3)), ("m4", sent(4))])
        .await
        .unwrap();
    let user = store.user(&"u1".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(user.sequence, 7);
    assert_eq!(store.counts().await.events, 1 + 1 + 3 + 3);
    let listed = store.list(Some("sent"), 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    store.mark_sent(&[]).await.unwrap();
    store.mark_skipped(&[]).await.unwrap();
    assert!(store.current_codes(&[]).await.unwrap().is_empty());
}

async fn overlapping_sent_batches_do_not_deadlock(store: &Store) {
    ada_in_acme(store).await;
    store
        .commit(add_user(&human("u2", "o1", "grace")))
        .await
        .unwrap();
    // 40 messages for each of u1 and u2 (ids a2… and b2…).
    for sequence in 2..42 {
        for (user, prefix) in [("u1", "a"), ("u2", "b")] {
            let mut change = code_change(user, sequence, "h", true);
            if let Change::AddPasswordCode {
                message: Some(message),
                ..
            } = &mut change
            {
                message.id = format!("{prefix}{sequence}");
            }
            store.commit(change).await.unwrap();
        }
    }
    let now = at("2026-01-01T01:00:00Z");
    let sent = |user: &str| SentEvent {
        user_id: user.parse().unwrap(),
        org_id: "o1".parse().unwrap(),
        event: Event::PasswordCodeSent {
            channel: rekey_domain::NotificationType::Email,
            code_sequence: 2,
        },
        at: now,
    };
    // Two workers record batches that name the same two users in opposite orders.
    let mut workers = tokio::task::JoinSet::new();
    for sequence in 2..42 {
        let (store, a, b) = (
            store.clone(),
            format!("a{sequence}"),
            format!("b{sequence}"),
        );
        let (first, second) = (sent("u1"), sent("u2"));
        workers.spawn(async move {
            if sequence % 2 == 0 {
                store.mark_sent(&[(&a, first), (&b, second)]).await
            } else {
                store.mark_sent(&[(&b, second), (&a, first)]).await
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap().unwrap();
    }
    let u1 = store.user(&"u1".parse().unwrap()).await.unwrap().unwrap();
    let u2 = store.user(&"u2".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((u1.sequence, u2.sequence), (41 + 40, 41 + 40));
    assert_eq!(store.list(Some("sent"), 100).await.unwrap().len(), 80);
}

async fn concurrent_claims_never_share_a_message(store: &Store) {
    ada_in_acme(store).await;
    for sequence in 2..42 {
        store
            .commit(code_change("u1", sequence, "h", true))
            .await
            .unwrap();
    }
    let now = at("2026-01-01T01:00:00Z");
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = store.clone();
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_due(now, TimeDelta::minutes(1), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(claimed) = workers.join_next().await {
        all.extend(claimed.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (40, 40),
        "each message claimed exactly once"
    );
}

async fn buckets_take_all_or_none_and_refill(store: &Store) {
    let now = at("2026-01-01T00:00:00Z");
    let a = BudgetKey::new("user", "u1", Budget::new(2, TimeDelta::minutes(10)));
    let b = BudgetKey::new(
        "recipient",
        "ada@example.com",
        Budget::new(1, TimeDelta::minutes(10)),
    );
    let both = [a.clone(), b.clone()];
    assert_eq!(store.take(&both, now).await.unwrap(), Verdict::Allowed);
    assert_eq!(
        store.take(&both, now).await.unwrap(),
        Verdict::Refused {
            index: 1,
            retry_after: TimeDelta::minutes(10),
            first: true
        }
    );
    assert_eq!(
        store.take(std::slice::from_ref(&a), now).await.unwrap(),
        Verdict::Allowed,
        "the refused take took nothing from the first bucket"
    );
    let refused = |first| Verdict::Refused {
        index: 0,
        retry_after: TimeDelta::minutes(5),
        first,
    };
    let only_a = std::slice::from_ref(&a);
    assert_eq!(store.take(only_a, now).await.unwrap(), refused(true));
    assert_eq!(store.take(only_a, now).await.unwrap(), refused(false));
    assert_eq!(
        store.spent(&a, now).await.unwrap(),
        Some(TimeDelta::minutes(5))
    );
    let later = now + TimeDelta::minutes(5);
    assert_eq!(store.spent(&a, later).await.unwrap(), None);
    assert_eq!(store.take(only_a, later).await.unwrap(), Verdict::Allowed);
    assert_eq!(
        store.take(only_a, later).await.unwrap(),
        refused(true),
        "a new run of refusals"
    );
    let other = BudgetKey::new("user", "u2", Budget::new(2, TimeDelta::minutes(10)));
    assert_eq!(
        store.spent(&other, now).await.unwrap(),
        None,
        "never used: full"
    );

    assert_eq!(
        store
            .prune(Prunable::FullBuckets, later, 100)
            .await
            .unwrap(),
        0,
        "both buckets still fill"
    );
    let day = now + TimeDelta::days(1);
    assert_eq!(
        store.prune(Prunable::FullBuckets, day, 1).await.unwrap(),
        1,
        "one batch of one"
    );
    assert_eq!(
        store.prune(Prunable::FullBuckets, day, 100).await.unwrap(),
        1
    );
    assert_eq!(store.take(&both, day).await.unwrap(), Verdict::Allowed);
}

/// `take_and_load_user`: the verdict as `take` gives it, and the user when allowed; with one
/// budget on PostgreSQL the two go out pipelined, with several (or on SQLite) in turn.
async fn a_take_and_a_user_load_at_once(store: &Store) {
    ada_in_acme(store).await;
    let now = at("2026-01-01T00:00:00Z");
    let ada: rekey_domain::UserId = "u1".parse().unwrap();
    let one = [BudgetKey::new(
        "caller",
        "c1",
        Budget::new(2, TimeDelta::minutes(10)),
    )];
    for _ in 0..2 {
        let (verdict, user) = store.take_and_load_user(&one, now, &ada).await.unwrap();
        assert_eq!(verdict, Verdict::Allowed);
        assert_eq!(user.unwrap().username, "ada");
    }
    let (verdict, _) = store.take_and_load_user(&one, now, &ada).await.unwrap();
    assert_eq!(
        verdict,
        Verdict::Refused {
            index: 0,
            retry_after: TimeDelta::minutes(5),
            first: true
        },
        "the third take in ten minutes of a budget of two"
    );
    let (verdict, _) = store.take_and_load_user(&one, now, &ada).await.unwrap();
    assert!(
        matches!(verdict, Verdict::Refused { first: false, .. }),
        "refusals are counted as take counts them"
    );
    let (verdict, nobody) = store
        .take_and_load_user(&one, now + TimeDelta::minutes(5), &"u9".parse().unwrap())
        .await
        .unwrap();
    assert_eq!((verdict, nobody), (Verdict::Allowed, None), "no such user");
    let two = [
        BudgetKey::new("caller", "c2", Budget::new(1, TimeDelta::minutes(10))),
        BudgetKey::new("caller", "c3", Budget::new(1, TimeDelta::minutes(10))),
    ];
    let (verdict, user) = store.take_and_load_user(&two, now, &ada).await.unwrap();
    assert_eq!(verdict, Verdict::Allowed);
    assert_eq!(user.unwrap().id, ada);
    let (verdict, _) = store.take_and_load_user(&two, now, &ada).await.unwrap();
    assert!(matches!(verdict, Verdict::Refused { index: 0, .. }));
}

async fn concurrent_takes_never_overspend_a_bucket(store: &Store) {
    let now = at("2026-01-01T00:00:00Z");
    let key = BudgetKey::new("caller", "u1", Budget::new(5, TimeDelta::minutes(1)));
    let mut takers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, key) = (store.clone(), key.clone());
        takers.spawn(async move { store.take(&[key], now).await.unwrap() });
    }
    let mut allowed = 0;
    while let Some(verdict) = takers.join_next().await {
        allowed += usize::from(verdict.unwrap() == Verdict::Allowed);
    }
    assert_eq!(allowed, 5);
}

async fn passwords_and_code_attempts(store: &impl Contract) {
    ada_in_acme(store).await;
    let u1: rekey_domain::UserId = "u1".parse().unwrap();
    assert_eq!(
        store.password_hash(&u1).await.unwrap().as_deref(),
        Some("$argon2id$v=19$test")
    );
    assert_eq!(store.password_code(&u1).await.unwrap(), None);
    store
        .commit(code_change("u1", 2, "h2", false))
        .await
        .unwrap();
    let code = store.password_code(&u1).await.unwrap().unwrap();
    assert_eq!(
        (code.hash.hash.as_str(), code.sequence, code.failed_attempts),
        ("h2", 2, 0)
    );
    assert_eq!(code.expires_at, at("2026-01-01T02:00:00Z"));
    assert_eq!(store.count_code_attempt(&u1, 2).await.unwrap(), Some(1));
    assert_eq!(store.count_code_attempt(&u1, 2).await.unwrap(), Some(2));
    assert_eq!(
        store.count_code_attempt(&u1, 99).await.unwrap(),
        None,
        "another code"
    );

    let now = at("2026-01-01T01:30:00Z");
    let changed = Event::PasswordChanged {
        change_required: true,
        verified_by: "code".into(),
    };
    store
        .commit(Change::SetPassword {
            user_id: u1.clone(),
            consumes_code: Some(2),
            password_hash: "$argon2id$new".into(),
            change_required: true,
            event: event("u1", 3, changed.clone(), "o1", now),
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.password_hash(&u1).await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    assert_eq!(
        store.password_code(&u1).await.unwrap(),
        None,
        "the code is consumed"
    );
    let user = store.user(&u1).await.unwrap().unwrap();
    let UserKind::Human(profile) = user.kind else {
        panic!("human")
    };
    assert!(profile.password_change_required);
    assert_eq!(profile.password_changed, Some(now));
    assert_eq!(
        store
            .commit(Change::SetPassword {
                user_id: u1.clone(),
                consumes_code: None,
                password_hash: "stale".into(),
                change_required: false,
                event: event("u1", 3, changed, "o1", now),
                message: None,
            })
            .await,
        Err(StoreError::Conflict)
    );

    store
        .commit(code_change("u1", 4, "h4", false))
        .await
        .unwrap();
    let invalidated = Event::PasswordCodeInvalidated { failed_attempts: 5 };
    store
        .commit(Change::InvalidateCode {
            user_id: u1.clone(),
            code_sequence: 4,
            event: event("u1", 5, invalidated, "o1", now),
        })
        .await
        .unwrap();
    assert_eq!(store.password_code(&u1).await.unwrap(), None);
    assert_eq!(store.counts().await.events, 1 + 1 + 4);
}

/// A SetPassword that consumes a code requires it in the same transaction; a message whose
/// idempotency key another change took is a conflict, not a failure; and a change that lost
/// the sequence race writes nothing, its message included.
async fn a_code_proves_one_change_and_the_guard_comes_first(store: &impl Contract) {
    ada_in_acme(store).await;
    let u1: rekey_domain::UserId = "u1".parse().unwrap();
    store
        .commit(code_change("u1", 2, "h2", true))
        .await
        .unwrap();
    let now = at("2026-01-01T01:10:00Z");
    let changed = Event::PasswordChanged {
        change_required: false,
        verified_by: "code".into(),
    };
    let notice = |sequence: i64, key: &str| OutboxMessage {
        id: format!("n{sequence}-{key}"),
        kind: "password_changed",
        user_id: u1.clone(),
        channel: NotificationType::Email,
        recipient_masked: "a***@example.com".into(),
        payload: Sealed {
            key_id: KeyId("k1".into()),
            bytes: vec![4],
        },
        code_sequence: sequence,
        idempotency_key: key.into(),
        created_at: now,
        next_attempt_at: now,
        trace_context: None,
    };
    let set =
        |sequence: i64, code: Option<i64>, message: Option<OutboxMessage>| Change::SetPassword {
            user_id: u1.clone(),
            consumes_code: code,
            password_hash: format!("$argon2id${sequence}"),
            change_required: false,
            event: event("u1", sequence, changed.clone(), "o1", now),
            message,
        };
    let before = store.counts().await;
    let password = store.password_hash(&u1).await.unwrap();
    assert_eq!(
        store.commit(set(3, Some(1), None)).await,
        Err(StoreError::Conflict),
        "a code that is not the current one"
    );
    assert_eq!(
        store.commit(set(3, Some(2), Some(notice(3, "u1.2")))).await,
        Err(StoreError::Conflict),
        "the reset message's idempotency key is taken"
    );
    assert_eq!(
        store
            .commit(set(2, Some(2), Some(notice(2, "fresh"))))
            .await,
        Err(StoreError::Conflict),
        "a stale sequence"
    );
    assert_eq!(store.counts().await, before, "nothing written");
    assert_eq!(store.user(&u1).await.unwrap().unwrap().sequence, 2);
    assert_eq!(store.password_hash(&u1).await.unwrap(), password);

    store
        .commit(set(3, Some(2), Some(notice(3, "u1.3"))))
        .await
        .unwrap();
    assert_eq!(store.password_code(&u1).await.unwrap(), None, "consumed");
    assert_eq!(
        store.commit(set(4, Some(2), Some(notice(4, "u1.4")))).await,
        Err(StoreError::Conflict),
        "the same code twice, even on the right sequence"
    );
    store.commit(set(4, None, None)).await.unwrap();
}

/// A message that is no longer pending (sent, dead, skipped) is left as it is by a late
/// retry, death or skip from a worker whose lease ran out.
async fn outbox_marks_change_only_pending_messages(store: &impl Contract) {
    ada_in_acme(store).await;
    for sequence in 2..=4 {
        store
            .commit(code_change("u1", sequence, "h", true))
            .await
            .unwrap();
    }
    let now = at("2026-01-01T01:00:00Z");
    assert_eq!(
        store
            .claim_due(now, TimeDelta::seconds(60), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    store.mark_dead("m2", "gave up").await.unwrap();
    store
        .mark_skipped(&[("m3", SkipReason::Expired)])
        .await
        .unwrap();
    let sent = SentEvent {
        user_id: "u1".parse().unwrap(),
        org_id: "o1".parse().unwrap(),
        event: Event::PasswordCodeSent {
            channel: NotificationType::Email,
            code_sequence: 4,
        },
        at: now,
    };
    store.mark_sent(&[("m4", sent)]).await.unwrap();
    let later = now + TimeDelta::minutes(5);
    for id in ["m2", "m3", "m4"] {
        store.mark_retry(id, later, "late retry").await.unwrap();
        store.mark_dead(id, "late death").await.unwrap();
        store
            .mark_skipped(&[(id, SkipReason::Superseded)])
            .await
            .unwrap();
    }
    let status = |entries: Vec<rekey_application::ports::OutboxEntry>| {
        let mut found: Vec<(String, String, Option<String>)> = entries
            .into_iter()
            .map(|e| (e.id, e.status, e.last_error))
            .collect();
        found.sort();
        found
    };
    let listed = status(store.list(None, 10).await.unwrap());
    let ids: Vec<(&str, &str, Option<&str>)> = listed
        .iter()
        .map(|(id, st, err)| (id.as_str(), st.as_str(), err.as_deref()))
        .collect();
    assert_eq!(
        ids,
        [
            ("m2", "dead", Some("gave up")),
            ("m3", "skipped", Some("expired")),
            ("m4", "sent", None),
        ]
    );
    assert!(
        store
            .claim_due(later, TimeDelta::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing became due again"
    );
}

/// SQLite's one writer: writes of one process queue for it in the process, not in SQLite's
/// busy handler, and reads go to reader connections that do not wait for it.
mod sqlite_writer {
    use super::*;
    use diesel::Connection as _;
    use diesel::connection::SimpleConnection as _;

    /// 48 tasks at once, each taking from two shared budgets and its own (a transaction),
    /// queueing a code and a message for its own user, and reading both back: every one
    /// succeeds (no `database is locked`), and every row is there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_writers_all_succeed() {
        let (store, _dir) = sqlite().await;
        store.commit(org("o1", "acme")).await.unwrap();
        let n = 48;
        for i in 0..n {
            let user = human(&format!("u{i}"), "o1", &format!("user{i}"));
            store.commit(add_user(&user)).await.unwrap();
        }
        let now = at("2026-01-01T00:00:00Z");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let store = store.clone();
            tasks.spawn(async move {
                let user = format!("u{i}");
                let budget = Budget::new(1000, TimeDelta::minutes(1));
                let keys = [
                    BudgetKey::new("caller", "admin", budget),
                    BudgetKey::new("recipient", "shared@example.com", budget),
                    BudgetKey::new("user", &user, budget),
                ];
                assert_eq!(store.take(&keys, now).await, Ok(Verdict::Allowed));
                let mut change = code_change(&user, 2, "h", true);
                if let Change::AddPasswordCode {
                    message: Some(message),
                    ..
                } = &mut change
                {
                    message.id = format!("m-{user}");
                }
                store.commit(change).await.unwrap();
                let id: rekey_domain::UserId = user.parse().unwrap();
                assert_eq!(store.user(&id).await.unwrap().unwrap().sequence, 2);
                assert_eq!(store.password_code(&id).await.unwrap().unwrap().sequence, 2);
                assert_eq!(store.count_code_attempt(&id, 2).await, Ok(Some(1)));
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let counts = store.row_counts().await.unwrap();
        assert_eq!(
            (counts.events, counts.password_codes, counts.outbox),
            (1 + 2 * n, n, n)
        );
        let claimed = store
            .claim_due(at("2026-01-01T02:00:00Z"), TimeDelta::minutes(1), 1000)
            .await
            .unwrap();
        assert_eq!(claimed.len() as i64, n);
    }

    /// Writes go on without a pause while readers read without a pause: the WAL still starts
    /// over after each checkpoint instead of growing with every write (it grew by about
    /// 130 MB/s under the bench before the writer caught up in its turn). Counted from the WAL
    /// header's checkpoint sequence, which SQLite raises each time the WAL starts over. In
    /// memory (`/dev/shm`, where there is one), so that the count does not depend on how fast
    /// the disk syncs: on a CI disk the checkpoints came too slowly for the size bound this
    /// test used to check.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_constant_reads_and_writes() {
        let shm = std::path::Path::new("/dev/shm");
        let dir = match shm.is_dir() {
            true => tempfile::tempdir_in(shm),
            false => tempfile::tempdir(),
        };
        let (store, dir) = sqlite_in(dir.unwrap()).await;
        ada_in_acme(&store).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (store, stop) = (store.clone(), stop.clone());
            readers.spawn(async move {
                let ada: rekey_domain::UserId = "u1".parse().unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    store.user(&ada).await.unwrap().unwrap();
                }
            });
        }
        let wal = dir.path().join("rekey.db-wal");
        let restarts = || {
            let header = std::fs::read(&wal).unwrap();
            u32::from_be_bytes(header[12..16].try_into().unwrap())
        };
        let (first, now) = (restarts(), at("2026-01-01T00:00:00Z"));
        let writes = 3000;
        for i in 0..writes {
            let key = BudgetKey::new(
                "caller",
                &format!("c{i}"),
                Budget::new(5, TimeDelta::minutes(1)),
            );
            assert_eq!(store.take(&[key], now).await, Ok(Verdict::Allowed));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(done) = readers.join_next().await {
            done.unwrap();
        }
        // A checkpoint every 256 writes: 11. Measured 13–16 restarts (some happen on their
        // own when the readers happen to let go); 5–7 without the writer's catch-up.
        let (restarts, size) = (restarts() - first, std::fs::metadata(&wal).unwrap().len());
        assert!(
            restarts >= 9,
            "the WAL started over {restarts} times in {writes} writes ({size} bytes): it grows \
             with every write"
        );
    }

    /// Another process holds the file's write lock: the store's writes wait for it (the first
    /// in SQLite's busy handler, the second for its turn), and meanwhile reads answer, with
    /// what was committed before. When the lock goes, both writes succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_do_not_wait_for_writes() {
        let (store, dir) = sqlite().await;
        ada_in_acme(&store).await;
        let path = dir.path().join("rekey.db");
        let mut other = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();

        let commit = {
            let store = store.clone();
            tokio::spawn(async move { store.commit(code_change("u1", 2, "h2", true)).await })
        };
        let take = {
            let store = store.clone();
            tokio::spawn(async move {
                let key = BudgetKey::new("caller", "admin", Budget::new(5, TimeDelta::minutes(1)));
                store.take(&[key], at("2026-01-01T00:00:00Z")).await
            })
        };
        tokio::task::yield_now().await;
        let u1: rekey_domain::UserId = "u1".parse().unwrap();
        for _ in 0..20 {
            assert_eq!(store.user(&u1).await.unwrap().unwrap().sequence, 1);
            assert_eq!(store.password_code(&u1).await.unwrap(), None);
            store.ping().await.unwrap();
        }
        assert_eq!(store.row_counts().await.unwrap().events, 2);
        assert!(
            !commit.is_finished() && !take.is_finished(),
            "the writes wait for the other process"
        );

        other.batch_execute("ROLLBACK").unwrap();
        assert_eq!(commit.await.unwrap(), Ok(()));
        assert_eq!(take.await.unwrap(), Ok(Verdict::Allowed));
        let counts = store.row_counts().await.unwrap();
        assert_eq!((counts.events, counts.outbox), (3, 1));
    }
}

/// TLS to PostgreSQL, against the test server's own certificate (Debian's snakeoil: CN and
/// SAN `localhost`). Each case proves the pool's connection is encrypted, or that it was
/// refused for the right reason.
mod tls {
    use std::path::PathBuf;

    use rekey_application::ports::UserStore;
    use rekey_persistence_adapter::{DatabaseSettings, connect, migrate};

    struct Server {
        db: rekey_test_db::TestDatabase,
        ca: PathBuf,
    }

    async fn server() -> Server {
        let db = super::postgres().await.1;
        let admin = rekey_test_db::connect(&rekey_test_db::admin_url()).await;
        let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        assert_eq!(
            ssl, "on",
            "the test server must offer TLS (Debian's default does)"
        );
        let ca: String = admin
            .query_one("SHOW ssl_cert_file", &[])
            .await
            .unwrap()
            .get(0);
        Server {
            db,
            ca: PathBuf::from(ca),
        }
    }

    fn settings(url: String, ca: Option<&PathBuf>) -> DatabaseSettings {
        DatabaseSettings {
            tls_ca_file: ca.cloned(),
            connect_timeout: std::time::Duration::from_secs(3),
            ..DatabaseSettings::for_url(url)
        }
    }

    /// `db.url` on `host` with the query `query` and an application name to find it by.
    fn url(server: &Server, host: &str, query: &str, name: &str) -> String {
        let url = server.db.url.replacen("127.0.0.1", host, 1);
        format!("{url}?{query}&application_name={name}")
    }

    /// Whether the connections named `name` are encrypted; `None` if there is none.
    async fn encrypted(name: &str) -> Option<bool> {
        let admin = rekey_test_db::connect(&rekey_test_db::admin_url()).await;
        let sql = "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                   WHERE a.application_name = $1";
        admin.query_one(sql, &[&name]).await.unwrap().get(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verify_full_checks_chain_and_name() {
        let server = server().await;
        let good = settings(
            url(&server, "localhost", "sslmode=verify-full", "tls_full"),
            Some(&server.ca),
        );
        let store = connect(&good)
            .await
            .expect("verify-full to localhost with the CA");
        store.ping().await.unwrap();
        assert_eq!(encrypted("tls_full").await, Some(true));
        assert_eq!(
            migrate(&good).await.unwrap(),
            0,
            "migrations run over TLS too"
        );

        let by_ip = settings(
            url(&server, "127.0.0.1", "sslmode=verify-full", "tls_ip"),
            Some(&server.ca),
        );
        let error = connect(&by_ip)
            .await
            .expect_err("the certificate is for localhost")
            .to_string();
        assert!(
            error.contains("certificate") || error.contains("Certificate"),
            "{error}"
        );

        let public_roots = settings(
            url(&server, "localhost", "sslmode=verify-full", "tls_roots"),
            None,
        );
        let error = connect(&public_roots)
            .await
            .expect_err("snakeoil is not a public CA")
            .to_string();
        assert!(error.to_lowercase().contains("certificate"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verify_ca_and_require() {
        let server = server().await;
        let cases = [
            ("sslmode=verify-ca", Some(&server.ca), "tls_ca", Some(true)),
            ("sslmode=require", None, "tls_require", Some(true)),
            ("sslmode=disable", None, "tls_off", Some(false)),
        ];
        for (query, ca, name, expected) in cases {
            let store = connect(&settings(url(&server, "127.0.0.1", query, name), ca))
                .await
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            store.ping().await.unwrap();
            assert_eq!(encrypted(name).await, expected, "{query}");
        }
    }
}

/// A clock that stands still.
struct At(DateTime<Utc>);

impl Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A week's retention, deleted one row per statement so that the batches loop.
fn week_in_batches_of_one() -> RetentionPolicy {
    RetentionPolicy {
        retention: TimeDelta::days(7),
        batch_size: 1,
        max_batches: 100,
    }
}

fn sent_event(sequence: i64, at: DateTime<Utc>) -> SentEvent {
    SentEvent {
        user_id: "u1".parse().unwrap(),
        org_id: "o1".parse().unwrap(),
        event: Event::PasswordCodeSent {
            channel: NotificationType::Email,
            code_sequence: sequence,
        },
        at,
    }
}

/// The ids of the outbox, sorted.
async fn outbox_ids(store: &impl Contract) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.id)
        .collect();
    ids.sort();
    ids
}

async fn retention_prunes_ended_messages_never_pending_ones(store: &impl Contract) {
    let policy = week_in_batches_of_one();
    let week = policy.retention;
    ada_in_acme(store).await;
    for sequence in 2..=9 {
        let change = code_change("u1", sequence, &format!("h{sequence}"), true);
        store.commit(change).await.unwrap();
    }
    // Claimed at 01:00 with a 60 s lease: every message's next_attempt_at is 01:01 (`ended`,
    // the time of a dead or skipped message).
    let claimed_at = at("2026-01-01T01:00:00Z");
    let lease = TimeDelta::seconds(60);
    let ended = claimed_at + lease;
    assert_eq!(
        store.claim_due(claimed_at, lease, 10).await.unwrap().len(),
        8
    );
    let micro = TimeDelta::microseconds(1);
    // m2 is sent a microsecond before m3.
    let sent_m2 = ended - micro;
    store
        .mark_sent(&[("m2", sent_event(2, sent_m2))])
        .await
        .unwrap();
    store
        .mark_sent(&[("m3", sent_event(3, ended))])
        .await
        .unwrap();
    store.mark_dead("m4", "smtp 550").await.unwrap();
    store.mark_dead("m5", "smtp 550").await.unwrap();
    store
        .mark_skipped(&[("m6", SkipReason::Superseded)])
        .await
        .unwrap();
    // Pending: m7 due again when its lease ends, m8 in a year, m9 (never to be sent) too.
    let next_year = claimed_at + TimeDelta::days(365);
    store.mark_retry("m8", next_year, "smtp 451").await.unwrap();
    store.mark_retry("m9", next_year, "smtp 451").await.unwrap();
    let all: Vec<String> = (2..=9).map(|n| format!("m{n}")).collect();
    assert_eq!(outbox_ids(store).await, all);

    // A week after 01:01 exactly: m2 was sent a microsecond too early and goes; m3 (sent at
    // 01:01), the dead m4 and m5 and the skipped m6 (their lease ended at 01:01) are just inside.
    let report = prune(store, &At(ended + week), &policy).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            sent_messages: 1,
            ..PruneReport::default()
        }
    );
    assert_eq!(outbox_ids(store).await, &all[1..]);
    // A dead message inside the retention can still be retried.
    assert!(store.retry("m4", ended + week).await.unwrap());

    // A microsecond later m3, m5 and m6 are outside; the retried m4 is pending again.
    let report = prune(store, &At(ended + week + micro), &policy)
        .await
        .unwrap();
    assert_eq!(
        report,
        PruneReport {
            sent_messages: 1,
            ended_messages: 2,
            ..PruneReport::default()
        }
    );
    assert_eq!(outbox_ids(store).await, ["m4", "m7", "m8", "m9"]);
    assert!(
        !store.retry("m5", ended + week).await.unwrap(),
        "m5 is gone"
    );

    // Pending messages stay, however old (u1's code, long expired, goes).
    let far = at("2100-01-01T00:00:00Z");
    let report = prune(store, &At(far), &policy).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            expired_codes: 1,
            ..PruneReport::default()
        }
    );
    assert_eq!(outbox_ids(store).await, ["m4", "m7", "m8", "m9"]);
    let pending = store.list(Some("pending"), 10).await.unwrap();
    assert_eq!(pending.len(), 4);
    // The events are the audit log: pruning never touches them (2 users' and orgs' + 8 codes
    // + 2 sent).
    assert_eq!(store.counts().await.events, 2 + 8 + 2);
}

/// A code of `user` (without a message) that expires at `expires_at`.
fn code_expiring(user: &str, sequence: i64, expires_at: DateTime<Utc>) -> Change {
    let mut change = code_change(user, sequence, &format!("h{user}"), false);
    if let Change::AddPasswordCode { code, .. } = &mut change {
        code.expires_at = expires_at;
    }
    change
}

async fn retention_removes_codes_long_after_they_expired(store: &impl Contract) {
    let policy = week_in_batches_of_one();
    let week = policy.retention;
    ada_in_acme(store).await;
    for (id, name) in [("u2", "bob"), ("u3", "cy")] {
        store
            .commit(add_user(&human(id, "o1", name)))
            .await
            .unwrap();
    }
    let expired = at("2026-01-01T02:00:00Z");
    let micro = TimeDelta::microseconds(1);
    let now = expired + week;
    store
        .commit(code_expiring("u1", 2, expired - micro))
        .await
        .unwrap();
    store.commit(code_expiring("u2", 2, expired)).await.unwrap();
    store
        .commit(code_expiring("u3", 2, now + TimeDelta::hours(1)))
        .await
        .unwrap();
    let code = |id: &str| {
        let id: rekey_domain::UserId = id.parse().unwrap();
        async move {
            store
                .password_code(&id)
                .await
                .unwrap()
                .map(|c| c.expires_at)
        }
    };

    // A week after u2's code expired: u1's, expired a microsecond longer, goes; u2's is kept
    // (SetPassword still answers "Code is expired" for it), u3's is live.
    let report = prune(store, &At(now), &policy).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            expired_codes: 1,
            ..PruneReport::default()
        }
    );
    assert_eq!(code("u1").await, None);
    assert_eq!(code("u2").await, Some(expired));
    assert_eq!(code("u3").await, Some(now + TimeDelta::hours(1)));

    let report = prune(store, &At(now + micro), &policy).await.unwrap();
    assert_eq!(report.expired_codes, 1);
    assert_eq!(code("u2").await, None);
    assert_eq!(code("u3").await, Some(now + TimeDelta::hours(1)));
    assert_eq!(store.counts().await.password_codes, 1);

    // A user whose code was pruned gets a new one as if it never had one.
    store.commit(code_expiring("u1", 3, now)).await.unwrap();
    assert_eq!(code("u1").await, Some(now));
}

async fn concurrent_pruning_deletes_each_row_once(store: &Store) {
    ada_in_acme(store).await;
    for sequence in 2..=21 {
        let change = code_change("u1", sequence, &format!("h{sequence}"), true);
        store.commit(change).await.unwrap();
    }
    let sent_at = at("2026-01-01T01:00:30Z");
    let claimed = store
        .claim_due(at("2026-01-01T01:00:00Z"), TimeDelta::seconds(60), 100)
        .await
        .unwrap();
    let sent: Vec<(&str, SentEvent)> = claimed
        .iter()
        .map(|m| (m.id.as_str(), sent_event(m.code_sequence, sent_at)))
        .collect();
    store.mark_sent(&sent).await.unwrap();
    let clock = At(sent_at + TimeDelta::days(8));
    let policy = week_in_batches_of_one();
    let (a, b) = tokio::join!(prune(store, &clock, &policy), prune(store, &clock, &policy));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent_messages + b.sent_messages, 20);
    assert_eq!(store.counts().await.outbox, 0);
}

/// PostgreSQL, where the take and the user load go out together: a caller whose budget is
/// spent gets its refusal whatever the user's row holds, never an answer shaped by the user
/// (here a row that does not read back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_take_is_a_refusal_whatever_the_user_row() {
    let (store, db) = postgres().await;
    ada_in_acme(&store).await;
    rekey_test_db::connect(&db.url)
        .await
        .execute(
            "UPDATE users SET email = 'not an address' WHERE id = 'u1'",
            &[],
        )
        .await
        .unwrap();
    let now = at("2026-01-01T00:00:00Z");
    let ada: rekey_domain::UserId = "u1".parse().unwrap();
    let one = [BudgetKey::new(
        "caller",
        "c1",
        Budget::new(1, TimeDelta::minutes(10)),
    )];
    assert!(
        store.take_and_load_user(&one, now, &ada).await.is_err(),
        "allowed: the row does not read back"
    );
    let (verdict, user) = store.take_and_load_user(&one, now, &ada).await.unwrap();
    assert!(matches!(verdict, Verdict::Refused { first: true, .. }));
    assert_eq!(user, None);
}

/// PostgreSQL: each single-threaded runtime (an HTTP worker) queries over connections of its
/// own, opened and driven on its thread, `max_connections / local_pools` of them; a runtime
/// that stops takes its connections with it, and the next one on that thread opens new ones.
mod per_thread_pools {
    use super::*;

    /// A store on a fresh database with ada in acme, 4 connections shared by 2 local pools.
    fn store(main: &tokio::runtime::Runtime) -> (Store, rekey_test_db::TestDatabase) {
        main.block_on(async {
            let (_, db) = postgres().await;
            let settings = DatabaseSettings {
                max_connections: 4,
                local_pools: 2,
                ..DatabaseSettings::for_url(db.url.clone())
            };
            let store = connect(&settings).await.unwrap();
            ada_in_acme(&store).await;
            (store, db)
        })
    }

    /// Runs `work` on a new single-threaded runtime on the calling thread, then drops it.
    fn on_own_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    }

    /// Ten loads of ada at once.
    async fn ten_loads(store: &Store) {
        let id = "u1".parse().unwrap();
        let loads = (0..10).map(|_| store.user(&id));
        for user in futures_util::future::join_all(loads).await {
            assert_eq!(user.unwrap().unwrap().username, "ada");
        }
    }

    #[test]
    fn a_thread_of_its_own_opens_its_share_of_connections_and_closes_them_with_its_runtime() {
        let main = tokio::runtime::Runtime::new().unwrap();
        let (store, _db) = store(&main);
        let shared = store.pool_state().connections;
        let worker = store.clone();
        let during = std::thread::spawn(move || {
            on_own_runtime(async {
                ten_loads(&worker).await;
                worker.pool_state().connections
            })
        })
        .join()
        .unwrap();
        assert!(
            (shared + 1..=shared + 2).contains(&during),
            "the thread's own pool holds 1 or 2 (4 / 2) connections: {shared} shared, {during} in all"
        );
        assert_eq!(
            store.pool_state().connections,
            shared,
            "a stopped runtime's pool is no longer counted"
        );
        // On the multi-threaded runtime, the shared pool serves.
        main.block_on(ten_loads(&store));
        assert!(store.pool_state().connections <= 4);
    }

    #[test]
    fn the_next_runtime_on_a_thread_opens_new_connections() {
        let main = tokio::runtime::Runtime::new().unwrap();
        let (store, _db) = store(&main);
        let worker = store.clone();
        std::thread::spawn(move || {
            on_own_runtime(ten_loads(&worker));
            // The first runtime is gone, and with it the tasks that drove its connections.
            on_own_runtime(ten_loads(&worker));
        })
        .join()
        .unwrap();
    }
}

/// A session of `u1` (of `o1`), created by `creator` at `now`: a user check, and a password
/// check when `password` is given.
fn session_of_u1(id: &str, creator: &str, now: DateTime<Utc>, password: bool) -> Session {
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("k".to_owned(), vec![0, 255, 7]);
    Session {
        id: id.into(),
        sequence: 3,
        created_at: now,
        changed_at: now,
        creator: creator.parse().unwrap(),
        user: Some(CheckedUser {
            id: "u1".parse().unwrap(),
            org_id: "o1".parse().unwrap(),
            checked_at: now,
        }),
        password_checked_at: password.then_some(now),
        expires_at: Some(now + TimeDelta::hours(24)),
        user_agent: UserAgent {
            ip: Some("192.0.2.1".into()),
            header: [("user-agent".to_owned(), vec!["Mozilla/5.0".to_owned()])].into(),
            ..UserAgent::default()
        },
        metadata,
        token: TokenHash(format!("fp-{id}-1")),
    }
}

/// The events of a session change: `session.token.set` numbered `first..=last`.
fn session_events(id: &str, first: i64, last: i64, now: DateTime<Utc>) -> Vec<NewEvent> {
    (first..=last)
        .map(|sequence| {
            let set = Event::SessionTokenSet {
                token_id: format!("t{sequence}"),
            };
            event(id, sequence, set, "rekey", now)
        })
        .collect()
}

fn checked_password(hash: &str) -> Option<CheckedPassword> {
    Some(CheckedPassword {
        user_id: "u1".parse().unwrap(),
        hash: hash.into(),
        rehashed: None,
    })
}

async fn sessions_are_saved_rotated_listed_and_ended(store: &impl Contract) {
    ada_in_acme(store).await;
    let now = at("2026-01-01T02:00:00.5Z");
    let s1 = session_of_u1("s1", "login", now, true);
    store
        .commit(Change::SaveSession {
            session: s1.clone(),
            events: session_events("s1", 1, 3, now),
            password_checked: checked_password("$argon2id$v=19$test"),
        })
        .await
        .unwrap();
    assert_eq!(store.session("s1").await.unwrap(), Some(s1.clone()));
    assert_eq!(store.session("s2").await.unwrap(), None);

    // A change built on sequence 3 rotates the token; one built on a stale sequence, or on a
    // password that is no longer the user's, writes nothing.
    let later = now + TimeDelta::minutes(1);
    let rotated = Session {
        sequence: 4,
        changed_at: later,
        password_checked_at: None,
        token: TokenHash("fp-s1-2".into()),
        ..s1.clone()
    };
    let save = |session: Session, first, password| Change::SaveSession {
        events: session_events("s1", first, session.sequence, later),
        session,
        password_checked: password,
    };
    assert_eq!(
        store.commit(save(rotated.clone(), 3, None)).await,
        Err(StoreError::Conflict),
        "stale"
    );
    assert_eq!(
        store
            .commit(save(rotated.clone(), 4, checked_password("$argon2id$old")))
            .await,
        Err(StoreError::Conflict),
        "the password checked is no longer the user's"
    );
    assert_eq!(store.session("s1").await.unwrap(), Some(s1));
    // A check that matched an imported hash replaces it in the same commit.
    let rehashed = CheckedPassword {
        rehashed: Some("$argon2id$v=19$new".into()),
        ..checked_password("$argon2id$v=19$test").unwrap()
    };
    store
        .commit(save(rotated.clone(), 4, Some(rehashed)))
        .await
        .unwrap();
    assert_eq!(store.session("s1").await.unwrap(), Some(rotated));
    assert_eq!(
        store
            .password_hash(&"u1".parse().unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("$argon2id$v=19$new")
    );

    for (id, creator, minutes) in [("s2", "login", 2), ("s3", "other", 3)] {
        let session = session_of_u1(id, creator, now + TimeDelta::minutes(minutes), false);
        store
            .commit(Change::SaveSession {
                events: session_events(id, 1, 3, session.created_at),
                session,
                password_checked: None,
            })
            .await
            .unwrap();
    }
    let ids = |found: &[Session]| found.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let all = SessionQuery {
        limit: 10,
        ..SessionQuery::default()
    };
    let (found, total) = store.sessions(&all).await.unwrap();
    assert_eq!(
        (ids(&found), total),
        (vec!["s3".into(), "s2".into(), "s1".into()], 3)
    );
    let page = SessionQuery {
        ascending: true,
        offset: 1,
        limit: 1,
        ..SessionQuery::default()
    };
    let (found, total) = store.sessions(&page).await.unwrap();
    assert_eq!(
        (ids(&found), total),
        (vec!["s2".into()], 3),
        "total counts past the page"
    );
    let filtered = SessionQuery {
        ids: Some(vec!["s1".into(), "s3".into(), "missing".into()]),
        creator: Some("login".parse().unwrap()),
        user_id: Some("u1".parse().unwrap()),
        limit: 10,
        ..SessionQuery::default()
    };
    let (found, total) = store.sessions(&filtered).await.unwrap();
    assert_eq!((ids(&found), total), (vec!["s1".into()], 1));

    let ended = |sequence| Change::TerminateSession {
        event: event("s1", sequence, Event::SessionTerminated {}, "rekey", later),
    };
    assert_eq!(
        store.commit(ended(4)).await,
        Err(StoreError::Conflict),
        "stale"
    );
    store.commit(ended(5)).await.unwrap();
    assert_eq!(store.session("s1").await.unwrap(), None);
    assert_eq!(store.sessions(&all).await.unwrap().1, 2);
}

async fn wrong_passwords_count_lock_and_unlock(store: &impl Contract) {
    ada_in_acme(store).await;
    let u1: rekey_domain::UserId = "u1".parse().unwrap();
    let now = at("2026-01-01T02:00:00Z");
    let session = session_of_u1("s1", "login", now, true);
    store
        .commit(Change::SaveSession {
            events: session_events("s1", 1, 3, now),
            session,
            password_checked: None,
        })
        .await
        .unwrap();
    let failed = |sequence, attempts| {
        let event_ = Event::PasswordCheckFailed {
            checked_by: "session".into(),
            failed_attempts: attempts,
        };
        event("u1", sequence, event_, "o1", now)
    };
    store
        .commit(Change::FailPasswordCheck {
            user_id: u1.clone(),
            failed_attempts: 1,
            locks: false,
            events: vec![failed(2, 1)],
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .commit(Change::FailPasswordCheck {
                user_id: u1.clone(),
                failed_attempts: 2,
                locks: false,
                events: vec![failed(2, 2)],
            })
            .await,
        Err(StoreError::Conflict),
        "built on a stale sequence"
    );
    let user = store.user(&u1).await.unwrap().unwrap();
    assert_eq!((user.sequence, user.failed_password_attempts), (2, 1));

    let locked = Event::UserLocked { failed_attempts: 2 };
    store
        .commit(Change::FailPasswordCheck {
            user_id: u1.clone(),
            failed_attempts: 2,
            locks: true,
            events: vec![failed(3, 2), event("u1", 4, locked, "o1", now)],
        })
        .await
        .unwrap();
    let user = store.user(&u1).await.unwrap().unwrap();
    assert_eq!(
        (user.state, user.sequence, user.failed_password_attempts),
        (UserState::Locked, 4, 2)
    );
    assert_eq!(
        store.session("s1").await.unwrap(),
        None,
        "a lock ends the user's sessions"
    );
    // A locked user's password check cannot make a session.
    let retry = session_of_u1("s2", "login", now, true);
    assert_eq!(
        store
            .commit(Change::SaveSession {
                events: session_events("s2", 1, 3, now),
                session: retry,
                password_checked: checked_password("$argon2id$v=19$test"),
            })
            .await,
        Err(StoreError::Conflict)
    );

    store
        .commit(Change::SetUserState {
            state: UserState::Active,
            event: event("u1", 5, Event::UserUnlocked {}, "o1", now),
        })
        .await
        .unwrap();
    let user = store.user(&u1).await.unwrap().unwrap();
    assert_eq!(
        (user.state, user.failed_password_attempts),
        (UserState::Active, 0)
    );
}

async fn a_new_password_ends_the_password_factor_of_sessions(store: &impl Contract) {
    ada_in_acme(store).await;
    let u1: rekey_domain::UserId = "u1".parse().unwrap();
    let now = at("2026-01-01T02:00:00Z");
    store
        .commit(Change::SaveSession {
            events: session_events("s1", 1, 3, now),
            session: session_of_u1("s1", "login", now, true),
            password_checked: checked_password("$argon2id$v=19$test"),
        })
        .await
        .unwrap();
    let failed = Event::PasswordCheckFailed {
        checked_by: "session".into(),
        failed_attempts: 1,
    };
    store
        .commit(Change::FailPasswordCheck {
            user_id: u1.clone(),
            failed_attempts: 1,
            locks: false,
            events: vec![event("u1", 2, failed, "o1", now)],
        })
        .await
        .unwrap();
    let changed = Event::PasswordChanged {
        change_required: false,
        verified_by: "admin".into(),
    };
    store
        .commit(Change::SetPassword {
            user_id: u1.clone(),
            consumes_code: None,
            password_hash: "$argon2id$new".into(),
            change_required: false,
            event: event("u1", 3, changed, "o1", now),
            message: None,
        })
        .await
        .unwrap();
    let session = store.session("s1").await.unwrap().unwrap();
    assert_eq!(
        session.password_checked_at, None,
        "the password factor is gone"
    );
    assert!(session.user.is_some(), "the user factor stays");
    assert_eq!(
        session.sequence, 3,
        "the session's own events are untouched"
    );
    let user = store.user(&u1).await.unwrap().unwrap();
    assert_eq!(
        (user.state, user.failed_password_attempts),
        (UserState::Active, 0),
        "the count starts again; a new password does not unlock (it was not locked here)"
    );
}

async fn login_names_ignore_case_and_deleted_users(store: &impl Contract) {
    ada_in_acme(store).await;
    let found = store.users_by_login_name("ADA").await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u1"]
    );
    assert!(store.users_by_login_name("ad").await.unwrap().is_empty());
    store.commit(org("o2", "globex")).await.unwrap();
    store
        .commit(add_user(&human("u2", "o2", "Ada")))
        .await
        .unwrap();
    store
        .commit(add_user(&User {
            state: UserState::Deleted,
            ..human("u3", "o2", "ada")
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found = store.users_by_login_name("ada").await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u1", "u2"],
        "two organizations, the deleted one left out"
    );
}

async fn a_unit_given_back_is_taken_again(store: &Store) {
    let now = at("2026-01-01T00:00:00Z");
    let key = BudgetKey::new(
        "wrong_passwords",
        "u1|ip",
        Budget::new(1, TimeDelta::minutes(10)),
    );
    let one = std::slice::from_ref(&key);
    assert_eq!(store.take(one, now).await.unwrap(), Verdict::Allowed);
    assert!(matches!(
        store.take(one, now).await.unwrap(),
        Verdict::Refused { .. }
    ));
    store.give_back(one).await.unwrap();
    assert_eq!(
        store.take(one, now).await.unwrap(),
        Verdict::Allowed,
        "given back"
    );
    store.give_back(one).await.unwrap();
    store.give_back(one).await.unwrap();
    assert_eq!(store.take(one, now).await.unwrap(), Verdict::Allowed);
    assert!(
        matches!(store.take(one, now).await.unwrap(), Verdict::Refused { .. }),
        "giving back twice never holds more than the budget"
    );
}

/// A delivery is queued for every target that takes an event, in the event's transaction, and
/// claimed until it is recorded as sent (or failed for good).
async fn events_are_queued_with_their_event_for_each_target(store: &Store) {
    use rekey_application::ports::{EventOutbox as _, EventRoutes};
    let routes = EventRoutes::new(vec![
        ("t1".into(), vec!["user.human.password.changed".into()]),
        ("t2".into(), vec!["user.human.password.*".into()]),
    ]);
    let store = store.clone().with_event_routes(routes);
    ada_in_acme(&store).await;
    store
        .commit(code_change("u1", 2, "h2", false))
        .await
        .unwrap();
    let now = at("2026-01-01T01:30:00Z");
    let changed = Event::PasswordChanged {
        change_required: false,
        verified_by: "code".into(),
    };
    store
        .commit(Change::SetPassword {
            user_id: "u1".parse().unwrap(),
            consumes_code: Some(2),
            password_hash: "$argon2id$new".into(),
            change_required: false,
            event: event("u1", 3, changed, "o1", now),
            message: None,
        })
        .await
        .unwrap();
    let lease = TimeDelta::seconds(10);
    let mut claimed = store.claim_events(now, lease, 10).await.unwrap();
    claimed.sort_by(|a, b| (&a.target, a.event.sequence).cmp(&(&b.target, b.event.sequence)));
    let seen: Vec<_> = claimed
        .iter()
        .map(|d| (d.target.as_str(), d.event.event_type.as_str(), d.attempts))
        .collect();
    assert_eq!(
        seen,
        [
            ("t1", "user.human.password.changed", 1),
            ("t2", "user.human.password.code.added", 1),
            ("t2", "user.human.password.changed", 1),
        ],
        "the org and user events go nowhere; the code's goes to the group"
    );
    let changed = &claimed[0];
    assert_eq!(
        changed.event.payload,
        r#"{"change_required":false,"verified_by":"code"}"#
    );
    assert_eq!((changed.event.sequence, changed.event.created_at), (3, now));
    assert!(
        store.claim_events(now, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    store.event_sent(&claimed[0].id, now).await.unwrap();
    store
        .event_failed(
            &claimed[1].id,
            Some(now + TimeDelta::minutes(1)),
            "HTTP 500",
        )
        .await
        .unwrap();
    store
        .event_failed(&claimed[2].id, None, "HTTP 400")
        .await
        .unwrap();
    let later = now + TimeDelta::minutes(5);
    let again = store.claim_events(later, lease, 10).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|d| (d.id.as_str(), d.attempts))
            .collect::<Vec<_>>(),
        [(claimed[1].id.as_str(), 2)],
        "only the one to retry; the sent and the dead one never again"
    );
    let week_later = now + TimeDelta::days(7);
    assert_eq!(
        store
            .prune(Prunable::EndedEvents, week_later, 100)
            .await
            .unwrap(),
        2,
        "the sent and the dead delivery go; the pending one stays"
    );
    assert_eq!(
        store
            .claim_events(week_later, lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn deactivation_ends_sessions_and_deletion_leaves_no_personal_data(store: &impl Contract) {
    ada_in_acme(store).await;
    let u1: rekey_domain::UserId = "u1".parse().unwrap();
    let now = at("2026-01-01T02:00:00Z");
    store
        .commit(Change::SaveSession {
            events: session_events("s1", 1, 3, now),
            session: session_of_u1("s1", "login", now, true),
            password_checked: None,
        })
        .await
        .unwrap();
    store
        .commit(Change::SetUserState {
            state: UserState::Inactive,
            event: event("u1", 2, Event::UserDeactivated {}, "o1", now),
        })
        .await
        .unwrap();
    assert_eq!(
        store.user(&u1).await.unwrap().map(|u| u.state),
        Some(UserState::Inactive)
    );
    assert_eq!(
        store.session("s1").await.unwrap(),
        None,
        "deactivation ends sessions"
    );
    assert_eq!(
        store
            .commit(Change::SetUserState {
                state: UserState::Active,
                event: event("u1", 2, Event::UserReactivated {}, "o1", now),
            })
            .await,
        Err(StoreError::Conflict),
        "stale"
    );
    store
        .commit(Change::SetUserState {
            state: UserState::Active,
            event: event("u1", 3, Event::UserReactivated {}, "o1", now),
        })
        .await
        .unwrap();

    store
        .commit(code_change("u1", 4, "h4", true))
        .await
        .unwrap();
    store
        .commit(Change::RemoveUser {
            event: event("u1", 5, Event::UserRemoved {}, "o1", now),
        })
        .await
        .unwrap();
    assert_eq!(store.user(&u1).await.unwrap(), None);
    assert_eq!(store.password_code(&u1).await.unwrap(), None);
    let counts = store.counts().await;
    assert_eq!((counts.users, counts.outbox), (0, 0), "{counts:?}");
    assert_eq!(
        counts.events,
        1 + 5 + 3,
        "the org's, the user's and the session's events stay"
    );
}
