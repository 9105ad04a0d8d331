//! The events rules route to channels, built where Rebound records what
//! happened and stored as JSON with each queued delivery.

use serde::{Deserialize, Serialize};

use super::EventKind;
use crate::monitors::MonitorState;
use crate::reactions::ExecutionOutcome;

/// One event as queued: what every channel formats its message from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: EventKind,
    pub team_id: i64,
    /// One line for a chat message or an email subject.
    pub title: String,
    /// Further lines, each a complete sentence or a "label: value" pair.
    pub details: Vec<String>,
    /// Unix epoch milliseconds, UTC.
    pub occurred_at: i64,
    /// Ids and values for programs, different per event.
    pub data: serde_json::Value,
}

/// Builds the event of a monitor's confirmed state change, if rules can route it.
pub fn monitor_changed(
    team_id: i64,
    monitor_id: i64,
    monitor_name: &str,
    from: MonitorState,
    to: MonitorState,
    reason: Option<&str>,
    at: i64,
) -> Option<Event> {
    let event = match to {
        MonitorState::Failed => EventKind::MonitorFailed,
        MonitorState::Healthy => EventKind::MonitorHealthy,
        MonitorState::Pending | MonitorState::Paused => return None,
    };
    let mut details = vec![format!("Previous state: {}", from.label())];
    if let Some(reason) = reason {
        details.push(format!("Reason: {reason}"));
    }
    Some(Event {
        event,
        team_id,
        title: format!("Monitor \"{monitor_name}\" is {}", to.label()),
        details,
        occurred_at: at,
        data: serde_json::json!({
            "monitor_id": monitor_id,
            "monitor_name": monitor_name,
            "from": from.as_str(),
            "to": to.as_str(),
            "reason": reason,
        }),
    })
}

/// The facts of an execution record that its notification contains.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionFacts<'a> {
    pub team_id: i64,
    pub reaction_id: i64,
    pub reaction_name: &'a str,
    pub kind: &'a str,
    pub app_name: &'a str,
    pub monitor_name: &'a str,
    pub monitor_state: &'a str,
    pub outcome: ExecutionOutcome,
    pub summary: &'a str,
    pub error_message: Option<&'a str>,
    pub heroku_request_id: Option<&'a str>,
    pub at: i64,
}

/// Builds the event of a finished execution, if rules can route its outcome.
pub fn execution_finished(facts: &ExecutionFacts<'_>) -> Option<Event> {
    let (event, verb) = match facts.outcome {
        ExecutionOutcome::Succeeded => (EventKind::ExecutionSucceeded, "acted"),
        ExecutionOutcome::Failed => (EventKind::ExecutionFailed, "failed"),
        ExecutionOutcome::AtBound => (EventKind::ExecutionAtBound, "is at its bound"),
        _ => return None,
    };
    let mut details = vec![
        format!("App: {}", facts.app_name),
        format!("Step: {}", facts.summary),
        format!("Monitor: {} ({})", facts.monitor_name, facts.monitor_state),
    ];
    if let Some(message) = facts.error_message {
        details.push(format!("Error: {message}"));
    }
    if let Some(request_id) = facts.heroku_request_id {
        details.push(format!("Heroku request id: {request_id}"));
    }
    Some(Event {
        event,
        team_id: facts.team_id,
        title: format!(
            "Reaction \"{}\" {verb} on {}: {}",
            facts.reaction_name, facts.app_name, facts.summary
        ),
        details,
        occurred_at: facts.at,
        data: serde_json::json!({
            "reaction_id": facts.reaction_id,
            "reaction_name": facts.reaction_name,
            "kind": facts.kind,
            "app": facts.app_name,
            "monitor_name": facts.monitor_name,
            "monitor_state": facts.monitor_state,
            "outcome": facts.outcome.as_str(),
            "summary": facts.summary,
            "error_message": facts.error_message,
            "heroku_request_id": facts.heroku_request_id,
        }),
    })
}

/// Builds the event of a connection that Heroku stopped accepting.
pub fn connection_lost(
    team_id: i64,
    connection_id: i64,
    email: &str,
    reason: Option<&str>,
    at: i64,
) -> Event {
    let mut details = vec![
        "Reactions that use this connection are paused until a team admin connects the account again on the Connections page.".to_string(),
    ];
    if let Some(reason) = reason {
        details.push(format!("Reason: {reason}"));
    }
    Event {
        event: EventKind::ConnectionNeedsReauthorization,
        team_id,
        title: format!("Heroku connection {email} needs re-authorization"),
        details,
        occurred_at: at,
        data: serde_json::json!({
            "connection_id": connection_id,
            "email": email,
            "reason": reason,
        }),
    }
}

/// Builds the message that "Send test" delivers.
pub fn test(team_id: i64, channel_name: &str, at: i64) -> Event {
    Event {
        event: EventKind::MonitorHealthy,
        team_id,
        title: format!("Test message for channel \"{channel_name}\" from Rebound"),
        details: vec!["A team member pressed \"Send test\". No monitor changed state.".to_string()],
        occurred_at: at,
        data: serde_json::json!({ "test": true }),
    }
}

impl Event {
    /// Serializes the event as it is stored with a delivery.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a notification event serializes to JSON")
    }
}
