//! Diesel's view of the tables in `migrations/`, written by hand in portable SQL types
//! (`Text`, `BigInt`, `Integer`, `Bool`, `Timestamp`, `Binary`) so that one query text
//! compiles for PostgreSQL and SQLite alike.

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        sequence -> BigInt,
        created_at -> Timestamp,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        username -> Text,
        state -> Text,
        sequence -> BigInt,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
        phone -> Nullable<Text>,
        phone_verified -> Bool,
        machine_name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        password_change_required -> Bool,
        password_changed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        changed_at -> Timestamp,
        failed_password_attempts -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        sequence -> BigInt,
        creator -> Text,
        user_id -> Nullable<Text>,
        user_org_id -> Nullable<Text>,
        user_checked_at -> Nullable<Timestamp>,
        password_checked_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        user_agent -> Text,
        metadata -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    events (aggregate_id, sequence) {
        aggregate_id -> Text,
        sequence -> BigInt,
        aggregate_type -> Text,
        event_type -> Text,
        payload -> Text,
        resource_owner -> Text,
        creator -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    password_codes (user_id) {
        user_id -> Text,
        code_hash -> Text,
        key_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        sequence -> BigInt,
        failed_attempts -> Integer,
        notification_type -> Nullable<Text>,
        url_template -> Nullable<Text>,
        returned -> Bool,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        org_id -> Text,
        roles -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        user_id -> Text,
        channel -> Text,
        recipient_masked -> Text,
        key_id -> Text,
        payload -> Nullable<Binary>,
        code_sequence -> BigInt,
        idempotency_key -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        trace_context -> Nullable<Text>,
    }
}

diesel::table! {
    event_deliveries (id) {
        id -> Text,
        target -> Text,
        aggregate_id -> Text,
        sequence -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(users -> organizations (org_id));
diesel::joinable!(password_codes -> users (user_id));
diesel::joinable!(outbox -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    users,
    events,
    password_codes,
    tokens,
    outbox,
    sessions,
    event_deliveries,
);
