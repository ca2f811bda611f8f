//! PasswordReset: issue a reset code and either queue a link to the user or return the code.

use rekey_domain::{
    Details, Event, NotificationType, OrgId, Permission, PlainCode, Principal, Recipient,
    ResetMedium, Role, User, UserId, UserState,
};
use tracing::instrument;

use std::sync::atomic::{AtomicBool, Ordering};

use super::limits::{self, Concerning, Exhausted};
use super::{First, Step, commit_with_retry, details_of, fresh_id, new_event};
use crate::ports::{
    Change, Clock, CodeGenerator, CodeHasher, LinkRenderer, PasswordCode, Ports, SecretBox,
    TemplateError,
};
use crate::{Failure, OutboxMessage, ResetMessagePayload};

/// A PasswordReset request whose fields are already valid (CONTRACT.md §3, check 2).
#[derive(Debug, Clone)]
pub struct Input {
    /// The user to reset.
    pub user_id: UserId,
    /// Send a link, or return the code.
    pub medium: ResetMedium,
}

/// What PasswordReset answers.
#[derive(Debug, Clone)]
pub struct Output {
    /// Where the user aggregate stands after the change.
    pub details: Details,
    /// The code, for `returnCode` only.
    pub code: Option<PlainCode>,
}

/// Why PasswordReset refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Check 3: the url template does not parse or render.
    #[error(transparent)]
    InvalidTemplate(#[from] TemplateError),
    /// Check 4: no such user (or deleted, or a machine).
    #[error("User could not be found")]
    UserNotFound,
    /// Check 5: the user is in state Initial.
    #[error("User is not yet initialized")]
    UserNotInitialized,
    /// Check 6: the caller is neither the user nor holds `user.write` on its organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// A budget is spent (the caller's, the user's, the address's, or an SMS cap).
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    /// SMS to the user's country calling code is not allowed (`limits.sms.countries`).
    #[error("SMS to country code +{0} is not enabled on this service; use email")]
    SmsCountryNotAllowed(u16),
    /// The user has no address for the requested channel.
    #[error("User has no {} to send the link to", match .0 { NotificationType::Email => "email address", NotificationType::Sms => "phone number" })]
    NoRecipient(NotificationType),
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Runs PasswordReset for `caller`.
///
/// # Errors
/// [`Error`], in the check order of CONTRACT.md §3.
#[instrument(name = "password_reset", skip_all, fields(user.id = %input.user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
) -> Result<Output, Error> {
    if let ResetMedium::SendLink {
        url_template: Some(template),
        ..
    } = &input.medium
    {
        ports.links().validate(template)?;
    }
    let limits = &ports.policies().limits;
    let caller_keys = if caller.roles.contains(&Role::IamLoginClient) {
        limits::keys(
            "login_client",
            caller.user_id.as_str(),
            &limits.login_client_resets,
        )
    } else {
        limits::keys("caller", caller.user_id.as_str(), &limits.caller_resets)
    };
    let concerning = Concerning {
        user: Some(&caller.user_id),
        recipient_masked: None,
    };
    // The caller's budget first: without it, the caller learns nothing of the user. The user
    // is loaded with it (one round trip where the database allows).
    let user = limits::charge_and_load(ports, &caller_keys, concerning, &input.user_id).await??;
    // The send budgets are charged once, however many times a conflict makes us reload.
    let charged = AtomicBool::new(false);
    commit_with_retry(
        ports,
        &input.user_id,
        First::Loaded(user),
        |user: Option<User>| attempt(ports, caller, &input, &charged, user),
    )
    .await
}

/// One attempt: checks the freshly loaded `user` and builds the change that issues the code.
async fn attempt<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: &Input,
    charged: &AtomicBool,
    user: Option<User>,
) -> Result<Step<Output>, Error> {
    let user = user.ok_or(Error::UserNotFound)?;
    let profile = user.live_human().ok_or(Error::UserNotFound)?;
    if user.state == UserState::Initial {
        return Err(Error::UserNotInitialized);
    }
    if !caller.is_or_may(&user.id, Permission::UserWrite, &user.org_id) {
        return Err(Error::PermissionDenied);
    }
    let recipient = match &input.medium {
        ResetMedium::SendLink {
            notification_type, ..
        } => Some(
            profile
                .recipient(*notification_type)
                .ok_or(Error::NoRecipient(*notification_type))?,
        ),
        ResetMedium::ReturnCode => None,
    };
    if let Some(recipient) = &recipient
        && !charged.load(Ordering::Relaxed)
    {
        charge_send_budgets(ports, &user.id, &user.org_id, recipient).await?;
        charged.store(true, Ordering::Relaxed);
    }

    let policy = &ports.policies().code;
    let code = ports.codes().generate(policy)?;
    let hash = ports.code_hashes().hash(&code);
    let now = ports.clock().now();
    let sequence = user.sequence + 1;
    let (notification_type, url_template) = match &input.medium {
        ResetMedium::SendLink {
            notification_type,
            url_template,
        } => (
            Some(*notification_type),
            url_template.as_ref().map(|t| t.as_str().to_owned()),
        ),
        ResetMedium::ReturnCode => (None, None),
    };
    let expires_at = now + policy.expiry();
    let event = new_event(
        user.id.as_str(),
        sequence,
        Event::PasswordCodeAdded {
            expires_at,
            notification_type,
            url_template: url_template.clone(),
            code_returned: recipient.is_none(),
            key_id: hash.key_id.0.clone(),
        },
        &user.org_id,
        caller,
        now,
    );
    let message = match (recipient, notification_type) {
        (Some(recipient), Some(channel)) => {
            let payload = ResetMessagePayload {
                code: code.expose().to_owned(),
                url_template: url_template.clone(),
                recipient: recipient.as_str().to_owned(),
                language: profile
                    .preferred_language
                    .as_ref()
                    .map(|l| l.as_str().to_owned()),
                user_id: user.id.to_string(),
                org_id: user.org_id.to_string(),
                display_name: profile.display_name.clone(),
                username: user.username.clone(),
            };
            let json = serde_json::to_vec(&payload)
                .map_err(|e| Failure::Unexpected(format!("serializing a payload: {e}")))?;
            let id = fresh_id(ports);
            let payload = ports
                .sealer()
                .seal(&json, &crate::sealing_context(&id, &user.id))?;
            Some(OutboxMessage {
                id,
                kind: super::deliver::PASSWORD_RESET,
                user_id: user.id.clone(),
                channel,
                recipient_masked: recipient.masked(),
                payload,
                code_sequence: sequence,
                idempotency_key: format!("{}.{}", user.id, sequence),
                created_at: now,
                next_attempt_at: now,
                trace_context: ports.trace_context(),
            })
        }
        _ => None,
    };
    let details = details_of(&event);
    let change = Change::AddPasswordCode {
        code: PasswordCode {
            user_id: user.id.clone(),
            hash,
            created_at: now,
            expires_at,
            sequence,
            failed_attempts: 0,
            notification_type,
            url_template,
            returned: message.is_none(),
        },
        event,
        message,
    };
    let returned = matches!(input.medium, ResetMedium::ReturnCode);
    let output = Output {
        details,
        code: returned.then_some(code),
    };
    Ok(Step::Commit(change, output))
}

/// The budgets of one message to `recipient`: per user and per address, and for SMS the
/// country allow-list and caps. All are taken, or none.
///
/// The address budget is the address's within the user's organization: addresses are not
/// verified, so a user manager of another organization could otherwise give one of its users
/// the same address and spend the budget of this organization's user.
async fn charge_send_budgets<P: Ports>(
    ports: &P,
    user: &UserId,
    org: &OrgId,
    recipient: &Recipient,
) -> Result<(), Error> {
    let limits = &ports.policies().limits;
    let mut keys = limits::keys("user", user.as_str(), &limits.user_messages);
    let address = match recipient {
        Recipient::Email(email) => email.as_str().to_lowercase(),
        Recipient::Phone(phone) => phone.as_str().to_owned(),
    };
    // Length-prefixed, so no organization id and address can spell another pair.
    let org = org.as_str();
    keys.extend(limits::keys(
        "recipient",
        &format!("{}:{org}:{address}", org.len()),
        &limits.recipient_messages,
    ));
    if let Recipient::Phone(phone) = recipient {
        let country = phone.country_code();
        if limits
            .sms_countries
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&country))
        {
            return Err(Error::SmsCountryNotAllowed(country));
        }
        keys.extend(limits::keys(
            "sms_country",
            &country.to_string(),
            &limits.sms_per_country,
        ));
        keys.extend(limits::keys("sms_total", "all", &limits.sms_total));
    }
    let masked = recipient.masked();
    let concerning = Concerning {
        user: Some(user),
        recipient_masked: Some(&masked),
    };
    Ok(limits::charge(ports, &keys, concerning).await??)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use rekey_domain::{Role, UrlTemplate, UserState};

    use super::*;
    use crate::ports::{Budget, Limits, StoreError};
    use crate::usecase::MAX_CONFLICT_RETRIES;
    use crate::usecase::fakes::{Fake, principal};

    fn send_link(channel: NotificationType, template: Option<&str>) -> ResetMedium {
        ResetMedium::SendLink {
            notification_type: channel,
            url_template: template.map(|t| UrlTemplate::try_from(t.to_owned()).expect("length")),
        }
    }

    async fn reset(
        fake: &Fake,
        caller: &Principal,
        user: &str,
        medium: ResetMedium,
    ) -> Result<Output, Error> {
        execute(
            fake,
            caller,
            Input {
                user_id: user.parse().expect("id"),
                medium,
            },
        )
        .await
    }

    #[tokio::test]
    async fn return_code_returns_the_code_and_stores_only_its_hash() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, Some("+41791234567"));
        let admin = principal("org1", &[Role::OrgUserManager]);
        let out = reset(&fake, &admin, &user, ResetMedium::ReturnCode)
            .await
            .expect("ok");
        let code = out.code.expect("returned");
        assert_eq!(code.expose().len(), 6);
        assert_eq!(out.details.sequence, 2);
        assert_eq!(out.details.resource_owner.as_str(), "org1");
        assert_eq!(out.details.change_date, fake.now());
        let stored = fake.code_of(&user).expect("code row");
        assert_ne!(stored.hash.hash, code.expose());
        assert!(stored.returned);
        assert!(fake.outbox().is_empty());
        let events = fake.events_of(&user);
        assert_eq!(
            events.last().map(|e| e.event.event_type()),
            Some("user.human.password.code.added")
        );
    }

    #[tokio::test]
    async fn send_link_queues_one_sealed_message_per_channel() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, Some("+41791234567"));
        let me = fake.principal_of(&user);
        for (medium, channel) in [
            (
                send_link(NotificationType::Email, None),
                NotificationType::Email,
            ),
            (
                send_link(NotificationType::Sms, Some("https://x/{{.Code}}")),
                NotificationType::Sms,
            ),
            (ResetMedium::default(), NotificationType::Email),
        ] {
            let out = reset(&fake, &me, &user, medium).await.expect("ok");
            assert!(out.code.is_none());
            let message = fake.outbox().pop().expect("queued");
            assert_eq!(message.channel, channel);
            assert_eq!(message.code_sequence, out.details.sequence);
            let payload = fake.open_payload(&message);
            assert_eq!(payload.user_id, user);
            assert!(!String::from_utf8_lossy(&message.payload.bytes).contains(&payload.code));
        }
        assert_eq!(fake.outbox().len(), 3);
        assert_eq!(fake.events_of(&user).len(), 4);
    }

    #[tokio::test]
    async fn checks_run_in_contract_order() {
        let fake = Fake::new();
        let initial = fake.add_human("org1", UserState::Initial, None);
        let stranger = principal("org2", &[Role::OrgUserManager]);
        // 3 before 4: a bad template wins over an unknown user.
        let bad = send_link(NotificationType::Email, Some("{{"));
        assert!(matches!(
            reset(&fake, &stranger, "nobody", bad).await,
            Err(Error::InvalidTemplate(TemplateError::Parse(_)))
        ));
        let unknown_field = send_link(NotificationType::Email, Some("{{.LoginName}}"));
        assert!(matches!(
            reset(&fake, &stranger, "nobody", unknown_field).await,
            Err(Error::InvalidTemplate(TemplateError::Render(_)))
        ));
        // 4 before 5 before 6.
        assert_eq!(
            reset(&fake, &stranger, "nobody", ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::UserNotFound)
        );
        assert_eq!(
            reset(&fake, &stranger, &initial, ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::UserNotInitialized)
        );
        let active = fake.add_human("org1", UserState::Active, None);
        assert_eq!(
            reset(&fake, &stranger, &active, ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::PermissionDenied)
        );
        assert_eq!(
            reset(
                &fake,
                &principal("org1", &[]),
                &active,
                ResetMedium::ReturnCode
            )
            .await
            .err(),
            Some(Error::PermissionDenied)
        );
        assert_eq!(
            reset(
                &fake,
                &fake.principal_of(&active),
                &active,
                send_link(NotificationType::Sms, None)
            )
            .await
            .err(),
            Some(Error::NoRecipient(NotificationType::Sms))
        );
        assert!(fake.events_of(&active).len() == 1, "refusals write nothing");
    }

    #[tokio::test]
    async fn deleted_and_machine_users_are_not_found_locked_and_inactive_reset() {
        let fake = Fake::new();
        let iam = principal("orgX", &[Role::IamUserManager]);
        for state in [UserState::Locked, UserState::Inactive] {
            let user = fake.add_human("org1", state, None);
            assert!(
                reset(&fake, &iam, &user, ResetMedium::ReturnCode)
                    .await
                    .is_ok()
            );
        }
        let deleted = fake.add_human("org1", UserState::Deleted, None);
        assert_eq!(
            reset(&fake, &iam, &deleted, ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::UserNotFound)
        );
        let machine = fake.add_machine("org1");
        assert_eq!(
            reset(&fake, &iam, &machine, ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::UserNotFound)
        );
    }

    fn events_named(fake: &Fake, user: &str, name: &str) -> usize {
        fake.events_of(user)
            .iter()
            .filter(|e| e.event.event_type() == name)
            .count()
    }

    #[tokio::test]
    async fn the_fourth_link_in_ten_minutes_is_refused_and_issues_nothing() {
        let fake = Fake::with_limits(Limits::recommended());
        let user = fake.add_human("org1", UserState::Active, None);
        let me = fake.principal_of(&user);
        for _ in 0..3 {
            reset(&fake, &me, &user, ResetMedium::default())
                .await
                .expect("within budget");
            fake.advance(TimeDelta::seconds(10));
        }
        let (queued, events) = (fake.outbox().len(), fake.events_of(&user).len());
        let refused = reset(&fake, &me, &user, ResetMedium::default()).await;
        let Err(Error::Exhausted(exhausted)) = refused else {
            panic!("expected a spent budget, got {refused:?}");
        };
        assert_eq!(exhausted.budget, "user");
        // 3 per 10 minutes refill one every 200 s; the first was taken 30 s ago.
        assert_eq!(exhausted.retry_after_seconds(), 170);
        assert_eq!(fake.outbox().len(), queued, "no message");
        assert_eq!(
            fake.events_of(&user).len(),
            events + 1,
            "only the limit event"
        );
        assert_eq!(events_named(&fake, &user, "user.limit.exceeded"), 1);
        assert!(
            reset(&fake, &me, &user, ResetMedium::default())
                .await
                .is_err()
        );
        assert_eq!(
            events_named(&fake, &user, "user.limit.exceeded"),
            1,
            "recorded once per run of refusals"
        );
        // returnCode counts against the caller budget only.
        reset(&fake, &me, &user, ResetMedium::ReturnCode)
            .await
            .expect("returnCode is not a message");
        fake.advance(TimeDelta::minutes(10));
        reset(&fake, &me, &user, ResetMedium::default())
            .await
            .expect("refilled after the window");
    }

    #[tokio::test]
    async fn one_address_shared_by_two_users_has_one_budget() {
        let fake = Fake::with_limits(Limits {
            recipient_messages: vec![Budget::new(1, TimeDelta::hours(1))],
            ..Limits::default()
        });
        let iam = principal("orgX", &[Role::IamUserManager]);
        let (a, b) = (
            fake.add_human("org1", UserState::Active, Some("+41791234567")),
            fake.add_human("org1", UserState::Active, Some("+41791234567")),
        );
        let sms = || send_link(NotificationType::Sms, None);
        reset(&fake, &iam, &a, sms()).await.expect("first");
        assert!(matches!(
            reset(&fake, &iam, &b, sms()).await,
            Err(Error::Exhausted(Exhausted {
                budget: "recipient",
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn the_same_address_in_another_organization_has_its_own_budget() {
        let fake = Fake::with_limits(Limits {
            recipient_messages: vec![Budget::new(1, TimeDelta::hours(1))],
            ..Limits::default()
        });
        let iam = principal("orgX", &[Role::IamUserManager]);
        let (a, b) = (
            fake.add_human("org1", UserState::Active, Some("+41791234567")),
            fake.add_human("org2", UserState::Active, Some("+41791234567")),
        );
        let sms = || send_link(NotificationType::Sms, None);
        reset(&fake, &iam, &b, sms()).await.expect("org2's user");
        reset(&fake, &iam, &a, sms())
            .await
            .expect("org1's budget is its own");
    }

    #[tokio::test]
    async fn a_login_client_has_its_own_larger_caller_budget() {
        let fake = Fake::with_limits(Limits {
            caller_resets: vec![Budget::new(1, TimeDelta::minutes(1))],
            login_client_resets: vec![Budget::new(3, TimeDelta::minutes(1))],
            ..Limits::default()
        });
        let login = principal("orgX", &[Role::IamLoginClient]);
        let manager = principal("orgX", &[Role::IamUserManager]);
        let user = fake.add_human("org1", UserState::Active, None);
        for _ in 0..3 {
            reset(&fake, &login, &user, ResetMedium::ReturnCode)
                .await
                .expect("within the login client's budget");
        }
        let budget = |result: Result<Output, Error>| match result {
            Err(Error::Exhausted(exhausted)) => Some(exhausted.budget),
            _ => None,
        };
        assert_eq!(
            budget(reset(&fake, &login, &user, ResetMedium::ReturnCode).await),
            Some("login_client")
        );
        reset(&fake, &manager, &user, ResetMedium::ReturnCode)
            .await
            .expect("another caller's budget");
        assert_eq!(
            budget(reset(&fake, &manager, &user, ResetMedium::ReturnCode).await),
            Some("caller")
        );
    }

    #[tokio::test]
    async fn sms_caps_and_the_country_list_refuse_sms_and_leave_email_alone() {
        let fake = Fake::with_limits(Limits {
            sms_total: vec![Budget::new(1, TimeDelta::days(1))],
            sms_countries: Some(vec![41, 49]),
            ..Limits::default()
        });
        let iam = principal("orgX", &[Role::IamUserManager]);
        let swiss = fake.add_human("org1", UserState::Active, Some("+41791234567"));
        let french = fake.add_human("org1", UserState::Active, Some("+33612345678"));
        let sms = || send_link(NotificationType::Sms, None);
        assert_eq!(
            reset(&fake, &iam, &french, sms()).await.err(),
            Some(Error::SmsCountryNotAllowed(33))
        );
        reset(&fake, &iam, &swiss, sms()).await.expect("first SMS");
        assert!(matches!(
            reset(&fake, &iam, &swiss, sms()).await,
            Err(Error::Exhausted(Exhausted {
                budget: "sms_total",
                ..
            }))
        ));
        reset(
            &fake,
            &iam,
            &swiss,
            send_link(NotificationType::Email, None),
        )
        .await
        .expect("email is not capped");
        reset(
            &fake,
            &iam,
            &french,
            send_link(NotificationType::Email, None),
        )
        .await
        .expect("nor limited to SMS countries");
    }

    #[tokio::test]
    async fn a_caller_over_its_budget_is_refused_before_the_user_is_looked_up() {
        let fake = Fake::with_limits(Limits {
            caller_resets: vec![Budget::new(2, TimeDelta::minutes(1))],
            ..Limits::default()
        });
        let iam = principal("orgX", &[Role::IamUserManager]);
        let user = fake.add_human("org1", UserState::Active, None);
        reset(&fake, &iam, &user, ResetMedium::ReturnCode)
            .await
            .expect("1");
        assert_eq!(
            reset(&fake, &iam, "nobody", ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::UserNotFound),
            "a refused request spends budget too"
        );
        assert!(matches!(
            reset(&fake, &iam, "nobody", ResetMedium::ReturnCode).await,
            Err(Error::Exhausted(Exhausted {
                budget: "caller",
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn conflicts_are_retried_and_failures_surface() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let me = fake.principal_of(&user);
        fake.fail_next_commits_with(vec![StoreError::Conflict, StoreError::Conflict]);
        let out = reset(&fake, &me, &user, ResetMedium::ReturnCode)
            .await
            .expect("retried");
        assert_eq!(out.details.sequence, 2);

        fake.fail_next_commits_with(vec![StoreError::Conflict; MAX_CONFLICT_RETRIES]);
        assert!(matches!(
            reset(&fake, &me, &user, ResetMedium::ReturnCode).await,
            Err(Error::Failure(Failure::Unavailable(_)))
        ));

        fake.fail_next_commits_with(vec![StoreError::Failure(Failure::Unavailable(
            "down".into(),
        ))]);
        assert_eq!(
            reset(&fake, &me, &user, ResetMedium::ReturnCode)
                .await
                .err(),
            Some(Error::Failure(Failure::Unavailable("down".into())))
        );
    }
}
