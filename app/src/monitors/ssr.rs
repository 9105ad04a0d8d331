//! Server side of monitors: form validation, heartbeat URLs and the server
//! functions.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use super::chart::Point;
use super::guard::forbidden_reason;
use super::probe::ProbeOptions;
use super::schedule::first_due;
use super::settings::*;
use super::*;
use crate::accounts::Role;
use crate::accounts::ssr::{Caller, token_hash};
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::monitors::{self as store, MonitorDraft, MonitorsError};
use crate::time::now_ms;

pub const MAX_NAME_LENGTH: usize = 100;
pub const MAX_BODY_LENGTH: usize = 64 * 1024;
pub const MAX_THRESHOLD: u32 = 100;
pub const DEFAULT_GRACE_SECS: u32 = 60;
const PAGE_SIZE: u32 = 50;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn number<T: std::str::FromStr>(
    field: &str,
    label: &str,
    raw: &str,
    default: T,
) -> Result<T, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    raw.parse().map_err(|_| {
        let message = if raw.starts_with('-') && raw[1..].chars().all(|c| c.is_ascii_digit()) {
            format!("{label} cannot be negative; got {raw}.")
        } else {
            format!("{label} {raw:?} is not a whole number.")
        };
        AppError::invalid(field, message)
    })
}

fn within(
    field: &str,
    label: &str,
    value: u32,
    low: u32,
    high: u32,
    unit: &str,
) -> Result<u32, AppError> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!("{label} must be between {low} and {high}{unit}; got {value}{unit}."),
        ))
    }
}

/// Checks a submitted form and turns it into settings ready to store. Every
/// error names the field it is about.
pub fn validate(form: &MonitorForm, probe: &ProbeOptions) -> Result<MonitorDraft, AppError> {
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
    let kind = MonitorKind::parse(form.kind.trim()).ok_or_else(|| {
        AppError::invalid(
            "kind",
            "Choose a monitor kind: HTTP status, HTTP keyword, TCP port or heartbeat.",
        )
    })?;
    let interval_secs =
        number("interval_secs", "Interval", &form.interval_secs, DEFAULT_INTERVAL_SECS)?;
    let interval_secs = within(
        "interval_secs",
        "Interval",
        interval_secs,
        INTERVAL_CHOICES[0],
        INTERVAL_CHOICES[INTERVAL_CHOICES.len() - 1],
        " s",
    )?;
    let fail_after = number("fail_after", "Failures before Failed", &form.fail_after, 1)?;
    let fail_after =
        within("fail_after", "Failures before Failed", fail_after, 1, MAX_THRESHOLD, "")?;
    let recover_after =
        number("recover_after", "Successes before Healthy", &form.recover_after, 1)?;
    let recover_after =
        within("recover_after", "Successes before Healthy", recover_after, 1, MAX_THRESHOLD, "")?;

    let settings = match kind {
        MonitorKind::Http => MonitorSettings::Http(http_settings(form, interval_secs, probe)?),
        MonitorKind::Keyword => MonitorSettings::Keyword {
            http: http_settings(form, interval_secs, probe)?,
            keyword: keyword_rule(form)?,
        },
        MonitorKind::Tcp => MonitorSettings::Tcp(tcp_settings(form, interval_secs, probe)?),
        MonitorKind::Heartbeat => {
            let grace_secs =
                number("grace_secs", "Grace period", &form.grace_secs, DEFAULT_GRACE_SECS)?;
            let grace_secs = within("grace_secs", "Grace period", grace_secs, 0, 3600, " s")?;
            MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs })
        }
    };
    Ok(MonitorDraft { name, settings, interval_secs, fail_after, recover_after })
}

fn timeout_ms(form: &MonitorForm, interval_secs: u32) -> Result<u32, AppError> {
    let timeout_secs =
        number("timeout_secs", "Timeout", &form.timeout_secs, DEFAULT_TIMEOUT_MS / 1000)?;
    let high = (MAX_TIMEOUT_MS / 1000).min(interval_secs);
    let timeout_secs = within("timeout_secs", "Timeout", timeout_secs, 1, high, " s")?;
    Ok(timeout_secs * 1000)
}

/// Rejects an address literal the guard forbids, naming `field`.
fn check_literal(field: &str, host: &str, probe: &ProbeOptions) -> Result<(), AppError> {
    if probe.allow_private_targets {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = bare.parse::<IpAddr>()
        && let Some(reason) = forbidden_reason(address)
        && !probe.allowed_addresses.contains(&address)
    {
        return Err(AppError::invalid(
            field,
            format!(
                "{address} is a {reason} address, and this instance does not let monitors reach private networks. Ask the operator to allow private targets, or use a public address."
            ),
        ));
    }
    Ok(())
}

fn http_settings(
    form: &MonitorForm,
    interval_secs: u32,
    probe: &ProbeOptions,
) -> Result<HttpSettings, AppError> {
    let raw_url = form.url.trim();
    if raw_url.is_empty() {
        return Err(AppError::invalid("url", "URL is required."));
    }
    let url = url::Url::parse(raw_url).map_err(|error| {
        let message = if !raw_url.contains("://") && !raw_url.contains(char::is_whitespace) {
            format!("URL {raw_url:?} has no scheme; write it in full, e.g. http://{raw_url} or https://{raw_url}.")
        } else {
            format!("URL {raw_url:?} is invalid ({error}); use a full address like https://example.com/health.")
        };
        AppError::invalid("url", message)
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(AppError::invalid(
            "url",
            format!("URL must start with http:// or https://; got {}://.", url.scheme()),
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(AppError::invalid("url", "URL has no host name."));
    };
    check_literal("url", host, probe)?;

    let method = form.method.trim().to_ascii_uppercase();
    let method = if method.is_empty() { "GET".to_string() } else { method };
    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&method.as_str()) {
        return Err(AppError::invalid(
            "method",
            format!(
                "Method {method:?} is not supported; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS."
            ),
        ));
    }
    let headers = parse_headers(&form.headers)?;
    if form.body.len() > MAX_BODY_LENGTH {
        return Err(AppError::invalid(
            "body",
            format!("Request body is too long; use at most {} KiB.", MAX_BODY_LENGTH / 1024),
        ));
    }
    let expected_status = StatusRanges::parse(&form.expected_status).map_err(|problem| {
        AppError::invalid("expected_status", format!("Expected status codes: {problem}."))
    })?;
    let max_response_ms = match form.max_response_ms.trim() {
        "" => None,
        raw => {
            let value = number("max_response_ms", "Maximum response time", raw, 0)?;
            Some(within(
                "max_response_ms",
                "Maximum response time",
                value,
                1,
                MAX_TIMEOUT_MS,
                " ms",
            )?)
        }
    };
    Ok(HttpSettings {
        url: url.to_string(),
        method,
        headers,
        body: form.body.clone(),
        expected_status,
        timeout_ms: timeout_ms(form, interval_secs)?,
        follow_redirects: form.follow_redirects.is_some(),
        verify_tls: form.verify_tls.is_some(),
        max_response_ms,
    })
}

/// Parses one `Name: value` header per line.
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, AppError> {
    let mut headers = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let line_number = index + 1;
        let Some((name, value)) = line.split_once(':') else {
            return Err(AppError::invalid(
                "headers",
                format!(
                    "Header line {line_number} has no colon; write one header per line as Name: value."
                ),
            ));
        };
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
        if !valid_name {
            return Err(AppError::invalid(
                "headers",
                format!("Header name {name:?} on line {line_number} is invalid."),
            ));
        }
        let value = value.trim();
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(AppError::invalid(
                "headers",
                format!("Header {name} on line {line_number} contains a control character."),
            ));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    Ok(headers)
}

fn keyword_rule(form: &MonitorForm) -> Result<KeywordRule, AppError> {
    let pattern = form.keyword.clone();
    if pattern.trim().is_empty() {
        return Err(AppError::invalid("keyword", "Keyword is required."));
    }
    if pattern.chars().count() > 1000 {
        return Err(AppError::invalid(
            "keyword",
            "Keyword is too long; use at most 1000 characters.",
        ));
    }
    let regex = form.keyword_regex.is_some();
    let case_sensitive = form.case_sensitive.is_some();
    if regex && let Err(error) = regex::RegexBuilder::new(&pattern).size_limit(1 << 20).build() {
        return Err(AppError::invalid(
            "keyword",
            format!("Keyword is not a valid regular expression: {}", regex_problem(&error)),
        ));
    }
    let must_be_present = match form.keyword_mode.trim() {
        "" | "present" => true,
        "absent" => false,
        other => {
            return Err(AppError::invalid(
                "keyword_mode",
                format!("Keyword rule {other:?} is unknown; choose present or absent."),
            ));
        }
    };
    Ok(KeywordRule { pattern, regex, case_sensitive, must_be_present })
}

fn tcp_settings(
    form: &MonitorForm,
    interval_secs: u32,
    probe: &ProbeOptions,
) -> Result<TcpSettings, AppError> {
    let host = form.host.trim().to_string();
    if host.is_empty() {
        return Err(AppError::invalid("host", "Host is required."));
    }
    let valid_host = host.parse::<IpAddr>().is_ok()
        || (host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            }));
    if !valid_host {
        return Err(AppError::invalid(
            "host",
            format!("Host {host:?} is not a valid host name or IP address."),
        ));
    }
    check_literal("host", &host, probe)?;
    if form.port.trim().is_empty() {
        return Err(AppError::invalid("port", "Port is required."));
    }
    let port: u32 = number("port", "Port", &form.port, 0)?;
    if !(1..=65535).contains(&port) {
        return Err(AppError::invalid("port", "Port must be between 1 and 65535."));
    }
    Ok(TcpSettings { host, port: port as u16, timeout_ms: timeout_ms(form, interval_secs)? })
}

/// The problem a regex error names, without the pattern and caret lines the
/// regex crate draws above it (they need a fixed-width font to make sense).
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_string()
}

/// Builds a monitor with a draft's settings that was never stored, to turn
/// the draft into a form or compare it with a stored monitor.
pub fn unsaved_monitor(draft: &MonitorDraft) -> Monitor {
    Monitor {
        id: 0,
        name: draft.name.clone(),
        settings: draft.settings.clone(),
        interval_secs: draft.interval_secs,
        fail_after: draft.fail_after,
        recover_after: draft.recover_after,
        state: MonitorState::Pending,
        state_changed_at: 0,
        last_check: None,
        last_ping_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// Builds the form the edit page shows for a stored monitor.
pub fn form_of(monitor: &Monitor) -> MonitorForm {
    let checked = |on: bool| on.then(|| "on".to_string());
    let mut form = MonitorForm {
        name: monitor.name.clone(),
        kind: monitor.settings.kind().as_str().to_string(),
        interval_secs: monitor.interval_secs.to_string(),
        fail_after: monitor.fail_after.to_string(),
        recover_after: monitor.recover_after.to_string(),
        ..MonitorForm::default()
    };
    let http = match &monitor.settings {
        MonitorSettings::Http(http) => Some(http),
        MonitorSettings::Keyword { http, keyword } => {
            form.keyword = keyword.pattern.clone();
            form.keyword_mode =
                if keyword.must_be_present { "present" } else { "absent" }.to_string();
            form.keyword_regex = checked(keyword.regex);
            form.case_sensitive = checked(keyword.case_sensitive);
            Some(http)
        }
        MonitorSettings::Tcp(tcp) => {
            form.host = tcp.host.clone();
            form.port = tcp.port.to_string();
            form.timeout_secs = (tcp.timeout_ms / 1000).to_string();
            None
        }
        MonitorSettings::Heartbeat(heartbeat) => {
            form.grace_secs = heartbeat.grace_secs.to_string();
            None
        }
    };
    if let Some(http) = http {
        form.url = http.url.clone();
        form.method = http.method.clone();
        form.headers = http
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n");
        form.body = http.body.clone();
        form.expected_status = http.expected_status.to_string().replace('–', "-").replace(' ', "");
        form.timeout_secs = (http.timeout_ms / 1000).to_string();
        form.follow_redirects = checked(http.follow_redirects);
        form.verify_tls = checked(http.verify_tls);
        form.max_response_ms = http.max_response_ms.map(|ms| ms.to_string()).unwrap_or_default();
    }
    form
}

/// Computes the secret token of a heartbeat URL: an HMAC of the monitor's nonce under
/// the instance's heartbeat key. Only the nonce and the token's hash are stored.
pub fn heartbeat_token(state: &AppState, nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.secrets.heartbeat_key())
        .expect("HMAC-SHA256 accepts a 32-byte key");
    mac.update(nonce.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn random_seed() -> u64 {
    OsRng.next_u64()
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// When a new or retargeted monitor is first due: heartbeats after their
/// first period and grace, active checks spread over their first interval.
fn initial_due(draft: &MonitorDraft, now: i64) -> i64 {
    let interval_ms = i64::from(draft.interval_secs) * 1000;
    match &draft.settings {
        MonitorSettings::Heartbeat(heartbeat) => {
            now + interval_ms + i64::from(heartbeat.grace_secs) * 1000
        }
        _ => first_due(now, interval_ms, random_seed()),
    }
}

fn storage_error(name: &str, error: MonitorsError) -> AppError {
    match error {
        MonitorsError::DuplicateName => AppError::Taken {
            field: "name".into(),
            message: format!(
                "A monitor named {name:?} already exists in this team; choose another name."
            ),
        },
        MonitorsError::NotFound => AppError::NotFound("Monitor".into()),
        other => AppError::internal("monitor storage failed", other),
    }
}

pub async fn create(state: &AppState, caller: &Caller, form: MonitorForm) -> Result<i64, AppError> {
    caller.require(Role::Editor)?;
    let draft = validate(&form, state.prober.options())?;
    let now = now_ms();
    let nonce = matches!(draft.settings, MonitorSettings::Heartbeat(_)).then(random_nonce);
    let heartbeat = nonce.as_ref().map(|nonce| store::HeartbeatSecret {
        nonce: nonce.clone(),
        token_hash: token_hash(&heartbeat_token(state, nonce)),
    });
    let id = store::create(
        &state.db,
        caller.team_id,
        &draft,
        now,
        initial_due(&draft, now),
        heartbeat.as_ref(),
    )
    .await
    .map_err(|error| storage_error(&draft.name, error))?;
    tracing::info!(
        monitor.id = id,
        team.id = caller.team_id,
        kind = draft.settings.kind().as_str(),
        "monitor created"
    );
    state.monitor_wakeup.notify_one();
    Ok(id)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    form: MonitorForm,
) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    let draft = validate(&form, state.prober.options())?;
    let current = store::get(&state.db, caller.team_id, id)
        .await
        .map_err(|error| storage_error(&draft.name, error))?
        .ok_or_else(|| AppError::NotFound("Monitor".into()))?;
    if current.monitor.settings.kind() != draft.settings.kind() {
        return Err(AppError::invalid(
            "kind",
            "A monitor's kind cannot change; create a new monitor instead.",
        ));
    }
    let now = now_ms();
    store::update(&state.db, caller.team_id, id, &draft, now, initial_due(&draft, now))
        .await
        .map_err(|error| storage_error(&draft.name, error))?;
    tracing::info!(monitor.id = id, team.id = caller.team_id, "monitor updated");
    state.monitor_wakeup.notify_one();
    Ok(())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    if !store::delete(&state.db, caller.team_id, id).await? {
        return Err(AppError::NotFound("Monitor".into()));
    }
    tracing::info!(monitor.id = id, team.id = caller.team_id, "monitor deleted");
    Ok(())
}

pub async fn pause(state: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    store::pause(&state.db, caller.team_id, id, now_ms())
        .await
        .map_err(|error| storage_error("", error))?;
    tracing::info!(monitor.id = id, team.id = caller.team_id, "monitor paused");
    Ok(())
}

pub async fn resume(state: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    caller.require(Role::Editor)?;
    let record = team_monitor(state, caller, id).await?;
    let now = now_ms();
    let draft = MonitorDraft {
        name: record.monitor.name.clone(),
        settings: record.monitor.settings.clone(),
        interval_secs: record.monitor.interval_secs,
        fail_after: record.monitor.fail_after,
        recover_after: record.monitor.recover_after,
    };
    store::resume(&state.db, caller.team_id, id, now, initial_due(&draft, now))
        .await
        .map_err(|error| storage_error("", error))?;
    tracing::info!(monitor.id = id, team.id = caller.team_id, "monitor resumed");
    state.monitor_wakeup.notify_one();
    Ok(())
}

pub async fn check_now(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<CheckNowResult, AppError> {
    caller.require(Role::Editor)?;
    let record = team_monitor(state, caller, id).await?;
    if let MonitorSettings::Heartbeat(heartbeat) = &record.monitor.settings {
        let since = record.monitor.last_ping_at.unwrap_or(record.monitor.created_at);
        let deadline =
            since + i64::from(record.monitor.interval_secs + heartbeat.grace_secs) * 1000;
        let passed = now_ms() <= deadline;
        return Ok(CheckNowResult {
            passed,
            response_ms: None,
            status_code: None,
            reason: (!passed).then(|| heartbeat_missed_reason(since)),
        });
    }
    let outcome = state.prober.check(&record.monitor.settings).await;
    Ok(CheckNowResult {
        passed: outcome.passed,
        response_ms: outcome.response_ms,
        status_code: outcome.status_code,
        reason: outcome.reason,
    })
}

pub fn heartbeat_missed_reason(since: i64) -> String {
    format!("heartbeat missed since {}", crate::time::format_utc(since))
}

fn can_edit(role: Role) -> bool {
    role >= Role::Editor
}

/// Loads one of the caller's team's monitors, or `NotFound`.
async fn team_monitor(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<store::MonitorRecord, AppError> {
    store::get(&state.db, caller.team_id, id)
        .await
        .map_err(|error| storage_error("", error))?
        .ok_or_else(|| AppError::NotFound("Monitor".into()))
}

/// Returns a monitor as its page shows it. `origin` (`scheme://host[:port]`)
/// prefixes the heartbeat URL, which only editors see.
pub async fn detail(
    state: &AppState,
    caller: &Caller,
    id: i64,
    origin: &str,
) -> Result<MonitorDetail, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_monitor(state, caller, id).await?;
    let editor = can_edit(caller.role);
    let heartbeat_url = match (&record.heartbeat_nonce, editor) {
        (Some(nonce), true) => Some(format!("{origin}/ping/{}", heartbeat_token(state, nonce))),
        _ => None,
    };
    let form = form_of(&record.monitor);
    Ok(MonitorDetail { monitor: record.monitor, heartbeat_url, can_edit: editor, form })
}

fn uptime(counts: &[(i64, i64, i64)], id: i64) -> Option<f64> {
    counts
        .iter()
        .find(|(monitor_id, _, _)| *monitor_id == id)
        .filter(|(_, checks, _)| *checks > 0)
        .map(|(_, checks, failures)| (checks - failures) as f64 / *checks as f64)
}

/// Splits a list cursor `"<id>:<name>"`.
fn parse_cursor(cursor: &str) -> Option<(String, i64)> {
    let (id, name) = cursor.split_once(':')?;
    Some((name.to_string(), id.parse().ok()?))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    state_filter: String,
    after: String,
) -> Result<MonitorList, AppError> {
    caller.require(Role::Viewer)?;
    let filter = match state_filter.trim() {
        "" | "all" => None,
        other => Some(MonitorState::parse(other).ok_or_else(|| {
            AppError::invalid(
                "state",
                format!("State {other:?} is unknown; use pending, healthy, failed or paused."),
            )
        })?),
    };
    let cursor = parse_cursor(&after);
    let mut records = store::list(
        &state.db,
        caller.team_id,
        filter,
        cursor.as_ref().map(|(name, id)| (name.as_str(), *id)),
        PAGE_SIZE + 1,
    )
    .await
    .map_err(|error| storage_error("", error))?;
    let next = if records.len() > PAGE_SIZE as usize {
        records.truncate(PAGE_SIZE as usize);
        records.last().map(|last| format!("{}:{}", last.monitor.id, last.monitor.name))
    } else {
        None
    };

    let ids: Vec<i64> = records.iter().map(|record| record.monitor.id).collect();
    let now = now_ms();
    let day = store::uptime_counts(&state.db, &ids, now - DAY_MS).await?;
    let week = store::uptime_counts(&state.db, &ids, now - 7 * DAY_MS).await?;
    let month = store::uptime_counts(&state.db, &ids, now - 30 * DAY_MS).await?;
    let hours = store::hourly_series(&state.db, &ids, now - DAY_MS).await?;
    let first_hour = (now - DAY_MS) - (now - DAY_MS).rem_euclid(HOUR_MS);

    let items = records
        .into_iter()
        .map(|record| {
            let id = record.monitor.id;
            let mut sparkline = vec![None; 25];
            for (_, point) in hours.iter().filter(|(monitor_id, _)| *monitor_id == id) {
                let slot = ((point.at - first_hour) / HOUR_MS) as usize;
                if let Some(value) = sparkline.get_mut(slot) {
                    *value = point.average_ms;
                }
            }
            MonitorSummary {
                uptime_24h: uptime(&day, id),
                uptime_7d: uptime(&week, id),
                uptime_30d: uptime(&month, id),
                sparkline,
                monitor: record.monitor,
            }
        })
        .collect();
    let counts = store::count_by_state(&state.db, caller.team_id).await?;
    Ok(MonitorList { items, next, counts, can_edit: can_edit(caller.role) })
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: i64,
    range: String,
) -> Result<MonitorHistory, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_monitor(state, caller, id).await?;
    let (range, span) = HISTORY_RANGES
        .iter()
        .find(|(name, _)| *name == range.trim())
        .copied()
        .unwrap_or(HISTORY_RANGES[2]);
    let until = now_ms();
    let since = until - span;
    let monitor_id = record.monitor.id;
    // Up to six hours, every check is a point; longer ranges use hourly averages.
    let points: Vec<Point> = if span <= 6 * HOUR_MS {
        store::raw_series(&state.db, monitor_id, since, 5000).await?
    } else {
        store::hourly_series(&state.db, &[monitor_id], since)
            .await?
            .into_iter()
            .map(|(_, point)| point)
            .collect()
    }
    .into_iter()
    .map(|point| Point { at: point.at, value_ms: point.average_ms, failed: point.failures > 0 })
    .collect();
    let counts = store::uptime_counts(&state.db, &[monitor_id], since).await?;
    Ok(MonitorHistory {
        range: range.to_string(),
        since,
        until,
        points,
        uptime: uptime(&counts, monitor_id),
        checks: store::recent_checks(&state.db, monitor_id, None, 50).await?,
        changes: store::state_changes(&state.db, monitor_id, None, 50).await?,
    })
}

/// One page of a monitor's check results, newest first, older than check
/// `before`.
pub async fn checks(
    state: &AppState,
    caller: &Caller,
    id: i64,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<CheckRecord>, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_monitor(state, caller, id).await?;
    Ok(store::recent_checks(&state.db, record.monitor.id, before, limit).await?)
}

/// One page of a monitor's state changes, newest first, older than the
/// `(changed_at, id)` of `before`.
pub async fn changes(
    state: &AppState,
    caller: &Caller,
    id: i64,
    before: Option<(i64, i64)>,
    limit: u32,
) -> Result<Vec<StateChange>, AppError> {
    caller.require(Role::Viewer)?;
    let record = team_monitor(state, caller, id).await?;
    Ok(store::state_changes(&state.db, record.monitor.id, before, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> MonitorForm {
        MonitorForm {
            name: "API".into(),
            kind: kind.into(),
            url: "https://api.example.com/health".into(),
            keyword: "ok".into(),
            host: "db.example.com".into(),
            port: "5432".into(),
            verify_tls: Some("on".into()),
            follow_redirects: Some("on".into()),
            ..MonitorForm::default()
        }
    }

    fn field_of(form: &MonitorForm) -> Option<String> {
        validate(form, &ProbeOptions::default())
            .err()
            .and_then(|error| error.field().map(str::to_string))
    }

    #[test]
    fn valid_forms_for_every_kind() {
        for kind in ["http", "keyword", "tcp", "heartbeat"] {
            let draft = validate(&form(kind), &ProbeOptions::default())
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(draft.settings.kind().as_str(), kind);
            assert_eq!(draft.interval_secs, 30);
            assert_eq!(draft.fail_after, 1);
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases: Vec<(MonitorForm, &str)> = vec![
            (MonitorForm { name: " ".into(), ..form("http") }, "name"),
            (MonitorForm { kind: "ping".into(), ..form("http") }, "kind"),
            (MonitorForm { interval_secs: "5".into(), ..form("http") }, "interval_secs"),
            (MonitorForm { interval_secs: "7200".into(), ..form("http") }, "interval_secs"),
            (MonitorForm { interval_secs: "abc".into(), ..form("http") }, "interval_secs"),
            (MonitorForm { fail_after: "0".into(), ..form("http") }, "fail_after"),
            (MonitorForm { recover_after: "0".into(), ..form("http") }, "recover_after"),
            (MonitorForm { url: "".into(), ..form("http") }, "url"),
            (MonitorForm { url: "not a url".into(), ..form("http") }, "url"),
            (MonitorForm { url: "ftp://example.com".into(), ..form("http") }, "url"),
            (MonitorForm { url: "http://127.0.0.1:8080/".into(), ..form("http") }, "url"),
            (MonitorForm { url: "http://[::1]/".into(), ..form("http") }, "url"),
            (MonitorForm { method: "BREW".into(), ..form("http") }, "method"),
            (MonitorForm { headers: "no colon here".into(), ..form("http") }, "headers"),
            (MonitorForm { headers: "Bad Name: x".into(), ..form("http") }, "headers"),
            (MonitorForm { expected_status: "700".into(), ..form("http") }, "expected_status"),
            (MonitorForm { timeout_secs: "0".into(), ..form("http") }, "timeout_secs"),
            (MonitorForm { timeout_secs: "45".into(), ..form("http") }, "timeout_secs"),
            (MonitorForm { max_response_ms: "0".into(), ..form("http") }, "max_response_ms"),
            (MonitorForm { keyword: "".into(), ..form("keyword") }, "keyword"),
            (
                MonitorForm {
                    keyword: "(unclosed".into(),
                    keyword_regex: Some("on".into()),
                    ..form("keyword")
                },
                "keyword",
            ),
            (MonitorForm { keyword_mode: "maybe".into(), ..form("keyword") }, "keyword_mode"),
            (MonitorForm { host: "".into(), ..form("tcp") }, "host"),
            (MonitorForm { host: "bad host!".into(), ..form("tcp") }, "host"),
            (MonitorForm { host: "10.0.0.5".into(), ..form("tcp") }, "host"),
            (MonitorForm { port: "0".into(), ..form("tcp") }, "port"),
            (MonitorForm { port: "70000".into(), ..form("tcp") }, "port"),
            (MonitorForm { grace_secs: "4000".into(), ..form("heartbeat") }, "grace_secs"),
        ];
        for (form, field) in cases {
            assert_eq!(field_of(&form).as_deref(), Some(field), "{form:?}");
        }
    }

    #[test]
    fn private_literals_allowed_when_configured() {
        let options = ProbeOptions { allow_private_targets: true, ..ProbeOptions::default() };
        let local = MonitorForm { url: "http://127.0.0.1:8080/".into(), ..form("http") };
        assert!(validate(&local, &options).is_ok());
    }

    #[test]
    fn form_round_trips_through_settings() {
        for kind in ["http", "keyword", "tcp", "heartbeat"] {
            let mut original = form(kind);
            original.headers = "X-A: 1\nX-B: two".into();
            original.expected_status = "200-299,404".into();
            original.max_response_ms = "750".into();
            original.keyword_mode = "absent".into();
            let draft = validate(&original, &ProbeOptions::default()).unwrap();
            let monitor = unsaved_monitor(&draft);
            let again = validate(&form_of(&monitor), &ProbeOptions::default()).unwrap();
            assert_eq!(again, draft, "{kind}");
        }
    }

    #[test]
    fn cursor_splits_at_first_colon() {
        assert_eq!(parse_cursor("12:api: prod"), Some(("api: prod".to_string(), 12)));
        assert_eq!(parse_cursor("x:api"), None);
        assert_eq!(parse_cursor(""), None);
    }
}
