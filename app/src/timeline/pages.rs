//! The overview and timeline pages. Both render completely on the server;
//! with WASM loaded they poll for news every few seconds, and without it a
//! Refresh link reloads them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::chart::DynoChartView;
use super::*;
use crate::monitors::StateBadge;
use crate::reactions::OutcomeBadge;
use crate::reactions::{ExecutionOutcome, ReactionKind};
use crate::time::format_in_offset;

/// Creates a counter that grows every [`LIVE_POLL_MS`] in the browser (never
/// on the server) while `active` returns true, for resources to refetch on.
fn live_ticks(active: impl Fn() -> bool + Send + Sync + 'static) -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if active() {
                    tick.update(|tick| *tick += 1);
                }
            },
            std::time::Duration::from_millis(LIVE_POLL_MS),
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = active;
    tick
}

/// Creates a signal of the browser's UTC offset in minutes east of UTC,
/// set once the page is hydrated.
fn browser_offset() -> RwSignal<Option<i32>> {
    let offset = RwSignal::new(None);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        offset.set(Some(-(js_sys::Date::new_0().get_timezone_offset() as i32)));
    });
    offset
}

/// Shows an instant in the zone the server chose. In the browser it switches
/// to the browser's own offset at that instant, so daylight saving time is
/// right for old entries too.
#[component]
fn LocalTime(ms: i64, offset_minutes: i32) -> impl IntoView {
    let text = RwSignal::new(format_in_offset(ms, offset_minutes));
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            text.set(format_in_offset(ms, -(at.get_timezone_offset() as i32)));
        }
    });
    let machine = crate::time::format_utc(ms);
    view! { <time datetime=machine>{move || text.get()}</time> }
}

fn query_of(map: &leptos_router::params::ParamsMap) -> TimelineQuery {
    let pairs: Vec<(&str, String)> = TimelineQuery::FIELDS
        .iter()
        .filter_map(|name| map.get(name).map(|value| (*name, value)))
        .collect();
    TimelineQuery::from_pairs(pairs.iter().map(|(name, value)| (*name, value.as_str())))
}

#[component]
pub fn TimelinePage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_of(&query_map.read()));
    let offset = browser_offset();
    // Only the newest page changes as things happen; older pages stay put.
    let tick = live_ticks(move || query.with_untracked(|query| query.before.is_empty()));
    let effective = Memo::new(move |_| {
        let mut query = query.get();
        if query.tz.is_empty()
            && let Some(minutes) = offset.get()
        {
            query.tz = minutes.to_string();
        }
        query
    });
    let page =
        Resource::new(move || (effective.get(), tick.get()), |(query, _)| get_timeline(query));
    let options = Resource::new(|| (), |_| timeline_filter_options());

    view! {
        <Title text="Timeline · Rebound" />
        <div class="page-header">
            <div>
                <h1>"Timeline"</h1>
                <p class="muted">
                    "Every execution of the team's reactions, newest first, with the monitor state changes that triggered them."
                </p>
            </div>
        </div>
        <Suspense fallback=|| view! { <p>"Loading filters…"</p> }>
            {move || Suspend::new(async move {
                let options = options.await.unwrap_or_default();
                view! { <FilterForm query=query.get() options offset /> }
            })}
        </Suspense>
        <Transition fallback=|| view! { <p>"Loading the timeline…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(view) => view! { <TimelineBody view query=effective.get_untracked() /> }.into_any(),
                    Err(error) => view! {
                        <p class="banner banner-error" role="alert">{error.to_string()}</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Choice(
    label: &'static str,
    name: &'static str,
    selected: String,
    any: &'static str,
    choices: Vec<FilterChoice>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    // A value from the URL that is no longer offered (a deleted reaction)
    // stays selectable, so the filter shown is the filter applied.
    let mut choices = choices;
    if !selected.is_empty() && !choices.iter().any(|choice| choice.value == selected) {
        choices.push(FilterChoice { value: selected.clone(), label: selected.clone() });
    }
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                <option value="" selected=selected.is_empty()>{any}</option>
                {choices
                    .into_iter()
                    .map(|choice| {
                        let is_selected = choice.value == selected;
                        view! { <option value=choice.value selected=is_selected>{choice.label}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

#[component]
fn FilterForm(
    query: TimelineQuery,
    options: FilterOptions,
    offset: RwSignal<Option<i32>>,
) -> impl IntoView {
    let kinds = ReactionKind::ALL
        .into_iter()
        .map(|kind| FilterChoice { value: kind.as_str().into(), label: kind.label().into() })
        .collect();
    let outcomes = ExecutionOutcome::ALL
        .into_iter()
        .map(|outcome| FilterChoice {
            value: outcome.as_str().into(),
            label: outcome.label().into(),
        })
        .collect();
    let tz_in_url = query.tz.clone();
    let tz_value = move || {
        if tz_in_url.is_empty() {
            offset.get().map(|minutes| minutes.to_string()).unwrap_or_default()
        } else {
            tz_in_url.clone()
        }
    };
    let tz_for_hint = tz_value.clone();
    let zone_hint = move || match tz_for_hint().parse::<i32>() {
        Ok(minutes) if minutes != 0 => {
            format_in_offset(0, minutes).rsplit(' ').next().unwrap_or("UTC").to_string()
        }
        _ => "UTC".to_string(),
    };
    view! {
        <form method="get" action="/timeline" class="card filters" aria-label="Filter the timeline">
            <div class="filter-grid">
                <Choice label="App" name="app" selected=query.app.clone() any="Any app" choices=options.apps />
                <Choice label="Monitor" name="monitor" selected=query.monitor.clone() any="Any monitor" choices=options.monitors />
                <Choice label="Reaction" name="reaction" selected=query.reaction.clone() any="Any reaction" choices=options.reactions />
                <Choice label="Kind" name="kind" selected=query.kind.clone() any="Any kind" choices=kinds />
                <Choice label="Outcome" name="outcome" selected=query.outcome.clone() any="Any outcome" choices=outcomes />
                <div class="field">
                    <label for="filter-since">"From " <span class="muted small">"(" {zone_hint.clone()} ")"</span></label>
                    <input id="filter-since" name="since" type="datetime-local" value=query.since.clone() />
                </div>
                <div class="field">
                    <label for="filter-until">"To " <span class="muted small">"(" {zone_hint} ")"</span></label>
                    <input id="filter-until" name="until" type="datetime-local" value=query.until.clone() />
                </div>
            </div>
            <input type="hidden" name="tz" prop:value=tz_value />
            <div class="actions">
                <button type="submit">"Apply filters"</button>
                <a class="button secondary" href="/timeline">"Clear"</a>
            </div>
        </form>
    }
}

#[component]
fn TimelineBody(view: TimelineView, query: TimelineQuery) -> impl IntoView {
    let offset = view.offset_minutes;
    let first_page = query.before.is_empty();
    let current = query.to_query_string(None);
    let refresh =
        if current.is_empty() { "/timeline".to_string() } else { format!("/timeline?{current}") };
    let older =
        view.next.as_ref().map(|next| format!("/timeline?{}", query.to_query_string(Some(next))));
    let export = |format: &str| {
        let mut unpaged = query.clone();
        unpaged.before.clear();
        let text = unpaged.to_query_string(None);
        if text.is_empty() {
            format!("/timeline/export.{format}")
        } else {
            format!("/timeline/export.{format}?{text}")
        }
    };
    let empty = view.entries.is_empty();
    view! {
        {view.chart.map(|chart| view! { <DynoChartView chart offset_minutes=offset /> })}
        <div class="toolbar">
            <p class="muted small" data-testid="timeline-status">
                {if first_page {
                    "Newest entries; this page refreshes itself every few seconds while JavaScript runs."
                } else {
                    "An older page; it does not refresh."
                }}
                " "
                <a href=refresh.clone()>"Refresh"</a>
                {(!first_page).then(|| view! { " · " <a href=refresh.clone()>"Newest"</a> })}
            </p>
            <p class="small">
                "Export: " <a href=export("csv")>"CSV"</a> " · " <a href=export("json")>"JSON"</a>
            </p>
        </div>
        {(!view.state_changes_shown).then(|| view! {
            <p class="banner banner-info">"Kind and outcome filters show executions only, without monitor state changes."</p>
        })}
        <section class="card flush">
            {if empty {
                view! {
                    <p class="empty">
                        {if query.is_filtered() {
                            "Nothing matches these filters. Widen the time range or clear a filter."
                        } else {
                            "Nothing has happened yet. Executions appear here when a reaction's monitor matches, and state changes when a monitor turns Healthy or Failed."
                        }}
                    </p>
                }
                    .into_any()
            } else {
                view! { <EntryTable entries=view.entries offset test_id="timeline" /> }.into_any()
            }}
        </section>
        {older.map(|href| view! { <p class="pager"><a class="button secondary" href=href rel="next">"Older"</a></p> })}
    }
}

#[component]
fn EntryTable(entries: Vec<TimelineEntry>, offset: i32, test_id: &'static str) -> impl IntoView {
    view! {
        <table class="table timeline" data-testid=test_id>
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"What"</th>
                    <th>"App"</th>
                    <th>"Trigger"</th>
                    <th>"Before → after"</th>
                    <th>"Outcome"</th>
                </tr>
            </thead>
            <tbody>
                {entries.into_iter().map(|entry| view! { <EntryRow entry offset /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EntryRow(entry: TimelineEntry, offset: i32) -> impl IntoView {
    match entry {
        TimelineEntry::Execution(execution) => {
            let reaction = match execution.reaction_id {
                Some(id) => view! { <a href=format!("/reactions/{id}")>{execution.reaction_name.clone()}</a> }.into_any(),
                None => view! { <span>{execution.reaction_name.clone()} " (deleted)"</span> }.into_any(),
            };
            let failure = (execution.outcome == ExecutionOutcome::Failed).then(|| {
                view! {
                    <div class="small error-text">
                        {execution.error_message.clone().unwrap_or_default()}
                        {execution.heroku_request_id.clone().map(|id| view! { <div class="muted">"Heroku request id " <code>{id}</code></div> })}
                    </div>
                }
            });
            view! {
                <tr class="entry-execution">
                    <td class="nowrap"><LocalTime ms=execution.started_at offset_minutes=offset /></td>
                    <td>
                        {reaction}
                        <div class="muted small">{execution.kind.map(ReactionKind::label).unwrap_or("Unknown kind")}</div>
                    </td>
                    <td>{execution.app_name.clone()}</td>
                    <td>{execution.monitor_name.clone()} " " <StateBadge state=execution.monitor_state /></td>
                    <td>{execution.summary.clone()}</td>
                    <td><OutcomeBadge outcome=execution.outcome /> {failure}</td>
                </tr>
            }
            .into_any()
        }
        TimelineEntry::StateChange(change) => view! {
            <tr class="entry-state-change">
                <td class="nowrap"><LocalTime ms=change.changed_at offset_minutes=offset /></td>
                <td>
                    "Monitor " <a href=format!("/monitors/{}", change.monitor_id)>{change.monitor_name.clone()}</a>
                    <div class="muted small">"State change"</div>
                </td>
                <td></td>
                <td>{change.reason.clone()}</td>
                <td><StateBadge state=change.from /> " → " <StateBadge state=change.to /></td>
                <td></td>
            </tr>
        }
        .into_any(),
    }
}

/// Shows the signed-in team's home page.
#[component]
pub fn OverviewPage(team_name: String) -> impl IntoView {
    let tick = live_ticks(|| true);
    let overview = Resource::new(move || tick.get(), |_| get_overview());
    view! {
        <div class="page-header">
            <div>
                <h1>{team_name}</h1>
                <p class="muted small" data-testid="overview-status">
                    "This page refreshes itself every few seconds while JavaScript runs. "
                    <a href="/">"Refresh"</a>
                </p>
            </div>
            <a class="button secondary" href="/timeline">"Open the timeline"</a>
        </div>
        <Transition fallback=|| view! { <p>"Loading the overview…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OverviewBody overview /> }.into_any(),
                    Err(error) => view! { <p class="banner banner-error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Count(label: &'static str, count: i64, class: &'static str) -> impl IntoView {
    view! {
        <div class="stat">
            <span class=format!("stat-value {class}")>{count}</span>
            <span class="stat-label">{label}</span>
        </div>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let monitor_counts = overview
        .monitors_by_state
        .iter()
        .map(|(state, count)| {
            view! {
                <a class="stat" href=format!("/monitors?state={}", state.as_str())>
                    <span class="stat-value">{*count}</span>
                    <span class="stat-label"><StateBadge state=*state /></span>
                </a>
            }
        })
        .collect_view();
    let reactions = overview.reactions;
    let apps_empty = overview.apps.is_empty();
    let latest_empty = overview.latest.is_empty();
    view! {
        <div class="overview-grid">
            <section class="card" aria-labelledby="monitors-heading">
                <h2 id="monitors-heading">"Monitors"</h2>
                <div class="stats" data-testid="monitor-counts">{monitor_counts}</div>
            </section>
            <section class="card" aria-labelledby="reactions-heading">
                <h2 id="reactions-heading">"Reactions"</h2>
                <div class="stats" data-testid="reaction-counts">
                    <Count label="Enabled" count=reactions.enabled.into() class="" />
                    <Count label="Dry run" count=reactions.dry_run.into() class="" />
                    <Count label="Disabled" count=reactions.disabled.into() class="" />
                    <Count label="Paused: connection cannot act" count=reactions.paused.into() class="" />
                    <Count label="At bound" count=reactions.at_bound.into() class="" />
                    <Count label="Connection needs re-authorization" count=reactions.needs_reauthorization.into() class="" />
                </div>
            </section>
        </div>
        <section class="card flush" aria-labelledby="apps-heading">
            <h2 id="apps-heading" class="card-title">"Apps"</h2>
            {if apps_empty {
                view! { <p class="empty">"No reaction acts on a Heroku app yet. Connect Heroku and add a reaction to see its app here."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="apps">
                        <thead>
                            <tr>
                                <th>"App"</th>
                                <th>"Monitors"</th>
                                <th>"Formation"</th>
                                <th>"Last action"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {overview.apps.into_iter().map(|app| view! { <AppRow app /> }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
        <section class="card flush" aria-labelledby="latest-heading">
            <h2 id="latest-heading" class="card-title">"Latest"</h2>
            {if latest_empty {
                view! { <p class="empty">"Nothing has happened yet."</p> }.into_any()
            } else {
                view! { <EntryTable entries=overview.latest offset=0 test_id="latest" /> }.into_any()
            }}
            <p class="pager"><a href="/timeline">"All entries on the timeline"</a></p>
        </section>
    }
}

#[component]
fn AppRow(app: AppOverview) -> impl IntoView {
    let timeline = format!("/timeline?app={}", encode_component(&app.app_name));
    let details =
        format!("/connections/{}/apps/{}", app.connection_id, encode_component(&app.app_name));
    let monitors = app
        .monitors
        .into_iter()
        .map(|monitor| {
            view! {
                <div>
                    <a href=format!("/monitors/{}", monitor.id)>{monitor.name}</a> " " <StateBadge state=monitor.state />
                </div>
            }
        })
        .collect_view();
    let formation = match app.formation {
        Ok(lines) if lines.is_empty() => view! { <span class="muted">"No process types"</span> }.into_any(),
        Ok(lines) => lines
            .into_iter()
            .map(|line| view! { <div>{format!("{} {} × {}", line.process_type, line.quantity, line.size)}</div> })
            .collect_view()
            .into_any(),
        Err(message) => view! { <span class="error-text small">{message}</span> }.into_any(),
    };
    let last = match app.last_execution {
        Some(execution) => view! {
            <OutcomeBadge outcome=execution.outcome />
            <div class="small">{execution.summary}</div>
            <div class="muted small"><LocalTime ms=execution.started_at offset_minutes=0 /></div>
        }
        .into_any(),
        None => view! { <span class="muted">"None yet"</span> }.into_any(),
    };
    view! {
        <tr>
            <td>
                <a class="strong" href=details>{app.app_name.clone()}</a>
                {app.simulated.then(|| view! { " " <span class="badge badge-simulated">"Simulated"</span> })}
                <div class="small"><a href=timeline>"Timeline and dyno chart"</a></div>
            </td>
            <td>{monitors}</td>
            <td>{formation}</td>
            <td>{last}</td>
        </tr>
    }
}
