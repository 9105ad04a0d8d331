//! Monitor pages: the list, one monitor with its history, and the forms.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::chart::{ResponseChart, Sparkline};
use super::settings::{INTERVAL_CHOICES, format_interval};
use super::*;
use crate::components::{
    EditorsOnly, ErrorBanner, FieldMessage, FormCheckbox, FormField, SubmitButton, action_error,
};
use crate::time::format_utc;

/// The fields the monitor form can report errors on.
const FORM_FIELDS: [&str; 19] = [
    "name",
    "kind",
    "interval_secs",
    "fail_after",
    "recover_after",
    "url",
    "method",
    "headers",
    "body",
    "expected_status",
    "timeout_secs",
    "max_response_ms",
    "keyword",
    "keyword_mode",
    "host",
    "port",
    "grace_secs",
    "state",
    "id",
];

#[component]
pub fn StateBadge(state: MonitorState) -> impl IntoView {
    view! { <span class=format!("state state-{}", state.as_str())>{state.label()}</span> }
}

fn percent(uptime: Option<f64>) -> String {
    match uptime {
        Some(share) if share >= 0.9995 => "100%".to_string(),
        Some(share) => format!("{:.2}%", share * 100.0),
        None => "–".to_string(),
    }
}

fn query_link(state: &str, after: &str) -> String {
    let mut params = Vec::new();
    if !state.is_empty() {
        params.push(format!("state={state}"));
    }
    if !after.is_empty() {
        let encoded: String = after
            .bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (byte as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        params.push(format!("after={encoded}"));
    }
    if params.is_empty() {
        "/monitors".to_string()
    } else {
        format!("/monitors?{}", params.join("&"))
    }
}

#[component]
pub fn MonitorsPage() -> impl IntoView {
    let query = use_query_map();
    let state_filter = move || query.read().get("state").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    let list = Resource::new(
        move || (state_filter(), after()),
        |(state, after)| list_monitors(state, after),
    );
    view! {
        <Title text="Monitors · Rebound" />
        <div class="page-header">
            <h1>"Monitors"</h1>
        </div>
        <Suspense fallback=|| view! { <p>"Loading monitors…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => {
                        view! { <MonitorTable list filter=state_filter() first_page=after().is_empty() /> }
                            .into_any()
                    }
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MonitorTable(list: MonitorList, filter: String, first_page: bool) -> impl IntoView {
    let total: i64 = list.counts.iter().map(|(_, count)| count).sum();
    let count_of = |state: MonitorState| {
        list.counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, count)| *count)
    };
    let tabs = [("", "All".to_string(), total)]
        .into_iter()
        .chain(
            [
                MonitorState::Failed,
                MonitorState::Healthy,
                MonitorState::Pending,
                MonitorState::Paused,
            ]
            .into_iter()
            .map(|state| (state.as_str(), state.label().to_string(), count_of(state))),
        )
        .map(|(value, label, count)| {
            let current = value == filter.as_str();
            view! {
                <a
                    href=query_link(value, "")
                    class:tab=true
                    class:tab-current=current
                    aria-current=current.then_some("page")
                >
                    {label}
                    " "
                    <span class="count">{count}</span>
                </a>
            }
        })
        .collect_view();
    let next = list.next.clone().map(|cursor| query_link(&filter, &cursor));
    let empty = list.items.is_empty();
    view! {
        <div class="toolbar">
            <nav class="tabs" aria-label="Filter by state">
                {tabs}
            </nav>
            {list.can_edit.then(|| view! { <a class="button" href="/monitors/new">"New monitor"</a> })}
        </div>
        <section class="card flush">
            {if empty {
                view! {
                    <p class="empty">
                        "No monitors here yet. A monitor checks a URL, a keyword, a TCP port or a heartbeat on an interval, and reactions act on its state."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <table class="table monitors">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"State"</th>
                                <th>"Last check"</th>
                                <th class="numeric">"Response"</th>
                                <th class="numeric">"24 h"</th>
                                <th class="numeric">"7 d"</th>
                                <th class="numeric">"30 d"</th>
                                <th>"Last 24 h"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.items.into_iter().map(|item| view! { <MonitorRow item /> }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
        <nav class="pager" aria-label="Pages">
            {(!first_page).then(|| view! { <a href=query_link(&filter, "")>"First page"</a> })}
            {next.map(|href| view! { <a href=href>"Next page"</a> })}
        </nav>
    }
}

#[component]
fn MonitorRow(item: MonitorSummary) -> impl IntoView {
    let monitor = item.monitor;
    let last = monitor.last_check.clone();
    view! {
        <tr>
            <td>
                <a href=format!("/monitors/{}", monitor.id) class="strong">{monitor.name.clone()}</a>
                <div class="muted small">
                    {monitor.settings.kind().label()} " · " {monitor.settings.target()} " · every "
                    {format_interval(monitor.interval_secs)}
                </div>
            </td>
            <td><StateBadge state=monitor.state /></td>
            <td>
                {match last {
                    Some(last) => {
                        view! {
                            <span>{format_utc(last.at)}</span>
                            {last.reason.map(|reason| view! { <div class="muted small">{reason}</div> })}
                        }
                            .into_any()
                    }
                    None => view! { <span class="muted">"Not yet"</span> }.into_any(),
                }}
            </td>
            <td class="numeric">
                {monitor
                    .last_check
                    .and_then(|last| last.response_ms)
                    .map_or("–".to_string(), |ms| format!("{ms} ms"))}
            </td>
            <td class="numeric">{percent(item.uptime_24h)}</td>
            <td class="numeric">{percent(item.uptime_7d)}</td>
            <td class="numeric">{percent(item.uptime_30d)}</td>
            <td><Sparkline values=item.sparkline /></td>
        </tr>
    }
}

#[component]
pub fn MonitorPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    let range = move || query.read().get("range").unwrap_or_else(|| "24h".to_string());
    let pause = ServerAction::<PauseMonitor>::new();
    let resume = ServerAction::<ResumeMonitor>::new();
    let check = ServerAction::<CheckMonitorNow>::new();
    let delete = ServerAction::<DeleteMonitor>::new();
    let detail = Resource::new(
        move || (id(), pause.version().get(), resume.version().get()),
        |(id, _, _)| get_monitor(id),
    );
    let history = Resource::new(
        move || {
            (id(), range(), pause.version().get(), resume.version().get(), check.version().get())
        },
        |(id, range, _, _, _)| get_monitor_history(id, range),
    );
    let action_failure = Signal::derive(move || {
        action_error(pause)
            .get()
            .or_else(|| action_error(resume).get())
            .or_else(|| action_error(delete).get())
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading the monitor…"</p> }>
            {move || Suspend::new(async move {
                let detail = match detail.await {
                    Ok(detail) => detail,
                    Err(error) => {
                        return view! {
                            <h1>"Monitor"</h1>
                            <p class="banner banner-error">{error.to_string()}</p>
                        }
                            .into_any();
                    }
                };
                let monitor = detail.monitor.clone();
                let id_text = monitor.id.to_string();
                let paused = monitor.state == MonitorState::Paused;
                view! {
                    <Title text=format!("{} · Monitors · Rebound", monitor.name) />
                    <div class="page-header">
                        <div>
                            <p class="breadcrumb"><a href="/monitors">"Monitors"</a></p>
                            <h1>{monitor.name.clone()} " " <StateBadge state=monitor.state /></h1>
                            <p class="muted">
                                {monitor.settings.kind().label()} " · " {monitor.settings.target()}
                            </p>
                        </div>
                        {detail
                            .can_edit
                            .then(|| {
                                let toggle_id = id_text.clone();
                                let delete_id = id_text.clone();
                                view! {
                                    <div class="actions">
                                        <ActionForm action=check attr:class="inline-form">
                                            <input type="hidden" name="id" value=id_text.clone() />
                                            <SubmitButton action=check label="Check now" pending_label="Checking…" class="secondary" />
                                        </ActionForm>
                                        {if paused {
                                            view! {
                                                <ActionForm action=resume attr:class="inline-form">
                                                    <input type="hidden" name="id" value=toggle_id />
                                                    <button type="submit" class="secondary">"Resume"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=pause attr:class="inline-form">
                                                    <input type="hidden" name="id" value=toggle_id />
                                                    <button type="submit" class="secondary">"Pause"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }}
                                        <a class="button secondary" href=format!("/monitors/{}/edit", monitor.id)>"Edit"</a>
                                        <details class="danger-zone">
                                            <summary>"Delete…"</summary>
                                            <ActionForm action=delete attr:class="inline-form">
                                                <input type="hidden" name="id" value=delete_id />
                                                <button type="submit" class="danger">"Delete this monitor and its history"</button>
                                            </ActionForm>
                                        </details>
                                    </div>
                                }
                            })}
                    </div>
                    <ErrorBanner error=action_failure />
                    <CheckNowOutcome action=check />
                    <MonitorFacts detail=detail.clone() />
                    <MonitorHistoryView history range=range() id=monitor.id heartbeat=matches!(monitor.settings, MonitorSettings::Heartbeat(_)) />
                }
                    .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn CheckNowOutcome(action: ServerAction<CheckMonitorNow>) -> impl IntoView {
    move || {
        action.value().get().map(|result| match result {
            Ok(result) if result.passed => {
                let timing = result.response_ms.map(|ms| format!(" in {ms} ms")).unwrap_or_default();
                let status = result.status_code.map(|code| format!(" (status {code})")).unwrap_or_default();
                view! {
                    <p class="banner banner-ok" role="status">
                        "Check now: the target passed" {timing} {status} ". Not stored in the history."
                    </p>
                }
                    .into_any()
            }
            Ok(result) => view! {
                <p class="banner banner-error" role="status">
                    "Check now: the target failed – " {result.reason.unwrap_or_default()} ". Not stored in the history."
                </p>
            }
            .into_any(),
            Err(error) => view! { <p class="banner banner-error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
fn MonitorFacts(detail: MonitorDetail) -> impl IntoView {
    let monitor = detail.monitor;
    let last = monitor.last_check.clone();
    view! {
        <section class="card facts">
            <dl>
                <dt>"State since"</dt>
                <dd>{format_utc(monitor.state_changed_at)}</dd>
                <dt>"Interval"</dt>
                <dd>{format!("every {}", format_interval(monitor.interval_secs))}</dd>
                <dt>"Confirmation"</dt>
                <dd>
                    {format!(
                        "Failed after {} failing check{}, Healthy after {} passing check{}",
                        monitor.fail_after,
                        if monitor.fail_after == 1 { "" } else { "s" },
                        monitor.recover_after,
                        if monitor.recover_after == 1 { "" } else { "s" },
                    )}
                </dd>
                <dt>"Last check"</dt>
                <dd>
                    {match last {
                        Some(last) => format!(
                            "{} – {}{}",
                            format_utc(last.at),
                            if last.passed { "passed" } else { "failed" },
                            last.reason.map(|reason| format!(": {reason}")).unwrap_or_default()
                        ),
                        None => "not yet".to_string(),
                    }}
                </dd>
                {detail
                    .heartbeat_url
                    .map(|url| {
                        view! {
                            <dt>"Heartbeat URL"</dt>
                            <dd>
                                <input class="copy-field" readonly=true aria-label="Heartbeat URL" value=url.clone() />
                                <p class="hint">
                                    "Call it with GET or POST at least every "
                                    {format_interval(monitor.interval_secs)}
                                    " (plus the grace period), e.g. "
                                    <code>{format!("curl -fsS {url}")}</code>
                                    ". Keep it secret: anyone with the URL can report this job as alive."
                                </p>
                            </dd>
                        }
                    })}
                {match (&monitor.settings, monitor.last_ping_at) {
                    (MonitorSettings::Heartbeat(heartbeat), Some(since)) if monitor.state != MonitorState::Paused => {
                        let deadline = since + i64::from(monitor.interval_secs + heartbeat.grace_secs) * 1000;
                        Some(view! {
                            <dt>"Next ping due by"</dt>
                            <dd>{format_utc(deadline)}</dd>
                        })
                    }
                    _ => None,
                }}
            </dl>
        </section>
    }
}

#[component]
fn MonitorHistoryView(
    history: Resource<Result<MonitorHistory, AppError>>,
    range: String,
    id: i64,
    heartbeat: bool,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p>"Loading history…"</p> }>
            {move || {
                let range = range.clone();
                Suspend::new(async move {
                    match history.await {
                        Ok(history) => view! { <HistoryBody history range id heartbeat /> }.into_any(),
                        Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn HistoryBody(history: MonitorHistory, range: String, id: i64, heartbeat: bool) -> impl IntoView {
    let tabs = HISTORY_RANGES
        .iter()
        .map(|(name, _)| {
            let current = *name == range;
            view! {
                <a
                    href=format!("/monitors/{id}?range={name}")
                    class:tab=true
                    class:tab-current=current
                    aria-current=current.then_some("page")
                >
                    {*name}
                </a>
            }
        })
        .collect_view();
    let hourly = HISTORY_RANGES
        .iter()
        .find(|(name, _)| *name == history.range)
        .is_some_and(|(_, span)| *span > 6 * 3_600_000);
    view! {
        <section class="card">
            <div class="toolbar">
                <h2>{if heartbeat { "History" } else { "Response time" }}</h2>
                <nav class="tabs" aria-label="Time range">{tabs}</nav>
            </div>
            <p class="muted">
                "Uptime over this range: " <strong>{percent(history.uptime)}</strong>
                {(!heartbeat && hourly).then_some(". The chart shows the average of each hour.")}
            </p>
            {(!heartbeat).then(|| view! { <ResponseChart points=history.points since=history.since until=history.until /> })}
        </section>
        <section class="card">
        <h2>"State changes"</h2>
        {if history.changes.is_empty() {
            view! { <p class="muted">"No state changes yet."</p> }.into_any()
        } else {
            view! {
                <table class="table">
                    <thead><tr><th>"Time"</th><th>"Change"</th><th>"Reason"</th></tr></thead>
                    <tbody>
                        {history
                            .changes
                            .into_iter()
                            .map(|change| view! {
                                <tr>
                                    <td>{format_utc(change.changed_at)}</td>
                                    <td><StateBadge state=change.from /> " → " <StateBadge state=change.to /></td>
                                    <td>{change.reason.unwrap_or_default()}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
        </section>
        <section class="card">
        <h2>"Latest checks"</h2>
        {if history.checks.is_empty() {
            view! { <p class="muted">"No checks yet."</p> }.into_any()
        } else {
            view! {
                <table class="table checks">
                    <thead>
                        <tr>
                            <th>"Time"</th>
                            <th>"Result"</th>
                            <th class="numeric">"Response"</th>
                            <th class="numeric">"Status"</th>
                            <th>"Reason"</th>
                            <th>"State after"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {history
                            .checks
                            .into_iter()
                            .map(|check| view! {
                                <tr>
                                    <td>{format_utc(check.checked_at)}</td>
                                    <td class=if check.passed { "pass" } else { "fail" }>
                                        {if check.passed { "Passed" } else { "Failed" }}
                                    </td>
                                    <td class="numeric">{check.response_ms.map_or("–".to_string(), |ms| format!("{ms} ms"))}</td>
                                    <td class="numeric">{check.status_code.map_or("–".to_string(), |code| code.to_string())}</td>
                                    <td>{check.reason.unwrap_or_default()}</td>
                                    <td><StateBadge state=check.state_after /></td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
        </section>
    }
}

/// Default values of a new monitor of `kind`.
fn new_form(kind: MonitorKind) -> MonitorForm {
    MonitorForm {
        kind: kind.as_str().to_string(),
        interval_secs: settings::DEFAULT_INTERVAL_SECS.to_string(),
        fail_after: "1".into(),
        recover_after: "1".into(),
        method: "GET".into(),
        expected_status: "200-399".into(),
        timeout_secs: (settings::DEFAULT_TIMEOUT_MS / 1000).to_string(),
        follow_redirects: Some("on".into()),
        verify_tls: Some("on".into()),
        keyword_mode: "present".into(),
        grace_secs: "60".into(),
        ..MonitorForm::default()
    }
}

#[component]
pub fn NewMonitorPage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || {
        query
            .read()
            .get("kind")
            .and_then(|kind| MonitorKind::parse(&kind))
            .unwrap_or(MonitorKind::Http)
    };
    let create = ServerAction::<CreateMonitor>::new();
    view! {
        <Title text="New monitor · Rebound" />
        <p class="breadcrumb"><a href="/monitors">"Monitors"</a></p>
        <h1>"New monitor"</h1>
        <nav class="tabs kinds" aria-label="Monitor kind">
            {move || {
                MonitorKind::ALL
                    .into_iter()
                    .map(|option| {
                        let current = option == kind();
                        view! {
                            <a
                                href=format!("/monitors/new?kind={}", option.as_str())
                                class:tab=true
                                class:tab-current=current
                                aria-current=current.then_some("page")
                            >
                                {option.label()}
                            </a>
                        }
                    })
                    .collect_view()
            }}
        </nav>
        <EditorsOnly>
            {move || {
                let kind = kind();
                view! {
                    <ActionForm action=create attr:class="form card">
                        <MonitorFields form=new_form(kind) kind error=action_error(create) />
                        <SubmitButton action=create label="Create monitor" pending_label="Creating…" />
                    </ActionForm>
                }
            }}
        </EditorsOnly>
    }
}

#[component]
pub fn EditMonitorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    let detail = Resource::new(id, get_monitor);
    let update = ServerAction::<UpdateMonitor>::new();
    view! {
        <Suspense fallback=|| view! { <p>"Loading the monitor…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        let kind = detail.monitor.settings.kind();
                        let form = detail.form.clone();
                        let id_text = detail.monitor.id.to_string();
                        view! {
                            <Title text=format!("Edit {} · Rebound", detail.monitor.name) />
                            <p class="breadcrumb">
                                <a href="/monitors">"Monitors"</a> " / "
                                <a href=format!("/monitors/{}", detail.monitor.id)>{detail.monitor.name.clone()}</a>
                            </p>
                            <h1>"Edit monitor"</h1>
                            <EditorsOnly>
                                {
                                    let (id_text, form) = (id_text.clone(), form.clone());
                                    view! {
                                        <ActionForm action=update attr:class="form card">
                                            <input type="hidden" name="id" value=id_text />
                                            <MonitorFields form kind error=action_error(update) />
                                            <SubmitButton action=update label="Save changes" pending_label="Saving…" />
                                        </ActionForm>
                                    }
                                }
                            </EditorsOnly>
                        }
                            .into_any()
                    }
                    Err(error) => view! {
                        <h1>"Edit monitor"</h1>
                        <p class="banner banner-error">{error.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// Renders the fields of the monitor form for one kind.
#[component]
fn MonitorFields(
    form: MonitorForm,
    kind: MonitorKind,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let http = matches!(kind, MonitorKind::Http | MonitorKind::Keyword);
    let interval = form.interval_secs.parse::<u32>().unwrap_or(settings::DEFAULT_INTERVAL_SECS);
    let method = form.method.clone();
    let keyword_absent = form.keyword_mode == "absent";
    view! {
        <ErrorBanner error fields=&FORM_FIELDS />
        <input type="hidden" name="form[kind]" value=kind.as_str() />
        <FormField label="Name" name="name" value=form.name.clone() error required=true />
        <div class="field-row">
            <div class="field">
                <label for="form-interval_secs">
                    {if kind == MonitorKind::Heartbeat { "Expected every" } else { "Check every" }}
                </label>
                <select id="form-interval_secs" name="form[interval_secs]" aria-describedby="field-interval_secs-error">
                    {INTERVAL_CHOICES
                        .into_iter()
                        .map(|seconds| view! {
                            <option value=seconds.to_string() selected=seconds == interval>
                                {format_interval(seconds)}
                            </option>
                        })
                        .collect_view()}
                </select>
                <FieldMessage name="interval_secs" error />
            </div>
            <FormField
                label="Failures before Failed"
                name="fail_after"
                kind="number"
                value=form.fail_after.clone()
                error
                hint="Consecutive failing checks that confirm an outage."
            />
            <FormField
                label="Successes before Healthy"
                name="recover_after"
                kind="number"
                value=form.recover_after.clone()
                error
                hint="Consecutive passing checks that confirm recovery."
            />
        </div>
        {http
            .then(|| {
                view! {
                    <fieldset>
                        <legend>"Request"</legend>
                        <FormField label="URL" name="url" kind="url" value=form.url.clone() error required=true />
                        <div class="field-row">
                            <div class="field">
                                <label for="form-method">"Method"</label>
                                <select id="form-method" name="form[method]" aria-describedby="field-method-error">
                                    {["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                                        .into_iter()
                                        .map(|option| view! { <option value=option selected=option == method>{option}</option> })
                                        .collect_view()}
                                </select>
                                <FieldMessage name="method" error />
                            </div>
                            <FormField
                                label="Expected status codes"
                                name="expected_status"
                                value=form.expected_status.clone()
                                error
                                hint="Ranges or codes, e.g. 200-399 or 200,204."
                            />
                            <FormField
                                label="Timeout (seconds)"
                                name="timeout_secs"
                                kind="number"
                                value=form.timeout_secs.clone()
                                error
                            />
                            <FormField
                                label="Maximum response time (ms)"
                                name="max_response_ms"
                                kind="number"
                                value=form.max_response_ms.clone()
                                error
                                hint="Optional; a slower response counts as a failure."
                            />
                        </div>
                        <div class="field">
                            <label for="form-headers">"Headers"</label>
                            <textarea id="form-headers" name="form[headers]" rows="3" aria-describedby="field-headers-error">
                                {form.headers.clone()}
                            </textarea>
                            <p class="hint">"One per line, as Name: value."</p>
                            <FieldMessage name="headers" error />
                        </div>
                        <div class="field">
                            <label for="form-body">"Request body"</label>
                            <textarea id="form-body" name="form[body]" rows="3" aria-describedby="field-body-error">
                                {form.body.clone()}
                            </textarea>
                            <FieldMessage name="body" error />
                        </div>
                        <div class="checkboxes">
                            <FormCheckbox label="Follow redirects (up to 10)" name="follow_redirects" checked=form.follow_redirects.is_some() />
                            <FormCheckbox label="Verify TLS certificates" name="verify_tls" checked=form.verify_tls.is_some() />
                        </div>
                    </fieldset>
                }
            })}
        {(kind == MonitorKind::Keyword)
            .then(|| {
                view! {
                    <fieldset>
                        <legend>"Keyword"</legend>
                        <FormField label="Keyword" name="keyword" value=form.keyword.clone() error required=true />
                        <div class="field">
                            <label for="form-keyword_mode">"Healthy when the keyword is"</label>
                            <select id="form-keyword_mode" name="form[keyword_mode]" aria-describedby="field-keyword_mode-error">
                                <option value="present" selected=!keyword_absent>"present in the body"</option>
                                <option value="absent" selected=keyword_absent>"absent from the body"</option>
                            </select>
                            <FieldMessage name="keyword_mode" error />
                        </div>
                        <div class="checkboxes">
                            <FormCheckbox label="Regular expression" name="keyword_regex" checked=form.keyword_regex.is_some() />
                            <FormCheckbox label="Case-sensitive" name="case_sensitive" checked=form.case_sensitive.is_some() />
                        </div>
                    </fieldset>
                }
            })}
        {(kind == MonitorKind::Tcp)
            .then(|| {
                view! {
                    <fieldset>
                        <legend>"Connection"</legend>
                        <div class="field-row">
                            <FormField label="Host" name="host" value=form.host.clone() error required=true />
                            <FormField label="Port" name="port" kind="number" value=form.port.clone() error required=true />
                            <FormField label="Timeout (seconds)" name="timeout_secs" kind="number" value=form.timeout_secs.clone() error />
                        </div>
                    </fieldset>
                }
            })}
        {(kind == MonitorKind::Heartbeat)
            .then(|| {
                view! {
                    <fieldset>
                        <legend>"Heartbeat"</legend>
                        <FormField
                            label="Grace period (seconds)"
                            name="grace_secs"
                            kind="number"
                            value=form.grace_secs.clone()
                            error
                            hint="How late a ping may be before the check fails. The secret URL appears on the monitor's page after creation."
                        />
                    </fieldset>
                }
            })}
    }
}
