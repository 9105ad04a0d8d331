//! The team's overview page and the execution timeline: what Rebound did,
//! interleaved with the monitor state changes that caused it, with filters,
//! a per-app dyno chart, exports and live refresh.

pub mod chart;
#[cfg(feature = "ssr")]
pub mod export;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{OverviewPage, TimelinePage};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::monitors::MonitorState;
use crate::reactions::Execution;

/// Entries per timeline page.
pub const PAGE_SIZE: u32 = 50;

/// Interval at which an open overview or first timeline page requests new
/// entries, in milliseconds. Every replica reads the same database, so a poll
/// returns executions whichever process ran them.
pub const LIVE_POLL_MS: u64 = 4_000;

/// A monitor's change of confirmed state, with the monitor's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorEvent {
    pub id: i64,
    pub monitor_id: i64,
    pub monitor_name: String,
    pub from: MonitorState,
    pub to: MonitorState,
    pub reason: Option<String>,
    pub changed_at: i64,
}

/// One line of the timeline.
// Most entries are executions, so boxing the large variant would cost an
// allocation per entry and save no memory.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineEntry {
    Execution(Execution),
    StateChange(MonitorEvent),
}

impl TimelineEntry {
    pub fn at(&self) -> i64 {
        match self {
            TimelineEntry::Execution(execution) => execution.started_at,
            TimelineEntry::StateChange(change) => change.changed_at,
        }
    }

    pub fn cursor(&self) -> TimelineCursor {
        match self {
            TimelineEntry::Execution(execution) => {
                TimelineCursor { at: execution.started_at, state_change: false, id: execution.id }
            }
            TimelineEntry::StateChange(change) => {
                TimelineCursor { at: change.changed_at, state_change: true, id: change.id }
            }
        }
    }
}

/// A position in the timeline: the last entry of the previous page.
///
/// Entries sort by time, then executions before state changes of the same
/// millisecond (a state change and the execution it triggered share one
/// line of time, and newest first the effect comes above its cause), then
/// by id. Written as `<at>.e<id>` or `<at>.s<id>` in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineCursor {
    pub at: i64,
    pub state_change: bool,
    pub id: i64,
}

impl Ord for TimelineCursor {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // An execution is "newer" than a state change at the same instant.
        (self.at, !self.state_change, self.id).cmp(&(other.at, !other.state_change, other.id))
    }
}

impl PartialOrd for TimelineCursor {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl TimelineCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}{}", self.at, if self.state_change { 's' } else { 'e' }, self.id)
    }

    pub fn decode(text: &str) -> Option<TimelineCursor> {
        let (at, rest) = text.split_once('.')?;
        let state_change = match rest.as_bytes().first()? {
            b's' => true,
            b'e' => false,
            _ => return None,
        };
        Some(TimelineCursor { at: at.parse().ok()?, state_change, id: rest[1..].parse().ok()? })
    }
}

/// The timeline's URL query, as typed: every field is the raw parameter,
/// empty when absent. The server parses it and names the field at fault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimelineQuery {
    pub app: String,
    /// A monitor id.
    pub monitor: String,
    /// A reaction id.
    pub reaction: String,
    /// A reaction kind such as `scale_out`.
    pub kind: String,
    /// An execution outcome such as `failed`.
    pub outcome: String,
    /// Earliest time, inclusive: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` in the
    /// zone `tz`.
    pub since: String,
    /// Latest time, exclusive, in the same forms.
    pub until: String,
    /// The viewer's UTC offset in minutes east of UTC; empty means UTC.
    pub tz: String,
    /// The cursor of the page to show; empty for the newest entries.
    pub before: String,
}

impl TimelineQuery {
    /// Parameter names in URL order.
    pub const FIELDS: [&'static str; 9] =
        ["app", "monitor", "reaction", "kind", "outcome", "since", "until", "tz", "before"];

    pub fn get(&self, name: &str) -> &str {
        match name {
            "app" => &self.app,
            "monitor" => &self.monitor,
            "reaction" => &self.reaction,
            "kind" => &self.kind,
            "outcome" => &self.outcome,
            "since" => &self.since,
            "until" => &self.until,
            "tz" => &self.tz,
            "before" => &self.before,
            _ => "",
        }
    }

    fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "app" => &mut self.app,
            "monitor" => &mut self.monitor,
            "reaction" => &mut self.reaction,
            "kind" => &mut self.kind,
            "outcome" => &mut self.outcome,
            "since" => &mut self.since,
            "until" => &mut self.until,
            "tz" => &mut self.tz,
            "before" => &mut self.before,
            _ => return None,
        })
    }

    /// Builds a query from URL parameters; unknown names are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TimelineQuery {
        let mut query = TimelineQuery::default();
        for (name, value) in pairs {
            if let Some(field) = query.field_mut(name) {
                *field = value.trim().to_string();
            }
        }
        query
    }

    /// Returns the URL query string of the set fields (without `?`), with
    /// `before` replaced.
    pub fn to_query_string(&self, before: Option<&str>) -> String {
        let mut copy = self.clone();
        copy.before = before.unwrap_or_default().to_string();
        TimelineQuery::FIELDS
            .iter()
            .filter(|name| !copy.get(name).is_empty())
            .map(|name| format!("{name}={}", encode_component(copy.get(name))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Returns whether any filter (not the page or zone) is set.
    pub fn is_filtered(&self) -> bool {
        TimelineQuery::FIELDS[..7].iter().any(|name| !self.get(name).is_empty())
    }
}

/// Percent-encodes a URL query component (RFC 3986 unreserved characters
/// stay as they are).
pub fn encode_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A choice of the filter form: the value sent and the label shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterChoice {
    pub value: String,
    pub label: String,
}

/// The choices of the filter form's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOptions {
    pub apps: Vec<FilterChoice>,
    pub monitors: Vec<FilterChoice>,
    pub reactions: Vec<FilterChoice>,
}

/// One page of the timeline as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineView {
    pub entries: Vec<TimelineEntry>,
    /// Cursor of the next (older) page.
    pub next: Option<String>,
    /// The zone times are shown in, in minutes east of UTC.
    pub offset_minutes: i32,
    /// False when kind or outcome filters hide state changes, which the page
    /// then mentions.
    pub state_changes_shown: bool,
    /// The dyno chart of the filtered app, when an app filter is set.
    pub chart: Option<chart::DynoChart>,
}

/// Monitors of one app with their states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMonitor {
    pub id: i64,
    pub name: String,
    pub state: MonitorState,
}

/// A process type of an app's formation, as Heroku reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationLine {
    pub process_type: String,
    pub quantity: u32,
    pub size: String,
}

/// One app the team's reactions act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppOverview {
    pub connection_id: i64,
    pub app_name: String,
    pub simulated: bool,
    pub monitors: Vec<AppMonitor>,
    /// The current formation, or why it could not be read.
    pub formation: Result<Vec<FormationLine>, String>,
    /// When the formation shown was read from Heroku.
    pub formation_read_at: Option<i64>,
    pub last_execution: Option<Execution>,
}

/// Counts of the team's reactions by what they do now. A reaction may be in
/// more than one of "at bound" and "needs re-authorization" besides its
/// status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCounts {
    pub enabled: u32,
    pub dry_run: u32,
    pub disabled: u32,
    /// Enabled, but its connection cannot act (removed, revoked or needing
    /// re-authorization).
    pub paused: u32,
    /// Its last trigger met its bound (or a refusal) and it has not acted
    /// since.
    pub at_bound: u32,
    pub needs_reauthorization: u32,
}

/// Everything the overview shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// Monitors per state, in the order Pending, Healthy, Failed, Paused.
    pub monitors_by_state: Vec<(MonitorState, i64)>,
    pub reactions: ReactionCounts,
    pub latest: Vec<TimelineEntry>,
    pub apps: Vec<AppOverview>,
    /// When the server read this overview.
    pub read_at: i64,
}

/// Lists the choices of the timeline's filter form.
#[server(endpoint = "timeline_filter_options")]
pub async fn timeline_filter_options() -> Result<FilterOptions, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::filter_options(&state, &caller).await
}

/// Reads one page of the timeline for the query of the page's URL.
#[server(endpoint = "get_timeline")]
pub async fn get_timeline(query: TimelineQuery) -> Result<TimelineView, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::timeline(&state, &caller, &query).await
}

/// Reads the overview of the caller's current team.
#[server(endpoint = "get_overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    let (state, caller) = crate::accounts::ssr::session_caller().await?;
    ssr::overview(&state, &caller).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        for cursor in [
            TimelineCursor { at: 1_800_000_000_000, state_change: false, id: 42 },
            TimelineCursor { at: 0, state_change: true, id: 1 },
        ] {
            assert_eq!(TimelineCursor::decode(&cursor.encode()), Some(cursor));
        }
        for bad in ["", "12", "12.", "12.x3", "a.e1", "12.e", "12.ex"] {
            assert_eq!(TimelineCursor::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cursor_orders_execution_above_its_cause() {
        let change = TimelineCursor { at: 10, state_change: true, id: 99 };
        let execution = TimelineCursor { at: 10, state_change: false, id: 1 };
        let older = TimelineCursor { at: 9, state_change: false, id: 500 };
        assert!(execution > change);
        assert!(change > older);
    }

    #[test]
    fn query_string_keeps_set_fields_and_encodes() {
        let query =
            TimelineQuery::from_pairs([("app", "shop & co"), ("kind", "scale_out"), ("x", "y")]);
        assert_eq!(query.to_query_string(None), "app=shop%20%26%20co&kind=scale_out");
        assert_eq!(
            query.to_query_string(Some("5.e1")),
            "app=shop%20%26%20co&kind=scale_out&before=5.e1"
        );
        assert!(query.is_filtered());
        assert!(!TimelineQuery::from_pairs([("tz", "60")]).is_filtered());
    }
}
