//! Server side of connections: connecting by API key, OAuth or the sandbox,
//! disconnecting, and reading apps through a connection.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

#[cfg(test)]
use super::oauth_failure_message;
use super::tokens::{ConnectionCredentials, access_token_label, refresh_token_label};
use super::{
    AppDetails, Connection, ConnectionApps, ConnectionKind, ConnectionsOverview, Disconnected,
    OAuthTarget, RELEASES_SHOWN,
};
use crate::accounts::Role;
use crate::accounts::ssr::{Caller, random_token, request_origin, require_role, session_user};
use crate::crypto;
use crate::error::AppError;
use crate::heroku::client::StaticToken;
use crate::heroku::types::Account;
use crate::heroku::{HerokuError, HerokuErrorKind};
use crate::state::AppState;
use crate::storage::accounts as accounts_store;
use crate::storage::connections::{self as store, ConnectionRecord, NewConnection, SealedTokens};
use crate::time::now_ms;

/// Path of the OAuth redirect URI on this instance.
pub const CALLBACK_PATH: &str = "/oauth/heroku/callback";

/// Scopes requested from Heroku: `identity` to read the account
/// (`GET /account`), `write-protected` to scale, restart, create one-off
/// dynos, read releases and roll back (it includes `read-protected` and
/// `write`, per <https://devcenter.heroku.com/articles/oauth#scopes>).
/// NOTE: Heroku does not document which scope each endpoint needs; this
/// pairing is inferred from the scope descriptions.
pub const OAUTH_SCOPE: &str = "identity write-protected";

/// An OAuth flow waits this long for the person to come back from Heroku.
const OAUTH_FLOW_TTL_MS: i64 = 15 * 60 * 1000;
const SESSION_OAUTH: &str = "heroku_oauth";
const MAX_API_KEY_LENGTH: usize = 512;

/// An OAuth flow in progress, kept in the session that started it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingOAuth {
    state: String,
    team_id: i64,
    user_id: i64,
    started_at: i64,
    redirect_uri: String,
    target: OAuthTarget,
}

fn to_connection(record: &ConnectionRecord, api_is_sandbox: bool) -> Connection {
    Connection {
        id: record.id,
        kind: record.kind,
        email: record.email.clone(),
        state: record.state,
        state_reason: record.state_reason.clone(),
        connected_at: record.created_at,
        rate_limit_remaining: record.rate_limit_remaining,
        rate_limit_observed_at: record.rate_limit_observed_at,
        simulated: record.kind == ConnectionKind::Sandbox
            || record.api_url.is_some()
            || api_is_sandbox,
    }
}

fn connection_of(state: &AppState, record: &ConnectionRecord) -> Connection {
    to_connection(record, state.heroku.api_is_sandbox())
}

/// Lists the caller's team's connections, without secrets.
pub async fn connections(state: &AppState, caller: &Caller) -> Result<Vec<Connection>, AppError> {
    caller.require(Role::Viewer)?;
    let records = store::list_connections(&state.db, caller.team_id).await?;
    Ok(records.iter().map(|record| connection_of(state, record)).collect())
}

pub async fn list_connections() -> Result<ConnectionsOverview, AppError> {
    let (state, caller) = require_role(Role::Viewer).await?;
    let connections = connections(&state, &caller).await?;
    let origin = request_origin(&state).await;
    Ok(ConnectionsOverview {
        connections,
        oauth_configured: state.heroku.oauth_client.is_some(),
        sandbox_available: state.heroku.sandbox_url.is_some(),
        callback_url: format!("{origin}{CALLBACK_PATH}"),
        can_manage: caller.role >= Role::Admin,
    })
}

/// Stores a validated account's credentials for the team.
struct Validated<'a> {
    kind: ConnectionKind,
    account: &'a Account,
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: Option<i64>,
    authorization_id: Option<&'a str>,
    api_url: Option<&'a str>,
}

async fn save(
    state: &AppState,
    team_id: i64,
    user_id: Option<i64>,
    validated: Validated<'_>,
) -> Result<ConnectionRecord, AppError> {
    let key = state.secrets.credential_encryption_key();
    let new = NewConnection {
        team_id,
        kind: validated.kind,
        heroku_user_id: &validated.account.id,
        email: &validated.account.email,
        api_url: validated.api_url,
        access_token_expires_at: validated.expires_at,
        authorization_id: validated.authorization_id,
        created_by: user_id,
        now: now_ms(),
    };
    let saved = store::save_connection(&state.db, &new, |id| SealedTokens {
        access_token: crypto::seal(key, &access_token_label(id), validated.access_token.as_bytes()),
        refresh_token: validated
            .refresh_token
            .map(|token| crypto::seal(key, &refresh_token_label(id), token.as_bytes())),
    })
    .await?;
    state.heroku.forget_connection(saved.id());
    tracing::info!(
        team.id = team_id,
        connection.id = saved.id(),
        connection.kind = validated.kind.as_str(),
        replaced = matches!(saved, store::Saved::Replaced(_)),
        by = user_id,
        "Heroku connection saved"
    );
    store::find_connection(&state.db, team_id, saved.id())
        .await?
        .ok_or_else(|| AppError::internal("saved connection vanished", saved.id()))
}

fn validate_api_key(raw: &str) -> Result<String, AppError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(AppError::invalid("api_key", "API key is required."));
    }
    if key.len() > MAX_API_KEY_LENGTH || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid(
            "api_key",
            "API key is not valid: paste only the key, without spaces (e.g. HRKU-…).",
        ));
    }
    Ok(key.to_string())
}

pub async fn connect_api_key(
    state: &AppState,
    caller: &Caller,
    api_key: String,
) -> Result<Connection, AppError> {
    caller.require(Role::Admin)?;
    let key = validate_api_key(&api_key)?;
    let credentials = StaticToken(key.clone());
    let account = state.heroku.client.api(&credentials).account().await.map_err(|error| {
        if error.rejects_credentials() || error.is_status(403) {
            AppError::invalid("api_key", format!("Heroku rejected this API key: {}", error.message))
        } else {
            AppError::from(error)
        }
    })?;
    let record = save(
        state,
        caller.team_id,
        caller.user_id,
        Validated {
            kind: ConnectionKind::ApiKey,
            account: &account.value,
            access_token: &key,
            refresh_token: None,
            expires_at: None,
            authorization_id: None,
            api_url: None,
        },
    )
    .await?;
    if let Some(remaining) = account.rate_limit_remaining {
        store::record_rate_limit(&state.db, record.id, remaining, now_ms()).await?;
    }
    let record = team_connection(state, caller.team_id, record.id).await?;
    Ok(connection_of(state, &record))
}

/// Response of the sandbox's control API for a new account.
#[derive(Deserialize)]
struct SandboxAccount {
    api_key: String,
}

pub async fn connect_sandbox() -> Result<Connection, AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    let sandbox_url = state.heroku.sandbox_url.clone().ok_or_else(|| {
        AppError::Conflict(
            "The sandbox is not enabled on this instance; start Rebound with --sandbox.".into(),
        )
    })?;
    let created = state
        .heroku
        .client
        .http()
        .post(format!("{sandbox_url}/_sandbox/accounts"))
        .json(&serde_json::json!({ "seed": true }))
        .send()
        .await
        .and_then(|response| response.error_for_status());
    let created: SandboxAccount = match created {
        Ok(response) => response
            .json()
            .await
            .map_err(|error| AppError::internal("sandbox account response unreadable", error))?,
        Err(error) => return Err(AppError::internal("creating a sandbox account failed", error)),
    };
    let credentials = StaticToken(created.api_key.clone());
    let account = state.heroku.client.api_at(&sandbox_url, &credentials).account().await?;
    let record = save(
        &state,
        caller.team_id,
        caller.user_id,
        Validated {
            kind: ConnectionKind::Sandbox,
            account: &account.value,
            access_token: &created.api_key,
            refresh_token: None,
            expires_at: None,
            authorization_id: None,
            api_url: Some(&sandbox_url),
        },
    )
    .await?;
    if let Some(remaining) = account.rate_limit_remaining {
        store::record_rate_limit(&state.db, record.id, remaining, now_ms()).await?;
    }
    let record = team_connection(&state, caller.team_id, record.id).await?;
    Ok(connection_of(&state, &record))
}

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|error| AppError::internal("session layer missing from the request", error))
}

pub async fn start_oauth(target: String) -> Result<String, AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    let target = OAuthTarget::parse(&target).ok_or_else(|| {
        AppError::invalid(
            "target",
            format!("OAuth target {target:?} is unknown; use heroku or sandbox."),
        )
    })?;
    let sandbox_url = match target {
        OAuthTarget::Heroku => None,
        OAuthTarget::Sandbox => Some(state.heroku.sandbox_url.clone().ok_or_else(|| {
            AppError::Conflict(
                "The sandbox is not enabled on this instance; start Rebound with --sandbox.".into(),
            )
        })?),
    };
    let provider = state.heroku.oauth_provider(sandbox_url.as_deref()).ok_or_else(|| {
        AppError::Conflict(
            "No Heroku OAuth client is configured. Set HEROKU_OAUTH_ID and HEROKU_OAUTH_SECRET, or connect with an API key."
                .into(),
        )
    })?;
    let redirect_uri = format!("{}{CALLBACK_PATH}", request_origin(&state).await);
    // The flow belongs to the person in this browser session.
    let user_id = caller.user_id.ok_or(AppError::Unauthenticated)?;
    let pending = PendingOAuth {
        state: random_token(),
        team_id: caller.team_id,
        user_id,
        started_at: now_ms(),
        redirect_uri,
        target,
    };
    let url = state.heroku.client.authorize_url(
        &provider,
        OAUTH_SCOPE,
        &pending.state,
        &pending.redirect_uri,
    );
    session().await?.insert(SESSION_OAUTH, &pending).await?;
    tracing::info!(team.id = caller.team_id, target = target.as_str(), "OAuth flow started");

    // A form posted without JavaScript follows a real redirect; the hydrated
    // page navigates to the returned URL itself.
    let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let plain_form = headers
        .get("accept")
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if plain_form {
        leptos_axum::redirect(&url);
    }
    Ok(url)
}

/// Query of the redirect back from the OAuth server.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Reason an OAuth callback did not connect an account. Its code goes into
/// the connections page's URL, which maps it to a fixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthFailure {
    /// Not signed in any more.
    SignedOut,
    /// No flow was started in this session, or `state` differs from the
    /// one issued: possibly a forged link.
    StateMismatch,
    Expired,
    /// The person declined at the consent page.
    Denied,
    /// The caller is no longer an admin of the team.
    Forbidden,
    /// Heroku did not exchange the code or identify the account.
    Exchange,
    /// Rebound could not store the connection.
    Internal,
}

impl OAuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            OAuthFailure::SignedOut => "signed_out",
            OAuthFailure::StateMismatch => "state",
            OAuthFailure::Expired => "expired",
            OAuthFailure::Denied => "denied",
            OAuthFailure::Forbidden => "forbidden",
            OAuthFailure::Exchange => "exchange",
            OAuthFailure::Internal => "internal",
        }
    }
}

fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Comparing digests keeps the comparison time independent of where the
    // strings first differ.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Finishes an OAuth flow on the redirect back from Heroku: checks `state`
/// against the session, exchanges the code, identifies the account and
/// stores the connection. Returns the connection id.
pub async fn finish_oauth(
    state: &AppState,
    session: &Session,
    params: CallbackParams,
) -> Result<i64, OAuthFailure> {
    let internal = |context: &str, error: &dyn std::fmt::Display| {
        tracing::error!(error = %error, "{context}");
        OAuthFailure::Internal
    };
    let user = session_user(&state.db, session)
        .await
        .map_err(|error| internal("OAuth callback could not read the session", &error))?
        .ok_or(OAuthFailure::SignedOut)?;
    let pending: Option<PendingOAuth> = session
        .remove(SESSION_OAUTH)
        .await
        .map_err(|error| internal("OAuth callback could not read the session", &error))?;
    let Some(pending) = pending else {
        tracing::warn!(user.id = user.id, "OAuth callback without a flow in this session");
        return Err(OAuthFailure::StateMismatch);
    };
    let state_matches =
        params.state.as_deref().is_some_and(|given| same_secret(given, &pending.state));
    if !state_matches || pending.user_id != user.id {
        tracing::warn!(
            user.id = user.id,
            "OAuth callback with a state that was not issued to this session"
        );
        return Err(OAuthFailure::StateMismatch);
    }
    if now_ms() - pending.started_at > OAUTH_FLOW_TTL_MS {
        return Err(OAuthFailure::Expired);
    }
    if let Some(error) = params.error {
        tracing::info!(user.id = user.id, oauth.error = %error, "OAuth consent not given");
        return Err(OAuthFailure::Denied);
    }
    let code = params.code.filter(|code| !code.is_empty()).ok_or(OAuthFailure::Exchange)?;
    let role = accounts_store::role_in_team(&state.db, user.id, pending.team_id)
        .await
        .map_err(|error| internal("OAuth callback could not read the role", &error))?;
    if role.is_none_or(|role| role < Role::Admin) {
        return Err(OAuthFailure::Forbidden);
    }

    let sandbox_url = match pending.target {
        OAuthTarget::Heroku => None,
        OAuthTarget::Sandbox => {
            Some(state.heroku.sandbox_url.clone().ok_or(OAuthFailure::Exchange)?)
        }
    };
    let provider =
        state.heroku.oauth_provider(sandbox_url.as_deref()).ok_or(OAuthFailure::Exchange)?;
    let log_exchange = |what: &str, error: &HerokuError| {
        tracing::warn!(
            user.id = user.id,
            heroku.status = error.status,
            heroku.error_id = error.id.as_deref(),
            heroku.request_id = error.request_id.as_deref(),
            error = %error.message,
            "OAuth {what} failed"
        );
        OAuthFailure::Exchange
    };
    let requested_at = now_ms();
    let grant = state
        .heroku
        .client
        .exchange_code(&provider, &code, &pending.redirect_uri)
        .await
        .map_err(|error| log_exchange("code exchange", &error))?;
    let credentials = StaticToken(grant.access_token.clone());
    let api = match &sandbox_url {
        Some(url) => state.heroku.client.api_at(url, &credentials),
        None => state.heroku.client.api(&credentials),
    };
    let account = api.account().await.map_err(|error| log_exchange("account look-up", &error))?;
    // The authorization id lets disconnect revoke it; without it, revoking
    // looks the id up again later.
    let authorization = api.current_authorization().await.ok().map(|reply| reply.value.id);

    let saved = save(
        state,
        pending.team_id,
        Some(user.id),
        Validated {
            kind: ConnectionKind::OAuth,
            account: &account.value,
            access_token: &grant.access_token,
            refresh_token: grant.refresh_token.as_deref(),
            expires_at: grant.expires_in.map(|seconds| requested_at + seconds * 1000),
            authorization_id: authorization.as_deref(),
            api_url: sandbox_url.as_deref(),
        },
    )
    .await
    .map_err(|_| OAuthFailure::Internal)?;
    if let Some(remaining) = account.rate_limit_remaining {
        let recorded = store::record_rate_limit(&state.db, saved.id, remaining, now_ms()).await;
        if let Err(error) = recorded {
            tracing::warn!(%error, connection.id = saved.id, "recording the rate limit failed");
        }
    }
    Ok(saved.id)
}

/// Returns the team's connection or `NotFound`.
async fn team_connection(
    state: &AppState,
    team_id: i64,
    connection_id: i64,
) -> Result<ConnectionRecord, AppError> {
    store::find_connection(&state.db, team_id, connection_id)
        .await?
        .ok_or_else(|| AppError::NotFound("Heroku connection".into()))
}

pub async fn disconnect(
    state: &AppState,
    caller: &Caller,
    connection_id: i64,
) -> Result<Disconnected, AppError> {
    caller.require(Role::Admin)?;
    let record = team_connection(state, caller.team_id, connection_id).await?;
    let (revoked_at_heroku, note) = revoke_at_heroku(state, &record).await;
    if !store::delete_connection(&state.db, caller.team_id, connection_id).await? {
        return Err(AppError::NotFound("Heroku connection".into()));
    }
    state.heroku.forget_connection(connection_id);
    tracing::info!(
        team.id = caller.team_id,
        connection.id = connection_id,
        revoked_at_heroku,
        by = caller.user_id,
        "Heroku connection removed"
    );
    Ok(Disconnected { email: record.email, revoked_at_heroku, note })
}

/// Revokes an OAuth authorization. API keys are left alone: revoking a
/// Dashboard key means regenerating it, which would break every other use
/// of it, so the page advises the admin instead.
async fn revoke_at_heroku(state: &AppState, record: &ConnectionRecord) -> (bool, Option<String>) {
    match record.kind {
        ConnectionKind::ApiKey => {
            return (
                false,
                Some(
                    "Rebound deleted its copy of the API key. The key itself still works; regenerate it in Heroku's account settings if it should stop."
                        .into(),
                ),
            );
        }
        ConnectionKind::Sandbox => return (false, None),
        ConnectionKind::OAuth => {}
    }
    let credentials = ConnectionCredentials::new(state, record.clone());
    let api = credentials.api();
    let authorization_id = match &record.authorization_id {
        Some(id) => Ok(id.clone()),
        None => api.current_authorization().await.map(|reply| reply.value.id),
    };
    let revoked = match authorization_id {
        Ok(id) => api.revoke_authorization(&id).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match revoked {
        Ok(()) => (true, None),
        Err(error) => {
            tracing::warn!(
                connection.id = record.id,
                error = %error.describe(),
                "revoking the Heroku authorization failed; deleting the connection anyway"
            );
            (
                false,
                Some(format!(
                    "Heroku did not confirm the revocation ({}). Revoke Rebound's access in Heroku's account settings under Applications.",
                    error.message
                )),
            )
        }
    }
}

/// Loads the caller's connection and credentials for reading from Heroku.
async fn readable_connection(
    state: &AppState,
    caller: &Caller,
    connection_id: i64,
) -> Result<ConnectionCredentials, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_connection(state, caller.team_id, connection_id).await?;
    Ok(ConnectionCredentials::new(state, record))
}

/// Re-reads the record after calls that may have changed its state or
/// rate-limit figure.
async fn current_connection(
    state: &AppState,
    credentials: &ConnectionCredentials,
) -> Result<Connection, AppError> {
    let record = credentials.record();
    let fresh = team_connection(state, record.team_id, record.id).await?;
    Ok(connection_of(state, &fresh))
}

fn heroku_error(error: HerokuError) -> AppError {
    match error.kind {
        HerokuErrorKind::NeedsReauthorization => AppError::Conflict(error.message),
        _ => AppError::from(error),
    }
}

pub async fn list_apps(
    state: &AppState,
    caller: &Caller,
    connection_id: i64,
) -> Result<ConnectionApps, AppError> {
    let credentials = readable_connection(state, caller, connection_id).await?;
    let apps = credentials.api().interactive().apps().await.map_err(heroku_error);
    let connection = current_connection(state, &credentials).await?;
    let mut apps = apps?.value;
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ConnectionApps { connection, apps })
}

fn validate_app_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 100 || name.contains('/') {
        return Err(AppError::invalid(
            "app",
            format!("App {name:?} is not a valid Heroku app name or id."),
        ));
    }
    Ok(name.to_string())
}

pub async fn app_details(
    state: &AppState,
    caller: &Caller,
    connection_id: i64,
    app: String,
    refresh: bool,
) -> Result<AppDetails, AppError> {
    let app = validate_app_name(&app)?;
    let credentials = readable_connection(state, caller, connection_id).await?;
    if !refresh
        && let Some(cached) = state.heroku.cached_details(connection_id, &app)
        && !details_stale(state, caller.team_id, &cached).await?
    {
        return Ok(cached);
    }
    let api = credentials.api().interactive();
    let info = api.app(&app).await.map_err(heroku_error)?.value;
    let (formation, dynos, releases) = tokio::join!(
        api.formation(&info.name),
        api.dynos(&info.name),
        api.releases(&info.name, RELEASES_SHOWN, RELEASES_SHOWN),
    );
    let mut formation = formation.map_err(heroku_error)?.value;
    formation.sort_by(|a, b| a.process_type.cmp(&b.process_type));
    let mut dynos = dynos.map_err(heroku_error)?.value;
    dynos.sort_by_key(|dyno| dyno_order(&dyno.name));
    let releases = releases.map_err(heroku_error)?.value;
    let details = AppDetails {
        connection: current_connection(state, &credentials).await?,
        app: info,
        formation,
        dynos,
        releases,
        fetched_at: now_ms(),
    };
    state.heroku.cache_details(details.clone());
    Ok(details)
}

/// How long fetched app details are shown before they are fetched again.
const DETAILS_FRESH_MS: i64 = 60_000;

/// Returns whether `cached` may no longer match Heroku: it is older than
/// [`DETAILS_FRESH_MS`], or a reaction of the team (in any process) started
/// a step on the app shortly before or after it was fetched. The margin
/// covers a step that was recorded before its Heroku call was sent.
async fn details_stale(
    state: &AppState,
    team_id: i64,
    cached: &AppDetails,
) -> Result<bool, AppError> {
    if now_ms() - cached.fetched_at >= DETAILS_FRESH_MS {
        return Ok(true);
    }
    let latest =
        crate::storage::reactions::latest_execution_at(&state.db, team_id, &cached.app.name)
            .await?;
    Ok(latest.is_some_and(|started_at| started_at >= cached.fetched_at - 30_000))
}

/// Reads an app's current formation through one of the caller's
/// connections, for the overview. A formation this process read less than
/// `max_age_ms` ago is reused, so a page that polls does not spend the
/// connection's rate limit.
pub async fn current_formation(
    state: &AppState,
    caller: &Caller,
    connection_id: i64,
    app: &str,
    max_age_ms: i64,
    timeout: std::time::Duration,
) -> Result<(Vec<crate::heroku::types::Formation>, i64), AppError> {
    let credentials = readable_connection(state, caller, connection_id).await?;
    let now = now_ms();
    if let Some(details) = state.heroku.cached_details(connection_id, app)
        && now - details.fetched_at < max_age_ms
    {
        return Ok((details.formation, details.fetched_at));
    }
    if let Some((formation, read_at)) =
        state.heroku.cached_formation(connection_id, app, now - max_age_ms)
    {
        return Ok((formation, read_at));
    }
    let api = credentials.api().interactive();
    let formation = match tokio::time::timeout(timeout, api.formation(app)).await {
        Ok(reply) => reply.map_err(heroku_error)?.value,
        Err(_) => {
            tracing::warn!(
                connection.id = connection_id,
                heroku.app = app,
                timeout_ms = timeout.as_millis() as u64,
                "reading the formation for the overview timed out"
            );
            return Err(AppError::Heroku {
                message: format!(
                    "no answer within {} s; the formation is unknown for now. The page tries again on its next refresh.",
                    timeout.as_secs()
                ),
                request_id: None,
            });
        }
    };
    state.heroku.cache_formation(connection_id, app, formation.clone(), now);
    Ok((formation, now))
}

/// Sorts `web.2` before `web.10`.
fn dyno_order(name: &str) -> (String, u64) {
    match name.rsplit_once('.') {
        Some((kind, number)) => (kind.to_string(), number.parse().unwrap_or(u64::MAX)),
        None => (name.to_string(), 0),
    }
}

/// Refreshes OAuth tokens that expire soon, so that reactions do not wait
/// for a refresh. Returns how many were refreshed.
pub async fn refresh_expiring_tokens(state: &AppState) -> usize {
    // Three times the on-demand window, so the worker usually refreshes
    // before any caller has to.
    let window_ms = super::tokens::REFRESH_AHEAD_MS * 3;
    let due = match store::refresh_due(&state.db, now_ms() + window_ms).await {
        Ok(due) => due,
        Err(error) => {
            tracing::error!(%error, "listing connections due for a token refresh failed");
            return 0;
        }
    };
    let mut refreshed = 0;
    for connection_id in due {
        let credentials = match ConnectionCredentials::load(state, connection_id).await {
            Ok(Some(credentials)) => credentials,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(%error, connection.id = connection_id, "loading a connection failed");
                continue;
            }
        };
        match credentials.fresh_token_within(None, window_ms).await {
            Ok(_) => refreshed += 1,
            Err(error) => tracing::warn!(
                connection.id = connection_id,
                error = %error.describe(),
                "refreshing a token ahead of expiry failed"
            ),
        }
    }
    refreshed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_validation_names_the_field() {
        assert_eq!(validate_api_key("  HRKU-abc  ").unwrap(), "HRKU-abc");
        for bad in ["", "   ", "HRKU abc", "a\u{7}b"] {
            assert_eq!(validate_api_key(bad).unwrap_err().field(), Some("api_key"), "{bad:?}");
        }
        assert!(validate_api_key(&"x".repeat(MAX_API_KEY_LENGTH + 1)).is_err());
    }

    #[test]
    fn dynos_sort_numerically() {
        let mut names = vec!["web.10", "web.2", "run.1", "worker.1", "web.1"];
        names.sort_by_key(|name| dyno_order(name));
        assert_eq!(names, ["run.1", "web.1", "web.2", "web.10", "worker.1"]);
    }

    #[test]
    fn every_failure_code_has_a_message() {
        let failures = [
            OAuthFailure::SignedOut,
            OAuthFailure::StateMismatch,
            OAuthFailure::Expired,
            OAuthFailure::Denied,
            OAuthFailure::Forbidden,
            OAuthFailure::Exchange,
            OAuthFailure::Internal,
        ];
        for failure in failures {
            assert!(oauth_failure_message(failure.code()).is_some(), "{failure:?}");
        }
        assert_eq!(oauth_failure_message("<script>"), None);
    }
}
