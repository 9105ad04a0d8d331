//! When checks are due. All instants are epoch milliseconds.

/// Returns the first due time of a new (or resumed) monitor: somewhere within its
/// first interval, chosen by `seed`, so that monitors created together do not
/// all run at the same moment.
pub fn first_due(now: i64, interval_ms: i64, seed: u64) -> i64 {
    let interval = interval_ms.max(1) as u64;
    now + (seed % interval) as i64
}

/// Returns the due time after a check that was due at `due_at`, keeping the
/// monitor's phase. Ticks that already passed are skipped, not queued: a
/// check that ran late, or a process that was down, does not cause a burst.
/// Returns the next due time and the number of ticks skipped.
pub fn next_due(due_at: i64, interval_ms: i64, now: i64) -> (i64, u64) {
    let interval = interval_ms.max(1);
    let next = due_at + interval;
    if next > now {
        return (next, 0);
    }
    let missed = (now - due_at) / interval;
    (due_at + (missed + 1) * interval, missed as u64)
}

/// When a heartbeat monitor fails if no ping arrives: one period plus grace
/// after the last ping (or after the monitor was created or resumed).
pub fn heartbeat_deadline(last_ping_at: i64, period_ms: i64, grace_ms: i64) -> i64 {
    last_ping_at + period_ms + grace_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_due_spreads_within_interval() {
        let interval = 30_000;
        let dues: Vec<i64> =
            (0..1000u64).map(|seed| first_due(1_000, interval, seed * 7919)).collect();
        assert!(dues.iter().all(|due| (1_000..1_000 + interval).contains(due)));
        // Spread: every tenth of the interval receives some monitors.
        for slot in 0..10 {
            let low = 1_000 + slot * interval / 10;
            let high = low + interval / 10;
            assert!(dues.iter().any(|due| (low..high).contains(due)), "slot {slot} is empty");
        }
    }

    #[test]
    fn next_due_keeps_phase_and_skips_missed() {
        let cases = [
            // (due_at, interval, now) -> (next, skipped)
            ((0, 30_000, 500), (30_000, 0)),
            ((0, 30_000, 29_999), (30_000, 0)),
            ((0, 30_000, 30_000), (60_000, 1)),
            ((0, 30_000, 95_000), (120_000, 3)),
            ((10_000, 10_000, 10_050), (20_000, 0)),
        ];
        for ((due_at, interval, now), expected) in cases {
            assert_eq!(next_due(due_at, interval, now), expected, "due {due_at}, now {now}");
        }
    }

    #[test]
    fn heartbeat_deadline_adds_grace() {
        assert_eq!(heartbeat_deadline(1_000, 60_000, 5_000), 66_000);
    }
}
