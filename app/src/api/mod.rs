//! The REST API under `/api/v1`: the tokens that authenticate it, the
//! settings page that manages them, and the page listing its endpoints. The
//! handlers, the token check, the rate limit and the OpenAPI document are
//! server-only, in `ssr`.

mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{ApiReferencePage, ApiSettingsPage};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::Role;
use crate::error::AppError;

/// Every token starts with this, so it is recognisable in a script or a
/// secret scanner.
pub const TOKEN_PREFIX: &str = "rbd_";

/// Expiry choices of the settings page, in days; 0 means never.
pub const EXPIRY_CHOICES: [u32; 5] = [30, 90, 365, 7, 0];

/// An API token as the settings page lists it; never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The token's first characters, e.g. `rbd_Xq3f9a`.
    pub prefix: String,
    /// Email of the member who created it; `None` for an operator's token
    /// or a creator whose account is gone.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiToken {
    /// `Active`, `Expired` or `Revoked` at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at.is_some_and(|expires_at| expires_at <= now) {
            "Expired"
        } else {
            "Active"
        }
    }
}

/// A token just created. `token` is its value, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub role: Role,
    pub expires_at: Option<i64>,
}

/// Everything the tokens section of the settings page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokens {
    pub tokens: Vec<ApiToken>,
    /// Roles the caller may give a new token, highest first.
    pub grantable: Vec<Role>,
    pub now: i64,
}

/// One endpoint on the reference page, taken from the OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub summary: String,
    /// Monitors, Reactions, Connections, Executions or Configuration.
    pub tag: String,
}

/// Lists the team's API tokens, for admins.
#[server(endpoint = "list_api_tokens")]
pub async fn list_api_tokens() -> Result<ApiTokens, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::tokens::list(&state, &caller).await
}

/// Creates a token for the team with a role no higher than the caller's.
/// `expires_in_days` is a whole number of days, or empty or 0 for never.
#[server(endpoint = "create_api_token")]
pub async fn create_api_token(
    name: String,
    role: String,
    expires_in_days: String,
) -> Result<NewApiToken, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::tokens::create(&state, &caller, &name, &role, &expires_in_days).await
}

#[server(endpoint = "revoke_api_token")]
pub async fn revoke_api_token(token_id: i64) -> Result<(), AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::tokens::revoke(&state, &caller, token_id).await
}

/// Lists the API's endpoints, as the OpenAPI document describes them, for
/// signed-in members. The document itself at `/api/v1/openapi.json` is
/// public, so that API clients can fetch it without a token.
#[server(endpoint = "api_reference")]
pub async fn api_reference() -> Result<Vec<Endpoint>, AppError> {
    crate::accounts::ssr::require_role(Role::Viewer).await?;
    Ok(ssr::openapi::endpoints())
}
