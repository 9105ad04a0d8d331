//! Refreshes Heroku OAuth tokens ahead of expiry, so reaction steps rarely
//! wait for a refresh.

use std::time::Duration;

use app::connections::ssr::refresh_expiring_tokens;
use app::state::AppState;
use tokio_util::sync::CancellationToken;

/// Heroku access tokens live 8 hours; looking every 5 minutes catches each
/// one well inside the refresh window.
pub const TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(300);

pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(TOKEN_REFRESH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {
                let refreshed = refresh_expiring_tokens(&state).await;
                if refreshed > 0 {
                    tracing::info!(connections.refreshed = refreshed, "Heroku tokens refreshed ahead of expiry");
                }
            }
        }
    }
}
