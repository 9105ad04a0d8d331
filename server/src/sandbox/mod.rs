//! A simulated Heroku: the Platform API calls and OAuth endpoints Rebound
//! uses, with in-memory accounts, apps, formations, dynos and releases.
//!
//! It runs inside `rebound` under `/sandbox` (`--sandbox`), on its own
//! (`rebound sandbox`), or in tests on 127.0.0.1:0 ([`SandboxServer`]).
//! Tests script faults (the next N calls to a path get a given status, or
//! hang) and read call counts, in Rust or through the control API under
//! `/_sandbox`.

mod api;
mod auth;
mod clock;
mod oauth;
mod range;
mod seed;
mod world;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use world::SandboxOptions;

use auth::Auth;
use world::{ApiError, CallLog, World};

/// Effect of a scripted fault on a matching request.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Respond at once with this status and JSON body (and `Retry-After`
    /// seconds, when set).
    Respond { status: u16, body: Value, retry_after: Option<u64> },
    /// Wait this long before handling the request normally, so a client
    /// with a shorter timeout gives up first.
    Hang(Duration),
}

/// The next `times` requests to `path` (and `method`, when set) get `action`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<Method>,
    /// Path below the sandbox root, e.g. `/apps/demo/formation/web`.
    pub path: String,
    pub times: u32,
    pub action: FaultAction,
}

impl Fault {
    pub fn respond(path: &str, times: u32, status: u16, body: Value) -> Fault {
        Fault {
            method: None,
            path: path.into(),
            times,
            action: FaultAction::Respond { status, body, retry_after: None },
        }
    }

    pub fn hang(path: &str, times: u32, duration: Duration) -> Fault {
        Fault { method: None, path: path.into(), times, action: FaultAction::Hang(duration) }
    }

    pub fn with_method(mut self, method: Method) -> Fault {
        self.method = Some(method);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Fault {
        if let FaultAction::Respond { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }
}

pub(crate) struct SandboxState {
    pub world: World,
    pub auth: Auth,
    faults: Vec<Fault>,
    calls: CallLog,
}

struct Shared {
    state: Mutex<SandboxState>,
    /// Added to the wall clock, so tests can let time pass without waiting.
    clock_offset_ms: AtomicI64,
}

/// A handle to one sandbox; clones share it.
#[derive(Clone)]
pub struct Sandbox(Arc<Shared>);

/// An account created in the sandbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SandboxAccount {
    pub id: String,
    pub email: String,
    /// A non-expiring token, like a Heroku API key.
    pub api_key: String,
}

/// OAuth tokens granted by [`Sandbox::authorize`].
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub authorization_id: String,
}

impl Sandbox {
    pub fn new(options: SandboxOptions) -> Sandbox {
        Sandbox(Arc::new(Shared {
            state: Mutex::new(SandboxState {
                world: World::new(options),
                auth: Auth::default(),
                faults: Vec::new(),
                calls: CallLog::default(),
            }),
            clock_offset_ms: AtomicI64::new(0),
        }))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.0.state.lock().expect("the sandbox state is not poisoned")
    }

    /// The sandbox's clock in epoch milliseconds.
    pub fn now(&self) -> i64 {
        app::time::now_ms() + self.0.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the sandbox's clock forward: dynos finish starting, one-off
    /// dynos exit, tokens expire and the rate-limit bucket refills.
    pub fn advance(&self, duration: Duration) {
        self.0.clock_offset_ms.fetch_add(duration.as_millis() as i64, Ordering::Relaxed);
    }

    /// Creates an account (email generated when `None`) with an API key,
    /// seeded with the demo apps when `seed` is true.
    pub fn create_account(&self, email: Option<&str>, seed: bool) -> SandboxAccount {
        let now = self.now();
        let mut state = self.lock();
        let state = &mut *state;
        let (account, created) = auth::find_or_create_account(&mut state.world, email, now);
        if seed && created {
            seed::seed_demo_apps(&mut state.world, account, now);
        }
        let api_key = state.auth.issue_api_key(account);
        let account = &state.world.accounts[account];
        SandboxAccount { id: account.id.clone(), email: account.email.clone(), api_key }
    }

    /// Adds an app to the account owning `api_key`, for tests that need a
    /// particular formation. `processes` are (type, quantity, size, command);
    /// `releases` are (status, description), oldest first.
    pub fn add_app(
        &self,
        account_email: &str,
        name: &str,
        processes: &[(&str, u32, app::heroku::sizes::DynoSize, &str)],
        releases: &[(&'static str, &str)],
    ) {
        let now = self.now();
        let mut state = self.lock();
        let owner = state
            .world
            .accounts
            .iter()
            .position(|account| account.email == account_email)
            .expect("the account exists");
        world::add_app(&mut state.world, owner, name.into(), None, processes, releases, now);
    }

    /// Grants OAuth access to the account with `account_email` as if its
    /// owner had consented and the client had exchanged the code.
    pub fn authorize(&self, account_email: &str, client_id: &str) -> OAuthTokens {
        let now = self.now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let account = state
            .world
            .accounts
            .iter()
            .position(|account| account.email == account_email)
            .expect("the account exists");
        let code = state.auth.issue_code(auth::Code {
            account,
            client_id: client_id.into(),
            redirect_uri: "http://127.0.0.1/callback".into(),
            scope: vec!["identity".into(), "write-protected".into()],
            expires_at: now + 60_000,
        });
        let lifetime = state.world.options.access_token_lifetime_secs;
        let issued = state
            .auth
            .exchange_code(&state.world, &code, None, now, lifetime)
            .expect("a fresh code exchanges");
        let authorization_id = state
            .auth
            .authorization_of(&issued.access_token)
            .map(|authorization| authorization.id.clone())
            .expect("the token has an authorization");
        OAuthTokens {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            expires_in: issued.expires_in,
            authorization_id,
        }
    }

    /// Whether the authorization with `id` was revoked.
    pub fn is_revoked(&self, authorization_id: &str) -> bool {
        self.lock()
            .auth
            .authorizations
            .iter()
            .any(|authorization| authorization.id == authorization_id && authorization.revoked)
    }

    pub fn add_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How often `key` was called: `"GET /apps"`, or `"grant refresh_token"`
    /// and `"grant authorization_code"` for the token endpoint.
    pub fn calls(&self, key: &str) -> u64 {
        self.lock().calls.counts.get(key).copied().unwrap_or(0)
    }

    /// When `key` was first called, in wall-clock epoch milliseconds.
    pub fn first_call_at(&self, key: &str) -> Option<i64> {
        self.lock().calls.first_at.get(key).copied()
    }

    /// Sets an account's remaining rate-limit budget.
    pub fn set_rate_limit(&self, account_email: &str, remaining: u32) {
        let now = self.now();
        let mut state = self.lock();
        if let Some(account) =
            state.world.accounts.iter_mut().find(|account| account.email == account_email)
        {
            account.bucket = f64::from(remaining);
            account.bucket_at = now;
        }
    }

    /// Makes every OAuth access token issued so far expire now.
    pub fn expire_access_tokens(&self) {
        let now = self.now();
        self.lock().auth.expire_access_tokens(now);
    }

    /// Revokes every OAuth grant, as a user revoking access on Heroku does.
    pub fn revoke_grants(&self) {
        self.lock().auth.revoke_oauth_grants();
    }

    /// Whether the authorization behind `token` is still live.
    pub fn token_works(&self, token: &str) -> bool {
        let now = self.now();
        self.lock().auth.account_of(token, now).is_ok()
    }

    /// The routes, relative to wherever the sandbox is mounted.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(api::routes())
            .merge(oauth::routes())
            .route("/_sandbox/accounts", post(control_create_account))
            .route("/_sandbox/calls", get(control_calls))
            .route("/_sandbox/faults", post(control_add_fault).delete(control_clear_faults))
            .layer(axum::middleware::from_fn_with_state(self.clone(), faults_and_request_ids))
            .with_state(self.clone())
    }
}

/// Counts the call, applies a scripted fault if one matches, and gives every
/// response a `Request-Id`.
async fn faults_and_request_ids(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let fault = {
        let mut state = sandbox.lock();
        state.calls.record(format!("{method} {path}"));
        let matching = state.faults.iter_mut().find(|fault| {
            fault.times > 0
                && fault.path == path
                && fault.method.as_ref().is_none_or(|wanted| *wanted == method)
        });
        let action = matching.map(|fault| {
            fault.times -= 1;
            fault.action.clone()
        });
        state.faults.retain(|fault| fault.times > 0);
        action
    };
    let mut response = match fault {
        Some(FaultAction::Respond { status, body, retry_after }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Some(FaultAction::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            next.run(request).await
        }
        None => next.run(request).await,
    };
    if let Ok(id) = HeaderValue::from_str(&clock::new_id()) {
        response.headers_mut().insert("request-id", id);
    }
    response
}

/// A JSON response with extra headers.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply { status: StatusCode::OK, body, headers: Vec::new() }
    }

    pub fn with_status(status: StatusCode, body: Value) -> Reply {
        Reply { status, body, headers: Vec::new() }
    }
}

fn respond(status: StatusCode, body: Value, headers: &[(&'static str, String)]) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

fn error_response(error: &ApiError, headers: &[(&'static str, String)]) -> Response {
    respond(error.status, error.body(), headers)
}

impl Sandbox {
    /// Runs a Platform API call: checks the Accept header and the bearer
    /// token, spends one call from the account's bucket (unless `free`),
    /// and adds `RateLimit-Remaining` to the answer.
    pub(crate) fn api(
        &self,
        headers: &HeaderMap,
        free: bool,
        call: impl FnOnce(&mut SandboxState, usize, i64) -> Result<Reply, ApiError>,
    ) -> Response {
        let accepts_v3 = headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("application/vnd.heroku+json; version=3"));
        if !accepts_v3 {
            let error = ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
            );
            return error_response(&error, &[]);
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim()
            .to_string();
        let now = self.now();
        let mut state = self.lock();
        let account = match state.auth.account_of(&token, now) {
            Ok(account) => account,
            Err(error) => return error_response(&error, &[]),
        };
        let remaining = state.world.accounts[account].remaining(now);
        if !free && remaining < 1.0 {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
            );
            return error_response(&error, &[("ratelimit-remaining", "0".into())]);
        }
        if !free {
            state.world.accounts[account].bucket -= 1.0;
        }
        let left = state.world.accounts[account].bucket.floor().max(0.0) as i64;
        let mut extra = vec![("ratelimit-remaining", left.to_string())];
        match call(&mut state, account, now) {
            Ok(reply) => {
                extra.extend(reply.headers);
                respond(reply.status, reply.body, &extra)
            }
            Err(error) => error_response(&error, &extra),
        }
    }
}

#[derive(Deserialize, Default)]
struct NewAccountRequest {
    email: Option<String>,
    seed: Option<bool>,
}

async fn control_create_account(
    State(sandbox): State<Sandbox>,
    body: Option<axum::Json<NewAccountRequest>>,
) -> Response {
    let request = body.map(|axum::Json(request)| request).unwrap_or_default();
    let account = sandbox.create_account(request.email.as_deref(), request.seed.unwrap_or(true));
    tracing::info!(sandbox.account = %account.email, "sandbox account created");
    (StatusCode::CREATED, axum::Json(account)).into_response()
}

async fn control_calls(State(sandbox): State<Sandbox>) -> Response {
    let counts = sandbox.lock().calls.counts.clone();
    axum::Json(counts).into_response()
}

#[derive(Deserialize)]
struct FaultRequest {
    method: Option<String>,
    path: String,
    times: u32,
    status: Option<u16>,
    body: Option<Value>,
    retry_after: Option<u64>,
    hang_ms: Option<u64>,
}

async fn control_add_fault(
    State(sandbox): State<Sandbox>,
    axum::Json(request): axum::Json<FaultRequest>,
) -> Response {
    let action = match (request.hang_ms, request.status) {
        (Some(ms), _) => FaultAction::Hang(Duration::from_millis(ms)),
        (None, Some(status)) => FaultAction::Respond {
            status,
            body: request
                .body
                .unwrap_or_else(|| json!({ "id": "scripted", "message": "Scripted failure." })),
            retry_after: request.retry_after,
        },
        (None, None) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, "a fault needs status or hang_ms\n")
                .into_response();
        }
    };
    let method = match request.method.as_deref().map(|method| method.to_ascii_uppercase().parse()) {
        None => None,
        Some(Ok(method)) => Some(method),
        Some(Err(_)) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, "unknown method\n").into_response();
        }
    };
    sandbox.add_fault(Fault { method, path: request.path, times: request.times, action });
    StatusCode::CREATED.into_response()
}

async fn control_clear_faults(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

/// A sandbox serving on its own loopback port, for tests and `rebound sandbox`.
pub struct SandboxServer {
    pub sandbox: Sandbox,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl SandboxServer {
    /// Binds 127.0.0.1:0 and serves a fresh sandbox.
    pub async fn start(options: SandboxOptions) -> std::io::Result<SandboxServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Ok(SandboxServer::serve(listener, Sandbox::new(options)))
    }

    pub fn serve(listener: tokio::net::TcpListener, sandbox: Sandbox) -> SandboxServer {
        let address = listener.local_addr().expect("a bound listener has an address");
        let shutdown = CancellationToken::new();
        let stopping = shutdown.clone();
        let router = sandbox.router();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stopping.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "sandbox server failed");
            }
        });
        SandboxServer { sandbox, url: format!("http://{address}"), shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}
