//! `GET /timeline/export.csv` and `GET /timeline/export.json`: the filtered
//! timeline as a file, for the signed-in member's current team. The body is
//! streamed page by page, so a million entries never sit in memory at once.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower_sessions::Session;

use super::ssr::parse_query;
use super::{TimelineCursor, TimelineEntry, TimelineQuery};
use crate::accounts::Role;
use crate::accounts::ssr::caller_of_session;
use crate::error::AppError;
use crate::reactions::ExecutionFilter;
use crate::state::AppState;
use crate::storage::timeline as store;
use crate::time::format_utc;

/// Entries read from the database per page of an export.
const EXPORT_PAGE: u32 = 1000;

pub const CSV_PATH: &str = "/timeline/export.csv";
pub const JSON_PATH: &str = "/timeline/export.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

pub async fn csv(state: State<AppState>, session: Session, query: RawQuery) -> Response {
    export(state, session, query, Format::Csv).await
}

pub async fn json(state: State<AppState>, session: Session, query: RawQuery) -> Response {
    export(state, session, query, Format::Json).await
}

/// Builds a plain-text response with the error's status and the same
/// message a page would show.
fn error_response(error: AppError) -> Response {
    (error.status(), [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{error}\n"))
        .into_response()
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    RawQuery(raw): RawQuery,
    format: Format,
) -> Response {
    let caller = match caller_of_session(&state, &session).await {
        Ok(caller) => caller,
        Err(error) => return error_response(error),
    };
    if let Err(error) = caller.require(Role::Viewer) {
        return error_response(error);
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
    let query = TimelineQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let parsed = match parse_query(&query) {
        Ok(parsed) => parsed,
        Err(error) => return error_response(error),
    };
    tracing::info!(team.id = caller.team_id, format = ?format, "timeline export started");

    let stream = futures_util::stream::unfold(
        Some(Pager {
            state,
            team_id: caller.team_id,
            filter: parsed.filter,
            before: None,
            first: true,
            format,
        }),
        |pager| async move {
            let mut pager = pager?;
            match pager.next_chunk().await {
                Ok((chunk, more)) => Some((Ok::<_, std::io::Error>(chunk), more.then_some(pager))),
                Err(error) => {
                    tracing::error!(team.id = pager.team_id, error = %error, "timeline export failed part-way");
                    Some((Err(std::io::Error::other("timeline export failed")), None))
                }
            }
        },
    );
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "timeline.csv"),
        Format::Json => ("application/json", "timeline.json"),
    };
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            .expect("the file name is a valid header value"),
    );
    response
}

/// Reads the export one page at a time and formats each page.
struct Pager {
    state: AppState,
    team_id: i64,
    filter: ExecutionFilter,
    before: Option<TimelineCursor>,
    first: bool,
    format: Format,
}

impl Pager {
    /// Reads and formats the next piece of the body; returns it and whether
    /// more follows.
    async fn next_chunk(&mut self) -> Result<(String, bool), sqlx::Error> {
        let (entries, next) =
            store::page(&self.state.db, self.team_id, &self.filter, self.before, EXPORT_PAGE)
                .await?;
        let mut chunk = String::new();
        if self.first {
            chunk.push_str(match self.format {
                Format::Csv => CSV_HEADER,
                Format::Json => "{\"items\":[",
            });
        }
        for (index, entry) in entries.iter().enumerate() {
            match self.format {
                Format::Csv => chunk.push_str(&csv_row(entry)),
                Format::Json => {
                    if !(self.first && index == 0) {
                        chunk.push(',');
                    }
                    chunk.push_str(
                        &serde_json::to_string(&JsonEntry::of(entry))
                            .expect("timeline entries serialize to JSON"),
                    );
                }
            }
        }
        if !entries.is_empty() {
            self.first = false;
        }
        self.before = next;
        let more = next.is_some();
        if !more && self.format == Format::Json {
            chunk.push_str("]}\n");
        }
        Ok((chunk, more))
    }
}

pub const CSV_HEADER: &str = "type,id,time_utc,epoch_ms,app,reaction,kind,monitor,monitor_state,\
from_state,to_state,outcome,summary,reason,error_message,heroku_status,heroku_error_id,\
heroku_request_id,duration_ms\r\n";

/// Quotes a CSV field as RFC 4180 specifies: fields with a comma, quote or
/// line break are enclosed in quotes, and quotes inside are doubled.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_row(entry: &TimelineEntry) -> String {
    let fields: Vec<String> = match entry {
        TimelineEntry::Execution(e) => vec![
            "execution".into(),
            e.id.to_string(),
            format_utc(e.started_at),
            e.started_at.to_string(),
            e.app_name.clone(),
            e.reaction_name.clone(),
            e.kind.map(|kind| kind.as_str()).unwrap_or_default().into(),
            e.monitor_name.clone(),
            e.monitor_state.as_str().into(),
            String::new(),
            String::new(),
            e.outcome.as_str().into(),
            e.summary.clone(),
            String::new(),
            e.error_message.clone().unwrap_or_default(),
            e.heroku_status.map(|status| status.to_string()).unwrap_or_default(),
            e.heroku_error_id.clone().unwrap_or_default(),
            e.heroku_request_id.clone().unwrap_or_default(),
            e.duration_ms.map(|ms| ms.to_string()).unwrap_or_default(),
        ],
        TimelineEntry::StateChange(c) => vec![
            "state_change".into(),
            c.id.to_string(),
            format_utc(c.changed_at),
            c.changed_at.to_string(),
            String::new(),
            String::new(),
            String::new(),
            c.monitor_name.clone(),
            String::new(),
            c.from.as_str().into(),
            c.to.as_str().into(),
            String::new(),
            String::new(),
            c.reason.clone().unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
    };
    let mut row = fields.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(",");
    row.push_str("\r\n");
    row
}

/// One entry of the JSON export; `type` names the fields that follow.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonEntry<'a> {
    Execution(&'a crate::reactions::Execution),
    StateChange(&'a super::MonitorEvent),
}

impl<'a> JsonEntry<'a> {
    fn of(entry: &'a TimelineEntry) -> JsonEntry<'a> {
        match entry {
            TimelineEntry::Execution(execution) => JsonEntry::Execution(execution),
            TimelineEntry::StateChange(change) => JsonEntry::StateChange(change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let cases = [
            ("web 2 → 3", "web 2 → 3"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(csv_field(input), expected, "{input:?}");
        }
    }
}
