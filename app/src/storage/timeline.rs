//! The timeline: a team's executions and monitor state changes merged into
//! one newest-first list, paged by a cursor that spans both streams.

use sqlx::FromRow;

use super::reactions::{EXECUTION_COLUMNS, ExecutionRow};
use super::{Db, with_db};
use crate::monitors::MonitorState;
use crate::reactions::{Execution, ExecutionFilter, ExecutionOutcome, ReactionKind};
use crate::timeline::{MonitorEvent, TimelineCursor, TimelineEntry};

/// Appends ` AND column = value` for each set field of an
/// [`ExecutionFilter`] to a query builder over `executions`; a macro because
/// the builder type differs per backend.
macro_rules! push_execution_filter {
    ($query:expr, $filter:expr) => {{
        let filter: &ExecutionFilter = $filter;
        if let Some(app) = &filter.app {
            $query.push(" AND app_name = ").push_bind(app.clone());
        }
        if let Some(monitor_id) = filter.monitor_id {
            $query.push(" AND monitor_id = ").push_bind(monitor_id);
        }
        if let Some(reaction_id) = filter.reaction_id {
            $query.push(" AND reaction_id = ").push_bind(reaction_id);
        }
        if let Some(kind) = filter.kind {
            $query.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(outcome) = filter.outcome {
            $query.push(" AND outcome = ").push_bind(outcome.as_str());
        }
        if let Some(since) = filter.since {
            $query.push(" AND started_at >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            $query.push(" AND started_at < ").push_bind(until);
        }
    }};
}
/// Returns whether a filter can match state changes. Kind and outcome are facts of
/// executions alone, so a filter on either shows executions only.
pub fn includes_state_changes(filter: &ExecutionFilter) -> bool {
    filter.kind.is_none() && filter.outcome.is_none()
}

/// Reads one page of the timeline after `before`, newest first, and the
/// cursor of the next page when there may be one.
///
/// Each stream is read up to `limit` rows past the cursor and the two are
/// merged in [`TimelineCursor`] order. Whatever the merge leaves out sorts
/// after the page's last entry, so the next page reads it again.
pub async fn page(
    db: &Db,
    team_id: i64,
    filter: &ExecutionFilter,
    before: Option<TimelineCursor>,
    limit: u32,
) -> sqlx::Result<(Vec<TimelineEntry>, Option<TimelineCursor>)> {
    let executions = executions_before(db, team_id, filter, before, limit).await?;
    let changes = if includes_state_changes(filter) {
        state_changes_before(db, team_id, filter, before, limit).await?
    } else {
        Vec::new()
    };
    let mut entries: Vec<TimelineEntry> = executions
        .into_iter()
        .map(TimelineEntry::Execution)
        .chain(changes.into_iter().map(TimelineEntry::StateChange))
        .collect();
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.cursor()));
    entries.truncate(limit as usize);
    // A full page may have a successor; the last page may also be full, so
    // the page after it can be empty.
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(TimelineEntry::cursor))
        .flatten();
    Ok((entries, next))
}

/// Reads a team's executions that sort after `before`, newest first.
pub async fn executions_before(
    db: &Db,
    team_id: i64,
    filter: &ExecutionFilter,
    before: Option<TimelineCursor>,
    limit: u32,
) -> sqlx::Result<Vec<Execution>> {
    let rows: Vec<ExecutionRow> = with_db!(db, pool => {
        let mut query = sqlx::QueryBuilder::new(format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE team_id = "));
        query.push_bind(team_id);
        push_execution_filter!(query, filter);
        match before {
            // At one instant an execution sorts before (newer than) a state
            // change, so after a state change only older executions remain.
            Some(cursor) if cursor.state_change => {
                query.push(" AND started_at < ").push_bind(cursor.at);
            }
            Some(cursor) => {
                query.push(" AND started_at <= ").push_bind(cursor.at);
                query.push(" AND (started_at < ").push_bind(cursor.at);
                query.push(" OR id < ").push_bind(cursor.id).push(")");
            }
            None => {}
        }
        query.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
        query.build_query_as().fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Execution::from).collect())
}

#[derive(Debug, FromRow)]
struct MonitorEventRow {
    id: i64,
    monitor_id: i64,
    monitor_name: String,
    from_state: String,
    to_state: String,
    reason: Option<String>,
    changed_at: i64,
}

/// Reads a team's monitor state changes that sort after `before`, newest
/// first.
/// The app and reaction filters select the monitors of the team's
/// reactions on that app, or of that reaction.
pub async fn state_changes_before(
    db: &Db,
    team_id: i64,
    filter: &ExecutionFilter,
    before: Option<TimelineCursor>,
    limit: u32,
) -> sqlx::Result<Vec<MonitorEvent>> {
    let rows: Vec<MonitorEventRow> = with_db!(db, pool => {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT sc.id, sc.monitor_id, m.name AS monitor_name, sc.from_state, sc.to_state, sc.reason, \
             sc.changed_at FROM monitor_state_changes sc JOIN monitors m ON m.id = sc.monitor_id \
             WHERE m.team_id = ",
        );
        query.push_bind(team_id);
        if let Some(monitor_id) = filter.monitor_id {
            query.push(" AND sc.monitor_id = ").push_bind(monitor_id);
        }
        if let Some(app) = &filter.app {
            query.push(" AND sc.monitor_id IN (SELECT monitor_id FROM reactions WHERE team_id = ");
            query.push_bind(team_id).push(" AND app_name = ").push_bind(app.clone()).push(")");
        }
        if let Some(reaction_id) = filter.reaction_id {
            query.push(" AND sc.monitor_id IN (SELECT monitor_id FROM reactions WHERE team_id = ");
            query.push_bind(team_id).push(" AND id = ").push_bind(reaction_id).push(")");
        }
        if let Some(since) = filter.since {
            query.push(" AND sc.changed_at >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            query.push(" AND sc.changed_at < ").push_bind(until);
        }
        match before {
            Some(cursor) if cursor.state_change => {
                query.push(" AND sc.changed_at <= ").push_bind(cursor.at);
                query.push(" AND (sc.changed_at < ").push_bind(cursor.at);
                query.push(" OR sc.id < ").push_bind(cursor.id).push(")");
            }
            // Every state change at the execution's instant sorts after it.
            Some(cursor) => {
                query.push(" AND sc.changed_at <= ").push_bind(cursor.at);
            }
            None => {}
        }
        query.push(" ORDER BY sc.changed_at DESC, sc.id DESC LIMIT ").push_bind(i64::from(limit));
        query.build_query_as().fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| MonitorEvent {
            id: row.id,
            monitor_id: row.monitor_id,
            monitor_name: row.monitor_name,
            from: MonitorState::parse(&row.from_state).unwrap_or(MonitorState::Pending),
            to: MonitorState::parse(&row.to_state).unwrap_or(MonitorState::Pending),
            reason: row.reason,
            changed_at: row.changed_at,
        })
        .collect())
}

/// Reads the scaling steps that succeeded on one app, oldest first: the
/// newest `limit` within `[since, until)`. The dyno chart is drawn from them.
pub async fn scaling_history(
    db: &Db,
    team_id: i64,
    app: &str,
    since: Option<i64>,
    until: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<Execution>> {
    let kinds = [
        ReactionKind::ScaleOut,
        ReactionKind::ScaleIn,
        ReactionKind::ScaleUp,
        ReactionKind::ScaleDown,
    ];
    // One query per kind: each reads the newest `limit` rows of one range of
    // the (team, app, kind, started_at) index in order. A single `kind IN`
    // query would collect and sort every matching row of the app first.
    let mut rows: Vec<ExecutionRow> = Vec::new();
    for kind in kinds {
        let of_kind: Vec<ExecutionRow> = with_db!(db, pool => {
            let mut query = sqlx::QueryBuilder::new(format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE team_id = "));
            query.push_bind(team_id);
            query.push(" AND app_name = ").push_bind(app.to_string());
            query.push(" AND kind = ").push_bind(kind.as_str());
            query.push(" AND outcome = ").push_bind(ExecutionOutcome::Succeeded.as_str());
            if let Some(since) = since {
                query.push(" AND started_at >= ").push_bind(since);
            }
            if let Some(until) = until {
                query.push(" AND started_at < ").push_bind(until);
            }
            query.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
            query.build_query_as().fetch_all(pool).await
        })?;
        rows.extend(of_kind);
    }
    let mut executions: Vec<Execution> = rows.into_iter().map(Execution::from).collect();
    executions.sort_by_key(|execution| std::cmp::Reverse((execution.started_at, execution.id)));
    executions.truncate(limit as usize);
    executions.reverse();
    Ok(executions)
}
