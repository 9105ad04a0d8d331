//! `/api/v1/monitors`: the same operations as the monitor pages, through
//! [`crate::monitors::ssr`].

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::accounts::ssr::{Caller, origin_of};
use crate::monitors::spec::MonitorSpec;
use crate::monitors::ssr as monitors;
use crate::monitors::{CheckNowResult, CheckRecord, LastCheck, Monitor, MonitorState, StateChange};
use crate::state::AppState;

/// Items per page of checks and state changes when `limit` is absent.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// A monitor with its current state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiMonitor {
    pub id: i64,
    pub spec: MonitorSpec,
    pub state: MonitorState,
    pub state_changed_at: i64,
    pub last_check: Option<LastCheck>,
    pub last_ping_at: Option<i64>,
    /// Heartbeat monitors: the secret URL a job calls (GET or POST, no
    /// token); shown to editors and admins only.
    pub heartbeat_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ApiMonitor {
    fn new(monitor: Monitor, heartbeat_url: Option<String>) -> ApiMonitor {
        let form = monitors::form_of(&monitor);
        ApiMonitor {
            id: monitor.id,
            spec: MonitorSpec::from_form(&form, monitor.settings.kind()),
            state: monitor.state,
            state_changed_at: monitor.state_changed_at,
            last_check: monitor.last_check,
            last_ping_at: monitor.last_ping_at,
            heartbeat_url,
            created_at: monitor.created_at,
            updated_at: monitor.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorPage {
    pub items: Vec<ApiMonitor>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckPage {
    pub items: Vec<CheckRecord>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateChangePage {
    pub items: Vec<StateChange>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `healthy`, `failed` or `paused`; all when absent.
    state: Option<String>,
    /// The `next` value of the previous page.
    after: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` value of the previous page.
    before: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    limit: Option<u32>,
}

fn limit_of(limit: Option<u32>) -> ApiResult<u32> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        other => Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}; got {other}."),
        )),
    }
}

async fn load(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: i64,
) -> ApiResult<ApiMonitor> {
    let detail = monitors::detail(state, caller, id, &origin_of(state, headers)).await?;
    Ok(ApiMonitor::new(detail.monitor, detail.heartbeat_url))
}

/// List monitors
#[utoipa::path(get, path = "/api/v1/monitors", tag = "Monitors", params(ListQuery),
    responses((status = 200, body = MonitorPage)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<axum::Json<MonitorPage>> {
    let page = monitors::list(
        &state,
        &caller,
        query.state.unwrap_or_default(),
        query.after.unwrap_or_default(),
    )
    .await?;
    let items =
        page.items.into_iter().map(|summary| ApiMonitor::new(summary.monitor, None)).collect();
    Ok(axum::Json(MonitorPage { items, next: page.next }))
}

/// Create a monitor
#[utoipa::path(post, path = "/api/v1/monitors", tag = "Monitors", request_body = MonitorSpec,
    responses((status = 201, body = ApiMonitor)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(spec): ApiJson<MonitorSpec>,
) -> ApiResult<impl IntoResponse> {
    let id = monitors::create(&state, &caller, spec.to_form()).await?;
    Ok((StatusCode::CREATED, axum::Json(load(&state, &caller, &headers, id).await?)))
}

/// Get a monitor
#[utoipa::path(get, path = "/api/v1/monitors/{id}", tag = "Monitors", params(("id" = i64, Path)),
    responses((status = 200, body = ApiMonitor)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiMonitor>> {
    Ok(axum::Json(load(&state, &caller, &headers, id).await?))
}

/// Replace a monitor's settings
#[utoipa::path(put, path = "/api/v1/monitors/{id}", tag = "Monitors", params(("id" = i64, Path)),
    request_body = MonitorSpec, responses((status = 200, body = ApiMonitor)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<MonitorSpec>,
) -> ApiResult<axum::Json<ApiMonitor>> {
    monitors::update(&state, &caller, id, spec.to_form()).await?;
    Ok(axum::Json(load(&state, &caller, &headers, id).await?))
}

/// Delete a monitor and its reactions
#[utoipa::path(delete, path = "/api/v1/monitors/{id}", tag = "Monitors", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    monitors::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a monitor
#[utoipa::path(post, path = "/api/v1/monitors/{id}/pause", tag = "Monitors", params(("id" = i64, Path)),
    responses((status = 200, body = ApiMonitor)))]
pub async fn pause(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiMonitor>> {
    monitors::pause(&state, &caller, id).await?;
    Ok(axum::Json(load(&state, &caller, &headers, id).await?))
}

/// Resume a paused monitor
#[utoipa::path(post, path = "/api/v1/monitors/{id}/resume", tag = "Monitors", params(("id" = i64, Path)),
    responses((status = 200, body = ApiMonitor)))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiMonitor>> {
    monitors::resume(&state, &caller, id).await?;
    Ok(axum::Json(load(&state, &caller, &headers, id).await?))
}

/// Run one check now; the result is returned, not stored
#[utoipa::path(post, path = "/api/v1/monitors/{id}/check", tag = "Monitors", params(("id" = i64, Path)),
    responses((status = 200, body = CheckNowResult)))]
pub async fn check_now(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<CheckNowResult>> {
    Ok(axum::Json(monitors::check_now(&state, &caller, id).await?))
}

/// List a monitor's check results, newest first
#[utoipa::path(get, path = "/api/v1/monitors/{id}/checks", tag = "Monitors",
    params(("id" = i64, Path), PageQuery), responses((status = 200, body = CheckPage)))]
pub async fn checks(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<CheckPage>> {
    let limit = limit_of(query.limit)?;
    let before = match query.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "before",
                format!("before {raw:?} is not a cursor from a previous page."),
            )
        })?),
    };
    let items = monitors::checks(&state, &caller, id, before, limit).await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|check| check.id.to_string()))
        .flatten();
    Ok(axum::Json(CheckPage { items, next }))
}

/// List a monitor's state changes, newest first
#[utoipa::path(get, path = "/api/v1/monitors/{id}/state-changes", tag = "Monitors",
    params(("id" = i64, Path), PageQuery), responses((status = 200, body = StateChangePage)))]
pub async fn state_changes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<StateChangePage>> {
    let limit = limit_of(query.limit)?;
    let before = match query.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.split_once('.')
                .and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "before",
                        format!("before {raw:?} is not a cursor from a previous page."),
                    )
                })?,
        ),
    };
    let items = monitors::changes(&state, &caller, id, before, limit).await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|change| format!("{}.{}", change.changed_at, change.id)))
        .flatten();
    Ok(axum::Json(StateChangePage { items, next }))
}
