//! The webhook channel: an HTTPS POST of the notice as JSON, signed so the receiver can
//! prove it came from this gateway and was not altered.
//!
//! Body: the [`Notice`] JSON with `message_id` added (the same on every retry).
//! Headers:
//! - `X-Picket-Message-Id`: the message id, for de-duplication;
//! - `X-Picket-Timestamp`: Unix seconds when signed;
//! - `X-Picket-Signature`: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>` with the
//!   channel's secret. Receivers should reject a signature that does not match and a
//!   timestamp far from their clock (replays).
//!
//! 2xx is acknowledged; 408, 429 and 5xx are retried; 401 and 403 (the signature is not
//! taken) fail at once; other answers are refusals, for good except for alarms, which the
//! worker retries until they are stuck.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::Duration;

use super::{Deliver, DeliveryError};
use crate::config::WebhookChannel;
use crate::escalation::{Notice, Policy};
use crate::journal::{Delivery, DeliveryState};

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Picket-Signature";
/// Header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "X-Picket-Timestamp";
/// Header carrying the message id.
pub const MESSAGE_ID_HEADER: &str = "X-Picket-Message-Id";

/// A webhook endpoint.
pub struct WebhookDelivery {
    /// Channel id, for messages.
    id: String,
    /// HTTP client with picket's TLS settings.
    client: reqwest::Client,
    /// URL for rows without a tier of their own URL.
    url: String,
    /// URLs by tier number.
    tier_urls: BTreeMap<u32, String>,
    /// HMAC key.
    secret: Vec<u8>,
}

/// `sha256=<hex>` over `<timestamp>.<body>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON body for a delivery: the notice plus its message id.
pub fn body(delivery: &Delivery, notice: &Notice) -> Vec<u8> {
    let mut value = serde_json::to_value(notice).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "message_id".into(),
            serde_json::Value::from(delivery.message_id.clone()),
        );
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

impl WebhookDelivery {
    /// A webhook from its configuration (already validated).
    pub fn new(config: &WebhookChannel, policy: &Policy) -> Result<WebhookDelivery, String> {
        let tls = super::tls::client_config(
            config.ca_file.as_deref(),
            &format!("channel {} ca_file", config.id),
        )?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(u64::from(config.timeout_s)))
            // reqwest's default, said here: no request waits for a delayed ACK.
            .tcp_nodelay(true)
            .user_agent(concat!("picket/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("channel {}: {e}", config.id))?;
        let tier_urls = policy.by_tier_number(&config.tier_urls);
        Ok(WebhookDelivery {
            id: config.id.clone(),
            client,
            url: config.url.clone(),
            tier_urls,
            secret: config
                .secret
                .as_ref()
                .map(|s| s.expose().as_bytes().to_vec())
                .unwrap_or_default(),
        })
    }
}

impl Deliver for WebhookDelivery {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        let url = self.tier_urls.get(&d.tier).unwrap_or(&self.url);
        let body = body(d, notice);
        let timestamp = jiff::Timestamp::now().as_second();
        let signature = sign(&self.secret, timestamp, &body);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(MESSAGE_ID_HEADER, &d.message_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                DeliveryError::retry(format!("webhook {} ({url}): {}", self.id, chain(&e)))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(DeliveryState::Acknowledged);
        }
        let text = crate::text::for_log(&response.text().await.unwrap_or_default());
        let message = format!("webhook {} ({url}) answered {status}: {text}", self.id);
        if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Err(DeliveryError::retry(message))
        } else if status == reqwest::StatusCode::UNAUTHORIZED
            || status == reqwest::StatusCode::FORBIDDEN
        {
            // The receiver does not take our signature: only the secret can fix that.
            Err(DeliveryError::misconfigured(message))
        } else {
            Err(DeliveryError::refused(message))
        }
    }
}

/// An error with its causes, so a TLS failure says why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
