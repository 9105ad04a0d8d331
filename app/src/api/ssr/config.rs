//! `/api/v1/config`: a team's configuration as a file, and imports of it,
//! through [`crate::team_config::ssr`].

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiQuery, ApiResult};
use crate::accounts::ssr::Caller;
use crate::state::AppState;
use crate::team_config::ssr::{self as team_config, TeamConfig};
use crate::team_config::{FileFormat, ImportReport};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `yaml` (the default) or `json`.
    format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Report what would change without changing anything.
    dry_run: Option<bool>,
    /// `yaml` or `json`; by default the Content-Type decides, and without
    /// one a body starting with `{` is JSON.
    format: Option<String>,
}

/// Export the team's monitors and reactions
#[utoipa::path(get, path = "/api/v1/config", tag = "Configuration", params(ExportQuery),
    responses((status = 200, description = "The configuration file (YAML or JSON)",
        content((TeamConfig = "application/json"), (String = "application/yaml")))))]
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<impl IntoResponse> {
    let format = team_config::parse_format("format", query.format.as_deref().unwrap_or(""))?;
    let config = team_config::export(&state, &caller).await?;
    let text = team_config::render(&config, format)?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], text))
}

/// Import a configuration file: create or update monitors and reactions by name
#[utoipa::path(post, path = "/api/v1/config", tag = "Configuration", params(ImportQuery),
    request_body(content((TeamConfig = "application/json"), (String = "application/yaml"))),
    responses((status = 200, body = ImportReport)))]
pub async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<axum::Json<ImportReport>> {
    let format = match query.format.as_deref() {
        Some(raw) => Some(team_config::parse_format("format", raw)?),
        None => headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).and_then(
            |content_type| {
                if content_type.contains("json") {
                    Some(FileFormat::Json)
                } else if content_type.contains("yaml") {
                    Some(FileFormat::Yaml)
                } else {
                    None
                }
            },
        ),
    };
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(axum::Json(team_config::import(&state, &caller, &body, format, dry_run).await?))
}
