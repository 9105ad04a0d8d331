//! Reactions, their trigger queue, execution records and per-app locks.

use sqlx::FromRow;

use super::notifications::queue_deliveries;
use super::{Db, is_unique_violation, with_db};
use crate::monitors::MonitorState;
use crate::notifications::event::ExecutionFacts;
use crate::reactions::settings::{CallOn, ReactionSettings};
use crate::reactions::{Execution, ExecutionCursor, ExecutionFilter, ExecutionOutcome, Reaction};

#[derive(Debug, thiserror::Error)]
pub enum ReactionsError {
    #[error("a reaction with this name already exists in the team")]
    DuplicateName,
    #[error("no such reaction")]
    NotFound,
    #[error("stored reaction {id} is unreadable: {cause}")]
    Corrupt { id: i64, cause: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A validated reaction, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionDraft {
    pub name: String,
    pub monitor_id: i64,
    pub connection_id: i64,
    pub app_name: String,
    pub call_on: CallOn,
    pub settings: ReactionSettings,
    pub trigger_count: u32,
    pub frequency_secs: u32,
    pub dry_run: bool,
    pub enabled: bool,
}

/// Statements the monitor result writer runs in its own transaction after
/// storing a check: advance every enabled reaction's run of matching
/// checks, then queue a trigger for each reaction whose run is long enough
/// and whose connection works. Parameters: $1 monitor state, $2 monitor id.
pub const ADVANCE_MATCH_RUNS: &str = "UPDATE reactions SET consecutive_matches = \
     CASE WHEN call_on = $1 THEN consecutive_matches + 1 ELSE 0 END \
     WHERE monitor_id = $2 AND enabled";

/// Parameters: $1 check id, $2 monitor state, $3 checked at, $4 now, $5 monitor id.
pub const QUEUE_TRIGGERS: &str = "INSERT INTO reaction_jobs \
     (reaction_id, check_id, monitor_state, checked_at, created_at, run_after) \
     SELECT r.id, $1, $2, $3, $4, $4 FROM reactions r \
     JOIN heroku_connections c ON c.id = r.connection_id \
     WHERE r.monitor_id = $5 AND r.enabled AND c.state = 'ok' AND r.call_on = $2 \
     AND r.consecutive_matches >= r.trigger_count \
     ON CONFLICT (reaction_id, check_id) DO NOTHING";

const REACTION_COLUMNS: &str = "r.id, r.team_id, r.name, r.monitor_id, m.name AS monitor_name, \
     m.state AS monitor_state, r.connection_id, c.email AS connection_email, c.kind AS connection_kind, \
     c.state AS connection_state, r.app_name, r.call_on, r.settings, r.trigger_count, r.frequency_secs, \
     r.dry_run, r.enabled, r.consecutive_matches, r.last_acted_at, r.last_block, r.created_at, r.updated_at";

const REACTION_FROM: &str = "FROM reactions r JOIN monitors m ON m.id = r.monitor_id \
     LEFT JOIN heroku_connections c ON c.id = r.connection_id";

#[derive(Debug, FromRow)]
struct ReactionRow {
    id: i64,
    team_id: i64,
    name: String,
    monitor_id: i64,
    monitor_name: String,
    monitor_state: String,
    connection_id: Option<i64>,
    connection_email: Option<String>,
    connection_kind: Option<String>,
    connection_state: Option<String>,
    app_name: String,
    call_on: String,
    settings: String,
    trigger_count: i32,
    frequency_secs: i32,
    dry_run: bool,
    enabled: bool,
    consecutive_matches: i32,
    last_acted_at: Option<i64>,
    last_block: Option<String>,
    created_at: i64,
    updated_at: i64,
}

/// A stored reaction with what the engine needs beyond the public view.
#[derive(Debug, Clone)]
pub struct ReactionRecord {
    pub reaction: Reaction,
    pub team_id: i64,
    pub last_block: Option<String>,
}

impl TryFrom<ReactionRow> for ReactionRecord {
    type Error = ReactionsError;

    fn try_from(row: ReactionRow) -> Result<Self, Self::Error> {
        let corrupt = |cause: String| ReactionsError::Corrupt { id: row.id, cause };
        let settings: ReactionSettings =
            serde_json::from_str(&row.settings).map_err(|error| corrupt(error.to_string()))?;
        let call_on = CallOn::parse(&row.call_on)
            .ok_or_else(|| corrupt(format!("call_on {:?}", row.call_on)))?;
        Ok(ReactionRecord {
            reaction: Reaction {
                id: row.id,
                name: row.name,
                monitor_id: row.monitor_id,
                monitor_name: row.monitor_name,
                monitor_state: MonitorState::parse(&row.monitor_state)
                    .unwrap_or(MonitorState::Pending),
                connection_id: row.connection_id,
                connection_email: row.connection_email,
                connection_simulated: row.connection_kind.as_deref() == Some("sandbox"),
                connection_ok: row.connection_state.as_deref() == Some("ok"),
                connection_state: row.connection_state,
                app_name: row.app_name,
                call_on,
                settings,
                trigger_count: row.trigger_count as u32,
                frequency_secs: row.frequency_secs as u32,
                dry_run: row.dry_run,
                enabled: row.enabled,
                consecutive_matches: row.consecutive_matches as u32,
                last_acted_at: row.last_acted_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            team_id: row.team_id,
            last_block: row.last_block,
        })
    }
}

fn name_taken_or(error: sqlx::Error) -> ReactionsError {
    if is_unique_violation(&error, "reactions", &["team_id", "name"]) {
        ReactionsError::DuplicateName
    } else {
        error.into()
    }
}

pub async fn create(
    db: &Db,
    team_id: i64,
    draft: &ReactionDraft,
    now: i64,
) -> Result<i64, ReactionsError> {
    let settings =
        serde_json::to_string(&draft.settings).expect("reaction settings serialize to JSON");
    let query = "INSERT INTO reactions (team_id, name, monitor_id, connection_id, app_name, kind, call_on, \
                 settings, trigger_count, frequency_secs, dry_run, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id";
    with_db!(db, pool => {
        sqlx::query_scalar(query)
            .bind(team_id)
            .bind(&draft.name)
            .bind(draft.monitor_id)
            .bind(draft.connection_id)
            .bind(&draft.app_name)
            .bind(draft.settings.kind().as_str())
            .bind(draft.call_on.as_str())
            .bind(&settings)
            .bind(draft.trigger_count as i32)
            .bind(draft.frequency_secs as i32)
            .bind(draft.dry_run)
            .bind(draft.enabled)
            .bind(now)
            .fetch_one(pool)
            .await
    })
    .map_err(name_taken_or)
}

/// Replaces a reaction's settings. The run of matching checks and the
/// recorded bound start over, since they belonged to the old settings.
pub async fn update(
    db: &Db,
    team_id: i64,
    id: i64,
    draft: &ReactionDraft,
    now: i64,
) -> Result<(), ReactionsError> {
    let settings =
        serde_json::to_string(&draft.settings).expect("reaction settings serialize to JSON");
    let query = "UPDATE reactions SET name = $1, monitor_id = $2, connection_id = $3, app_name = $4, kind = $5, \
                 call_on = $6, settings = $7, trigger_count = $8, frequency_secs = $9, dry_run = $10, \
                 enabled = $11, consecutive_matches = 0, last_block = NULL, updated_at = $12 \
                 WHERE id = $13 AND team_id = $14";
    let updated = with_db!(db, pool => {
        sqlx::query(query)
            .bind(&draft.name)
            .bind(draft.monitor_id)
            .bind(draft.connection_id)
            .bind(&draft.app_name)
            .bind(draft.settings.kind().as_str())
            .bind(draft.call_on.as_str())
            .bind(&settings)
            .bind(draft.trigger_count as i32)
            .bind(draft.frequency_secs as i32)
            .bind(draft.dry_run)
            .bind(draft.enabled)
            .bind(now)
            .bind(id)
            .bind(team_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
    .map_err(name_taken_or)?;
    if updated == 0 {
        return Err(ReactionsError::NotFound);
    }
    Ok(())
}

pub async fn set_enabled(
    db: &Db,
    team_id: i64,
    id: i64,
    enabled: bool,
    now: i64,
) -> sqlx::Result<bool> {
    let query = "UPDATE reactions SET enabled = $1, consecutive_matches = 0, updated_at = $2 \
                 WHERE id = $3 AND team_id = $4";
    let updated = with_db!(db, pool => {
        sqlx::query(query).bind(enabled).bind(now).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

pub async fn delete(db: &Db, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let query = "DELETE FROM reactions WHERE id = $1 AND team_id = $2";
    let deleted = with_db!(db, pool => {
        sqlx::query(query).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(deleted == 1)
}

pub async fn get(db: &Db, team_id: i64, id: i64) -> Result<Option<ReactionRecord>, ReactionsError> {
    let query =
        format!("SELECT {REACTION_COLUMNS} {REACTION_FROM} WHERE r.id = $1 AND r.team_id = $2");
    let row: Option<ReactionRow> = with_db!(db, pool => sqlx::query_as(&query).bind(id).bind(team_id).fetch_optional(pool).await)?;
    row.map(ReactionRecord::try_from).transpose()
}

/// Loads a reaction of any team, for the engine.
pub async fn get_any(db: &Db, id: i64) -> Result<Option<ReactionRecord>, ReactionsError> {
    let query = format!("SELECT {REACTION_COLUMNS} {REACTION_FROM} WHERE r.id = $1");
    let row: Option<ReactionRow> =
        with_db!(db, pool => sqlx::query_as(&query).bind(id).fetch_optional(pool).await)?;
    row.map(ReactionRecord::try_from).transpose()
}

pub async fn list(db: &Db, team_id: i64) -> Result<Vec<ReactionRecord>, ReactionsError> {
    let query = format!(
        "SELECT {REACTION_COLUMNS} {REACTION_FROM} WHERE r.team_id = $1 ORDER BY r.name, r.id"
    );
    let rows: Vec<ReactionRow> =
        with_db!(db, pool => sqlx::query_as(&query).bind(team_id).fetch_all(pool).await)?;
    rows.into_iter().map(ReactionRecord::try_from).collect()
}

/// A queued trigger.
#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: i64,
    pub reaction_id: i64,
    pub check_id: i64,
    pub monitor_state: String,
    pub checked_at: i64,
    pub created_at: i64,
    pub attempts: i32,
}

/// Leases up to `limit` due triggers to `owner` for `lease_ms`, oldest
/// first. As with monitors, the outer conditions make a concurrent claim of
/// the same row by another process fail.
pub async fn claim_jobs(
    db: &Db,
    owner: &str,
    now: i64,
    limit: u32,
    lease_ms: i64,
) -> sqlx::Result<Vec<Job>> {
    let skip_locked = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let query = format!(
        "UPDATE reaction_jobs SET lease_owner = $1, lease_until = $2 + $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM reaction_jobs WHERE run_after <= $2 \
           AND (lease_until IS NULL OR lease_until < $2) ORDER BY id LIMIT $4{skip_locked}) \
         AND run_after <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         RETURNING id, reaction_id, check_id, monitor_state, checked_at, created_at, attempts"
    );
    let mut jobs: Vec<Job> = with_db!(db, pool => {
        sqlx::query_as(&query).bind(owner).bind(now).bind(lease_ms).bind(i64::from(limit)).fetch_all(pool).await
    })?;
    jobs.sort_by_key(|job| job.id);
    Ok(jobs)
}

/// Puts a claimed trigger back to run at `run_after`.
pub async fn retry_job(db: &Db, job_id: i64, owner: &str, run_after: i64) -> sqlx::Result<()> {
    let query = "UPDATE reaction_jobs SET lease_owner = NULL, lease_until = NULL, run_after = $1 \
                 WHERE id = $2 AND lease_owner = $3";
    with_db!(db, pool => {
        sqlx::query(query).bind(run_after).bind(job_id).bind(owner).execute(pool).await.map(|_| ())
    })
}

/// Releases the leases of every trigger `owner` holds, for a process that
/// stops; returns how many.
pub async fn release_jobs_of(db: &Db, owner: &str) -> sqlx::Result<u64> {
    let query =
        "UPDATE reaction_jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1";
    with_db!(db, pool => sqlx::query(query).bind(owner).execute(pool).await.map(|done| done.rows_affected()))
}

pub async fn delete_job(db: &Db, job_id: i64) -> sqlx::Result<()> {
    let query = "DELETE FROM reaction_jobs WHERE id = $1";
    with_db!(db, pool => sqlx::query(query).bind(job_id).execute(pool).await.map(|_| ()))
}

/// The earliest time a queued trigger may run, if any is queued.
pub async fn next_job_at(db: &Db) -> sqlx::Result<Option<i64>> {
    let query = "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > run_after \
                 THEN lease_until ELSE run_after END) FROM reaction_jobs";
    with_db!(db, pool => sqlx::query_scalar(query).fetch_one(pool).await)
}

/// Takes the lock of one Heroku app for `owner` until `until`, unless an
/// unexpired lock exists (of any owner, so that two tasks of one process
/// exclude each other too). Returns whether it was taken.
pub async fn lock_app(
    db: &Db,
    app_key: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    let query = "INSERT INTO app_locks (app_key, lease_owner, lease_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (app_key) DO UPDATE SET lease_owner = excluded.lease_owner, \
                 lease_until = excluded.lease_until \
                 WHERE app_locks.lease_until < $4";
    let taken = with_db!(db, pool => {
        sqlx::query(query).bind(app_key).bind(owner).bind(until).bind(now).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(taken == 1)
}

/// Releases every app lock held by triggers of the process `owner` (their
/// holders are named `<owner>/<job id>`), for a process that stops.
pub async fn release_app_locks_of(db: &Db, owner: &str) -> sqlx::Result<u64> {
    let query = "DELETE FROM app_locks WHERE lease_owner LIKE $1";
    // Owner names are a process id and hex digits joined by '-', so they
    // contain no LIKE wildcards.
    let pattern = format!("{owner}/%");
    with_db!(db, pool => {
        sqlx::query(query).bind(&pattern).execute(pool).await.map(|done| done.rows_affected())
    })
}

/// Extends a held app lock; false when `owner` no longer holds it.
pub async fn renew_app_lock(db: &Db, app_key: &str, owner: &str, until: i64) -> sqlx::Result<bool> {
    let query = "UPDATE app_locks SET lease_until = $1 WHERE app_key = $2 AND lease_owner = $3";
    let renewed = with_db!(db, pool => {
        sqlx::query(query).bind(until).bind(app_key).bind(owner).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(renewed == 1)
}

/// Extends the lease of a claimed trigger; false when `owner` lost it.
pub async fn renew_job(db: &Db, job_id: i64, owner: &str, until: i64) -> sqlx::Result<bool> {
    let query = "UPDATE reaction_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3";
    let renewed = with_db!(db, pool => {
        sqlx::query(query).bind(until).bind(job_id).bind(owner).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(renewed == 1)
}

pub async fn unlock_app(db: &Db, app_key: &str, owner: &str) -> sqlx::Result<()> {
    let query = "DELETE FROM app_locks WHERE app_key = $1 AND lease_owner = $2";
    with_db!(db, pool => sqlx::query(query).bind(app_key).bind(owner).execute(pool).await.map(|_| ()))
}

/// An execution record to write.
#[derive(Debug, Clone)]
pub struct NewExecution<'a> {
    pub team_id: i64,
    pub reaction: &'a Reaction,
    pub check_id: i64,
    pub monitor_state: &'a str,
    pub outcome: ExecutionOutcome,
    pub summary: &'a str,
    pub detail: Option<&'a str>,
    pub error: Option<ExecutionError<'a>>,
    pub started_at: i64,
    pub duration_ms: Option<u32>,
}

/// What Heroku said about a failed step.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionError<'a> {
    pub message: &'a str,
    pub status: Option<u16>,
    pub heroku_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// How a trigger ends: the record to write or update, and what happens to
/// the reaction.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub job_id: i64,
    /// Write this record (insert, or update the running one of the trigger).
    pub record: Option<NewExecution<'a>>,
    /// The reaction acted (or would have, in a dry run): starts its cooldown
    /// and clears the recorded bound.
    pub acted_at: Option<i64>,
    /// The reaction met this bound or refusal; recorded once.
    pub block: Option<&'a str>,
}

const INSERT_EXECUTION: &str = "INSERT INTO executions (team_id, reaction_id, reaction_name, monitor_id, \
     monitor_name, check_id, monitor_state, connection_id, app_name, kind, outcome, summary, detail, \
     error_message, heroku_status, heroku_error_id, heroku_request_id, started_at, duration_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
     ON CONFLICT (reaction_id, check_id) DO UPDATE SET outcome = excluded.outcome, \
     summary = excluded.summary, detail = excluded.detail, error_message = excluded.error_message, \
     heroku_status = excluded.heroku_status, heroku_error_id = excluded.heroku_error_id, \
     heroku_request_id = excluded.heroku_request_id, duration_ms = excluded.duration_ms \
     RETURNING id";

/// Binds a record's values to [`INSERT_EXECUTION`]; a macro because the
/// query type differs per backend.
macro_rules! bind_execution_values {
    ($query:expr, $record:expr) => {{
        let record = $record;
        let error = record.error;
        $query
            .bind(record.team_id)
            .bind(record.reaction.id)
            .bind(&record.reaction.name)
            .bind(record.reaction.monitor_id)
            .bind(&record.reaction.monitor_name)
            .bind(record.check_id)
            .bind(record.monitor_state)
            .bind(record.reaction.connection_id)
            .bind(&record.reaction.app_name)
            .bind(record.reaction.settings.kind().as_str())
            .bind(record.outcome.as_str())
            .bind(record.summary)
            .bind(record.detail)
            .bind(error.map(|error| error.message))
            .bind(error.and_then(|error| error.status).map(i32::from))
            .bind(error.and_then(|error| error.heroku_id))
            .bind(error.and_then(|error| error.request_id))
            .bind(record.started_at)
            .bind(record.duration_ms.map(|ms| ms as i32))
    }};
}

/// Writes (or rewrites) the execution record of a trigger. Used on its own
/// for the "running" record, written before a step is sent to Heroku.
pub async fn write_execution(db: &Db, record: &NewExecution<'_>) -> sqlx::Result<i64> {
    with_db!(db, pool => {
        bind_execution_values!(sqlx::query_scalar::<_, i64>(INSERT_EXECUTION), record).fetch_one(pool).await
    })
}

/// Ends a trigger in one transaction: writes its record, updates the
/// reaction and deletes the queued job, so a trigger is recorded exactly
/// once even if the process dies around it.
pub async fn finish(db: &Db, finish: &Finish<'_>) -> sqlx::Result<()> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if let Some(record) = &finish.record {
            bind_execution_values!(sqlx::query_scalar::<_, i64>(INSERT_EXECUTION), record)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(event) = execution_event(record) {
                queue_deliveries!(&mut *tx, &event, crate::time::now_ms())?;
            }
            if let Some(acted_at) = finish.acted_at {
                sqlx::query("UPDATE reactions SET last_acted_at = $1, last_block = NULL WHERE id = $2")
                    .bind(acted_at)
                    .bind(record.reaction.id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(block) = finish.block {
                sqlx::query("UPDATE reactions SET last_block = $1 WHERE id = $2")
                    .bind(block)
                    .bind(record.reaction.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM reaction_jobs WHERE id = $1").bind(finish.job_id).execute(&mut *tx).await?;
        tx.commit().await
    })
}

/// Builds the notification event of a finished execution, if rules can route its outcome.
fn execution_event(record: &NewExecution<'_>) -> Option<crate::notifications::event::Event> {
    crate::notifications::event::execution_finished(&ExecutionFacts {
        team_id: record.team_id,
        reaction_id: record.reaction.id,
        reaction_name: &record.reaction.name,
        kind: record.reaction.settings.kind().as_str(),
        app_name: &record.reaction.app_name,
        monitor_name: &record.reaction.monitor_name,
        monitor_state: record.monitor_state,
        outcome: record.outcome,
        summary: record.summary,
        error_message: record.error.map(|error| error.message),
        heroku_request_id: record.error.and_then(|error| error.request_id),
        at: record.started_at,
    })
}

pub(super) const EXECUTION_COLUMNS: &str = "id, reaction_id, reaction_name, monitor_id, monitor_name, check_id, \
     monitor_state, connection_id, app_name, kind, outcome, summary, detail, error_message, heroku_status, \
     heroku_error_id, heroku_request_id, started_at, duration_ms";

#[derive(Debug, FromRow)]
pub(super) struct ExecutionRow {
    id: i64,
    reaction_id: Option<i64>,
    reaction_name: String,
    monitor_id: Option<i64>,
    monitor_name: String,
    check_id: Option<i64>,
    monitor_state: String,
    connection_id: Option<i64>,
    app_name: String,
    kind: String,
    outcome: String,
    summary: String,
    detail: Option<String>,
    error_message: Option<String>,
    heroku_status: Option<i32>,
    heroku_error_id: Option<String>,
    heroku_request_id: Option<String>,
    started_at: i64,
    duration_ms: Option<i32>,
}

impl From<ExecutionRow> for Execution {
    fn from(row: ExecutionRow) -> Self {
        Execution {
            id: row.id,
            reaction_id: row.reaction_id,
            reaction_name: row.reaction_name,
            monitor_id: row.monitor_id,
            monitor_name: row.monitor_name,
            check_id: row.check_id,
            monitor_state: MonitorState::parse(&row.monitor_state).unwrap_or(MonitorState::Pending),
            connection_id: row.connection_id,
            app_name: row.app_name,
            kind: crate::reactions::settings::ReactionKind::parse(&row.kind),
            outcome: ExecutionOutcome::parse(&row.outcome).unwrap_or(ExecutionOutcome::Failed),
            summary: row.summary,
            detail: row.detail.and_then(|detail| serde_json::from_str(&detail).ok()),
            error_message: row.error_message,
            heroku_status: row.heroku_status.map(|status| status as u16),
            heroku_error_id: row.heroku_error_id,
            heroku_request_id: row.heroku_request_id,
            started_at: row.started_at,
            duration_ms: row.duration_ms.map(|ms| ms as u32),
        }
    }
}

/// The record of one trigger, if it reached a decision (or is running).
pub async fn execution_for_trigger(
    db: &Db,
    reaction_id: i64,
    check_id: i64,
) -> sqlx::Result<Option<Execution>> {
    let query = format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE reaction_id = $1 AND check_id = $2"
    );
    let row: Option<ExecutionRow> = with_db!(db, pool => {
        sqlx::query_as(&query).bind(reaction_id).bind(check_id).fetch_optional(pool).await
    })?;
    Ok(row.map(Execution::from))
}

/// A reaction's newest executions, newest first.
pub async fn executions_of_reaction(
    db: &Db,
    team_id: i64,
    reaction_id: i64,
    limit: u32,
) -> sqlx::Result<Vec<Execution>> {
    let query = format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE team_id = $1 AND reaction_id = $2 \
         ORDER BY started_at DESC, id DESC LIMIT $3"
    );
    let rows: Vec<ExecutionRow> = with_db!(db, pool => {
        sqlx::query_as(&query).bind(team_id).bind(reaction_id).bind(i64::from(limit)).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Execution::from).collect())
}

/// The newest execution of each of the team's reactions.
pub async fn latest_executions(db: &Db, team_id: i64) -> sqlx::Result<Vec<Execution>> {
    // One index seek per reaction of the team, on (reaction_id, started_at,
    // id), then one primary-key read each. A subquery per execution row
    // would scan the team's whole history instead. A team_id condition on
    // the outer query makes SQLite scan the team index too, and is not
    // needed because the ids come from the team's reactions.
    let query = format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE id IN \
         (SELECT (SELECT latest.id FROM executions latest WHERE latest.reaction_id = r.id \
         ORDER BY latest.started_at DESC, latest.id DESC LIMIT 1) FROM reactions r WHERE r.team_id = $1)"
    );
    let rows: Vec<ExecutionRow> =
        with_db!(db, pool => sqlx::query_as(&query).bind(team_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Execution::from).collect())
}

/// One page of a team's executions, newest first, after `before`. Only the
/// filter's set fields become conditions, so each query can use the index
/// that matches its filter.
pub async fn list_executions(
    db: &Db,
    team_id: i64,
    filter: &ExecutionFilter,
    before: Option<ExecutionCursor>,
    limit: u32,
) -> sqlx::Result<Vec<Execution>> {
    // The timeline's execution stream, with the cursor of an execution.
    let before = before.map(|cursor| crate::timeline::TimelineCursor {
        at: cursor.started_at,
        state_change: false,
        id: cursor.id,
    });
    super::timeline::executions_before(db, team_id, filter, before, limit).await
}

/// Start time of the team's newest execution on `app`, if any.
pub async fn latest_execution_at(db: &Db, team_id: i64, app: &str) -> sqlx::Result<Option<i64>> {
    with_db!(db, pool => {
        sqlx::query_scalar("SELECT MAX(started_at) FROM executions WHERE team_id = $1 AND app_name = $2")
            .bind(team_id)
            .bind(app)
            .fetch_one(pool)
            .await
    })
}

/// One execution of the team, by id.
pub async fn get_execution(db: &Db, team_id: i64, id: i64) -> sqlx::Result<Option<Execution>> {
    let query =
        format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE team_id = $1 AND id = $2");
    let row: Option<ExecutionRow> = with_db!(db, pool => sqlx::query_as(&query).bind(team_id).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(Execution::from))
}
