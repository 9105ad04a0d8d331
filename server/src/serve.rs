//! Start-up, the HTTP router and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::connections::ssr::{CALLBACK_PATH, CallbackParams, finish_oauth};
use app::connections::tokens::HerokuRuntime;
use app::heroku::client::HerokuConfig;
use app::monitors::probe::{ProbeOptions, Prober};
use app::state::{AppState, HerokuSettings, Secrets, Settings};
use app::storage::Db;
use app::storage::sessions::DbSessionStore;
use app::{App, shell};
use axum::Router;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tracing::Span;

use crate::config::{HerokuOptions, NotifyOptions, SecretSource, ServeOptions, StorageOptions};
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::worker::housekeeping::HousekeepingConfig;
use crate::worker::notifications::NotifierConfig;
use crate::worker::reactions::EngineConfig;
use crate::worker::{SchedulerConfig, WorkerConfig};
use crate::{assets, heartbeat, middleware, worker};

/// Mount path of the built-in sandbox (`--sandbox`).
pub const SANDBOX_PATH: &str = "/sandbox";

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rebound_session";

/// Runs the dashboard until SIGTERM or Ctrl-C.
pub async fn run(
    storage: &StorageOptions,
    serve: &ServeOptions,
    heroku: &HerokuOptions,
    notify: &NotifyOptions,
    port_from_env: bool,
) -> anyhow::Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting rebound");
    heroku.validate()?;
    let oauth_client = heroku.oauth_client()?;
    let secret = storage.instance_secret()?;
    match &secret.source {
        SecretSource::Generated(path) => {
            tracing::info!(path = %path.display(), "generated a new instance secret")
        }
        SecretSource::File(path) => tracing::info!(path = %path.display(), "instance secret read"),
        SecretSource::Configured => tracing::info!("instance secret taken from configuration"),
    }
    let db = crate::cli::open_database(storage).await?;
    if matches!(db, Db::Postgres(_)) && secret.source != SecretSource::Configured {
        tracing::warn!(
            "the instance secret comes from a local file; replicas sharing this database need the same REBOUND_SECRET_KEY"
        );
    }

    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())?;
    let address = serve.bind_address(port_from_env);
    let listener =
        TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;

    // The built-in sandbox listens on this server's own port, and Rebound
    // calls it over loopback like any other Heroku.
    let sandbox = heroku.sandbox.then(|| Sandbox::new(SandboxOptions::default()));
    let sandbox_url = match &sandbox {
        Some(_) => Some(format!("{}{SANDBOX_PATH}", loopback_url(local))),
        None => heroku.sandbox_url.clone(),
    };
    if let Some(url) = &sandbox_url {
        tracing::info!(sandbox.url = %url, built_in = sandbox.is_some(), "Heroku sandbox enabled");
    }
    let settings = Settings {
        public_origin: serve.public_origin()?,
        session_idle_timeout: serve.session_idle_timeout,
        trust_proxy_headers: serve.trust_proxy_headers,
        api_rate_limit: serve.api_rate_limit,
        heroku: HerokuSettings {
            client: HerokuConfig {
                api_url: heroku.heroku_api_url.clone(),
                oauth_url: heroku.heroku_oauth_url.clone(),
                request_timeout: heroku.heroku_timeout,
                ..HerokuConfig::default()
            },
            oauth_client,
            sandbox_url,
        },
        smtp: notify.smtp_settings()?,
        metrics_token: notify.metrics_token.clone().filter(|token| !token.is_empty()),
    };
    if let Some(smtp) = &settings.smtp {
        tracing::info!(smtp.host = %smtp.host, smtp.port = smtp.port, smtp.tls = ?smtp.tls, "email notifications enabled");
    }
    if settings.metrics_token.is_some() {
        tracing::info!("metrics endpoint enabled at /metrics");
    }
    let probe = ProbeOptions {
        allow_private_targets: serve.allow_private_targets,
        allowed_addresses: serve.allowed_target_addresses.clone(),
        body_limit_bytes: serve.keyword_body_limit,
        ..ProbeOptions::default()
    };
    if serve.allow_private_targets {
        tracing::warn!(
            "monitors may reach private and loopback addresses (--allow-private-targets)"
        );
    }
    let state = build_state(db.clone(), settings, Secrets::derive(&secret.bytes), local, probe);

    tracing::info!(address = %local, url = %format!("http://{local}"), "listening");
    let mut worker = if serve.no_worker {
        tracing::info!("worker disabled; this process serves pages only");
        tokio::task::JoinSet::new()
    } else {
        let config = WorkerConfig {
            scheduler: SchedulerConfig {
                concurrency: serve.check_concurrency.max(1),
                ..SchedulerConfig::default()
            },
            engine: EngineConfig::default(),
            notifier: NotifierConfig::default(),
            housekeeping: HousekeepingConfig {
                check_retention: serve.check_retention,
                ..HousekeepingConfig::default()
            },
        };
        worker::spawn(state.clone(), config, shutdown.clone())
    };
    let mut app = router(state, serve.request_timeout);
    if let Some(sandbox) = sandbox {
        app = with_sandbox(app, &sandbox);
    }
    serve_until(listener, app, shutdown, serve.shutdown_timeout).await;

    while let Some(finished) = worker.join_next().await {
        if let Err(error) = finished {
            tracing::error!(%error, "a worker task ended abnormally");
        }
    }
    tracing::info!("worker stopped");
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

pub fn build_state(
    db: Db,
    settings: Settings,
    secrets: Secrets,
    address: SocketAddr,
    probe: ProbeOptions,
) -> AppState {
    let leptos_options = LeptosOptions::builder()
        .output_name("rebound")
        .site_pkg_dir("pkg")
        .site_addr(address)
        .build();
    let heroku = HerokuRuntime::new(
        settings.heroku.client.clone(),
        settings.heroku.oauth_client.clone(),
        settings.heroku.sandbox_url.clone(),
    )
    .expect("the HTTP client for Heroku builds (TLS roots load)");
    AppState {
        db,
        settings: Arc::new(settings),
        secrets: Arc::new(secrets),
        leptos_options,
        heroku: Arc::new(heroku),
        prober: Prober::new(probe),
        monitor_wakeup: Arc::new(Notify::new()),
        reaction_wakeup: Arc::new(Notify::new()),
        notification_wakeup: Arc::new(Notify::new()),
    }
}

/// `http://` URL of a bound address as this machine reaches it: a wildcard
/// address becomes the matching loopback address.
pub fn loopback_url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// Mounts the sandbox under [`SANDBOX_PATH`]. It sits outside the session
/// and cross-site layers: Heroku's API takes bearer tokens, not cookies,
/// and its consent form posts from its own page.
pub fn with_sandbox(router: Router, sandbox: &Sandbox) -> Router {
    router.nest(SANDBOX_PATH, sandbox.router())
}

/// Serves until `shutdown` is cancelled, then lets requests in flight finish
/// for at most `grace`.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let stopping = shutdown.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { stopping.cancelled().await });
    let server = tokio::spawn(async move { server.await });
    shutdown.cancelled().await;
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        "shutting down; waiting for requests in flight"
    );
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => tracing::error!(%error, "server failed"),
        Ok(Err(error)) => tracing::error!(%error, "server task ended abnormally"),
        Err(_) => tracing::warn!("requests still running after the shutdown timeout were dropped"),
    }
}

/// Registers for SIGTERM and Ctrl-C now (so a signal that arrives right
/// after start-up is not lost) and cancels `shutdown` when one arrives.
pub(crate) fn cancel_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("received SIGTERM"),
                _ = interrupt.recv() => tracing::info!("received Ctrl-C"),
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("received Ctrl-C");
            shutdown.cancel();
        }
    });
    Ok(())
}

/// Builds the whole HTTP surface: pages and server functions (Leptos), the
/// REST API, the health check and embedded assets, wrapped in sessions, the
/// cross-site check, a timeout and request logging.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.settings.session_idle_timeout)
                .expect("the session idle timeout fits in time::Duration"),
        ))
        .with_signed(Key::from(state.secrets.cookie_signing_key()));

    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(shell_options.clone()),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            middleware::PageGate::new(state.clone()),
            middleware::gate_pages,
        ))
        .route_layer(axum::middleware::from_fn(middleware::set_server_fn_error_status))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(CALLBACK_PATH, get(oauth_callback))
        .route("/ping/{token}", get(heartbeat::ping).post(heartbeat::ping))
        .route(app::timeline::export::CSV_PATH, get(app::timeline::export::csv))
        .route(app::timeline::export::JSON_PATH, get(app::timeline::export::json))
        .nest(app::api::ssr::BASE_PATH, app::api::ssr::router(state.clone()))
        .fallback(assets::serve_site_or_not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::reject_cross_site))
        .layer(sessions)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let route = request.extensions().get::<MatchedPath>().map_or_else(
                        || request.uri().path().to_string(),
                        |path| path.as_str().to_string(),
                    );
                    tracing::info_span!("request", method = %request.method(), route)
                })
                .on_request(())
                .on_response(|response: &Response, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        duration_ms = latency.as_millis() as u64,
                        "request"
                    );
                })
                .on_failure(()),
        )
        .with_state(state)
}

/// The OAuth redirect URI: finishes the flow and returns to the
/// connections page, which shows the outcome.
async fn oauth_callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Redirect {
    match finish_oauth(&state, &session, params).await {
        Ok(id) => Redirect::to(&format!("/connections?connected={id}")),
        Err(failure) => Redirect::to(&format!("/connections?oauth_error={}", failure.code())),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed: the database is unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Prometheus metrics, for a scraper that sends the configured bearer
/// token. Returns 404 when no token is configured, as if the route did not
/// exist.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let authorized =
        presented.is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes()));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "send the metrics token as Authorization: Bearer <token>\n",
        )
            .into_response();
    }
    match app::metrics::render(&state.db).await {
        Ok(body) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
                .into_response()
        }
        Err(error) => {
            tracing::error!(%error, "reading metrics from the database failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Compares without returning early, so response times do not reveal how
/// much of the token matched.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}
