//! `/api/v1/reactions` and `/api/v1/executions`: the same operations as the
//! reaction pages and the timeline, through [`crate::reactions::ssr`].

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::accounts::ssr::Caller;
use crate::monitors::MonitorState;
use crate::reactions::spec::ReactionSpec;
use crate::reactions::ssr as reactions;
use crate::reactions::{
    Execution, ExecutionCursor, ExecutionFilter, ExecutionOutcome, Reaction, ReactionKind,
    ReactionStatus,
};
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// A reaction with its current status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiReaction {
    pub id: i64,
    pub spec: ReactionSpec,
    pub monitor_state: MonitorState,
    /// `enabled`, `dry_run`, `disabled` or `paused` (enabled, but its
    /// connection cannot act, for the reason in `paused_reason`).
    pub status: String,
    pub paused_reason: Option<String>,
    /// Matching checks in a row so far.
    pub consecutive_matches: u32,
    pub last_acted_at: Option<i64>,
    pub last_execution: Option<Execution>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ApiReaction {
    fn new(reaction: Reaction, last_execution: Option<Execution>) -> ApiReaction {
        let (status, paused_reason) = match reaction.status() {
            ReactionStatus::Enabled => ("enabled", None),
            ReactionStatus::DryRun => ("dry_run", None),
            ReactionStatus::Disabled => ("disabled", None),
            ReactionStatus::Paused(reason) => ("paused", Some(reason)),
        };
        ApiReaction {
            id: reaction.id,
            spec: ReactionSpec::of(&reaction),
            monitor_state: reaction.monitor_state,
            status: status.to_string(),
            paused_reason,
            consecutive_matches: reaction.consecutive_matches,
            last_acted_at: reaction.last_acted_at,
            last_execution,
            created_at: reaction.created_at,
            updated_at: reaction.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionList {
    pub items: Vec<ApiReaction>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The next trigger's step as the app's live state stands now, e.g.
    /// "Next trigger: web 2 → 3 (max 3)".
    pub preview: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPage {
    pub items: Vec<Execution>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

async fn load(state: &AppState, caller: &Caller, id: i64) -> ApiResult<ApiReaction> {
    let detail = reactions::detail(state, caller, id).await?;
    Ok(ApiReaction::new(detail.reaction, detail.executions.into_iter().next()))
}

/// List reactions
#[utoipa::path(get, path = "/api/v1/reactions", tag = "Reactions",
    responses((status = 200, body = ReactionList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<axum::Json<ReactionList>> {
    let list = reactions::list(&state, &caller).await?;
    let items = list
        .items
        .into_iter()
        .map(|summary| ApiReaction::new(summary.reaction, summary.last_execution))
        .collect();
    Ok(axum::Json(ReactionList { items }))
}

/// Create a reaction
#[utoipa::path(post, path = "/api/v1/reactions", tag = "Reactions", request_body = ReactionSpec,
    responses((status = 201, body = ApiReaction)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(spec): ApiJson<ReactionSpec>,
) -> ApiResult<impl IntoResponse> {
    let form = reactions::resolve_spec(&state, &caller, &spec).await?;
    let id = reactions::create(&state, &caller, form).await?;
    Ok((StatusCode::CREATED, axum::Json(load(&state, &caller, id).await?)))
}

/// Get a reaction
#[utoipa::path(get, path = "/api/v1/reactions/{id}", tag = "Reactions", params(("id" = i64, Path)),
    responses((status = 200, body = ApiReaction)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiReaction>> {
    Ok(axum::Json(load(&state, &caller, id).await?))
}

/// Replace a reaction's settings
#[utoipa::path(put, path = "/api/v1/reactions/{id}", tag = "Reactions", params(("id" = i64, Path)),
    request_body = ReactionSpec, responses((status = 200, body = ApiReaction)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<ReactionSpec>,
) -> ApiResult<axum::Json<ApiReaction>> {
    load(&state, &caller, id).await?;
    let form = reactions::resolve_spec(&state, &caller, &spec).await?;
    reactions::update(&state, &caller, id, form).await?;
    Ok(axum::Json(load(&state, &caller, id).await?))
}

/// Delete a reaction; its executions stay
#[utoipa::path(delete, path = "/api/v1/reactions/{id}", tag = "Reactions", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    reactions::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable a reaction
#[utoipa::path(post, path = "/api/v1/reactions/{id}/enable", tag = "Reactions", params(("id" = i64, Path)),
    responses((status = 200, body = ApiReaction)))]
pub async fn enable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiReaction>> {
    reactions::set_enabled(&state, &caller, id, true).await?;
    Ok(axum::Json(load(&state, &caller, id).await?))
}

/// Disable a reaction, e.g. during maintenance
#[utoipa::path(post, path = "/api/v1/reactions/{id}/disable", tag = "Reactions", params(("id" = i64, Path)),
    responses((status = 200, body = ApiReaction)))]
pub async fn disable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiReaction>> {
    reactions::set_enabled(&state, &caller, id, false).await?;
    Ok(axum::Json(load(&state, &caller, id).await?))
}

/// Preview what the reaction's next trigger would do now
#[utoipa::path(get, path = "/api/v1/reactions/{id}/preview", tag = "Reactions", params(("id" = i64, Path)),
    responses((status = 200, body = Preview)))]
pub async fn preview(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<Preview>> {
    Ok(axum::Json(Preview { preview: reactions::preview_saved(&state, &caller, id).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecutionQuery {
    /// Only executions on this Heroku app.
    app: Option<String>,
    monitor_id: Option<i64>,
    reaction_id: Option<i64>,
    /// A reaction kind, e.g. `scale_out`.
    kind: Option<String>,
    /// `running`, `succeeded`, `dry_run`, `at_bound`, `skipped_cooldown`,
    /// `skipped_busy` or `failed`.
    outcome: Option<String>,
    /// Earliest start, inclusive, in epoch milliseconds.
    since: Option<i64>,
    /// Latest start, exclusive, in epoch milliseconds.
    until: Option<i64>,
    /// The `next` value of the previous page.
    before: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

impl ExecutionQuery {
    fn filter(&self) -> ApiResult<ExecutionFilter> {
        let kind = match self.kind.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(ReactionKind::parse(raw).ok_or_else(|| {
                ApiError::invalid(
                    "kind",
                    format!("kind {raw:?} is not a reaction kind, e.g. scale_out."),
                )
            })?),
        };
        let outcome = match self.outcome.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(ExecutionOutcome::parse(raw).ok_or_else(|| {
                ApiError::invalid(
                    "outcome",
                    format!("outcome {raw:?} is unknown, e.g. succeeded or failed."),
                )
            })?),
        };
        Ok(ExecutionFilter {
            app: self.app.clone().filter(|app| !app.is_empty()),
            monitor_id: self.monitor_id,
            reaction_id: self.reaction_id,
            kind,
            outcome,
            since: self.since,
            until: self.until,
        })
    }
}

/// List executions, newest first, with the timeline's filters
#[utoipa::path(get, path = "/api/v1/executions", tag = "Executions", params(ExecutionQuery),
    responses((status = 200, body = ExecutionPage)))]
pub async fn executions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ExecutionQuery>,
) -> ApiResult<axum::Json<ExecutionPage>> {
    let filter = query.filter()?;
    let limit = match query.limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => limit,
        other => {
            return Err(ApiError::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}; got {other}."),
            ));
        }
    };
    let before = match query.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(ExecutionCursor::decode(raw).ok_or_else(|| {
            ApiError::invalid(
                "before",
                format!("before {raw:?} is not a cursor from a previous page."),
            )
        })?),
    };
    let items = reactions::executions(&state, &caller, &filter, before, limit).await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|last| ExecutionCursor::of(last).encode()))
        .flatten();
    Ok(axum::Json(ExecutionPage { items, next }))
}

/// Get an execution
#[utoipa::path(get, path = "/api/v1/executions/{id}", tag = "Executions", params(("id" = i64, Path)),
    responses((status = 200, body = Execution)))]
pub async fn execution(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<Execution>> {
    Ok(axum::Json(reactions::execution(&state, &caller, id).await?))
}
