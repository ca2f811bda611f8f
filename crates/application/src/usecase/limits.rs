//! Budgets: taking from them, and what happens when one is spent (a log line and an event on
//! the user, once per run of refusals).

use chrono::TimeDelta;
use rekey_domain::{Event, User, UserId};

use super::{First, Step, commit_with_retry, new_event, system_principal};
use crate::Failure;
use crate::ports::{Budget, BudgetKey, Change, Clock, Ports, RateLimiter, UserStore, Verdict};

/// A budget is spent: the request is refused and nothing is issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Too many requests; try again in {} seconds", self.retry_after_seconds())]
pub struct Exhausted {
    /// Which budget (see [`BudgetKey::name`]).
    pub budget: &'static str,
    /// When it has room again.
    pub retry_after: TimeDelta,
}

impl Exhausted {
    /// Whole seconds until the budget has room, rounded up, at least 1 (for `Retry-After`).
    pub fn retry_after_seconds(&self) -> i64 {
        let millis = self.retry_after.num_milliseconds().max(1);
        (millis + 999) / 1000
    }
}

/// The keys of `budgets` named `name` for `subject`.
pub(crate) fn keys(name: &'static str, subject: &str, budgets: &[Budget]) -> Vec<BudgetKey> {
    budgets
        .iter()
        .map(|budget| BudgetKey::new(name, subject, *budget))
        .collect()
}

/// Who a refusal concerns, for its log line and event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Concerning<'a> {
    /// The user to record `user.limit.exceeded` on, if there is one.
    pub user: Option<&'a UserId>,
    /// The address, masked, for the log.
    pub recipient_masked: Option<&'a str>,
}

/// Takes one unit from each of `keys`, all or none. A refusal is logged, and recorded on the
/// user, only when it is the first since the budget last allowed a take.
///
/// # Errors
/// `Ok(Err(Exhausted))` when a budget is spent; `Err(Failure)` when the limiter cannot answer.
pub(crate) async fn charge<P: Ports>(
    ports: &P,
    keys: &[BudgetKey],
    concerning: Concerning<'_>,
) -> Result<Result<(), Exhausted>, Failure> {
    if keys.is_empty() {
        return Ok(Ok(()));
    }
    let verdict = ports.limiter().take(keys, ports.clock().now()).await?;
    Ok(judge(ports, keys, verdict, concerning).await)
}

/// [`charge`], and `user` loaded with it (at once where the adapters can): the user when
/// the budget allows, for a request that may see the user only within its budget.
///
/// # Errors
/// As [`charge`].
pub(crate) async fn charge_and_load<P: Ports>(
    ports: &P,
    keys: &[BudgetKey],
    concerning: Concerning<'_>,
    user: &UserId,
) -> Result<Result<Option<User>, Exhausted>, Failure> {
    if keys.is_empty() {
        return Ok(Ok(ports.users().user(user).await?));
    }
    let (verdict, loaded) = ports
        .take_and_load_user(keys, ports.clock().now(), user)
        .await?;
    Ok(judge(ports, keys, verdict, concerning)
        .await
        .map(|()| loaded))
}

/// What a take's `verdict` means for the request; a refusal is counted, and logged and
/// recorded when it is the first of a run.
async fn judge<P: Ports>(
    ports: &P,
    keys: &[BudgetKey],
    verdict: Verdict,
    concerning: Concerning<'_>,
) -> Result<(), Exhausted> {
    match verdict {
        Verdict::Allowed => Ok(()),
        Verdict::Refused {
            index,
            retry_after,
            first,
        } => {
            let exhausted = Exhausted {
                budget: keys.get(index).map_or("unknown", |k| k.name),
                retry_after,
            };
            metrics::counter!("rekey_limit_hits_total", "budget" => exhausted.budget).increment(1);
            if first {
                spent(ports, &exhausted, concerning).await;
            } else {
                tracing::debug!(budget = exhausted.budget, "budget still spent; refused");
            }
            Err(exhausted)
        }
    }
}

/// The one log line and event of a budget that has just run out.
pub(crate) async fn spent<P: Ports>(ports: &P, exhausted: &Exhausted, concerning: Concerning<'_>) {
    tracing::warn!(
        budget = exhausted.budget,
        user.id = concerning.user.map(tracing::field::display),
        recipient = concerning.recipient_masked,
        retry_after_seconds = exhausted.retry_after_seconds(),
        "budget spent: refusing until it refills"
    );
    if let Some(user) = concerning.user
        && let Err(failure) = record(ports, user, exhausted).await
    {
        tracing::warn!(%failure, user.id = %user, "could not record user.limit.exceeded");
    }
}

/// Appends `user.limit.exceeded` to the user's stream, if the user exists.
async fn record<P: Ports>(ports: &P, user: &UserId, exhausted: &Exhausted) -> Result<(), Failure> {
    commit_with_retry(
        ports,
        user,
        First::Load,
        move |current: Option<User>| async move {
            let Some(current) = current else {
                return Ok(Step::Done(()));
            };
            let event = new_event(
                current.id.as_str(),
                current.sequence + 1,
                Event::LimitExceeded {
                    budget: exhausted.budget.to_owned(),
                    retry_after_seconds: exhausted.retry_after_seconds(),
                },
                &current.org_id,
                &system_principal(),
                ports.clock().now(),
            );
            Ok(Step::Commit(Change::AppendEvent { event }, ()))
        },
    )
    .await
}

/// Refuses a submission of the public reset page when its client IP is over budget.
///
/// # Errors
/// `Ok(Err(Exhausted))` when the budget is spent; `Err(Failure)` when the limiter cannot answer.
pub async fn client_ip<P: Ports>(
    ports: &P,
    ip: std::net::IpAddr,
) -> Result<Result<(), Exhausted>, Failure> {
    let keys = keys(
        "client_ip",
        &ip.to_string(),
        &ports.policies().limits.client_ip,
    );
    charge(ports, &keys, Concerning::default()).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::ports::Limits;
    use crate::usecase::fakes::Fake;

    #[tokio::test]
    async fn a_spent_budget_refuses_with_the_time_until_it_refills_and_refills() {
        let fake = Fake::with_limits(Limits {
            client_ip: vec![Budget::new(2, TimeDelta::minutes(10))],
            ..Limits::default()
        });
        let ip = "192.0.2.7".parse().expect("ip");
        assert_eq!(client_ip(&fake, ip).await, Ok(Ok(())));
        assert_eq!(client_ip(&fake, ip).await, Ok(Ok(())));
        let refused = client_ip(&fake, ip).await.expect("answers").err();
        assert_eq!(
            refused,
            Some(Exhausted {
                budget: "client_ip",
                retry_after: TimeDelta::minutes(5),
            }),
            "two per ten minutes refill one every five"
        );
        assert_eq!(refused.map(|e| e.retry_after_seconds()), Some(300));
        let other = "192.0.2.8".parse().expect("ip");
        assert_eq!(client_ip(&fake, other).await, Ok(Ok(())), "per IP");
        fake.advance(TimeDelta::minutes(5));
        assert_eq!(client_ip(&fake, ip).await, Ok(Ok(())));
        assert!(client_ip(&fake, ip).await.expect("answers").is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let at = |millis| Exhausted {
            budget: "user",
            retry_after: TimeDelta::milliseconds(millis),
        };
        assert_eq!(at(0).retry_after_seconds(), 1);
        assert_eq!(at(1).retry_after_seconds(), 1);
        assert_eq!(at(1_000).retry_after_seconds(), 1);
        assert_eq!(at(1_001).retry_after_seconds(), 2);
    }
}
