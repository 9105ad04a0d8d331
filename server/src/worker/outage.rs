//! Logging of database failures in the worker's loops: the first failure
//! and then one line per interval while it lasts, and one line when the
//! database answers again, instead of one line per attempt.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a lasting outage is logged again.
pub const OUTAGE_LOG_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct OutageLog {
    state: Mutex<Option<Outage>>,
}

#[derive(Debug)]
struct Outage {
    started: Instant,
    last_logged: Instant,
    failures: u64,
}

impl OutageLog {
    /// Notes a failed database call of `what`; logs it when the outage is new
    /// or was last logged more than [`OUTAGE_LOG_INTERVAL`] ago.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let mut state = self.state.lock().expect("outage log is not poisoned");
        let now = Instant::now();
        match state.as_mut() {
            None => {
                tracing::error!(%error, "{what} failed: the database is unreachable; retrying");
                *state = Some(Outage { started: now, last_logged: now, failures: 1 });
            }
            Some(outage) => {
                outage.failures += 1;
                if now.duration_since(outage.last_logged) >= OUTAGE_LOG_INTERVAL {
                    tracing::error!(
                        %error,
                        outage_secs = now.duration_since(outage.started).as_secs(),
                        attempts = outage.failures,
                        "{what} still failing: the database is unreachable"
                    );
                    outage.last_logged = now;
                }
            }
        }
    }

    /// Notes a successful call; logs the end of an outage, if there was one.
    pub fn succeeded(&self, what: &str) {
        let mut state = self.state.lock().expect("outage log is not poisoned");
        if let Some(outage) = state.take() {
            tracing::info!(
                outage_secs = outage.started.elapsed().as_secs(),
                attempts = outage.failures,
                "{what} works again: the database is reachable"
            );
        }
    }
}
