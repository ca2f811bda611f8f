//! Delivery: claim due outbox messages, drop the ones whose code was superseded or expired,
//! render and send the rest, and record each outcome (sent, retry later, dead).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rekey_domain::{NotificationType, UserId};
use tracing::{Instrument as _, instrument};

use crate::ports::{
    ClaimedMessage, Clock, CurrentCode, DeliveryPorts, EmailMessage, EmailSender, Jitter, LinkData,
    LinkRenderer, MessageData, MessageRenderer, OutboxStore, SecretBox, SendError, SentEvent,
    SkipReason, SmsMessage, SmsSender,
};
use crate::{Failure, ResetMessagePayload};

/// The kind of the "your password was changed" notice.
pub const PASSWORD_CHANGED: &str = "password_changed";

/// The kind of a reset-link message.
pub const PASSWORD_RESET: &str = "password_reset";

/// Where the password-changed notice points: the login, relative to the public URL.
pub const LOGIN_PATH: &str = "/ui/v2/login";

/// ZITADEL's default link, relative to the public URL.
pub const DEFAULT_LINK_PATH: &str =
    "/ui/v2/login/password/set?code={{.Code}}&organization={{.OrgID}}&userId={{.UserID}}";

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Messages claimed.
    pub claimed: usize,
    /// Delivered.
    pub sent: usize,
    /// Not sent: superseded or expired code.
    pub skipped: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Failed for good.
    pub dead: usize,
}

/// The outcome of one message that was due to be sent.
#[derive(Debug)]
enum Outcome {
    /// Sent; recorded with the batch's other sent messages.
    Sent(Box<(ClaimedMessage, SentEvent)>),
    Retried,
    Dead,
}

/// Claims one batch of due messages and delivers it, with few round trips to the store: one
/// claim, one look-up of the users' current codes, one update for the skipped messages, the
/// sends (concurrently), and one transaction that records every sent message.
///
/// # Errors
/// [`Failure`] when the outbox cannot be read or updated; a failed send is not an error (it
/// is recorded on its message).
#[instrument(skip_all)]
pub async fn deliver_due<P: DeliveryPorts>(ports: &P) -> Result<BatchReport, Failure> {
    let policy = ports.delivery();
    let outbox = ports.outbox();
    let now = ports.clock().now();
    let leased_until = lease_end(now, policy.lease);
    let claimed = outbox
        .claim_due(now, leased_until - now, policy.batch_size)
        .await?;
    let mut report = BatchReport {
        claimed: claimed.len(),
        ..BatchReport::default()
    };

    // A reset link is worth sending only while its code is the user's current one; a notice
    // of a changed password always is.
    let links: Vec<UserId> = claimed
        .iter()
        .filter(|m| m.kind != PASSWORD_CHANGED)
        .map(|m| m.user_id.clone())
        .collect();
    let codes: HashMap<UserId, CurrentCode> = if links.is_empty() {
        HashMap::new()
    } else {
        outbox.current_codes(&links).await?.into_iter().collect()
    };
    let mut skipped = Vec::new();
    let mut due = Vec::with_capacity(claimed.len());
    for message in claimed {
        let skip = if message.kind == PASSWORD_CHANGED {
            None
        } else {
            skip_reason(codes.get(&message.user_id).copied(), &message, now)
        };
        match skip {
            Some(reason) => skipped.push((message, reason)),
            None => due.push(message),
        }
    }
    if !skipped.is_empty() {
        let marks: Vec<(&str, SkipReason)> = skipped
            .iter()
            .map(|(m, reason)| (m.id.as_str(), *reason))
            .collect();
        outbox.mark_skipped(&marks).await?;
        for (message, reason) in &skipped {
            count(message.channel, "skipped");
            tracing::info!(message.id = %message.id, channel = message.channel.as_str(), recipient = %message.recipient_masked, reason = reason.as_str(), "message skipped");
        }
        report.skipped = skipped.len();
    }

    let outcomes = send_leased(ports, now, leased_until, due).await;
    let mut sent = Vec::new();
    let mut failure = None;
    for (channel, outcome) in outcomes {
        match outcome {
            Ok(Outcome::Sent(done)) => sent.push(*done),
            Ok(Outcome::Retried) => {
                count(channel, "retry");
                report.retried += 1;
            }
            Ok(Outcome::Dead) => {
                count(channel, "dead");
                report.dead += 1;
            }
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    // Record what was sent even when recording another message failed: unrecorded, these
    // would be sent again once their lease runs out.
    if !sent.is_empty() {
        let marks: Vec<(&str, SentEvent)> = sent
            .iter()
            .map(|(message, event)| (message.id.as_str(), event.clone()))
            .collect();
        outbox.mark_sent(&marks).await?;
        for (message, _) in &sent {
            count(message.channel, "sent");
            tracing::info!(message.id = %message.id, channel = message.channel.as_str(), recipient = %message.recipient_masked, attempt = message.attempts, "message sent");
        }
        report.sent = sent.len();
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// `now + lease` to the microsecond: a claim's lease end is compared exactly when it is
/// renewed, and PostgreSQL keeps microseconds.
fn lease_end(now: DateTime<Utc>, lease: TimeDelta) -> DateTime<Utc> {
    let end = now + lease;
    DateTime::from_timestamp_micros(end.timestamp_micros()).unwrap_or(end)
}

/// `delta` as a wait, zero when it is not positive.
fn wait(delta: TimeDelta) -> std::time::Duration {
    delta.to_std().unwrap_or_default()
}

/// Sends `due` concurrently and keeps the batch's claim while it does. Every third of the
/// lease, counted from the claim at `claimed_at`, it renews the lease of the messages still
/// sending or sent but not yet recorded, so a send slower than the lease (a slow SMTP relay)
/// is not claimed and sent again by another worker meanwhile, while a crashed worker's claims
/// are due again one lease after its last renewal.
///
/// The sends do no database work: their outcomes (retry, dead) are recorded here, one at a
/// time with the renewals, so a renewal never waits for a send that is not being polled, and
/// never finds a message this worker has just ended.
///
/// Keeping the claim is best effort, as any lease: a message whose lease ran out before its
/// send begins is not sent; when a renewal shows another worker has claimed a message (it
/// came too late), or cannot be made before the lease runs out, the sends concerned are
/// dropped. A relay may have accepted a dropped send already; then the message goes out
/// twice, with one `Message-ID`.
async fn send_leased<P: DeliveryPorts>(
    ports: &P,
    claimed_at: DateTime<Utc>,
    mut leased_until: DateTime<Utc>,
    due: Vec<ClaimedMessage>,
) -> Vec<(NotificationType, Result<Outcome, Failure>)> {
    use futures_util::StreamExt as _;
    use futures_util::future::{AbortHandle, Either, abortable, select};

    let lease = ports.delivery().lease;
    let third = lease / 3;
    let clock = ports.clock();
    if clock.now() >= leased_until {
        tracing::warn!(
            messages = due.len(),
            "the delivery lease ran out before sending began; leaving the batch to the next claim"
        );
        return Vec::new();
    }
    let mut unrecorded: Vec<(String, AbortHandle)> = Vec::with_capacity(due.len());
    let mut sends = futures_util::stream::FuturesUnordered::new();
    for message in due {
        let id = message.id.clone();
        // Each attempt is its own span, in the trace of the request that queued the message.
        let span = tracing::info_span!(
            parent: None,
            "deliver",
            message.id = %message.id,
            message.kind = message.kind,
            channel = message.channel.as_str(),
            attempt = message.attempts,
        );
        if let Some(traceparent) = &message.trace_context {
            ports.join_trace(&span, traceparent);
        }
        let (send, handle) = abortable(
            async move {
                let attempted = attempt(ports, &message).await;
                (message, attempted)
            }
            .instrument(span),
        );
        unrecorded.push((id, handle));
        sends.push(send);
    }
    let mut outcomes = Vec::with_capacity(unrecorded.len());
    let mut next_beat = claimed_at + third;
    loop {
        let beat = ports.sleep(wait(next_beat - clock.now()));
        match select(sends.next(), std::pin::pin!(beat)).await {
            Either::Left((None, _)) => break,
            Either::Left((Some(Err(_aborted)), _)) => {}
            Either::Left((Some(Ok((message, attempted))), _)) => {
                let channel = message.channel;
                let id = message.id.clone();
                let outcome = record(ports, message, attempted).await;
                // A sent message stays leased until the batch is recorded; the others are
                // recorded now (retry, dead) or not at all (a failure).
                if !matches!(outcome, Ok(Outcome::Sent(_))) {
                    unrecorded.retain(|(m, _)| *m != id);
                }
                outcomes.push((channel, outcome));
            }
            Either::Right(((), _)) => {
                let now = clock.now();
                let until = lease_end(now, lease);
                // The renewal must answer while the lease holds, with a margin.
                let patience = leased_until - now - third / 2;
                let answer = if patience > TimeDelta::zero() {
                    let ids: Vec<&str> = unrecorded.iter().map(|(id, _)| id.as_str()).collect();
                    let renewal = ports.outbox().renew(&ids, leased_until, until);
                    match select(
                        std::pin::pin!(renewal),
                        std::pin::pin!(ports.sleep(wait(patience))),
                    )
                    .await
                    {
                        Either::Left((answer, _)) => Some(answer),
                        Either::Right(_) => None,
                    }
                } else {
                    None
                };
                match answer {
                    Some(Ok(renewed)) => {
                        let lost: Vec<String> = unrecorded
                            .iter()
                            .filter(|(id, _)| !renewed.contains(id))
                            .map(|(id, _)| id.clone())
                            .collect();
                        if !lost.is_empty() {
                            tracing::warn!(
                                lost = lost.len(),
                                "delivery lease lost: another worker claimed a message; stopping its send"
                            );
                            for (id, handle) in &unrecorded {
                                if lost.contains(id) {
                                    handle.abort();
                                }
                            }
                            // A lost message already sent is still recorded as sent: then the
                            // other worker's next renewal finds it ended and stops its send.
                            unrecorded.retain(|(id, _)| !lost.contains(id));
                        }
                        leased_until = until;
                        next_beat = now + third;
                    }
                    Some(Err(failure)) => {
                        tracing::warn!(%failure, "cannot renew the delivery lease; trying again");
                        next_beat = now + third / 4;
                    }
                    None => {
                        tracing::warn!(
                            in_flight = sends.len(),
                            "cannot renew the delivery lease before it runs out; stopping this batch's sends"
                        );
                        for (_, handle) in &unrecorded {
                            handle.abort();
                        }
                        break;
                    }
                }
            }
        }
    }
    outcomes
}

/// `rekey_deliveries_total{channel, result}`.
fn count(channel: NotificationType, result: &'static str) {
    let channel = match channel {
        NotificationType::Email => "email",
        NotificationType::Sms => "sms",
    };
    metrics::counter!("rekey_deliveries_total", "channel" => channel, "result" => result)
        .increment(1);
}

/// The wait before attempt `attempts + 1`: full jitter over an exponential backoff,
/// uniform in `[0, min(max, base · 2^(attempts-1)))`, for messages and event deliveries alike.
pub(crate) fn backoff<P: DeliveryPorts>(ports: &P, attempts: i32) -> TimeDelta {
    let policy = ports.delivery();
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = policy
        .backoff_base
        .checked_mul(1_i32 << doublings.min(30))
        .map_or(policy.backoff_max, |d| d.min(policy.backoff_max));
    ports.jitter().below(cap)
}

fn skip_reason(
    current: Option<CurrentCode>,
    message: &ClaimedMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<SkipReason> {
    match current {
        None => Some(SkipReason::Expired),
        Some(code) if code.sequence != message.code_sequence => Some(SkipReason::Superseded),
        Some(code) if code.expires_at <= now => Some(SkipReason::Expired),
        Some(_) => None,
    }
}

/// What one send came to, before it is recorded.
enum Attempted {
    /// Delivered.
    Sent(Box<SentEvent>),
    /// The transport failed or refused.
    Failed(SendError),
    /// The message can never be delivered (its payload or a template), with the reason.
    Undeliverable(String),
}

/// Renders and sends one message; no database work (see [`send_leased`]).
async fn attempt<P: DeliveryPorts>(
    ports: &P,
    message: &ClaimedMessage,
) -> Result<Attempted, Failure> {
    let (payload, rendered) = match prepare(ports, message) {
        Ok(ready) => ready,
        Err(reason) => return Ok(Attempted::Undeliverable(reason)),
    };
    let sent = match message.channel {
        NotificationType::Email => {
            let email = EmailMessage {
                to: payload.recipient.clone(),
                subject: rendered.subject,
                html: rendered.html,
                text: rendered.text,
                message_id: message.idempotency_key.clone(),
                template_data: rendered.template_data,
            };
            ports.email().send(&email).await
        }
        NotificationType::Sms => {
            let sms = SmsMessage {
                to: payload.recipient.clone(),
                body: rendered.sms,
                message_id: message.idempotency_key.clone(),
            };
            ports.sms().send(&sms).await
        }
    };
    if let Err(error) = sent {
        return Ok(Attempted::Failed(error));
    }
    Ok(Attempted::Sent(Box::new(SentEvent {
        user_id: message.user_id.clone(),
        org_id: payload
            .org_id
            .clone()
            .try_into()
            .map_err(|e| Failure::Unexpected(format!("payload org id: {e}")))?,
        event: if message.kind == PASSWORD_CHANGED {
            rekey_domain::Event::PasswordChangeSent {
                channel: message.channel,
            }
        } else {
            rekey_domain::Event::PasswordCodeSent {
                channel: message.channel,
                code_sequence: message.code_sequence,
            }
        },
        at: ports.clock().now(),
    })))
}

/// Records what became of one attempt: a failure to retry later or a dead message now; a sent
/// one with its batch (see [`deliver_due`]).
async fn record<P: DeliveryPorts>(
    ports: &P,
    message: ClaimedMessage,
    attempted: Result<Attempted, Failure>,
) -> Result<Outcome, Failure> {
    let outbox = ports.outbox();
    let channel = message.channel.as_str();
    let recipient = message.recipient_masked.as_str();
    match attempted? {
        Attempted::Sent(event) => Ok(Outcome::Sent(Box::new((message, *event)))),
        Attempted::Undeliverable(reason) => {
            outbox.mark_dead(&message.id, &reason).await?;
            tracing::error!(message.id = %message.id, channel, recipient, reason, "message cannot be delivered");
            Ok(Outcome::Dead)
        }
        Attempted::Failed(SendError { retryable, reason }) => {
            if retryable && message.attempts < ports.delivery().max_attempts {
                let at = ports.clock().now() + backoff(ports, message.attempts);
                outbox.mark_retry(&message.id, at, &reason).await?;
                tracing::warn!(message.id = %message.id, channel, recipient, attempt = message.attempts, %reason, next_attempt = %at, "send failed; will retry");
                Ok(Outcome::Retried)
            } else {
                outbox.mark_dead(&message.id, &reason).await?;
                tracing::error!(message.id = %message.id, channel, recipient, attempt = message.attempts, %reason, "send failed; message is dead");
                Ok(Outcome::Dead)
            }
        }
    }
}

/// Opens the payload and renders the link and the message; `Err` with a reason for a message
/// that can never be delivered.
fn prepare<P: DeliveryPorts>(
    ports: &P,
    message: &ClaimedMessage,
) -> Result<(ResetMessagePayload, crate::ports::RenderedMessage), String> {
    let sealed = message.payload.as_ref().ok_or("the payload is gone")?;
    let plain = ports
        .sealer()
        .open(
            sealed,
            &crate::sealing_context(&message.id, &message.user_id),
        )
        .map_err(|_| format!("the payload cannot be opened (key {})", sealed.key_id.0))?;
    let payload: ResetMessagePayload =
        serde_json::from_slice(&plain).map_err(|e| format!("the payload is malformed: {e}"))?;
    let base = ports.delivery().public_url.trim_end_matches('/');
    if message.kind == PASSWORD_CHANGED {
        let login = format!("{base}{LOGIN_PATH}");
        let rendered = ports
            .messages()
            .password_changed(&MessageData {
                language: payload.language.as_deref(),
                display_name: &payload.display_name,
                username: &payload.username,
                code: "",
                link: &login,
            })
            .map_err(|e| format!("the message does not render: {e}"))?;
        return Ok((payload, rendered));
    }
    let default_link;
    let template = match &payload.url_template {
        Some(template) => template.as_str(),
        None => {
            default_link = format!("{base}{DEFAULT_LINK_PATH}");
            default_link.as_str()
        }
    };
    let data = LinkData {
        user_id: &payload.user_id,
        org_id: &payload.org_id,
        code: &payload.code,
    };
    let link = ports
        .links()
        .render(template, &data)
        .map_err(|e| format!("the link does not render: {e}"))?;
    let rendered = ports
        .messages()
        .password_reset(&MessageData {
            language: payload.language.as_deref(),
            display_name: &payload.display_name,
            username: &payload.username,
            code: &payload.code,
            link: &link,
        })
        .map_err(|e| format!("the message does not render: {e}"))?;
    Ok((payload, rendered))
}

#[cfg(test)]
mod tests {
    use rekey_domain::{ResetMedium, Role, UrlTemplate, UserState};

    use super::*;
    use crate::usecase::fakes::{Fake, principal};
    use crate::usecase::password_reset;

    async fn reset(fake: &Fake, user: &str, medium: ResetMedium) -> i64 {
        let admin = principal("org1", &[Role::OrgUserManager]);
        let input = password_reset::Input {
            user_id: user.parse().expect("id"),
            medium,
        };
        password_reset::execute(fake, &admin, input)
            .await
            .expect("reset")
            .details
            .sequence
    }

    fn email() -> ResetMedium {
        ResetMedium::default()
    }

    fn failure(retryable: bool) -> SendError {
        SendError {
            retryable,
            reason: format!("provider said no (retryable: {retryable})"),
        }
    }

    #[tokio::test]
    async fn a_queued_link_is_rendered_sent_and_recorded() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let sequence = reset(&fake, &user, email()).await;
        let report = deliver_due(&fake).await.expect("batch");
        assert_eq!(
            report,
            BatchReport {
                claimed: 1,
                sent: 1,
                ..BatchReport::default()
            }
        );
        let sent = fake.emails();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "ada@example.com");
        let code = fake.open_payload(&fake.outbox()[0]).code;
        let link = format!(
            "https://id.example.com/ui/v2/login/password/set?code={code}&organization=org1&userId={user}"
        );
        assert!(sent[0].text.contains(&link), "{}", sent[0].text);
        assert_eq!(sent[0].message_id, fake.outbox()[0].idempotency_key);
        let delivery = fake.delivery_of(&fake.outbox()[0].id);
        assert_eq!(
            (delivery.status.as_str(), delivery.has_payload),
            ("sent", false)
        );
        let last = fake.events_of(&user).pop().expect("event");
        assert_eq!(last.event.event_type(), "user.human.password.code.sent");
        assert_eq!(last.sequence, sequence + 1);
        assert_eq!(
            deliver_due(&fake).await.expect("batch").claimed,
            0,
            "sent once"
        );
    }

    /// A send that takes two and a half leases keeps its claim: the lease is renewed while it
    /// runs, so no other claim gets the message, and it is sent once.
    #[tokio::test]
    async fn a_send_slower_than_the_lease_keeps_its_claim() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &user, email()).await;
        let lease = fake.delivery().lease;
        fake.slow_sends(lease * 5 / 2);
        let start = fake.now();
        let other_worker = async {
            while fake.now() < start + lease * 2 {
                tokio::task::yield_now().await;
            }
            fake.claim_due(fake.now(), lease, 10).await.expect("claim")
        };
        let (report, stolen) = tokio::join!(deliver_due(&fake), other_worker);
        assert!(stolen.is_empty(), "claimed again mid-send: {stolen:?}");
        assert_eq!(report.expect("batch").sent, 1);
        assert_eq!(fake.emails().len(), 1);
        assert_eq!(fake.delivery_of(&fake.outbox()[0].id).status, "sent");
    }

    /// When the lease cannot be renewed, the send is stopped before the lease runs out and the
    /// message stays pending for the next claim; nothing is sent.
    #[tokio::test]
    async fn a_lease_that_cannot_be_renewed_stops_the_send_in_time() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &user, email()).await;
        let lease = fake.delivery().lease;
        fake.slow_sends(lease * 5);
        fake.fail_renewals();
        let start = fake.now();
        let report = deliver_due(&fake).await.expect("batch");
        assert_eq!((report.claimed, report.sent), (1, 0));
        assert!(fake.now() < start + lease, "stopped within the lease");
        assert!(fake.emails().is_empty());
        let delivery = fake.delivery_of(&fake.outbox()[0].id);
        assert_eq!(
            (delivery.status.as_str(), delivery.next_attempt_at),
            ("pending", start + lease),
            "due again when the claim's lease ends"
        );
    }

    #[tokio::test]
    async fn sms_and_custom_templates() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, Some("+41791234567"));
        let medium = ResetMedium::SendLink {
            notification_type: NotificationType::Sms,
            url_template: Some(
                UrlTemplate::try_from("https://app/r?u={{.UserID}}&c={{.Code}}".to_owned())
                    .expect("len"),
            ),
        };
        reset(&fake, &user, medium).await;
        deliver_due(&fake).await.expect("batch");
        let sms = fake.sms();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].to, "+41791234567");
        let code = fake.open_payload(&fake.outbox()[0]).code;
        assert!(
            sms[0]
                .body
                .ends_with(&format!("https://app/r?u={user}&c={code}")),
            "{}",
            sms[0].body
        );
        assert!(fake.emails().is_empty());
    }

    #[tokio::test]
    async fn only_the_newest_code_is_sent_and_expired_ones_never() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &user, email()).await;
        reset(&fake, &user, email()).await;
        let report = deliver_due(&fake).await.expect("batch");
        assert_eq!((report.sent, report.skipped), (1, 1));
        let [old, new] = [&fake.outbox()[0], &fake.outbox()[1]];
        assert_eq!(
            fake.delivery_of(&old.id).last_error.as_deref(),
            Some("superseded")
        );
        assert!(!fake.delivery_of(&old.id).has_payload, "scrubbed");
        assert!(fake.emails()[0].text.contains(&fake.open_payload(new).code));

        let other = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &other, email()).await;
        fake.advance(TimeDelta::hours(2));
        let report = deliver_due(&fake).await.expect("batch");
        assert_eq!((report.sent, report.skipped), (0, 1));
        assert_eq!(
            fake.delivery_of(&fake.outbox()[2].id).last_error.as_deref(),
            Some("expired")
        );
    }

    #[tokio::test]
    async fn retryable_failures_back_off_then_deliver() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &user, email()).await;
        let id = fake.outbox()[0].id.clone();
        fake.fail_next_sends_with(vec![failure(true), failure(true)]);
        assert_eq!(deliver_due(&fake).await.expect("batch").retried, 1);
        let first = fake.delivery_of(&id);
        // attempt 1: jitter over [0, base) = 2 s; the fake's jitter takes half.
        assert_eq!(first.next_attempt_at, fake.now() + TimeDelta::seconds(1));
        assert_eq!(
            first.last_error.as_deref(),
            Some("provider said no (retryable: true)")
        );
        assert_eq!(
            deliver_due(&fake).await.expect("batch").claimed,
            0,
            "not due yet"
        );
        fake.advance(TimeDelta::seconds(1));
        assert_eq!(deliver_due(&fake).await.expect("batch").retried, 1);
        assert_eq!(
            fake.delivery_of(&id).next_attempt_at,
            fake.now() + TimeDelta::seconds(2),
            "doubled"
        );
        fake.advance(TimeDelta::seconds(2));
        assert_eq!(deliver_due(&fake).await.expect("batch").sent, 1);
        assert_eq!(fake.delivery_of(&id).attempts, 3);
    }

    #[tokio::test]
    async fn final_failures_and_exhausted_retries_are_dead() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &user, email()).await;
        fake.fail_next_sends_with(vec![failure(false)]);
        assert_eq!(deliver_due(&fake).await.expect("batch").dead, 1);
        let id = fake.outbox()[0].id.clone();
        let dead = fake.delivery_of(&id);
        assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1));
        assert_eq!(
            dead.last_error.as_deref(),
            Some("provider said no (retryable: false)")
        );
        assert!(dead.has_payload, "kept for a manual retry");

        assert!(fake.retry(&id, fake.now()).await.expect("retry"));
        fake.fail_next_sends_with(vec![failure(true); 3]);
        for _ in 0..3 {
            deliver_due(&fake).await.expect("batch");
            fake.advance(TimeDelta::minutes(10));
        }
        let dead = fake.delivery_of(&id);
        assert_eq!(
            (dead.status.as_str(), dead.attempts),
            ("dead", 3),
            "max_attempts is 3"
        );
        assert!(fake.emails().is_empty());
    }

    #[tokio::test]
    async fn a_changed_password_is_announced_by_email() {
        use crate::usecase::set_password;
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, Some("+41791234567"));
        let input = set_password::Input {
            user_id: user.parse().expect("id"),
            new_password: rekey_domain::Password::new("Kq7#vX2!mRt9"),
            change_required: false,
            verification: set_password::Verification::None,
        };
        let admin = principal("org1", &[Role::OrgUserManager]);
        set_password::execute(&fake, &admin, input)
            .await
            .expect("set");
        assert_eq!(deliver_due(&fake).await.expect("batch").sent, 1);
        let sent = fake.emails();
        assert_eq!(
            (sent.len(), sent[0].subject.as_str()),
            (1, "Password changed")
        );
        assert!(
            sent[0].text.contains("https://id.example.com/ui/v2/login"),
            "{}",
            sent[0].text
        );
        assert!(fake.sms().is_empty(), "the notice goes by email");
        let last = fake.events_of(&user).pop().expect("event");
        assert_eq!(last.event.event_type(), "user.human.password.change.sent");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let fake = Fake::new();
        let halves: Vec<i64> = (1..=12).map(|a| backoff(&fake, a).num_seconds()).collect();
        assert_eq!(
            halves,
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
        );
    }
}
