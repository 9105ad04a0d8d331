//! Prometheus metrics for `GET /metrics`.
//!
//! Figures that must agree across restarts and replicas (monitors by
//! state, executions, queue depths, rate limits) are read from the database
//! on every scrape. Check counts, check durations and Heroku API calls are
//! counted in memory by this process: they start at zero on restart, and
//! each replica reports its own, which Prometheus sums.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use crate::storage::{Db, with_db};

/// Upper bounds of the check duration histogram, in seconds.
const CHECK_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The counters of this process.
pub struct ProcessMetrics {
    checks_passed: AtomicU64,
    checks_failed: AtomicU64,
    /// Per bucket of [`CHECK_BUCKETS`], then +Inf; not cumulative.
    check_buckets: [AtomicU64; CHECK_BUCKETS.len() + 1],
    check_seconds_micros: AtomicU64,
    /// Heroku API responses by HTTP status; 0 for requests that got none.
    heroku_calls: Mutex<std::collections::BTreeMap<u16, u64>>,
}

static METRICS: LazyLock<ProcessMetrics> = LazyLock::new(|| ProcessMetrics {
    checks_passed: AtomicU64::new(0),
    checks_failed: AtomicU64::new(0),
    check_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
    check_seconds_micros: AtomicU64::new(0),
    heroku_calls: Mutex::new(std::collections::BTreeMap::new()),
});

/// Counts one monitor check and its duration.
pub fn record_check(passed: bool, duration: Duration) {
    let metrics = &*METRICS;
    if passed {
        metrics.checks_passed.fetch_add(1, Ordering::Relaxed);
    } else {
        metrics.checks_failed.fetch_add(1, Ordering::Relaxed);
    }
    let seconds = duration.as_secs_f64();
    let bucket =
        CHECK_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(CHECK_BUCKETS.len());
    metrics.check_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    metrics
        .check_seconds_micros
        .fetch_add(duration.as_micros().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
}

/// Counts one Heroku API request by the status of its response (`None`
/// when no response arrived).
pub fn record_heroku_call(status: Option<u16>) {
    let mut calls = METRICS.heroku_calls.lock().expect("metrics lock is not poisoned");
    *calls.entry(status.unwrap_or(0)).or_default() += 1;
}

/// Renders every metric in the Prometheus text exposition format 0.0.4.
pub async fn render(db: &Db) -> sqlx::Result<String> {
    let mut out = String::new();
    render_process(&mut out);
    render_database(db, &mut out).await?;
    Ok(out)
}

fn render_process(out: &mut String) {
    let metrics = &*METRICS;
    let passed = metrics.checks_passed.load(Ordering::Relaxed);
    let failed = metrics.checks_failed.load(Ordering::Relaxed);
    header(
        out,
        "rebound_checks_total",
        "counter",
        "Scheduled HTTP, keyword and TCP monitor checks run by this process since it started.",
    );
    let _ = writeln!(out, "rebound_checks_total{{result=\"passed\"}} {passed}");
    let _ = writeln!(out, "rebound_checks_total{{result=\"failed\"}} {failed}");

    header(
        out,
        "rebound_check_duration_seconds",
        "histogram",
        "Duration of the HTTP, keyword and TCP monitor checks run by this process.",
    );
    let mut cumulative = 0;
    for (index, bound) in CHECK_BUCKETS.iter().enumerate() {
        cumulative += metrics.check_buckets[index].load(Ordering::Relaxed);
        let _ =
            writeln!(out, "rebound_check_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    cumulative += metrics.check_buckets[CHECK_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(out, "rebound_check_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
    let seconds = metrics.check_seconds_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "rebound_check_duration_seconds_sum {seconds}");
    let _ = writeln!(out, "rebound_check_duration_seconds_count {cumulative}");

    header(
        out,
        "rebound_heroku_api_requests_total",
        "counter",
        "Heroku Platform API requests made by this process, by response status (0: no response).",
    );
    let calls = metrics.heroku_calls.lock().expect("metrics lock is not poisoned").clone();
    for (status, count) in calls {
        let _ = writeln!(out, "rebound_heroku_api_requests_total{{status=\"{status}\"}} {count}");
    }
}

async fn render_database(db: &Db, out: &mut String) -> sqlx::Result<()> {
    let monitors: Vec<(String, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT state, COUNT(*) FROM monitors GROUP BY state ORDER BY state").fetch_all(pool).await
    })?;
    header(out, "rebound_monitors", "gauge", "Monitors by confirmed state, all teams.");
    for state in ["pending", "healthy", "failed", "paused"] {
        let count = monitors.iter().find(|(name, _)| name == state).map_or(0, |(_, count)| *count);
        let _ = writeln!(out, "rebound_monitors{{state=\"{state}\"}} {count}");
    }

    let executions: Vec<(String, String, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT kind, outcome, COUNT(*) FROM executions GROUP BY kind, outcome ORDER BY kind, outcome")
            .fetch_all(pool)
            .await
    })?;
    header(
        out,
        "rebound_executions_total",
        "counter",
        "Reaction executions recorded in the database, by kind and outcome.",
    );
    for (kind, outcome, count) in executions {
        let _ = writeln!(
            out,
            "rebound_executions_total{{kind=\"{}\",outcome=\"{}\"}} {count}",
            escape(&kind),
            escape(&outcome)
        );
    }

    let limits: Vec<(i64, i64, i64)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, team_id, rate_limit_remaining FROM heroku_connections \
             WHERE rate_limit_remaining IS NOT NULL ORDER BY id",
        )
        .fetch_all(pool)
        .await
    })?;
    header(
        out,
        "rebound_heroku_rate_limit_remaining",
        "gauge",
        "Heroku API calls left per connection, as Heroku last reported (RateLimit-Remaining).",
    );
    for (id, team_id, remaining) in limits {
        let _ = writeln!(
            out,
            "rebound_heroku_rate_limit_remaining{{connection_id=\"{id}\",team_id=\"{team_id}\"}} {remaining}"
        );
    }

    let reaction_jobs: i64 = with_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM reaction_jobs").fetch_one(pool).await
    })?;
    header(
        out,
        "rebound_reaction_jobs_queued",
        "gauge",
        "Reaction triggers waiting to be decided.",
    );
    let _ = writeln!(out, "rebound_reaction_jobs_queued {reaction_jobs}");

    let deliveries = crate::storage::notifications::count_by_status(db).await?;
    header(
        out,
        "rebound_notification_deliveries",
        "gauge",
        "Notification deliveries by status: pending (queued or waiting to retry), delivered, failed (gave up). Finished ones are pruned with check results.",
    );
    for status in ["pending", "delivered", "failed"] {
        let count =
            deliveries.iter().find(|(name, _)| name == status).map_or(0, |(_, count)| *count);
        let _ = writeln!(out, "rebound_notification_deliveries{{status=\"{status}\"}} {count}");
    }
    Ok(())
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value as the exposition format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\"b"), "a\\\"b");
        assert_eq!(escape("a\\b\nc"), "a\\\\b\\nc");
    }
}
