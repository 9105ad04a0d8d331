//! Reaction pages: the list, one reaction with its executions, and the forms.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{
    EditorsOnly, ErrorBanner, FieldMessage, FormCheckbox, FormField, SubmitButton, action_error,
};
use crate::heroku::sizes::{PRIVATE_LADDER, PROFESSIONAL_LADDER};
use crate::monitors::StateBadge;
use crate::time::format_utc;

/// The fields the reaction form can report errors on.
const FORM_FIELDS: [&str; 18] = [
    "name",
    "kind",
    "monitor_id",
    "app",
    "call_on",
    "process_type",
    "min_quantity",
    "max_quantity",
    "min_size",
    "max_size",
    "dyno_name",
    "min_release_version",
    "command",
    "size",
    "time_to_live_secs",
    "trigger_count",
    "frequency_secs",
    "id",
];

#[component]
fn StatusBadge(status: ReactionStatus) -> impl IntoView {
    view! { <span class=status.css_class()>{status.label()}</span> }
}

#[component]
pub fn OutcomeBadge(outcome: ExecutionOutcome) -> impl IntoView {
    view! { <span class=outcome.css_class()>{outcome.label()}</span> }
}

#[component]
fn SimulatedBadge(simulated: bool) -> impl IntoView {
    simulated.then(|| view! { <span class="badge badge-simulated">"Simulated"</span> })
}

#[component]
pub fn ReactionsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_reactions());
    view! {
        <Title text="Reactions · Rebound" />
        <div class="page-header">
            <h1>"Reactions"</h1>
        </div>
        <Suspense fallback=|| view! { <p>"Loading reactions…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <ReactionTable list /> }.into_any(),
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReactionTable(list: ReactionList) -> impl IntoView {
    let empty = list.items.is_empty();
    view! {
        <div class="toolbar">
            <p class="muted">
                "A reaction takes one step on a Heroku app each time its monitor's check matches Healthy or Failed, and stops at its bound."
            </p>
            {list.can_edit.then(|| view! { <a class="button" href="/reactions/new">"New reaction"</a> })}
        </div>
        <section class="card flush">
            {if empty {
                view! { <p class="empty">"No reactions yet. Create a monitor and connect Heroku first, then add a reaction."</p> }
                    .into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Monitor"</th>
                                <th>"App"</th>
                                <th>"Status"</th>
                                <th>"Last execution"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.items.into_iter().map(|item| view! { <ReactionRow item /> }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn ReactionRow(item: ReactionSummary) -> impl IntoView {
    let reaction = item.reaction;
    view! {
        <tr>
            <td>
                <a class="strong" href=format!("/reactions/{}", reaction.id)>{reaction.name.clone()}</a>
                <div class="muted small">{reaction.settings.kind().label()} " · " {reaction.settings.describe()}</div>
            </td>
            <td>
                {reaction.monitor_name.clone()} " " <StateBadge state=reaction.monitor_state />
                <div class="muted small">"acts on " {reaction.call_on.label()}</div>
            </td>
            <td>{reaction.app_name.clone()} " " <SimulatedBadge simulated=reaction.connection_simulated /></td>
            <td><StatusBadge status=reaction.status() /></td>
            <td>
                {match item.last_execution {
                    Some(execution) => view! {
                        <OutcomeBadge outcome=execution.outcome />
                        <div class="small">{execution.summary}</div>
                        <div class="muted small">{format_utc(execution.started_at)}</div>
                    }
                    .into_any(),
                    None => view! { <span class="muted">"None yet"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}

#[component]
pub fn ReactionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    let switch = ServerAction::<SetReactionEnabled>::new();
    let delete = ServerAction::<DeleteReaction>::new();
    let detail = Resource::new(move || (id(), switch.version().get()), |(id, _)| get_reaction(id));
    let preview =
        Resource::new(move || (id(), switch.version().get()), |(id, _)| preview_reaction(id));
    let failure =
        Signal::derive(move || action_error(switch).get().or_else(|| action_error(delete).get()));
    view! {
        <Suspense fallback=|| view! { <p>"Loading the reaction…"</p> }>
            {move || Suspend::new(async move {
                let detail = match detail.await {
                    Ok(detail) => detail,
                    Err(error) => {
                        return view! {
                            <h1>"Reaction"</h1>
                            <p class="banner banner-error">{error.to_string()}</p>
                        }
                            .into_any();
                    }
                };
                let reaction = detail.reaction.clone();
                let id_text = reaction.id.to_string();
                view! {
                    <Title text=format!("{} · Reactions · Rebound", reaction.name) />
                    <div class="page-header">
                        <div>
                            <p class="breadcrumb"><a href="/reactions">"Reactions"</a></p>
                            <h1>{reaction.name.clone()} " " <StatusBadge status=reaction.status() /></h1>
                            <p class="muted">{reaction.settings.kind().label()} " · " {reaction.settings.kind().description()}</p>
                        </div>
                        {detail
                            .can_edit
                            .then(|| {
                                let delete_id = id_text.clone();
                                view! {
                                    <div class="actions">
                                        <ActionForm action=switch attr:class="inline-form">
                                            <input type="hidden" name="id" value=id_text.clone() />
                                            <input type="hidden" name="enabled" value=(!reaction.enabled).to_string() />
                                            <button type="submit" class="secondary">
                                                {if reaction.enabled { "Disable" } else { "Enable" }}
                                            </button>
                                        </ActionForm>
                                        <a class="button secondary" href=format!("/reactions/{}/edit", reaction.id)>"Edit"</a>
                                        <details class="danger-zone">
                                            <summary>"Delete…"</summary>
                                            <ActionForm action=delete attr:class="inline-form">
                                                <input type="hidden" name="id" value=delete_id />
                                                <button type="submit" class="danger">"Delete this reaction (its records stay)"</button>
                                            </ActionForm>
                                        </details>
                                    </div>
                                }
                            })}
                    </div>
                    <ErrorBanner error=failure />
                    {match reaction.status() {
                        ReactionStatus::Paused(reason) => {
                            Some(view! { <p class="banner banner-warn">"Paused: " {reason} "."</p> })
                        }
                        _ => None,
                    }}
                    <ReactionFacts reaction=reaction.clone() blocked=detail.blocked.clone() />
                    <section class="card">
                        <h2>"Next trigger"</h2>
                        <Suspense fallback=|| view! { <p class="muted">"Asking Heroku…"</p> }>
                            {move || Suspend::new(async move {
                                match preview.await {
                                    Ok(text) => view! { <p class="preview" data-testid="preview">{text}</p> }.into_any(),
                                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Suspense>
                    </section>
                    <ExecutionTable executions=detail.executions.clone() />
                }
                    .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn ReactionFacts(reaction: Reaction, blocked: Option<String>) -> impl IntoView {
    view! {
        <section class="card facts">
            <dl>
                <dt>"Monitor"</dt>
                <dd>
                    <a href=format!("/monitors/{}", reaction.monitor_id)>{reaction.monitor_name.clone()}</a>
                    " " <StateBadge state=reaction.monitor_state /> " · acts on " {reaction.call_on.label()}
                </dd>
                <dt>"App"</dt>
                <dd>
                    {reaction.app_name.clone()} " " <SimulatedBadge simulated=reaction.connection_simulated />
                    {reaction.connection_email.clone().map(|email| view! { <span class="muted">" via " {email}</span> })}
                </dd>
                <dt>"Step"</dt>
                <dd>{reaction.settings.describe()}</dd>
                <dt>"Trigger"</dt>
                <dd>
                    {format!(
                        "after {} matching check{} in a row (now {}){}",
                        reaction.trigger_count,
                        if reaction.trigger_count == 1 { "" } else { "s" },
                        reaction.consecutive_matches,
                        if reaction.frequency_secs > 0 {
                            format!(", at most once every {} s", reaction.frequency_secs)
                        } else {
                            String::new()
                        }
                    )}
                </dd>
                <dt>"Mode"</dt>
                <dd>{if reaction.dry_run { "Dry run: records what it would do, calls nothing" } else { "Acts on Heroku" }}</dd>
                <dt>"Last acted"</dt>
                <dd>{reaction.last_acted_at.map_or("never".to_string(), format_utc)}</dd>
                {blocked.map(|blocked| view! {
                    <dt>"Stopped"</dt>
                    <dd>{blocked} " (recorded once; it acts again when the live state allows)"</dd>
                })}
            </dl>
        </section>
    }
}

#[component]
pub fn ExecutionTable(executions: Vec<Execution>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Executions"</h2>
            {if executions.is_empty() {
                view! { <p class="muted">"No executions yet: the reaction has not been triggered."</p> }.into_any()
            } else {
                view! {
                    <table class="table executions">
                        <thead>
                            <tr>
                                <th>"Time"</th>
                                <th>"Monitor state"</th>
                                <th>"Outcome"</th>
                                <th>"Step"</th>
                                <th>"Heroku"</th>
                                <th class="numeric">"Duration"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {executions
                                .into_iter()
                                .map(|execution| view! {
                                    <tr>
                                        <td>{format_utc(execution.started_at)}</td>
                                        <td><StateBadge state=execution.monitor_state /></td>
                                        <td><OutcomeBadge outcome=execution.outcome /></td>
                                        <td>{execution.summary.clone()}</td>
                                        <td class="small">
                                            {execution.error_message.clone()}
                                            {execution.heroku_error_id.clone().map(|id| view! { <div class="muted">"id: " {id}</div> })}
                                            {execution.heroku_request_id.clone().map(|id| view! { <div class="muted">"request: " <code>{id}</code></div> })}
                                        </td>
                                        <td class="numeric">{execution.duration_ms.map_or("–".to_string(), |ms| format!("{ms} ms"))}</td>
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

/// Default values of a new reaction.
fn new_form(kind: ReactionKind, app: String) -> ReactionForm {
    ReactionForm {
        kind: kind.as_str().to_string(),
        app,
        call_on: "failed".into(),
        trigger_count: "1".into(),
        frequency_secs: "0".into(),
        min_quantity: "1".into(),
        max_quantity: "3".into(),
        min_release_version: "1".into(),
        enabled: Some("on".into()),
        ..ReactionForm::default()
    }
}

fn new_link(kind: ReactionKind, app: &str) -> String {
    if app.is_empty() {
        format!("/reactions/new?kind={}", kind.as_str())
    } else {
        let encoded: String = url_encode(app);
        format!("/reactions/new?kind={}&app={encoded}", kind.as_str())
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn NewReactionPage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || {
        query
            .read()
            .get("kind")
            .and_then(|kind| ReactionKind::parse(&kind))
            .unwrap_or(ReactionKind::ScaleOut)
    };
    let app = move || query.read().get("app").unwrap_or_default();
    let options = Resource::new(app, reaction_form_options);
    let create = ServerAction::<CreateReaction>::new();
    view! {
        <Title text="New reaction · Rebound" />
        <p class="breadcrumb"><a href="/reactions">"Reactions"</a></p>
        <h1>"New reaction"</h1>
        <nav class="tabs kinds" aria-label="What the reaction does">
            {move || {
                let app = app();
                ReactionKind::ALL
                    .into_iter()
                    .map(|option| {
                        let current = option == kind();
                        view! {
                            <a
                                href=new_link(option, &app)
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
        <p class="muted">{move || kind().description()}</p>
        <EditorsOnly>
        <Suspense fallback=|| view! { <p>"Asking Heroku for your apps…"</p> }>
            {move || Suspend::new(async move {
                let kind = kind();
                let app = app();
                match options.await {
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    Ok(options) if app.is_empty() || options.live.is_none() => {
                        view! { <AppChooser options kind chosen=app /> }.into_any()
                    }
                    Ok(options) => view! {
                        <ActionForm action=create attr:class="form card" attr:id="reaction-form">
                            <ReactionFields form=new_form(kind, app.clone()) kind options error=action_error(create) fixed_app=true />
                            <div class="actions">
                                <SubmitButton action=create label="Create reaction" pending_label="Creating…" />
                                <PreviewButton />
                            </div>
                        </ActionForm>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
        </EditorsOnly>
    }
}

/// The first step of a new reaction: which app it acts on. A plain GET form,
/// so it works without JavaScript.
#[component]
fn AppChooser(options: FormOptions, kind: ReactionKind, chosen: String) -> impl IntoView {
    let no_apps = options.apps.is_empty();
    view! {
        {options.live_error.clone().map(|error| view! { <p class="banner banner-error" role="alert">{error}</p> })}
        {options.app_errors.iter().map(|error| view! { <p class="banner banner-warn">{error.clone()}</p> }).collect_view()}
        {if no_apps {
            view! {
                <p class="card">
                    "No Heroku apps to act on yet. " <a href="/connections">"Connect Heroku"</a>
                    " (the sandbox works without an account), then come back."
                </p>
            }
                .into_any()
        } else {
            view! {
                <form method="get" action="/reactions/new" class="form card">
                    <input type="hidden" name="kind" value=kind.as_str() />
                    <div class="field">
                        <label for="choose-app">"Heroku app"</label>
                        <select id="choose-app" name="app">
                            {options
                                .apps
                                .iter()
                                .map(|choice| {
                                    let label = format!(
                                        "{}{} ({})",
                                        choice.app_name,
                                        if choice.simulated { " · simulated" } else { "" },
                                        choice.connection_label
                                    );
                                    view! { <option value=choice.key() selected=choice.key() == chosen>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                        <p class="hint">"The next step reads the app's process types, dynos and releases from Heroku."</p>
                    </div>
                    <div><button type="submit">"Continue with this app"</button></div>
                </form>
            }
                .into_any()
        }}
    }
}

/// Asks the server what the form's settings would do now (JavaScript only;
/// without it, the reaction's page shows the same preview once saved).
#[component]
fn PreviewButton() -> impl IntoView {
    let preview = ServerAction::<PreviewReactionForm>::new();
    let pending = preview.pending();
    let run = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::form::FromFormData;
            use wasm_bindgen::JsCast;
            let form = document()
                .get_element_by_id("reaction-form")
                .and_then(|element| element.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
            if let Some(form) = form
                && let Ok(data) = leptos::web_sys::FormData::new_with_form(&form)
                && let Ok(args) = PreviewReactionForm::from_form_data(&data)
            {
                preview.dispatch(args);
            }
        }
    };
    view! {
        <button type="button" class="secondary" on:click=run disabled=move || pending.get()>
            {move || if pending.get() { "Asking Heroku…" } else { "Preview next trigger" }}
        </button>
        <p class="preview" data-testid="form-preview" role="status">
            {move || preview.value().get().map(|result| match result {
                Ok(text) => text,
                Err(error) => error.to_string(),
            })}
        </p>
    }
}

#[component]
pub fn EditReactionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    // The form's choices come from the reaction's app, so both are loaded in
    // one resource: its result travels with the page, and hydration renders
    // exactly what the server rendered instead of fetching the choices again.
    let loaded = Resource::new(id, |id| async move {
        let detail = get_reaction(id).await?;
        let options = reaction_form_options(detail.form.app.clone()).await;
        Ok::<_, AppError>((detail, options))
    });
    let update = ServerAction::<UpdateReaction>::new();
    view! {
        <Suspense fallback=|| view! { <p>"Loading the reaction…"</p> }>
            {move || Suspend::new(async move {
                let (detail, options) = match loaded.await {
                    Ok(loaded) => loaded,
                    Err(error) => {
                        return view! {
                            <h1>"Edit reaction"</h1>
                            <p class="banner banner-error">{error.to_string()}</p>
                        }
                            .into_any();
                    }
                };
                let kind = detail.reaction.settings.kind();
                view! {
                    <Title text=format!("Edit {} · Rebound", detail.reaction.name) />
                    <p class="breadcrumb">
                        <a href="/reactions">"Reactions"</a> " / "
                        <a href=format!("/reactions/{}", detail.reaction.id)>{detail.reaction.name.clone()}</a>
                    </p>
                    <h1>"Edit reaction"</h1>
                    {match options {
                        Ok(options) => view! {
                            <ActionForm action=update attr:class="form card" attr:id="reaction-form">
                                <input type="hidden" name="id" value=detail.reaction.id.to_string() />
                                <ReactionFields form=detail.form.clone() kind options error=action_error(update) fixed_app=false />
                                <div class="actions">
                                    <SubmitButton action=update label="Save changes" pending_label="Saving…" />
                                    <PreviewButton />
                                </div>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    }}
                }
                    .into_any()
            })}
        </Suspense>
    }
}

/// The fields of the reaction form for one kind, with choices from the
/// app's live state.
#[component]
fn ReactionFields(
    form: ReactionForm,
    kind: ReactionKind,
    options: FormOptions,
    error: Signal<Option<AppError>>,
    /// The app was chosen in a first step and is shown, not edited.
    fixed_app: bool,
) -> impl IntoView {
    let live = options.live.clone().unwrap_or(LiveApp {
        process_types: vec![],
        dynos: vec![],
        current_release: None,
    });
    let chosen_app = options.apps.iter().find(|choice| choice.key() == form.app).cloned();
    let monitor_id = form.monitor_id.clone();
    let call_on_failed = form.call_on != "healthy";
    let process_type = form.process_type.clone();
    let needs_process = kind.needs_process_type();
    let sizes: Vec<&'static str> =
        PROFESSIONAL_LADDER.iter().chain(PRIVATE_LADDER.iter()).map(|size| size.as_str()).collect();
    let no_monitors = options.monitors.is_empty();
    view! {
        <ErrorBanner error fields=&FORM_FIELDS />
        <input type="hidden" name="form[kind]" value=kind.as_str() />
        <FormField label="Name" name="name" value=form.name.clone() error required=true />
        <div class="field-row">
            <div class="field">
                <label for="form-monitor_id">"Monitor"</label>
                <select id="form-monitor_id" name="form[monitor_id]" aria-describedby="field-monitor_id-error">
                    {options
                        .monitors
                        .iter()
                        .map(|monitor| {
                            let value = monitor.id.to_string();
                            let selected = value == monitor_id;
                            view! { <option value=value selected=selected>{format!("{} ({})", monitor.name, monitor.state.label())}</option> }
                        })
                        .collect_view()}
                </select>
                {no_monitors.then(|| view! { <p class="hint">"No monitors yet: " <a href="/monitors/new">"create one"</a> " first."</p> })}
                <FieldMessage name="monitor_id" error />
            </div>
            <div class="field">
                <label for="form-call_on">"Call on"</label>
                <select id="form-call_on" name="form[call_on]" aria-describedby="field-call_on-error">
                    <option value="failed" selected=call_on_failed>"Failed: act while the monitor is failing"</option>
                    <option value="healthy" selected=!call_on_failed>"Healthy: act while the monitor is healthy"</option>
                </select>
                <FieldMessage name="call_on" error />
            </div>
        </div>
        {if fixed_app {
            view! {
                <div class="field">
                    <span class="label">"Heroku app"</span>
                    <input type="hidden" name="form[app]" value=form.app.clone() />
                    <p>
                        <strong>{chosen_app.as_ref().map(|choice| choice.app_name.clone()).unwrap_or_else(|| form.app.clone())}</strong>
                        {chosen_app.as_ref().map(|choice| view! { <span class="muted">" via " {choice.connection_label.clone()}</span> })}
                        " " <SimulatedBadge simulated=chosen_app.as_ref().is_some_and(|choice| choice.simulated) />
                        " · " <a href=new_link(kind, "")>"choose another app"</a>
                    </p>
                    <FieldMessage name="app" error />
                </div>
            }
                .into_any()
        } else {
            let current = form.app.clone();
            view! {
                <div class="field">
                    <label for="form-app">"Heroku app"</label>
                    <select id="form-app" name="form[app]" aria-describedby="field-app-error">
                        {options
                            .apps
                            .iter()
                            .map(|choice| view! { <option value=choice.key() selected=choice.key() == current>{format!("{} ({})", choice.app_name, choice.connection_label)}</option> })
                            .collect_view()}
                    </select>
                    <FieldMessage name="app" error />
                </div>
            }
                .into_any()
        }}
        {needs_process.then(|| {
            let process_types = live.process_types.clone();
            view! {
                <div class="field">
                    <label for="form-process_type">"Process type"</label>
                    <select id="form-process_type" name="form[process_type]" aria-describedby="field-process_type-error">
                        {process_types
                            .into_iter()
                            .map(|(name, quantity, size)| {
                                let selected = name == process_type;
                                let label = format!("{name} ({quantity} × {size})");
                                view! { <option value=name selected=selected>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                    <p class="hint">"From the app's live formation."</p>
                    <FieldMessage name="process_type" error />
                </div>
            }
        })}
        {match kind {
            ReactionKind::ScaleOut => view! {
                <FormField label="Maximum dyno quantity" name="max_quantity" kind="number" value=form.max_quantity.clone() error required=true
                    hint="Scale out adds one dyno per trigger and stops here." />
            }
            .into_any(),
            ReactionKind::ScaleIn => view! {
                <FormField label="Minimum dyno quantity" name="min_quantity" kind="number" value=form.min_quantity.clone() error required=true
                    hint="Scale in removes one dyno per trigger and stops here; 0 is allowed." />
            }
            .into_any(),
            ReactionKind::ScaleUp => view! {
                <FormField label="Maximum dyno size" name="max_size" value=form.max_size.clone() error required=true list="dyno-sizes"
                    hint="E.g. performance-l. The old names 1X, 2X and PX are accepted." />
            }
            .into_any(),
            ReactionKind::ScaleDown => view! {
                <FormField label="Minimum dyno size" name="min_size" value=form.min_size.clone() error required=true list="dyno-sizes"
                    hint="E.g. standard-1x. The old names 1X, 2X and PX are accepted." />
            }
            .into_any(),
            ReactionKind::RestartDyno => view! {
                <FormField label="Dyno name" name="dyno_name" value=form.dyno_name.clone() error required=true list="live-dynos"
                    hint="E.g. web.1; the list shows the app's dynos now." />
            }
            .into_any(),
            ReactionKind::RestartAll => view! { <p class="muted">"Every dyno of the app restarts on each trigger."</p> }.into_any(),
            ReactionKind::Rollback => {
                let hint = match live.current_release {
                    Some(version) => format!("The app's newest release is v{version}. The reaction never rolls back below this version."),
                    None => "The reaction never rolls back below this version.".to_string(),
                };
                view! {
                    <div class="field">
                        <label for="form-min_release_version">"Minimum release version"</label>
                        <input id="form-min_release_version" name="form[min_release_version]" type="number"
                            value=form.min_release_version.clone() required=true aria-describedby="field-min_release_version-error" />
                        <p class="hint">{hint}</p>
                        <FieldMessage name="min_release_version" error />
                    </div>
                }
                .into_any()
            }
            ReactionKind::OneOff => view! {
                <div class="field">
                    <label for="form-command">"Command"</label>
                    <textarea id="form-command" name="form[command]" rows="2" aria-describedby="field-command-error">{form.command.clone()}</textarea>
                    <p class="hint">"Sent to Heroku exactly as typed and run in a detached one-off dyno."</p>
                    <FieldMessage name="command" error />
                </div>
                <div class="field-row">
                    <FormField label="Dyno size (optional)" name="size" value=form.size.clone() error list="dyno-sizes" />
                    <FormField label="Time to live in seconds (optional)" name="time_to_live_secs" kind="number"
                        value=form.time_to_live_secs.clone() error hint="At most 86400 (one day)." />
                </div>
            }
            .into_any(),
        }}
        <datalist id="dyno-sizes">
            {sizes.into_iter().map(|size| view! { <option value=size></option> }).collect_view()}
        </datalist>
        <datalist id="live-dynos">
            {live.dynos.iter().map(|dyno| view! { <option value=dyno.clone()></option> }).collect_view()}
        </datalist>
        <div class="field-row">
            <FormField label="Trigger count" name="trigger_count" kind="number" value=form.trigger_count.clone() error
                hint="Matching checks in a row before it acts; then it acts on every further match." />
            <FormField label="Frequency (seconds)" name="frequency_secs" kind="number" value=form.frequency_secs.clone() error
                hint="Minimum time between two runs; 0 acts on every matching check." />
        </div>
        <div class="checkboxes">
            <FormCheckbox label="Dry run: record what it would do, call nothing" name="dry_run" checked=form.dry_run.is_some() />
            <FormCheckbox label="Enabled" name="enabled" checked=form.enabled.is_some() />
        </div>
    }
}
