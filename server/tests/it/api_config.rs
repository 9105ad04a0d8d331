//! Configuration files through the API (export, dry run, import) and a
//! script's whole path: token, monitor, reaction, trigger, executions.

use app::accounts::Role;
use app::connections::ConnectionKind;
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, FinishedCheck};
use app::time::now_ms;
use serde_json::{Value, json};
use server::worker::clock::Clock;
use server::worker::reactions::{Engine, EngineConfig};

use crate::api::{Api, ApiReply, Body, conforms, openapi, token};
use crate::support::{
    TestServer, add_connection, add_team, app_state, connect_account, on_each_backend, seeded_app,
};

/// Creates through `api` one monitor of each kind and reactions of several
/// kinds on the sandbox account's apps.
async fn populate(api: &Api, connection_id: i64, shop: &str, blog: &str) {
    let monitors = [
        json!({"name": "checkout", "kind": "http", "url": "https://shop.example.com/health",
            "headers": ["X-Probe: rebound"], "expected_status": "200,204", "interval_secs": 60,
            "fail_after": 3, "max_response_ms": 800, "verify_tls": false}),
        json!({"name": "home page", "kind": "keyword", "url": "https://www.example.com/",
            "keyword": "out of (stock|service)", "keyword_mode": "absent", "keyword_regex": true}),
        json!({"name": "database", "kind": "tcp", "host": "db.example.com", "port": 5432, "timeout_secs": 5}),
        json!({"name": "nightly export", "kind": "heartbeat", "interval_secs": 3600, "grace_secs": 900}),
    ];
    for monitor in monitors {
        let reply = api.post("/api/v1/monitors", monitor).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let reactions = [
        json!({"name": "add web dyno", "kind": "scale_out", "monitor": "checkout", "connection_id": connection_id,
            "app": shop, "call_on": "failed", "process_type": "web", "max_quantity": 4, "frequency_secs": 300}),
        json!({"name": "bigger web", "kind": "scale_up", "monitor": "checkout", "connection_id": connection_id,
            "app": shop, "call_on": "failed", "process_type": "web", "max_size": "performance-l", "trigger_count": 3}),
        json!({"name": "restart web.1", "kind": "restart_dyno", "monitor": "home page", "connection_id": connection_id,
            "app": shop, "call_on": "failed", "dyno_name": "web.1", "dry_run": true}),
        json!({"name": "warm cache", "kind": "one_off", "monitor": "database", "connection_id": connection_id,
            "app": blog, "call_on": "healthy", "command": "bin/warm --all 'caches'", "size": "Standard-2X",
            "time_to_live_secs": 600, "enabled": false}),
    ];
    for reaction in reactions {
        let reply = api.post("/api/v1/reactions", reaction).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
}

async fn export(api: &Api, format: &str) -> String {
    let reply = api.get(&format!("/api/v1/config?format={format}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.text
}

async fn import(api: &Api, text: &str, dry_run: bool) -> ApiReply {
    api.send("POST", &format!("/api/v1/config?dry_run={dry_run}"), Body::Yaml(text.to_string()))
        .await
}

/// `(action, object, name)` of an import report.
fn actions(reply: &ApiReply) -> Vec<(String, String, String)> {
    let changes = reply.json["changes"].as_array().unwrap_or_else(|| panic!("{}", reply.text));
    changes
        .iter()
        .map(|change| {
            let text = |key: &str| change[key].as_str().unwrap().to_string();
            (text("action"), text("object"), text("name"))
        })
        .collect()
}

/// Starts a server and creates a team connected to a new sandbox account;
/// returns the server, the team and owner ids, the connection id and the
/// account.
async fn team_with_account(
    db: &Db,
    name: &str,
) -> (TestServer, i64, i64, i64, server::sandbox::SandboxAccount) {
    let (team, owner) = add_team(db, name, &format!("owner@{}.test", name.to_lowercase())).await;
    let server = TestServer::start(db.clone()).await;
    let (connection_id, account) =
        add_connection(db, &server.sandbox.sandbox, team, owner, ConnectionKind::Sandbox, None)
            .await;
    (server, team, owner, connection_id, account)
}

/// Creates a team with a connection to `account` and returns an editor
/// token's client.
async fn team_with(
    db: &Db,
    server: &TestServer,
    name: &str,
    account: &server::sandbox::SandboxAccount,
) -> Api {
    let (team, owner) = add_team(db, name, &format!("owner@{}.test", name.to_lowercase())).await;
    connect_account(
        db,
        &server.sandbox.sandbox,
        team,
        owner,
        ConnectionKind::Sandbox,
        None,
        account,
    )
    .await;
    Api::new(server, Some(&token(db, team, Role::Editor, Some(owner)).await))
}

#[tokio::test]
async fn export_import_round_trip_reproduces_configuration() {
    on_each_backend(|db| async move {
        let (server, team_a, owner_a, connection_id, account) =
            team_with_account(&db, "Source").await;
        let source =
            Api::new(&server, Some(&token(&db, team_a, Role::Editor, Some(owner_a)).await));
        populate(
            &source,
            connection_id,
            &seeded_app(&account, "shop"),
            &seeded_app(&account, "blog"),
        )
        .await;
        let yaml = export(&source, "yaml").await;
        assert!(yaml.contains("connection: "), "{yaml}");
        assert!(!yaml.contains("connection_id"), "files name connections by email: {yaml}");

        // An empty team with the same Heroku account connected.
        let copy = team_with(&db, &server, "Copy", &account).await;
        let dry = import(&copy, &yaml, true).await;
        assert_eq!(dry.status, 200, "{}", dry.text);
        assert_eq!(dry.json["dry_run"], json!(true));
        let planned = actions(&dry);
        assert_eq!(planned.len(), 8, "{planned:?}");
        assert!(planned.iter().all(|(action, _, _)| action == "create"), "{planned:?}");
        let nothing = copy.get("/api/v1/monitors").await;
        assert_eq!(nothing.json["items"], json!([]), "a dry run changes nothing");

        let applied = import(&copy, &yaml, false).await;
        assert_eq!(applied.status, 200, "{}", applied.text);
        assert_eq!(actions(&applied), planned);
        assert_eq!(export(&copy, "yaml").await, yaml, "the copy exports the same file");

        let again = import(&copy, &yaml, false).await;
        assert!(
            actions(&again).iter().all(|(action, _, _)| action == "unchanged"),
            "{}",
            again.text
        );

        // The same through JSON, into a third team.
        let json_text = export(&source, "json").await;
        let third = team_with(&db, &server, "Third", &account).await;
        let reply = third
            .send("POST", "/api/v1/config", Body::Json(serde_json::from_str(&json_text).unwrap()))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(export(&third, "json").await, json_text);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn import_reports_updates_and_rejects_bad_files() {
    on_each_backend(|db| async move {
        let (server, team, owner, connection_id, account) = team_with_account(&db, "Ops").await;
        let api = Api::new(&server, Some(&token(&db, team, Role::Editor, Some(owner)).await));
        populate(&api, connection_id, &seeded_app(&account, "shop"), &seeded_app(&account, "blog"))
            .await;
        let yaml = export(&api, "yaml").await;

        let changed = yaml.replacen("interval_secs: 60", "interval_secs: 120", 1).replacen(
            "max_quantity: 4",
            "max_quantity: 5",
            1,
        );
        let dry = import(&api, &changed, true).await;
        let changes = dry.json["changes"].as_array().unwrap();
        let checkout = changes.iter().find(|change| change["name"] == "checkout").unwrap();
        assert_eq!(
            (checkout["action"].clone(), checkout["fields"].clone()),
            (json!("update"), json!(["interval_secs"]))
        );
        let scale = changes.iter().find(|change| change["name"] == "add web dyno").unwrap();
        assert_eq!(
            (scale["action"].clone(), scale["fields"].clone()),
            (json!("update"), json!(["max_quantity"]))
        );
        assert_eq!(changes.iter().filter(|change| change["action"] == "unchanged").count(), 6);
        assert_eq!(export(&api, "yaml").await, yaml, "a dry run changes nothing");

        let typo = yaml.replacen("grace_secs:", "grace_sec:", 1);
        let line = typo.lines().position(|line| line.contains("grace_sec:")).unwrap() + 1;
        let reply = import(&api, &typo, false).await;
        assert_eq!((reply.status, reply.code()), (422, Some("invalid")), "{}", reply.text);
        let message = reply.json["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("Line {line}, monitors[3]: unknown field `grace_sec`")),
            "{message}"
        );

        let bad_port = yaml.replacen("port: 5432", "port: 70000", 1);
        let line = bad_port.lines().position(|line| line.contains("port: 70000")).unwrap() + 1;
        let reply = import(&api, &bad_port, false).await;
        assert_eq!(reply.json["error"]["field"], json!("monitors[1].port"), "{}", reply.text);
        assert!(
            reply.json["error"]["message"].as_str().unwrap().starts_with(&format!("Line {line}, ")),
            "{}",
            reply.text
        );

        let unknown_monitor = yaml.replacen("monitor: home page", "monitor: nowhere", 1);
        let reply = import(&api, &unknown_monitor, false).await;
        assert_eq!(reply.json["error"]["field"], json!("reactions[2].monitor"), "{}", reply.text);
        let unknown_app =
            yaml.replacen(&format!("app: {}", seeded_app(&account, "blog")), "app: no-such-app", 1);
        let reply = import(&api, &unknown_app, false).await;
        assert_eq!(reply.json["error"]["field"], json!("reactions[3].app"), "{}", reply.text);
        assert_eq!(export(&api, "yaml").await, yaml, "rejected files change nothing");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn credentials_in_headers_stay_out_of_files() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let server = TestServer::start(db.clone()).await;
        let api = Api::new(&server, Some(&token(&db, team, Role::Editor, Some(owner)).await));
        let created = api
            .post(
                "/api/v1/monitors",
                json!({"name": "private api", "kind": "http", "url": "https://api.example.com/",
                "headers": ["Authorization: Bearer s3cret", "Accept: application/json"]}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let yaml = export(&api, "yaml").await;
        assert!(!yaml.contains("s3cret"), "{yaml}");
        assert!(yaml.contains("Authorization: <redacted>"), "{yaml}");

        let reply = import(&api, &yaml, false).await;
        assert_eq!(
            actions(&reply),
            [("unchanged".to_string(), "monitor".to_string(), "private api".to_string())]
        );
        let stored = api.get(&format!("/api/v1/monitors/{}", created.json["id"])).await;
        assert_eq!(stored.json["spec"]["headers"][0], json!("Authorization: Bearer s3cret"));

        let renamed = yaml.replace("name: private api", "name: new api");
        let reply = import(&api, &renamed, false).await;
        assert_eq!(reply.json["error"]["field"], json!("monitors[0].headers"), "{}", reply.text);
        server.stop().await;
    })
    .await;
}

/// What a script does with a token: create a monitor and a reaction on a
/// sandbox app, let the monitor fail, and read the executions.
#[tokio::test]
async fn script_creates_monitor_and_reaction_and_reads_executions() {
    on_each_backend(|db| async move {
        let (server, team, owner, connection_id, account) = team_with_account(&db, "Ops").await;
        let api = Api::new(&server, Some(&token(&db, team, Role::Editor, Some(owner)).await));
        let shop = seeded_app(&account, "shop");

        let connections = api.get("/api/v1/connections").await;
        assert_eq!(connections.json["items"][0]["id"], json!(connection_id));
        let apps = api.get(&format!("/api/v1/connections/{connection_id}/apps")).await;
        assert!(apps.text.contains(&shop), "{}", apps.text);
        let monitor = api.post("/api/v1/monitors", json!({"name": "nightly", "kind": "heartbeat", "interval_secs": 10, "grace_secs": 0})).await;
        assert_eq!(monitor.status, 201, "{}", monitor.text);
        assert!(monitor.json["heartbeat_url"].as_str().unwrap().contains("/ping/"), "{}", monitor.text);
        let monitor_id = monitor.json["id"].as_i64().unwrap();
        let reaction = api
            .post("/api/v1/reactions", json!({"name": "add web dyno", "kind": "scale_out", "monitor_id": monitor_id,
                "connection_id": connection_id, "app": shop, "call_on": "failed", "process_type": "web", "max_quantity": 3}))
            .await;
        assert_eq!(reaction.status, 201, "{}", reaction.text);
        let reaction_id = reaction.json["id"].as_i64().unwrap();
        let preview = api.get(&format!("/api/v1/reactions/{reaction_id}/preview")).await;
        assert_eq!(preview.json["preview"], json!("Next trigger: web 2 → 3 (max 3)"), "{}", preview.text);

        // The missed heartbeat, as the worker records it, and the engine's turn.
        let record = monitors_store::get(&db, team, monitor_id).await.unwrap().unwrap();
        let now = now_ms();
        let missed = FinishedCheck {
            monitor_id,
            revision: record.revision,
            lease_owner: None,
            checked_at: now,
            passed: false,
            response_ms: None,
            status_code: None,
            reason: Some("heartbeat missed".into()),
            next_check_at: now + 10_000,
            is_ping: false,
            stale_if_pinged_after: None,
        };
        monitors_store::record_checks(&db, &[missed]).await.unwrap();
        let engine = Engine::new(app_state(db.clone(), &server.sandbox.url), EngineConfig::default(), Clock::system());
        assert_eq!(engine.run_once().await, 1);

        let document = openapi(&server).await;
        conforms(&document, "POST", "/api/v1/monitors", &monitor).unwrap();
        conforms(&document, "POST", "/api/v1/reactions", &reaction).unwrap();
        let failed = api.get(&format!("/api/v1/monitors/{monitor_id}")).await;
        assert_eq!(failed.json["state"], json!("failed"));
        let executions = api.get(&format!("/api/v1/executions?reaction_id={reaction_id}")).await;
        conforms(&document, "GET", "/api/v1/executions", &executions).unwrap();
        let execution: &Value = &executions.json["items"][0];
        assert!(execution["detail"]["step"].is_object(), "{}", executions.text);
        assert_eq!(execution["outcome"], json!("succeeded"), "{}", executions.text);
        assert_eq!(execution["summary"], json!("web 2 → 3"));
        let one = api.get(&format!("/api/v1/executions/{}", execution["id"])).await;
        assert_eq!(one.json, *execution);
        conforms(&document, "GET", "/api/v1/executions/{id}", &one).unwrap();
        let checks = api.get(&format!("/api/v1/monitors/{monitor_id}/checks")).await;
        conforms(&document, "GET", "/api/v1/monitors/{id}/checks", &checks).unwrap();
        assert_eq!(checks.json["items"][0]["reason"], json!("heartbeat missed"));

        let disabled = api.send("POST", &format!("/api/v1/reactions/{reaction_id}/disable"), Body::Empty).await;
        assert_eq!(disabled.json["status"], json!("disabled"));
        server.stop().await;
    })
    .await;
}
