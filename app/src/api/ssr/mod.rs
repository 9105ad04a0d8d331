//! The REST API's server side: the router mounted at `/api/v1`, bearer-token
//! authentication with a per-token rate limit, and the handlers. Handlers
//! call the same functions as the server functions, with the token's
//! [`crate::accounts::ssr::Caller`], so every call is authorized as the same
//! action in the browser.

pub mod auth;
pub mod config;
pub mod connections;
pub mod error;
pub mod monitors;
pub mod openapi;
pub mod reactions;
pub mod tokens;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::state::AppState;
use error::ApiError;

/// Where the router is mounted.
pub const BASE_PATH: &str = "/api/v1";

/// Every route of the API but the OpenAPI document, relative to
/// [`BASE_PATH`]; each requires a token.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitors", get(monitors::list).post(monitors::create))
        .route("/monitors/{id}", get(monitors::get).put(monitors::update).delete(monitors::delete))
        .route("/monitors/{id}/pause", post(monitors::pause))
        .route("/monitors/{id}/resume", post(monitors::resume))
        .route("/monitors/{id}/check", post(monitors::check_now))
        .route("/monitors/{id}/checks", get(monitors::checks))
        .route("/monitors/{id}/state-changes", get(monitors::state_changes))
        .route("/reactions", get(reactions::list).post(reactions::create))
        .route(
            "/reactions/{id}",
            get(reactions::get).put(reactions::update).delete(reactions::delete),
        )
        .route("/reactions/{id}/enable", post(reactions::enable))
        .route("/reactions/{id}/disable", post(reactions::disable))
        .route("/reactions/{id}/preview", get(reactions::preview))
        .route("/executions", get(reactions::executions))
        .route("/executions/{id}", get(reactions::execution))
        .route("/connections", get(connections::list).post(connections::create))
        .route("/connections/{id}", axum::routing::delete(connections::delete))
        .route("/connections/{id}/apps", get(connections::apps))
        .route("/connections/{id}/apps/{app}", get(connections::app))
        .route("/config", get(config::export).post(config::import))
}

/// The API, to nest at [`BASE_PATH`]. The OpenAPI document needs no token.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(routes().route_layer(from_fn_with_state(state, auth::authenticate)))
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::not_found("There is no such API endpoint; /api/v1/openapi.json lists them all.")
}
