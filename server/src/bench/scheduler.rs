//! Scheduler capacity: N HTTP monitors against a loopback target, due
//! times spread evenly over one interval. After one interval of warm-up it
//! measures, from the stored results, how late each check started after
//! its due time and how many due checks ran at all.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::storage::monitors as monitors_store;
use app::time::now_ms;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::machine::{cpu_seconds, rss_kib, thread_cpu_seconds};
use super::seed::{self, Scratch};
use super::{SchedulerArgs, percentile};
use crate::worker::SchedulerConfig;
use crate::worker::clock::Clock;
use crate::worker::monitors::Scheduler;

/// How long after the measured window checks are still collected: a check
/// due near the window's end that starts later than this counts as missed.
const LATE_LIMIT_MS: i64 = 5_000;

pub async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.monitors > 0, "--monitors must be at least 1");
    let interval_secs = u32::try_from(args.interval.as_secs())
        .ok()
        .filter(|secs| (10..=3600).contains(secs))
        .context("--interval must be between 10s and 1h")?;
    let interval_ms = i64::from(interval_secs) * 1000;
    let target = Target::start()?;
    let scratch = Scratch::open(args.database_url.as_deref(), 16).await?;
    println!(
        "scheduler: {} HTTP monitors every {interval_secs} s, {} checks at once, on {}",
        args.monitors,
        args.concurrency,
        scratch.describe()
    );

    let created = Instant::now();
    let team = seed::team(&scratch.db).await?;
    let url = format!("http://{}/", target.address);
    // Created far in the future, then scheduled at once below, so that the
    // time creation takes does not turn into a backlog.
    let parked = now_ms() + 24 * 3_600_000;
    let mut inserts = JoinSet::new();
    let writers = 8;
    for writer in 0..writers {
        let db = scratch.db.clone();
        let url = url.clone();
        let count = args.monitors;
        inserts.spawn(async move {
            for index in (writer..count).step_by(writers) {
                let draft = seed::http_monitor(format!("monitor {index}"), &url, interval_secs, 2);
                monitors_store::create(&db, team.id, &draft, now_ms(), parked, None)
                    .await
                    .map_err(|error| anyhow::anyhow!("creating a monitor failed: {error}"))?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = inserts.join_next().await {
        done.context("a monitor writer panicked")??;
    }
    let start = now_ms() + 2_000;
    let count = args.monitors as i64;
    let first_id: i64 = app::with_db!(&scratch.db, pool => {
        sqlx::query_scalar("SELECT MIN(id) FROM monitors").fetch_one(pool).await
    })?;
    // Monitor k (in id order) is first due at start + k * interval / N.
    app::with_db!(&scratch.db, pool => {
        sqlx::query("UPDATE monitors SET next_check_at = $1 + ((id - $2) % $3) * $4 / $3")
            .bind(start)
            .bind(first_id)
            .bind(count)
            .bind(interval_ms)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    println!("created the monitors in {:.1} s", created.elapsed().as_secs_f64());

    let address: SocketAddr = "127.0.0.1:9".parse()?;
    let state = seed::state(scratch.db.clone(), None, address);
    let config = SchedulerConfig { concurrency: args.concurrency, ..SchedulerConfig::default() };
    let scheduler = Scheduler::new(state, config, Clock::system());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(scheduler.run(shutdown.clone()));

    let window_start = start + interval_ms;
    let window_end = window_start + args.measure.as_millis() as i64;
    sleep_until(window_start).await;
    let cpu_before = cpu_seconds() - target.cpu_seconds();
    let rss_start = rss_kib(None);
    sleep_until(window_end).await;
    let cpu = cpu_seconds() - target.cpu_seconds() - cpu_before;
    let rss_end = rss_kib(None);
    // Checks due near the end of the window get this long to start.
    sleep_until(window_end + LATE_LIMIT_MS).await;
    shutdown.cancel();
    task.await.context("the scheduler panicked")?;

    let checks: Vec<(i64, i64)> = app::with_db!(&scratch.db, pool => {
        sqlx::query_as(
            "SELECT monitor_id, checked_at FROM check_results WHERE checked_at >= $1 AND checked_at < $2",
        )
        .bind(window_start)
        .bind(window_end + LATE_LIMIT_MS)
        .fetch_all(pool)
        .await
    })?;
    let failed: i64 = app::with_db!(&scratch.db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM check_results WHERE checked_at >= $1 AND checked_at < $2 AND NOT passed",
        )
        .bind(window_start)
        .bind(window_end + LATE_LIMIT_MS)
        .fetch_one(pool)
        .await
    })?;
    let first_due =
        |monitor_id: i64| start + ((monitor_id - first_id) % count) * interval_ms / count;
    // Every due time of a monitor is its first plus whole intervals, so the
    // lag is the remainder; the completeness figure catches checks that were
    // late by more than an interval and therefore skipped.
    let mut lags = Vec::with_capacity(checks.len());
    for &(monitor_id, checked_at) in &checks {
        let lag = (checked_at - first_due(monitor_id)).rem_euclid(interval_ms);
        let due = checked_at - lag;
        if (window_start..window_end).contains(&due) {
            lags.push(lag);
        }
    }
    lags.sort_unstable();
    let expected: i64 = (0..count)
        .map(|k| {
            let first = start + k * interval_ms / count;
            due_times_in(first, interval_ms, window_start, window_end)
        })
        .sum();
    let measured_secs = args.measure.as_secs_f64();
    println!(
        "measured {measured_secs:.0} s after {interval_secs} s of warm-up: {} of {expected} checks due in the window ran, counting those that started up to {} s after its end ({:.3}%); {failed} failed",
        lags.len(),
        LATE_LIMIT_MS / 1000,
        lags.len() as f64 * 100.0 / expected.max(1) as f64,
    );
    println!(
        "start lag: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&lags, 0.50),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(0)
    );
    println!(
        "checks per second: {:.0}; CPU: {:.2} cores (the loopback target excluded); resident memory: {:.0} MiB at the start of the window, {:.0} MiB at its end",
        lags.len() as f64 / measured_secs,
        cpu / measured_secs,
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
    if scratch.db.kind() == "postgres" {
        println!("note: Postgres runs in its own processes; its CPU is not in the figure above");
    }
    target.stop();
    scratch.close().await;
    Ok(())
}

/// How many of `first + k * interval` (k ≥ 0) fall in `[from, to)`.
fn due_times_in(first: i64, interval: i64, from: i64, to: i64) -> i64 {
    let count_before = |bound: i64| {
        if bound <= first { 0 } else { (bound - first + interval - 1) / interval }
    };
    count_before(to) - count_before(from)
}

async fn sleep_until(epoch_ms: i64) {
    let wait = (epoch_ms - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// The HTTP server the monitors check, on its own thread so that its CPU
/// time can be told apart from the scheduler's.
struct Target {
    address: SocketAddr,
    thread_id: u32,
    shutdown: CancellationToken,
}

impl Target {
    fn start() -> anyhow::Result<Target> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("cannot listen on a loopback port for the target")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let stopping = shutdown.clone();
        let (ready, thread_id) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("bench-target".into()).spawn(move || {
            let _ = ready.send(super::machine::current_thread_id());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the target's runtime starts");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("the target listener joins the runtime");
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stopping.cancelled().await })
                    .await;
            });
        })?;
        let thread_id = thread_id.recv().context("the target thread did not start")?;
        Ok(Target { address, thread_id, shutdown })
    }

    fn cpu_seconds(&self) -> f64 {
        thread_cpu_seconds(self.thread_id)
    }

    fn stop(self) {
        self.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::due_times_in;

    #[test]
    fn counts_due_times_in_a_window() {
        // Due at 5, 15, 25, 35: the window [10, 30) holds 15 and 25.
        assert_eq!(due_times_in(5, 10, 10, 30), 2);
        // A window that starts on a due time includes it.
        assert_eq!(due_times_in(5, 10, 15, 16), 1);
        assert_eq!(due_times_in(5, 10, 0, 5), 0);
        assert_eq!(due_times_in(50, 10, 0, 30), 0);
    }
}
