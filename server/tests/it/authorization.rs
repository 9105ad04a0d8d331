//! Every server function and every REST API route, called as every kind of
//! caller: the ones that must be refused are, and a member or token of
//! another team never receives this team's data. A server function or route
//! missing from its table fails the test, so new ones must join it.

use std::collections::BTreeSet;

use app::accounts::Role;
use app::connections::ConnectionKind;
use app::state::Settings;
use app::storage::Db;
use app::storage::accounts::{self as store, NewInvitationRow};
use app::time::now_ms;

use serde_json::json;
use server::sandbox::Sandbox;

use crate::api::{
    Body, CALLERS as TOKEN_CALLERS, Caller as TokenCaller, Fixture as ApiFixture, conforms, openapi,
};
use crate::support::{
    Client, TestServer, add_connection, add_team, add_user, heartbeat_monitor, on_each_backend,
    scale_out_reaction, unique_email, webhook_channel,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Viewer,
    Editor,
    Admin,
    Owner,
    /// The owner of another team.
    Outsider,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Viewer,
    Caller::Editor,
    Caller::Admin,
    Caller::Owner,
    Caller::Outsider,
];

/// Who may call a server function.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Members of the team whose data it touches, with at least this role.
    Team(Role),
}

/// The fixture: team A with one member per role, and team B's owner.
struct Fixture {
    db: Db,
    team_a: i64,
    team_b: i64,
    owner_id: i64,
    sandbox: Sandbox,
    /// A team A connection to a seeded sandbox account, and one of its apps.
    connection_id: i64,
    app_name: String,
}

/// Arguments for one call; may create the objects the call acts on.
type Args = Vec<(&'static str, String)>;

async fn arguments(endpoint: &str, fixture: &Fixture) -> Args {
    let db = &fixture.db;
    let a =
        |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
    match endpoint {
        "viewer"
        | "setup_needed"
        | "logout"
        | "list_members"
        | "list_invitations"
        | "take_new_invitation" => vec![],
        "setup" => a(&[
            ("email", "late@x.test"),
            ("password", "long enough password"),
            ("team_name", "Late"),
        ]),
        "login" => a(&[("email", "nobody@x.test"), ("password", "wrong password")]),
        "switch_team" => vec![("team_id", fixture.team_a.to_string())],
        "create_team" => a(&[("team_name", "Scratch")]),
        "change_password" => {
            a(&[("current_password", "wrong password"), ("new_password", "another long password")])
        }
        "change_role" => {
            let target = throwaway_member(db, fixture.team_a).await;
            vec![("user_id", target.to_string()), ("role", "editor".into())]
        }
        "remove_member" => {
            let target = throwaway_member(db, fixture.team_a).await;
            vec![("user_id", target.to_string())]
        }
        "create_invitation" => a(&[("role", "viewer"), ("note", "")]),
        "revoke_invitation" => {
            let id = invitation(db, fixture.team_a, fixture.owner_id).await.0;
            vec![("invitation_id", id.to_string())]
        }
        "invitation_details" => {
            let token = invitation(db, fixture.team_a, fixture.owner_id).await.1;
            vec![("token", token)]
        }
        "sign_up" => {
            let token = invitation(db, fixture.team_a, fixture.owner_id).await.1;
            vec![
                ("token", token),
                ("email", unique_email()),
                ("password", "long enough password".into()),
            ]
        }
        "connect_api_key" => a(&[("api_key", "HRKU-not-a-real-key")]),
        "start_oauth" => a(&[("target", "heroku")]),
        "connect_sandbox" | "list_connections" => vec![],
        "disconnect_connection" => {
            let (id, _) = add_connection(
                db,
                &fixture.sandbox,
                fixture.team_a,
                fixture.owner_id,
                ConnectionKind::Sandbox,
                None,
            )
            .await;
            vec![("connection_id", id.to_string())]
        }
        "list_heroku_apps" => vec![("connection_id", fixture.connection_id.to_string())],
        "heroku_app_details" | "refresh_heroku_app" => vec![
            ("connection_id", fixture.connection_id.to_string()),
            ("app", fixture.app_name.clone()),
        ],
        "join_team" => {
            // A third team, so joining does not make anyone a member of A.
            let (team_c, owner_c) = add_team(db, "Team C", &unique_email()).await;
            let token = invitation(db, team_c, owner_c).await.1;
            vec![("token", token)]
        }
        "list_monitors" => a(&[("state", ""), ("after", "")]),
        "create_monitor" => {
            let name = unique_email();
            vec![
                ("form[name]", name),
                ("form[kind]", "heartbeat".into()),
                ("form[grace_secs]", "60".into()),
            ]
        }
        "get_monitor" | "delete_monitor" | "pause_monitor" | "resume_monitor"
        | "check_monitor_now" => {
            vec![("id", heartbeat_monitor(db, fixture.team_a).await.to_string())]
        }
        "monitor_history" => {
            vec![
                ("id", heartbeat_monitor(db, fixture.team_a).await.to_string()),
                ("range", "24h".into()),
            ]
        }
        "update_monitor" => vec![
            ("id", heartbeat_monitor(db, fixture.team_a).await.to_string()),
            ("form[name]", unique_email()),
            ("form[kind]", "heartbeat".into()),
            ("form[grace_secs]", "30".into()),
        ],
        "list_reactions" => vec![],
        "reaction_form_options" => {
            vec![("app", format!("{}:{}", fixture.connection_id, fixture.app_name))]
        }
        "create_reaction" | "preview_reaction_form" => reaction_form(fixture, None).await,
        "update_reaction" => {
            let id = team_a_reaction(fixture).await;
            let mut args = reaction_form(fixture, None).await;
            args.push(("id", id.to_string()));
            args
        }
        "get_reaction" | "preview_reaction" | "delete_reaction" => {
            vec![("id", team_a_reaction(fixture).await.to_string())]
        }
        "list_api_tokens" | "api_reference" => vec![],
        "create_api_token" => {
            a(&[("name", "deploy script"), ("role", "viewer"), ("expires_in_days", "")])
        }
        "revoke_api_token" => {
            let token = app::api::ssr::tokens::issue(
                db,
                fixture.team_a,
                "throwaway",
                Role::Viewer,
                Some(fixture.owner_id),
                None,
            )
            .await
            .unwrap();
            vec![("token_id", token.id.to_string())]
        }
        "export_team_config" => a(&[("format", "yaml")]),
        "import_team_config" => {
            let text = format!(
                "version: 1\nmonitors:\n- name: {}\n  kind: heartbeat\n  grace_secs: 60\n",
                unique_email()
            );
            vec![("text", text)]
        }
        "set_reaction_enabled" => {
            vec![("id", team_a_reaction(fixture).await.to_string()), ("enabled", "false".into())]
        }
        "list_notifications" => vec![],
        "create_notification_channel" => vec![
            ("form[name]", unique_email()),
            ("form[kind]", "webhook".into()),
            ("form[url]", "http://127.0.0.1:9/hook".into()),
        ],
        "delete_notification_channel" | "test_notification_channel" => {
            vec![("channel_id", team_a_channel(fixture).await.to_string())]
        }
        "add_notification_rule" => vec![
            ("event", "monitor_failed".into()),
            ("channel_id", team_a_channel(fixture).await.to_string()),
        ],
        "delete_notification_rule" => {
            let channel = team_a_channel(fixture).await;
            let rule = app::storage::notifications::add_rule(
                db,
                fixture.team_a,
                channel,
                app::notifications::EventKind::MonitorFailed,
                now_ms(),
            )
            .await
            .unwrap();
            vec![("rule_id", rule.to_string())]
        }
        "get_overview" | "timeline_filter_options" => vec![],
        "get_timeline" => vec![("query[app]", fixture.app_name.clone())],
        other => {
            panic!("server function {other} has no arguments in the authorization test; add it")
        }
    }
}

fn access(endpoint: &str) -> Access {
    match endpoint {
        "viewer" | "setup_needed" | "setup" | "login" | "logout" | "invitation_details"
        | "sign_up" => Access::Public,
        "switch_team" | "create_team" | "change_password" | "join_team" => Access::SignedIn,
        "list_members" | "list_monitors" | "get_monitor" | "monitor_history"
        | "list_connections" | "list_heroku_apps" | "heroku_app_details" | "refresh_heroku_app" => {
            Access::Team(Role::Viewer)
        }
        "create_monitor" | "update_monitor" | "delete_monitor" | "pause_monitor"
        | "resume_monitor" | "check_monitor_now" => Access::Team(Role::Editor),
        "list_reactions" | "get_reaction" | "preview_reaction" | "export_team_config"
        | "api_reference" => Access::Team(Role::Viewer),
        "get_overview" | "get_timeline" | "timeline_filter_options" => Access::Team(Role::Viewer),
        "import_team_config" => Access::Team(Role::Editor),
        "list_notifications" => Access::Team(Role::Viewer),
        "test_notification_channel" | "add_notification_rule" | "delete_notification_rule" => {
            Access::Team(Role::Editor)
        }
        "create_notification_channel" | "delete_notification_channel" => Access::Team(Role::Admin),
        "create_reaction"
        | "update_reaction"
        | "delete_reaction"
        | "set_reaction_enabled"
        | "preview_reaction_form"
        | "reaction_form_options" => Access::Team(Role::Editor),
        "change_role"
        | "remove_member"
        | "create_invitation"
        | "revoke_invitation"
        | "list_invitations"
        | "take_new_invitation"
        | "connect_api_key"
        | "start_oauth"
        | "connect_sandbox"
        | "disconnect_connection"
        | "list_api_tokens"
        | "create_api_token"
        | "revoke_api_token" => Access::Team(Role::Admin),
        other => {
            panic!("server function {other} has no access rule in the authorization test; add it")
        }
    }
}

fn expect_refused(access: Access, caller: Caller) -> bool {
    let role = match caller {
        Caller::Anonymous => None,
        Caller::Viewer => Some(Role::Viewer),
        Caller::Editor => Some(Role::Editor),
        Caller::Admin => Some(Role::Admin),
        Caller::Owner | Caller::Outsider => Some(Role::Owner),
    };
    match access {
        Access::Public => false,
        Access::SignedIn => role.is_none(),
        Access::Team(minimum) => match caller {
            // The outsider is an owner, but of team B. Calls that act on team
            // A objects must be refused; calls without an object id act on
            // the outsider's own team, which the leak check covers.
            Caller::Outsider => false,
            _ => role.is_none_or(|own| own < minimum),
        },
    }
}

/// Calls an outsider must be refused although their role would allow them:
/// they name an object of team A.
fn names_team_a_object(endpoint: &str) -> bool {
    matches!(
        endpoint,
        "change_role"
            | "remove_member"
            | "revoke_invitation"
            | "switch_team"
            | "get_monitor"
            | "monitor_history"
            | "update_monitor"
            | "delete_monitor"
            | "pause_monitor"
            | "resume_monitor"
            | "check_monitor_now"
            | "disconnect_connection"
            | "list_heroku_apps"
            | "heroku_app_details"
            | "refresh_heroku_app"
            | "get_reaction"
            | "preview_reaction"
            | "update_reaction"
            | "delete_reaction"
            | "set_reaction_enabled"
            | "revoke_api_token"
            | "delete_notification_channel"
            | "test_notification_channel"
            | "add_notification_rule"
            | "delete_notification_rule"
    )
}

async fn throwaway_member(db: &Db, team: i64) -> i64 {
    add_user(db, &unique_email(), team, Role::Viewer).await
}

/// A new scale-out reaction of team A on the fixture's app.
async fn team_a_reaction(fixture: &Fixture) -> i64 {
    scale_out_reaction(&fixture.db, fixture.team_a, fixture.connection_id, &fixture.app_name).await
}

/// Creates a webhook channel of team A that points at a closed local port.
async fn team_a_channel(fixture: &Fixture) -> i64 {
    webhook_channel(&fixture.db, fixture.team_a, &unique_email(), "http://127.0.0.1:9/hook").await
}

/// A reaction form for team A's connection and monitor, with a new name.
async fn reaction_form(fixture: &Fixture, _id: Option<i64>) -> Args {
    let monitor = heartbeat_monitor(&fixture.db, fixture.team_a).await;
    vec![
        ("form[name]", unique_email()),
        ("form[kind]", "scale_out".into()),
        ("form[monitor_id]", monitor.to_string()),
        ("form[app]", format!("{}:{}", fixture.connection_id, fixture.app_name)),
        ("form[call_on]", "failed".into()),
        ("form[process_type]", "web".into()),
        ("form[max_quantity]", "3".into()),
        ("form[enabled]", "on".into()),
    ]
}

async fn invitation(db: &Db, team: i64, created_by: i64) -> (i64, String) {
    let token = app::accounts::ssr::random_token();
    let row = NewInvitationRow {
        team_id: team,
        role: Role::Viewer,
        token_hash: &app::accounts::ssr::token_hash(&token),
        note: "",
        created_by: Some(created_by),
        created_at: now_ms(),
        expires_at: now_ms() + 3_600_000,
    };
    (store::create_invitation(db, &row).await.unwrap(), token)
}

fn email_of(caller: Caller) -> Option<&'static str> {
    match caller {
        Caller::Anonymous => None,
        Caller::Viewer => Some("viewer@team-a.test"),
        Caller::Editor => Some("editor@team-a.test"),
        Caller::Admin => Some("admin@team-a.test"),
        Caller::Owner => Some("owner@team-a.test"),
        Caller::Outsider => Some("owner@team-b.test"),
    }
}

async fn client_for(server: &TestServer, caller: Caller) -> Client {
    match email_of(caller) {
        Some(email) => server.client().signed_in(email).await,
        None => server.client(),
    }
}

#[tokio::test]
async fn every_server_function_checks_its_caller() {
    on_each_backend(|db| async move {
        let (team_a, owner_id) = add_team(&db, "Team A", "owner@team-a.test").await;
        add_user(&db, "admin@team-a.test", team_a, Role::Admin).await;
        add_user(&db, "editor@team-a.test", team_a, Role::Editor).await;
        add_user(&db, "viewer@team-a.test", team_a, Role::Viewer).await;
        let (team_b, _) = add_team(&db, "Team B", "owner@team-b.test").await;
        let server = TestServer::start(db.clone()).await;
        let sandbox = server.sandbox.sandbox.clone();
        let (connection_id, account) =
            add_connection(&db, &sandbox, team_a, owner_id, ConnectionKind::Sandbox, None).await;
        let app_name = format!("shop-{}", &account.id[..6]);
        let fixture =
            Fixture { db: db.clone(), team_a, team_b, owner_id, sandbox, connection_id, app_name };

        let mut endpoints: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.trim_start_matches("/api/").to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(endpoints.len() >= 25, "server functions are registered: {endpoints:?}");
        // Calls that end or replace the caller's session run last.
        endpoints.sort_by_key(|endpoint| matches!(endpoint.as_str(), "logout" | "sign_up"));

        let mut clients = Vec::new();
        for caller in CALLERS {
            clients.push((caller, client_for(&server, caller).await));
        }
        let mut failures = Vec::new();
        for endpoint in &endpoints {
            let rule = access(endpoint);
            for (caller, client) in &clients {
                let args = arguments(endpoint, &fixture).await;
                let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let reply = client.call(endpoint, &form).await;
                let mut refused_expected = expect_refused(rule, *caller);
                if *caller == Caller::Outsider && names_team_a_object(endpoint) {
                    refused_expected = true;
                }
                if reply.is_refusal() != refused_expected {
                    failures.push(format!(
                        "{endpoint} as {caller:?}: expected {}, got HTTP {} {}",
                        if refused_expected { "a refusal" } else { "no refusal" },
                        reply.status,
                        reply.text
                    ));
                }
                if *caller == Caller::Anonymous && refused_expected {
                    assert_eq!(
                        reply.error_kind().as_deref(),
                        Some("Unauthenticated"),
                        "{endpoint}"
                    );
                }
                if *caller == Caller::Outsider && reply.text.contains("team-a.test") {
                    failures
                        .push(format!("{endpoint} as outsider leaked team A data: {}", reply.text));
                }
                // Put every signed-in caller back in their own team, which
                // create_team, join_team and switch_team change.
                if let Some(email) = email_of(*caller) {
                    let home =
                        if *caller == Caller::Outsider { fixture.team_b } else { fixture.team_a };
                    let back = client.call("switch_team", &[("team_id", &home.to_string())]).await;
                    if back.status != 200 && !matches!(endpoint.as_str(), "logout" | "sign_up") {
                        failures.push(format!(
                            "{email} could not switch back after {endpoint}: {}",
                            back.text
                        ));
                    }
                }
            }
        }
        server.stop().await;
        assert!(failures.is_empty(), "authorization failures:\n{}", failures.join("\n"));
    })
    .await;
}

/// Who may call a route: the minimum role, and whether its path names an
/// object of the token's team (so another team's token gets 404).
struct Route {
    method: &'static str,
    path: &'static str,
    minimum: Role,
    names_object: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    minimum: Role,
    names_object: bool,
) -> Route {
    Route { method, path, minimum, names_object }
}

/// Every route of the API. A route of the OpenAPI document missing here
/// fails the test, so new routes must join it.
const ROUTES: &[Route] = &[
    route("GET", "/api/v1/monitors", Role::Viewer, false),
    route("POST", "/api/v1/monitors", Role::Editor, false),
    route("GET", "/api/v1/monitors/{id}", Role::Viewer, true),
    route("PUT", "/api/v1/monitors/{id}", Role::Editor, true),
    route("DELETE", "/api/v1/monitors/{id}", Role::Editor, true),
    route("POST", "/api/v1/monitors/{id}/pause", Role::Editor, true),
    route("POST", "/api/v1/monitors/{id}/resume", Role::Editor, true),
    route("POST", "/api/v1/monitors/{id}/check", Role::Editor, true),
    route("GET", "/api/v1/monitors/{id}/checks", Role::Viewer, true),
    route("GET", "/api/v1/monitors/{id}/state-changes", Role::Viewer, true),
    route("GET", "/api/v1/reactions", Role::Viewer, false),
    route("POST", "/api/v1/reactions", Role::Editor, false),
    route("GET", "/api/v1/reactions/{id}", Role::Viewer, true),
    route("PUT", "/api/v1/reactions/{id}", Role::Editor, true),
    route("DELETE", "/api/v1/reactions/{id}", Role::Editor, true),
    route("POST", "/api/v1/reactions/{id}/enable", Role::Editor, true),
    route("POST", "/api/v1/reactions/{id}/disable", Role::Editor, true),
    route("GET", "/api/v1/reactions/{id}/preview", Role::Viewer, true),
    route("GET", "/api/v1/executions", Role::Viewer, false),
    route("GET", "/api/v1/executions/{id}", Role::Viewer, true),
    route("GET", "/api/v1/connections", Role::Viewer, false),
    route("POST", "/api/v1/connections", Role::Admin, false),
    route("DELETE", "/api/v1/connections/{id}", Role::Admin, true),
    route("GET", "/api/v1/connections/{id}/apps", Role::Viewer, true),
    route("GET", "/api/v1/connections/{id}/apps/{app}", Role::Viewer, true),
    route("GET", "/api/v1/config", Role::Viewer, false),
    route("POST", "/api/v1/config", Role::Editor, false),
];

/// Builds the concrete path and body of one call, creating the objects it
/// acts on.
async fn api_request(route: &Route, fixture: &ApiFixture) -> (String, Body) {
    let with_id = |id: i64| route.path.replace("{id}", &id.to_string());
    let monitor_body = || json!({"name": unique_email(), "kind": "heartbeat", "grace_secs": 30});
    match (route.method, route.path) {
        ("POST", "/api/v1/monitors") => (route.path.into(), Body::Json(monitor_body())),
        ("PUT", "/api/v1/monitors/{id}") => {
            (with_id(fixture.monitor().await), Body::Json(monitor_body()))
        }
        (_, path) if path.starts_with("/api/v1/monitors/{id}") => {
            (with_id(fixture.monitor().await), Body::Empty)
        }
        ("POST", "/api/v1/reactions") | ("PUT", "/api/v1/reactions/{id}") => {
            let body = json!({
                "name": unique_email(),
                "kind": "scale_out",
                "monitor_id": fixture.monitor().await,
                "connection_id": fixture.connection_id,
                "app": fixture.app_name,
                "call_on": "failed",
                "process_type": "web",
                "max_quantity": 3,
            });
            let path = if route.method == "PUT" {
                with_id(fixture.reaction().await)
            } else {
                route.path.into()
            };
            (path, Body::Json(body))
        }
        (_, path) if path.starts_with("/api/v1/reactions/{id}") => {
            (with_id(fixture.reaction().await), Body::Empty)
        }
        (_, "/api/v1/executions/{id}") => (with_id(fixture.execution().await), Body::Empty),
        ("POST", "/api/v1/connections") => {
            (route.path.into(), Body::Json(json!({"api_key": "HRKU-not-a-real-key"})))
        }
        ("DELETE", "/api/v1/connections/{id}") => {
            let (id, _) = add_connection(
                &fixture.db,
                &fixture.server.sandbox.sandbox,
                fixture.team_a,
                fixture.owner_a,
                ConnectionKind::Sandbox,
                None,
            )
            .await;
            (with_id(id), Body::Empty)
        }
        (_, "/api/v1/connections/{id}/apps") => (with_id(fixture.connection_id), Body::Empty),
        (_, "/api/v1/connections/{id}/apps/{app}") => {
            (with_id(fixture.connection_id).replace("{app}", &fixture.app_name), Body::Empty)
        }
        ("POST", "/api/v1/config") => {
            let yaml =
                format!("version: 1\nmonitors:\n- name: {}\n  kind: heartbeat\n", unique_email());
            (route.path.into(), Body::Yaml(yaml))
        }
        (_, path) => (path.into(), Body::Empty),
    }
}

fn token_role(caller: TokenCaller) -> Option<Role> {
    match caller {
        TokenCaller::Anonymous => None,
        TokenCaller::Viewer => Some(Role::Viewer),
        TokenCaller::Editor => Some(Role::Editor),
        TokenCaller::Admin | TokenCaller::Outsider => Some(Role::Admin),
    }
}

#[tokio::test]
async fn every_api_route_checks_its_token() {
    on_each_backend(|db| async move {
        let fixture = ApiFixture::new(db.clone(), Settings::default()).await;
        let document = openapi(&fixture.server).await;

        let documented: BTreeSet<(String, String)> = document.operations().into_iter().collect();
        let listed: BTreeSet<(String, String)> =
            ROUTES.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
        assert_eq!(documented, listed, "the OpenAPI document and the ROUTES table differ");

        let mut failures = Vec::new();
        for route in ROUTES {
            for caller in TOKEN_CALLERS {
                let (path, body) = api_request(route, &fixture).await;
                let reply = fixture.api(caller).send(route.method, &path, body).await;
                let expected = match token_role(caller) {
                    None => Some(401),
                    Some(role) if role < route.minimum => Some(403),
                    Some(_) if caller == TokenCaller::Outsider && route.names_object => Some(404),
                    Some(_) => None,
                };
                let refused = matches!(reply.status, 401 | 403 | 404);
                match expected {
                    Some(status) if reply.status != status => failures.push(format!(
                        "{} {path} as {caller:?}: expected {status}, got {} {}",
                        route.method, reply.status, reply.text
                    )),
                    None if refused || reply.status >= 500 => failures.push(format!(
                        "{} {path} as {caller:?}: expected no refusal, got {} {}",
                        route.method, reply.status, reply.text
                    )),
                    _ => {}
                }
                if caller == TokenCaller::Outsider
                    && (reply.text.contains("team-a")
                        || reply.text.contains(&fixture.account_email))
                {
                    failures.push(format!(
                        "{} {path} as outsider leaked team A data: {}",
                        route.method, reply.text
                    ));
                }
                if caller != TokenCaller::Anonymous
                    && !reply.headers.contains_key("ratelimit-remaining")
                {
                    failures
                        .push(format!("{} {path}: no RateLimit-Remaining header", route.method));
                }
                if let Err(error) = conforms(&document, route.method, route.path, &reply) {
                    failures.push(error);
                }
            }
        }
        fixture.server.stop().await;
        assert!(failures.is_empty(), "API authorization failures:\n{}", failures.join("\n"));
    })
    .await;
}

/// Plain GET routes outside the API that read team data with the session.
const SESSION_ROUTES: &[&str] = &["/timeline/export.csv", "/timeline/export.json"];

#[tokio::test]
async fn every_export_route_checks_its_caller() {
    on_each_backend(|db| async move {
        let (team_a, owner_id) = add_team(&db, "Team A", "owner@team-a.test").await;
        add_user(&db, "admin@team-a.test", team_a, Role::Admin).await;
        add_user(&db, "editor@team-a.test", team_a, Role::Editor).await;
        add_user(&db, "viewer@team-a.test", team_a, Role::Viewer).await;
        add_team(&db, "Team B", "owner@team-b.test").await;
        let server = TestServer::start(db.clone()).await;
        let (connection_id, account) = add_connection(
            &db,
            &server.sandbox.sandbox,
            team_a,
            owner_id,
            ConnectionKind::Sandbox,
            None,
        )
        .await;
        let app_name = format!("shop-{}", &account.id[..6]);
        let reaction = scale_out_reaction(&db, team_a, connection_id, &app_name).await;
        let record = app::storage::reactions::get(&db, team_a, reaction).await.unwrap().unwrap();
        app::storage::reactions::write_execution(
            &db,
            &app::storage::reactions::NewExecution {
                team_id: team_a,
                reaction: &record.reaction,
                check_id: 1,
                monitor_state: "failed",
                outcome: app::reactions::ExecutionOutcome::Succeeded,
                summary: "web 2 → 3 on team-a.test",
                detail: None,
                error: None,
                started_at: now_ms(),
                duration_ms: Some(1),
            },
        )
        .await
        .unwrap();

        let mut failures = Vec::new();
        for caller in CALLERS {
            let client = client_for(&server, caller).await;
            for path in SESSION_ROUTES {
                let response = client.get(path).await;
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                let expected = if caller == Caller::Anonymous { 401 } else { 200 };
                if status != expected {
                    failures.push(format!(
                        "{path} as {caller:?}: expected {expected}, got {status} {text}"
                    ));
                }
                let sees_team_a = text.contains("team-a.test");
                match caller {
                    Caller::Outsider | Caller::Anonymous if sees_team_a => {
                        failures.push(format!("{path} as {caller:?} leaked team A data: {text}"));
                    }
                    Caller::Viewer | Caller::Editor | Caller::Admin | Caller::Owner
                        if !sees_team_a =>
                    {
                        failures.push(format!(
                            "{path} as {caller:?} misses team A's execution: {text}"
                        ));
                    }
                    _ => {}
                }
            }
        }
        server.stop().await;
        assert!(failures.is_empty(), "export authorization failures:\n{}", failures.join("\n"));
    })
    .await;
}
