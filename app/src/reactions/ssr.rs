//! Server side of reactions: validation against the app's live state, the
//! preview, and the server functions.

use super::engine::{LiveData, fetch_live};
use super::plan::{LiveState, Plan, plan};
use super::settings::*;
use super::spec::ReactionSpec;
use super::*;
use crate::accounts::Role;
use crate::accounts::ssr::{Caller, require_role};
use crate::connections::ConnectionState;
use crate::connections::tokens::ConnectionCredentials;
use crate::error::AppError;
use crate::heroku::sizes::{DynoSize, parse_size};
use crate::state::AppState;
use crate::storage::connections as connections_store;
use crate::storage::monitors as monitors_store;
use crate::storage::reactions::{self as store, ReactionDraft, ReactionsError};
use crate::time::now_ms;

pub const MAX_NAME_LENGTH: usize = 100;
pub const MAX_COMMAND_LENGTH: usize = 4000;

fn number(
    field: &str,
    label: &str,
    raw: &str,
    default: u32,
    low: u32,
    high: u32,
) -> Result<u32, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    // Parsed as signed, so that "-1" is reported as out of range rather
    // than as not a number.
    let value: i64 = raw
        .parse()
        .map_err(|_| AppError::invalid(field, format!("{label} {raw:?} is not a whole number.")))?;
    match u32::try_from(value) {
        Ok(value) if (low..=high).contains(&value) => Ok(value),
        _ => Err(AppError::invalid(
            field,
            format!("{label} must be between {low} and {high}; got {value}."),
        )),
    }
}

fn required_number(
    field: &str,
    label: &str,
    raw: &str,
    low: u32,
    high: u32,
) -> Result<u32, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(field, format!("{label} is required.")));
    }
    number(field, label, raw, low, low, high)
}

/// Splits the form's `<connection id>:<app name>`.
pub fn parse_app_key(raw: &str) -> Option<(i64, String)> {
    let (connection, app) = raw.trim().split_once(':')?;
    let app = app.trim();
    (!app.is_empty()).then(|| Some((connection.parse().ok()?, app.to_string())))?
}

fn size_field(field: &str, label: &str, raw: &str) -> Result<DynoSize, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(field, format!("{label} is required.")));
    }
    parse_size(raw)
        .map(|parsed| parsed.size)
        .map_err(|error| AppError::invalid(field, format!("{label}: {error}.")))
}

/// The process type's current line, or an error naming `process_type`.
fn live_process<'a>(
    live: &'a LiveData,
    process_type: &str,
) -> Result<&'a crate::heroku::types::Formation, AppError> {
    live.formation.iter().find(|entry| entry.process_type == process_type).ok_or_else(|| {
        let known: Vec<&str> =
            live.formation.iter().map(|entry| entry.process_type.as_str()).collect();
        AppError::invalid(
            "process_type",
            format!(
                "The app has no process type {process_type:?}; it has {}.",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ),
        )
    })
}

/// Checks the kind-specific fields against the app's live state.
pub fn kind_settings(
    kind: ReactionKind,
    form: &ReactionForm,
    live: &LiveData,
) -> Result<ReactionSettings, AppError> {
    let process_type = || -> Result<String, AppError> {
        let name = form.process_type.trim();
        if name.is_empty() {
            return Err(AppError::invalid("process_type", "Process type is required."));
        }
        live_process(live, name)?;
        Ok(name.to_string())
    };
    let settings = match kind {
        ReactionKind::ScaleOut => {
            let process_type = process_type()?;
            let max_quantity = required_number(
                "max_quantity",
                "Maximum dyno quantity",
                &form.max_quantity,
                1,
                1000,
            )?;
            let size =
                parse_size(&live_process(live, &process_type)?.size).map(|parsed| parsed.size);
            if let Ok(size) = size
                && max_quantity > size.max_quantity_per_type()
            {
                return Err(AppError::invalid(
                    "max_quantity",
                    format!(
                        "{process_type} runs on {size} dynos, and Heroku allows at most {} per process type; use a maximum of {} or less.",
                        size.max_quantity_per_type(),
                        size.max_quantity_per_type()
                    ),
                ));
            }
            ReactionSettings::ScaleOut { process_type, max_quantity }
        }
        ReactionKind::ScaleIn => {
            let process_type = process_type()?;
            let min_quantity = required_number(
                "min_quantity",
                "Minimum dyno quantity",
                &form.min_quantity,
                0,
                1000,
            )?;
            ReactionSettings::ScaleIn { process_type, min_quantity }
        }
        ReactionKind::ScaleUp | ReactionKind::ScaleDown => {
            let process_type = process_type()?;
            let (field, label) = if kind == ReactionKind::ScaleUp {
                ("max_size", "Maximum dyno size")
            } else {
                ("min_size", "Minimum dyno size")
            };
            let raw = if kind == ReactionKind::ScaleUp { &form.max_size } else { &form.min_size };
            let bound = size_field(field, label, raw)?;
            let current =
                parse_size(&live_process(live, &process_type)?.size).map(|parsed| parsed.size);
            if let Ok(current) = current {
                if current.rank().is_none() {
                    return Err(AppError::invalid(
                        field,
                        format!(
                            "{process_type} runs on {current} dynos, which have no larger or smaller size in their tier; move the app to Standard dynos first."
                        ),
                    ));
                }
                if bound.ladder() != current.ladder() {
                    return Err(AppError::invalid(
                        field,
                        format!(
                            "{bound} is outside the tier of {process_type}, which runs on {current}; choose a Standard or Performance size."
                        ),
                    ));
                }
            }
            if kind == ReactionKind::ScaleUp {
                ReactionSettings::ScaleUp { process_type, max_size: bound }
            } else {
                ReactionSettings::ScaleDown { process_type, min_size: bound }
            }
        }
        ReactionKind::RestartDyno => {
            let dyno_name = form.dyno_name.trim();
            if dyno_name.is_empty() {
                return Err(AppError::invalid("dyno_name", "Dyno name is required, e.g. web.1."));
            }
            let valid = dyno_name.len() <= 100
                && dyno_name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid {
                return Err(AppError::invalid(
                    "dyno_name",
                    format!("Dyno name {dyno_name:?} is invalid; dyno names look like web.1."),
                ));
            }
            ReactionSettings::RestartDyno { dyno_name: dyno_name.to_string() }
        }
        ReactionKind::RestartAll => ReactionSettings::RestartAll,
        ReactionKind::Rollback => {
            let min = required_number(
                "min_release_version",
                "Minimum release version",
                &form.min_release_version,
                1,
                u32::MAX,
            )?;
            let current = live
                .releases
                .iter()
                .filter(|release| release.current)
                .map(|release| release.version)
                .max();
            if let Some(current) = current
                && i64::from(min) > current
            {
                return Err(AppError::invalid(
                    "min_release_version",
                    format!(
                        "Minimum release v{min} is above the current release v{current}; a rollback could never run."
                    ),
                ));
            }
            ReactionSettings::Rollback { min_release_version: i64::from(min) }
        }
        ReactionKind::OneOff => {
            let command = form.command.trim_end_matches(['\r', '\n']).to_string();
            if command.trim().is_empty() {
                return Err(AppError::invalid("command", "Command is required."));
            }
            if command.chars().count() > MAX_COMMAND_LENGTH {
                return Err(AppError::invalid(
                    "command",
                    format!("Command is too long; use at most {MAX_COMMAND_LENGTH} characters."),
                ));
            }
            let size = match form.size.trim() {
                "" => None,
                raw => Some(size_field("size", "Dyno size", raw)?),
            };
            let time_to_live_secs = match form.time_to_live_secs.trim() {
                "" => None,
                raw => Some(number(
                    "time_to_live_secs",
                    "Time to live",
                    raw,
                    0,
                    1,
                    MAX_TIME_TO_LIVE_SECS,
                )?),
            };
            ReactionSettings::OneOff { command, size, time_to_live_secs }
        }
    };
    Ok(settings)
}

/// A validated form plus what validation read along the way.
pub struct Checked {
    pub draft: ReactionDraft,
    live: LiveData,
}

/// Checks every field; the app's live state comes from Heroku. Each error
/// names its field.
pub async fn check_form(
    state: &AppState,
    caller: &Caller,
    form: &ReactionForm,
) -> Result<Checked, AppError> {
    let monitor_id = parse_monitor_id(form)?;
    let monitor = monitors_store::get(&state.db, caller.team_id, monitor_id)
        .await
        .map_err(|error| AppError::internal("loading a monitor failed", error))?;
    if monitor.is_none() {
        return Err(AppError::invalid(
            "monitor_id",
            "That monitor does not exist in this team; choose another.",
        ));
    }
    check_fields(state, caller, form).await
}

fn parse_monitor_id(form: &ReactionForm) -> Result<i64, AppError> {
    form.monitor_id.trim().parse().map_err(|_| AppError::invalid("monitor_id", "Choose a monitor."))
}

/// Checks every field but whether the monitor exists, which an import that
/// also creates the monitor cannot know before it runs.
pub async fn check_fields(
    state: &AppState,
    caller: &Caller,
    form: &ReactionForm,
) -> Result<Checked, AppError> {
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Name is required."));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::invalid(
            "name",
            format!("Name is too long; use at most {MAX_NAME_LENGTH} characters."),
        ));
    }
    let kind = ReactionKind::parse(form.kind.trim())
        .ok_or_else(|| AppError::invalid("kind", "Choose what the reaction does."))?;
    let monitor_id = parse_monitor_id(form)?;
    let call_on = CallOn::parse(form.call_on.trim()).ok_or_else(|| {
        AppError::invalid("call_on", "Choose whether the reaction acts on Healthy or Failed.")
    })?;
    let trigger_count =
        number("trigger_count", "Trigger count", &form.trigger_count, 1, 1, MAX_TRIGGER_COUNT)?;
    let frequency_secs =
        number("frequency_secs", "Frequency", &form.frequency_secs, 0, 0, MAX_FREQUENCY_SECS)?;

    let (connection_id, app_name) =
        parse_app_key(&form.app).ok_or_else(|| AppError::invalid("app", "Choose a Heroku app."))?;
    let record = connections_store::find_connection(&state.db, caller.team_id, connection_id)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "app",
                "That connection does not exist in this team; choose another app.",
            )
        })?;
    if record.state != ConnectionState::Ok {
        return Err(AppError::invalid(
            "app",
            format!(
                "The Heroku connection for {} is {}; an admin must connect it again.",
                record.email,
                record.state.label().to_lowercase()
            ),
        ));
    }
    let credentials = ConnectionCredentials::new(state, record);
    let live =
        fetch_live(&credentials.api().interactive(), &app_name, kind).await.map_err(|error| {
            if error.is_not_found() {
                AppError::invalid(
                    "app",
                    format!("Heroku has no app {app_name:?} for this connection."),
                )
            } else {
                AppError::invalid(
                    "app",
                    format!("Heroku could not be asked about {app_name}: {}", error.message),
                )
            }
        })?;
    let settings = kind_settings(kind, form, &live)?;
    let draft = ReactionDraft {
        name,
        monitor_id,
        connection_id,
        app_name,
        call_on,
        settings,
        trigger_count,
        frequency_secs,
        dry_run: form.dry_run.is_some(),
        enabled: form.enabled.is_some(),
    };
    Ok(Checked { draft, live })
}

fn storage_error(name: &str, error: ReactionsError) -> AppError {
    match error {
        ReactionsError::DuplicateName => AppError::Taken {
            field: "name".into(),
            message: format!(
                "A reaction named {name:?} already exists in this team; choose another name."
            ),
        },
        ReactionsError::NotFound => AppError::NotFound("Reaction".into()),
        other => AppError::internal("reaction storage failed", other),
    }
}

/// Says in one line what a plan means for the next trigger.
pub fn describe_plan(plan: &Plan, dry_run: bool) -> String {
    match plan {
        Plan::Act { summary, .. } if dry_run => format!("Next trigger (dry run): would {summary}"),
        Plan::Act { summary, .. } => format!("Next trigger: {summary}"),
        Plan::AtBound { summary } => format!("At bound: {summary}; a trigger does nothing"),
        Plan::Refuse { reason } => format!("Cannot act: {reason}"),
    }
}

fn preview_of(settings: &ReactionSettings, live: &LiveData, dry_run: bool) -> String {
    let state = LiveState {
        formation: &live.formation,
        dynos: &live.dynos,
        releases: &live.releases,
        in_private_space: live.in_private_space(),
    };
    let mut text = describe_plan(&plan(settings, &state), dry_run);
    match settings {
        ReactionSettings::ScaleOut { max_quantity, .. } => {
            text.push_str(&format!(" (max {max_quantity})"))
        }
        ReactionSettings::ScaleIn { min_quantity, .. } => {
            text.push_str(&format!(" (min {min_quantity})"))
        }
        _ => {}
    }
    text
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    form: ReactionForm,
) -> Result<i64, AppError> {
    caller.require(Role::Editor)?;
    let checked = check_form(state, caller, &form).await?;
    let id = store::create(&state.db, caller.team_id, &checked.draft, now_ms())
        .await
        .map_err(|error| storage_error(&checked.draft.name, error))?;
    tracing::info!(reaction.id = id, team.id = caller.team_id, kind = checked.draft.settings.kind().as_str(), heroku.app = %checked.draft.app_name, "reaction created");
    Ok(id)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    form: ReactionForm,
) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    team_reaction(state, caller, id).await?;
    let checked = check_form(state, caller, &form).await?;
    store::update(&state.db, caller.team_id, id, &checked.draft, now_ms())
        .await
        .map_err(|error| storage_error(&checked.draft.name, error))?;
    tracing::info!(reaction.id = id, team.id = caller.team_id, "reaction updated");
    Ok(())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    if !store::delete(&state.db, caller.team_id, id).await? {
        return Err(AppError::NotFound("Reaction".into()));
    }
    tracing::info!(reaction.id = id, team.id = caller.team_id, "reaction deleted");
    Ok(())
}

pub async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    id: i64,
    enabled: bool,
) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    if !store::set_enabled(&state.db, caller.team_id, id, enabled, now_ms()).await? {
        return Err(AppError::NotFound("Reaction".into()));
    }
    tracing::info!(reaction.id = id, team.id = caller.team_id, enabled, "reaction switched");
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<ReactionList, AppError> {
    caller.require(Role::Viewer)?;
    let records =
        store::list(&state.db, caller.team_id).await.map_err(|error| storage_error("", error))?;
    let mut latest = store::latest_executions(&state.db, caller.team_id).await?;
    let items = records
        .into_iter()
        .map(|record| {
            let position = latest
                .iter()
                .position(|execution| execution.reaction_id == Some(record.reaction.id));
            ReactionSummary {
                last_execution: position.map(|index| latest.swap_remove(index)),
                reaction: record.reaction,
            }
        })
        .collect();
    Ok(ReactionList { items, can_edit: caller.role >= Role::Editor })
}

/// The form as the edit page shows a stored reaction.
pub fn form_of(reaction: &Reaction) -> ReactionForm {
    let connection_id = reaction.connection_id.unwrap_or_default();
    let mut form = ReactionSpec::of(reaction).to_form(reaction.monitor_id, connection_id);
    if reaction.connection_id.is_none() {
        form.app = String::new();
    }
    form
}

/// Finds the monitor and connection a spec names, in the caller's team,
/// and returns the form to check. Errors name the spec's fields.
pub async fn resolve_spec(
    state: &AppState,
    caller: &Caller,
    spec: &ReactionSpec,
) -> Result<ReactionForm, AppError> {
    caller.require(Role::Editor)?;
    let monitor_id = match (spec.monitor_id, spec.monitor.as_deref()) {
        (Some(id), _) => id,
        (None, Some(name)) => {
            monitors_store::find_id_by_name(&state.db, caller.team_id, name).await?.ok_or_else(
                || AppError::invalid("monitor", format!("The team has no monitor named {name:?}.")),
            )?
        }
        (None, None) => {
            return Err(AppError::invalid("monitor", "Name the monitor: monitor or monitor_id."));
        }
    };
    let connection_id = resolve_connection(state, caller, spec).await?;
    Ok(spec.to_form(monitor_id, connection_id))
}

/// Returns the id of the connection a spec names, by id or by email.
pub async fn resolve_connection(
    state: &AppState,
    caller: &Caller,
    spec: &ReactionSpec,
) -> Result<i64, AppError> {
    match (spec.connection_id, spec.connection.as_deref()) {
        (Some(id), _) => Ok(id),
        (None, Some(email)) => connection_by_email(state, caller, email).await,
        (None, None) => Err(AppError::invalid(
            "connection",
            "Name the Heroku connection: connection (its account email) or connection_id.",
        )),
    }
}

/// The id of the team's connection to the Heroku account `email`,
/// preferring one that works when several exist.
pub async fn connection_by_email(
    state: &AppState,
    caller: &Caller,
    email: &str,
) -> Result<i64, AppError> {
    let records = connections_store::list_connections(&state.db, caller.team_id).await?;
    let mut matching: Vec<_> =
        records.iter().filter(|record| record.email.eq_ignore_ascii_case(email.trim())).collect();
    matching.sort_by_key(|record| record.state != ConnectionState::Ok);
    matching.first().map(|record| record.id).ok_or_else(|| {
        AppError::invalid(
            "connection",
            format!("The team has no Heroku connection for {email:?}; connect that account first."),
        )
    })
}

/// Loads one of the caller's team's reactions, or `NotFound`.
async fn team_reaction(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<store::ReactionRecord, AppError> {
    store::get(&state.db, caller.team_id, id)
        .await
        .map_err(|error| storage_error("", error))?
        .ok_or_else(|| AppError::NotFound("Reaction".into()))
}

pub async fn detail(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<ReactionDetail, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_reaction(state, caller, id).await?;
    let executions = store::executions_of_reaction(&state.db, caller.team_id, id, 50).await?;
    Ok(ReactionDetail {
        form: form_of(&record.reaction),
        reaction: record.reaction,
        executions,
        blocked: record.last_block,
        can_edit: caller.role >= Role::Editor,
    })
}

pub async fn preview_saved(state: &AppState, caller: &Caller, id: i64) -> Result<String, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_reaction(state, caller, id).await?;
    let reaction = record.reaction;
    let Some(connection_id) = reaction.connection_id else {
        return Ok("Cannot act: the Heroku connection was removed".to_string());
    };
    let Some(credentials) = ConnectionCredentials::load(state, connection_id).await? else {
        return Ok("Cannot act: the Heroku connection was removed".to_string());
    };
    let live =
        fetch_live(&credentials.api().interactive(), &reaction.app_name, reaction.settings.kind())
            .await?;
    Ok(preview_of(&reaction.settings, &live, reaction.dry_run))
}

pub async fn preview_form(form: ReactionForm) -> Result<String, AppError> {
    let (state, caller) = require_role(Role::Editor).await?;
    let checked =
        check_form(&state, &caller, &ReactionForm { name: "preview".into(), ..form.clone() })
            .await?;
    Ok(preview_of(&checked.draft.settings, &checked.live, checked.draft.dry_run))
}

/// One page of the caller's team's executions, newest first, older than
/// `before`.
pub async fn executions(
    state: &AppState,
    caller: &Caller,
    filter: &ExecutionFilter,
    before: Option<ExecutionCursor>,
    limit: u32,
) -> Result<Vec<Execution>, AppError> {
    caller.require(Role::Viewer)?;
    Ok(store::list_executions(&state.db, caller.team_id, filter, before, limit).await?)
}

pub async fn execution(state: &AppState, caller: &Caller, id: i64) -> Result<Execution, AppError> {
    caller.require(Role::Viewer)?;
    store::get_execution(&state.db, caller.team_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Execution".into()))
}

pub async fn form_options(app: String) -> Result<FormOptions, AppError> {
    let (state, caller) = require_role(Role::Editor).await?;
    let monitors = monitors_store::list(&state.db, caller.team_id, None, None, 1000)
        .await
        .map_err(|error| AppError::internal("listing monitors failed", error))?
        .into_iter()
        .map(|record| MonitorChoice {
            id: record.monitor.id,
            name: record.monitor.name,
            state: record.monitor.state,
        })
        .collect();
    let mut apps = Vec::new();
    let mut app_errors = Vec::new();
    for record in connections_store::list_connections(&state.db, caller.team_id).await? {
        if record.state != ConnectionState::Ok {
            app_errors.push(format!(
                "{} needs to be connected again before its apps can be chosen.",
                record.email
            ));
            continue;
        }
        let label = record.email.clone();
        let simulated = record.kind == crate::connections::ConnectionKind::Sandbox;
        let connection_id = record.id;
        let credentials = ConnectionCredentials::new(&state, record);
        match credentials.api().interactive().apps().await {
            Ok(reply) => {
                let mut names: Vec<String> = reply.value.into_iter().map(|app| app.name).collect();
                names.sort();
                apps.extend(names.into_iter().map(|app_name| AppChoice {
                    connection_id,
                    connection_label: label.clone(),
                    simulated,
                    app_name,
                }));
            }
            Err(error) => {
                app_errors.push(format!("Apps of {label} could not be listed: {}", error.message))
            }
        }
    }
    let (live, live_error) = match parse_app_key(&app) {
        None => (None, None),
        Some((connection_id, app_name)) => {
            match connections_store::find_connection(&state.db, caller.team_id, connection_id)
                .await?
            {
                None => (None, Some("That connection does not exist in this team.".to_string())),
                Some(record) => {
                    let credentials = ConnectionCredentials::new(&state, record);
                    let api = credentials.api().interactive();
                    let (formation, dynos, releases) = tokio::join!(
                        api.formation(&app_name),
                        api.dynos(&app_name),
                        api.releases(&app_name, 1, 1),
                    );
                    match (formation, dynos, releases) {
                        (Ok(formation), Ok(dynos), Ok(releases)) => {
                            let mut dyno_names: Vec<String> =
                                dynos.value.into_iter().map(|dyno| dyno.name).collect();
                            dyno_names.sort();
                            let live = LiveApp {
                                process_types: formation
                                    .value
                                    .into_iter()
                                    .map(|entry| (entry.process_type, entry.quantity, entry.size))
                                    .collect(),
                                dynos: dyno_names,
                                current_release: releases
                                    .value
                                    .iter()
                                    .map(|release| release.version)
                                    .max(),
                            };
                            (Some(live), None)
                        }
                        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => (
                            None,
                            Some(format!(
                                "Heroku could not be asked about {app_name}: {}",
                                error.message
                            )),
                        ),
                    }
                }
            }
        }
    };
    Ok(FormOptions { monitors, apps, app_errors, live, live_error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heroku::types::{Formation, Release};

    #[test]
    fn number_reports_negative_as_out_of_range() {
        let message = |raw| match number("frequency_secs", "Frequency", raw, 0, 0, 86_400) {
            Err(AppError::Invalid { message, .. }) => message,
            other => panic!("expected an invalid-field error for {raw:?}, got {other:?}"),
        };
        assert_eq!(message("-5"), "Frequency must be between 0 and 86400; got -5.");
        assert_eq!(message("five"), "Frequency \"five\" is not a whole number.");
        assert_eq!(message("90000"), "Frequency must be between 0 and 86400; got 90000.");
        assert_eq!(number("frequency_secs", "Frequency", " 30 ", 0, 0, 86_400).ok(), Some(30));
        assert_eq!(number("frequency_secs", "Frequency", "", 7, 0, 86_400).ok(), Some(7));
    }

    fn live() -> LiveData {
        let formation = |process_type: &str, quantity: u32, size: &str| Formation {
            id: process_type.into(),
            process_type: process_type.into(),
            quantity,
            size: size.into(),
            dyno_size: None,
            command: String::new(),
            updated_at: None,
        };
        LiveData {
            formation: vec![formation("web", 2, "Standard-1X"), formation("worker", 1, "basic")],
            dynos: vec![],
            releases: vec![Release {
                id: "r42".into(),
                version: 42,
                status: "succeeded".into(),
                description: "Deploy".into(),
                current: true,
                eligible_for_rollback: Some(true),
                created_at: None,
                user: None,
            }],
        }
    }

    fn field_of(kind: ReactionKind, form: ReactionForm) -> Option<String> {
        kind_settings(kind, &form, &live())
            .err()
            .and_then(|error| error.field().map(str::to_string))
    }

    #[test]
    fn kind_fields_are_checked_against_live_state() {
        let form = |changes: fn(&mut ReactionForm)| {
            let mut form = ReactionForm { process_type: "web".into(), ..ReactionForm::default() };
            changes(&mut form);
            form
        };
        let cases: Vec<(ReactionKind, ReactionForm, &str)> = vec![
            (ReactionKind::ScaleOut, form(|f| f.max_quantity = "".into()), "max_quantity"),
            (
                ReactionKind::ScaleOut,
                form(|f| {
                    f.process_type = "clock".into();
                    f.max_quantity = "3".into()
                }),
                "process_type",
            ),
            (
                ReactionKind::ScaleOut,
                form(|f| {
                    f.process_type = "worker".into();
                    f.max_quantity = "3".into()
                }),
                "max_quantity",
            ),
            (ReactionKind::ScaleIn, form(|f| f.min_quantity = "x".into()), "min_quantity"),
            (ReactionKind::ScaleUp, form(|f| f.max_size = "huge".into()), "max_size"),
            (ReactionKind::ScaleUp, form(|f| f.max_size = "private-l".into()), "max_size"),
            (
                ReactionKind::ScaleUp,
                form(|f| {
                    f.process_type = "worker".into();
                    f.max_size = "standard-2x".into()
                }),
                "max_size",
            ),
            (ReactionKind::ScaleDown, form(|f| f.min_size = "".into()), "min_size"),
            (ReactionKind::RestartDyno, form(|f| f.dyno_name = " ".into()), "dyno_name"),
            (ReactionKind::RestartDyno, form(|f| f.dyno_name = "web 1; rm".into()), "dyno_name"),
            (
                ReactionKind::Rollback,
                form(|f| f.min_release_version = "50".into()),
                "min_release_version",
            ),
            (
                ReactionKind::Rollback,
                form(|f| f.min_release_version = "0".into()),
                "min_release_version",
            ),
            (ReactionKind::OneOff, form(|f| f.command = "  ".into()), "command"),
            (
                ReactionKind::OneOff,
                form(|f| {
                    f.command = "ls".into();
                    f.size = "9X".into()
                }),
                "size",
            ),
            (
                ReactionKind::OneOff,
                form(|f| {
                    f.command = "ls".into();
                    f.time_to_live_secs = "100000".into()
                }),
                "time_to_live_secs",
            ),
        ];
        for (kind, form, field) in cases {
            assert_eq!(field_of(kind, form.clone()).as_deref(), Some(field), "{kind:?} {form:?}");
        }
    }

    #[test]
    fn legacy_sizes_are_accepted() {
        let form = ReactionForm {
            process_type: "web".into(),
            max_size: "PX".into(),
            ..ReactionForm::default()
        };
        let settings = kind_settings(ReactionKind::ScaleUp, &form, &live()).unwrap();
        assert_eq!(
            settings,
            ReactionSettings::ScaleUp {
                process_type: "web".into(),
                max_size: DynoSize::PerformanceL
            }
        );
    }

    #[test]
    fn one_off_command_kept_as_typed() {
        let command = "bin/cleanup --since '2 days' && echo \"✓\"";
        let form = ReactionForm { command: command.into(), ..ReactionForm::default() };
        let settings = kind_settings(ReactionKind::OneOff, &form, &live()).unwrap();
        assert_eq!(
            settings,
            ReactionSettings::OneOff {
                command: command.into(),
                size: None,
                time_to_live_secs: None
            }
        );
    }

    #[test]
    fn app_keys_parse() {
        assert_eq!(parse_app_key("3:shop-web"), Some((3, "shop-web".to_string())));
        assert_eq!(parse_app_key("x:shop"), None);
        assert_eq!(parse_app_key("3:"), None);
        assert_eq!(parse_app_key(""), None);
    }
}
