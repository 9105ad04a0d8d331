//! Timestamps and identifiers in the formats Heroku uses.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats epoch milliseconds as Heroku does: `2012-01-01T12:00:00Z`.
pub fn iso8601(epoch_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_ms.div_euclid(1000))
        .ok()
        .and_then(|instant| instant.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// A random UUID, as Heroku's ids are.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A token in the shape of Heroku's current ones (`HRKU-` and a UUID).
pub fn new_token() -> String {
    format!("HRKU-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_whole_seconds() {
        assert_eq!(iso8601(1_325_419_200_999), "2012-01-01T12:00:00Z");
    }
}
