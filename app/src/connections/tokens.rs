//! Credentials of stored connections: decrypting tokens, refreshing OAuth
//! access tokens once for all callers, and the rate-limit budget.
//!
//! Heroku access tokens expire after 8 hours
//! (<https://devcenter.heroku.com/articles/oauth>). A token is refreshed
//! when it expires within [`REFRESH_AHEAD_MS`], or when Heroku rejects it.
//! Exactly one refresh runs per connection: callers in one process queue on
//! a per-connection mutex, and processes sharing the database claim a lease
//! on the row with a conditional UPDATE. Everyone else re-reads the stored
//! token once the refresh is done.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{AppDetails, ConnectionKind, ConnectionState};
use crate::crypto;
use crate::heroku::client::{
    Api, Credentials, HerokuClient, HerokuConfig, OAuthClient, OAuthProvider, Priority,
};
use crate::heroku::retry::{budget_wait, estimated_remaining};
use crate::heroku::types::Formation;
use crate::heroku::{HerokuError, HerokuErrorKind};
use crate::state::AppState;
use crate::storage::connections::{self as store, ConnectionRecord, StoredTokens};
use crate::time::now_ms;

/// Refresh access tokens that expire within this many milliseconds.
pub const REFRESH_AHEAD_MS: i64 = 5 * 60 * 1000;
/// How long a claimed refresh may take before another process may take
/// over; longer than the client's whole retry deadline.
const REFRESH_LEASE_MS: i64 = 60_000;
/// How often a waiting process looks whether another one finished.
const LEASE_POLL: Duration = Duration::from_millis(100);

/// The OAuth client id Rebound uses with a sandbox, which accepts any
/// client; not a secret.
pub const SANDBOX_OAUTH_CLIENT_ID: &str = "rebound-sandbox-client";

/// Heroku access for the whole process: the HTTP client, the OAuth
/// client, the sandbox's address, refresh locks and fetched app details.
pub struct HerokuRuntime {
    pub client: HerokuClient,
    /// The client registered with Heroku, when configured.
    pub oauth_client: Option<OAuthClient>,
    /// Base URL of the sandbox when one is enabled.
    pub sandbox_url: Option<String>,
    /// Names this process's refresh leases.
    pub process_id: String,
    refresh_locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// App details per (connection, app), shown until they go stale or
    /// someone refreshes.
    /// NOTE: per process; replicas each fetch on first view.
    app_details: Mutex<HashMap<(i64, String), AppDetails>>,
    /// Formations per (connection, app) with when they were read, for the
    /// overview. NOTE: per process, like `app_details`.
    formations: Mutex<FormationCache>,
}

/// Formations per (connection id, app name), with when each was read.
type FormationCache = HashMap<(i64, String), (Vec<Formation>, i64)>;

impl HerokuRuntime {
    pub fn new(
        config: HerokuConfig,
        oauth_client: Option<OAuthClient>,
        sandbox_url: Option<String>,
    ) -> Result<HerokuRuntime, reqwest::Error> {
        Ok(HerokuRuntime {
            client: HerokuClient::new(config)?,
            oauth_client,
            sandbox_url: sandbox_url.map(|url| url.trim_end_matches('/').to_string()),
            process_id: crate::accounts::ssr::random_token(),
            refresh_locks: Mutex::new(HashMap::new()),
            app_details: Mutex::new(HashMap::new()),
            formations: Mutex::new(HashMap::new()),
        })
    }

    /// The OAuth server for Heroku (configured client) or a sandbox at
    /// `sandbox_url` (a fixed client the sandbox accepts).
    pub fn oauth_provider(&self, sandbox_url: Option<&str>) -> Option<OAuthProvider> {
        match sandbox_url {
            Some(url) => Some(OAuthProvider {
                base_url: url.to_string(),
                client: OAuthClient {
                    id: SANDBOX_OAUTH_CLIENT_ID.into(),
                    secret: "sandbox".into(),
                },
            }),
            None => self.oauth_client.clone().map(|client| OAuthProvider {
                base_url: self.client.config().oauth_url.clone(),
                client,
            }),
        }
    }

    /// Whether the configured Heroku API is the sandbox itself, which makes
    /// every connection simulated.
    pub fn api_is_sandbox(&self) -> bool {
        self.sandbox_url
            .as_deref()
            .is_some_and(|sandbox| self.client.config().api_url.trim_end_matches('/') == sandbox)
    }

    fn refresh_lock(&self, connection_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().expect("refresh lock map is not poisoned");
        locks.entry(connection_id).or_default().clone()
    }

    pub fn cached_details(&self, connection_id: i64, app: &str) -> Option<AppDetails> {
        let cache = self.app_details.lock().expect("app details cache is not poisoned");
        cache.get(&(connection_id, app.to_string())).cloned()
    }

    pub fn cache_details(&self, details: AppDetails) {
        let mut cache = self.app_details.lock().expect("app details cache is not poisoned");
        cache.insert((details.connection.id, details.app.name.clone()), details);
    }

    pub fn forget_connection(&self, connection_id: i64) {
        let mut cache = self.app_details.lock().expect("app details cache is not poisoned");
        cache.retain(|(id, _), _| *id != connection_id);
        let mut formations = self.formations.lock().expect("formation cache is not poisoned");
        formations.retain(|(id, _), _| *id != connection_id);
    }

    /// Returns the cached formation if it was read at `not_before` or later,
    /// with the time it was read.
    pub fn cached_formation(
        &self,
        connection_id: i64,
        app: &str,
        not_before: i64,
    ) -> Option<(Vec<Formation>, i64)> {
        let cache = self.formations.lock().expect("formation cache is not poisoned");
        cache
            .get(&(connection_id, app.to_string()))
            .filter(|(_, read_at)| *read_at >= not_before)
            .cloned()
    }

    pub fn cache_formation(
        &self,
        connection_id: i64,
        app: &str,
        formation: Vec<Formation>,
        read_at: i64,
    ) {
        let mut cache = self.formations.lock().expect("formation cache is not poisoned");
        cache.insert((connection_id, app.to_string()), (formation, read_at));
    }
}

/// Associated data of a connection's access token ciphertext.
pub fn access_token_label(connection_id: i64) -> String {
    format!("heroku_connections/{connection_id}/access_token")
}

/// Associated data of a connection's refresh token ciphertext.
pub fn refresh_token_label(connection_id: i64) -> String {
    format!("heroku_connections/{connection_id}/refresh_token")
}

/// The credentials of one stored connection, for the Heroku client.
pub struct ConnectionCredentials {
    state: AppState,
    record: ConnectionRecord,
    /// Last known (RateLimit-Remaining, observed at).
    budget: Mutex<Option<(i64, i64)>>,
}

impl ConnectionCredentials {
    pub fn new(state: &AppState, record: ConnectionRecord) -> ConnectionCredentials {
        let budget = record.rate_limit_remaining.zip(record.rate_limit_observed_at);
        ConnectionCredentials { state: state.clone(), record, budget: Mutex::new(budget) }
    }

    /// Loads a connection by id (any team), for the worker and reactions.
    pub async fn load(
        state: &AppState,
        connection_id: i64,
    ) -> Result<Option<ConnectionCredentials>, sqlx::Error> {
        let record = store::find_connection_by_id(&state.db, connection_id).await?;
        Ok(record.map(|record| ConnectionCredentials::new(state, record)))
    }

    pub fn record(&self) -> &ConnectionRecord {
        &self.record
    }

    /// The Platform API with these credentials, at the connection's own
    /// base URL (a sandbox's) or the configured one.
    pub fn api(&self) -> Api<'_> {
        let client = &self.state.heroku.client;
        match &self.record.api_url {
            Some(url) => client.api_at(url, self),
            None => client.api(self),
        }
    }

    fn key(&self) -> &[u8; 32] {
        self.state.secrets.credential_encryption_key()
    }

    async fn load_tokens(&self) -> Result<StoredTokens, HerokuError> {
        let stored = store::load_tokens(&self.state.db, self.record.id).await.map_err(|error| {
            tracing::error!(%error, connection.id = self.record.id, "loading Heroku credentials failed");
            HerokuError::local(
                HerokuErrorKind::Unreachable,
                "Rebound could not read the connection's credentials from its database.",
            )
        })?;
        let stored = stored.ok_or_else(|| {
            HerokuError::local(
                HerokuErrorKind::NeedsReauthorization,
                "This Heroku connection was removed.",
            )
        })?;
        if stored.state != ConnectionState::Ok {
            return Err(HerokuError::local(
                HerokuErrorKind::NeedsReauthorization,
                format!(
                    "The Heroku connection for {} is {}; an admin must connect it again.",
                    self.record.email,
                    stored.state.label().to_lowercase()
                ),
            ));
        }
        Ok(stored)
    }

    fn open_access_token(&self, stored: &StoredTokens) -> Result<String, HerokuError> {
        let label = access_token_label(self.record.id);
        crypto::open_string(self.key(), &label, &stored.access_token).map_err(|error| {
            tracing::error!(%error, connection.id = self.record.id, "stored Heroku token unreadable");
            HerokuError::local(
                HerokuErrorKind::NeedsReauthorization,
                "The stored Heroku credentials cannot be decrypted (was the instance secret changed?). Connect the account again.",
            )
        })
    }

    /// Returns a usable access token: the stored one, or a refreshed one when
    /// it expires soon or equals `rejected`.
    pub async fn fresh_token(&self, rejected: Option<&str>) -> Result<String, HerokuError> {
        self.fresh_token_within(rejected, REFRESH_AHEAD_MS).await
    }

    /// Like [`Self::fresh_token`], refreshing tokens that expire within
    /// `ahead_ms`.
    pub async fn fresh_token_within(
        &self,
        rejected: Option<&str>,
        ahead_ms: i64,
    ) -> Result<String, HerokuError> {
        let started = tokio::time::Instant::now();
        let mut holding_lock = None;
        loop {
            let stored = self.load_tokens().await?;
            let token = self.open_access_token(&stored)?;
            let expiring =
                stored.access_token_expires_at.is_some_and(|at| at <= now_ms() + ahead_ms);
            let was_rejected = rejected == Some(token.as_str());
            if !expiring && !was_rejected {
                return Ok(token);
            }
            if stored.refresh_token.is_none() {
                if was_rejected {
                    self.mark(
                        ConnectionState::Revoked,
                        "Heroku no longer accepts this API key; it was regenerated or revoked. Connect with a new key.",
                    )
                    .await;
                    return Err(HerokuError::local(
                        HerokuErrorKind::NeedsReauthorization,
                        "Heroku no longer accepts this connection's API key.",
                    ));
                }
                return Ok(token);
            }
            // Queue behind other callers of this process, then look again:
            // the one before us may have refreshed already.
            if holding_lock.is_none() {
                let lock = self.state.heroku.refresh_lock(self.record.id);
                holding_lock = Some(lock.lock_owned().await);
                continue;
            }
            let owner = &self.state.heroku.process_id;
            let now = now_ms();
            let claimed = store::claim_refresh(
                &self.state.db,
                self.record.id,
                stored.token_version,
                owner,
                now,
                now + REFRESH_LEASE_MS,
            )
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, connection.id = self.record.id, "claiming a token refresh failed");
                false
            });
            if claimed {
                return self.refresh(&stored).await;
            }
            // Another process refreshes: wait until the version moves or its
            // lease runs out, then decide again.
            if started.elapsed() > Duration::from_millis(2 * REFRESH_LEASE_MS as u64) {
                return Err(HerokuError::local(
                    HerokuErrorKind::Timeout,
                    "Waiting for another Rebound process to refresh the Heroku token took too long.",
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Refreshes under a claimed lease and stores the result.
    async fn refresh(&self, stored: &StoredTokens) -> Result<String, HerokuError> {
        let owner = self.state.heroku.process_id.clone();
        let outcome = self.request_refresh(stored).await;
        match outcome {
            Ok((access_token, refresh_token, expires_at)) => {
                let sealed_access = crypto::seal(
                    self.key(),
                    &access_token_label(self.record.id),
                    access_token.as_bytes(),
                );
                let sealed_refresh = refresh_token.as_deref().map(|token| {
                    crypto::seal(self.key(), &refresh_token_label(self.record.id), token.as_bytes())
                });
                let stored = store::store_refreshed_tokens(
                    &self.state.db,
                    self.record.id,
                    &owner,
                    sealed_access,
                    sealed_refresh,
                    expires_at,
                    now_ms(),
                )
                .await;
                match stored {
                    Ok(true) => {
                        tracing::info!(
                            connection.id = self.record.id,
                            "Heroku access token refreshed"
                        );
                        Ok(access_token)
                    }
                    Ok(false) => {
                        // The lease ran out and another process took over;
                        // its token wins, and this one is simply unused.
                        tracing::warn!(
                            connection.id = self.record.id,
                            "token refresh finished after its lease expired"
                        );
                        Ok(access_token)
                    }
                    Err(error) => {
                        tracing::error!(%error, connection.id = self.record.id, "storing a refreshed token failed");
                        Ok(access_token)
                    }
                }
            }
            Err(error) if error.kind == HerokuErrorKind::NeedsReauthorization => {
                tracing::warn!(
                    connection.id = self.record.id,
                    heroku.error_id = error.id.as_deref(),
                    heroku.request_id = error.request_id.as_deref(),
                    "Heroku refused the refresh token; the connection needs re-authorization"
                );
                let reason = format!(
                    "Heroku refused to refresh the access token ({}). The authorization was revoked or expired; connect the account again.",
                    error.message
                );
                self.mark(ConnectionState::NeedsReauthorization, &reason).await;
                Err(error)
            }
            Err(error) => {
                if let Err(release_error) =
                    store::release_refresh(&self.state.db, self.record.id, &owner).await
                {
                    tracing::error!(error = %release_error, connection.id = self.record.id, "releasing a refresh lease failed");
                }
                tracing::warn!(
                    connection.id = self.record.id,
                    error = %error.describe(),
                    "refreshing the Heroku access token failed"
                );
                Err(error)
            }
        }
    }

    /// Calls the token endpoint; returns (access token, refresh token if a
    /// new one came, expiry in epoch ms).
    async fn request_refresh(
        &self,
        stored: &StoredTokens,
    ) -> Result<(String, Option<String>, Option<i64>), HerokuError> {
        let sealed_refresh = stored.refresh_token.as_deref().unwrap_or_default();
        let refresh_token =
            crypto::open_string(self.key(), &refresh_token_label(self.record.id), sealed_refresh)
                .map_err(|_| {
                HerokuError::local(
                    HerokuErrorKind::NeedsReauthorization,
                    "The stored refresh token cannot be decrypted.",
                )
            })?;
        let provider =
            self.state.heroku.oauth_provider(self.record.api_url.as_deref()).ok_or_else(|| {
                HerokuError::local(
                    HerokuErrorKind::NeedsReauthorization,
                    "No Heroku OAuth client is configured (HEROKU_OAUTH_ID and HEROKU_OAUTH_SECRET), so the token cannot be refreshed.",
                )
            })?;
        let requested_at = now_ms();
        let grant = self.state.heroku.client.refresh_token(&provider, &refresh_token).await?;
        let expires_at = grant.expires_in.map(|seconds| requested_at + seconds * 1000);
        Ok((grant.access_token, grant.refresh_token, expires_at))
    }

    async fn mark(&self, state: ConnectionState, reason: &str) {
        if let Err(error) =
            store::set_state(&self.state.db, self.record.id, state, Some(reason), now_ms()).await
        {
            tracing::error!(%error, connection.id = self.record.id, "recording the connection state failed");
        }
    }
}

#[async_trait::async_trait]
impl Credentials for ConnectionCredentials {
    async fn token(&self) -> Result<String, HerokuError> {
        self.fresh_token(None).await
    }

    async fn renew(&self, rejected: &str) -> Result<Option<String>, HerokuError> {
        if self.record.kind == ConnectionKind::OAuth {
            return self.fresh_token(Some(rejected)).await.map(Some);
        }
        // An API key cannot be renewed; record that Heroku rejected it.
        match self.fresh_token(Some(rejected)).await {
            Ok(token) if token != rejected => Ok(Some(token)),
            Ok(_) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn before_request(&self, priority: Priority) -> Result<(), HerokuError> {
        let last = *self.budget.lock().expect("budget is not poisoned");
        let Some((remaining, observed_at)) = last else { return Ok(()) };
        let wait = budget_wait(remaining, observed_at, now_ms());
        if wait.is_zero() {
            return Ok(());
        }
        match priority {
            Priority::Urgent => Ok(()),
            Priority::Interactive => Err(HerokuError::local(
                HerokuErrorKind::BudgetLow,
                format!(
                    "Heroku's API budget for {} is nearly used up (about {} calls left), so look-ups pause to keep calls for reactions. Try again in {}.",
                    self.record.email,
                    estimated_remaining(remaining, observed_at, now_ms()),
                    crate::time::format_wait(wait.as_secs().max(1))
                ),
            )),
            Priority::Background => {
                tracing::info!(
                    connection.id = self.record.id,
                    rate_limit.remaining = remaining,
                    wait_ms = wait.as_millis() as u64,
                    "Heroku budget low; background look-up waits"
                );
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }

    async fn observe_rate_limit(&self, remaining: i64) {
        let now = now_ms();
        *self.budget.lock().expect("budget is not poisoned") = Some((remaining, now));
        if let Err(error) =
            store::record_rate_limit(&self.state.db, self.record.id, remaining, now).await
        {
            tracing::warn!(%error, connection.id = self.record.id, "recording the rate limit failed");
        }
    }
}
