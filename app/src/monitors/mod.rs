//! Monitors: HTTP, keyword, TCP and heartbeat checks with a confirmed
//! Healthy or Failed state, their history, and their pages.

pub mod chart;
pub mod confirm;
pub mod guard;
mod pages;
#[cfg(feature = "ssr")]
pub mod probe;
pub mod schedule;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod spec;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use confirm::MonitorState;
pub use pages::{EditMonitorPage, MonitorPage, MonitorsPage, NewMonitorPage, StateBadge};
pub use settings::{MonitorForm, MonitorKind, MonitorSettings};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitor {
    pub id: i64,
    pub name: String,
    pub settings: MonitorSettings,
    pub interval_secs: u32,
    /// Consecutive failing checks that confirm Failed.
    pub fail_after: u32,
    /// Consecutive passing checks that confirm Healthy.
    pub recover_after: u32,
    pub state: MonitorState,
    pub state_changed_at: i64,
    pub last_check: Option<LastCheck>,
    pub last_ping_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LastCheck {
    pub at: i64,
    pub passed: bool,
    pub response_ms: Option<u32>,
    pub reason: Option<String>,
}

/// One stored check result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckRecord {
    pub id: i64,
    pub checked_at: i64,
    pub passed: bool,
    pub response_ms: Option<u32>,
    pub status_code: Option<u16>,
    pub reason: Option<String>,
    pub state_after: MonitorState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StateChange {
    pub id: i64,
    /// The check that caused it; none for pause, resume and edits.
    pub check_id: Option<i64>,
    pub from: MonitorState,
    pub to: MonitorState,
    pub reason: Option<String>,
    pub changed_at: i64,
}

/// A row of the monitors list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummary {
    pub monitor: Monitor,
    /// Share of passing checks, 0.0 to 1.0, when there were checks.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub uptime_30d: Option<f64>,
    /// Average response time per hour over the last 24 hours, oldest first.
    pub sparkline: Vec<Option<u32>>,
}

/// One page of the monitors list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorList {
    pub items: Vec<MonitorSummary>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    /// Monitors per state in the whole team.
    pub counts: Vec<(MonitorState, i64)>,
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorDetail {
    pub monitor: Monitor,
    /// The URL a heartbeat job calls; shown to editors only.
    pub heartbeat_url: Option<String>,
    pub can_edit: bool,
    /// The monitor as the edit form shows it.
    pub form: MonitorForm,
}

/// Time ranges offered by the monitor page.
pub const HISTORY_RANGES: [(&str, i64); 5] = [
    ("1h", 3_600_000),
    ("6h", 6 * 3_600_000),
    ("24h", 24 * 3_600_000),
    ("7d", 7 * 24 * 3_600_000),
    ("30d", 30 * 24 * 3_600_000),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorHistory {
    pub range: String,
    pub since: i64,
    pub until: i64,
    pub points: Vec<chart::Point>,
    pub uptime: Option<f64>,
    pub checks: Vec<CheckRecord>,
    pub changes: Vec<StateChange>,
}

/// Result of "Check now": shown, not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckNowResult {
    pub passed: bool,
    pub response_ms: Option<u32>,
    pub status_code: Option<u16>,
    pub reason: Option<String>,
}

#[server(endpoint = "list_monitors")]
pub async fn list_monitors(state: String, after: String) -> Result<MonitorList, AppError> {
    let (app_state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::list(&app_state, &caller, state, after).await
}

#[server(endpoint = "get_monitor")]
pub async fn get_monitor(id: i64) -> Result<MonitorDetail, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    let origin = crate::accounts::ssr::request_origin(&state).await;
    ssr::detail(&state, &caller, id, &origin).await
}

#[server(endpoint = "monitor_history")]
pub async fn get_monitor_history(id: i64, range: String) -> Result<MonitorHistory, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::history(&state, &caller, id, range).await
}

/// Creates a monitor and opens its page.
#[server(endpoint = "create_monitor")]
pub async fn create_monitor(form: MonitorForm) -> Result<i64, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    let id = ssr::create(&state, &caller, form).await?;
    leptos_axum::redirect(&format!("/monitors/{id}"));
    Ok(id)
}

#[server(endpoint = "update_monitor")]
pub async fn update_monitor(id: i64, form: MonitorForm) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::update(&state, &caller, id, form).await?;
    leptos_axum::redirect(&format!("/monitors/{id}"));
    Ok(())
}

#[server(endpoint = "delete_monitor")]
pub async fn delete_monitor(id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::delete(&state, &caller, id).await?;
    leptos_axum::redirect("/monitors");
    Ok(())
}

#[server(endpoint = "pause_monitor")]
pub async fn pause_monitor(id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::pause(&state, &caller, id).await
}

#[server(endpoint = "resume_monitor")]
pub async fn resume_monitor(id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::resume(&state, &caller, id).await
}

/// Runs one check now and returns its result without storing it.
#[server(endpoint = "check_monitor_now")]
pub async fn check_monitor_now(id: i64) -> Result<CheckNowResult, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::check_now(&state, &caller, id).await
}
