//! Pages: the team's connections, a connection's apps, and one app's
//! formation, dynos and releases.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{ErrorBanner, Field, SubmitButton, action_error};
use crate::time::format_utc;

/// The "Simulated" badge every sandbox connection carries.
#[component]
fn SimulatedBadge(simulated: bool) -> impl IntoView {
    simulated.then(|| {
        view! {
            <span class="badge badge-simulated" title="This account lives in Rebound's sandbox, not at Heroku">
                "Simulated"
            </span>
        }
    })
}

fn state_class(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Ok => "badge badge-ok",
        ConnectionState::NeedsReauthorization | ConnectionState::Revoked => "badge badge-bad",
    }
}

fn rate_limit_text(connection: &Connection) -> String {
    match (connection.rate_limit_remaining, connection.rate_limit_observed_at) {
        (Some(remaining), Some(at)) => format!("{remaining} left at {}", format_utc(at)),
        _ => "not seen yet".into(),
    }
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let query = use_query_map();
    let connect_key = ServerAction::<ConnectApiKey>::new();
    let connect_sandbox = ServerAction::<ConnectSandbox>::new();
    let start_oauth = ServerAction::<StartOauth>::new();
    let disconnect = ServerAction::<DisconnectConnection>::new();
    let overview = Resource::new(
        move || {
            (
                connect_key.version().get(),
                connect_sandbox.version().get(),
                disconnect.version().get(),
            )
        },
        |_| list_connections(),
    );

    // An API key error stays beside its form until something else happens
    // on the page; after another connection or a removal it is stale.
    Effect::new(move |previous: Option<(usize, usize)>| {
        let versions = (connect_sandbox.version().get(), disconnect.version().get());
        if previous.is_some_and(|previous| previous != versions) {
            connect_key.value().set(None);
        }
        versions
    });

    // With JavaScript the OAuth start returns the consent page's URL; a
    // plain form post is redirected there by the server instead.
    Effect::new(move |_| {
        if let Some(Ok(url)) = start_oauth.value().get() {
            let _ = window().location().set_href(&url);
        }
    });

    let oauth_error = move || {
        query.read().get("oauth_error").map(|code| {
            oauth_failure_message(&code).unwrap_or("Connecting through OAuth failed.").to_string()
        })
    };
    let connected_now = move || query.read().get("connected").is_some();
    let action_errors = Signal::derive(move || {
        action_error(connect_sandbox)
            .get()
            .or_else(|| action_error(start_oauth).get())
            .or_else(|| action_error(disconnect).get())
    });
    let added = move || {
        connect_key
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| connect_sandbox.value().get().and_then(Result::ok))
    };
    let removed = move || disconnect.value().get().and_then(Result::ok);

    view! {
        <Title text="Connections · Rebound" />
        <h1>"Heroku connections"</h1>
        <p class="lead">
            "Reactions act on Heroku through these accounts. A team can hold several, for example a service account and a personal one."
        </p>
        {move || oauth_error().map(|message| view! { <div class="banner banner-error" role="alert">{message}</div> })}
        <Show when=connected_now>
            <div class="banner banner-ok" role="status">"Heroku account connected."</div>
        </Show>
        {move || {
            added()
                .map(|connection| {
                    view! {
                        <div class="banner banner-ok" role="status">
                            "Connected " {connection.email} "."
                        </div>
                    }
                })
        }}
        {move || {
            removed()
                .map(|result| {
                    view! {
                        <div class="banner banner-ok" role="status">
                            <p>
                                "Disconnected " {result.email} "."
                                {result.revoked_at_heroku.then_some(" Heroku revoked the authorization.")}
                            </p>
                            {result.note.map(|note| view! { <p>{note}</p> })}
                        </div>
                    }
                })
        }}
        <ErrorBanner error=action_errors />
        <Suspense fallback=|| view! { <p>"Loading connections…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => {
                        view! {
                            <ConnectionList overview=overview.clone() disconnect />
                            {overview
                                .can_manage
                                .then(|| {
                                    view! {
                                        <ConnectForms
                                            overview=overview.clone()
                                            connect_key
                                            connect_sandbox
                                            start_oauth
                                        />
                                    }
                                })}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ConnectionList(
    overview: ConnectionsOverview,
    disconnect: ServerAction<DisconnectConnection>,
) -> impl IntoView {
    if overview.connections.is_empty() {
        return view! {
            <section class="card">
                <p class="muted">"No Heroku account is connected yet."</p>
            </section>
        }
        .into_any();
    }
    let manage = overview.can_manage;
    view! {
        <section class="card">
            <table class="table">
                <thead>
                    <tr>
                        <th>"Heroku account"</th>
                        <th>"Method"</th>
                        <th>"Connected"</th>
                        <th>"State"</th>
                        <th>"API calls left"</th>
                        <th>"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {overview
                        .connections
                        .into_iter()
                        .map(|connection| {
                            let id = connection.id.to_string();
                            let apps_href = format!("/connections/{}", connection.id);
                            let label = format!("Disconnect {}", connection.email);
                            view! {
                                <tr>
                                    <td>
                                        {connection.email.clone()} " "
                                        <SimulatedBadge simulated=connection.simulated />
                                    </td>
                                    <td>{connection.kind.label()}</td>
                                    <td>{format_utc(connection.connected_at)}</td>
                                    <td>
                                        <span class=state_class(connection.state)>{connection.state.label()}</span>
                                        {connection
                                            .state_reason
                                            .clone()
                                            .map(|reason| view! { <p class="hint">{reason}</p> })}
                                    </td>
                                    <td>{rate_limit_text(&connection)}</td>
                                    <td class="row-actions">
                                        <a href=apps_href>"Apps"</a>
                                        {manage
                                            .then(|| {
                                                view! {
                                                    <details class="danger-zone">
                                                        <summary>"Disconnect…"</summary>
                                                        <ActionForm action=disconnect attr:class="inline-form">
                                                            <input type="hidden" name="connection_id" value=id />
                                                            <button type="submit" class="danger" aria-label=label>
                                                                "Disconnect and revoke access"
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
fn ConnectForms(
    overview: ConnectionsOverview,
    connect_key: ServerAction<ConnectApiKey>,
    connect_sandbox: ServerAction<ConnectSandbox>,
    start_oauth: ServerAction<StartOauth>,
) -> impl IntoView {
    let key_error = action_error(connect_key);
    let callback_url = overview.callback_url.clone();
    view! {
        <section class="card">
            <h2>"Connect with Heroku OAuth"</h2>
            {if overview.oauth_configured {
                view! {
                    <p>
                        "Heroku asks you to sign in and to grant Rebound access to your apps (scopes identity and write-protected)."
                    </p>
                    <ActionForm action=start_oauth attr:class="inline-form">
                        <input type="hidden" name="target" value="heroku" />
                        <SubmitButton action=start_oauth label="Connect with Heroku" pending_label="Opening Heroku…" />
                    </ActionForm>
                }
                    .into_any()
            } else {
                view! {
                    <p>
                        "Signing in with Heroku (OAuth) needs an API client registered with Heroku, and this instance has none configured. Register one, for example with the Heroku CLI:"
                    </p>
                    <pre class="code-block">{format!("heroku clients:create \"Rebound\" {callback_url}")}</pre>
                    <p>
                        "Then start Rebound with the printed values as " <code>"HEROKU_OAUTH_ID"</code> " and "
                        <code>"HEROKU_OAUTH_SECRET"</code>
                        " (or --heroku-oauth-id and --heroku-oauth-secret). Heroku's Dashboard also registers clients under Account settings, Applications."
                    </p>
                }
                    .into_any()
            }}
            <p class="hint">
                "Callback URL to register: " <code data-testid="callback-url">{overview.callback_url.clone()}</code>
            </p>
        </section>
        <section class="card">
            <h2>"Connect with an API key"</h2>
            <ActionForm action=connect_key attr:class="form">
                <ErrorBanner error=key_error fields=&["api_key"] />
                <Field
                    label="Heroku API key"
                    name="api_key"
                    kind="password"
                    autocomplete="off"
                    hint="From heroku authorizations:create, or Account settings on Heroku. Rebound checks it with Heroku before saving it, and stores it encrypted."
                    required=true
                    error=key_error
                />
                <SubmitButton action=connect_key label="Connect with API key" pending_label="Checking the key…" />
            </ActionForm>
        </section>
        {overview
            .sandbox_available
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Sandbox " <SimulatedBadge simulated=true /></h2>
                        <p>
                            "The sandbox is a simulated Heroku built into Rebound. A sandbox connection gets a fresh simulated account with demo apps: a web and worker app on Standard dynos, an app on Basic dynos and an app with a dozen releases. Nothing reaches Heroku."
                        </p>
                        <div class="row-actions">
                            <ActionForm action=connect_sandbox attr:class="inline-form">
                                <SubmitButton
                                    action=connect_sandbox
                                    label="Connect a sandbox account"
                                    pending_label="Creating the account…"
                                />
                            </ActionForm>
                            <ActionForm action=start_oauth attr:class="inline-form">
                                <input type="hidden" name="target" value="sandbox" />
                                <button type="submit" class="secondary">"Connect through the sandbox's OAuth page"</button>
                            </ActionForm>
                        </div>
                    </section>
                }
            })}
    }
}

fn connection_id_param() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

#[component]
pub fn ConnectionAppsPage() -> impl IntoView {
    let connection_id = connection_id_param();
    let apps = Resource::new(
        move || connection_id.get(),
        |id| async move {
            match id {
                Some(id) => list_heroku_apps(id).await,
                None => Err(AppError::NotFound("Heroku connection".into())),
            }
        },
    );
    view! {
        <Title text="Heroku apps · Rebound" />
        <p>
            <a href="/connections">"← Connections"</a>
        </p>
        <Suspense fallback=|| view! { <p>"Loading apps from Heroku…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(list) => view! { <AppList list /> }.into_any(),
                    Err(error) => {
                        view! {
                            <h1>"Heroku apps"</h1>
                            <p class="banner banner-error" role="alert">{error.to_string()}</p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AppList(list: ConnectionApps) -> impl IntoView {
    let connection_id = list.connection.id;
    view! {
        <h1>
            "Apps of " {list.connection.email.clone()} " "
            <SimulatedBadge simulated=list.connection.simulated />
        </h1>
        <section class="card">
            {if list.apps.is_empty() {
                view! { <p class="muted">"This account has no apps."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr>
                                <th>"App"</th>
                                <th>"Region"</th>
                                <th>"Owner or team"</th>
                                <th>"Last release"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list
                                .apps
                                .into_iter()
                                .map(|app| {
                                    let href = format!("/connections/{connection_id}/apps/{}", app.name);
                                    let owner = app
                                        .team
                                        .as_ref()
                                        .map(|team| format!("team {}", team.name))
                                        .or_else(|| app.owner.as_ref().map(|owner| owner.email.clone()))
                                        .unwrap_or_default();
                                    view! {
                                        <tr>
                                            <td>
                                                <a href=href>{app.name.clone()}</a>
                                            </td>
                                            <td>{app.region.map(|region| region.name).unwrap_or_default()}</td>
                                            <td>{owner}</td>
                                            <td>{app.released_at.unwrap_or_default()}</td>
                                        </tr>
                                    }
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

#[component]
pub fn HerokuAppPage() -> impl IntoView {
    let connection_id = connection_id_param();
    let params = use_params_map();
    let app_name = Memo::new(move |_| params.read().get("app").unwrap_or_default());
    let refresh = ServerAction::<RefreshHerokuApp>::new();
    let details = Resource::new(
        move || (connection_id.get(), app_name.get(), refresh.version().get()),
        |(id, app, _)| async move {
            match id {
                Some(id) => heroku_app_details(id, app).await,
                None => Err(AppError::NotFound("Heroku connection".into())),
            }
        },
    );
    let refresh_error = action_error(refresh);
    view! {
        <Title text=move || format!("{} · Rebound", app_name.get()) />
        <p>
            {move || {
                let href = connection_id.get().map(|id| format!("/connections/{id}")).unwrap_or_default();
                view! { <a href=href>"← Apps"</a> }
            }}
        </p>
        <ErrorBanner error=refresh_error />
        <Suspense fallback=|| view! { <p>"Loading the app from Heroku…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <AppView details refresh /> }.into_any(),
                    Err(error) => {
                        view! {
                            <h1>{app_name.get_untracked()}</h1>
                            <p class="banner banner-error" role="alert">{error.to_string()}</p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AppView(details: AppDetails, refresh: ServerAction<RefreshHerokuApp>) -> impl IntoView {
    let AppDetails { connection, app, formation, dynos, releases, fetched_at } = details;
    view! {
        <h1>{app.name.clone()} " " <SimulatedBadge simulated=connection.simulated /></h1>
        <p class="lead">
            "Through " {connection.email.clone()} ". Fetched from Heroku at " {format_utc(fetched_at)} "."
        </p>
        <ActionForm action=refresh attr:class="inline-form">
            <input type="hidden" name="connection_id" value=connection.id.to_string() />
            <input type="hidden" name="app" value=app.name.clone() />
            <SubmitButton action=refresh label="Refresh" pending_label="Refreshing…" class="secondary" />
        </ActionForm>
        <section class="card">
            <h2>"Process types"</h2>
            <table class="table" data-testid="formation">
                <thead>
                    <tr>
                        <th>"Type"</th>
                        <th>"Quantity"</th>
                        <th>"Size"</th>
                        <th>"Command"</th>
                    </tr>
                </thead>
                <tbody>
                    {formation
                        .into_iter()
                        .map(|line| {
                            view! {
                                <tr>
                                    <td>{line.process_type.clone()}</td>
                                    <td>{line.quantity}</td>
                                    <td>{line.size_name().to_string()}</td>
                                    <td>
                                        <code>{line.command.clone()}</code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>"Dynos"</h2>
            {if dynos.is_empty() {
                view! { <p class="muted">"No dynos are running."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="dynos">
                        <thead>
                            <tr>
                                <th>"Dyno"</th>
                                <th>"State"</th>
                                <th>"Size"</th>
                                <th>"Release"</th>
                                <th>"Command"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {dynos
                                .into_iter()
                                .map(|dyno| {
                                    view! {
                                        <tr>
                                            <td>{dyno.name.clone()}</td>
                                            <td>{dyno.state.clone()}</td>
                                            <td>{dyno.size.clone()}</td>
                                            <td>{dyno.release.map(|release| format!("v{}", release.version))}</td>
                                            <td>
                                                <code>{dyno.command.clone()}</code>
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
        </section>
        <section class="card">
            <h2>"Newest releases"</h2>
            <table class="table" data-testid="releases">
                <thead>
                    <tr>
                        <th>"Version"</th>
                        <th>"Status"</th>
                        <th>"Description"</th>
                        <th>"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {releases
                        .into_iter()
                        .map(|release| {
                            view! {
                                <tr>
                                    <td>
                                        {format!("v{}", release.version)}
                                        {release.current.then(|| view! { <span class="badge badge-ok">"current"</span> })}
                                    </td>
                                    <td>{release.status.clone()}</td>
                                    <td>{release.description.clone()}</td>
                                    <td>{release.created_at.clone().unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
