//! When to try a Heroku call again and how long to wait: backoff with
//! jitter, `Retry-After`, and the per-account rate-limit budget. Pure
//! functions; the client supplies the clock and the randomness.

use std::time::Duration;

/// Retries of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// No retry starts after this much time since the first attempt.
    pub deadline: Duration,
    /// Backoff before the first retry; it doubles with each further one.
    pub first_delay: Duration,
    /// Maximum backoff between two attempts (`Retry-After` may ask for more).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            deadline: Duration::from_secs(20),
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Returns the wait before retry number `retry` (0 for the first retry):
/// exponential, capped, with "equal jitter" (half fixed, half drawn from
/// `random`) so that many clients do not retry in lockstep.
pub fn backoff_delay(policy: &RetryPolicy, retry: u32, random: u64) -> Duration {
    let exponential = policy.first_delay.saturating_mul(1u32 << retry.min(16));
    let capped = exponential.min(policy.max_delay);
    let half = capped / 2;
    let half_ms = half.as_millis() as u64;
    let jitter_ms = if half_ms == 0 { 0 } else { random % (half_ms + 1) };
    half + Duration::from_millis(jitter_ms)
}

/// Reads `Retry-After` as delay-seconds. The HTTP-date form is not
/// supported and reads as absent, so the client falls back to its backoff.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Which statuses are worth another attempt. `idempotent` is false for
/// calls that must not run twice (rollback, one-off dynos, code
/// exchange), so those are retried only when Heroku reports that it did
/// not act (429 rate limit, 503 unavailable).
pub fn should_retry_status(status: u16, idempotent: bool) -> bool {
    match status {
        429 | 503 => true,
        500 | 502 | 504 => idempotent,
        _ => false,
    }
}

/// Size of an account's token bucket and its refill rate: 4,500 calls,
/// refilled at about 75 per minute
/// (<https://devcenter.heroku.com/articles/platform-api-reference#rate-limits>,
/// <https://blog.heroku.com/rate-throttle-api-client>).
pub const RATE_LIMIT_BUCKET: i64 = 4_500;
pub const RATE_LIMIT_REFILL_PER_MINUTE: i64 = 75;

/// Calls kept for reactions: look-ups that can wait do not spend the last
/// ones. It is about a tenth of the bucket, an estimate rather than a
/// measured need.
pub const REACTION_RESERVE: i64 = 450;

/// Estimates the remaining budget now from the last `RateLimit-Remaining`
/// figure and its age, assuming the documented refill rate.
pub fn estimated_remaining(last_remaining: i64, observed_at_ms: i64, now_ms: i64) -> i64 {
    let elapsed_ms = (now_ms - observed_at_ms).max(0);
    let refilled = elapsed_ms * RATE_LIMIT_REFILL_PER_MINUTE / 60_000;
    (last_remaining + refilled).min(RATE_LIMIT_BUCKET)
}

/// Returns how long a look-up that can wait should wait so that the budget
/// is back above [`REACTION_RESERVE`]; zero when it already is.
pub fn budget_wait(last_remaining: i64, observed_at_ms: i64, now_ms: i64) -> Duration {
    let estimate = estimated_remaining(last_remaining, observed_at_ms, now_ms);
    if estimate >= REACTION_RESERVE {
        return Duration::ZERO;
    }
    let missing = (REACTION_RESERVE - estimate) as u64;
    let per_minute = RATE_LIMIT_REFILL_PER_MINUTE as u64;
    Duration::from_millis((missing * 60_000).div_ceil(per_minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let policy = RetryPolicy {
            deadline: Duration::from_secs(20),
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        };
        let cases = [(0, 0, 100), (0, u64::MAX, 100), (1, 0, 200), (2, 0, 400), (5, 0, 500)];
        for (retry, random, expected_min_ms) in cases {
            let delay = backoff_delay(&policy, retry, random);
            assert!(delay >= Duration::from_millis(expected_min_ms), "retry {retry}: {delay:?}");
            assert!(
                delay <= Duration::from_millis(expected_min_ms * 2),
                "retry {retry}: {delay:?}"
            );
        }
        assert!(backoff_delay(&policy, 30, 12345) <= policy.max_delay);
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn retryable_statuses() {
        let cases = [
            (429, true, true),
            (429, false, true),
            (503, false, true),
            (500, true, true),
            (500, false, false),
            (502, false, false),
            (504, true, true),
            (404, true, false),
            (422, true, false),
            (401, true, false),
        ];
        for (status, idempotent, expected) in cases {
            assert_eq!(should_retry_status(status, idempotent), expected, "{status} {idempotent}");
        }
    }

    #[test]
    fn budget_refills_over_time() {
        let minute = 60_000;
        assert_eq!(estimated_remaining(100, 0, minute), 175);
        assert_eq!(estimated_remaining(4_490, 0, 10 * minute), RATE_LIMIT_BUCKET);
        assert_eq!(budget_wait(REACTION_RESERVE, 0, 0), Duration::ZERO);
        assert_eq!(budget_wait(0, 0, 6 * minute), Duration::ZERO);
        // 75 below the reserve is one minute of refill.
        assert_eq!(budget_wait(REACTION_RESERVE - 75, 0, 0), Duration::from_secs(60));
        assert_eq!(budget_wait(REACTION_RESERVE - 75, 0, 40_000), Duration::from_secs(20));
    }
}
