//! Notifications: the channels a team sends to (Slack, a generic webhook,
//! email), the rules that route events to channels, and their delivery
//! history. Delivery itself runs in the worker (see `send`).

#[cfg(feature = "ssr")]
pub mod event;
mod pages;
#[cfg(feature = "ssr")]
pub mod send;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::NotificationsPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Something Rebound did or saw that a rule can send to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAtBound,
    MonitorFailed,
    MonitorHealthy,
    ConnectionNeedsReauthorization,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::ExecutionSucceeded,
        EventKind::ExecutionFailed,
        EventKind::ExecutionAtBound,
        EventKind::MonitorFailed,
        EventKind::MonitorHealthy,
        EventKind::ConnectionNeedsReauthorization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ExecutionSucceeded => "execution_succeeded",
            EventKind::ExecutionFailed => "execution_failed",
            EventKind::ExecutionAtBound => "execution_at_bound",
            EventKind::MonitorFailed => "monitor_failed",
            EventKind::MonitorHealthy => "monitor_healthy",
            EventKind::ConnectionNeedsReauthorization => "connection_needs_reauthorization",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::ExecutionSucceeded => "Reaction step succeeded",
            EventKind::ExecutionFailed => "Reaction step failed",
            EventKind::ExecutionAtBound => "Reaction reached its bound",
            EventKind::MonitorFailed => "Monitor turned Failed",
            EventKind::MonitorHealthy => "Monitor turned Healthy",
            EventKind::ConnectionNeedsReauthorization => "Heroku connection needs re-authorization",
        }
    }
}

/// The kind of destination a channel delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A Slack incoming webhook URL.
    Slack,
    /// Any HTTP endpoint that takes a JSON body, optionally signed.
    Webhook,
    /// Email to fixed recipients, through the instance's SMTP server.
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<ChannelKind> {
        match text {
            "slack" => Some(ChannelKind::Slack),
            "webhook" => Some(ChannelKind::Webhook),
            "email" => Some(ChannelKind::Email),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Slack => "Slack",
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Email => "Email",
        }
    }
}

/// A channel's failed attempts in a row from which the page shows it as failing.
pub const FAILING_AFTER: u32 = 3;

/// A channel as the page shows it: no URL, token or signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// The URL's scheme and host, or the email recipients.
    pub target: String,
    pub signed: bool,
    pub created_at: i64,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_failure_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// The latest delivery attempts, newest first.
    pub attempts: Vec<Attempt>,
}

impl Channel {
    pub fn failing(&self) -> bool {
        self.consecutive_failures >= FAILING_AFTER
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery_id: i64,
    pub event: String,
    pub attempted_at: i64,
    pub succeeded: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u32,
}

/// A rule: events of one kind go to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub event: EventKind,
    pub channel_id: i64,
    pub channel_name: String,
}

/// Everything the notifications page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsOverview {
    pub channels: Vec<Channel>,
    pub rules: Vec<Rule>,
    /// Admins and owners add and remove channels.
    pub can_manage_channels: bool,
    /// Editors and above add and remove rules and send test messages.
    pub can_manage_rules: bool,
    /// The instance has SMTP settings, so email channels can send.
    pub smtp_configured: bool,
}

/// A new channel as the form submits it. Fields that do not apply to the
/// chosen kind are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelForm {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub signing_secret: String,
    #[serde(default)]
    pub recipients: String,
}

/// The outcome of "Send test".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub channel_name: String,
    pub succeeded: bool,
    /// "Delivered: the receiver answered HTTP 200.", or why it failed.
    pub message: String,
}

/// Lists the team's channels with their health, and its rules.
#[server(endpoint = "list_notifications")]
pub async fn list_notifications() -> Result<NotificationsOverview, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::overview(&state, &caller).await
}

/// Adds a channel; its URL and secrets are stored encrypted.
#[server(endpoint = "create_notification_channel")]
pub async fn create_notification_channel(form: ChannelForm) -> Result<Channel, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::create_channel(&state, &caller, form).await
}

/// Deletes a channel with its rules and delivery history; returns its name.
#[server(endpoint = "delete_notification_channel")]
pub async fn delete_notification_channel(channel_id: i64) -> Result<String, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::delete_channel(&state, &caller, channel_id).await
}

/// Sends a test message to a channel now and reports the outcome.
#[server(endpoint = "test_notification_channel")]
pub async fn test_notification_channel(channel_id: i64) -> Result<TestResult, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::send_test(&state, &caller, channel_id).await
}

/// Adds a rule sending events of one kind to a channel.
#[server(endpoint = "add_notification_rule")]
pub async fn add_notification_rule(event: String, channel_id: String) -> Result<Rule, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::add_rule(&state, &caller, &event, &channel_id).await
}

/// Removes a rule.
#[server(endpoint = "delete_notification_rule")]
pub async fn delete_notification_rule(rule_id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::delete_rule(&state, &caller, rule_id).await
}
