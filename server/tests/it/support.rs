//! Test fixtures: fresh databases on both backends, a Rebound server on
//! 127.0.0.1 and an HTTP client that keeps cookies.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use app::accounts::Role;
use app::connections::ConnectionKind;
use app::connections::tokens::{access_token_label, refresh_token_label};
use app::heroku::client::{HerokuConfig, OAuthClient};
use app::heroku::retry::RetryPolicy;
use app::monitors::probe::ProbeOptions;
use app::state::{AppState, HerokuSettings, Secrets, Settings};
use app::storage::Db;
use app::storage::connections::{self as connections_store, NewConnection, SealedTokens};
use app::time::now_ms;
use futures::FutureExt;
use serde_json::Value;
use server::sandbox::{SandboxAccount, SandboxOptions, SandboxServer};
use tokio_util::sync::CancellationToken;

/// Probe options for tests: monitors may reach the servers tests start on
/// 127.0.0.1.
pub fn open_probe() -> ProbeOptions {
    ProbeOptions { allow_private_targets: true, ..ProbeOptions::default() }
}

/// Admin connection string of the Postgres server the Postgres variants use.
/// Unset, they are skipped, unless `REBOUND_REQUIRE_POSTGRES=1` asks for
/// them to fail instead.
const POSTGRES_URL_VAR: &str = "REBOUND_TEST_POSTGRES_URL";
const REQUIRE_POSTGRES_VAR: &str = "REBOUND_REQUIRE_POSTGRES";

/// Argon2 hash of [`PASSWORD`], computed once per test binary.
pub const PASSWORD: &str = "correct horse battery";

pub fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        argon2::Argon2::default()
            .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
            .expect("hashing the test password succeeds")
            .to_string()
    })
}

/// A database that exists for one test.
pub struct TestDb {
    pub db: Db,
    pub backend: &'static str,
    /// Connection URL, for tests that open a second pool as another process would.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory can be created");
        let url = format!("sqlite://{}", dir.path().join("rebound.db").display());
        let db = Db::connect(&url, 4).await.expect("a fresh SQLite file opens");
        db.migrate().await.expect("SQLite migrations apply");
        TestDb { db, backend: "sqlite", url, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A fresh Postgres database, or `None` when no server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var(REQUIRE_POSTGRES_VAR).as_deref() != Ok("1"),
                    "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set"
                );
                eprintln!("note: {POSTGRES_URL_VAR} is not set; skipping the Postgres variant");
                return None;
            }
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        // The creation time leads the name, so that scripts/test.sh can drop
        // databases that earlier runs left behind without touching those of
        // a run still in progress.
        let name = format!(
            "rebound_test_{}_{}_{}",
            now_ms() / 1000,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = Db::connect(&admin_url, 1)
            .await
            .unwrap_or_else(|error| panic!("cannot reach Postgres at {POSTGRES_URL_VAR}: {error}"));
        let Db::Postgres(admin_pool) = &admin else {
            panic!("{POSTGRES_URL_VAR} must be a postgres:// URL")
        };
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin_pool)
            .await
            .expect("the test database can be created");
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("the Postgres URL parses");
        url.set_path(&name);
        let db = Db::connect(url.as_str(), 8).await.expect("the fresh Postgres database opens");
        db.migrate().await.expect("Postgres migrations apply");
        Some(TestDb {
            db,
            backend: "postgres",
            url: url.to_string(),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    pub async fn drop_database(self) {
        self.db.close().await;
        if let Cleanup::Postgres { admin_url, name } = self.cleanup {
            let admin =
                Db::connect(&admin_url, 1).await.expect("Postgres is reachable for cleanup");
            if let Db::Postgres(pool) = &admin {
                let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(pool)
                    .await;
                if let Err(error) = dropped {
                    eprintln!("warning: could not drop test database {name}: {error}");
                }
            }
            admin.close().await;
        }
    }
}

/// Runs `test` against a fresh SQLite database, then a fresh Postgres one
/// (when configured). A failure names the backend it happened on.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut databases = vec![TestDb::sqlite().await];
    databases.extend(TestDb::postgres().await);
    for database in databases {
        let backend = database.backend;
        let outcome = AssertUnwindSafe(test(database.db.clone())).catch_unwind().await;
        database.drop_database().await;
        if let Err(panic) = outcome {
            eprintln!("the failure above happened on {backend}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// Creates a user (password [`PASSWORD`]) in `team_id` with `role`.
pub async fn add_user(db: &Db, email: &str, team_id: i64, role: Role) -> i64 {
    app::with_db!(db, pool => {
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(email)
        .bind(password_hash())
        .bind(now_ms())
        .fetch_one(pool)
        .await
        .expect("the user is inserted");
        sqlx::query("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(team_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(now_ms())
            .execute(pool)
            .await
            .expect("the membership is inserted");
        user_id
    })
}

/// Creates a team owned by a new user; returns (team id, owner id).
pub async fn add_team(db: &Db, name: &str, owner_email: &str) -> (i64, i64) {
    let account = app::storage::accounts::create_account_with_team(
        db,
        owner_email,
        password_hash(),
        name,
        now_ms(),
        app::storage::accounts::Creation::Any,
    )
    .await
    .expect("the team and its owner are created");
    (account.team_id, account.user_id)
}

/// Runs `test` with every fresh test database, SQLite then Postgres (when
/// configured), for tests that need the database URL as well.
pub async fn on_each_test_db<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let mut databases = vec![TestDb::sqlite().await];
    databases.extend(TestDb::postgres().await);
    for database in databases {
        let backend = database.backend;
        let outcome = AssertUnwindSafe(test(database)).catch_unwind().await;
        match outcome {
            Ok(database) => database.drop_database().await,
            Err(panic) => {
                eprintln!("the failure above happened on {backend}");
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// The instance secret every test server uses.
pub const TEST_SECRET: &[u8] = b"test secret of at least thirty-two bytes";

/// Heroku settings that send every call to the sandbox at `sandbox_url`,
/// with short timeouts and retries so fault tests stay quick.
pub fn sandbox_settings(sandbox_url: &str) -> HerokuSettings {
    HerokuSettings {
        client: HerokuConfig {
            api_url: sandbox_url.to_string(),
            oauth_url: sandbox_url.to_string(),
            request_timeout: Duration::from_millis(1500),
            connect_timeout: Duration::from_secs(1),
            retry: RetryPolicy {
                deadline: Duration::from_secs(4),
                first_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(400),
            },
        },
        oauth_client: Some(OAuthClient { id: "test-client".into(), secret: "test-secret".into() }),
        sandbox_url: Some(sandbox_url.to_string()),
    }
}

/// An app state on `db` whose Heroku is the sandbox at `sandbox_url`, as
/// one Rebound process would have.
pub fn app_state(db: Db, sandbox_url: &str) -> AppState {
    let settings = Settings { heroku: sandbox_settings(sandbox_url), ..Settings::default() };
    let address = "127.0.0.1:9".parse().expect("a socket address");
    server::serve::build_state(db, settings, Secrets::derive(TEST_SECRET), address, open_probe())
}

/// A Rebound server on 127.0.0.1 with its own port, and a Heroku sandbox on
/// another port in place of Heroku.
pub struct TestServer {
    pub url: String,
    pub sandbox: SandboxServer,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(db: Db) -> TestServer {
        TestServer::start_with(db, Settings::default()).await
    }

    pub async fn start_with(db: Db, settings: Settings) -> TestServer {
        TestServer::start_with_probe(db, settings, open_probe()).await
    }

    pub async fn start_with_probe(
        db: Db,
        mut settings: Settings,
        probe: ProbeOptions,
    ) -> TestServer {
        let sandbox =
            SandboxServer::start(SandboxOptions::default()).await.expect("the sandbox starts");
        settings.heroku = sandbox_settings(&sandbox.url);
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port is free");
        let address = listener.local_addr().expect("the listener has an address");
        let secrets = Secrets::derive(TEST_SECRET);
        let state = server::serve::build_state(db.clone(), settings, secrets, address, probe);
        let app = server::serve::router(state, Duration::from_secs(30));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server::serve::serve_until(
            listener,
            app,
            shutdown.clone(),
            Duration::from_secs(5),
        ));
        TestServer { url: format!("http://{address}"), sandbox, shutdown, task }
    }

    /// A browser-like client: keeps cookies, sends this site as `Origin`, and
    /// does not follow redirects (tests look at them).
    pub fn client(&self) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.url.parse().expect("the URL is a header value"));
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client builds");
        Client { http, base: self.url.clone() }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("the server task ends cleanly");
        self.sandbox.stop().await;
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

/// What a server function returned: its status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The error variant name (`"Unauthenticated"`, `"Invalid"`, ...), if any.
    pub fn error_kind(&self) -> Option<String> {
        if self.status < 400 {
            return None;
        }
        match &self.body {
            Value::String(kind) => Some(kind.clone()),
            Value::Object(map) => map.keys().next().cloned(),
            _ => Some(format!("HTTP {}", self.status)),
        }
    }

    pub fn is_refusal(&self) -> bool {
        matches!(self.error_kind().as_deref(), Some("Unauthenticated" | "Forbidden" | "NotFound"))
    }

    /// Returns the form field of an `Invalid` or `Taken` error.
    pub fn error_field(&self) -> Option<&str> {
        let error = self.body.get("Invalid").or_else(|| self.body.get("Taken"))?;
        error.get("field")?.as_str()
    }
}

impl Client {
    /// Calls the server function at `/api/{endpoint}` with form arguments, as
    /// the hydrated app does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|error| panic!("calling {endpoint} failed: {error}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("the body is readable");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"))
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call("login", &[("email", email), ("password", password)]).await
    }

    /// Signs in and fails the test if that does not work.
    pub async fn signed_in(self, email: &str) -> Client {
        let reply = self.login(email, PASSWORD).await;
        assert_eq!(reply.status, 200, "sign-in as {email} failed: {}", reply.text);
        self
    }
}

/// Stores a connection of `team_id` to a fresh sandbox account, as the
/// connect functions would: `Sandbox` kind with its API key, or `OAuth`
/// with tokens whose stored expiry is `expires_at`.
pub async fn add_connection(
    db: &Db,
    sandbox: &server::sandbox::Sandbox,
    team_id: i64,
    user_id: i64,
    kind: ConnectionKind,
    expires_at: Option<i64>,
) -> (i64, SandboxAccount) {
    let account = sandbox.create_account(None, true);
    let id = connect_account(db, sandbox, team_id, user_id, kind, expires_at, &account).await;
    (id, account)
}

/// Stores a connection of `team_id` to an existing sandbox account, as
/// [`add_connection`] does for a new one.
pub async fn connect_account(
    db: &Db,
    sandbox: &server::sandbox::Sandbox,
    team_id: i64,
    user_id: i64,
    kind: ConnectionKind,
    expires_at: Option<i64>,
    account: &SandboxAccount,
) -> i64 {
    let (access, refresh, authorization) = match kind {
        ConnectionKind::OAuth => {
            let tokens = sandbox.authorize(&account.email, "test-client");
            (tokens.access_token, Some(tokens.refresh_token), Some(tokens.authorization_id))
        }
        _ => (account.api_key.clone(), None, None),
    };
    let new = NewConnection {
        team_id,
        kind,
        heroku_user_id: &account.id,
        email: &account.email,
        api_url: None,
        access_token_expires_at: expires_at,
        authorization_id: authorization.as_deref(),
        created_by: Some(user_id),
        now: now_ms(),
    };
    let key = *Secrets::derive(TEST_SECRET).credential_encryption_key();
    let saved = connections_store::save_connection(db, &new, |id| SealedTokens {
        access_token: app::crypto::seal(&key, &access_token_label(id), access.as_bytes()),
        refresh_token: refresh
            .as_deref()
            .map(|token| app::crypto::seal(&key, &refresh_token_label(id), token.as_bytes())),
    })
    .await
    .expect("the connection is stored");
    saved.id()
}

/// A sandbox on a loopback port with one seeded account, and a client
/// configured for it as [`sandbox_settings`] describes.
pub async fn seeded_sandbox() -> (SandboxServer, SandboxAccount, app::heroku::client::HerokuClient)
{
    let server = SandboxServer::start(SandboxOptions::default()).await.expect("the sandbox starts");
    let account = server.sandbox.create_account(None, true);
    let client = app::heroku::client::HerokuClient::new(sandbox_settings(&server.url).client)
        .expect("the client builds");
    (server, account, client)
}

/// Name of a seeded demo app of `account` (`shop`, `blog` or `api`).
pub fn seeded_app(account: &SandboxAccount, prefix: &str) -> String {
    format!("{prefix}-{}", &account.id[..6])
}

/// A name no other call in this test binary returns, shaped as an email
/// so it also serves as one.
pub fn unique_email() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("user{}@c.test", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A heartbeat monitor in `team`: checking it sends no network traffic.
pub async fn heartbeat_monitor(db: &Db, team: i64) -> i64 {
    let draft = app::storage::monitors::MonitorDraft {
        name: unique_email(),
        settings: app::monitors::MonitorSettings::Heartbeat(
            app::monitors::settings::HeartbeatSettings { grace_secs: 60 },
        ),
        interval_secs: 60,
        fail_after: 1,
        recover_after: 1,
    };
    let now = now_ms();
    app::storage::monitors::create(db, team, &draft, now, now + 120_000, None).await.unwrap()
}

/// A scale-out reaction of `team` on the `web` process of `app_name`,
/// triggered by a new heartbeat monitor.
pub async fn scale_out_reaction(db: &Db, team: i64, connection_id: i64, app_name: &str) -> i64 {
    let monitor = heartbeat_monitor(db, team).await;
    let draft = app::storage::reactions::ReactionDraft {
        name: unique_email(),
        monitor_id: monitor,
        connection_id,
        app_name: app_name.to_string(),
        call_on: app::reactions::CallOn::Failed,
        settings: app::reactions::ReactionSettings::ScaleOut {
            process_type: "web".into(),
            max_quantity: 3,
        },
        trigger_count: 1,
        frequency_secs: 0,
        dry_run: false,
        enabled: true,
    };
    app::storage::reactions::create(db, team, &draft, now_ms()).await.unwrap()
}

/// Stores a webhook channel of `team` that posts to `url`, sealed with the
/// test instance secret; returns its id.
pub async fn webhook_channel(db: &Db, team: i64, name: &str, url: &str) -> i64 {
    use app::notifications::ChannelKind;
    use app::notifications::send::ChannelSecrets;
    use app::storage::notifications::{self as store, NewChannel};

    let secrets = ChannelSecrets { url: Some(url.to_string()), ..ChannelSecrets::default() };
    let json = serde_json::to_string(&secrets).expect("channel settings serialize");
    let key = *Secrets::derive(TEST_SECRET).credential_encryption_key();
    let new = NewChannel {
        team_id: team,
        name,
        kind: ChannelKind::Webhook,
        target_summary: "http://127.0.0.1/…",
        created_by: None,
        now: now_ms(),
    };
    store::create_channel(db, &new, |id| {
        app::crypto::seal(&key, &store::secret_label(id), json.as_bytes())
    })
    .await
    .expect("the channel is stored")
}
