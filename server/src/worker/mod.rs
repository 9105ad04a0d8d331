//! The background worker: the monitor scheduler, the reaction engine, the
//! notification sender, Heroku token refreshes and periodic housekeeping.
//! Each runs as its own task and stops after its current step once the
//! shutdown token is cancelled.

pub mod clock;
pub mod housekeeping;
pub mod monitors;
pub mod notifications;
pub mod outage;
pub mod reactions;
pub mod tokens;

use app::state::AppState;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use monitors::SchedulerConfig;

/// Settings of the worker as a whole.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub scheduler: SchedulerConfig,
    pub engine: reactions::EngineConfig,
    pub notifier: notifications::NotifierConfig,
    pub housekeeping: housekeeping::HousekeepingConfig,
}

/// Starts every worker task; the returned set finishes when all have stopped.
pub fn spawn(state: AppState, config: WorkerConfig, shutdown: CancellationToken) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let scheduler =
        monitors::Scheduler::new(state.clone(), config.scheduler, clock::Clock::system());
    tasks.spawn(scheduler.run(shutdown.clone()));
    let engine = reactions::Engine::new(state.clone(), config.engine, clock::Clock::system());
    tasks.spawn(engine.run(shutdown.clone()));
    let notifier = notifications::Notifier::new(state.clone(), config.notifier);
    tasks.spawn(notifier.run(shutdown.clone()));
    tasks.spawn(tokens::run(state.clone(), shutdown.clone()));
    tasks.spawn(housekeeping::run(state, config.housekeeping, shutdown));
    tasks
}
