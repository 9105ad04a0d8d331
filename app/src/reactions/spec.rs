//! A reaction as the REST API and configuration files write it. It names
//! its monitor and Heroku connection by id or by name (the connection by
//! its Heroku account's email), so a configuration file can move between
//! teams. [`super::ssr::resolve_spec`] turns it into the form the pages
//! submit, so the same checks apply.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reaction;
use super::settings::{CallOn, ReactionForm, ReactionKind, ReactionSettings};

/// A reaction's settings. Fields that do not apply to its kind are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionSpec {
    /// Unique in the team; imports match reactions by it.
    pub name: String,
    pub kind: ReactionKind,
    /// The monitor whose checks trigger it, by id...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_id: Option<i64>,
    /// ...or by name (used when `monitor_id` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// The Heroku connection, by id...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<i64>,
    /// ...or by the email of its Heroku account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Name of the Heroku app it acts on.
    pub app: String,
    pub call_on: CallOn,
    /// Scale kinds: the process type, e.g. `web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<u32>,
    /// Dyno size names as Heroku writes them, e.g. `Standard-2X`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<String>,
    /// Restart one dyno: its name, e.g. `web.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dyno_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_release_version: Option<i64>,
    /// One-off dyno: the command, run exactly as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live_secs: Option<u32>,
    /// Matching checks in a row before it acts (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_count: Option<u32>,
    /// Minimum seconds between two runs (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_secs: Option<u32>,
    /// Record what it would do without calling Heroku (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

fn text(value: &Option<impl ToString>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl ReactionSpec {
    /// Builds the form the pages would submit, given the resolved monitor
    /// and connection ids.
    pub fn to_form(&self, monitor_id: i64, connection_id: i64) -> ReactionForm {
        ReactionForm {
            name: self.name.clone(),
            kind: self.kind.as_str().to_string(),
            monitor_id: monitor_id.to_string(),
            app: format!("{connection_id}:{}", self.app),
            call_on: self.call_on.as_str().to_string(),
            process_type: text(&self.process_type),
            min_quantity: text(&self.min_quantity),
            max_quantity: text(&self.max_quantity),
            min_size: text(&self.min_size),
            max_size: text(&self.max_size),
            dyno_name: text(&self.dyno_name),
            min_release_version: text(&self.min_release_version),
            command: text(&self.command),
            size: text(&self.size),
            time_to_live_secs: text(&self.time_to_live_secs),
            trigger_count: text(&self.trigger_count),
            frequency_secs: text(&self.frequency_secs),
            dry_run: self.dry_run.unwrap_or(false).then(|| "on".to_string()),
            enabled: self.enabled.unwrap_or(true).then(|| "on".to_string()),
        }
    }

    /// Reads the settings of a stored reaction, naming its monitor and
    /// connection both by id and by name.
    pub fn of(reaction: &Reaction) -> ReactionSpec {
        let mut spec = ReactionSpec {
            name: reaction.name.clone(),
            kind: reaction.settings.kind(),
            monitor_id: Some(reaction.monitor_id),
            monitor: Some(reaction.monitor_name.clone()),
            connection_id: reaction.connection_id,
            connection: reaction.connection_email.clone(),
            app: reaction.app_name.clone(),
            call_on: reaction.call_on,
            process_type: None,
            min_quantity: None,
            max_quantity: None,
            min_size: None,
            max_size: None,
            dyno_name: None,
            min_release_version: None,
            command: None,
            size: None,
            time_to_live_secs: None,
            trigger_count: Some(reaction.trigger_count),
            frequency_secs: Some(reaction.frequency_secs),
            dry_run: Some(reaction.dry_run),
            enabled: Some(reaction.enabled),
        };
        match &reaction.settings {
            ReactionSettings::ScaleOut { process_type, max_quantity } => {
                spec.process_type = Some(process_type.clone());
                spec.max_quantity = Some(*max_quantity);
            }
            ReactionSettings::ScaleIn { process_type, min_quantity } => {
                spec.process_type = Some(process_type.clone());
                spec.min_quantity = Some(*min_quantity);
            }
            ReactionSettings::ScaleUp { process_type, max_size } => {
                spec.process_type = Some(process_type.clone());
                spec.max_size = Some(max_size.as_str().to_string());
            }
            ReactionSettings::ScaleDown { process_type, min_size } => {
                spec.process_type = Some(process_type.clone());
                spec.min_size = Some(min_size.as_str().to_string());
            }
            ReactionSettings::RestartDyno { dyno_name } => spec.dyno_name = Some(dyno_name.clone()),
            ReactionSettings::RestartAll => {}
            ReactionSettings::Rollback { min_release_version } => {
                spec.min_release_version = Some(*min_release_version)
            }
            ReactionSettings::OneOff { command, size, time_to_live_secs } => {
                spec.command = Some(command.clone());
                spec.size = size.map(|size| size.as_str().to_string());
                spec.time_to_live_secs = *time_to_live_secs;
            }
        }
        spec
    }

    /// Drops the ids, so the monitor and connection are named by name only,
    /// as configuration files do.
    pub fn by_name(mut self) -> ReactionSpec {
        self.monitor_id = None;
        self.connection_id = None;
        self
    }
}
