//! `/api/v1/connections`: Heroku connections (never their secrets) and the
//! apps they reach, through [`crate::connections::ssr`].

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::accounts::ssr::Caller;
use crate::connections::ssr as connections;
use crate::connections::{AppDetails, Connection, ConnectionApps, Disconnected};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    pub items: Vec<Connection>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// A Heroku API key (`heroku authorizations:create`); Rebound checks it
    /// with Heroku before saving it, encrypted.
    pub api_key: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailsQuery {
    /// Fetch from Heroku again instead of using the copy fetched last.
    refresh: Option<bool>,
}

/// List Heroku connections
#[utoipa::path(get, path = "/api/v1/connections", tag = "Connections",
    responses((status = 200, body = ConnectionList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<axum::Json<ConnectionList>> {
    Ok(axum::Json(ConnectionList { items: connections::connections(&state, &caller).await? }))
}

/// Connect a Heroku account by API key
#[utoipa::path(post, path = "/api/v1/connections", tag = "Connections", request_body = NewConnection,
    responses((status = 201, body = Connection)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewConnection>,
) -> ApiResult<impl IntoResponse> {
    let connection = connections::connect_api_key(&state, &caller, body.api_key).await?;
    Ok((StatusCode::CREATED, axum::Json(connection)))
}

/// Remove a connection; OAuth grants are revoked at Heroku
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "Connections", params(("id" = i64, Path)),
    responses((status = 200, body = Disconnected)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<Disconnected>> {
    Ok(axum::Json(connections::disconnect(&state, &caller, id).await?))
}

/// List the apps a connection reaches
#[utoipa::path(get, path = "/api/v1/connections/{id}/apps", tag = "Connections", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionApps)))]
pub async fn apps(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ConnectionApps>> {
    Ok(axum::Json(connections::list_apps(&state, &caller, id).await?))
}

/// Get an app's formation, dynos and recent releases
#[utoipa::path(get, path = "/api/v1/connections/{id}/apps/{app}", tag = "Connections",
    params(("id" = i64, Path), ("app" = String, Path, description = "App name or id"), DetailsQuery),
    responses((status = 200, body = AppDetails)))]
pub async fn app(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, app)): ApiPath<(i64, String)>,
    ApiQuery(query): ApiQuery<DetailsQuery>,
) -> ApiResult<axum::Json<AppDetails>> {
    let refresh = query.refresh.unwrap_or(false);
    Ok(axum::Json(connections::app_details(&state, &caller, id, app, refresh).await?))
}
