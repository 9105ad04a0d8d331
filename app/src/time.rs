//! Timestamps: Rebound stores instants as Unix epoch milliseconds (UTC).

/// Formats epoch milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        (second_of_day % 3600) / 60,
        second_of_day % 60
    )
}

/// Formats epoch milliseconds as RFC 3339 in UTC, e.g. `2026-12-05T02:41:07.250Z`.
pub fn format_rfc3339(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let millis = epoch_ms.rem_euclid(1000);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        (second_of_day % 3600) / 60,
        second_of_day % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date, using
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Current time in epoch milliseconds.
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the system clock is set after 1970");
    i64::try_from(elapsed.as_millis())
        .expect("epoch milliseconds fit in i64 until year 292,278,994")
}

/// Formats a duration in seconds the way a person reads a wait: "45 seconds",
/// "3 minutes", "2 hours".
pub fn format_wait(seconds: u64) -> String {
    match seconds {
        0..=1 => "1 second".to_string(),
        2..=59 => format!("{seconds} seconds"),
        60..=3599 => {
            let minutes = seconds.div_ceil(60);
            if minutes == 1 { "1 minute".to_string() } else { format!("{minutes} minutes") }
        }
        _ => {
            let hours = seconds.div_ceil(3600);
            if hours == 1 { "1 hour".to_string() } else { format!("{hours} hours") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_rfc3339_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(1_796_423_467_999), "2026-12-04T22:31:07.999Z");
    }

    #[test]
    fn format_utc_known_instants() {
        let cases = [
            (0, "1970-01-01 00:00:00 UTC"),
            (951_782_400_000, "2000-02-29 00:00:00 UTC"),
            (1_796_423_467_999, "2026-12-04 22:31:07 UTC"),
            (-86_400_000, "1969-12-31 00:00:00 UTC"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_utc(input), expected, "epoch ms {input}");
        }
    }

    #[test]
    fn format_wait_rounds_up() {
        let cases = [
            (0, "1 second"),
            (30, "30 seconds"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (900, "15 minutes"),
            (3600, "1 hour"),
            (3601, "2 hours"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_wait(input), expected, "{input} s");
        }
    }
}
