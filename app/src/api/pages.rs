//! The API settings page (tokens) and the API reference page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::app::use_viewer;
use crate::components::{ErrorBanner, Field, SubmitButton, action_error};
use crate::time::format_utc;

fn expiry_label(days: u32) -> String {
    match days {
        0 => "Never".to_string(),
        365 => "1 year".to_string(),
        days => format!("{days} days"),
    }
}

fn optional_time(at: Option<i64>) -> String {
    at.map(format_utc).unwrap_or_else(|| "—".to_string())
}

/// API tokens of the team: create (shown once), list and revoke. Admins
/// only; others see why not.
#[component]
pub fn ApiSettingsPage() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Title text="API · Rebound" />
        <h1>"API"</h1>
        <p class="lead">
            "Scripts reach Rebound's REST API at " <code>"/api/v1"</code> " with a token: "
            <code>"Authorization: Bearer rbd_…"</code> ". A token acts for this team with its role. See the "
            <a href="/settings/api/reference">"API reference"</a> " for the endpoints, the "
            <a href="/api/v1/openapi.json">"OpenAPI document"</a> ", and "
            <a href="/settings/config">"configuration files"</a> " to keep monitors and reactions in git."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = viewer.await.ok().flatten().is_some_and(|viewer| viewer.can(Role::Admin));
                if admin {
                    view! { <Tokens /> }.into_any()
                } else {
                    view! {
                        <p class="banner banner-error" role="alert">
                            "Only team admins and owners manage API tokens. Ask one for a token."
                        </p>
                    }
                        .into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_tokens(),
    );
    let error = action_error(create);
    let revoke_error = action_error(revoke);
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="card">
            <h2>"Create a token"</h2>
            <ActionForm action=create attr:class="form">
                <ErrorBanner error fields=&["name", "role", "expires_in_days"] />
                <Field label="Name" name="name" hint="What uses it, e.g. deploy script." required=true error />
                <Suspense>
                    {move || Suspend::new(async move {
                        let grantable = tokens.await.map(|tokens| tokens.grantable).unwrap_or_default();
                        view! {
                            <div class="field">
                                <label for="token-role">"Role"</label>
                                <select id="token-role" name="role">
                                    {grantable
                                        .into_iter()
                                        .map(|role| {
                                            view! {
                                                <option value=role.as_str() selected=role == Role::Editor>
                                                    {role.label()}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                                <p class="hint">"At most your own role."</p>
                            </div>
                        }
                    })}
                </Suspense>
                <div class="field">
                    <label for="token-expiry">"Expires after"</label>
                    <select id="token-expiry" name="expires_in_days">
                        {EXPIRY_CHOICES
                            .into_iter()
                            .map(|days| {
                                view! { <option value=days.to_string()>{expiry_label(days)}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <SubmitButton action=create label="Create token" pending_label="Creating…" />
            </ActionForm>
            {move || {
                created()
                    .map(|new| {
                        view! {
                            <div class="banner banner-ok" role="status">
                                <p>
                                    "Token " <strong>{new.name.clone()}</strong> " (" {new.role.label()}
                                    ") created. Copy it now: it is shown only once."
                                </p>
                                <input class="copy-field" readonly=true aria-label="New API token" value=new.token />
                            </div>
                        }
                    })
            }}
        </section>
        <section class="card">
            <h2>"Tokens"</h2>
            <ErrorBanner error=revoke_error />
            <Suspense fallback=|| view! { <p>"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.tokens.is_empty() => {
                            view! { <p class="muted">"No API tokens yet."</p> }.into_any()
                        }
                        Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                        Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TokenTable(list: ApiTokens, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    let now = list.now;
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Token"</th>
                    <th>"Role"</th>
                    <th>"Created"</th>
                    <th>"Last used"</th>
                    <th>"Expires"</th>
                    <th>"Status"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .tokens
                    .into_iter()
                    .map(|token| {
                        let status = token.status(now);
                        let created =
                            format!("{} by {}", format_utc(token.created_at), token.created_by.clone().unwrap_or_else(|| "the operator".into()));
                        let revoke_label = format!("Revoke {}", token.name);
                        view! {
                            <tr>
                                <td>{token.name.clone()}</td>
                                <td><code>{format!("{}…", token.prefix)}</code></td>
                                <td>{token.role.label()}</td>
                                <td>{created}</td>
                                <td>{optional_time(token.last_used_at)}</td>
                                <td>{token.expires_at.map(format_utc).unwrap_or_else(|| "Never".into())}</td>
                                <td>{status}</td>
                                <td>
                                    {(status == "Active")
                                        .then(|| {
                                            view! {
                                                // Revoking cannot be undone, so it takes a second click.
                                                <details class="danger-zone">
                                                    <summary>"Revoke…"</summary>
                                                    <ActionForm action=revoke attr:class="inline-form">
                                                        <input type="hidden" name="token_id" value=token.id.to_string() />
                                                        <button type="submit" class="danger" aria-label=revoke_label>
                                                            "Revoke now"
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
    }
}

/// Every endpoint of the API, grouped by tag, from the OpenAPI document.
#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let endpoints = Resource::new(|| (), |_| api_reference());
    view! {
        <Title text="API reference · Rebound" />
        <h1>"API reference"</h1>
        <p class="lead">
            "Every endpoint takes and returns JSON under " <code>"/api/v1"</code> " and needs "
            <code>"Authorization: Bearer <token>"</code> " (create tokens on the " <a href="/settings/api">"API page"</a>
            "). Errors have the body " <code>"{\"error\": {\"code\", \"message\", \"field\"}}"</code>
            ". Each response carries " <code>"RateLimit-Limit"</code> ", " <code>"RateLimit-Remaining"</code> " and "
            <code>"RateLimit-Reset"</code> ". The full schema is the " <a href="/api/v1/openapi.json">"OpenAPI document"</a>
            "."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Ok(endpoints) => {
                        let mut tags: Vec<String> = endpoints.iter().map(|endpoint| endpoint.tag.clone()).collect();
                        tags.sort();
                        tags.dedup();
                        tags.into_iter()
                            .map(|tag| {
                                let rows: Vec<Endpoint> =
                                    endpoints.iter().filter(|endpoint| endpoint.tag == tag).cloned().collect();
                                view! {
                                    <section class="card">
                                        <h2>{tag.clone()}</h2>
                                        <table class="table" data-testid=format!("endpoints-{}", tag.to_lowercase())>
                                            <tbody>
                                                {rows
                                                    .into_iter()
                                                    .map(|endpoint| {
                                                        view! {
                                                            <tr>
                                                                <td><code>{endpoint.method}</code></td>
                                                                <td><code>{endpoint.path}</code></td>
                                                                <td>{endpoint.summary}</td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    </section>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
