//! Events to other systems, as ZITADEL's Actions v2 sends them: each configured target gets a
//! POST of the event in ZITADEL's body (`ContextInfoEvent`), signed with the target's key.
//!
//! Beyond ZITADEL, which tries once: a delivery is queued in the transaction that records the
//! event, and tried again with the outbox's backoff until `delivery.max_attempts`, so a target
//! that is down for a while still gets every event, once per success. And no body carries a
//! password hash: rekey's events have no field for one (ZITADEL's `password.changed` payload
//! holds `encodedHash`).

use chrono::SecondsFormat;
use serde_json::{Value, json};
use tracing::instrument;

use crate::Failure;
use crate::ports::{Clock, DeliveryPorts, EventOutbox, EventSender, StoredEvent};

/// The body a target receives for `event` (ZITADEL's `ContextInfoEvent`, keys `omitempty`):
/// `sequence` is a JSON number here, and `event_payload` the event's stored payload.
///
/// # Errors
/// [`Failure::Unexpected`] when the stored payload is not JSON.
pub fn body(event: &StoredEvent, instance_id: &str) -> Result<Vec<u8>, Failure> {
    let payload: Value = serde_json::from_str(&event.payload)
        .map_err(|e| Failure::Unexpected(format!("a stored event payload is not JSON: {e}")))?;
    let version = if event.aggregate_type == "user" {
        "v2"
    } else {
        "v1"
    };
    let mut body = json!({
        "aggregateID": event.aggregate_id,
        "aggregateType": event.aggregate_type,
        "resourceOwner": event.resource_owner,
        "instanceID": instance_id,
        "version": version,
        "sequence": event.sequence,
        "event_type": event.event_type,
        "created_at": event.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        "userID": event.creator,
    });
    if payload.as_object().is_some_and(|fields| !fields.is_empty()) {
        body["event_payload"] = payload;
    }
    serde_json::to_vec(&body).map_err(|e| Failure::Unexpected(format!("an event body: {e}")))
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Posted and accepted.
    pub sent: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Failed for good.
    pub dead: usize,
}

/// Claims the due deliveries and posts each to its target, one after the other (ZITADEL
/// calls targets in order too), recording each outcome.
///
/// # Errors
/// [`Failure`] when the queue cannot be read or updated; a failed post is not an error (it is
/// recorded on its delivery).
#[instrument(skip_all)]
pub async fn deliver_events<P: DeliveryPorts>(ports: &P) -> Result<EventReport, Failure> {
    let policy = ports.delivery();
    let now = ports.clock().now();
    let claimed = ports
        .events()
        .claim_events(now, policy.lease, policy.batch_size)
        .await?;
    let mut report = EventReport {
        claimed: claimed.len(),
        ..EventReport::default()
    };
    for delivery in claimed {
        let posted = match body(&delivery.event, ports.instance_id()) {
            Ok(body) => ports.hooks().post(&delivery.target, &body).await,
            Err(failure) => Err(crate::ports::SendError {
                retryable: false,
                reason: failure.to_string(),
            }),
        };
        let event_type = delivery.event.event_type.as_str();
        match posted {
            Ok(()) => {
                ports
                    .events()
                    .event_sent(&delivery.id, ports.clock().now())
                    .await?;
                metrics::counter!("rekey_event_deliveries_total", "outcome" => "sent").increment(1);
                tracing::info!(target_id = %delivery.target, event_type, "event delivered");
                report.sent += 1;
            }
            Err(error) => {
                let next = (error.retryable && delivery.attempts < policy.max_attempts)
                    .then(|| now + super::deliver::backoff(ports, delivery.attempts));
                let outcome = if next.is_some() { "retry" } else { "dead" };
                metrics::counter!("rekey_event_deliveries_total", "outcome" => outcome)
                    .increment(1);
                tracing::warn!(
                    target_id = %delivery.target,
                    event_type,
                    attempts = delivery.attempts,
                    error = %error.reason,
                    outcome,
                    "event delivery failed"
                );
                ports
                    .events()
                    .event_failed(&delivery.id, next, &error.reason)
                    .await?;
                if next.is_some() {
                    report.retried += 1;
                } else {
                    report.dead += 1;
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::ports::SendError;
    use crate::usecase::fakes::Fake;

    fn changed(at: DateTime<Utc>) -> StoredEvent {
        StoredEvent {
            aggregate_id: "u1".into(),
            aggregate_type: "user".into(),
            sequence: 7,
            event_type: "user.human.password.changed".into(),
            payload: r#"{"change_required":false,"verified_by":"code"}"#.into(),
            resource_owner: "o1".into(),
            creator: "login".into(),
            created_at: at,
        }
    }

    #[test]
    fn the_body_is_zitadels_context_info_event() {
        let at: DateTime<Utc> = "2026-01-01T00:00:00.123456789Z".parse().expect("time");
        let body: Value =
            serde_json::from_slice(&body(&changed(at), "rekey").expect("body")).expect("JSON");
        assert_eq!(
            body,
            json!({
                "aggregateID": "u1",
                "aggregateType": "user",
                "resourceOwner": "o1",
                "instanceID": "rekey",
                "version": "v2",
                "sequence": 7,
                "event_type": "user.human.password.changed",
                "created_at": "2026-01-01T00:00:00.123456789Z",
                "userID": "login",
                "event_payload": {"change_required": false, "verified_by": "code"},
            })
        );
    }

    #[test]
    fn routes_match_exact_types_groups_and_everything() {
        use crate::ports::EventRoutes;
        let routes = EventRoutes::new(vec![
            ("exact".into(), vec!["user.human.password.changed".into()]),
            ("group".into(), vec!["user.human.password.*".into()]),
            ("all".into(), vec!["*".into()]),
            ("locks".into(), vec!["user.locked".into()]),
        ]);
        let targets = |t: &str| routes.targets_of(t).collect::<Vec<_>>();
        assert_eq!(
            targets("user.human.password.changed"),
            ["exact", "group", "all"]
        );
        assert_eq!(targets("user.human.password.code.added"), ["group", "all"]);
        assert_eq!(targets("session.added"), ["all"]);
        assert_eq!(targets("user.locked"), ["all", "locks"]);
        assert!(!EventRoutes::default().wants("user.locked"));
    }

    #[tokio::test]
    async fn a_failed_post_is_tried_again_later_and_a_refused_one_is_dead() {
        let fake = Fake::new();
        let now = fake.now();
        fake.queue_event("t1", changed(now));
        fake.queue_event("t2", changed(now));
        fake.fail_next_posts_with(vec![
            SendError {
                retryable: true,
                reason: "HTTP 500".into(),
            },
            SendError {
                retryable: false,
                reason: "HTTP 400".into(),
            },
        ]);
        let report = deliver_events(&fake).await.expect("a round");
        assert_eq!(
            report,
            EventReport {
                claimed: 2,
                sent: 0,
                retried: 1,
                dead: 1
            }
        );
        assert!(
            deliver_events(&fake).await.expect("a round").claimed == 0,
            "not due yet"
        );
        fake.advance(TimeDelta::minutes(10));
        let report = deliver_events(&fake).await.expect("a round");
        assert_eq!((report.claimed, report.sent), (1, 1));
        let posted = fake.posted();
        assert_eq!(posted.len(), 1);
        assert_eq!(posted[0].0, "t1");
        assert!(
            !String::from_utf8_lossy(&posted[0].1).contains("$argon2"),
            "no hash"
        );
    }
}
