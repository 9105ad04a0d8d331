//! Start-up, the HTTP router and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::monitors::probe::{ProbeOptions, Prober};
use app::state::{AppState, Secrets, Settings};
use app::storage::Db;
use app::storage::sessions::DbSessionStore;
use app::{App, shell};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Span;

use crate::config::{SecretSource, ServeOptions, StorageOptions};
use crate::worker::housekeeping::HousekeepingConfig;
use crate::worker::{SchedulerConfig, WorkerConfig};
use crate::{assets, heartbeat, middleware, worker};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rebound_session";

/// Runs the dashboard until SIGTERM or Ctrl-C.
pub async fn run(
    storage: &StorageOptions,
    serve: &ServeOptions,
    port_from_env: bool,
) -> anyhow::Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting rebound");
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

    let settings = Settings {
        public_origin: serve.public_origin()?,
        session_idle_timeout: serve.session_idle_timeout,
        trust_proxy_headers: serve.trust_proxy_headers,
    };
    let address = serve.bind_address(port_from_env);
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
    let state = build_state(db.clone(), settings, Secrets::derive(&secret.bytes), address, probe);

    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())?;
    let listener =
        TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
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
            housekeeping: HousekeepingConfig {
                check_retention: serve.check_retention,
                ..HousekeepingConfig::default()
            },
        };
        worker::spawn(state.clone(), config, shutdown.clone())
    };
    serve_until(listener, router(state, serve.request_timeout), shutdown, serve.shutdown_timeout)
        .await;

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
    AppState {
        db,
        settings: Arc::new(settings),
        secrets: Arc::new(secrets),
        leptos_options,
        prober: Prober::new(probe),
        monitor_wakeup: Arc::new(Notify::new()),
    }
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
fn cancel_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
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
/// health check and embedded assets, wrapped in sessions, the cross-site
/// check, a timeout and request logging.
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
        .route("/ping/{token}", get(heartbeat::ping).post(heartbeat::ping))
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

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed: the database is unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}
