//! The data-growth scenario: the bench database grown to a million users and ten million events
//! directly in SQL (the API would take hours), so the reset scenarios can run again on it and
//! show whether a request's cost stays flat as the data grows.

use std::time::Instant;

use serde_json::{Value, json};

use super::psql;

/// The tables a reset writes to, with their sizes and row estimates, as JSON rows.
pub fn sizes(url: &str, when: &str) -> Result<Vec<Value>, String> {
    let text = psql(
        url,
        "SELECT string_agg(format('%s|%s|%s|%s', c.relname, pg_table_size(c.oid), \
         pg_indexes_size(c.oid), c.reltuples::bigint), ';' ORDER BY c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
         AND c.relname IN ('users', 'events', 'password_codes', 'outbox', 'rate_limits', 'tokens')",
    )?;
    Ok(text
        .split(';')
        .filter_map(|row| {
            let mut fields = row.split('|');
            let table = fields.next()?;
            let number = |f: Option<&str>| f.and_then(|v| v.trim().parse::<i64>().ok());
            Some(json!({
                "when": when,
                "table": table,
                "table_bytes": number(fields.next())?,
                "index_bytes": number(fields.next())?,
                "rows": number(fields.next())?.max(0),
            }))
        })
        .collect())
}

/// Adds users `bench-{from}` … `bench-{to - 1}` (copies of `bench-0` with their own names and
/// addresses) and `events_per_user` events for each (copies of `bench-0`'s first event), in
/// chunks of 50 000 users; then VACUUM ANALYZE and a CHECKPOINT, as a long-running database
/// would be.
pub fn grow(url: &str, from: usize, to: usize, events_per_user: usize) -> Result<(), String> {
    let started = Instant::now();
    let chunk = 50_000;
    let mut first = from;
    while first < to {
        let last = (first + chunk).min(to) - 1;
        psql(
            url,
            &format!(
                "INSERT INTO users (id, org_id, kind, username, state, sequence, given_name, \
                 family_name, display_name, preferred_language, email, email_verified, phone, \
                 phone_verified, machine_name, password_hash, password_change_required, \
                 password_changed_at, created_at, changed_at) \
                 SELECT 'bench-' || i, t.org_id, t.kind, 'bench-' || i, t.state, {events_per_user}, \
                 t.given_name, 'User ' || i, 'Bench User ' || i, t.preferred_language, \
                 'bench-' || i || '@example.com', t.email_verified, t.phone, t.phone_verified, \
                 t.machine_name, t.password_hash, t.password_change_required, \
                 t.password_changed_at, t.created_at, t.changed_at \
                 FROM users t, generate_series({first}, {last}) AS i WHERE t.id = 'bench-0'"
            ),
        )?;
        psql(
            url,
            &format!(
                "INSERT INTO events (aggregate_id, sequence, aggregate_type, event_type, payload, \
                 resource_owner, creator, created_at) \
                 SELECT 'bench-' || i, s, e.aggregate_type, e.event_type, e.payload, \
                 e.resource_owner, e.creator, e.created_at + make_interval(secs => s) \
                 FROM events e, generate_series({first}, {last}) AS i, \
                 generate_series(1, {events_per_user}) AS s \
                 WHERE e.aggregate_id = 'bench-0' AND e.sequence = 1"
            ),
        )?;
        println!(
            "    grown to {} users ({:.0} s)",
            last + 1,
            started.elapsed().as_secs_f64()
        );
        first = last + 1;
    }
    psql(url, "VACUUM ANALYZE users, events")?;
    // A database that grew over months has long been checkpointed; one that grew a minute
    // ago still has gigabytes to write back, and every page a reset then touches first goes
    // whole into the WAL. Without this the scenarios after the growth measured that
    // checkpoint (10 × the WAL per reset, 12–14 % lower throughput), not the data's size.
    psql(url, "CHECKPOINT")?;
    Ok(())
}
