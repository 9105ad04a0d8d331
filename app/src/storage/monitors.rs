//! Monitors, their scheduling leases, check results, state changes and
//! hourly rollups.

use sqlx::FromRow;

use super::{Db, is_unique_violation, with_db};
use crate::monitors::confirm::{Confirmation, MonitorState};
use crate::monitors::settings::MonitorSettings;
use crate::monitors::{CheckRecord, LastCheck, Monitor, StateChange};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum MonitorsError {
    #[error("a monitor with this name already exists in the team")]
    DuplicateName,
    #[error("no such monitor")]
    NotFound,
    #[error("stored monitor {id} is unreadable: {cause}")]
    Corrupt { id: i64, cause: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A validated monitor, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorDraft {
    pub name: String,
    pub settings: MonitorSettings,
    pub interval_secs: u32,
    pub fail_after: u32,
    pub recover_after: u32,
}

const MONITOR_COLUMNS: &str = "id, team_id, name, settings, interval_secs, fail_after, recover_after, \
     revision, state, consecutive_failures, consecutive_successes, state_changed_at, last_check_at, \
     last_passed, last_response_ms, last_reason, next_check_at, heartbeat_nonce, last_ping_at, \
     created_at, updated_at";

#[derive(Debug, FromRow)]
struct MonitorRow {
    id: i64,
    team_id: i64,
    name: String,
    settings: String,
    interval_secs: i32,
    fail_after: i32,
    recover_after: i32,
    revision: i64,
    state: String,
    consecutive_failures: i32,
    consecutive_successes: i32,
    state_changed_at: i64,
    last_check_at: Option<i64>,
    last_passed: Option<bool>,
    last_response_ms: Option<i32>,
    last_reason: Option<String>,
    next_check_at: i64,
    heartbeat_nonce: Option<String>,
    last_ping_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A stored monitor: the public view plus scheduling internals.
#[derive(Debug, Clone)]
pub struct MonitorRecord {
    pub monitor: Monitor,
    pub team_id: i64,
    pub revision: i64,
    pub confirmation: Confirmation,
    pub next_check_at: i64,
    pub heartbeat_nonce: Option<String>,
}

impl TryFrom<MonitorRow> for MonitorRecord {
    type Error = MonitorsError;

    fn try_from(row: MonitorRow) -> Result<Self, Self::Error> {
        let corrupt = |cause: String| MonitorsError::Corrupt { id: row.id, cause };
        let settings: MonitorSettings =
            serde_json::from_str(&row.settings).map_err(|error| corrupt(error.to_string()))?;
        let state = MonitorState::parse(&row.state)
            .ok_or_else(|| corrupt(format!("state {:?}", row.state)))?;
        let last_check = row.last_check_at.map(|at| LastCheck {
            at,
            passed: row.last_passed.unwrap_or(false),
            response_ms: row.last_response_ms.map(|ms| ms as u32),
            reason: row.last_reason.clone(),
        });
        Ok(MonitorRecord {
            monitor: Monitor {
                id: row.id,
                name: row.name,
                settings,
                interval_secs: row.interval_secs as u32,
                fail_after: row.fail_after as u32,
                recover_after: row.recover_after as u32,
                state,
                state_changed_at: row.state_changed_at,
                last_check,
                last_ping_at: row.last_ping_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            team_id: row.team_id,
            revision: row.revision,
            confirmation: Confirmation {
                state,
                consecutive_failures: row.consecutive_failures as u32,
                consecutive_successes: row.consecutive_successes as u32,
            },
            next_check_at: row.next_check_at,
            heartbeat_nonce: row.heartbeat_nonce,
        })
    }
}

fn records(rows: Vec<MonitorRow>) -> Result<Vec<MonitorRecord>, MonitorsError> {
    rows.into_iter().map(MonitorRecord::try_from).collect()
}

fn name_taken_or(error: sqlx::Error) -> MonitorsError {
    if is_unique_violation(&error, "monitors", &["team_id", "name"]) {
        MonitorsError::DuplicateName
    } else {
        error.into()
    }
}

/// Heartbeat credentials of a new heartbeat monitor: a random nonce, and the
/// hash of the URL token derived from it.
#[derive(Debug, Clone)]
pub struct HeartbeatSecret {
    pub nonce: String,
    pub token_hash: String,
}

/// Stores a new monitor, due at `first_due`. Returns its id.
pub async fn create(
    db: &Db,
    team_id: i64,
    draft: &MonitorDraft,
    now: i64,
    first_due: i64,
    heartbeat: Option<&HeartbeatSecret>,
) -> Result<i64, MonitorsError> {
    let settings =
        serde_json::to_string(&draft.settings).expect("monitor settings serialize to JSON");
    let query = "INSERT INTO monitors (team_id, name, kind, settings, timeout_ms, interval_secs, \
                 fail_after, recover_after, state, state_changed_at, next_check_at, heartbeat_nonce, \
                 heartbeat_token_hash, last_ping_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13, $9, $9) \
                 RETURNING id";
    let id: i64 = with_db!(db, pool => {
        sqlx::query_scalar(query)
            .bind(team_id)
            .bind(&draft.name)
            .bind(draft.settings.kind().as_str())
            .bind(&settings)
            .bind(draft.settings.timeout_ms() as i32)
            .bind(draft.interval_secs as i32)
            .bind(draft.fail_after as i32)
            .bind(draft.recover_after as i32)
            .bind(now)
            .bind(first_due)
            .bind(heartbeat.map(|secret| secret.nonce.as_str()))
            .bind(heartbeat.map(|secret| secret.token_hash.as_str()))
            // A heartbeat's first period counts from its creation.
            .bind(heartbeat.map(|_| now))
            .fetch_one(pool)
            .await
    })
    .map_err(name_taken_or)?;
    Ok(id)
}

/// Replaces a monitor's settings. A change of kind, target or interval
/// restarts confirmation from Pending and schedules a check at `due`.
pub async fn update(
    db: &Db,
    team_id: i64,
    id: i64,
    draft: &MonitorDraft,
    now: i64,
    due: i64,
) -> Result<(), MonitorsError> {
    let current = get(db, team_id, id).await?.ok_or(MonitorsError::NotFound)?;
    let retarget = current.monitor.settings != draft.settings
        || current.monitor.interval_secs != draft.interval_secs;
    let settings =
        serde_json::to_string(&draft.settings).expect("monitor settings serialize to JSON");
    let restart = retarget && current.monitor.state != MonitorState::Paused;
    let query = if restart {
        "UPDATE monitors SET name = $1, kind = $2, settings = $3, timeout_ms = $4, interval_secs = $5, \
         fail_after = $6, recover_after = $7, revision = revision + 1, updated_at = $8, \
         state = 'pending', consecutive_failures = 0, consecutive_successes = 0, \
         state_changed_at = $8, last_ping_at = $8, next_check_at = $9 \
         WHERE id = $10 AND team_id = $11"
    } else {
        "UPDATE monitors SET name = $1, kind = $2, settings = $3, timeout_ms = $4, interval_secs = $5, \
         fail_after = $6, recover_after = $7, revision = revision + 1, updated_at = $8 \
         WHERE id = $9 AND team_id = $10"
    };
    let updated = with_db!(db, pool => {
        let mut statement = sqlx::query(query)
            .bind(&draft.name)
            .bind(draft.settings.kind().as_str())
            .bind(&settings)
            .bind(draft.settings.timeout_ms() as i32)
            .bind(draft.interval_secs as i32)
            .bind(draft.fail_after as i32)
            .bind(draft.recover_after as i32)
            .bind(now);
        if restart {
            statement = statement.bind(due);
        }
        statement.bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })
    .map_err(name_taken_or)?;
    if updated == 0 {
        return Err(MonitorsError::NotFound);
    }
    if restart && current.monitor.state != MonitorState::Pending {
        insert_state_change(
            db,
            id,
            current.monitor.state,
            MonitorState::Pending,
            "settings changed",
            now,
        )
        .await?;
    }
    Ok(())
}

async fn insert_state_change(
    db: &Db,
    monitor_id: i64,
    from: MonitorState,
    to: MonitorState,
    reason: &str,
    now: i64,
) -> sqlx::Result<()> {
    let query = "INSERT INTO monitor_state_changes (monitor_id, from_state, to_state, reason, changed_at) \
                 VALUES ($1, $2, $3, $4, $5)";
    with_db!(db, pool => {
        sqlx::query(query)
            .bind(monitor_id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
    })
}

pub async fn delete(db: &Db, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let query = "DELETE FROM monitors WHERE id = $1 AND team_id = $2";
    let deleted = with_db!(db, pool => {
        sqlx::query(query).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(deleted == 1)
}

/// Pauses a monitor; a check in flight is discarded when it finishes.
pub async fn pause(db: &Db, team_id: i64, id: i64, now: i64) -> Result<(), MonitorsError> {
    let current = get(db, team_id, id).await?.ok_or(MonitorsError::NotFound)?;
    if current.monitor.state == MonitorState::Paused {
        return Ok(());
    }
    let query = "UPDATE monitors SET state = 'paused', revision = revision + 1, state_changed_at = $1, \
                 consecutive_failures = 0, consecutive_successes = 0, updated_at = $1 \
                 WHERE id = $2 AND team_id = $3";
    with_db!(db, pool => {
        sqlx::query(query).bind(now).bind(id).bind(team_id).execute(pool).await.map(|_| ())
    })?;
    insert_state_change(db, id, current.monitor.state, MonitorState::Paused, "paused", now).await?;
    Ok(())
}

/// Resumes a paused monitor from Pending, with its first check at `due`.
pub async fn resume(
    db: &Db,
    team_id: i64,
    id: i64,
    now: i64,
    due: i64,
) -> Result<(), MonitorsError> {
    let current = get(db, team_id, id).await?.ok_or(MonitorsError::NotFound)?;
    if current.monitor.state != MonitorState::Paused {
        return Ok(());
    }
    let query = "UPDATE monitors SET state = 'pending', revision = revision + 1, state_changed_at = $1, \
                 next_check_at = $2, last_ping_at = $1, lease_owner = NULL, lease_until = NULL, \
                 updated_at = $1 WHERE id = $3 AND team_id = $4";
    with_db!(db, pool => {
        sqlx::query(query).bind(now).bind(due).bind(id).bind(team_id).execute(pool).await.map(|_| ())
    })?;
    insert_state_change(db, id, MonitorState::Paused, MonitorState::Pending, "resumed", now)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, team_id: i64, id: i64) -> Result<Option<MonitorRecord>, MonitorsError> {
    let query = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND team_id = $2");
    let row: Option<MonitorRow> = with_db!(db, pool => {
        sqlx::query_as(&query).bind(id).bind(team_id).fetch_optional(pool).await
    })?;
    row.map(MonitorRecord::try_from).transpose()
}

/// Lists one page of a team's monitors ordered by name, after the (name, id)
/// cursor, optionally only those in `state`.
pub async fn list(
    db: &Db,
    team_id: i64,
    state: Option<MonitorState>,
    after: Option<(&str, i64)>,
    limit: u32,
) -> Result<Vec<MonitorRecord>, MonitorsError> {
    let (after_name, after_id) = after.unwrap_or(("", 0));
    let query = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE team_id = $1 AND ($2 = '' OR state = $2) \
         AND (name > $3 OR (name = $3 AND id > $4)) ORDER BY name, id LIMIT $5"
    );
    let rows: Vec<MonitorRow> = with_db!(db, pool => {
        sqlx::query_as(&query)
            .bind(team_id)
            .bind(state.map_or("", MonitorState::as_str))
            .bind(after_name)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })?;
    records(rows)
}

/// Number of the team's monitors in each state.
pub async fn count_by_state(db: &Db, team_id: i64) -> sqlx::Result<Vec<(MonitorState, i64)>> {
    let query = "SELECT state, COUNT(*) FROM monitors WHERE team_id = $1 GROUP BY state";
    let rows: Vec<(String, i64)> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(state, count)| Some((MonitorState::parse(&state)?, count)))
        .collect())
}

/// A monitor claimed for one check.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub record: MonitorRecord,
    /// When the check was due; the next one is scheduled from here.
    pub due_at: i64,
}

/// Leases up to `limit` due monitors to `owner`. A lease lasts the check's
/// timeout plus `margin_ms`; a process that dies mid-check loses its leases
/// when they run out, and another process picks the monitors up.
pub async fn claim_due(
    db: &Db,
    owner: &str,
    now: i64,
    limit: u32,
    margin_ms: i64,
) -> Result<Vec<Claimed>, MonitorsError> {
    // The lease conditions are repeated in the outer WHERE: under Postgres's
    // READ COMMITTED a row that another process leased meanwhile is
    // re-checked against them and skipped, so no check is claimed twice.
    // SKIP LOCKED keeps concurrent claimers from queueing on each other.
    let skip_locked = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let query = format!(
        "UPDATE monitors SET lease_owner = $1, lease_until = $2 + timeout_ms + $3 \
         WHERE id IN (SELECT id FROM monitors WHERE state <> 'paused' AND next_check_at <= $2 \
           AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_check_at LIMIT $4{skip_locked}) \
         AND state <> 'paused' AND next_check_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         RETURNING {MONITOR_COLUMNS}"
    );
    let rows: Vec<MonitorRow> = with_db!(db, pool => {
        sqlx::query_as(&query)
            .bind(owner)
            .bind(now)
            .bind(margin_ms)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })?;
    Ok(records(rows)?
        .into_iter()
        .map(|record| Claimed { due_at: record.next_check_at, record })
        .collect())
}

/// Returns the earliest due time among monitors not paused and not leased
/// at `now`, if any. Leased monitors are left out: their checks are running,
/// and counting their past due times would make the scheduler poll
/// continuously until they finish. The index on the due time still serves,
/// as at most the checks in flight are skipped.
pub async fn next_due_at(db: &Db, now: i64) -> sqlx::Result<Option<i64>> {
    let query = "SELECT next_check_at FROM monitors WHERE state <> 'paused' \
                 AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_check_at LIMIT 1";
    with_db!(db, pool => sqlx::query_scalar(query).bind(now).fetch_optional(pool).await)
}

/// A finished check to store.
#[derive(Debug, Clone)]
pub struct FinishedCheck {
    pub monitor_id: i64,
    /// The revision the check ran under; a newer one discards the result.
    pub revision: i64,
    /// The lease owner, or `None` for a heartbeat ping (no lease involved).
    pub lease_owner: Option<String>,
    pub checked_at: i64,
    pub passed: bool,
    pub response_ms: Option<u32>,
    pub status_code: Option<u16>,
    pub reason: Option<String>,
    pub next_check_at: i64,
    /// A heartbeat ping: it also becomes the monitor's last ping.
    pub is_ping: bool,
    /// A heartbeat miss found at claim time: dropped if a ping arrived after
    /// this instant meanwhile.
    pub stale_if_pinged_after: Option<i64>,
}

/// A check as stored, with the state it led to.
#[derive(Debug, Clone)]
pub struct StoredCheck {
    /// Reaction triggers this check queued.
    pub triggered: u64,
    pub check_id: i64,
    pub monitor_id: i64,
    pub team_id: i64,
    pub passed: bool,
    pub state: MonitorState,
    /// The previous state, when this check changed it.
    pub changed_from: Option<MonitorState>,
    pub checked_at: i64,
}

#[derive(Debug, FromRow)]
struct ConfirmationRow {
    team_id: i64,
    name: String,
    revision: i64,
    state: String,
    consecutive_failures: i32,
    consecutive_successes: i32,
    fail_after: i32,
    recover_after: i32,
    lease_owner: Option<String>,
    last_ping_at: Option<i64>,
}

/// Stores finished checks in one transaction: each result, the monitor's new
/// confirmed state and schedule (releasing its lease), a state change when
/// there is one, and the hourly rollup. A check whose lease was lost, or
/// whose monitor was edited, paused or deleted meanwhile, is dropped.
pub async fn record_checks(db: &Db, checks: &[FinishedCheck]) -> sqlx::Result<Vec<StoredCheck>> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE",
        Db::Sqlite(_) => "",
    };
    let select = format!(
        "SELECT team_id, name, revision, state, consecutive_failures, consecutive_successes, fail_after, \
         recover_after, lease_owner, last_ping_at FROM monitors WHERE id = $1{lock}"
    );
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut stored = Vec::with_capacity(checks.len());
        for check in checks {
            // Take SQLite's write lock before the read (a no-op write), so
            // the read-modify-write below cannot interleave with another writer.
            sqlx::query("UPDATE monitors SET revision = revision WHERE id = $1")
                .bind(check.monitor_id)
                .execute(&mut *tx)
                .await?;
            let row: Option<ConfirmationRow> =
                sqlx::query_as(&select).bind(check.monitor_id).fetch_optional(&mut *tx).await?;
            let Some(row) = row else { continue };
            let lease_held = match &check.lease_owner {
                Some(owner) => row.lease_owner.as_deref() == Some(owner.as_str()),
                None => true,
            };
            let Some(current_state) = MonitorState::parse(&row.state) else { continue };
            let pinged_meanwhile = check
                .stale_if_pinged_after
                .is_some_and(|since| row.last_ping_at.is_some_and(|ping| ping > since));
            if !lease_held
                || pinged_meanwhile
                || row.revision != check.revision
                || current_state == MonitorState::Paused
            {
                continue;
            }
            let before = Confirmation {
                state: current_state,
                consecutive_failures: row.consecutive_failures as u32,
                consecutive_successes: row.consecutive_successes as u32,
            };
            let after = before.apply(check.passed, row.fail_after as u32, row.recover_after as u32);
            let changed = after.state != before.state;

            let check_id: i64 = sqlx::query_scalar(
                "INSERT INTO check_results (monitor_id, checked_at, passed, response_ms, status_code, \
                 reason, state_after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(check.monitor_id)
            .bind(check.checked_at)
            .bind(check.passed)
            .bind(check.response_ms.map(|ms| ms as i32))
            .bind(check.status_code.map(i32::from))
            .bind(check.reason.as_deref())
            .bind(after.state.as_str())
            .fetch_one(&mut *tx)
            .await?;

            sqlx::query(
                "UPDATE monitors SET state = $1, consecutive_failures = $2, consecutive_successes = $3, \
                 state_changed_at = CASE WHEN $4 THEN $5 ELSE state_changed_at END, \
                 last_check_at = $5, last_passed = $6, last_response_ms = $7, last_reason = $8, \
                 next_check_at = $9, lease_owner = NULL, lease_until = NULL, \
                 last_ping_at = CASE WHEN $11 THEN $5 ELSE last_ping_at END WHERE id = $10",
            )
            .bind(after.state.as_str())
            .bind(after.consecutive_failures as i32)
            .bind(after.consecutive_successes as i32)
            .bind(changed)
            .bind(check.checked_at)
            .bind(check.passed)
            .bind(check.response_ms.map(|ms| ms as i32))
            .bind(check.reason.as_deref())
            .bind(check.next_check_at)
            .bind(check.monitor_id)
            .bind(check.is_ping)
            .execute(&mut *tx)
            .await?;

            if changed {
                sqlx::query(
                    "INSERT INTO monitor_state_changes (monitor_id, check_id, from_state, to_state, \
                     reason, changed_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(check.monitor_id)
                .bind(check_id)
                .bind(before.state.as_str())
                .bind(after.state.as_str())
                .bind(check.reason.as_deref())
                .bind(check.checked_at)
                .execute(&mut *tx)
                .await?;
                let event = crate::notifications::event::monitor_changed(
                    row.team_id,
                    check.monitor_id,
                    &row.name,
                    before.state,
                    after.state,
                    check.reason.as_deref(),
                    check.checked_at,
                );
                if let Some(event) = &event {
                    crate::storage::notifications::queue_deliveries!(&mut *tx, event, crate::time::now_ms())?;
                }
            }

            sqlx::query(
                "INSERT INTO check_rollups (monitor_id, hour_start, checks, failures, response_ms_sum, \
                 response_count, response_ms_max) VALUES ($1, $2, 1, $3, $4, $5, $4) \
                 ON CONFLICT (monitor_id, hour_start) DO UPDATE SET \
                 checks = check_rollups.checks + 1, \
                 failures = check_rollups.failures + excluded.failures, \
                 response_ms_sum = check_rollups.response_ms_sum + excluded.response_ms_sum, \
                 response_count = check_rollups.response_count + excluded.response_count, \
                 response_ms_max = CASE WHEN excluded.response_ms_max > check_rollups.response_ms_max \
                   THEN excluded.response_ms_max ELSE check_rollups.response_ms_max END",
            )
            .bind(check.monitor_id)
            .bind(check.checked_at - check.checked_at.rem_euclid(HOUR_MS))
            .bind(i32::from(!check.passed))
            .bind(i64::from(check.response_ms.unwrap_or(0)))
            .bind(i32::from(check.response_ms.is_some()))
            .execute(&mut *tx)
            .await?;

            // Reactions see every confirmed state: their runs of matching
            // checks advance, and those due are queued in this transaction,
            // so a stored check and its triggers exist together or not at all.
            sqlx::query(crate::storage::reactions::ADVANCE_MATCH_RUNS)
                .bind(after.state.as_str())
                .bind(check.monitor_id)
                .execute(&mut *tx)
                .await?;
            let triggered = sqlx::query(crate::storage::reactions::QUEUE_TRIGGERS)
                .bind(check_id)
                .bind(after.state.as_str())
                .bind(check.checked_at)
                .bind(crate::time::now_ms())
                .bind(check.monitor_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();

            stored.push(StoredCheck {
                triggered,
                check_id,
                monitor_id: check.monitor_id,
                team_id: row.team_id,
                passed: check.passed,
                state: after.state,
                changed_from: changed.then_some(before.state),
                checked_at: check.checked_at,
            });
        }
        tx.commit().await?;
        Ok(stored)
    })
}

/// Releases a lease without a result (the check could not run, e.g. during
/// shutdown), leaving the monitor due so the next claim runs it.
pub async fn release_lease(db: &Db, monitor_id: i64, owner: &str) -> sqlx::Result<()> {
    let query = "UPDATE monitors SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2";
    with_db!(db, pool => sqlx::query(query).bind(monitor_id).bind(owner).execute(pool).await.map(|_| ()))
}

/// The id of the team's monitor named `name`, if there is one.
pub async fn find_id_by_name(db: &Db, team_id: i64, name: &str) -> sqlx::Result<Option<i64>> {
    let query = "SELECT id FROM monitors WHERE team_id = $1 AND name = $2";
    with_db!(db, pool => sqlx::query_scalar(query).bind(team_id).bind(name).fetch_optional(pool).await)
}

/// Finds a heartbeat monitor by the hash of its URL token.
pub async fn find_by_heartbeat(
    db: &Db,
    token_hash: &str,
) -> Result<Option<MonitorRecord>, MonitorsError> {
    let query = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE heartbeat_token_hash = $1");
    let row: Option<MonitorRow> =
        with_db!(db, pool => sqlx::query_as(&query).bind(token_hash).fetch_optional(pool).await)?;
    row.map(MonitorRecord::try_from).transpose()
}

#[derive(Debug, FromRow)]
struct CheckRow {
    id: i64,
    checked_at: i64,
    passed: bool,
    response_ms: Option<i32>,
    status_code: Option<i32>,
    reason: Option<String>,
    state_after: String,
}

/// Lists the newest check results of a monitor, newest first, before `before_id`.
pub async fn recent_checks(
    db: &Db,
    monitor_id: i64,
    before_id: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<CheckRecord>> {
    let query = "SELECT id, checked_at, passed, response_ms, status_code, reason, state_after \
                 FROM check_results WHERE monitor_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
    let rows: Vec<CheckRow> = with_db!(db, pool => {
        sqlx::query_as(query)
            .bind(monitor_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| CheckRecord {
            id: row.id,
            checked_at: row.checked_at,
            passed: row.passed,
            response_ms: row.response_ms.map(|ms| ms as u32),
            status_code: row.status_code.map(|code| code as u16),
            reason: row.reason,
            state_after: MonitorState::parse(&row.state_after).unwrap_or(MonitorState::Pending),
        })
        .collect())
}

#[derive(Debug, FromRow)]
struct StateChangeRow {
    id: i64,
    check_id: Option<i64>,
    from_state: String,
    to_state: String,
    reason: Option<String>,
    changed_at: i64,
}

/// Lists a monitor's state changes, newest first, after the `(changed_at,
/// id)` of the last change of the previous page.
pub async fn state_changes(
    db: &Db,
    monitor_id: i64,
    before: Option<(i64, i64)>,
    limit: u32,
) -> sqlx::Result<Vec<StateChange>> {
    let query = "SELECT id, check_id, from_state, to_state, reason, changed_at FROM monitor_state_changes \
                 WHERE monitor_id = $1 AND (changed_at < $2 OR (changed_at = $2 AND id < $3)) \
                 ORDER BY changed_at DESC, id DESC LIMIT $4";
    let (before_at, before_id) = before.unwrap_or((i64::MAX, i64::MAX));
    let rows: Vec<StateChangeRow> = with_db!(db, pool => {
        sqlx::query_as(query)
            .bind(monitor_id)
            .bind(before_at)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| StateChange {
            id: row.id,
            check_id: row.check_id,
            from: MonitorState::parse(&row.from_state).unwrap_or(MonitorState::Pending),
            to: MonitorState::parse(&row.to_state).unwrap_or(MonitorState::Pending),
            reason: row.reason,
            changed_at: row.changed_at,
        })
        .collect())
}

/// Checks and failures of monitors since `since` (from the hourly rollups,
/// so the first hour counts whole).
pub async fn uptime_counts(
    db: &Db,
    monitor_ids: &[i64],
    since: i64,
) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    if monitor_ids.is_empty() {
        return Ok(Vec::new());
    }
    with_db!(db, pool => {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT monitor_id, CAST(SUM(checks) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
             FROM check_rollups WHERE hour_start >= ",
        );
        query.push_bind(since - since.rem_euclid(HOUR_MS));
        query.push(" AND monitor_id IN (");
        let mut ids = query.separated(", ");
        for id in monitor_ids {
            ids.push_bind(*id);
        }
        query.push(") GROUP BY monitor_id");
        query.build_query_as::<(i64, i64, i64)>().fetch_all(pool).await
    })
}

/// One point of a response-time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesPoint {
    pub at: i64,
    pub average_ms: Option<u32>,
    pub max_ms: Option<u32>,
    pub checks: u32,
    pub failures: u32,
}

/// Hourly response times of monitors since `since`.
pub async fn hourly_series(
    db: &Db,
    monitor_ids: &[i64],
    since: i64,
) -> sqlx::Result<Vec<(i64, SeriesPoint)>> {
    if monitor_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, i64, i32, i32, i64, i32, i32)> = with_db!(db, pool => {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT monitor_id, hour_start, checks, failures, response_ms_sum, response_count, \
             response_ms_max FROM check_rollups WHERE hour_start >= ",
        );
        query.push_bind(since - since.rem_euclid(HOUR_MS));
        query.push(" AND monitor_id IN (");
        let mut ids = query.separated(", ");
        for id in monitor_ids {
            ids.push_bind(*id);
        }
        query.push(") ORDER BY monitor_id, hour_start");
        query.build_query_as().fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|(monitor_id, hour_start, checks, failures, sum, count, max)| {
            let average_ms = (count > 0).then(|| (sum / i64::from(count)) as u32);
            let point = SeriesPoint {
                at: hour_start,
                average_ms,
                max_ms: (count > 0).then_some(max as u32),
                checks: checks as u32,
                failures: failures as u32,
            };
            (monitor_id, point)
        })
        .collect())
}

/// Raw response times of one monitor since `since`, oldest first, at most
/// `limit` points.
pub async fn raw_series(
    db: &Db,
    monitor_id: i64,
    since: i64,
    limit: u32,
) -> sqlx::Result<Vec<SeriesPoint>> {
    let query = "SELECT checked_at, passed, response_ms FROM check_results \
                 WHERE monitor_id = $1 AND checked_at >= $2 ORDER BY checked_at LIMIT $3";
    let rows: Vec<(i64, bool, Option<i32>)> = with_db!(db, pool => {
        sqlx::query_as(query).bind(monitor_id).bind(since).bind(i64::from(limit)).fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|(at, passed, response_ms)| SeriesPoint {
            at,
            average_ms: response_ms.map(|ms| ms as u32),
            max_ms: response_ms.map(|ms| ms as u32),
            checks: 1,
            failures: u32::from(!passed),
        })
        .collect())
}

/// Deletes check results older than `before`, at most `batch` rows per
/// statement so that a large prune does not hold a long write lock.
/// Returns the number of rows deleted.
pub async fn prune_checks(db: &Db, before: i64, batch: u32) -> sqlx::Result<u64> {
    let query = "DELETE FROM check_results WHERE id IN \
                 (SELECT id FROM check_results WHERE checked_at < $1 ORDER BY checked_at LIMIT $2)";
    let mut total = 0;
    loop {
        let deleted = with_db!(db, pool => {
            sqlx::query(query).bind(before).bind(i64::from(batch)).execute(pool).await.map(|done| done.rows_affected())
        })?;
        total += deleted;
        if deleted < u64::from(batch) {
            return Ok(total);
        }
    }
}

/// Deletes hourly rollups older than `before`.
pub async fn prune_rollups(db: &Db, before: i64) -> sqlx::Result<u64> {
    let query = "DELETE FROM check_rollups WHERE hour_start < $1";
    with_db!(db, pool => sqlx::query(query).bind(before).execute(pool).await.map(|done| done.rows_affected()))
}
