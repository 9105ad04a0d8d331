//! The HTML shell, the router and the layout around every signed-in page.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::accounts::{
    AccountPage, InvitePage, LoginPage, Logout, NewTeamPage, Role, SetupPage, SwitchTeam, TeamPage,
    Viewer, get_viewer,
};
use crate::api::{ApiReferencePage, ApiSettingsPage};
use crate::components::{action_succeeded, reload_when};
use crate::connections::{ConnectionAppsPage, ConnectionsPage, HerokuAppPage};
use crate::monitors::{EditMonitorPage, MonitorPage, MonitorsPage, NewMonitorPage};
use crate::notifications::NotificationsPage;
use crate::reactions::{EditReactionPage, NewReactionPage, ReactionPage, ReactionsPage};
use crate::team_config::ConfigPage;
use crate::timeline::{OverviewPage, TimelinePage};

/// Renders the document around the app (on the server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The signed-in user, loaded once per page and shared through context.
pub type ViewerResource = Resource<Result<Option<Viewer>, crate::AppError>>;

pub fn use_viewer() -> ViewerResource {
    expect_context::<ViewerResource>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let viewer: ViewerResource = Resource::new(|| (), |_| get_viewer());
    provide_context(viewer);

    // Browser tests wait for this marker: clicks before hydration are lost.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="rebound" href="/pkg/rebound.css" />
        <Title text="Rebound" />
        <Router>
            // Async rendering waits for every resource before sending the page,
            // so pages are complete without JavaScript (streamed Suspense
            // content needs a script to move into place).
            <Routes fallback=NotFound>
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/invite/:token") view=InvitePage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/timeline") view=TimelinePage ssr=SsrMode::Async />
                    <Route path=path!("/team") view=TeamPage ssr=SsrMode::Async />
                    <Route path=path!("/teams/new") view=NewTeamPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/connections") view=ConnectionsPage ssr=SsrMode::Async />
                    <Route path=path!("/connections/:id") view=ConnectionAppsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/connections/:id/apps/:app")
                        view=HerokuAppPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/reactions") view=ReactionsPage ssr=SsrMode::Async />
                    <Route path=path!("/reactions/new") view=NewReactionPage ssr=SsrMode::Async />
                    <Route path=path!("/reactions/:id") view=ReactionPage ssr=SsrMode::Async />
                    <Route path=path!("/reactions/:id/edit") view=EditReactionPage ssr=SsrMode::Async />
                    <Route path=path!("/monitors") view=MonitorsPage ssr=SsrMode::Async />
                    <Route path=path!("/monitors/new") view=NewMonitorPage ssr=SsrMode::Async />
                    <Route path=path!("/monitors/:id") view=MonitorPage ssr=SsrMode::Async />
                    <Route path=path!("/monitors/:id/edit") view=EditMonitorPage ssr=SsrMode::Async />
                    <Route path=path!("/settings/api") view=ApiSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/settings/api/reference") view=ApiReferencePage ssr=SsrMode::Async />
                    <Route path=path!("/settings/config") view=ConfigPage ssr=SsrMode::Async />
                    <Route path=path!("/settings/notifications") view=NotificationsPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Header, navigation and team switcher around the signed-in pages.
#[component]
fn Layout() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "Rebound"
            </a>
            <nav class="nav">
                <A href="/">"Overview"</A>
                <A href="/monitors">"Monitors"</A>
                <A href="/reactions">"Reactions"</A>
                <A href="/timeline">"Timeline"</A>
                <A href="/team">"Team"</A>
                <A href="/connections">"Connections"</A>
                <A href="/settings/notifications">"Notifications"</A>
                <A href="/settings/api">"API"</A>
            </nav>
            <Suspense>
                {move || Suspend::new(async move {
                    viewer.await.ok().flatten().map(|viewer| view! { <UserMenu viewer /> })
                })}
            </Suspense>
        </header>
        <main class="page">
            <Outlet />
        </main>
    }
}

#[component]
fn UserMenu(viewer: Viewer) -> impl IntoView {
    let switch = ServerAction::<SwitchTeam>::new();
    let logout = ServerAction::<Logout>::new();
    reload_when(action_succeeded(switch), None);
    reload_when(action_succeeded(logout), Some("/login".into()));
    let current_id = viewer.team.as_ref().map(|team| team.id);
    let current_name = viewer.team.as_ref().map(|team| team.name.clone()).unwrap_or_default();
    let role = viewer.role.map(Role::label).unwrap_or_default();
    // One team needs no chooser; with several, the chooser names the
    // current one, so the name is not repeated beside it.
    let team = if viewer.teams.len() > 1 {
        let options = viewer
            .teams
            .iter()
            .map(|team| {
                view! {
                    <option value=team.id.to_string() selected=Some(team.id) == current_id>
                        {team.name.clone()}
                    </option>
                }
            })
            .collect_view();
        view! {
            <ActionForm action=switch attr:class="team-switcher">
                <label for="team-switcher">"Team"</label>
                <select
                    id="team-switcher"
                    name="team_id"
                    on:change=move |event| {
                        // With JavaScript the choice applies at once; without it
                        // the Switch button submits the form.
                        if let Ok(team_id) = event_target_value(&event).parse() {
                            switch.dispatch(SwitchTeam { team_id });
                        }
                    }
                >
                    {options}
                </select>
                <noscript>
                    <button type="submit" class="secondary">"Switch"</button>
                </noscript>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span class="team-name">{current_name}</span> }.into_any()
    };
    view! {
        <div class="user-menu">
            <span class="current-team" data-testid="current-team">
                {team}
                <span class="role-badge">{role}</span>
            </span>
            <a href="/teams/new" class="subtle">"New team"</a>
            <a href="/account" class="subtle">{viewer.email.clone()}</a>
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="secondary">"Sign out"</button>
            </ActionForm>
        </div>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Title text="Overview · Rebound" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await.ok().flatten() {
                    Some(Viewer { team: Some(team), .. }) => {
                        view! { <OverviewPage team_name=team.name /> }.into_any()
                    }
                    Some(_) => {
                        view! {
                            <h1>"No team"</h1>
                            <p class="lead">
                                "You are not a member of any team. " <a href="/teams/new">"Create a team"</a>
                                " or open an invitation link from a team admin."
                            </p>
                        }
                            .into_any()
                    }
                    None => view! { <p>"Sign in to continue: " <a href="/login">"sign in"</a></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Rebound" />
        <main class="auth-page">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. " <a href="/">"Go to the overview"</a> "."</p>
        </main>
    }
}
