//! Events to other systems: [`EventTargets`] implements the
//! [`EventSender`](rekey_application::ports::EventSender) port, a signed JSON POST to each
//! configured target, as ZITADEL's Actions v2 calls a `rest_webhook` target.

use std::collections::HashMap;
use std::sync::Arc;

use rekey_application::ports::{Clock, EventSender, SendError};

use crate::webhook::{WebhookSender, WebhookSettings};

/// The configured targets, by id. Each POST carries `ZITADEL-Signature:
/// t={unix seconds},v1={hex HMAC-SHA-256(signing_key, "{t}.{body}")}` (and the same as
/// `X-Rekey-Signature`); 2xx is success, 408, 429, 5xx, timeouts and connection errors are
/// retryable, any other status is final.
#[derive(Debug, Default)]
pub struct EventTargets {
    targets: HashMap<String, WebhookSender>,
}

impl EventTargets {
    /// Targets from `(id, settings)` pairs; `clock` gives the signatures' timestamps.
    ///
    /// # Errors
    /// When a URL is not `http`/`https`, a key is empty, or a client cannot be built.
    pub fn new(
        targets: Vec<(String, WebhookSettings)>,
        clock: &Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let targets = targets
            .into_iter()
            .map(|(id, settings)| {
                WebhookSender::new(settings, Arc::clone(clock))
                    .map(|sender| (id.clone(), sender))
                    .map_err(|e| format!("event target {id}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { targets })
    }
}

impl EventSender for EventTargets {
    async fn post(&self, target: &str, body: &[u8]) -> Result<(), SendError> {
        let Some(sender) = self.targets.get(target) else {
            // A target removed from the configuration while deliveries to it were queued.
            return Err(SendError {
                retryable: false,
                reason: format!("no target {target} is configured"),
            });
        };
        let body = String::from_utf8(body.to_vec()).map_err(|_| SendError {
            retryable: false,
            reason: "the event body is not UTF-8".into(),
        })?;
        sender.post_body(body).await
    }
}
