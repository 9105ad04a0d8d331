//! `Range` paging as the Platform API does it: `field [start]..[end][;
//! max=N, order=asc|desc]`, a `]` before the start making it exclusive,
//! 206 with `Next-Range` while more remains, at most 1,000 per page and 200
//! by default (<https://devcenter.heroku.com/articles/platform-api-reference#ranges>).
//!
//! NOTE: how Heroku words `Next-Range` and `Content-Range` for descending
//! ranges is not documented; here the next page starts, exclusively, after
//! the last item sent, in the requested order.

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::Value;

use super::world::ApiError;

const DEFAULT_MAX: usize = 200;
const LARGEST_MAX: usize = 1000;

/// A value a list can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Text(String),
}

impl Key {
    fn render(&self) -> String {
        match self {
            Key::Int(value) => value.to_string(),
            Key::Text(value) => value.clone(),
        }
    }
}

/// One list item with its value for each orderable field.
pub struct Row {
    pub keys: Vec<(&'static str, Key)>,
    pub value: Value,
}

impl Row {
    fn key(&self, field: &str) -> &Key {
        &self.keys.iter().find(|(name, _)| *name == field).expect("every row has every field").1
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Spec {
    field: String,
    start: Option<(String, bool)>,
    end: Option<String>,
    max: usize,
    descending: bool,
}

fn bad_range() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "Invalid `Range` header. Please use format like `id ..; max=10, order=desc`.",
    )
}

fn parse(header: &str, fields: &[&str]) -> Result<Spec, ApiError> {
    let (bounds, parameters) = match header.split_once(';') {
        Some((bounds, parameters)) => (bounds.trim(), Some(parameters)),
        None => (header.trim(), None),
    };
    let (field, span) = bounds.split_once(' ').unwrap_or((bounds, ""));
    if !fields.contains(&field) {
        return Err(bad_range());
    }
    let (start, end) = span.trim().split_once("..").ok_or_else(bad_range)?;
    let start = match start.trim() {
        "" => None,
        value => Some(match value.strip_prefix(']') {
            Some(exclusive) => (exclusive.to_string(), true),
            None => (value.to_string(), false),
        }),
    };
    let end = Some(end.trim().to_string()).filter(|end| !end.is_empty());
    if start.is_none() && end.is_some() {
        // Ranges with only an end bound are not supported.
        return Err(bad_range());
    }
    let mut spec =
        Spec { field: field.to_string(), start, end, max: DEFAULT_MAX, descending: false };
    if let Some(parameters) = parameters {
        for pair in parameters.split(',') {
            let (name, value) = pair.trim().split_once('=').ok_or_else(bad_range)?;
            match (name.trim(), value.trim()) {
                ("max", value) => {
                    let max: usize = value.parse().map_err(|_| bad_range())?;
                    if max == 0 {
                        return Err(bad_range());
                    }
                    spec.max = max.min(LARGEST_MAX);
                }
                ("order", "asc") => spec.descending = false,
                ("order", "desc") => spec.descending = true,
                _ => return Err(bad_range()),
            }
        }
    }
    Ok(spec)
}

fn bound(sample: &Key, text: &str) -> Result<Key, ApiError> {
    match sample {
        Key::Int(_) => text.parse().map(Key::Int).map_err(|_| bad_range()),
        Key::Text(_) => Ok(Key::Text(text.to_string())),
    }
}

/// One page of a list.
pub struct Page {
    pub status: StatusCode,
    pub items: Vec<Value>,
    pub content_range: Option<String>,
    pub next_range: Option<String>,
}

/// Orders, filters and cuts `rows` as the `Range` header asks; without one,
/// by `default_field` ascending, 200 at a time.
pub fn paginate(
    mut rows: Vec<Row>,
    header: Option<&str>,
    fields: &[&str],
    default_field: &str,
) -> Result<Page, ApiError> {
    let spec = match header {
        Some(header) => parse(header, fields)?,
        None => Spec {
            field: default_field.to_string(),
            start: None,
            end: None,
            max: DEFAULT_MAX,
            descending: false,
        },
    };
    let field = spec.field.as_str();
    rows.sort_by(|a, b| {
        let order = a.key(field).cmp(b.key(field));
        if spec.descending { order.reverse() } else { order }
    });
    // "After" the bound in the requested order.
    let past = |ordering: Ordering| if spec.descending { ordering.reverse() } else { ordering };
    if let Some(sample) = rows.first().map(|row| row.key(field).clone()) {
        if let Some((start, exclusive)) = &spec.start {
            let start = bound(&sample, start)?;
            rows.retain(|row| match past(row.key(field).cmp(&start)) {
                Ordering::Greater => true,
                Ordering::Equal => !exclusive,
                Ordering::Less => false,
            });
        }
        if let Some(end) = &spec.end {
            let end = bound(&sample, end)?;
            rows.retain(|row| past(row.key(field).cmp(&end)) != Ordering::Greater);
        }
    }
    let more = rows.len() > spec.max;
    rows.truncate(spec.max);
    let first = rows.first().map(|row| row.key(field).render());
    let last = rows.last().map(|row| row.key(field).render());
    let order = if spec.descending { "desc" } else { "asc" };
    let content_range =
        first.zip(last.clone()).map(|(first, last)| format!("{field} {first}..{last}"));
    let next_range = last.filter(|_| more).map(|last| {
        let end = spec.end.clone().unwrap_or_default();
        format!("{field} ]{last}..{end}; max={}, order={order}", spec.max)
    });
    Ok(Page {
        status: if more { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK },
        items: rows.into_iter().map(|row| row.value).collect(),
        content_range,
        next_range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(count: i64) -> Vec<Row> {
        (1..=count)
            .map(|version| Row {
                keys: vec![
                    ("version", Key::Int(version)),
                    ("id", Key::Text(format!("id-{:03}", 100 - version))),
                ],
                value: Value::from(version),
            })
            .collect()
    }

    fn versions(page: &Page) -> Vec<i64> {
        page.items.iter().map(|item| item.as_i64().unwrap()).collect()
    }

    #[test]
    fn newest_first_pages_follow_next_range() {
        let fields = ["id", "version"];
        let first =
            paginate(releases(10), Some("version ..; max=4, order=desc"), &fields, "id").unwrap();
        assert_eq!(first.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(versions(&first), [10, 9, 8, 7]);
        let next = first.next_range.clone().unwrap();
        assert_eq!(next, "version ]7..; max=4, order=desc");

        let second = paginate(releases(10), Some(&next), &fields, "id").unwrap();
        assert_eq!(versions(&second), [6, 5, 4, 3]);
        let third = paginate(releases(10), second.next_range.as_deref(), &fields, "id").unwrap();
        assert_eq!(versions(&third), [2, 1]);
        assert_eq!(third.status, StatusCode::OK);
        assert_eq!(third.next_range, None);
    }

    #[test]
    fn default_is_id_ascending() {
        let page = paginate(releases(3), None, &["id", "version"], "id").unwrap();
        // Ids run backwards relative to versions in this fixture.
        assert_eq!(versions(&page), [3, 2, 1]);
        assert_eq!(page.status, StatusCode::OK);
    }

    #[test]
    fn inclusive_and_bounded_ranges() {
        let fields = ["version"];
        let page = paginate(releases(10), Some("version 3..5"), &fields, "version").unwrap();
        assert_eq!(versions(&page), [3, 4, 5]);
        let exclusive = paginate(releases(10), Some("version ]3..5"), &fields, "version").unwrap();
        assert_eq!(versions(&exclusive), [4, 5]);
    }

    #[test]
    fn malformed_ranges_are_bad_requests() {
        let fields = ["id", "version"];
        for header in [
            "version ..; max=10; order=desc",
            "name ..",
            "version ..5",
            "version",
            "version ..; max=0",
            "version ..; max=ten",
            "version ..; order=sideways",
            "version x..; max=2",
        ] {
            let error = paginate(releases(3), Some(header), &fields, "id").err();
            let status = error.map(|error| error.status);
            assert_eq!(status, Some(StatusCode::BAD_REQUEST), "{header}");
        }
    }

    #[test]
    fn max_is_capped_at_one_thousand() {
        let spec = parse("version ..; max=5000", &["version"]).unwrap();
        assert_eq!(spec.max, 1000);
    }
}
