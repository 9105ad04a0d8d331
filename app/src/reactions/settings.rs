//! The eight reaction kinds, their settings, and the form that edits them.

use serde::{Deserialize, Serialize};

use crate::heroku::sizes::DynoSize;
use crate::monitors::MonitorState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReactionKind {
    ScaleOut,
    ScaleIn,
    ScaleUp,
    ScaleDown,
    RestartDyno,
    RestartAll,
    Rollback,
    OneOff,
}

impl ReactionKind {
    pub const ALL: [ReactionKind; 8] = [
        ReactionKind::ScaleOut,
        ReactionKind::ScaleIn,
        ReactionKind::ScaleUp,
        ReactionKind::ScaleDown,
        ReactionKind::RestartDyno,
        ReactionKind::RestartAll,
        ReactionKind::Rollback,
        ReactionKind::OneOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::ScaleOut => "scale_out",
            ReactionKind::ScaleIn => "scale_in",
            ReactionKind::ScaleUp => "scale_up",
            ReactionKind::ScaleDown => "scale_down",
            ReactionKind::RestartDyno => "restart_dyno",
            ReactionKind::RestartAll => "restart_all",
            ReactionKind::Rollback => "rollback",
            ReactionKind::OneOff => "one_off",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReactionKind::ScaleOut => "Scale out",
            ReactionKind::ScaleIn => "Scale in",
            ReactionKind::ScaleUp => "Scale up",
            ReactionKind::ScaleDown => "Scale down",
            ReactionKind::RestartDyno => "Restart one dyno",
            ReactionKind::RestartAll => "Restart all dynos",
            ReactionKind::Rollback => "Roll back release",
            ReactionKind::OneOff => "Run one-off dyno",
        }
    }

    /// One sentence on what a trigger does.
    pub fn description(self) -> &'static str {
        match self {
            ReactionKind::ScaleOut => "Adds one dyno to a process type, up to a maximum quantity.",
            ReactionKind::ScaleIn => {
                "Removes one dyno from a process type, down to a minimum quantity."
            }
            ReactionKind::ScaleUp => {
                "Moves a process type one size up (Standard-1X → Standard-2X → Performance-M …), up to a maximum size."
            }
            ReactionKind::ScaleDown => {
                "Moves a process type one size down, down to a minimum size."
            }
            ReactionKind::RestartDyno => "Restarts one named dyno, e.g. web.1.",
            ReactionKind::RestartAll => "Restarts every dyno of the app.",
            ReactionKind::Rollback => {
                "Rolls the app back one release, never below a minimum release version."
            }
            ReactionKind::OneOff => "Runs a command in a detached one-off dyno.",
        }
    }

    pub fn parse(text: &str) -> Option<ReactionKind> {
        ReactionKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether the kind acts on one process type of the formation.
    pub fn needs_process_type(self) -> bool {
        matches!(
            self,
            ReactionKind::ScaleOut
                | ReactionKind::ScaleIn
                | ReactionKind::ScaleUp
                | ReactionKind::ScaleDown
        )
    }
}

/// The monitor result a reaction acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallOn {
    Healthy,
    Failed,
}

impl CallOn {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOn::Healthy => "healthy",
            CallOn::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CallOn::Healthy => "Healthy",
            CallOn::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<CallOn> {
        match text {
            "healthy" => Some(CallOn::Healthy),
            "failed" => Some(CallOn::Failed),
            _ => None,
        }
    }

    pub fn matches(self, state: MonitorState) -> bool {
        matches!(
            (self, state),
            (CallOn::Healthy, MonitorState::Healthy) | (CallOn::Failed, MonitorState::Failed)
        )
    }
}

/// Kind-specific settings, stored as JSON in the reaction row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReactionSettings {
    ScaleOut { process_type: String, max_quantity: u32 },
    ScaleIn { process_type: String, min_quantity: u32 },
    ScaleUp { process_type: String, max_size: DynoSize },
    ScaleDown { process_type: String, min_size: DynoSize },
    RestartDyno { dyno_name: String },
    RestartAll,
    Rollback { min_release_version: i64 },
    OneOff { command: String, size: Option<DynoSize>, time_to_live_secs: Option<u32> },
}

impl ReactionSettings {
    pub fn kind(&self) -> ReactionKind {
        match self {
            ReactionSettings::ScaleOut { .. } => ReactionKind::ScaleOut,
            ReactionSettings::ScaleIn { .. } => ReactionKind::ScaleIn,
            ReactionSettings::ScaleUp { .. } => ReactionKind::ScaleUp,
            ReactionSettings::ScaleDown { .. } => ReactionKind::ScaleDown,
            ReactionSettings::RestartDyno { .. } => ReactionKind::RestartDyno,
            ReactionSettings::RestartAll => ReactionKind::RestartAll,
            ReactionSettings::Rollback { .. } => ReactionKind::Rollback,
            ReactionSettings::OneOff { .. } => ReactionKind::OneOff,
        }
    }

    /// Describes the bound or target in a few words, for lists.
    pub fn describe(&self) -> String {
        match self {
            ReactionSettings::ScaleOut { process_type, max_quantity } => {
                format!("{process_type} +1, max {max_quantity}")
            }
            ReactionSettings::ScaleIn { process_type, min_quantity } => {
                format!("{process_type} −1, min {min_quantity}")
            }
            ReactionSettings::ScaleUp { process_type, max_size } => {
                format!("{process_type} one size up, max {max_size}")
            }
            ReactionSettings::ScaleDown { process_type, min_size } => {
                format!("{process_type} one size down, min {min_size}")
            }
            ReactionSettings::RestartDyno { dyno_name } => format!("restart {dyno_name}"),
            ReactionSettings::RestartAll => "restart all dynos".to_string(),
            ReactionSettings::Rollback { min_release_version } => {
                format!("one release back, min v{min_release_version}")
            }
            ReactionSettings::OneOff { command, .. } => format!("run `{command}`"),
        }
    }
}

/// One-off dynos live at most a day on Heroku (`time_to_live` maximum 86,400 s).
pub const MAX_TIME_TO_LIVE_SECS: u32 = 86_400;
pub const MAX_TRIGGER_COUNT: u32 = 100;
pub const MAX_FREQUENCY_SECS: u32 = 7 * 86_400;

/// The create and edit form as the browser submits it. The app is chosen
/// first, as `<connection id>:<app name>` in `app`, because the process
/// types, dynos and releases offered depend on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReactionForm {
    pub name: String,
    pub kind: String,
    pub monitor_id: String,
    pub app: String,
    pub call_on: String,
    pub process_type: String,
    pub min_quantity: String,
    pub max_quantity: String,
    pub min_size: String,
    pub max_size: String,
    pub dyno_name: String,
    pub min_release_version: String,
    pub command: String,
    pub size: String,
    pub time_to_live_secs: String,
    pub trigger_count: String,
    pub frequency_secs: String,
    pub dry_run: Option<String>,
    pub enabled: Option<String>,
}
