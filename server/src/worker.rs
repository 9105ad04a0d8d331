//! The background worker: periodic housekeeping and refreshing Heroku
//! tokens ahead of expiry; monitors and reactions run here too.

use std::time::Duration;

use app::connections::ssr::refresh_expiring_tokens;
use app::state::AppState;
use app::storage::accounts;
use app::storage::sessions::DbSessionStore;
use app::time::now_ms;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);
/// Heroku access tokens live 8 hours; looking every 5 minutes catches each
/// one well inside the refresh window.
const TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Failed sign-ins older than this no longer count towards any limit.
const LOGIN_FAILURE_RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Expired, unused invitations are kept this long so admins see them lapse.
const EXPIRED_INVITATION_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// Starts the worker; it stops after its current step once `shutdown` is cancelled.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("worker started");
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut token_refresh = tokio::time::interval(TOKEN_REFRESH_INTERVAL);
        token_refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = housekeeping.tick() => tidy(&state).await,
                _ = token_refresh.tick() => {
                    let refreshed = refresh_expiring_tokens(&state).await;
                    if refreshed > 0 {
                        tracing::info!(connections.refreshed = refreshed, "Heroku tokens refreshed ahead of expiry");
                    }
                }
            }
        }
        tracing::info!("worker stopped");
    })
}

/// Deletes expired sessions, stale sign-in failures and old invitations.
async fn tidy(state: &AppState) {
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
}
