//! Executes reaction triggers: reads the app's live state from Heroku, plans
//! one step, sends it (or records why not) and writes exactly one execution
//! record per trigger.
//!
//! A trigger's record is written as "running" before its step is sent to
//! Heroku. If the process dies before the result is stored, the process
//! that takes the trigger over reconciles: a scaling step is checked against
//! the live formation, a rollback against the newest release, and a restart
//! or one-off dyno, which cannot be checked, is recorded as interrupted
//! instead of being sent a second time.

use std::time::Instant;

use super::plan::{LiveState, Plan, Step, plan};
use super::settings::ReactionKind;
use super::{Execution, ExecutionDetail, ExecutionOutcome, Reaction};
use crate::connections::tokens::ConnectionCredentials;
use crate::heroku::client::Api;
use crate::heroku::sizes::{Tier, parse_size};
use crate::heroku::types::{Dyno, Formation, OneOffDyno, Release};
use crate::heroku::{HerokuError, HerokuErrorKind};
use crate::state::AppState;
use crate::storage::reactions::{
    self as store, ExecutionError, Finish, Job, NewExecution, ReactionRecord,
};

/// Releases read before a rollback: enough to follow a few rollbacks and skip
/// failed releases.
pub const RELEASES_READ: usize = 50;
/// How long an app lock lasts unless renewed. It is renewed every
/// [`LEASE_RENEWAL`] while a step runs, so the lock of a process that died
/// frees the app within this time.
pub const APP_LOCK_MS: i64 = 15_000;
/// How often held leases are extended.
pub const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a trigger waits for another step on its app before it is
/// recorded as "skipped: app busy".
pub const BUSY_WAIT_MS: i64 = 30_000;
/// Delay before a trigger that found its app busy tries again.
pub const BUSY_RETRY_MS: i64 = 250;

/// The parts of an app's live state a reaction kind needs.
#[derive(Debug, Clone, Default)]
pub struct LiveData {
    pub formation: Vec<Formation>,
    pub dynos: Vec<Dyno>,
    pub releases: Vec<Release>,
}

impl LiveData {
    /// Private Space sizes in the formation mean the app lives in a space.
    pub fn in_private_space(&self) -> bool {
        self.formation.iter().any(|entry| {
            parse_size(&entry.size).is_ok_and(|parsed| parsed.size.tier() == Tier::Private)
        })
    }

    pub fn view(&self) -> LiveState<'_> {
        LiveState {
            formation: &self.formation,
            dynos: &self.dynos,
            releases: &self.releases,
            in_private_space: self.in_private_space(),
        }
    }
}

/// Reads what `kind` needs from Heroku: the formation for scaling, the dynos
/// for restarts, the newest releases for rollbacks.
pub async fn fetch_live(
    api: &Api<'_>,
    app: &str,
    kind: ReactionKind,
) -> Result<LiveData, HerokuError> {
    let mut live = LiveData::default();
    match kind {
        ReactionKind::ScaleOut
        | ReactionKind::ScaleIn
        | ReactionKind::ScaleUp
        | ReactionKind::ScaleDown => {
            live.formation = api.formation(app).await?.value;
        }
        ReactionKind::RestartDyno | ReactionKind::RestartAll => {
            live.dynos = api.dynos(app).await?.value;
        }
        ReactionKind::Rollback => {
            live.releases = api.releases(app, RELEASES_READ, RELEASES_READ).await?.value;
        }
        ReactionKind::OneOff => {
            // Only the app's existence matters, so that a typo fails early.
            api.app(app).await?;
        }
    }
    Ok(live)
}

/// What became of a claimed trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Decided and recorded (or dropped because its reaction is gone).
    Done,
    /// Try again at this time (epoch ms): its app is busy.
    RetryAt(i64),
}

fn app_key(reaction: &Reaction) -> String {
    format!("{}:{}", reaction.connection_id.unwrap_or_default(), reaction.app_name)
}

fn detail_json(detail: &ExecutionDetail) -> String {
    serde_json::to_string(detail).expect("execution details serialize to JSON")
}

fn heroku_failure(error: &HerokuError) -> ExecutionError<'_> {
    ExecutionError {
        message: &error.message,
        status: error.status,
        heroku_id: error.id.as_deref(),
        request_id: error.request_id.as_deref(),
    }
}

/// Decides one trigger and records the decision. `now` is the trigger's
/// start in epoch milliseconds.
pub async fn run_job(
    state: &AppState,
    owner: &str,
    job: &Job,
    now: i64,
) -> Result<JobOutcome, sqlx::Error> {
    let record = match store::get_any(&state.db, job.reaction_id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            store::delete_job(&state.db, job.id).await?;
            return Ok(JobOutcome::Done);
        }
        Err(store::ReactionsError::Database(error)) => return Err(error),
        Err(error) => {
            tracing::error!(reaction.id = job.reaction_id, %error, "a reaction is unreadable; its trigger is dropped");
            store::delete_job(&state.db, job.id).await?;
            return Ok(JobOutcome::Done);
        }
    };
    let reaction = &record.reaction;
    if !reaction.enabled {
        store::delete_job(&state.db, job.id).await?;
        return Ok(JobOutcome::Done);
    }
    let previous = store::execution_for_trigger(&state.db, reaction.id, job.check_id).await?;
    if let Some(previous) = &previous
        && previous.outcome != ExecutionOutcome::Running
    {
        // Decided already; a retried or re-claimed job does not act twice.
        store::delete_job(&state.db, job.id).await?;
        return Ok(JobOutcome::Done);
    }
    let trigger = Trigger { state, record: &record, job, now };

    let Some(connection_id) = reaction.connection_id else {
        return trigger
            .block(
                ExecutionOutcome::Failed,
                "the Heroku connection was removed; choose another connection",
            )
            .await;
    };
    if !reaction.connection_ok {
        let reason = format!(
            "the Heroku connection for {} needs to be connected again",
            reaction.connection_email.as_deref().unwrap_or("this account")
        );
        return trigger.block(ExecutionOutcome::Failed, &reason).await;
    }
    if previous.is_none()
        && reaction.frequency_secs > 0
        && let Some(last) = reaction.last_acted_at
    {
        let ready_at = last + i64::from(reaction.frequency_secs) * 1000;
        if now < ready_at {
            let summary = format!(
                "cooldown: the last run was {} s ago (frequency {} s)",
                (now - last) / 1000,
                reaction.frequency_secs
            );
            return trigger
                .record(ExecutionOutcome::SkippedCooldown, &summary, None, None, None)
                .await;
        }
    }

    let key = app_key(reaction);
    // The lock names the trigger, not only the process, so that two triggers
    // decided by one process also wait for each other.
    let holder = format!("{owner}/{}", job.id);
    if !store::lock_app(&state.db, &key, &holder, now, now + APP_LOCK_MS).await? {
        if now - job.created_at >= BUSY_WAIT_MS {
            let summary = format!(
                "another step on {} ran for more than {} s",
                reaction.app_name,
                BUSY_WAIT_MS / 1000
            );
            return trigger.record(ExecutionOutcome::SkippedBusy, &summary, None, None, None).await;
        }
        return Ok(JobOutcome::RetryAt(now + BUSY_RETRY_MS));
    }
    let renew = async {
        loop {
            tokio::time::sleep(LEASE_RENEWAL).await;
            let until = crate::time::now_ms() + APP_LOCK_MS;
            match store::renew_app_lock(&state.db, &key, &holder, until).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(heroku.app = %reaction.app_name, "an app lock was lost while its step ran")
                }
                Err(error) => {
                    tracing::warn!(%error, heroku.app = %reaction.app_name, "renewing an app lock failed")
                }
            }
        }
    };
    let outcome = tokio::select! {
        outcome = trigger.run_locked(connection_id, previous) => outcome,
        never = renew => never,
    };
    if let Err(error) = store::unlock_app(&state.db, &key, &holder).await {
        tracing::warn!(%error, heroku.app = %reaction.app_name, "releasing an app lock failed; it expires on its own");
    }
    outcome
}

/// One trigger being decided.
struct Trigger<'a> {
    state: &'a AppState,
    record: &'a ReactionRecord,
    job: &'a Job,
    now: i64,
}

impl Trigger<'_> {
    fn execution<'b>(
        &'b self,
        outcome: ExecutionOutcome,
        summary: &'b str,
        detail: Option<&'b str>,
        error: Option<ExecutionError<'b>>,
        duration_ms: Option<u32>,
    ) -> NewExecution<'b> {
        NewExecution {
            team_id: self.record.team_id,
            reaction: &self.record.reaction,
            check_id: self.job.check_id,
            monitor_state: &self.job.monitor_state,
            outcome,
            summary,
            detail,
            error,
            started_at: self.now,
            duration_ms,
        }
    }

    /// Records a decision and ends the trigger.
    async fn record(
        &self,
        outcome: ExecutionOutcome,
        summary: &str,
        detail: Option<&str>,
        error: Option<ExecutionError<'_>>,
        duration_ms: Option<u32>,
    ) -> Result<JobOutcome, sqlx::Error> {
        let acted = matches!(outcome, ExecutionOutcome::Succeeded | ExecutionOutcome::DryRun);
        let finish = Finish {
            job_id: self.job.id,
            record: Some(self.execution(outcome, summary, detail, error, duration_ms)),
            acted_at: acted.then_some(self.now),
            block: None,
        };
        store::finish(&self.state.db, &finish).await?;
        log_decision(&self.record.reaction, outcome, summary);
        Ok(JobOutcome::Done)
    }

    /// Records a bound or refusal once: a trigger meeting the same one as
    /// last time ends without a record.
    async fn block(
        &self,
        outcome: ExecutionOutcome,
        summary: &str,
    ) -> Result<JobOutcome, sqlx::Error> {
        if self.record.last_block.as_deref() == Some(summary) {
            store::finish(
                &self.state.db,
                &Finish { job_id: self.job.id, record: None, acted_at: None, block: None },
            )
            .await?;
            return Ok(JobOutcome::Done);
        }
        let finish = Finish {
            job_id: self.job.id,
            record: Some(self.execution(outcome, summary, None, None, None)),
            acted_at: None,
            block: Some(summary),
        };
        store::finish(&self.state.db, &finish).await?;
        log_decision(&self.record.reaction, outcome, summary);
        Ok(JobOutcome::Done)
    }

    /// Plans and acts while holding the app's lock.
    async fn run_locked(
        &self,
        connection_id: i64,
        previous: Option<Execution>,
    ) -> Result<JobOutcome, sqlx::Error> {
        let reaction = &self.record.reaction;
        let Some(credentials) = ConnectionCredentials::load(self.state, connection_id).await?
        else {
            return self
                .block(
                    ExecutionOutcome::Failed,
                    "the Heroku connection was removed; choose another connection",
                )
                .await;
        };
        let api = credentials.api();
        let started = Instant::now();
        let live = match fetch_live(&api, &reaction.app_name, reaction.settings.kind()).await {
            Ok(live) => live,
            Err(error) => {
                return self
                    .heroku_failed("reading the app's state", &error, elapsed_ms(started))
                    .await;
            }
        };
        if let Some(previous) = previous {
            return self.reconcile(&api, previous, &live, started).await;
        }
        match plan(&reaction.settings, &live.view()) {
            Plan::AtBound { summary } => self.block(ExecutionOutcome::AtBound, &summary).await,
            Plan::Refuse { reason } => self.block(ExecutionOutcome::Failed, &reason).await,
            Plan::Act { step, summary } if reaction.dry_run => {
                let detail = detail_json(&ExecutionDetail {
                    step: Some(step),
                    ..ExecutionDetail::default()
                });
                self.record(
                    ExecutionOutcome::DryRun,
                    &format!("would {summary}"),
                    Some(&detail),
                    None,
                    None,
                )
                .await
            }
            Plan::Act { step, summary } => self.act(&api, step, summary, started).await,
        }
    }

    /// Sends a step to Heroku, with its "running" record written first.
    async fn act(
        &self,
        api: &Api<'_>,
        step: Step,
        summary: String,
        started: Instant,
    ) -> Result<JobOutcome, sqlx::Error> {
        let detail = ExecutionDetail { step: Some(step.clone()), ..ExecutionDetail::default() };
        let running = detail_json(&detail);
        store::write_execution(
            &self.state.db,
            &self.execution(ExecutionOutcome::Running, &summary, Some(&running), None, None),
        )
        .await?;
        let result = send(api, &self.record.reaction.app_name, &step).await;
        let duration = elapsed_ms(started);
        match result {
            Ok(sent) => {
                let detail = ExecutionDetail {
                    dyno: sent.dyno.clone(),
                    new_release_version: sent.new_release,
                    ..detail
                };
                let summary = match (&step, &sent) {
                    (Step::RunOneOff { .. }, Sent { dyno: Some(dyno), .. }) => {
                        format!("{summary} → {dyno}")
                    }
                    (
                        Step::Rollback { current_version, target_version, running_version, .. },
                        Sent { new_release: Some(new), .. },
                    ) => {
                        let running_note = if running_version == current_version {
                            String::new()
                        } else {
                            format!(" (running v{running_version})")
                        };
                        format!(
                            "release v{current_version}{running_note} → v{target_version} (new v{new})"
                        )
                    }
                    _ => summary,
                };
                self.record(
                    ExecutionOutcome::Succeeded,
                    &summary,
                    Some(&detail_json(&detail)),
                    None,
                    Some(duration),
                )
                .await
            }
            Err(error) => {
                let summary = format!("{summary} failed");
                let detail = detail_json(&detail);
                self.record(
                    ExecutionOutcome::Failed,
                    &summary,
                    Some(&detail),
                    Some(heroku_failure(&error)),
                    Some(duration),
                )
                .await
            }
        }
    }

    async fn heroku_failed(
        &self,
        doing: &str,
        error: &HerokuError,
        duration_ms: u32,
    ) -> Result<JobOutcome, sqlx::Error> {
        let summary = format!("{doing} failed");
        if error.kind == HerokuErrorKind::NeedsReauthorization {
            return self.block(ExecutionOutcome::Failed, &error.message).await;
        }
        self.record(
            ExecutionOutcome::Failed,
            &summary,
            None,
            Some(heroku_failure(error)),
            Some(duration_ms),
        )
        .await
    }

    /// Finishes a trigger whose step may have been sent by a process that
    /// died before storing the result.
    async fn reconcile(
        &self,
        api: &Api<'_>,
        previous: Execution,
        live: &LiveData,
        started: Instant,
    ) -> Result<JobOutcome, sqlx::Error> {
        let step = previous.detail.as_ref().and_then(|detail| detail.step.clone());
        let summary = previous.summary.clone();
        let confirmed = format!("{summary} (confirmed after an interruption)");
        match step {
            Some(Step::SetQuantity { ref process_type, from, to }) => {
                let quantity = live
                    .formation
                    .iter()
                    .find(|entry| &entry.process_type == process_type)
                    .map(|entry| entry.quantity);
                match quantity {
                    Some(quantity) if quantity == to => {
                        self.record(
                            ExecutionOutcome::Succeeded,
                            &confirmed,
                            None,
                            None,
                            Some(elapsed_ms(started)),
                        )
                        .await
                    }
                    Some(quantity) if quantity == from => {
                        self.act(api, step.clone().expect("matched Some above"), summary, started)
                            .await
                    }
                    _ => self.interrupted(&summary).await,
                }
            }
            Some(Step::SetSize { ref process_type, from, to, .. }) => {
                let size = live
                    .formation
                    .iter()
                    .find(|entry| &entry.process_type == process_type)
                    .and_then(|entry| parse_size(&entry.size).ok())
                    .map(|parsed| parsed.size);
                match size {
                    Some(size) if size == to => {
                        self.record(
                            ExecutionOutcome::Succeeded,
                            &confirmed,
                            None,
                            None,
                            Some(elapsed_ms(started)),
                        )
                        .await
                    }
                    Some(size) if size == from => {
                        self.act(api, step.clone().expect("matched Some above"), summary, started)
                            .await
                    }
                    _ => self.interrupted(&summary).await,
                }
            }
            Some(Step::Rollback { target_version, current_version, .. }) => {
                let newest = live.releases.iter().max_by_key(|release| release.version);
                let done = newest.is_some_and(|release| {
                    release.version > current_version
                        && release.description.trim() == format!("Rollback to v{target_version}")
                });
                if done {
                    self.record(
                        ExecutionOutcome::Succeeded,
                        &confirmed,
                        None,
                        None,
                        Some(elapsed_ms(started)),
                    )
                    .await
                } else {
                    self.interrupted(&summary).await
                }
            }
            _ => self.interrupted(&summary).await,
        }
    }

    async fn interrupted(&self, summary: &str) -> Result<JobOutcome, sqlx::Error> {
        let message = "Rebound stopped after sending this step and before storing Heroku's answer; it was not sent again, to avoid acting twice. Check the app's state at Heroku.";
        let error = ExecutionError { message, status: None, heroku_id: None, request_id: None };
        self.record(
            ExecutionOutcome::Failed,
            &format!("{summary}: outcome unknown"),
            None,
            Some(error),
            None,
        )
        .await
    }
}

/// What Heroku returned for a step.
#[derive(Debug, Default)]
struct Sent {
    dyno: Option<String>,
    new_release: Option<i64>,
}

async fn send(api: &Api<'_>, app: &str, step: &Step) -> Result<Sent, HerokuError> {
    match step {
        Step::SetQuantity { process_type, to, .. } => {
            api.update_formation(app, process_type, Some(*to), None).await?;
            Ok(Sent::default())
        }
        Step::SetSize { process_type, to, .. } => {
            api.update_formation(app, process_type, None, Some(to.as_str())).await?;
            Ok(Sent::default())
        }
        Step::RestartDyno { name } => {
            api.restart_dyno(app, name).await?;
            Ok(Sent::default())
        }
        Step::RestartAll => {
            api.restart_all_dynos(app).await?;
            Ok(Sent::default())
        }
        Step::Rollback { release_id, .. } => {
            let release = api.rollback(app, release_id).await?.value;
            Ok(Sent { new_release: Some(release.version), ..Sent::default() })
        }
        Step::RunOneOff { command, size, time_to_live_secs } => {
            let dyno = OneOffDyno {
                command: command.clone(),
                size: size.map(|size| size.as_str().to_string()),
                time_to_live: *time_to_live_secs,
            };
            let created = api.create_one_off_dyno(app, &dyno).await?.value;
            Ok(Sent { dyno: Some(created.name), ..Sent::default() })
        }
    }
}

fn elapsed_ms(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)
}

fn log_decision(reaction: &Reaction, outcome: ExecutionOutcome, summary: &str) {
    tracing::info!(
        reaction.id = reaction.id,
        heroku.app = %reaction.app_name,
        outcome = outcome.as_str(),
        summary,
        "reaction decided"
    );
}
