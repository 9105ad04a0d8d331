//! Reaction latency: monitors of a loopback target, each with a scale-out
//! reaction on its own sandbox app. Once every monitor is Healthy the
//! target starts failing; each sample is the time from the target's first
//! failing answer to a monitor to the sandbox receiving that reaction's
//! formation update. It spans the check, storing its result, queueing the
//! trigger, the engine's claim, planning from live formation, and the call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use app::heroku::sizes::DynoSize;
use app::reactions::settings::{CallOn, ReactionSettings};
use app::storage::monitors as monitors_store;
use app::storage::reactions::{self as reactions_store, ReactionDraft};
use app::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tokio_util::sync::CancellationToken;

use super::seed::{self, Scratch};
use super::{ReactionsArgs, percentile};
use crate::sandbox::{Sandbox, SandboxOptions, SandboxServer};
use crate::worker::SchedulerConfig;
use crate::worker::clock::Clock;
use crate::worker::monitors::Scheduler;
use crate::worker::reactions::{Engine, EngineConfig};

/// Interval of every monitor: the shortest Rebound allows.
const INTERVAL_SECS: u32 = 10;

pub async fn run(args: ReactionsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.samples > 0, "--samples must be at least 1");
    let interval_ms = i64::from(INTERVAL_SECS) * 1000;
    let target = Target::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port for the sandbox")?;
    let sandbox = SandboxServer::serve(listener, Sandbox::new(SandboxOptions::default()));
    let scratch = Scratch::open(args.database_url.as_deref(), 16).await?;
    println!(
        "reactions: {} monitors every {INTERVAL_SECS} s, each with a scale-out reaction on its own sandbox app, on {}",
        args.samples,
        scratch.describe()
    );

    let team = seed::team(&scratch.db).await?;
    let (connection, account) =
        seed::sandbox_connection(&scratch.db, &sandbox.sandbox, &team).await?;
    let start = now_ms() + 1_000;
    let mut apps = Vec::with_capacity(args.samples);
    for index in 0..args.samples {
        let app = format!("bench-app-{index}");
        sandbox.sandbox.add_app(
            &account.email,
            &app,
            &[("web", 1, DynoSize::Standard1X, "bin/web")],
            &[("succeeded", "Deploy v1")],
        );
        let url = format!("http://{}/{index}", target.address);
        let draft = seed::http_monitor(format!("monitor {index}"), &url, INTERVAL_SECS, 1);
        // Due times spread over one interval, as real monitors drift apart.
        let first_due = start + index as i64 * interval_ms / args.samples as i64;
        let monitor =
            monitors_store::create(&scratch.db, team.id, &draft, now_ms(), first_due, None)
                .await
                .map_err(|error| anyhow::anyhow!("creating a monitor failed: {error}"))?;
        let reaction = ReactionDraft {
            name: format!("scale out {index}"),
            monitor_id: monitor,
            connection_id: connection,
            app_name: app.clone(),
            call_on: CallOn::Failed,
            settings: ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 2 },
            trigger_count: 1,
            frequency_secs: 0,
            dry_run: false,
            enabled: true,
        };
        reactions_store::create(&scratch.db, team.id, &reaction, now_ms())
            .await
            .map_err(|error| anyhow::anyhow!("creating a reaction failed: {error}"))?;
        apps.push(app);
    }

    let address: SocketAddr = "127.0.0.1:9".parse()?;
    let state = seed::state(scratch.db.clone(), Some(&sandbox.url), address);
    let shutdown = CancellationToken::new();
    let scheduler = Scheduler::new(state.clone(), SchedulerConfig::default(), Clock::system());
    let engine = Engine::new(state, EngineConfig::default(), Clock::system());
    let scheduler = tokio::spawn(scheduler.run(shutdown.clone()));
    let engine = tokio::spawn(engine.run(shutdown.clone()));

    // One interval (plus a margin) lets every monitor become Healthy.
    tokio::time::sleep(Duration::from_millis((interval_ms + 2_000) as u64)).await;
    let healthy: i64 = app::with_db!(&scratch.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM monitors WHERE state = 'healthy'").fetch_one(pool).await
    })?;
    anyhow::ensure!(
        healthy == args.samples as i64,
        "only {healthy} of {} monitors became Healthy during warm-up",
        args.samples
    );
    target.failing.store(true, Ordering::SeqCst);

    let deadline = now_ms() + 3 * interval_ms;
    let call_key = |app: &str| format!("PATCH /apps/{app}/formation/web");
    while now_ms() < deadline
        && apps.iter().any(|app| sandbox.sandbox.first_call_at(&call_key(app)).is_none())
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    scheduler.await.context("the scheduler panicked")?;
    engine.await.context("the reaction engine panicked")?;

    let first_failures =
        target.first_failures.lock().expect("the target's record is intact").clone();
    let mut latencies = Vec::with_capacity(apps.len());
    for (index, app) in apps.iter().enumerate() {
        if let (Some(failed), Some(called)) =
            (first_failures.get(&index), sandbox.sandbox.first_call_at(&call_key(app)))
        {
            latencies.push(called - failed);
        }
    }
    latencies.sort_unstable();
    let extra_calls: u64 =
        apps.iter().map(|app| sandbox.sandbox.calls(&call_key(app)).saturating_sub(1)).sum();
    println!(
        "{} of {} reactions called Heroku; repeated calls: {extra_calls}",
        latencies.len(),
        apps.len()
    );
    println!(
        "failing answer to Heroku call: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0)
    );
    target.shutdown.cancel();
    sandbox.stop().await;
    scratch.close().await;
    Ok(())
}

/// The monitored server: `/{index}` answers 200 until `failing` is set,
/// then 500, and remembers when it first answered 500 on each path.
#[derive(Clone)]
struct Target {
    address: SocketAddr,
    failing: Arc<AtomicBool>,
    first_failures: Arc<Mutex<HashMap<usize, i64>>>,
    shutdown: CancellationToken,
}

impl Target {
    async fn start() -> anyhow::Result<Target> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on a loopback port for the target")?;
        let target = Target {
            address: listener.local_addr()?,
            failing: Arc::new(AtomicBool::new(false)),
            first_failures: Arc::new(Mutex::new(HashMap::new())),
            shutdown: CancellationToken::new(),
        };
        let app = axum::Router::new()
            .route("/{index}", axum::routing::get(answer))
            .with_state(target.clone());
        let stopping = target.shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopping.cancelled().await })
                .await;
        });
        Ok(target)
    }
}

async fn answer(State(target): State<Target>, Path(index): Path<usize>) -> StatusCode {
    if !target.failing.load(Ordering::SeqCst) {
        return StatusCode::OK;
    }
    let now = now_ms();
    target
        .first_failures
        .lock()
        .expect("the target's record is intact")
        .entry(index)
        .or_insert(now);
    StatusCode::INTERNAL_SERVER_ERROR
}
