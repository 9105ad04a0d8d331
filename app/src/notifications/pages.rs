//! The notifications settings page: channels with their health and latest
//! attempts, "Send test", and the rules that route events to channels.

use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::components::{
    ErrorBanner, FieldMessage, FormField, SubmitButton, action_error, action_succeeded,
};
use crate::time::format_utc;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let create = ServerAction::<CreateNotificationChannel>::new();
    let delete = ServerAction::<DeleteNotificationChannel>::new();
    let test = ServerAction::<TestNotificationChannel>::new();
    let add_rule = ServerAction::<AddNotificationRule>::new();
    let delete_rule = ServerAction::<DeleteNotificationRule>::new();
    // Keyed on the ids that successful additions return, so a failed
    // submission does not reload the lists.
    let overview = Resource::new(
        move || {
            (
                create.value().get().and_then(Result::ok).map(|channel| channel.id),
                add_rule.value().get().and_then(Result::ok).map(|rule| rule.id),
                test.version().get(),
                delete.version().get(),
                delete_rule.version().get(),
            )
        },
        |_| list_notifications(),
    );
    // The form to add a channel depends only on the caller's role and the
    // instance, so it is loaded once and never re-rendered.
    let setup = Resource::new(|| (), |_| list_notifications());
    let banner_errors = Signal::derive(move || {
        action_error(delete)
            .get()
            .or_else(|| action_error(test).get())
            .or_else(|| action_error(delete_rule).get())
    });

    view! {
        <Title text="Notifications · Rebound" />
        <h1>"Notifications"</h1>
        <p class="lead">
            "Channels are where Rebound sends messages: Slack, a webhook of your own, or email. Rules choose which events go to which channel. Messages are queued and retried with backoff, so a slow receiver never delays monitors or reactions."
        </p>
        <ErrorBanner error=banner_errors />
        {move || {
            test.value()
                .get()
                .and_then(Result::ok)
                .map(|result| {
                    let class = if result.succeeded { "banner banner-ok" } else { "banner banner-error" };
                    view! {
                        <div class=class role="status" data-testid="test-result">
                            {format!("Test message to \"{}\": {}", result.channel_name, result.message)}
                        </div>
                    }
                })
        }}
        {move || {
            delete.value()
                .get()
                .and_then(Result::ok)
                .map(|name| view! { <div class="banner banner-ok" role="status">{format!("Deleted channel \"{name}\".")}</div> })
        }}
        <Suspense fallback=|| view! { <p>"Loading channels…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => {
                        view! {
                            <ChannelList overview=overview.clone() delete test />
                            <RuleList overview add_rule delete_rule />
                        }
                            .into_any()
                    }
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(setup) if setup.can_manage_channels => {
                        view! { <ChannelForm create smtp_configured=setup.smtp_configured /> }.into_any()
                    }
                    Ok(_) => {
                        view! {
                            <p class="banner banner-warn" role="status">
                                "Only team admins add and remove channels."
                            </p>
                        }
                            .into_any()
                    }
                    Err(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
}

fn health(channel: &Channel) -> (&'static str, String) {
    if channel.failing() {
        let error = channel.last_error.clone().unwrap_or_else(|| "unknown error".into());
        let since = channel.last_failure_at.map(format_utc).unwrap_or_default();
        (
            "badge badge-bad",
            format!(
                "Failing: the last {} attempts failed. Last error ({since}): {error}.",
                channel.consecutive_failures
            ),
        )
    } else if channel.consecutive_failures > 0 {
        let error = channel.last_error.clone().unwrap_or_default();
        ("badge badge-warn", format!("Last attempt failed: {error}. Rebound retries."))
    } else if let Some(at) = channel.last_success_at {
        ("badge badge-ok", format!("Working: last delivered {}.", format_utc(at)))
    } else {
        ("badge", "Nothing sent yet.".to_string())
    }
}

#[component]
fn ChannelList(
    overview: NotificationsOverview,
    delete: ServerAction<DeleteNotificationChannel>,
    test: ServerAction<TestNotificationChannel>,
) -> impl IntoView {
    if overview.channels.is_empty() {
        return view! {
            <section class="card">
                <h2>"Channels"</h2>
                <p class="muted">"No channel yet."</p>
            </section>
        }
        .into_any();
    }
    let manage = overview.can_manage_channels;
    let can_test = overview.can_manage_rules;
    view! {
        <section class="card">
            <h2>"Channels"</h2>
            <table class="table" data-testid="channels">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Type"</th>
                        <th>"Target"</th>
                        <th>"Health"</th>
                        <th>"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {overview
                        .channels
                        .into_iter()
                        .map(|channel| {
                            let id = channel.id.to_string();
                            let (badge, text) = health(&channel);
                            let badge_text = if channel.failing() { "Failing" } else if channel.consecutive_failures > 0 { "Retrying" } else if channel.last_success_at.is_some() { "Working" } else { "New" };
                            let test_label = format!("Send test to {}", channel.name);
                            let delete_label = format!("Delete channel {}", channel.name);
                            let kind = if channel.signed { format!("{} (signed)", channel.kind.label()) } else { channel.kind.label().to_string() };
                            let attempts = channel.attempts.clone();
                            view! {
                                <tr>
                                    <td>{channel.name.clone()}</td>
                                    <td>{kind}</td>
                                    <td><code>{channel.target.clone()}</code></td>
                                    <td>
                                        <span class=badge>{badge_text}</span>
                                        <p class="hint">{text}</p>
                                        <AttemptList attempts />
                                    </td>
                                    <td class="row-actions">
                                        {can_test.then(|| {
                                            let id = id.clone();
                                            view! {
                                                <ActionForm action=test attr:class="inline-form">
                                                    <input type="hidden" name="channel_id" value=id />
                                                    <button type="submit" class="secondary" aria-label=test_label>"Send test"</button>
                                                </ActionForm>
                                            }
                                        })}
                                        {manage.then(|| {
                                            view! {
                                                <details class="danger-zone">
                                                    <summary>"Delete…"</summary>
                                                    <ActionForm action=delete attr:class="inline-form">
                                                        <input type="hidden" name="channel_id" value=id />
                                                        <button type="submit" class="danger" aria-label=delete_label>
                                                            "Delete channel, its rules and history"
                                                        </button>
                                                    </ActionForm>
                                                </details>
                                            }
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

#[component]
fn AttemptList(attempts: Vec<Attempt>) -> impl IntoView {
    (!attempts.is_empty()).then(|| {
        view! {
            <details>
                <summary>"Latest attempts"</summary>
                <ul class="attempts">
                    {attempts
                        .into_iter()
                        .map(|attempt| {
                            let result = if attempt.succeeded {
                                match attempt.status_code {
                                    Some(code) => format!("delivered ({code})"),
                                    None => "delivered".to_string(),
                                }
                            } else {
                                format!("failed: {}", attempt.error.unwrap_or_default())
                            };
                            view! {
                                <li>
                                    {format!(
                                        "{} · {} · delivery {} · {} · {} ms",
                                        format_utc(attempt.attempted_at),
                                        EventKind::parse(&attempt.event).map_or("Test message", EventKind::label),
                                        attempt.delivery_id,
                                        result,
                                        attempt.duration_ms,
                                    )}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </details>
        }
    })
}

#[component]
fn RuleList(
    overview: NotificationsOverview,
    add_rule: ServerAction<AddNotificationRule>,
    delete_rule: ServerAction<DeleteNotificationRule>,
) -> impl IntoView {
    let rule_error = action_error(add_rule);
    let manage = overview.can_manage_rules;
    let channels = overview.channels.clone();
    view! {
        <section class="card">
            <h2>"Rules"</h2>
            {if overview.rules.is_empty() {
                view! { <p class="muted">"No rule yet: no event is sent anywhere."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="rules">
                        <thead>
                            <tr>
                                <th>"Event"</th>
                                <th>"Channel"</th>
                                <th>"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {overview
                                .rules
                                .into_iter()
                                .map(|rule| {
                                    let id = rule.id.to_string();
                                    let label = format!("Remove rule {} to {}", rule.event.label(), rule.channel_name);
                                    view! {
                                        <tr>
                                            <td>{rule.event.label()}</td>
                                            <td>{rule.channel_name.clone()}</td>
                                            <td>
                                                {manage.then(|| view! {
                                                    <ActionForm action=delete_rule attr:class="inline-form">
                                                        <input type="hidden" name="rule_id" value=id />
                                                        <button type="submit" class="secondary" aria-label=label>"Remove"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            {(manage && !channels.is_empty()).then(|| view! {
                <ActionForm action=add_rule attr:class="form">
                    <h3>"Add a rule"</h3>
                    <ErrorBanner error=rule_error fields=&["event", "channel_id"] />
                    <div class="field-row">
                        <div class="field">
                            <label for="rule-event">"Event"</label>
                            <select id="rule-event" name="event" aria-describedby="field-event-error">
                                {EventKind::ALL
                                    .into_iter()
                                    .map(|kind| view! { <option value=kind.as_str()>{kind.label()}</option> })
                                    .collect_view()}
                            </select>
                            <FieldMessage name="event" error=rule_error />
                        </div>
                        <div class="field">
                            <label for="rule-channel">"Channel"</label>
                            <select id="rule-channel" name="channel_id" aria-describedby="field-channel_id-error">
                                {channels
                                    .iter()
                                    .map(|channel| view! { <option value=channel.id.to_string()>{channel.name.clone()}</option> })
                                    .collect_view()}
                            </select>
                            <FieldMessage name="channel_id" error=rule_error />
                        </div>
                    </div>
                    <SubmitButton action=add_rule label="Add rule" pending_label="Adding…" />
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn ChannelForm(
    create: ServerAction<CreateNotificationChannel>,
    smtp_configured: bool,
) -> impl IntoView {
    let error = action_error(create);
    let added = move || create.value().get().and_then(Result::ok);
    // The URL and signing secret should not stay in the fields once saved.
    let form = NodeRef::<leptos::html::Form>::new();
    let saved = action_succeeded(create);
    Effect::new(move |_| {
        if saved.get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    view! {
        <section class="card">
            <h2>"Add a channel"</h2>
            {move || added().map(|channel| view! {
                <div class="banner banner-ok" role="status">{format!("Added channel \"{}\". Add a rule to send events to it.", channel.name)}</div>
            })}
            <ActionForm action=create node_ref=form attr:class="form">
                <ErrorBanner error fields=&["name", "kind", "url", "signing_secret", "recipients"] />
                <FormField
                    label="Name"
                    name="name"
                    value=""
                    error
                    required=true
                    hint="How rules and the page refer to the channel, e.g. \"On-call Slack\"."
                />
                <div class="field">
                    <label for="form-kind">"Type"</label>
                    <select id="form-kind" name="form[kind]" aria-describedby="field-kind-error">
                        <option value="slack">"Slack incoming webhook"</option>
                        <option value="webhook">"Webhook (JSON POST)"</option>
                        <option value="email">{if smtp_configured { "Email" } else { "Email (needs SMTP settings on the server)" }}</option>
                    </select>
                    <FieldMessage name="kind" error />
                </div>
                <FormField
                    label="URL (Slack and webhook)"
                    name="url"
                    value=""
                    kind="url"
                    error
                    hint="Stored encrypted and never shown again; the page shows only its host."
                />
                <FormField
                    label="Signing secret (webhook, optional)"
                    name="signing_secret"
                    value=""
                    kind="password"
                    error
                    hint="16 to 256 characters. Each request then carries X-Rebound-Signature: sha256=<hex HMAC-SHA256 of the body>."
                />
                <FormField
                    label="Recipients (email)"
                    name="recipients"
                    value=""
                    error
                    hint="Email addresses separated by commas."
                />
                <SubmitButton action=create label="Add channel" pending_label="Adding…" />
            </ActionForm>
        </section>
    }
}
