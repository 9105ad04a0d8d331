//! Configuration as code: a team's monitors and reactions as one YAML or
//! JSON file, without secrets, that an import applies to a team (its own or
//! another) by creating or updating objects by name.

mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::ConfigPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Format of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Yaml,
    Json,
}

impl FileFormat {
    pub fn parse(text: &str) -> Option<FileFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(FileFormat::Yaml),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Yaml => "yaml",
            FileFormat::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Yaml => "application/yaml",
            FileFormat::Json => "application/json",
        }
    }
}

/// What an import does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One object of an import and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Change {
    /// `monitor` or `reaction`.
    pub object: String,
    pub name: String,
    pub action: Action,
    /// For updates: the settings that change.
    pub fields: Vec<String>,
}

impl Change {
    /// One line for people, e.g. `update monitor checkout: interval_secs, url`.
    pub fn describe(&self) -> String {
        let mut line = format!("{} {} {}", self.action.as_str(), self.object, self.name);
        if !self.fields.is_empty() {
            line.push_str(": ");
            line.push_str(&self.fields.join(", "));
        }
        line
    }
}

/// The result of an import, or with `dry_run` what it would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    pub changes: Vec<Change>,
}

/// An exported configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedConfig {
    pub format: FileFormat,
    pub text: String,
}

/// Returns the team's monitors and reactions as a file in `format` (`yaml`
/// or `json`).
#[server(endpoint = "export_team_config")]
pub async fn export_team_config(format: String) -> Result<ExportedConfig, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    let format = ssr::parse_format("format", &format)?;
    let config = ssr::export(&state, &caller).await?;
    Ok(ExportedConfig { format, text: ssr::render(&config, format)? })
}

/// Applies a configuration file to the team; with `dry_run` set (a
/// checkbox), only reports what it would change.
#[server(endpoint = "import_team_config")]
pub async fn import_team_config(
    text: String,
    dry_run: Option<String>,
) -> Result<ImportReport, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::import(&state, &caller, &text, None, dry_run.is_some()).await
}
