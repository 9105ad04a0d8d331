//! The `rebound` binary as an operator runs it: start-up, health check,
//! graceful shutdown and the account and token commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::on_each_test_db;

const BINARY: &str = env!("CARGO_BIN_EXE_rebound");

/// Env variables a developer's shell may set that would change what the
/// binary under test does.
const CLEARED_ENV: [&str; 6] = [
    "DATABASE_URL",
    "PORT",
    "REBOUND_SECRET_KEY",
    "REBOUND_DATA_DIR",
    "REBOUND_HOST",
    "REBOUND_PUBLIC_URL",
];

fn rebound(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BINARY);
    for name in CLEARED_ENV {
        command.env_remove(name);
    }
    command.arg("--data-dir").arg(data_dir);
    command
}

struct Running {
    child: Child,
    url: String,
    output: std::sync::mpsc::Receiver<String>,
}

/// Builds a `rebound` command on the database at `database_url`, with
/// `data_dir` for the instance secret.
fn rebound_on(data_dir: &std::path::Path, database_url: &str) -> Command {
    let mut command = rebound(data_dir);
    command.arg("--database-url").arg(database_url);
    command
}

/// Starts `rebound` on a free loopback port and waits for its "listening" line.
fn start(data_dir: &std::path::Path) -> Running {
    start_command(rebound(data_dir))
}

/// Starts `command` as a server on a free loopback port and waits for its
/// "listening" line.
fn start_command(mut command: Command) -> Running {
    let mut child = command
        .args(["--host", "127.0.0.1", "--port", "0", "--log", "info"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rebound binary starts");
    let (sender, output) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(line) = output.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        else {
            let _ = child.kill();
            let status = child.wait();
            panic!("rebound did not log that it is listening within 30 s (exit: {status:?})");
        };
        if let Some(address) = line.split("address=").nth(1) {
            let address = address.split_whitespace().next().unwrap();
            return Running { child, url: format!("http://{address}"), output };
        }
    }
}

impl Running {
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("rebound exits");
        let lines = self.output.try_iter().collect();
        (status, lines)
    }
}

#[tokio::test]
async fn serves_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path());
    let health = reqwest::get(format!("{}/healthz", running.url)).await.unwrap();
    assert_eq!(health.status(), 200);
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["location"], "/setup", "a new instance asks for its first account");

    let (status, lines) = running.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let log = lines.join("\n");
    assert!(log.contains("received SIGTERM"), "{log}");
    assert!(log.contains("worker stopped"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(log.contains("request"), "requests are logged: {log}");
}

#[tokio::test]
async fn first_run_creates_database_and_private_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let running = start(&data_dir);
    let (status, _) = running.terminate();
    assert!(status.success());
    assert!(data_dir.join("rebound.db").is_file());
    let secret = data_dir.join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secret key is readable by its owner only");
    }
    let first = std::fs::read_to_string(&secret).unwrap();
    assert!(first.trim().len() >= 32);

    let (status, _) = start(&data_dir).terminate();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        first,
        "the secret is kept across restarts"
    );
}

fn run_with_stdin(command: &mut Command, input: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rebound binary starts");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn operator_creates_user_and_resets_password() {
    let dir = tempfile::tempdir().unwrap();
    let created = run_with_stdin(
        rebound(dir.path()).args(["user", "create", "ops@example.com", "--team", "Ops"]),
        "first password 123\n",
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("ops@example.com"));

    let short = run_with_stdin(
        rebound(dir.path()).args(["user", "reset-password", "ops@example.com"]),
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10"));

    let unknown = run_with_stdin(
        rebound(dir.path()).args(["user", "reset-password", "nobody@example.com"]),
        "a long enough password\n",
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no account with email nobody@example.com")
    );

    let reset = run_with_stdin(
        rebound(dir.path()).args(["user", "reset-password", "OPS@example.com"]),
        "second password 456\n",
    );
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));

    let running = start(dir.path());
    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client
            .post(format!("{}/api/login", running.url))
            .header("origin", &running.url)
            .header("accept", "application/json")
            .form(&[("email", "ops@example.com"), ("password", password)])
            .send()
    };
    assert_eq!(login("first password 123").await.unwrap().status(), 422);
    assert_eq!(login("second password 456").await.unwrap().status(), 200);
    let (status, lines) = running.terminate();
    assert!(status.success());
    let log = lines.join("\n");
    for secret in ["first password 123", "second password 456", "$argon2"] {
        assert!(!log.contains(secret), "the log never contains {secret:?}");
    }
}

#[test]
fn help_documents_configuration() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "DATABASE_URL",
        "PORT",
        "REBOUND_SECRET_KEY",
        "REBOUND_DATA_DIR",
        "REBOUND_LOG",
        "REBOUND_HOST",
        "REBOUND_SMTP_HOST",
        "REBOUND_METRICS_TOKEN",
    ] {
        assert!(help.contains(expected), "--help mentions {expected}");
    }
}

#[tokio::test]
async fn operator_creates_api_token() {
    on_each_test_db(|database| async move {
        let dir = tempfile::tempdir().unwrap();
        let command = || rebound_on(dir.path(), &database.url);
        let created = run_with_stdin(
            command().args(["user", "create", "ops@example.com", "--team", "Ops"]),
            "first password 123\n",
        );
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let printed = String::from_utf8(created.stdout).unwrap();
        let team_id: i64 = printed
            .rsplit_once("(team ")
            .and_then(|(_, rest)| rest.split(')').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("user create prints the team id: {printed:?}"));

        let owner_role = command()
            .args(["token", "create", "--team", "Ops", "--role", "owner", "--name", "deploy"])
            .output()
            .unwrap();
        assert!(!owner_role.status.success());
        let message = String::from_utf8_lossy(&owner_role.stderr);
        assert!(message.contains("choose admin, editor or viewer"), "{message}");
        let unknown_team = command()
            .args(["token", "create", "--team", "Nobody", "--role", "editor", "--name", "deploy"])
            .output()
            .unwrap();
        assert!(!unknown_team.status.success());
        let message = String::from_utf8_lossy(&unknown_team.stderr);
        assert!(message.contains("no team has the id or name"), "{message}");

        let issued = command()
            .args([
                "token",
                "create",
                "--team",
                "Ops",
                "--role",
                "editor",
                "--name",
                "deploy script",
            ])
            .output()
            .unwrap();
        assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
        let token = String::from_utf8(issued.stdout).unwrap().trim().to_string();
        assert!(token.starts_with("rbd_"), "stdout is the token alone: {token:?}");
        assert!(token.len() > 40, "stdout is the whole token: {token:?}");
        assert!(String::from_utf8_lossy(&issued.stderr).contains("shown only now"));

        let stored = app::storage::api_tokens::list(&database.db, team_id).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].name, "deploy script");
        assert_eq!(stored[0].created_by, None, "the operator made it");

        let running = start_command(command());
        let client = reqwest::Client::new();
        let created = client
            .post(format!("{}/api/v1/monitors", running.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "nightly", "kind": "heartbeat"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
        let listed = client
            .get(format!("{}/api/v1/monitors", running.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        assert!(listed.text().await.unwrap().contains("nightly"));
        let (status, _) = running.terminate();
        assert!(status.success());
        database
    })
    .await;
}
