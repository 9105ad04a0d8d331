//! Delivers one event to one channel: a Slack message, a signed JSON
//! webhook or an email. Failures come back as a sentence for the channel's
//! page; no message ever contains the target URL, since it can hold a token.

use std::time::Instant;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::ChannelKind;
use super::event::Event;
use crate::state::{AppState, SmtpSettings, SmtpTls};

/// Header carrying the HMAC-SHA256 of the webhook body, as `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Rebound-Signature";
/// Header naming the event kind of a webhook, e.g. `monitor_failed`.
pub const EVENT_HEADER: &str = "X-Rebound-Event";
/// Header carrying the delivery id, the same on every retry of one delivery.
pub const DELIVERY_HEADER: &str = "X-Rebound-Delivery";

/// A webhook answer's body is quoted in the error up to this many characters.
const QUOTED_BODY_CHARS: usize = 200;

/// A channel's settings as stored, encrypted, with the channel.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

impl std::fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSecrets")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "<redacted>"))
            .field("recipients", &self.recipients)
            .finish()
    }
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub succeeded: bool,
    /// HTTP status, or the SMTP reply code of a rejection.
    pub status_code: Option<u16>,
    /// The reason for a failure, in words.
    pub error: Option<String>,
    pub duration_ms: u32,
}

/// Sends `event` to a channel and reports how it went.
pub async fn deliver(
    state: &AppState,
    kind: ChannelKind,
    secrets: &ChannelSecrets,
    event: &Event,
    delivery_id: i64,
) -> SendOutcome {
    let started = Instant::now();
    let result = match kind {
        ChannelKind::Slack => slack(state, secrets, event).await,
        ChannelKind::Webhook => webhook(state, secrets, event, delivery_id).await,
        ChannelKind::Email => email(state, secrets, event).await,
    };
    let duration_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
    match result {
        Ok(status_code) => SendOutcome { succeeded: true, status_code, error: None, duration_ms },
        Err(Failure { status_code, message }) => {
            SendOutcome { succeeded: false, status_code, error: Some(message), duration_ms }
        }
    }
}

struct Failure {
    status_code: Option<u16>,
    message: String,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure { status_code: None, message: message.into() }
    }
}

/// Returns whether `text` is an address with an optional display name,
/// such as `Rebound <rebound@example.com>`.
pub fn is_mailbox(text: &str) -> bool {
    text.parse::<lettre::message::Mailbox>().is_ok()
}

/// Formats the plain-text message that Slack and email share.
pub fn text_of(event: &Event) -> String {
    let mut text = event.title.clone();
    for line in &event.details {
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// Builds the JSON body of a generic webhook.
pub fn webhook_body(event: &Event, delivery_id: i64) -> serde_json::Value {
    let test = event.data.get("test").and_then(serde_json::Value::as_bool).unwrap_or(false);
    serde_json::json!({
        "event": if test { "test" } else { event.event.as_str() },
        "delivery_id": delivery_id,
        "team_id": event.team_id,
        "title": event.title,
        "details": event.details,
        "occurred_at": crate::time::format_rfc3339(event.occurred_at),
        "data": event.data,
    })
}

/// Returns `sha256=` and the hex HMAC-SHA256 of `body` keyed by `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

async fn slack(
    state: &AppState,
    secrets: &ChannelSecrets,
    event: &Event,
) -> Result<Option<u16>, Failure> {
    let body = serde_json::json!({ "text": text_of(event) });
    let bytes = serde_json::to_vec(&body).expect("a Slack message serializes to JSON");
    post(state, secrets, bytes, &[]).await
}

async fn webhook(
    state: &AppState,
    secrets: &ChannelSecrets,
    event: &Event,
    delivery_id: i64,
) -> Result<Option<u16>, Failure> {
    let body = webhook_body(event, delivery_id);
    let bytes = serde_json::to_vec(&body).expect("a webhook body serializes to JSON");
    let mut headers = vec![
        (EVENT_HEADER, body["event"].as_str().unwrap_or_default().to_string()),
        (DELIVERY_HEADER, delivery_id.to_string()),
    ];
    if let Some(secret) = &secrets.signing_secret {
        headers.push((SIGNATURE_HEADER, signature(secret, &bytes)));
    }
    post(state, secrets, bytes, &headers).await
}

/// Sends a JSON body with POST. A 2xx response is success.
async fn post(
    state: &AppState,
    secrets: &ChannelSecrets,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> Result<Option<u16>, Failure> {
    let Some(raw_url) = &secrets.url else {
        return Err(Failure::new("the channel has no URL; delete it and add it again"));
    };
    let url = reqwest::Url::parse(raw_url).map_err(|_| {
        Failure::new("the stored URL is invalid; delete the channel and add it again")
    })?;
    state.prober.check_target(&url).map_err(Failure::new)?;
    let mut request = state
        .prober
        .notification_client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(|error| {
        Failure::new(crate::monitors::probe::describe_request_error(&error.without_url()))
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(Some(status.as_u16()));
    }
    let text = response.text().await.unwrap_or_default();
    let quoted: String = text.trim().chars().take(QUOTED_BODY_CHARS).collect();
    let message = if quoted.is_empty() {
        format!("the receiver answered HTTP {}", status.as_u16())
    } else {
        format!("the receiver answered HTTP {}: {quoted}", status.as_u16())
    };
    Err(Failure { status_code: Some(status.as_u16()), message })
}

async fn email(
    state: &AppState,
    secrets: &ChannelSecrets,
    event: &Event,
) -> Result<Option<u16>, Failure> {
    use lettre::message::header::ContentType;
    use lettre::{AsyncTransport, Message};

    let Some(smtp) = &state.settings.smtp else {
        return Err(Failure::new(
            "email is not configured on this instance; ask the operator to set REBOUND_SMTP_HOST and REBOUND_SMTP_FROM",
        ));
    };
    let from = smtp.from.parse().map_err(|_| {
        Failure::new(format!("the configured sender address {:?} is invalid", smtp.from))
    })?;
    let mut builder = Message::builder().from(from).subject(format!("[Rebound] {}", event.title));
    for recipient in &secrets.recipients {
        let mailbox = recipient
            .parse()
            .map_err(|_| Failure::new(format!("recipient {recipient:?} is not a valid address")))?;
        builder = builder.to(mailbox);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(text_of(event))
        .map_err(|error| Failure::new(format!("the email could not be built: {error}")))?;
    let transport = smtp_transport(smtp)?;
    match transport.send(message).await {
        Ok(response) => Ok(Some(u16::from(response.code()))),
        Err(error) => Err(smtp_failure(smtp, &error)),
    }
}

fn smtp_transport(
    smtp: &SmtpSettings,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, Failure> {
    use lettre::AsyncSmtpTransport;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Tls, TlsParameters};

    let tls_parameters = || {
        TlsParameters::new(smtp.host.clone())
            .map_err(|error| Failure::new(format!("TLS setup for {} failed: {error}", smtp.host)))
    };
    let tls = match smtp.tls {
        SmtpTls::StartTls => Tls::Required(tls_parameters()?),
        SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
        SmtpTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(smtp.timeout));
    if let (Some(username), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn smtp_failure(smtp: &SmtpSettings, error: &lettre::transport::smtp::Error) -> Failure {
    let status_code = error.status().map(u16::from);
    let server = format!("{}:{}", smtp.host, smtp.port);
    let message = if error.is_permanent() || error.is_transient() {
        format!("the SMTP server {server} rejected the message: {error}")
    } else if error.is_timeout() {
        format!("the SMTP server {server} did not answer in time")
    } else if error.is_tls() {
        format!("TLS with the SMTP server {server} failed: {error}")
    } else {
        format!("sending through the SMTP server {server} failed: {error}")
    };
    Failure { status_code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_known_vector() {
        // RFC 4231, test case 2.
        let signed = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signed,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_debug_hides_url_and_secret() {
        let secrets = ChannelSecrets {
            url: Some("https://hooks.slack.com/services/T0/B0/XYZ".into()),
            signing_secret: Some("very secret value".into()),
            recipients: Vec::new(),
        };
        let printed = format!("{secrets:?}");
        assert!(!printed.contains("XYZ"), "{printed}");
        assert!(!printed.contains("very secret"), "{printed}");
    }
}
