//! The REST API under `/api/v1`: a script's client and fixture (which the
//! authorization matrix also uses), responses against the OpenAPI document,
//! errors, the rate limit, token expiry and revocation, and the cross-site
//! check's exemption.

use std::time::Duration;

use app::accounts::Role;
use app::api::ssr::tokens;
use app::connections::ConnectionKind;
use app::reactions::ExecutionOutcome;
use app::state::Settings;
use app::storage::Db;
use app::storage::reactions::{self as reactions_store, NewExecution};
use app::time::now_ms;
use serde_json::{Value, json};

use crate::openapi_check::Document;
use crate::support::{
    TestServer, add_connection, add_team, add_user, heartbeat_monitor, on_each_backend,
    scale_out_reaction, seeded_app,
};

/// A reply of the API.
#[derive(Debug)]
pub struct ApiReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl ApiReply {
    pub fn code(&self) -> Option<&str> {
        self.json.pointer("/error/code")?.as_str()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

pub enum Body {
    Empty,
    Json(Value),
    Yaml(String),
}

/// A script's HTTP client: no cookies, a bearer token if given.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(server: &TestServer, token: Option<&str>) -> Api {
        Api::at(&server.url, token)
    }

    pub fn at(base: &str, token: Option<&str>) -> Api {
        Api { http: reqwest::Client::new(), base: base.to_string(), token: token.map(String::from) }
    }

    pub async fn send(&self, method: &str, path: &str, body: Body) -> ApiReply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request.json(&value),
            Body::Yaml(text) => request.header("content-type", "application/yaml").body(text),
        };
        let response = request.send().await.unwrap_or_else(|error| panic!("{path}: {error}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body is readable");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        ApiReply { status, headers, text, json }
    }

    pub async fn get(&self, path: &str) -> ApiReply {
        self.send("GET", path, Body::Empty).await
    }

    pub async fn post(&self, path: &str, body: Value) -> ApiReply {
        self.send("POST", path, Body::Json(body)).await
    }
}

/// Issues a token of `team` for `role`, created by `created_by`.
pub async fn token(db: &Db, team: i64, role: Role, created_by: Option<i64>) -> String {
    tokens::issue(db, team, &format!("{} token", role.as_str()), role, created_by, None)
        .await
        .expect("the token is stored")
        .token
}

pub async fn openapi(server: &TestServer) -> Document {
    let reply = Api::new(server, None).get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    Document(reply.json)
}

/// Checks a reply against the document: its status must be documented for
/// the operation, and a JSON body must fit the documented schema.
pub fn conforms(
    document: &Document,
    method: &str,
    template: &str,
    reply: &ApiReply,
) -> Result<(), String> {
    let content_type = reply.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Ok(());
    }
    let schema = document.response_schema(method, template, reply.status).ok_or_else(|| {
        format!("{method} {template}: status {} is not documented: {}", reply.status, reply.text)
    })?;
    document
        .validate(schema, &reply.json)
        .map_err(|error| format!("{method} {template} {}: {error}", reply.status))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Viewer,
    Editor,
    Admin,
    /// An admin token of another team.
    Outsider,
}

pub const CALLERS: [Caller; 5] =
    [Caller::Anonymous, Caller::Viewer, Caller::Editor, Caller::Admin, Caller::Outsider];

/// Team A, with a sandbox connection and a token per role, and team B.
pub struct Fixture {
    pub db: Db,
    pub server: TestServer,
    pub team_a: i64,
    pub owner_a: i64,
    pub connection_id: i64,
    pub account_email: String,
    pub app_name: String,
    tokens: Vec<(Caller, Option<String>)>,
}

impl Fixture {
    pub async fn new(db: Db, settings: Settings) -> Fixture {
        let (team_a, owner_a) = add_team(&db, "Team A", "owner@team-a.test").await;
        let (team_b, owner_b) = add_team(&db, "Team B", "owner@team-b.test").await;
        let server = TestServer::start_with(db.clone(), settings).await;
        let (connection_id, account) = add_connection(
            &db,
            &server.sandbox.sandbox,
            team_a,
            owner_a,
            ConnectionKind::Sandbox,
            None,
        )
        .await;
        let mut tokens = vec![(Caller::Anonymous, None)];
        for (caller, role) in [
            (Caller::Viewer, Role::Viewer),
            (Caller::Editor, Role::Editor),
            (Caller::Admin, Role::Admin),
        ] {
            tokens.push((caller, Some(token(&db, team_a, role, Some(owner_a)).await)));
        }
        tokens.push((Caller::Outsider, Some(token(&db, team_b, Role::Admin, Some(owner_b)).await)));
        Fixture {
            app_name: seeded_app(&account, "shop"),
            account_email: account.email,
            db,
            server,
            team_a,
            owner_a,
            connection_id,
            tokens,
        }
    }

    pub fn api(&self, caller: Caller) -> Api {
        let token =
            self.tokens.iter().find(|(who, _)| *who == caller).and_then(|(_, token)| token.clone());
        Api::new(&self.server, token.as_deref())
    }

    pub async fn monitor(&self) -> i64 {
        heartbeat_monitor(&self.db, self.team_a).await
    }

    pub async fn reaction(&self) -> i64 {
        scale_out_reaction(&self.db, self.team_a, self.connection_id, &self.app_name).await
    }

    /// Stores an execution of a new reaction of team A.
    pub async fn execution(&self) -> i64 {
        let reaction_id = self.reaction().await;
        let record =
            reactions_store::get(&self.db, self.team_a, reaction_id).await.unwrap().unwrap();
        let record = NewExecution {
            team_id: self.team_a,
            reaction: &record.reaction,
            check_id: 1,
            monitor_state: "failed",
            outcome: ExecutionOutcome::DryRun,
            summary: "would web 2 → 3",
            detail: None,
            error: None,
            started_at: now_ms(),
            duration_ms: Some(12),
        };
        reactions_store::write_execution(&self.db, &record).await.unwrap()
    }
}

#[tokio::test]
async fn errors_share_one_shape() {
    on_each_backend(|db| async move {
        let fixture = Fixture::new(db.clone(), Settings::default()).await;
        let document = openapi(&fixture.server).await;
        let editor = fixture.api(Caller::Editor);
        let monitor = fixture.monitor().await;

        let malformed = editor.send("POST", "/api/v1/monitors", Body::Yaml("{not json".into())).await;
        assert_eq!((malformed.status, malformed.code()), (400, Some("bad_request")), "{}", malformed.text);

        let not_json = reqwest::Client::new()
            .post(format!("{}/api/v1/monitors", fixture.server.url))
            .bearer_auth(fixture.tokens[2].1.as_deref().unwrap())
            .json(&json!({"name": "x", "kind": "heartbeat", "grace_secs": "soon"}))
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status().as_u16(), 422);

        let invalid = editor
            .post("/api/v1/monitors", json!({"name": "fast", "kind": "http", "url": "https://example.com", "interval_secs": 5}))
            .await;
        assert_eq!((invalid.status, invalid.code()), (422, Some("invalid")), "{}", invalid.text);
        assert_eq!(invalid.json.pointer("/error/field"), Some(&json!("interval_secs")));

        let first = editor.post("/api/v1/monitors", json!({"name": "nightly", "kind": "heartbeat"})).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let taken = editor.post("/api/v1/monitors", json!({"name": "nightly", "kind": "heartbeat"})).await;
        assert_eq!((taken.status, taken.code()), (409, Some("conflict")), "{}", taken.text);
        assert_eq!(taken.json.pointer("/error/field"), Some(&json!("name")));

        let missing = editor.get("/api/v1/monitors/999999").await;
        assert_eq!((missing.status, missing.code()), (404, Some("not_found")));
        let unknown_path = editor.get("/api/v1/nothing-here").await;
        assert_eq!((unknown_path.status, unknown_path.code()), (404, Some("not_found")));
        let bad_id = editor.get("/api/v1/monitors/abc").await;
        assert_eq!((bad_id.status, bad_id.code()), (400, Some("bad_request")));
        let bad_cursor = editor.get(&format!("/api/v1/monitors/{monitor}/checks?before=x")).await;
        assert_eq!(bad_cursor.json.pointer("/error/field"), Some(&json!("before")));
        let bad_filter = editor.get("/api/v1/executions?outcome=maybe").await;
        assert_eq!(bad_filter.json.pointer("/error/field"), Some(&json!("outcome")));

        let forbidden = fixture.api(Caller::Viewer).post("/api/v1/monitors", json!({"name": "x", "kind": "heartbeat"})).await;
        assert_eq!((forbidden.status, forbidden.code()), (403, Some("forbidden")));
        let unknown_token = Api::new(&fixture.server, Some("rbd_not-a-token")).get("/api/v1/monitors").await;
        assert_eq!((unknown_token.status, unknown_token.code()), (401, Some("unauthenticated")));
        assert_eq!(unknown_token.header("www-authenticate"), Some("Bearer"));

        for (method, template, reply) in [
            ("POST", "/api/v1/monitors", &malformed),
            ("POST", "/api/v1/monitors", &invalid),
            ("POST", "/api/v1/monitors", &taken),
            ("GET", "/api/v1/monitors/{id}", &missing),
            ("GET", "/api/v1/monitors/{id}", &bad_id),
            ("GET", "/api/v1/executions", &bad_filter),
            ("POST", "/api/v1/monitors", &forbidden),
            ("GET", "/api/v1/monitors", &unknown_token),
        ] {
            conforms(&document, method, template, reply).unwrap();
        }
        fixture.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn monitors_from_the_api_meet_the_address_guard() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let server = TestServer::start_with_probe(
            db.clone(),
            Settings::default(),
            app::monitors::probe::ProbeOptions::default(),
        )
        .await;
        let api = Api::new(&server, Some(&token(&db, team, Role::Editor, Some(owner)).await));
        for (kind, field, target) in [
            ("http", "url", json!({"url": "http://127.0.0.1:9/health"})),
            ("http", "url", json!({"url": "http://169.254.169.254/latest/meta-data"})),
            ("tcp", "host", json!({"host": "10.0.0.5", "port": 5432})),
        ] {
            let mut body = json!({"name": "internal", "kind": kind});
            body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
            let reply = api.post("/api/v1/monitors", body).await;
            assert_eq!(reply.status, 422, "{}", reply.text);
            assert_eq!(reply.json.pointer("/error/field"), Some(&json!(field)), "{}", reply.text);
        }
        let public = api
            .post(
                "/api/v1/monitors",
                json!({"name": "site", "kind": "http", "url": "https://example.com/"}),
            )
            .await;
        assert_eq!(public.status, 201, "{}", public.text);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rate_limit_is_counted_per_token_across_processes() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let settings = Settings { api_rate_limit: 3, ..Settings::default() };
        let first = TestServer::start_with(db.clone(), settings.clone()).await;
        let second = TestServer::start_with(db.clone(), settings).await;
        let token_a = token(&db, team, Role::Viewer, Some(owner)).await;
        let token_b = token(&db, team, Role::Viewer, Some(owner)).await;
        // A count that starts near the end of a minute would be split across
        // two windows.
        let into_minute = now_ms().rem_euclid(60_000);
        if into_minute > 50_000 {
            tokio::time::sleep(Duration::from_millis((60_500 - into_minute) as u64)).await;
        }

        let mut remaining = Vec::new();
        for server in [&first, &second, &first] {
            let reply = Api::new(server, Some(&token_a)).get("/api/v1/monitors").await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert_eq!(reply.header("ratelimit-limit"), Some("3"));
            let reset: u64 = reply.header("ratelimit-reset").unwrap().parse().unwrap();
            assert!((1..=60).contains(&reset), "reset {reset}");
            remaining.push(reply.header("ratelimit-remaining").unwrap().to_string());
        }
        assert_eq!(remaining, ["2", "1", "0"]);

        let limited = Api::new(&second, Some(&token_a)).get("/api/v1/monitors").await;
        assert_eq!(
            (limited.status, limited.code()),
            (429, Some("rate_limited")),
            "{}",
            limited.text
        );
        assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
        let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after));

        let other = Api::new(&first, Some(&token_b)).get("/api/v1/monitors").await;
        assert_eq!(other.status, 200, "another token has its own count");
        first.stop().await;
        second.stop().await;
    })
    .await;
}

#[tokio::test]
async fn expired_revoked_and_orphaned_tokens_are_refused() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let admin = add_user(&db, "admin@example.com", team, Role::Admin).await;
        let server = TestServer::start(db.clone()).await;

        let expiring =
            tokens::issue(&db, team, "short", Role::Viewer, Some(owner), Some(1)).await.unwrap();
        let api = Api::new(&server, Some(&expiring.token));
        assert_eq!(api.get("/api/v1/monitors").await.status, 200);
        app::with_db!(&db, pool => {
            sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
                .bind(now_ms() - 1)
                .bind(expiring.id)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .unwrap();
        let expired = api.get("/api/v1/monitors").await;
        assert_eq!(expired.status, 401);
        assert!(expired.text.contains("expired"), "{}", expired.text);

        let revoked =
            tokens::issue(&db, team, "revoked", Role::Viewer, Some(owner), None).await.unwrap();
        let api = Api::new(&server, Some(&revoked.token));
        assert_eq!(api.get("/api/v1/monitors").await.status, 200);
        assert!(app::storage::api_tokens::revoke(&db, team, revoked.id, now_ms()).await.unwrap());
        let refused = api.get("/api/v1/monitors").await;
        assert_eq!(refused.status, 401);
        assert!(refused.text.contains("revoked"), "{}", refused.text);

        // A token acts with its creator's current role at most, and stops
        // when its creator leaves the team.
        let admins_token = token(&db, team, Role::Admin, Some(admin)).await;
        let api = Api::new(&server, Some(&admins_token));
        let listed = api.get("/api/v1/connections").await;
        assert_eq!(listed.status, 200);
        app::storage::accounts::change_membership(&db, team, admin, Some(Role::Viewer))
            .await
            .unwrap();
        let demoted = api.post("/api/v1/monitors", json!({"name": "x", "kind": "heartbeat"})).await;
        assert_eq!(demoted.status, 403, "{}", demoted.text);
        app::storage::accounts::change_membership(&db, team, admin, None).await.unwrap();
        let orphaned = api.get("/api/v1/monitors").await;
        assert_eq!(orphaned.status, 401);
        assert!(orphaned.text.contains("left the team"), "{}", orphaned.text);

        let operators = token(&db, team, Role::Editor, None).await;
        let created = Api::new(&server, Some(&operators))
            .post("/api/v1/monitors", json!({"name": "by operator", "kind": "heartbeat"}))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);

        let listed = app::storage::api_tokens::list(&db, team).await.unwrap();
        let used = listed.iter().find(|token| token.name == "short").unwrap();
        assert!(used.last_used_at.is_some(), "last use is recorded");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn api_ignores_cookies_not_origins() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let server = TestServer::start(db.clone()).await;
        let browser = server.client().signed_in("ops@example.com").await;

        // A signed-in browser without a token is not authenticated.
        let reply = browser.get("/api/v1/monitors").await;
        assert_eq!(reply.status().as_u16(), 401);
        // Its writes from another site still meet the cross-site check.
        let cross_site = browser
            .http
            .post(format!("{}/api/v1/monitors", server.url))
            .header("origin", "http://elsewhere.example")
            .json(&json!({"name": "x", "kind": "heartbeat"}))
            .send()
            .await
            .unwrap();
        assert_eq!(cross_site.status().as_u16(), 403);
        assert!(cross_site.text().await.unwrap().contains("Cross-site request rejected"));
        let server_function = browser
            .http
            .post(format!("{}/api/list_monitors", server.url))
            .header("origin", "http://elsewhere.example")
            .bearer_auth("rbd_anything")
            .form(&[("state", ""), ("after", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(server_function.status().as_u16(), 403, "server functions keep the check");

        // A script with a token needs no Origin, and a foreign one is fine.
        let token = token(&db, team, Role::Editor, Some(owner)).await;
        let scripted = reqwest::Client::new()
            .post(format!("{}/api/v1/monitors", server.url))
            .header("origin", "http://elsewhere.example")
            .bearer_auth(&token)
            .json(&json!({"name": "from a script", "kind": "heartbeat"}))
            .send()
            .await
            .unwrap();
        assert_eq!(scripted.status().as_u16(), 201);
        assert!(scripted.headers().get("set-cookie").is_none(), "the API sets no cookie");
        server.stop().await;
    })
    .await;
}

/// Reads a reply's list of items.
fn items(reply: &ApiReply) -> &Vec<Value> {
    reply.json["items"].as_array().unwrap_or_else(|| panic!("no items: {}", reply.text))
}

#[tokio::test]
async fn pages_of_checks_changes_and_executions() {
    on_each_backend(|db| async move {
        let fixture = Fixture::new(db.clone(), Settings::default()).await;
        let viewer = fixture.api(Caller::Viewer);
        let mut executions = Vec::new();
        for _ in 0..5 {
            executions.push(fixture.execution().await);
        }
        let first = viewer.get("/api/v1/executions?limit=2").await;
        assert_eq!(first.status, 200, "{}", first.text);
        let mut seen: Vec<i64> =
            items(&first).iter().map(|item| item["id"].as_i64().unwrap()).collect();
        let mut next = first.json["next"].as_str().map(String::from);
        while let Some(cursor) = next {
            let page = viewer.get(&format!("/api/v1/executions?limit=2&before={cursor}")).await;
            seen.extend(items(&page).iter().map(|item| item["id"].as_i64().unwrap()));
            next = page.json["next"].as_str().map(String::from);
        }
        executions.reverse();
        assert_eq!(seen, executions, "newest first, each once");

        let filtered = viewer.get("/api/v1/executions?outcome=failed").await;
        assert!(items(&filtered).is_empty());
        let by_app = viewer
            .get(&format!("/api/v1/executions?app={}&kind=scale_out", fixture.app_name))
            .await;
        assert_eq!(items(&by_app).len(), 5);

        let monitor = fixture.monitor().await;
        let editor = fixture.api(Caller::Editor);
        for _ in 0..3 {
            assert_eq!(
                editor
                    .send("POST", &format!("/api/v1/monitors/{monitor}/pause"), Body::Empty)
                    .await
                    .status,
                200
            );
            assert_eq!(
                editor
                    .send("POST", &format!("/api/v1/monitors/{monitor}/resume"), Body::Empty)
                    .await
                    .status,
                200
            );
        }
        let changes =
            viewer.get(&format!("/api/v1/monitors/{monitor}/state-changes?limit=4")).await;
        assert_eq!(items(&changes).len(), 4, "{}", changes.text);
        let cursor = changes.json["next"].as_str().unwrap();
        let rest = viewer
            .get(&format!("/api/v1/monitors/{monitor}/state-changes?limit=4&before={cursor}"))
            .await;
        assert_eq!(items(&rest).len(), 2, "{}", rest.text);
        let paused = viewer.get("/api/v1/monitors?state=paused").await;
        assert!(items(&paused).is_empty(), "{}", paused.text);
        fixture.server.stop().await;
    })
    .await;
}
