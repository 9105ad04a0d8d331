//! Export and import of configuration files. An import checks the whole
//! file first (with the same validation as the pages, Heroku's live state
//! included) and only then writes, so an invalid file changes nothing.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Action, Change, FileFormat, ImportReport};
use crate::accounts::Role;
use crate::accounts::ssr::Caller;
use crate::error::AppError;
use crate::monitors::Monitor;
use crate::monitors::spec::MonitorSpec;
use crate::monitors::ssr::{self as monitors, form_of};
use crate::reactions::spec::ReactionSpec;
use crate::reactions::ssr as reactions;
use crate::state::AppState;
use crate::storage::monitors::{self as monitors_store, MonitorDraft, MonitorRecord};
use crate::storage::reactions::{self as reactions_store, ReactionDraft, ReactionRecord};

/// The file format's version; files of other versions are rejected.
pub const VERSION: u32 = 1;

/// Written in place of header values that look like credentials. An import
/// keeps the stored value of such a header.
pub const REDACTED: &str = "<redacted>";

/// A configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Always 1.
    pub version: u32,
    #[serde(default)]
    pub monitors: Vec<MonitorSpec>,
    /// Reactions name their monitor by name and their connection by the
    /// Heroku account's email.
    #[serde(default)]
    pub reactions: Vec<ReactionSpec>,
}

pub fn parse_format(field: &str, raw: &str) -> Result<FileFormat, AppError> {
    if raw.trim().is_empty() {
        return Ok(FileFormat::Yaml);
    }
    FileFormat::parse(raw).ok_or_else(|| {
        AppError::invalid(field, format!("Format {raw:?} is unknown; use yaml or json."))
    })
}

/// Returns whether a request header's value is likely a credential.
fn is_sensitive_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    ["authorization", "cookie"].contains(&name.as_str())
        || ["token", "secret", "key", "password", "auth", "session"]
            .iter()
            .any(|part| name.contains(part))
}

fn redact(headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .map(|line| match line.split_once(':') {
            Some((name, _)) if is_sensitive_header(name) => format!("{name}: {REDACTED}"),
            _ => line.clone(),
        })
        .collect()
}

/// Lists every monitor of the team, by name.
async fn all_monitors(state: &AppState, team_id: i64) -> Result<Vec<MonitorRecord>, AppError> {
    const PAGE: u32 = 500;
    let mut all: Vec<MonitorRecord> = Vec::new();
    loop {
        let after = all.last().map(|last| (last.monitor.name.clone(), last.monitor.id));
        let page = monitors_store::list(
            &state.db,
            team_id,
            None,
            after.as_ref().map(|(name, id)| (name.as_str(), *id)),
            PAGE,
        )
        .await
        .map_err(|error| AppError::internal("listing monitors failed", error))?;
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

fn monitor_spec(monitor: &Monitor) -> MonitorSpec {
    MonitorSpec::from_form(&form_of(monitor), monitor.settings.kind())
}

/// Reads the team's monitors and reactions into a configuration file's
/// contents.
pub async fn export(state: &AppState, caller: &Caller) -> Result<TeamConfig, AppError> {
    caller.require(Role::Viewer)?;
    let monitors = all_monitors(state, caller.team_id)
        .await?
        .iter()
        .map(|record| {
            let mut spec = monitor_spec(&record.monitor);
            spec.headers = redact(&spec.headers);
            spec
        })
        .collect();
    let reactions = reactions_store::list(&state.db, caller.team_id)
        .await
        .map_err(|error| AppError::internal("listing reactions failed", error))?
        .iter()
        .map(|record| ReactionSpec::of(&record.reaction).by_name())
        .collect();
    Ok(TeamConfig { version: VERSION, monitors, reactions })
}

pub fn render(config: &TeamConfig, format: FileFormat) -> Result<String, AppError> {
    match format {
        FileFormat::Yaml => yaml_serde::to_string(config)
            .map_err(|error| AppError::internal("writing YAML failed", error)),
        FileFormat::Json => serde_json::to_string_pretty(config)
            .map(|mut text| {
                text.push('\n');
                text
            })
            .map_err(|error| AppError::internal("writing JSON failed", error)),
    }
}

/// Builds an error about the file at `line` (one-based), if known.
fn file_error(line: Option<usize>, field: &str, message: &str) -> AppError {
    let place = match line {
        Some(line) => format!("Line {line}"),
        None => "The file".to_string(),
    };
    let field = if field.is_empty() { "file" } else { field };
    AppError::invalid(field, format!("{place}, {field}: {message}"))
}

/// Splits a serde message `monitors[0].port: invalid type …` into the path
/// and the rest.
fn split_path(message: &str) -> (String, String) {
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => (String::new(), message.to_string()),
    }
}

/// Strips serde's own "at line L column C" from a message that is shown
/// with its line already.
fn without_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Parses a file; without `format`, a file starting with `{` is JSON.
pub fn parse(text: &str, format: Option<FileFormat>) -> Result<TeamConfig, AppError> {
    let format = format.unwrap_or(if text.trim_start().starts_with('{') {
        FileFormat::Json
    } else {
        FileFormat::Yaml
    });
    let parsed = match format {
        FileFormat::Yaml => yaml_serde::from_str::<TeamConfig>(text).map_err(|error| {
            let line = error.location().map(|location| location.line());
            (line, without_position(&error.to_string()))
        }),
        FileFormat::Json => serde_json::from_str::<TeamConfig>(text).map_err(|error| {
            let line = (error.line() > 0).then_some(error.line());
            (line, without_position(&error.to_string()))
        }),
    };
    let config = parsed.map_err(|(line, message)| {
        let (path, rest) = split_path(&message);
        file_error(line, &path, &rest)
    })?;
    if config.version != VERSION {
        return Err(file_error(
            locate_key(text, 0, "version"),
            "version",
            &format!(
                "version {} is not supported; this Rebound reads version {VERSION}.",
                config.version
            ),
        ));
    }
    Ok(config)
}

/// Returns whether `line` declares `key` (`key:` in YAML, `"key":` in JSON).
fn declares(line: &str, key: &str) -> bool {
    let line = line.trim_start().trim_start_matches('-').trim_start();
    let line = line.strip_prefix('"').map_or(line, |rest| rest);
    line.strip_prefix(key).is_some_and(|rest| {
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        rest.trim_start().starts_with(':')
    })
}

/// Line (one-based) of the first line from `from` (zero-based) that
/// declares `key`.
fn locate_key(text: &str, from: usize, key: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, line)| declares(line, key))
        .map(|(index, _)| index + 1)
}

/// Finds the line of `field` in entry `index` of `section` (`monitors` or
/// `reactions`), or of the entry itself. Every entry has one `name` key, so
/// the `name` keys after the section's key mark its entries.
fn locate(text: &str, section: &str, index: usize, field: &str) -> Option<usize> {
    let section_line = locate_key(text, 0, section)?;
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<usize> =
        (section_line..lines.len()).filter(|&line| declares(lines[line], "name")).collect();
    let entry = *names.get(index)?;
    if field.is_empty() || field == "name" {
        return Some(entry + 1);
    }
    // Keys after `name` up to the next entry's `name`, then keys before it
    // back to where the entry starts (`- ` in YAML, `{` in JSON).
    let end = names.get(index + 1).copied().unwrap_or(lines.len());
    let after = (entry..end).find(|&line| declares(lines[line], field));
    let before = || {
        if lines[entry].trim_start().starts_with('-') {
            return None;
        }
        let start = if index == 0 { section_line } else { names[index - 1] + 1 };
        for line in (start..entry).rev() {
            if declares(lines[line], field) {
                return Some(line);
            }
            let trimmed = lines[line].trim_start();
            if trimmed.starts_with('-') || trimmed.starts_with('{') {
                return None;
            }
        }
        None
    };
    Some(after.or_else(before).unwrap_or(entry) + 1)
}

/// Re-labels a validation error of entry `index` of `section` with its path
/// and line. Form fields that differ from the file's are renamed.
fn entry_error(text: &str, section: &str, index: usize, error: AppError) -> AppError {
    let AppError::Invalid { field, message } = &error else {
        return error;
    };
    let field = match field.as_str() {
        "monitor_id" => "monitor",
        "app" => "app",
        other => other,
    };
    let line = locate(text, section, index, field);
    let path = if field.is_empty() {
        format!("{section}[{index}]")
    } else {
        format!("{section}[{index}].{field}")
    };
    file_error(line, &path, message)
}

/// Top-level keys whose values differ between two serialised objects.
fn changed_fields<A: Serialize, B: Serialize>(old: &A, new: &B) -> Vec<String> {
    let to_map = |value: serde_json::Result<serde_json::Value>| match value {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let old: BTreeMap<String, serde_json::Value> = to_map(serde_json::to_value(old));
    let new: BTreeMap<String, serde_json::Value> = to_map(serde_json::to_value(new));
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|key| old.get(*key) != new.get(*key)).cloned().collect()
}

fn stored_draft(record: &MonitorRecord) -> MonitorDraft {
    MonitorDraft {
        name: record.monitor.name.clone(),
        settings: record.monitor.settings.clone(),
        interval_secs: record.monitor.interval_secs,
        fail_after: record.monitor.fail_after,
        recover_after: record.monitor.recover_after,
    }
}

/// Puts the stored values back into headers the file marks as redacted.
fn restore_headers(
    spec: &mut MonitorSpec,
    existing: Option<&MonitorRecord>,
) -> Result<(), AppError> {
    let stored = existing.map(|record| monitor_spec(&record.monitor).headers).unwrap_or_default();
    for line in &mut spec.headers {
        let Some((name, value)) = line.split_once(':') else { continue };
        if value.trim() != REDACTED {
            continue;
        }
        let kept = stored.iter().find(|stored_line| {
            stored_line.split_once(':').is_some_and(|(stored_name, _)| {
                stored_name.trim().eq_ignore_ascii_case(name.trim())
            })
        });
        match kept {
            Some(kept) => *line = kept.clone(),
            None => {
                return Err(AppError::invalid(
                    "headers",
                    format!(
                        "Header {} is {REDACTED} in this file and the monitor has no stored value for it; write the value.",
                        name.trim()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A monitor of the file, checked.
struct PlannedMonitor {
    form: crate::monitors::MonitorForm,
    existing: Option<i64>,
    action: Action,
}

/// A reaction of the file, checked.
struct PlannedReaction {
    spec: ReactionSpec,
    existing: Option<i64>,
    action: Action,
}

fn duplicate_names<'a>(names: impl Iterator<Item = &'a str>) -> Option<(usize, &'a str)> {
    let mut seen = HashSet::new();
    names.enumerate().find(|(_, name)| !seen.insert(name.trim()))
}

/// Checks a file against the caller's team and applies it unless `dry_run`.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    text: &str,
    format: Option<FileFormat>,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    caller.require(Role::Editor)?;
    let config = parse(text, format)?;
    if let Some((index, name)) =
        duplicate_names(config.monitors.iter().map(|spec| spec.name.as_str()))
    {
        return Err(entry_error(
            text,
            "monitors",
            index,
            AppError::invalid("name", format!("Monitor {name:?} appears twice in the file.")),
        ));
    }
    if let Some((index, name)) =
        duplicate_names(config.reactions.iter().map(|spec| spec.name.as_str()))
    {
        return Err(entry_error(
            text,
            "reactions",
            index,
            AppError::invalid("name", format!("Reaction {name:?} appears twice in the file.")),
        ));
    }

    let stored_monitors = all_monitors(state, caller.team_id).await?;
    let mut changes = Vec::new();
    let mut planned_monitors = Vec::new();
    for (index, spec) in config.monitors.iter().enumerate() {
        let existing =
            stored_monitors.iter().find(|record| record.monitor.name == spec.name.trim());
        let planned = plan_monitor(state, spec.clone(), existing)
            .map_err(|error| entry_error(text, "monitors", index, error))?;
        changes.push(Change {
            object: "monitor".into(),
            name: spec.name.trim().to_string(),
            action: planned.0.action,
            fields: planned.1,
        });
        planned_monitors.push(planned.0);
    }
    let file_monitors: HashSet<&str> =
        config.monitors.iter().map(|spec| spec.name.trim()).collect();

    let stored_reactions = reactions_store::list(&state.db, caller.team_id)
        .await
        .map_err(|error| AppError::internal("listing reactions failed", error))?;
    let mut planned_reactions = Vec::new();
    for (index, spec) in config.reactions.iter().enumerate() {
        let existing =
            stored_reactions.iter().find(|record| record.reaction.name == spec.name.trim());
        let (planned, fields) =
            plan_reaction(state, caller, spec, existing, &stored_monitors, &file_monitors)
                .await
                .map_err(|error| entry_error(text, "reactions", index, error))?;
        changes.push(Change {
            object: "reaction".into(),
            name: spec.name.trim().to_string(),
            action: planned.action,
            fields,
        });
        planned_reactions.push(planned);
    }
    if dry_run {
        return Ok(ImportReport { dry_run, changes });
    }

    // NOTE: a write that fails here (Heroku unreachable, a name taken
    // meanwhile) leaves the objects before it applied. The error names the
    // object, and importing the file again finishes the rest.
    for planned in planned_monitors {
        match (planned.action, planned.existing) {
            (Action::Create, _) => {
                monitors::create(state, caller, planned.form).await?;
            }
            (Action::Update, Some(id)) => monitors::update(state, caller, id, planned.form).await?,
            _ => {}
        }
    }
    for planned in planned_reactions {
        if planned.action == Action::Unchanged {
            continue;
        }
        let form = reactions::resolve_spec(state, caller, &planned.spec).await?;
        match planned.existing {
            None => {
                reactions::create(state, caller, form).await?;
            }
            Some(id) => reactions::update(state, caller, id, form).await?,
        }
    }
    tracing::info!(team.id = caller.team_id, changes = changes.len(), "configuration imported");
    Ok(ImportReport { dry_run, changes })
}

/// Validates one monitor of the file against the stored one of that name.
fn plan_monitor(
    state: &AppState,
    mut spec: MonitorSpec,
    existing: Option<&MonitorRecord>,
) -> Result<(PlannedMonitor, Vec<String>), AppError> {
    restore_headers(&mut spec, existing)?;
    let form = spec.to_form();
    let draft = monitors::validate(&form, state.prober.options())?;
    let Some(existing) = existing else {
        return Ok((PlannedMonitor { form, existing: None, action: Action::Create }, Vec::new()));
    };
    if existing.monitor.settings.kind() != draft.settings.kind() {
        return Err(AppError::invalid(
            "kind",
            format!(
                "Monitor {:?} is a {} monitor; a monitor's kind cannot change. Rename one of them.",
                draft.name,
                existing.monitor.settings.kind().as_str()
            ),
        ));
    }
    if stored_draft(existing) == draft {
        return Ok((
            PlannedMonitor { form, existing: Some(existing.monitor.id), action: Action::Unchanged },
            Vec::new(),
        ));
    }
    let fields = changed_fields(
        &monitor_spec(&existing.monitor),
        &monitor_spec(&monitors::unsaved_monitor(&draft)),
    );
    Ok((
        PlannedMonitor { form, existing: Some(existing.monitor.id), action: Action::Update },
        fields,
    ))
}

/// Validates one reaction of the file, Heroku's live state included,
/// against the stored one of that name.
async fn plan_reaction(
    state: &AppState,
    caller: &Caller,
    spec: &ReactionSpec,
    existing: Option<&ReactionRecord>,
    stored_monitors: &[MonitorRecord],
    file_monitors: &HashSet<&str>,
) -> Result<(PlannedReaction, Vec<String>), AppError> {
    let monitor_name = spec.monitor.as_deref().map(str::trim);
    let stored_monitor = monitor_name
        .and_then(|name| stored_monitors.iter().find(|record| record.monitor.name == name));
    let checked = match (spec.monitor_id, stored_monitor, monitor_name) {
        // The monitor is new in this file: everything but its id can be
        // checked now.
        (None, None, Some(name)) if file_monitors.contains(name) => {
            let connection_id = reactions::resolve_connection(state, caller, spec).await?;
            reactions::check_fields(state, caller, &spec.to_form(0, connection_id)).await?
        }
        _ => {
            let form = reactions::resolve_spec(state, caller, spec).await?;
            reactions::check_form(state, caller, &form).await?
        }
    };

    let Some(existing) = existing else {
        let planned =
            PlannedReaction { spec: spec.clone(), existing: None, action: Action::Create };
        return Ok((planned, Vec::new()));
    };
    let stored = stored_reaction_draft(existing);
    let mut draft = checked.draft;
    // A monitor created by this import has no id yet; it differs from the
    // stored one, whose monitor has another name.
    if draft.monitor_id == 0 {
        draft.monitor_id = -1;
    }

    if stored == draft {
        let planned = PlannedReaction {
            spec: spec.clone(),
            existing: Some(existing.reaction.id),
            action: Action::Unchanged,
        };
        return Ok((planned, Vec::new()));
    }
    let monitor_renamed =
        monitor_name.is_some_and(|name| name != existing.reaction.monitor_name.as_str());
    let fields = reaction_fields(&stored, &draft, monitor_renamed);
    let planned = PlannedReaction {
        spec: spec.clone(),
        existing: Some(existing.reaction.id),
        action: Action::Update,
    };
    Ok((planned, fields))
}

fn stored_reaction_draft(record: &ReactionRecord) -> ReactionDraft {
    let reaction = &record.reaction;
    ReactionDraft {
        name: reaction.name.clone(),
        monitor_id: reaction.monitor_id,
        connection_id: reaction.connection_id.unwrap_or_default(),
        app_name: reaction.app_name.clone(),
        call_on: reaction.call_on,
        settings: reaction.settings.clone(),
        trigger_count: reaction.trigger_count,
        frequency_secs: reaction.frequency_secs,
        dry_run: reaction.dry_run,
        enabled: reaction.enabled,
    }
}

/// Lists the file's names of the settings that differ between two drafts.
fn reaction_fields(old: &ReactionDraft, new: &ReactionDraft, monitor_renamed: bool) -> Vec<String> {
    let mut fields = Vec::new();
    let mut differs = |changed: bool, field: &str| {
        if changed {
            fields.push(field.to_string());
        }
    };
    differs(old.monitor_id != new.monitor_id || monitor_renamed, "monitor");
    differs(old.connection_id != new.connection_id, "connection");
    differs(old.app_name != new.app_name, "app");
    differs(old.call_on != new.call_on, "call_on");
    differs(old.trigger_count != new.trigger_count, "trigger_count");
    differs(old.frequency_secs != new.frequency_secs, "frequency_secs");
    differs(old.dry_run != new.dry_run, "dry_run");
    differs(old.enabled != new.enabled, "enabled");
    if old.settings.kind() != new.settings.kind() {
        fields.push("kind".into());
    } else if old.settings != new.settings {
        fields.extend(
            changed_fields(&old.settings, &new.settings)
                .into_iter()
                .filter(|field| field != "kind"),
        );
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "version: 1\nmonitors:\n- name: checkout\n  kind: http\n  url: https://shop.example.com/health\n  interval_secs: 30\n- name: nightly\n  kind: heartbeat\n  grace_secs: 5000\nreactions:\n- name: scale web\n  kind: scale_out\n  monitor: checkout\n  connection: ops@example.com\n  app: shop\n  call_on: failed\n  process_type: web\n  max_quantity: 3\n";

    #[test]
    fn keys_are_located_per_entry() {
        assert_eq!(locate(YAML, "monitors", 0, "url"), Some(5));
        assert_eq!(locate(YAML, "monitors", 1, "grace_secs"), Some(9));
        assert_eq!(locate(YAML, "monitors", 1, "url"), Some(7));
        assert_eq!(locate(YAML, "reactions", 0, "max_quantity"), Some(18));
        assert_eq!(locate(YAML, "reactions", 0, ""), Some(11));
        let json = serde_json::to_string_pretty(&parse(YAML, None).unwrap()).unwrap();
        let line = locate(&json, "monitors", 1, "grace_secs").unwrap();
        assert!(json.lines().nth(line - 1).unwrap().contains("\"grace_secs\": 5000"), "{json}");
    }

    #[test]
    fn parse_errors_name_line_and_field() {
        let typo = YAML.replace("interval_secs: 30", "interval_sec: 30");
        let error = parse(&typo, None).unwrap_err();
        let AppError::Invalid { field, message } = &error else { panic!("{error:?}") };
        assert_eq!(field, "monitors[0]");
        assert!(
            message.starts_with("Line 6, monitors[0]: unknown field `interval_sec`"),
            "{message}"
        );

        let wrong_type = YAML.replace("max_quantity: 3", "max_quantity: three");
        let message = parse(&wrong_type, None).unwrap_err().to_string();
        assert!(
            message.starts_with("Line 18, reactions[0].max_quantity: invalid type"),
            "{message}"
        );

        let json = r#"{"version": 1, "monitors": [{"name": "a", "kind": "ping"}]}"#;
        let error = parse(json, None).unwrap_err().to_string();
        assert!(error.starts_with("Line 1, file: unknown variant `ping`"), "{error}");

        let version = YAML.replace("version: 1", "version: 2");
        let error = parse(&version, Some(FileFormat::Yaml)).unwrap_err();
        assert_eq!(error.field(), Some("version"));
        assert!(error.to_string().starts_with("Line 1, version:"), "{error}");
    }

    #[test]
    fn validation_errors_point_at_the_entry_field() {
        let error = entry_error(
            YAML,
            "monitors",
            1,
            AppError::invalid(
                "grace_secs",
                "Grace period must be between 0 and 3600 s; got 5000 s.",
            ),
        );
        assert_eq!(error.field(), Some("monitors[1].grace_secs"));
        assert_eq!(
            error.to_string(),
            "Line 9, monitors[1].grace_secs: Grace period must be between 0 and 3600 s; got 5000 s."
        );
        let error =
            entry_error(YAML, "reactions", 0, AppError::invalid("monitor_id", "no such monitor"));
        assert_eq!(error.field(), Some("reactions[0].monitor"));
    }

    #[test]
    fn credentials_in_headers_are_redacted() {
        let headers = vec![
            "Authorization: Bearer abc".to_string(),
            "X-Api-Key: 123".to_string(),
            "Accept: text/plain".to_string(),
        ];
        assert_eq!(
            redact(&headers),
            ["Authorization: <redacted>", "X-Api-Key: <redacted>", "Accept: text/plain"]
        );
    }

    #[test]
    fn duplicates_are_found() {
        assert_eq!(duplicate_names(["a", "b", "a"].into_iter()), Some((2, "a")));
        assert_eq!(duplicate_names(["a", "b"].into_iter()), None);
    }
}
