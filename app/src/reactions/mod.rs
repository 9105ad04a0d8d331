//! Reactions: automatic Heroku steps (scale, restart, roll back, one-off
//! dyno) triggered by a monitor's confirmed state, each bounded, serialised
//! per app and recorded.

#[cfg(feature = "ssr")]
pub mod engine;
mod pages;
pub mod plan;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod spec;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{EditReactionPage, NewReactionPage, OutcomeBadge, ReactionPage, ReactionsPage};
pub use settings::{CallOn, ReactionForm, ReactionKind, ReactionSettings};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::monitors::MonitorState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub id: i64,
    pub name: String,
    pub monitor_id: i64,
    pub monitor_name: String,
    pub monitor_state: MonitorState,
    /// `None` once the connection was removed.
    pub connection_id: Option<i64>,
    pub connection_email: Option<String>,
    pub connection_simulated: bool,
    pub connection_ok: bool,
    pub connection_state: Option<String>,
    pub app_name: String,
    pub call_on: CallOn,
    pub settings: ReactionSettings,
    /// Matching checks in a row needed before it acts.
    pub trigger_count: u32,
    /// Minimum seconds between two runs.
    pub frequency_secs: u32,
    pub dry_run: bool,
    pub enabled: bool,
    pub consecutive_matches: u32,
    pub last_acted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Whether a reaction acts, as its list and page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReactionStatus {
    Enabled,
    DryRun,
    Disabled,
    /// Enabled, but its connection cannot act; the text says why.
    Paused(String),
}

impl Reaction {
    pub fn status(&self) -> ReactionStatus {
        if !self.enabled {
            return ReactionStatus::Disabled;
        }
        if self.connection_id.is_none() {
            return ReactionStatus::Paused(
                "its Heroku connection was removed; choose another".to_string(),
            );
        }
        if !self.connection_ok {
            let state = self.connection_state.as_deref().unwrap_or("unknown").replace('_', " ");
            return ReactionStatus::Paused(format!(
                "its Heroku connection {} {state}",
                if state == "revoked" { "was" } else { "needs" }
            ));
        }
        if self.dry_run { ReactionStatus::DryRun } else { ReactionStatus::Enabled }
    }
}

impl ReactionStatus {
    pub fn label(&self) -> &'static str {
        match self {
            ReactionStatus::Enabled => "Enabled",
            ReactionStatus::DryRun => "Dry run",
            ReactionStatus::Disabled => "Disabled",
            ReactionStatus::Paused(_) => "Paused",
        }
    }

    pub fn css_class(&self) -> &'static str {
        match self {
            ReactionStatus::Enabled => "state state-healthy",
            ReactionStatus::DryRun => "state state-pending",
            ReactionStatus::Disabled => "state state-paused",
            ReactionStatus::Paused(_) => "state state-failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionOutcome {
    /// Sent to Heroku; the result is not stored yet.
    Running,
    Succeeded,
    DryRun,
    AtBound,
    SkippedCooldown,
    SkippedBusy,
    Failed,
}

impl ExecutionOutcome {
    pub const ALL: [ExecutionOutcome; 7] = [
        ExecutionOutcome::Running,
        ExecutionOutcome::Succeeded,
        ExecutionOutcome::DryRun,
        ExecutionOutcome::AtBound,
        ExecutionOutcome::SkippedCooldown,
        ExecutionOutcome::SkippedBusy,
        ExecutionOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionOutcome::Running => "running",
            ExecutionOutcome::Succeeded => "succeeded",
            ExecutionOutcome::DryRun => "dry_run",
            ExecutionOutcome::AtBound => "at_bound",
            ExecutionOutcome::SkippedCooldown => "skipped_cooldown",
            ExecutionOutcome::SkippedBusy => "skipped_busy",
            ExecutionOutcome::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExecutionOutcome::Running => "Running",
            ExecutionOutcome::Succeeded => "Succeeded",
            ExecutionOutcome::DryRun => "Dry run",
            ExecutionOutcome::AtBound => "At bound",
            ExecutionOutcome::SkippedCooldown => "Skipped: cooldown",
            ExecutionOutcome::SkippedBusy => "Skipped: app busy",
            ExecutionOutcome::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<ExecutionOutcome> {
        ExecutionOutcome::ALL.into_iter().find(|outcome| outcome.as_str() == text)
    }

    pub fn css_class(self) -> &'static str {
        match self {
            ExecutionOutcome::Succeeded => "state state-healthy",
            ExecutionOutcome::Failed => "state state-failed",
            ExecutionOutcome::AtBound
            | ExecutionOutcome::SkippedBusy
            | ExecutionOutcome::SkippedCooldown => "state state-paused",
            ExecutionOutcome::DryRun | ExecutionOutcome::Running => "state state-pending",
        }
    }
}

/// Structured before and after values of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecutionDetail {
    /// The planned step (also for dry runs).
    pub step: Option<plan::Step>,
    /// Name of the one-off dyno Heroku started.
    pub dyno: Option<String>,
    /// Version of the release a rollback created.
    pub new_release_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Execution {
    pub id: i64,
    /// `None` once the reaction was deleted; its name stays.
    pub reaction_id: Option<i64>,
    pub reaction_name: String,
    pub monitor_id: Option<i64>,
    pub monitor_name: String,
    pub check_id: Option<i64>,
    /// The monitor state that triggered it.
    pub monitor_state: MonitorState,
    pub connection_id: Option<i64>,
    pub app_name: String,
    pub kind: Option<ReactionKind>,
    pub outcome: ExecutionOutcome,
    /// "web 2 → 3", "would restart web.1", "web is at max 3".
    pub summary: String,
    pub detail: Option<ExecutionDetail>,
    pub error_message: Option<String>,
    pub heroku_status: Option<u16>,
    pub heroku_error_id: Option<String>,
    pub heroku_request_id: Option<String>,
    pub started_at: i64,
    pub duration_ms: Option<u32>,
}

/// Which executions a timeline or export shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionFilter {
    pub app: Option<String>,
    pub monitor_id: Option<i64>,
    pub reaction_id: Option<i64>,
    pub kind: Option<ReactionKind>,
    pub outcome: Option<ExecutionOutcome>,
    /// Earliest start, inclusive, in epoch milliseconds.
    pub since: Option<i64>,
    /// Latest start, exclusive, in epoch milliseconds.
    pub until: Option<i64>,
}

/// A position in the newest-first list of executions: the last row of the
/// previous page. Written as `<started_at>.<id>` in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionCursor {
    pub started_at: i64,
    pub id: i64,
}

impl ExecutionCursor {
    pub fn of(execution: &Execution) -> ExecutionCursor {
        ExecutionCursor { started_at: execution.started_at, id: execution.id }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.started_at, self.id)
    }

    pub fn decode(text: &str) -> Option<ExecutionCursor> {
        let (started_at, id) = text.split_once('.')?;
        Some(ExecutionCursor { started_at: started_at.parse().ok()?, id: id.parse().ok()? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionSummary {
    pub reaction: Reaction,
    pub last_execution: Option<Execution>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionList {
    pub items: Vec<ReactionSummary>,
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionDetail {
    pub reaction: Reaction,
    pub form: ReactionForm,
    pub executions: Vec<Execution>,
    /// The bound or refusal recorded last, while it still holds.
    pub blocked: Option<String>,
    pub can_edit: bool,
}

/// A monitor the form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorChoice {
    pub id: i64,
    pub name: String,
    pub state: MonitorState,
}

/// An app of one of the team's connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppChoice {
    pub connection_id: i64,
    pub connection_label: String,
    pub simulated: bool,
    pub app_name: String,
}

impl AppChoice {
    /// The form value naming this app: `<connection id>:<app name>`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.connection_id, self.app_name)
    }
}

/// Live facts about the chosen app, for the form's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveApp {
    /// (process type, quantity, size as Heroku names it).
    pub process_types: Vec<(String, u32, String)>,
    pub dynos: Vec<String>,
    pub current_release: Option<i64>,
}

/// Everything the reaction form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormOptions {
    pub monitors: Vec<MonitorChoice>,
    pub apps: Vec<AppChoice>,
    /// Why apps could not be listed for some connections.
    pub app_errors: Vec<String>,
    pub live: Option<LiveApp>,
    /// Why the chosen app's live state could not be read.
    pub live_error: Option<String>,
}

#[server(endpoint = "list_reactions")]
pub async fn list_reactions() -> Result<ReactionList, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::list(&state, &caller).await
}

#[server(endpoint = "get_reaction")]
pub async fn get_reaction(id: i64) -> Result<ReactionDetail, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::detail(&state, &caller, id).await
}

/// What the reaction's next trigger would do now, from live Heroku state.
#[server(endpoint = "preview_reaction")]
pub async fn preview_reaction(id: i64) -> Result<String, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::preview_saved(&state, &caller, id).await
}

/// What a reaction with these (unsaved) settings would do now.
#[server(endpoint = "preview_reaction_form")]
pub async fn preview_reaction_form(form: ReactionForm) -> Result<String, AppError> {
    ssr::preview_form(form).await
}

/// The monitors, apps and live app facts the form offers; `app` is
/// `<connection id>:<app name>` or empty.
#[server(endpoint = "reaction_form_options")]
pub async fn reaction_form_options(app: String) -> Result<FormOptions, AppError> {
    ssr::form_options(app).await
}

#[server(endpoint = "create_reaction")]
pub async fn create_reaction(form: ReactionForm) -> Result<i64, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    let id = ssr::create(&state, &caller, form).await?;
    leptos_axum::redirect(&format!("/reactions/{id}"));
    Ok(id)
}

#[server(endpoint = "update_reaction")]
pub async fn update_reaction(id: i64, form: ReactionForm) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::update(&state, &caller, id, form).await?;
    leptos_axum::redirect(&format!("/reactions/{id}"));
    Ok(())
}

#[server(endpoint = "delete_reaction")]
pub async fn delete_reaction(id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::delete(&state, &caller, id).await?;
    leptos_axum::redirect("/reactions");
    Ok(())
}

#[server(endpoint = "set_reaction_enabled")]
pub async fn set_reaction_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::set_enabled(&state, &caller, id, enabled).await
}
