//! Heroku connections: the Heroku accounts a team connects (OAuth, an API
//! key, or the built-in sandbox), their apps, and one app's formation,
//! dynos and releases.

mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod tokens;

pub use pages::{ConnectionAppsPage, ConnectionsPage, HerokuAppPage};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::heroku::types::{App, Dyno, Formation, Release};

/// Authentication method of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// OAuth web flow: an access token that expires and a refresh token.
    #[serde(rename = "oauth")]
    OAuth,
    /// An API key pasted by an admin; it does not expire.
    ApiKey,
    /// An account in Rebound's simulated Heroku.
    Sandbox,
}

impl ConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::OAuth => "oauth",
            ConnectionKind::ApiKey => "api_key",
            ConnectionKind::Sandbox => "sandbox",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionKind::OAuth => "OAuth",
            ConnectionKind::ApiKey => "API key",
            ConnectionKind::Sandbox => "Sandbox",
        }
    }
}

impl TryFrom<String> for ConnectionKind {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "oauth" => Ok(ConnectionKind::OAuth),
            "api_key" => Ok(ConnectionKind::ApiKey),
            "sandbox" => Ok(ConnectionKind::Sandbox),
            other => Err(format!("unknown connection kind {other:?}")),
        }
    }
}

/// Whether a connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Ok,
    /// The OAuth grant no longer works; an admin must connect again.
    NeedsReauthorization,
    /// Heroku no longer accepts the API key (regenerated or revoked).
    Revoked,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Ok => "ok",
            ConnectionState::NeedsReauthorization => "needs_reauthorization",
            ConnectionState::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Ok => "OK",
            ConnectionState::NeedsReauthorization => "Needs re-authorization",
            ConnectionState::Revoked => "Revoked",
        }
    }
}

impl TryFrom<String> for ConnectionState {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "ok" => Ok(ConnectionState::Ok),
            "needs_reauthorization" => Ok(ConnectionState::NeedsReauthorization),
            "revoked" => Ok(ConnectionState::Revoked),
            other => Err(format!("unknown connection state {other:?}")),
        }
    }
}

/// A connection as pages show it; never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Connection {
    pub id: i64,
    pub kind: ConnectionKind,
    /// The Heroku account's email.
    pub email: String,
    pub state: ConnectionState,
    pub state_reason: Option<String>,
    pub connected_at: i64,
    /// The last `RateLimit-Remaining` figure and when it was seen.
    pub rate_limit_remaining: Option<i64>,
    pub rate_limit_observed_at: Option<i64>,
    /// The account lives in Rebound's sandbox, not at Heroku.
    pub simulated: bool,
}

/// Everything the connections page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsOverview {
    pub connections: Vec<Connection>,
    /// An OAuth client for Heroku is configured.
    pub oauth_configured: bool,
    /// The sandbox is enabled, so sandbox accounts can be connected.
    pub sandbox_available: bool,
    /// The redirect URI to register with Heroku for this instance.
    pub callback_url: String,
    /// The caller may add and remove connections (admins and owners).
    pub can_manage: bool,
}

/// A connection's apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionApps {
    pub connection: Connection,
    pub apps: Vec<App>,
}

/// One app's formation, dynos and newest releases, as last fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppDetails {
    pub connection: Connection,
    pub app: App,
    pub formation: Vec<Formation>,
    pub dynos: Vec<Dyno>,
    /// Newest first, at most [`RELEASES_SHOWN`].
    pub releases: Vec<Release>,
    pub fetched_at: i64,
}

/// Releases shown on an app's page.
pub const RELEASES_SHOWN: usize = 10;

/// Authorization server of an OAuth flow, written `heroku` or `sandbox` in
/// forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthTarget {
    /// Heroku itself, with the configured OAuth client.
    Heroku,
    /// The sandbox's consent page, which simulates Heroku's.
    Sandbox,
}

impl OAuthTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthTarget::Heroku => "heroku",
            OAuthTarget::Sandbox => "sandbox",
        }
    }

    pub fn parse(value: &str) -> Option<OAuthTarget> {
        match value {
            "heroku" => Some(OAuthTarget::Heroku),
            "sandbox" => Some(OAuthTarget::Sandbox),
            _ => None,
        }
    }
}

/// The message the connections page shows for an OAuth failure code.
pub fn oauth_failure_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => {
            "You were signed out before Heroku sent you back. Sign in and connect again."
        }
        "state" => {
            "The answer from Heroku does not belong to a connection started in this browser session, so it was refused. Start again with the Connect button."
        }
        "expired" => "The connection attempt took longer than 15 minutes. Start again.",
        "denied" => "Access was not granted on Heroku's consent page; nothing was connected.",
        "forbidden" => "Only team admins can connect Heroku accounts.",
        "exchange" => {
            "Heroku did not confirm the authorization. Start again; if it keeps failing, check the OAuth client id, secret and callback URL."
        }
        "internal" => {
            "Rebound could not save the connection. Ask your administrator to check the server log."
        }
        _ => return None,
    })
}

/// The result of a disconnect, for the page's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Disconnected {
    pub email: String,
    /// Heroku confirmed that the authorization was revoked.
    pub revoked_at_heroku: bool,
    /// Advice for a person when revoking was not possible.
    pub note: Option<String>,
}

/// Lists the team's connections and how new ones can be made.
#[server(endpoint = "list_connections")]
pub async fn list_connections() -> Result<ConnectionsOverview, AppError> {
    ssr::list_connections().await
}

/// Connects a Heroku account by API key, after checking it with `GET /account`.
#[server(endpoint = "connect_api_key")]
pub async fn connect_api_key(api_key: String) -> Result<Connection, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::connect_api_key(&state, &caller, api_key).await
}

/// Starts the OAuth web flow. Returns the consent page URL; a form posted
/// without JavaScript is redirected there directly.
#[server(endpoint = "start_oauth")]
pub async fn start_oauth(target: String) -> Result<String, AppError> {
    ssr::start_oauth(target).await
}

/// Creates a fresh simulated account with demo apps and connects it.
#[server(endpoint = "connect_sandbox")]
pub async fn connect_sandbox() -> Result<Connection, AppError> {
    ssr::connect_sandbox().await
}

/// Revokes the connection at Heroku where possible and deletes its secrets.
#[server(endpoint = "disconnect_connection")]
pub async fn disconnect_connection(connection_id: i64) -> Result<Disconnected, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::disconnect(&state, &caller, connection_id).await
}

/// Lists the apps a connection reaches.
#[server(endpoint = "list_heroku_apps")]
pub async fn list_heroku_apps(connection_id: i64) -> Result<ConnectionApps, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::list_apps(&state, &caller, connection_id).await
}

/// Returns an app's details as last fetched, fetching them on first use.
#[server(endpoint = "heroku_app_details")]
pub async fn heroku_app_details(connection_id: i64, app: String) -> Result<AppDetails, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::app_details(&state, &caller, connection_id, app, false).await
}

/// Fetches an app's formation, dynos and releases from Heroku again.
#[server(endpoint = "refresh_heroku_app")]
pub async fn refresh_heroku_app(connection_id: i64, app: String) -> Result<AppDetails, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::app_details(&state, &caller, connection_id, app, true).await
}
