//! The monitor scheduler: claims due monitors with a lease, runs their checks
//! with bounded concurrency, and writes results in batches.
//!
//! Several processes may share one Postgres database. A claim leases each
//! monitor to one process until its check is written, or until the lease runs
//! out because the process died. So every check runs once, and a check never
//! overlaps the previous one of the same monitor.

use std::collections::HashMap;
use std::time::Duration;

use app::monitors::MonitorSettings;
use app::monitors::probe::CheckOutcome;
use app::monitors::schedule::next_due;
use app::monitors::ssr::heartbeat_missed_reason;
use app::state::AppState;
use app::storage::Db;
use app::storage::monitors::{self as store, Claimed, FinishedCheck, StoredCheck};
use rand_core::{OsRng, RngCore};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::clock::Clock;
use super::outage::OutageLog;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Checks running at once in this process.
    pub concurrency: usize,
    /// Monitors claimed per database round trip.
    pub claim_batch: u32,
    /// Added to a check's timeout to size its lease.
    pub lease_margin_ms: i64,
    /// Maximum sleep between looks for due monitors, because other processes
    /// may add monitors without waking this one.
    pub poll_interval: Duration,
    /// Most results written per transaction.
    pub write_batch: usize,
    /// Wait before each write so that more results join the batch; zero
    /// writes what has arrived at once.
    pub write_delay: Duration,
    /// Batches written at once on Postgres (SQLite writes one at a time).
    pub postgres_writers: usize,
    /// On shutdown, checks in flight get this long to finish. The leases of
    /// the rest are released so that another process, or the next start,
    /// runs them.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            concurrency: 256,
            claim_batch: 500,
            lease_margin_ms: 5_000,
            poll_interval: Duration::from_secs(1),
            write_batch: 500,
            write_delay: Duration::ZERO,
            postgres_writers: 4,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

pub struct Scheduler {
    state: AppState,
    config: SchedulerConfig,
    clock: Clock,
    owner: String,
    events: broadcast::Sender<StoredCheck>,
    outage: OutageLog,
}

impl Scheduler {
    pub fn new(state: AppState, config: SchedulerConfig, clock: Clock) -> Scheduler {
        let owner = format!("{}-{:08x}", std::process::id(), OsRng.next_u32());
        let (events, _) = broadcast::channel(4096);
        Scheduler { state, config, clock, owner, events, outage: OutageLog::default() }
    }

    /// Returns a receiver of every stored check with the state it led to.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredCheck> {
        self.events.subscribe()
    }

    /// Returns the lease owner name of this process.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Leases due monitors, up to `limit`.
    pub async fn claim(&self, limit: u32) -> Vec<Claimed> {
        let now = self.clock.now_ms();
        match store::claim_due(&self.state.db, &self.owner, now, limit, self.config.lease_margin_ms)
            .await
        {
            Ok(claimed) => {
                self.outage.succeeded("claiming due monitors");
                claimed
            }
            Err(error) => {
                self.outage.failed("claiming due monitors", &error);
                Vec::new()
            }
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker.owner = %self.owner, concurrency = self.config.concurrency, "monitor scheduler started");
        let (results, receiver) = mpsc::channel(self.config.concurrency.max(1) * 2);
        let writer = tokio::spawn(write_results(
            self.state.clone(),
            receiver,
            self.config.clone(),
            self.events.clone(),
            shutdown.clone(),
        ));
        let mut checks = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, i64> = HashMap::new();
        let wakeup = self.state.monitor_wakeup.clone();
        loop {
            while let Some(finished) = checks.try_join_next_with_id() {
                forget(&mut running, finished);
            }
            let free = self.config.concurrency.saturating_sub(checks.len());
            let limit = (free as u32).min(self.config.claim_batch);
            let claimed = if limit > 0 { self.claim(limit).await } else { Vec::new() };
            let more_due = limit > 0 && claimed.len() as u32 == limit;
            for claim in claimed {
                let monitor_id = claim.record.monitor.id;
                let span = tracing::info_span!("check", monitor.id = monitor_id);
                let task = run_check(
                    self.state.clone(),
                    claim,
                    self.clock.clone(),
                    results.clone(),
                    self.owner.clone(),
                );
                let handle = checks.spawn(task.instrument(span));
                running.insert(handle.id(), monitor_id);
            }
            let wait = if more_due { Duration::ZERO } else { self.time_until_next_due().await };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wakeup.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(finished) = checks.join_next_with_id(), if free == 0 => forget(&mut running, finished),
            }
        }

        let grace = tokio::time::sleep(self.config.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                () = &mut grace => break,
                finished = checks.join_next_with_id() => match finished {
                    Some(finished) => forget(&mut running, finished),
                    None => break,
                },
            }
        }
        checks.abort_all();
        for monitor_id in running.into_values() {
            if let Err(error) = store::release_lease(&self.state.db, monitor_id, &self.owner).await
            {
                tracing::warn!(monitor.id = monitor_id, %error, "releasing a lease at shutdown failed; it expires on its own");
            }
        }
        drop(results);
        if let Err(error) = writer.await {
            tracing::error!(%error, "the result writer ended abnormally");
        }
        tracing::info!("monitor scheduler stopped");
    }

    /// Returns how long to sleep before the next monitor is due, at most the poll interval.
    async fn time_until_next_due(&self) -> Duration {
        match store::next_due_at(&self.state.db, self.clock.now_ms()).await {
            Ok(Some(due)) => {
                let wait = (due - self.clock.now_ms()).max(0) as u64;
                Duration::from_millis(wait).min(self.config.poll_interval)
            }
            Ok(None) => self.config.poll_interval,
            Err(error) => {
                self.outage.failed("reading the next due time", &error);
                self.config.poll_interval
            }
        }
    }
}

fn forget(
    running: &mut HashMap<tokio::task::Id, i64>,
    finished: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    match finished {
        Ok((id, ())) => {
            running.remove(&id);
        }
        Err(error) => {
            if let Some(monitor_id) = running.remove(&error.id()) {
                tracing::error!(monitor.id = monitor_id, %error, "a check task failed; its lease expires and the check runs again");
            }
        }
    }
}

/// Runs one claimed check and hands its result to the writer.
pub async fn run_check(
    state: AppState,
    claim: Claimed,
    clock: Clock,
    results: mpsc::Sender<FinishedCheck>,
    owner: String,
) {
    let finished = check(&state, &claim, &clock, &owner).await;
    if results.send(finished).await.is_err() {
        tracing::warn!("result writer stopped before the check finished; its lease expires");
    }
}

/// Runs one claimed check and returns the result to store.
pub async fn check(state: &AppState, claim: &Claimed, clock: &Clock, owner: &str) -> FinishedCheck {
    let monitor = &claim.record.monitor;
    let started = clock.now_ms();
    let (outcome, stale_if_pinged_after) = match &monitor.settings {
        MonitorSettings::Heartbeat(_) => {
            // Claimed means its deadline passed without a ping.
            let since = monitor.last_ping_at.unwrap_or(monitor.created_at);
            let outcome = CheckOutcome {
                passed: false,
                response_ms: None,
                status_code: None,
                reason: Some(heartbeat_missed_reason(since)),
            };
            (outcome, Some(since))
        }
        settings => {
            let started = std::time::Instant::now();
            let outcome = state.prober.check(settings).await;
            app::metrics::record_check(outcome.passed, started.elapsed());
            (outcome, None)
        }
    };
    let interval_ms = i64::from(monitor.interval_secs) * 1000;
    let now = clock.now_ms();
    let (next_check_at, skipped) = match &monitor.settings {
        // A missed heartbeat fails again one period later unless a ping comes.
        MonitorSettings::Heartbeat(_) => (now + interval_ms, 0),
        _ => next_due(claim.due_at, interval_ms, now),
    };
    if skipped > 0 {
        tracing::info!(
            monitor.id = monitor.id,
            ticks.skipped = skipped,
            "skipped checks that were missed"
        );
    }
    if !outcome.passed {
        tracing::debug!(
            monitor.id = monitor.id,
            reason = outcome.reason.as_deref().unwrap_or(""),
            "check failed"
        );
    }
    FinishedCheck {
        monitor_id: monitor.id,
        revision: claim.record.revision,
        lease_owner: Some(owner.to_string()),
        checked_at: started,
        passed: outcome.passed,
        response_ms: outcome.response_ms,
        status_code: outcome.status_code,
        reason: outcome.reason,
        next_check_at,
        is_ping: false,
        stale_if_pinged_after,
    }
}

/// Writes results in batches; a failed write is retried with backoff until
/// it succeeds or the process stops, so results survive a database outage.
/// A batch is whatever arrived while the previous one was being written (up
/// to `write_batch`), so an idle scheduler writes each result at once and a
/// busy one amortises commits.
///
/// On Postgres several batches are written at once, each in its own
/// transaction: a result costs several statements, and one writer waiting
/// on each round trip in turn caps throughput well below what the database
/// can do. The batches touch different monitors (a monitor has one check in
/// flight at a time), so they do not contend. SQLite takes one writer at a
/// time anyway, so there batches are written one after another.
async fn write_results(
    state: AppState,
    mut receiver: mpsc::Receiver<FinishedCheck>,
    config: SchedulerConfig,
    events: broadcast::Sender<StoredCheck>,
    shutdown: CancellationToken,
) {
    let writers = match state.db {
        Db::Postgres(_) => config.postgres_writers.max(1),
        Db::Sqlite(_) => 1,
    };
    let mut writing = JoinSet::new();
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        if !config.write_delay.is_zero() {
            tokio::time::sleep(config.write_delay).await;
        }
        while batch.len() < config.write_batch {
            match receiver.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if writing.len() >= writers {
            writing.join_next().await;
        }
        writing.spawn(flush(state.clone(), batch, events.clone(), shutdown.clone()));
    }
    writing.join_all().await;
}

/// Maximum wait between retries of a failed write.
const MAX_WRITE_BACKOFF: Duration = Duration::from_secs(10);

async fn flush(
    state: AppState,
    batch: Vec<FinishedCheck>,
    events: broadcast::Sender<StoredCheck>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    let mut logged = false;
    loop {
        match store::record_checks(&state.db, &batch).await {
            Ok(stored) => {
                if stored.iter().any(|check| check.triggered > 0) {
                    state.reaction_wakeup.notify_one();
                }
                if stored.iter().any(|check| check.changed_from.is_some()) {
                    state.notification_wakeup.notify_one();
                }
                if logged {
                    tracing::info!(
                        checks = batch.len(),
                        "check results written after the database came back"
                    );
                }
                let dropped = batch.len() - stored.len();
                if dropped > 0 {
                    tracing::debug!(
                        checks.dropped = dropped,
                        "results for edited, paused, deleted or re-leased monitors dropped"
                    );
                }
                for check in stored {
                    // No subscribers is fine: nothing reacts to this monitor yet.
                    let _ = events.send(check);
                }
                return;
            }
            Err(error) => {
                if !logged {
                    tracing::error!(%error, checks = batch.len(), "writing check results failed; retrying until the database is reachable");
                    logged = true;
                }
                if shutdown.is_cancelled() && backoff >= MAX_WRITE_BACKOFF {
                    tracing::error!(
                        checks = batch.len(),
                        "giving up on unwritten check results at shutdown; their monitors run again"
                    );
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_WRITE_BACKOFF);
            }
        }
    }
}
