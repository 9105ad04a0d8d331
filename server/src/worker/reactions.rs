//! The reaction engine loop: claims queued triggers with a lease and decides
//! each one. Steps on one Heroku app are serialised by a database lock, so
//! several processes on one Postgres database never run two steps on an app
//! at once.

use std::time::Duration;

use app::reactions::engine::{JobOutcome, LEASE_RENEWAL, run_job};
use app::state::AppState;
use app::storage::reactions::{self as store, Job};
use rand_core::{OsRng, RngCore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::clock::Clock;
use super::outage::OutageLog;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Triggers decided at once in this process.
    pub concurrency: usize,
    /// A claimed trigger's lease. It is renewed while the trigger runs, so
    /// this bounds how long the trigger of a process that died waits.
    pub lease_ms: i64,
    /// Maximum sleep between looks for queued triggers, because other
    /// processes may queue them without waking this one.
    pub poll_interval: Duration,
    /// On shutdown, triggers in flight get this long to finish; the rest
    /// are taken over when their leases run out.
    pub shutdown_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 16,
            lease_ms: 15_000,
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

pub struct Engine {
    state: AppState,
    config: EngineConfig,
    clock: Clock,
    owner: String,
    outage: OutageLog,
}

impl Engine {
    pub fn new(state: AppState, config: EngineConfig, clock: Clock) -> Engine {
        let owner = format!("{}-{:08x}", std::process::id(), OsRng.next_u32());
        Engine { state, config, clock, owner, outage: OutageLog::default() }
    }

    /// Claims and decides the triggers that are due now; returns how many
    /// were claimed.
    pub async fn run_once(&self) -> usize {
        let jobs = self.claim(self.config.concurrency as u32).await;
        let count = jobs.len();
        let mut running = JoinSet::new();
        for job in jobs {
            running.spawn(decide(
                self.state.clone(),
                self.owner.clone(),
                job,
                self.clock.clone(),
                self.config.lease_ms,
            ));
        }
        while running.join_next().await.is_some() {}
        count
    }

    async fn claim(&self, limit: u32) -> Vec<Job> {
        match store::claim_jobs(
            &self.state.db,
            &self.owner,
            self.clock.now_ms(),
            limit,
            self.config.lease_ms,
        )
        .await
        {
            Ok(jobs) => {
                self.outage.succeeded("claiming reaction triggers");
                jobs
            }
            Err(error) => {
                self.outage.failed("claiming reaction triggers", &error);
                Vec::new()
            }
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker.owner = %self.owner, "reaction engine started");
        let wakeup = self.state.reaction_wakeup.clone();
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = self.config.concurrency.saturating_sub(running.len()) as u32;
            let jobs = if free > 0 { self.claim(free).await } else { Vec::new() };
            let more = free > 0 && jobs.len() as u32 == free;
            for job in jobs {
                let span = tracing::info_span!(
                    "trigger",
                    reaction.id = job.reaction_id,
                    check.id = job.check_id
                );
                let lease_ms = self.config.lease_ms;
                let task = decide(
                    self.state.clone(),
                    self.owner.clone(),
                    job,
                    self.clock.clone(),
                    lease_ms,
                );
                running.spawn(task.instrument(span));
            }
            let wait = if more { Duration::ZERO } else { self.time_until_next_job().await };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wakeup.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(_) = running.join_next(), if free == 0 => {}
            }
        }
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
            // Hand the unfinished triggers back at once; a step that was sent
            // is reconciled by whoever decides the trigger next.
            match store::release_jobs_of(&self.state.db, &self.owner).await {
                Ok(released) => tracing::warn!(
                    triggers.released = released,
                    "reaction triggers still running at shutdown were stopped and handed back"
                ),
                Err(error) => {
                    tracing::warn!(%error, "handing back unfinished triggers failed; their leases expire")
                }
            }
            if let Err(error) = store::release_app_locks_of(&self.state.db, &self.owner).await {
                tracing::warn!(%error, "releasing app locks at shutdown failed; they expire");
            }
        }
        tracing::info!("reaction engine stopped");
    }

    async fn time_until_next_job(&self) -> Duration {
        match store::next_job_at(&self.state.db).await {
            Ok(Some(at)) => {
                let wait = (at - self.clock.now_ms()).max(0) as u64;
                Duration::from_millis(wait).min(self.config.poll_interval)
            }
            Ok(None) => self.config.poll_interval,
            Err(error) => {
                self.outage.failed("reading the next trigger time", &error);
                self.config.poll_interval
            }
        }
    }
}

/// Decides one trigger, renewing its lease meanwhile; a database failure
/// leaves it queued, and it runs again when its lease expires.
async fn decide(state: AppState, owner: String, job: Job, clock: Clock, lease_ms: i64) {
    let renew = async {
        loop {
            tokio::time::sleep(LEASE_RENEWAL).await;
            if let Err(error) =
                store::renew_job(&state.db, job.id, &owner, clock.now_ms() + lease_ms).await
            {
                tracing::warn!(%error, job.id = job.id, "renewing a trigger's lease failed");
            }
        }
    };
    let decided = tokio::select! {
        decided = run_job(&state, &owner, &job, clock.now_ms()) => decided,
        never = renew => never,
    };
    match decided {
        // The decision may have queued notifications.
        Ok(JobOutcome::Done) => state.notification_wakeup.notify_one(),
        Ok(JobOutcome::RetryAt(at)) => {
            if let Err(error) = store::retry_job(&state.db, job.id, &owner, at).await {
                tracing::error!(%error, job.id = job.id, "rescheduling a reaction trigger failed; it runs again when its lease expires");
            }
            // The next look comes from the loop's poll or wake-up.
            state.reaction_wakeup.notify_one();
        }
        Err(error) => {
            tracing::error!(%error, job.id = job.id, "deciding a reaction trigger failed; it runs again when its lease expires");
        }
    }
}
