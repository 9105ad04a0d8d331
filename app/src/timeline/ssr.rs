//! Server side of the timeline and the overview: parsing the filter query,
//! reading pages, and gathering the overview from storage and Heroku.

use std::collections::BTreeMap;
use std::time::Duration;

use super::chart::DynoChart;
use super::{
    AppMonitor, AppOverview, FilterChoice, FilterOptions, FormationLine, Overview, PAGE_SIZE,
    ReactionCounts, TimelineCursor, TimelineQuery, TimelineView,
};
use crate::accounts::Role;
use crate::accounts::ssr::Caller;
use crate::error::AppError;
use crate::monitors::MonitorState;
use crate::reactions::{ExecutionFilter, ExecutionOutcome, ReactionKind, ReactionStatus};
use crate::state::AppState;
use crate::storage::monitors as monitors_store;
use crate::storage::reactions as reactions_store;
use crate::storage::timeline as store;
use crate::time::{MAX_OFFSET_MINUTES, now_ms, parse_datetime_local};

/// Scaling steps the dyno chart draws at most.
const CHART_STEPS: u32 = 500;
/// Entries the overview lists under "Latest".
const OVERVIEW_LATEST: u32 = 10;
/// Maximum age of a cached formation on the overview before it is read from Heroku again.
const FORMATION_MAX_AGE_MS: i64 = 30_000;
/// Timeout of the Heroku request for one app's formation.
const FORMATION_TIMEOUT: Duration = Duration::from_secs(3);

/// A parsed timeline query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    pub filter: ExecutionFilter,
    pub before: Option<TimelineCursor>,
    pub offset_minutes: i32,
}

fn parse_id(field: &str, label: &str, raw: &str) -> Result<Option<i64>, AppError> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>().map(Some).map_err(|_| {
        AppError::invalid(
            field,
            format!("{label} filter {raw:?} is not an id. Choose one from the list, or clear the filter."),
        )
    })
}

/// Parses the raw query; each error names its parameter.
pub fn parse_query(query: &TimelineQuery) -> Result<ParsedQuery, AppError> {
    let offset_minutes = match query.tz.as_str() {
        "" => 0,
        raw => match raw.parse::<i32>() {
            Ok(minutes) if minutes.abs() <= MAX_OFFSET_MINUTES => minutes,
            _ => {
                return Err(AppError::invalid(
                    "tz",
                    format!(
                        "Time zone {raw:?} is not an offset in minutes east of UTC between -{MAX_OFFSET_MINUTES} and {MAX_OFFSET_MINUTES}, e.g. 60 for UTC+01:00."
                    ),
                ));
            }
        },
    };
    let kind = match query.kind.as_str() {
        "" => None,
        raw => Some(ReactionKind::parse(raw).ok_or_else(|| {
            AppError::invalid(
                "kind",
                format!("Kind {raw:?} is not a reaction kind, e.g. scale_out."),
            )
        })?),
    };
    let outcome = match query.outcome.as_str() {
        "" => None,
        raw => Some(ExecutionOutcome::parse(raw).ok_or_else(|| {
            AppError::invalid(
                "outcome",
                format!("Outcome {raw:?} is not an execution outcome, e.g. succeeded or failed."),
            )
        })?),
    };
    let time = |field: &str, label: &str, raw: &str| -> Result<Option<i64>, AppError> {
        if raw.is_empty() {
            return Ok(None);
        }
        parse_datetime_local(raw, offset_minutes)
            .map(Some)
            .map_err(|message| AppError::invalid(field, format!("{label}: {message}")))
    };
    let since = time("since", "From", &query.since)?;
    let until = time("until", "To", &query.until)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(AppError::invalid(
            "until",
            "To must be later than From. Swap the two times or clear one.",
        ));
    }
    let before = match query.before.as_str() {
        "" => None,
        raw => Some(TimelineCursor::decode(raw).ok_or_else(|| {
            AppError::invalid(
                "before",
                format!(
                    "Page {raw:?} is not a timeline position. Start again from the newest entries."
                ),
            )
        })?),
    };
    if query.app.len() > 100 {
        return Err(AppError::invalid("app", "App names are at most 100 characters long."));
    }
    Ok(ParsedQuery {
        filter: ExecutionFilter {
            app: (!query.app.is_empty()).then(|| query.app.clone()),
            monitor_id: parse_id("monitor", "Monitor", &query.monitor)?,
            reaction_id: parse_id("reaction", "Reaction", &query.reaction)?,
            kind,
            outcome,
            since,
            until,
        },
        before,
        offset_minutes,
    })
}

pub async fn timeline(
    state: &AppState,
    caller: &Caller,
    query: &TimelineQuery,
) -> Result<TimelineView, AppError> {
    caller.require(Role::Viewer)?;
    let parsed = parse_query(query)?;
    let (entries, next) =
        store::page(&state.db, caller.team_id, &parsed.filter, parsed.before, PAGE_SIZE).await?;
    let chart = match &parsed.filter.app {
        Some(app) => {
            let steps = store::scaling_history(
                &state.db,
                caller.team_id,
                app,
                parsed.filter.since,
                parsed.filter.until,
                CHART_STEPS,
            )
            .await?;
            let until = parsed.filter.until.unwrap_or_else(now_ms);
            Some(DynoChart::from_executions(app, &steps, parsed.filter.since, until))
        }
        None => None,
    };
    Ok(TimelineView {
        entries,
        next: next.map(|cursor| cursor.encode()),
        offset_minutes: parsed.offset_minutes,
        state_changes_shown: store::includes_state_changes(&parsed.filter),
        chart,
    })
}

pub async fn filter_options(state: &AppState, caller: &Caller) -> Result<FilterOptions, AppError> {
    caller.require(Role::Viewer)?;
    let reactions = reactions_store::list(&state.db, caller.team_id)
        .await
        .map_err(|error| AppError::internal("listing reactions failed", error))?;
    let monitors = monitors_store::list(&state.db, caller.team_id, None, None, 1000)
        .await
        .map_err(|error| AppError::internal("listing monitors failed", error))?;
    let mut apps: Vec<String> =
        reactions.iter().map(|record| record.reaction.app_name.clone()).collect();
    apps.sort();
    apps.dedup();
    Ok(FilterOptions {
        apps: apps.into_iter().map(|app| FilterChoice { value: app.clone(), label: app }).collect(),
        monitors: monitors
            .into_iter()
            .map(|record| FilterChoice {
                value: record.monitor.id.to_string(),
                label: record.monitor.name,
            })
            .collect(),
        reactions: reactions
            .into_iter()
            .map(|record| FilterChoice {
                value: record.reaction.id.to_string(),
                label: record.reaction.name,
            })
            .collect(),
    })
}

pub async fn overview(state: &AppState, caller: &Caller) -> Result<Overview, AppError> {
    caller.require(Role::Viewer)?;
    let counts = monitors_store::count_by_state(&state.db, caller.team_id).await?;
    let monitors_by_state =
        [MonitorState::Pending, MonitorState::Healthy, MonitorState::Failed, MonitorState::Paused]
            .into_iter()
            .map(|wanted| {
                let count =
                    counts.iter().find(|(state, _)| *state == wanted).map_or(0, |(_, n)| *n);
                (wanted, count)
            })
            .collect();

    let records = reactions_store::list(&state.db, caller.team_id)
        .await
        .map_err(|error| AppError::internal("listing reactions failed", error))?;
    let mut reactions = ReactionCounts::default();
    // Apps keyed by (connection, name) in name order; monitors by id.
    let mut apps: BTreeMap<(String, i64), (bool, BTreeMap<i64, AppMonitor>)> = BTreeMap::new();
    for record in &records {
        let reaction = &record.reaction;
        match reaction.status() {
            ReactionStatus::Enabled => reactions.enabled += 1,
            ReactionStatus::DryRun => reactions.dry_run += 1,
            ReactionStatus::Disabled => reactions.disabled += 1,
            ReactionStatus::Paused(_) => reactions.paused += 1,
        }
        if reaction.enabled && record.last_block.is_some() {
            reactions.at_bound += 1;
        }
        if reaction.connection_state.as_deref() == Some("needs_reauthorization") {
            reactions.needs_reauthorization += 1;
        }
        if let Some(connection_id) = reaction.connection_id {
            let entry = apps
                .entry((reaction.app_name.clone(), connection_id))
                .or_insert_with(|| (reaction.connection_simulated, BTreeMap::new()));
            entry.1.insert(
                reaction.monitor_id,
                AppMonitor {
                    id: reaction.monitor_id,
                    name: reaction.monitor_name.clone(),
                    state: reaction.monitor_state,
                },
            );
        }
    }

    let (latest, _) =
        store::page(&state.db, caller.team_id, &ExecutionFilter::default(), None, OVERVIEW_LATEST)
            .await?;

    // Heroku is asked about every app at once, so one slow app delays the
    // page by one timeout, not one per app.
    let app_views =
        apps.into_iter().map(|((app_name, connection_id), (simulated, monitors))| async move {
            let formation = crate::connections::ssr::current_formation(
                state,
                caller,
                connection_id,
                &app_name,
                FORMATION_MAX_AGE_MS,
                FORMATION_TIMEOUT,
            )
            .await;
            let filter =
                ExecutionFilter { app: Some(app_name.clone()), ..ExecutionFilter::default() };
            let last_execution =
                reactions_store::list_executions(&state.db, caller.team_id, &filter, None, 1)
                    .await?
                    .into_iter()
                    .next();
            let (formation, formation_read_at) = match formation {
                Ok((lines, read_at)) => (
                    Ok(lines
                        .into_iter()
                        .map(|line| FormationLine {
                            size: line.dyno_size.map(|size| size.name).unwrap_or(line.size),
                            process_type: line.process_type,
                            quantity: line.quantity,
                        })
                        .collect()),
                    Some(read_at),
                ),
                Err(AppError::Heroku { message, .. }) => {
                    (Err(format!("Heroku did not return the formation: {message}")), None)
                }
                Err(error) => (Err(error.to_string()), None),
            };
            Ok::<_, AppError>(AppOverview {
                connection_id,
                app_name,
                simulated,
                monitors: monitors.into_values().collect(),
                formation,
                formation_read_at,
                last_execution,
            })
        });
    let apps = futures_util::future::try_join_all(app_views).await?;

    Ok(Overview { monitors_by_state, reactions, latest, apps, read_at: now_ms() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> TimelineQuery {
        TimelineQuery::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn parse_query_names_the_bad_field() {
        let cases = [
            (("since", "2026-13-01"), "since"),
            (("until", "tomorrow"), "until"),
            (("monitor", "abc"), "monitor"),
            (("reaction", "1.5"), "reaction"),
            (("kind", "scale_sideways"), "kind"),
            (("outcome", "great"), "outcome"),
            (("tz", "9999"), "tz"),
            (("before", "yesterday"), "before"),
        ];
        for ((name, value), field) in cases {
            let error = parse_query(&query(&[(name, value)])).expect_err(name);
            assert_eq!(error.field(), Some(field), "{name}={value}");
            assert!(error.to_string().contains(value), "{name}: {error}");
        }
    }

    #[test]
    fn parse_query_reads_times_in_the_viewers_zone() {
        let parsed = parse_query(&query(&[("since", "2026-12-04T23:31"), ("tz", "60")])).unwrap();
        assert_eq!(parsed.filter.since, Some(1_796_423_460_000));
        assert_eq!(parsed.offset_minutes, 60);
    }

    #[test]
    fn parse_query_rejects_reversed_range() {
        let error = parse_query(&query(&[("since", "2026-12-05"), ("until", "2026-12-04")]))
            .expect_err("reversed range");
        assert_eq!(error.field(), Some("until"));
    }

    #[test]
    fn parse_query_empty_is_unfiltered() {
        let parsed = parse_query(&TimelineQuery::default()).unwrap();
        assert_eq!(parsed.filter, ExecutionFilter::default());
        assert_eq!(parsed.before, None);
    }
}
