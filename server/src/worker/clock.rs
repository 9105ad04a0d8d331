//! The worker's notion of "now" in epoch milliseconds. It advances with
//! Tokio's monotonic clock from a wall-clock reading taken at start, so a
//! wall-clock step (NTP) does not make checks run twice or not at all.
//! Tests move it forward with [`Clock::advance`] to reach due times without
//! waiting for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Creates a clock that starts at the system's current wall-clock time.
    pub fn system() -> Clock {
        Clock::starting_at(app::time::now_ms())
    }

    /// Creates a clock that reads `epoch_ms` now and advances with Tokio's time.
    pub fn starting_at(epoch_ms: i64) -> Clock {
        Clock { base_ms: epoch_ms, base: Instant::now(), offset_ms: Arc::new(AtomicI64::new(0)) }
    }

    pub fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX / 4);
        self.base_ms + elapsed + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock and its clones forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_time_and_offsets() {
        let clock = Clock::starting_at(1_000_000);
        assert_eq!(clock.now_ms(), 1_000_000);
        tokio::time::advance(std::time::Duration::from_secs(30)).await;
        assert_eq!(clock.now_ms(), 1_030_000);
        let shared = clock.clone();
        shared.advance(5_000);
        assert_eq!(clock.now_ms(), 1_035_000, "clones share the offset");
    }
}
