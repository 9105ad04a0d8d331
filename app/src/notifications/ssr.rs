//! Server side of notifications: managing channels and rules, "Send test",
//! and one delivery attempt with its retry policy.

use std::time::Duration;

use super::event::{self, Event};
use super::send::{self, ChannelSecrets, SendOutcome};
use super::{
    Channel, ChannelForm, ChannelKind, EventKind, NotificationsOverview, Rule, TestResult,
};
use crate::accounts::Role;
use crate::accounts::ssr::{Caller, random_token};
use crate::crypto;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::notifications::{
    self as store, AttemptRecord, ChannelRecord, Delivery, LeasedDelivery, NewChannel, NextStep,
    NotificationsError,
};
use crate::time::now_ms;

/// Attempts shown per channel on the page.
const ATTEMPTS_SHOWN: usize = 5;
const MAX_NAME_CHARS: usize = 80;
const MAX_URL_CHARS: usize = 2048;
const MIN_SECRET_CHARS: usize = 16;
const MAX_SECRET_CHARS: usize = 256;
const MAX_RECIPIENTS: usize = 20;
/// Lease of a "Send test" delivery, longer than any send takes.
const TEST_LEASE: Duration = Duration::from_secs(120);

/// Retries of queued deliveries: exponential backoff, bounded attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a delivery is given up, the first one included.
    pub max_attempts: u32,
    /// Wait before the second attempt; each later wait doubles.
    pub first_backoff_ms: i64,
    pub max_backoff_ms: i64,
}

impl Default for RetryPolicy {
    /// Six attempts over about 15 minutes: waits of 30 s, 1, 2, 4 and 8 min.
    fn default() -> Self {
        RetryPolicy { max_attempts: 6, first_backoff_ms: 30_000, max_backoff_ms: 3_600_000 }
    }
}

impl RetryPolicy {
    /// Decides what follows attempt number `attempts` (1 for the first) at `now`.
    pub fn next_step(&self, attempts: u32, succeeded: bool, now: i64) -> NextStep {
        if succeeded {
            return NextStep::Delivered;
        }
        if attempts >= self.max_attempts {
            return NextStep::GiveUp;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let wait = self.first_backoff_ms.saturating_mul(1 << doublings).min(self.max_backoff_ms);
        NextStep::RetryAt(now + wait)
    }
}

fn to_channel(record: &ChannelRecord, signed: bool) -> Option<Channel> {
    Some(Channel {
        id: record.id,
        name: record.name.clone(),
        kind: record.kind()?,
        target: record.target_summary.clone(),
        signed,
        created_at: record.created_at,
        consecutive_failures: record.consecutive_failures.max(0) as u32,
        last_error: record.last_error.clone(),
        last_failure_at: record.last_failure_at,
        last_success_at: record.last_success_at,
        attempts: Vec::new(),
    })
}

fn open_secrets(
    state: &AppState,
    channel_id: i64,
    sealed: &[u8],
) -> Result<ChannelSecrets, String> {
    let key = state.secrets.credential_encryption_key();
    let json = crypto::open_string(key, &store::secret_label(channel_id), sealed)
        .map_err(|error| error.to_string())?;
    serde_json::from_str(&json)
        .map_err(|error| format!("stored channel settings are unreadable: {error}"))
}

/// Lists the team's channels with health and recent attempts, and its rules.
pub async fn overview(
    state: &AppState,
    caller: &Caller,
) -> Result<NotificationsOverview, AppError> {
    caller.require(Role::Viewer)?;
    let records = store::list_channels(&state.db, caller.team_id).await?;
    let attempts = store::recent_attempts(&state.db, caller.team_id, ATTEMPTS_SHOWN).await?;
    let mut channels = Vec::with_capacity(records.len());
    for record in &records {
        // Whether a webhook is signed is shown; the secret itself never is.
        let signed = match store::channel_secret(&state.db, record.id).await? {
            Some((_, sealed)) => open_secrets(state, record.id, &sealed)
                .map(|secrets| secrets.signing_secret.is_some())
                .unwrap_or(false),
            None => false,
        };
        if let Some(mut channel) = to_channel(record, signed) {
            channel.attempts = attempts
                .iter()
                .filter(|(channel_id, _)| *channel_id == record.id)
                .map(|(_, attempt)| attempt.clone())
                .collect();
            channels.push(channel);
        }
    }
    Ok(NotificationsOverview {
        channels,
        rules: store::list_rules(&state.db, caller.team_id).await?,
        can_manage_channels: caller.role >= Role::Admin,
        can_manage_rules: caller.role >= Role::Editor,
        smtp_configured: state.settings.smtp.is_some(),
    })
}

/// A checked channel form: the settings to seal and what the page shows.
#[derive(Debug)]
struct ValidChannel {
    name: String,
    kind: ChannelKind,
    secrets: ChannelSecrets,
    target_summary: String,
}

fn validate(state: &AppState, form: &ChannelForm) -> Result<ValidChannel, AppError> {
    let name = form.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Name is required, e.g. \"On-call Slack\"."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("Name is too long; use at most {MAX_NAME_CHARS} characters."),
        ));
    }
    let Some(kind) = ChannelKind::parse(form.kind.trim()) else {
        return Err(AppError::invalid("kind", "Choose a type: Slack, Webhook or Email."));
    };
    let (secrets, target_summary) = match kind {
        ChannelKind::Slack | ChannelKind::Webhook => {
            let (url, summary) = validate_url(state, &form.url)?;
            let signing_secret = match kind {
                ChannelKind::Webhook => validate_signing_secret(&form.signing_secret)?,
                _ => None,
            };
            (ChannelSecrets { url: Some(url), signing_secret, recipients: Vec::new() }, summary)
        }
        ChannelKind::Email => {
            if state.settings.smtp.is_none() {
                return Err(AppError::invalid(
                    "kind",
                    "Email channels need an SMTP server, and this instance has none configured. Ask the operator to set REBOUND_SMTP_HOST and REBOUND_SMTP_FROM, or choose another type.",
                ));
            }
            let recipients = validate_recipients(&form.recipients)?;
            let summary = recipients.join(", ");
            (ChannelSecrets { url: None, signing_secret: None, recipients }, summary)
        }
    };
    Ok(ValidChannel { name: name.to_string(), kind, secrets, target_summary })
}

/// Checks a webhook URL; returns it and the part the page may show.
fn validate_url(state: &AppState, raw: &str) -> Result<(String, String), AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AppError::invalid("url", "URL is required for Slack and webhook channels."));
    }
    if raw.len() > MAX_URL_CHARS {
        return Err(AppError::invalid(
            "url",
            format!("URL is too long; use at most {MAX_URL_CHARS} characters."),
        ));
    }
    let url = url::Url::parse(raw).map_err(|_| {
        AppError::invalid(
            "url",
            "URL is not valid. Paste the whole address, starting with https://.",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::invalid(
            "url",
            "URL must start with https:// (or http://) and name a host.",
        ));
    }
    if let Err(reason) = state.prober.check_target(&url) {
        return Err(AppError::invalid("url", format!("URL cannot be used: {reason}.")));
    }
    let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
    let summary = format!("{}://{}{port}/…", url.scheme(), url.host_str().unwrap_or_default());
    Ok((raw.to_string(), summary))
}

fn validate_signing_secret(raw: &str) -> Result<Option<String>, AppError> {
    let secret = raw.trim();
    if secret.is_empty() {
        return Ok(None);
    }
    let length = secret.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&length) {
        return Err(AppError::invalid(
            "signing_secret",
            format!(
                "Signing secret must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters long, or empty for unsigned requests."
            ),
        ));
    }
    Ok(Some(secret.to_string()))
}

fn validate_recipients(raw: &str) -> Result<Vec<String>, AppError> {
    let recipients: Vec<String> = raw
        .split([',', ';', '\n', ' ', '\t', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect();
    if recipients.is_empty() {
        return Err(AppError::invalid(
            "recipients",
            "Recipients are required: one or more email addresses, separated by commas.",
        ));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(AppError::invalid(
            "recipients",
            format!(
                "At most {MAX_RECIPIENTS} recipients per channel; use a mailing list for more."
            ),
        ));
    }
    for recipient in &recipients {
        if recipient.parse::<lettre::Address>().is_err() {
            return Err(AppError::invalid(
                "recipients",
                format!("{recipient:?} is not a valid email address."),
            ));
        }
    }
    Ok(recipients)
}

pub async fn create_channel(
    state: &AppState,
    caller: &Caller,
    form: ChannelForm,
) -> Result<Channel, AppError> {
    caller.require(Role::Admin)?;
    let valid = validate(state, &form)?;
    let new = NewChannel {
        team_id: caller.team_id,
        name: &valid.name,
        kind: valid.kind,
        target_summary: &valid.target_summary,
        created_by: caller.user_id,
        now: now_ms(),
    };
    let json = serde_json::to_string(&valid.secrets).expect("channel settings serialize to JSON");
    let key = state.secrets.credential_encryption_key();
    let id = store::create_channel(&state.db, &new, |id| {
        crypto::seal(key, &store::secret_label(id), json.as_bytes())
    })
    .await
    .map_err(|error| match error {
        NotificationsError::DuplicateName => AppError::Taken {
            field: "name".into(),
            message: format!(
                "A channel named \"{}\" already exists. Choose another name.",
                valid.name
            ),
        },
        other => AppError::internal("storing a notification channel failed", other),
    })?;
    tracing::info!(
        team.id = caller.team_id,
        channel.id = id,
        channel.kind = valid.kind.as_str(),
        by = caller.user_id,
        "notification channel added"
    );
    let record = store::find_channel(&state.db, caller.team_id, id)
        .await?
        .ok_or_else(|| AppError::internal("stored notification channel vanished", id))?;
    to_channel(&record, valid.secrets.signing_secret.is_some())
        .ok_or_else(|| AppError::internal("stored notification channel has an unknown kind", id))
}

pub async fn delete_channel(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<String, AppError> {
    caller.require(Role::Admin)?;
    let record = store::find_channel(&state.db, caller.team_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The notification channel".into()))?;
    if !store::delete_channel(&state.db, caller.team_id, id).await? {
        return Err(AppError::NotFound("The notification channel".into()));
    }
    tracing::info!(
        team.id = caller.team_id,
        channel.id = id,
        by = caller.user_id,
        "notification channel deleted"
    );
    Ok(record.name)
}

pub async fn add_rule(
    state: &AppState,
    caller: &Caller,
    event: &str,
    channel_id: &str,
) -> Result<Rule, AppError> {
    caller.require(Role::Editor)?;
    let Some(event) = EventKind::parse(event.trim()) else {
        return Err(AppError::invalid("event", "Choose the event to send."));
    };
    let Ok(channel_id) = channel_id.trim().parse::<i64>() else {
        return Err(AppError::invalid("channel_id", "Choose the channel to send to."));
    };
    let id = store::add_rule(&state.db, caller.team_id, channel_id, event, now_ms())
        .await
        .map_err(|error| match error {
            NotificationsError::ChannelNotFound => {
                AppError::NotFound("The notification channel".into())
            }
            NotificationsError::DuplicateRule => AppError::Taken {
                field: "event".into(),
                message: format!("\"{}\" already goes to this channel.", event.label()),
            },
            other => AppError::internal("storing a notification rule failed", other),
        })?;
    let channel = store::find_channel(&state.db, caller.team_id, channel_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The notification channel".into()))?;
    Ok(Rule { id, event, channel_id, channel_name: channel.name })
}

pub async fn delete_rule(state: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    if !store::delete_rule(&state.db, caller.team_id, id).await? {
        return Err(AppError::NotFound("The notification rule".into()));
    }
    Ok(())
}

/// Sends a test message now, records it as a delivery with one attempt,
/// and reports the outcome in words.
pub async fn send_test(state: &AppState, caller: &Caller, id: i64) -> Result<TestResult, AppError> {
    caller.require(Role::Editor)?;
    let record = store::find_channel(&state.db, caller.team_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The notification channel".into()))?;

    // The test is written as a delivery already leased to this request, so
    // it shows in the channel's history and no worker sends it again.
    let now = now_ms();
    let event = event::test(caller.team_id, &record.name, now);
    let owner = format!("test-{}", random_token());
    let payload = event.to_json();
    let leased = LeasedDelivery {
        team_id: caller.team_id,
        channel_id: id,
        event: "test",
        payload: &payload,
        owner: &owner,
        now,
        lease_until: now + TEST_LEASE.as_millis() as i64,
    };
    let delivery_id = store::insert_leased_delivery(&state.db, &leased).await?;
    let delivery = Delivery {
        id: delivery_id,
        team_id: caller.team_id,
        channel_id: id,
        event: "test".into(),
        payload,
        attempts: 1,
    };
    let policy = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    let outcome = attempt(state, &owner, &delivery, &policy).await?;

    let message = if outcome.succeeded {
        match outcome.status_code {
            Some(code) if record.kind() == Some(ChannelKind::Email) => {
                format!("Delivered: the SMTP server accepted the message (reply {code}).")
            }
            Some(code) => format!("Delivered: the receiver answered HTTP {code}."),
            None => "Delivered.".to_string(),
        }
    } else {
        format!(
            "Not delivered: {}. Check the channel's settings, or delete it and add it again with the right ones.",
            outcome.error.as_deref().unwrap_or("the attempt failed")
        )
    };
    Ok(TestResult { channel_name: record.name, succeeded: outcome.succeeded, message })
}

/// Makes one attempt at a claimed delivery and records it. A delivery
/// whose channel is gone, or whose settings cannot be read, fails without
/// a network call.
pub async fn attempt(
    state: &AppState,
    owner: &str,
    delivery: &Delivery,
    policy: &RetryPolicy,
) -> Result<SendOutcome, sqlx::Error> {
    let attempted_at = now_ms();
    let outcome = match prepare(state, delivery).await? {
        Ok((kind, secrets, event)) => {
            send::deliver(state, kind, &secrets, &event, delivery.id).await
        }
        Err(message) => SendOutcome {
            succeeded: false,
            status_code: None,
            error: Some(message),
            duration_ms: 0,
        },
    };
    let attempts = delivery.attempts.max(1) as u32;
    let next = policy.next_step(attempts, outcome.succeeded, now_ms());
    let recorded = store::record_attempt(
        &state.db,
        &AttemptRecord {
            delivery_id: delivery.id,
            channel_id: delivery.channel_id,
            owner,
            attempted_at,
            succeeded: outcome.succeeded,
            status_code: outcome.status_code,
            error: outcome.error.as_deref(),
            duration_ms: outcome.duration_ms,
            next,
        },
    )
    .await?;
    if !recorded {
        tracing::warn!(
            delivery.id = delivery.id,
            channel.id = delivery.channel_id,
            "a notification attempt was not recorded: its lease expired meanwhile, or its channel was deleted"
        );
    } else if outcome.succeeded {
        tracing::info!(
            delivery.id = delivery.id,
            channel.id = delivery.channel_id,
            attempt = attempts,
            "notification delivered"
        );
    } else {
        tracing::warn!(
            delivery.id = delivery.id,
            channel.id = delivery.channel_id,
            attempt = attempts,
            error = outcome.error.as_deref().unwrap_or_default(),
            gave_up = next == NextStep::GiveUp,
            "notification delivery failed"
        );
    }
    Ok(outcome)
}

type Prepared = (ChannelKind, ChannelSecrets, Event);

async fn prepare(
    state: &AppState,
    delivery: &Delivery,
) -> Result<Result<Prepared, String>, sqlx::Error> {
    let Some((record, sealed)) = store::channel_secret(&state.db, delivery.channel_id).await?
    else {
        return Ok(Err("the channel was deleted".to_string()));
    };
    let Some(kind) = record.kind() else {
        return Ok(Err(format!("the channel has an unknown type {:?}", record.kind)));
    };
    let secrets = match open_secrets(state, record.id, &sealed) {
        Ok(secrets) => secrets,
        Err(message) => {
            tracing::error!(channel.id = record.id, error = %message, "a notification channel's settings cannot be decrypted");
            return Ok(Err(
                "the channel's stored settings cannot be read; delete the channel and add it again"
                    .to_string(),
            ));
        }
    };
    let event: Event = match serde_json::from_str(&delivery.payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(delivery.id = delivery.id, %error, "a queued notification is unreadable");
            return Ok(Err("the queued event is unreadable".to_string()));
        }
    };
    Ok(Ok((kind, secrets, event)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_backs_off_then_gives_up() {
        let policy =
            RetryPolicy { max_attempts: 4, first_backoff_ms: 1_000, max_backoff_ms: 3_000 };
        let cases = [
            (1, false, NextStep::RetryAt(1_000)),
            (2, false, NextStep::RetryAt(2_000)),
            (3, false, NextStep::RetryAt(3_000)),
            (4, false, NextStep::GiveUp),
            (2, true, NextStep::Delivered),
        ];
        for (attempts, succeeded, expected) in cases {
            assert_eq!(policy.next_step(attempts, succeeded, 0), expected, "attempt {attempts}");
        }
    }

    #[test]
    fn default_policy_waits_double_each_time() {
        let policy = RetryPolicy::default();
        let waits: Vec<NextStep> =
            (1..=6).map(|attempt| policy.next_step(attempt, false, 0)).collect();
        assert_eq!(
            waits,
            vec![
                NextStep::RetryAt(30_000),
                NextStep::RetryAt(60_000),
                NextStep::RetryAt(120_000),
                NextStep::RetryAt(240_000),
                NextStep::RetryAt(480_000),
                NextStep::GiveUp,
            ]
        );
    }
}
