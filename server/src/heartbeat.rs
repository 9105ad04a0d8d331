//! Heartbeat pings: a job calls its monitor's secret URL (GET or POST, no
//! sign-in) to report that it ran.

use app::accounts::ssr::token_hash;
use app::monitors::{MonitorSettings, MonitorState};
use app::state::AppState;
use app::storage::monitors::{self as store, FinishedCheck};
use app::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn ping(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let record = match store::find_by_heartbeat(&state.db, &token_hash(&token)).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                "Unknown heartbeat URL. Copy it again from the monitor's page.\n",
            )
                .into_response();
        }
        Err(error) => {
            tracing::error!(%error, "looking up a heartbeat monitor failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Rebound cannot record the ping right now; retry shortly.\n",
            )
                .into_response();
        }
    };
    let monitor = &record.monitor;
    let MonitorSettings::Heartbeat(heartbeat) = &monitor.settings else {
        return (StatusCode::NOT_FOUND, "Unknown heartbeat URL.\n").into_response();
    };
    if monitor.state == MonitorState::Paused {
        return (StatusCode::OK, "Monitor is paused; the ping was not recorded.\n").into_response();
    }
    let now = now_ms();
    let deadline = now + i64::from(monitor.interval_secs + heartbeat.grace_secs) * 1000;
    let check = FinishedCheck {
        monitor_id: monitor.id,
        revision: record.revision,
        lease_owner: None,
        checked_at: now,
        passed: true,
        response_ms: None,
        status_code: None,
        reason: None,
        next_check_at: deadline,
        is_ping: true,
        stale_if_pinged_after: None,
    };
    match store::record_checks(&state.db, &[check]).await {
        Ok(stored) => {
            if stored.iter().any(|check| check.triggered > 0) {
                state.reaction_wakeup.notify_one();
            }
            if stored.iter().any(|check| check.changed_from.is_some()) {
                state.notification_wakeup.notify_one();
            }
            tracing::debug!(monitor.id = monitor.id, "heartbeat ping recorded");
            (StatusCode::OK, "OK\n").into_response()
        }
        Err(error) => {
            tracing::error!(monitor.id = monitor.id, %error, "recording a heartbeat ping failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Rebound cannot record the ping right now; retry shortly.\n",
            )
                .into_response()
        }
    }
}
