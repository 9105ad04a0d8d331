//! Periodic housekeeping: expired sessions, stale sign-in failures, old
//! invitations, API rate-limit counters of past minutes, and check history
//! and finished notification deliveries past the check retention.

use std::time::Duration;

use app::state::AppState;
use app::storage::sessions::DbSessionStore;
use app::storage::{accounts, api_tokens, monitors, notifications};
use app::time::now_ms;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct HousekeepingConfig {
    pub interval: Duration,
    /// Check results older than this are deleted; hourly rollups are kept
    /// for [`ROLLUP_RETENTION_MS`] whatever this is.
    pub check_retention: Duration,
}

impl Default for HousekeepingConfig {
    fn default() -> Self {
        HousekeepingConfig {
            interval: Duration::from_secs(600),
            check_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Hourly rollups feed uptime figures up to 30 days; a year leaves room for
/// longer reports.
pub const ROLLUP_RETENTION_MS: i64 = 400 * 24 * 3600 * 1000;
const PRUNE_BATCH: u32 = 10_000;
/// Failed sign-ins older than this no longer count towards any limit.
const LOGIN_FAILURE_RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Expired, unused invitations are kept this long so admins see them lapse.
const EXPIRED_INVITATION_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// Tidies up every `config.interval` until `shutdown` is cancelled.
pub async fn run(state: AppState, config: HousekeepingConfig, shutdown: CancellationToken) {
    tracing::info!("housekeeping started");
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => tidy(&state, &config).await,
        }
    }
    tracing::info!("housekeeping stopped");
}

/// Deletes expired sessions, stale sign-in failures, old invitations, old
/// API rate-limit counters and check history past its retention.
pub async fn tidy(state: &AppState, config: &HousekeepingConfig) {
    let now = now_ms();
    match DbSessionStore::new(state.db.clone()).delete_expired(now).await {
        Ok(deleted) => tracing::debug!(sessions.deleted = deleted, "expired sessions deleted"),
        Err(error) => tracing::error!(%error, "deleting expired sessions failed"),
    }
    let pruned = accounts::prune(
        &state.db,
        now - LOGIN_FAILURE_RETENTION_MS,
        now - EXPIRED_INVITATION_RETENTION_MS,
    )
    .await;
    match pruned {
        Ok(deleted) => {
            tracing::debug!(rows.deleted = deleted, "old sign-in failures and invitations deleted")
        }
        Err(error) => tracing::error!(%error, "pruning sign-in failures and invitations failed"),
    }
    // Only the current minute's counters limit anything.
    let window_ms = app::api::ssr::auth::WINDOW_MS;
    match api_tokens::prune_rate_limits(&state.db, now - 2 * window_ms).await {
        Ok(deleted) => {
            tracing::debug!(rows.deleted = deleted, "old API rate-limit counters deleted")
        }
        Err(error) => tracing::error!(%error, "pruning API rate-limit counters failed"),
    }
    let retention_ms = i64::try_from(config.check_retention.as_millis()).unwrap_or(i64::MAX / 2);
    match monitors::prune_checks(&state.db, now - retention_ms, PRUNE_BATCH).await {
        Ok(deleted) => {
            tracing::debug!(rows.deleted = deleted, "check results past retention deleted")
        }
        Err(error) => tracing::error!(%error, "pruning check results failed"),
    }
    match monitors::prune_rollups(&state.db, now - ROLLUP_RETENTION_MS).await {
        Ok(deleted) => tracing::debug!(rows.deleted = deleted, "old hourly rollups deleted"),
        Err(error) => tracing::error!(%error, "pruning hourly rollups failed"),
    }
    match notifications::prune_finished(&state.db, now - retention_ms).await {
        Ok(deleted) => {
            tracing::debug!(
                rows.deleted = deleted,
                "finished notification deliveries past retention deleted"
            )
        }
        Err(error) => tracing::error!(%error, "pruning notification deliveries failed"),
    }
}
