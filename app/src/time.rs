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

/// The largest UTC offset in use, in minutes (UTC+14:00).
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// Formats epoch milliseconds as `YYYY-MM-DD HH:MM:SS` in the zone
/// `offset_minutes` east of UTC, followed by `UTC` or `UTC+HH:MM`.
pub fn format_in_offset(epoch_ms: i64, offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return format_utc(epoch_ms);
    }
    let shifted = format_utc(epoch_ms + i64::from(offset_minutes) * 60_000);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    format!("{} UTC{sign}{:02}:{:02}", shifted.trim_end_matches(" UTC"), minutes / 60, minutes % 60)
}

/// Formats epoch milliseconds for a `datetime-local` input
/// (`YYYY-MM-DDTHH:MM`) in the zone `offset_minutes` east of UTC.
pub fn format_datetime_local(epoch_ms: i64, offset_minutes: i32) -> String {
    let text = format_utc(epoch_ms + i64::from(offset_minutes) * 60_000);
    // "YYYY-MM-DD HH:MM:SS UTC" → "YYYY-MM-DDTHH:MM"
    format!("{}T{}", &text[..10], &text[11..16])
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (a space
/// may replace the `T`) as a local time in the zone `offset_minutes` east
/// of UTC; returns epoch milliseconds. The error names the expected forms.
pub fn parse_datetime_local(text: &str, offset_minutes: i32) -> Result<i64, String> {
    let invalid = || {
        format!(
            "{text:?} is not a date and time. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2026-12-05T14:30."
        )
    };
    let text = text.trim();

    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let number = |part: &str, digits: usize| -> Option<i64> {
        (part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let mut date_parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (date_parts.next(), date_parts.next(), date_parts.next(), date_parts.next())
    else {
        return Err(invalid());
    };
    let (Some(year), Some(month), Some(day)) = (number(year, 4), number(month, 2), number(day, 2))
    else {
        return Err(invalid());
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month as u32) {
        return Err(invalid());
    }

    let (hour, minute, second) = match time {
        None => (0, 0, 0),
        Some(time) => {
            let parts: Vec<&str> = time.split(':').collect();
            let parsed = match parts.as_slice() {
                [hour, minute] => (number(hour, 2), number(minute, 2), Some(0)),
                [hour, minute, second] => (number(hour, 2), number(minute, 2), number(second, 2)),
                _ => (None, None, None),
            };
            let (Some(hour), Some(minute), Some(second)) = parsed else {
                return Err(invalid());
            };
            if hour > 23 || minute > 59 || second > 59 {
                return Err(invalid());
            }
            (hour, minute, second)
        }
    };

    let days = days_from_civil(year, month as u32, day as u32);
    let local_secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok((local_secs - i64::from(offset_minutes) * 60) * 1000)
}

fn days_in_month(year: i64, month: u32) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Converts a proleptic Gregorian date to days since 1970-01-01, the inverse
/// of [`civil_from_days`] (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
    fn format_in_offset_shifts_and_labels() {
        let cases = [
            (0, 0, "1970-01-01 00:00:00 UTC"),
            (0, 90, "1970-01-01 01:30:00 UTC+01:30"),
            (0, -300, "1969-12-31 19:00:00 UTC-05:00"),
        ];
        for (ms, offset, expected) in cases {
            assert_eq!(format_in_offset(ms, offset), expected, "{ms} at {offset}");
        }
    }

    #[test]
    fn parse_datetime_local_accepts_forms() {
        let cases = [
            ("2026-12-04", 0, 1_796_342_400_000),
            ("2026-12-04T22:31", 0, 1_796_423_460_000),
            ("2026-12-04 22:31:07", 0, 1_796_423_467_000),
            ("2026-12-04T23:31", 60, 1_796_423_460_000),
            ("2000-02-29", 0, 951_782_400_000),
        ];
        for (text, offset, expected) in cases {
            assert_eq!(parse_datetime_local(text, offset), Ok(expected), "{text}");
        }
    }

    #[test]
    fn parse_datetime_local_rejects_invalid() {
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "2026-12-04T24:00",
            "2026-12-04T10",
            "26-12-04",
        ] {
            let error = parse_datetime_local(text, 0).expect_err(text);
            assert!(error.contains("YYYY-MM-DD"), "{text}: {error}");
        }
    }

    #[test]
    fn datetime_local_round_trips() {
        for offset in [0, 60, -300, 330] {
            let ms = 1_796_423_460_000;
            let text = format_datetime_local(ms, offset);
            assert_eq!(parse_datetime_local(&text, offset), Ok(ms), "{text} at {offset}");
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
