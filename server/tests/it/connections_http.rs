//! Heroku connections through HTTP as the browser uses them: API keys,
//! the sandbox, the OAuth flow and its `state` check, app pages, and
//! disconnecting.

use std::collections::HashMap;

use app::accounts::Role;
use app::connections::ConnectionKind;
use app::connections::tokens::access_token_label;
use app::storage::Db;
use serde_json::Value;
use server::sandbox::SandboxAccount;

use crate::support::{
    Client, TEST_SECRET, TestServer, add_connection, add_team, add_user, on_each_backend,
};

async fn stored_access_token(db: &app::storage::Db, id: i64) -> Vec<u8> {
    app::storage::connections::load_tokens(db, id).await.unwrap().unwrap().access_token
}

#[tokio::test]
async fn api_key_is_checked_and_stored_encrypted() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "owner@ops.test").await;
        let server = TestServer::start(db.clone()).await;
        let client = server.client().signed_in("owner@ops.test").await;

        let empty = client.call("connect_api_key", &[("api_key", "  ")]).await;
        assert_eq!(empty.status, 422, "{}", empty.text);
        assert_eq!(empty.error_field(), Some("api_key"));
        let wrong = client.call("connect_api_key", &[("api_key", "HRKU-wrong")]).await;
        assert_eq!(wrong.error_field(), Some("api_key"));
        let message = wrong.body["Invalid"]["message"].as_str().unwrap();
        assert!(message.starts_with("Heroku rejected this API key"), "{message}");
        let listed = client.call("list_connections", &[]).await.body;
        assert_eq!(listed["connections"].as_array().unwrap().len(), 0, "nothing partial stored");

        let account = server.sandbox.sandbox.create_account(None, true);
        let reply = client.call("connect_api_key", &[("api_key", &account.api_key)]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["email"], account.email.as_str());
        assert_eq!(reply.body["kind"], "api_key");
        assert!(!reply.text.contains(&account.api_key), "the key never goes back to the browser");

        let id = reply.body["id"].as_i64().unwrap();
        let stored = stored_access_token(&db, id).await;
        let needle = account.api_key.as_bytes();
        assert!(!stored.windows(needle.len()).any(|window| window == needle), "stored encrypted");
        let key = app::state::Secrets::derive(TEST_SECRET);
        let opened = app::crypto::open_string(
            key.credential_encryption_key(),
            &access_token_label(id),
            &stored,
        );
        assert_eq!(opened.as_deref(), Ok(account.api_key.as_str()));

        let listed = client.call("list_connections", &[]).await.body;
        let connection = &listed["connections"][0];
        assert_eq!(connection["state"], "ok");
        assert!(connection["rate_limit_remaining"].as_i64().is_some());
        assert_eq!(connection["simulated"], true, "the configured Heroku is the sandbox");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sandbox_connection_shows_demo_apps() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "owner@ops.test").await;
        add_user(&db, "viewer@ops.test", team, Role::Viewer).await;
        let server = TestServer::start(db.clone()).await;
        let owner = server.client().signed_in("owner@ops.test").await;

        let connected = owner.call("connect_sandbox", &[]).await;
        assert_eq!(connected.status, 200, "{}", connected.text);
        assert_eq!(connected.body["kind"], "sandbox");
        assert_eq!(connected.body["simulated"], true);
        let id = connected.body["id"].as_i64().unwrap().to_string();

        let viewer = server.client().signed_in("viewer@ops.test").await;
        let apps = viewer.call("list_heroku_apps", &[("connection_id", &id)]).await;
        assert_eq!(apps.status, 200, "{}", apps.text);
        let names: Vec<&str> = apps.body["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let shop = names.iter().find(|name| name.starts_with("shop-")).unwrap().to_string();
        let api = names.iter().find(|name| name.starts_with("api-")).unwrap().to_string();

        let details =
            viewer.call("heroku_app_details", &[("connection_id", &id), ("app", &shop)]).await;
        assert_eq!(details.status, 200, "{}", details.text);
        let formation: HashMap<&str, (i64, &str)> = details.body["formation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                let size = line["dyno_size"]["name"].as_str().unwrap();
                (line["type"].as_str().unwrap(), (line["quantity"].as_i64().unwrap(), size))
            })
            .collect();
        assert_eq!(formation["web"], (2, "Standard-1X"));
        assert_eq!(formation["worker"], (1, "Standard-2X"));
        let dynos: Vec<&str> = details.body["dynos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(dynos, ["web.1", "web.2", "worker.1"]);
        assert_eq!(details.body["dynos"][0]["state"], "up");

        let api_details =
            viewer.call("heroku_app_details", &[("connection_id", &id), ("app", &api)]).await;
        let releases = api_details.body["releases"].as_array().unwrap();
        assert_eq!(releases.len(), 10);
        assert_eq!(
            (releases[0]["version"].as_i64(), releases[0]["current"].as_bool()),
            (Some(12), Some(true))
        );
        assert_eq!(releases[4]["status"], "failed");

        // Details are shown as fetched until someone refreshes them.
        let account_email = connected.body["email"].as_str().unwrap();
        let key = server.sandbox.sandbox.create_account(Some(account_email), false).api_key;
        let http = reqwest::Client::new();
        http.patch(format!("{}/apps/{shop}/formation/web", server.sandbox.url))
            .bearer_auth(key)
            .header("accept", "application/vnd.heroku+json; version=3")
            .json(&serde_json::json!({ "quantity": 4 }))
            .send()
            .await
            .unwrap();
        let cached =
            viewer.call("heroku_app_details", &[("connection_id", &id), ("app", &shop)]).await;
        assert_eq!(cached.body["fetched_at"], details.body["fetched_at"]);
        let fresh =
            viewer.call("refresh_heroku_app", &[("connection_id", &id), ("app", &shop)]).await;
        let web = fresh.body["formation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["type"] == "web")
            .unwrap();
        assert_eq!(web["quantity"], 4);

        let unknown =
            viewer.call("heroku_app_details", &[("connection_id", &id), ("app", "nope")]).await;
        assert_eq!(unknown.status, 502);
        assert_eq!(unknown.body["Heroku"]["message"], "Couldn't find that app.");
        server.stop().await;
    })
    .await;
}

/// Follows the OAuth flow through the sandbox's consent page; returns the
/// callback URL the browser is sent back to.
async fn consent(client: &Client, server: &TestServer, target: &str) -> String {
    let started = client.call("start_oauth", &[("target", target)]).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let authorize_url = started.body.as_str().unwrap().to_string();
    assert!(authorize_url.starts_with(&server.sandbox.url), "{authorize_url}");
    let parsed = url::Url::parse(&authorize_url).unwrap();
    let query: HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(query["scope"], "identity write-protected");
    assert_eq!(query["redirect_uri"], format!("{}/oauth/heroku/callback", server.url));

    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(&authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let form = [
        ("client_id", query["client_id"].as_str()),
        ("scope", query["scope"].as_str()),
        ("state", query["state"].as_str()),
        ("redirect_uri", query["redirect_uri"].as_str()),
        ("email", "oauth-person@sandbox.example"),
        ("decision", "allow"),
    ];
    let answer = http.post(&authorize_url).form(&form).send().await.unwrap();
    answer.headers()["location"].to_str().unwrap().to_string()
}

/// A server whose team owner is signed in and has a sandbox-kind connection.
async fn owner_with_connection(db: &Db) -> (TestServer, Client, i64, SandboxAccount) {
    let (team, owner) = add_team(db, "Ops", "owner@ops.test").await;
    let server = TestServer::start(db.clone()).await;
    let (id, account) =
        add_connection(db, &server.sandbox.sandbox, team, owner, ConnectionKind::Sandbox, None)
            .await;
    let client = server.client().signed_in("owner@ops.test").await;
    (server, client, id, account)
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn oauth_flow_connects_and_disconnect_revokes() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "owner@ops.test").await;
        let server = TestServer::start(db.clone()).await;
        let client = server.client().signed_in("owner@ops.test").await;

        let callback = consent(&client, &server, "heroku").await;
        let path = callback.strip_prefix(&server.url).unwrap();
        let back = client.get(path).await;
        let target = location(&back);
        assert!(target.starts_with("/connections?connected="), "{target}");

        let listed = client.call("list_connections", &[]).await.body;
        let connection = &listed["connections"][0];
        assert_eq!(connection["kind"], "oauth");
        assert_eq!(connection["email"], "oauth-person@sandbox.example");
        assert_eq!(connection["state"], "ok");
        let id = connection["id"].as_i64().unwrap();
        let record =
            app::storage::connections::find_connection_by_id(&db, id).await.unwrap().unwrap();
        assert!(record.has_refresh_token);
        let expires_in = record.access_token_expires_at.unwrap() - app::time::now_ms();
        assert!((28_000_000..=28_800_000).contains(&expires_in), "about 8 hours: {expires_in}");
        let authorization = record.authorization_id.clone().unwrap();

        // A replayed callback finds no flow in the session any more.
        let replay = client.get(path).await;
        assert_eq!(location(&replay), "/connections?oauth_error=state");

        let apps = client.call("list_heroku_apps", &[("connection_id", &id.to_string())]).await;
        assert_eq!(apps.body["apps"].as_array().unwrap().len(), 3, "{}", apps.text);

        let removed =
            client.call("disconnect_connection", &[("connection_id", &id.to_string())]).await;
        assert_eq!(removed.status, 200, "{}", removed.text);
        assert_eq!(removed.body["revoked_at_heroku"], true);
        assert!(server.sandbox.sandbox.is_revoked(&authorization));
        assert!(
            app::storage::connections::load_tokens(&db, id).await.unwrap().is_none(),
            "secrets deleted"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn forged_oauth_state_is_refused() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "owner@ops.test").await;
        let server = TestServer::start(db.clone()).await;
        let client = server.client().signed_in("owner@ops.test").await;

        let unsolicited = client.get("/oauth/heroku/callback?code=abc&state=forged").await;
        assert_eq!(location(&unsolicited), "/connections?oauth_error=state");

        let callback = consent(&client, &server, "heroku").await;
        let mut forged = url::Url::parse(&callback).unwrap();
        let code = forged.query_pairs().find(|(name, _)| name == "code").unwrap().1.into_owned();
        forged.query_pairs_mut().clear().append_pair("code", &code).append_pair("state", "forged");
        let refused = client.get(&forged.as_str()[server.url.len()..]).await;
        assert_eq!(location(&refused), "/connections?oauth_error=state");

        let listed = client.call("list_connections", &[]).await.body;
        assert_eq!(listed["connections"].as_array().unwrap().len(), 0);
        assert_eq!(
            server.sandbox.sandbox.calls("grant authorization_code"),
            0,
            "no code was exchanged"
        );

        let anonymous = server.client().get("/oauth/heroku/callback?code=abc&state=x").await;
        assert_eq!(location(&anonymous), "/connections?oauth_error=signed_out");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sandbox_oauth_target_labels_simulated() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "owner@ops.test").await;
        let server = TestServer::start(db.clone()).await;
        let client = server.client().signed_in("owner@ops.test").await;
        let callback = consent(&client, &server, "sandbox").await;
        let back = client.get(callback.strip_prefix(&server.url).unwrap()).await;
        assert!(location(&back).starts_with("/connections?connected="));
        let listed = client.call("list_connections", &[]).await.body;
        assert_eq!(listed["connections"][0]["simulated"], true);
        assert_eq!(listed["sandbox_available"], true);
        assert_eq!(listed["oauth_configured"], true);
        let bad = client.call("start_oauth", &[("target", "elsewhere")]).await;
        assert_eq!(bad.error_field(), Some("target"));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rejected_api_key_marks_revoked() {
    on_each_backend(|db| async move {
        let (server, client, id, account) = owner_with_connection(&db).await;

        // The key stops working at Heroku, e.g. after a password change.
        let http = reqwest::Client::new();
        let current = http
            .get(format!("{}/oauth/authorizations/~", server.sandbox.url))
            .bearer_auth(&account.api_key)
            .header("accept", "application/vnd.heroku+json; version=3")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        http.delete(format!(
            "{}/oauth/authorizations/{}",
            server.sandbox.url,
            current["id"].as_str().unwrap()
        ))
        .bearer_auth(&account.api_key)
        .header("accept", "application/vnd.heroku+json; version=3")
        .send()
        .await
        .unwrap();

        let apps = client.call("list_heroku_apps", &[("connection_id", &id.to_string())]).await;
        assert_eq!(apps.status, 409, "{}", apps.text);
        let listed = client.call("list_connections", &[]).await.body;
        assert_eq!(listed["connections"][0]["state"], "revoked");
        assert!(listed["connections"][0]["state_reason"].as_str().unwrap().contains("new key"));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn low_budget_holds_back_page_lookups() {
    on_each_backend(|db| async move {
        let (server, client, id, account) = owner_with_connection(&db).await;
        let sandbox = &server.sandbox.sandbox;
        sandbox.set_rate_limit(&account.email, 20);
        let id = id.to_string();

        let first = client.call("list_heroku_apps", &[("connection_id", &id)]).await;
        assert_eq!(first.status, 200, "the figure is unknown until Heroku reports it");
        let listed = client.call("list_connections", &[]).await.body;
        assert_eq!(listed["connections"][0]["rate_limit_remaining"], 19);

        let held = client.call("list_heroku_apps", &[("connection_id", &id)]).await;
        assert_eq!(held.status, 502, "{}", held.text);
        let message = held.body["Heroku"]["message"].as_str().unwrap();
        assert!(message.contains("nearly used up"), "{message}");
        assert_eq!(sandbox.calls("GET /apps"), 1, "the look-up was not sent");
        server.stop().await;
    })
    .await;
}
