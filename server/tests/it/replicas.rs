//! Several `rebound` processes on one Postgres database: they share monitor
//! checks and reaction steps without a coordinator, and the survivors take
//! over when one is killed or stopped.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::connections::ConnectionKind;
use app::heroku::client::{HerokuClient, StaticToken};
use app::heroku::sizes::DynoSize;
use app::monitors::MonitorSettings;
use app::monitors::settings::{HttpSettings, StatusRanges};
use app::reactions::settings::{CallOn, ReactionSettings};
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, MonitorDraft};
use app::storage::reactions::{self as reactions_store, ReactionDraft};
use app::time::now_ms;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use server::sandbox::{SandboxOptions, SandboxServer};
use server::worker::clock::Clock;
use server::worker::reactions::{Engine, EngineConfig};

use crate::probe::TargetServer;
use crate::support::{TEST_SECRET, TestDb, add_connection, add_team, app_state, sandbox_settings};

const MONITORS: usize = 200;
const INTERVAL_MS: i64 = 10_000;
const TIMEOUT_MS: u32 = 2_000;
/// The scheduler's lease: the check's timeout plus its 5 s margin.
const LEASE_MS: i64 = TIMEOUT_MS as i64 + 5_000;

/// Request times per monitor path at the target.
type Hits = Arc<Mutex<HashMap<String, Vec<i64>>>>;

async fn target() -> (TargetServer, Hits) {
    let hits: Hits = Arc::default();
    let router = Router::new()
        .route(
            "/m/{name}",
            get(|State(hits): State<Hits>, Path(name): Path<String>| async move {
                hits.lock().unwrap().entry(name).or_default().push(now_ms());
                "ok"
            }),
        )
        .with_state(hits.clone());
    (TargetServer::start(IpAddr::V4(Ipv4Addr::LOCALHOST), router).await, hits)
}

struct Process {
    child: Child,
    name: &'static str,
}

impl Process {
    fn start(
        name: &'static str,
        database_url: &str,
        sandbox_url: &str,
        log: &std::path::Path,
    ) -> Process {
        let data_dir = log.join(format!("{name}-data"));
        let log_file = std::fs::File::create(log.join(format!("{name}.log"))).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rebound"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--allow-private-targets",
                "--log",
                "info",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--database-url", database_url])
            .args(["--secret-key", std::str::from_utf8(TEST_SECRET).unwrap()])
            .args(["--heroku-api-url", sandbox_url])
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("the rebound binary starts");
        let stdout = child.stdout.take().unwrap();
        let (ready, listening) = std::sync::mpsc::channel();
        let mut log_copy = std::fs::File::create(log.join(format!("{name}.out"))).unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("address=") {
                    let _ = ready.send(());
                }
                let _ = writeln!(log_copy, "{line}");
            }
        });
        listening
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} did not start listening"));
        Process { child, name }
    }

    fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill {signal} {}", self.name);
    }

    fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The monitors' check times, grouped per monitor and ordered.
async fn recorded_checks(db: &Db) -> BTreeMap<i64, Vec<i64>> {
    let rows: Vec<(i64, i64)> = app::with_db!(db, pool => {
        sqlx::query_as("SELECT monitor_id, checked_at FROM check_results ORDER BY monitor_id, checked_at")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let mut checks: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (monitor, at) in rows {
        checks.entry(monitor).or_default().push(at);
    }
    checks
}

// Several threads: the test blocks on child processes while the servers it
// started (the proxy, the target, the sandbox) must keep answering them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_survive_a_kill() {
    let Some(database) = TestDb::postgres().await else { return };
    let db = database.db.clone();
    let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
    let (target, hits) = target().await;
    let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
    let (connection, account) =
        add_connection(&db, &sandbox.sandbox, team, owner, ConnectionKind::ApiKey, None).await;

    let start = now_ms();
    let mut apps = Vec::new();
    for n in 0..MONITORS {
        let app = format!("replica-{n}-{}", &account.id[..6]);
        sandbox.sandbox.add_app(
            &account.email,
            &app,
            &[("web", 1, DynoSize::Standard1X, "bin/web")],
            &[("succeeded", "Initial release")],
        );
        let draft = MonitorDraft {
            name: format!("m{n}"),
            settings: MonitorSettings::Http(HttpSettings {
                url: format!("{}/m/m{n}", target.base),
                method: "GET".into(),
                headers: vec![],
                body: String::new(),
                expected_status: StatusRanges::default(),
                timeout_ms: TIMEOUT_MS,
                follow_redirects: false,
                verify_tls: true,
                max_response_ms: None,
            }),
            interval_secs: (INTERVAL_MS / 1000) as u32,
            fail_after: 1,
            recover_after: 1,
        };
        // First checks spread over the first interval, as the UI does.
        let first_due = start + 3_000 + (n as i64 * INTERVAL_MS / MONITORS as i64);
        let monitor =
            monitors_store::create(&db, team, &draft, start, first_due, None).await.unwrap();
        let reaction = ReactionDraft {
            name: format!("r{n}"),
            monitor_id: monitor,
            connection_id: connection,
            app_name: app.clone(),
            call_on: CallOn::Healthy,
            settings: ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 50 },
            trigger_count: 1,
            frequency_secs: 0,
            dry_run: false,
            enabled: true,
        };
        reactions_store::create(&db, team, &reaction, start).await.unwrap();
        apps.push(app);
    }

    let logs = tempfile::tempdir().unwrap();
    let processes = ["first", "second", "third"]
        .map(|name| Process::start(name, &database.url, &sandbox.url, logs.path()));
    let began = Instant::now();
    let [first, second, third] = processes;

    tokio::time::sleep(Duration::from_secs(14)).await;
    let killed_at = now_ms();
    first.signal("-KILL");
    assert!(!first.wait().success(), "the first process was killed");

    tokio::time::sleep(Duration::from_secs(12)).await;
    let stopped_at = now_ms();
    second.signal("-TERM");
    assert!(second.wait().success(), "the second process shut down gracefully");

    tokio::time::sleep(Duration::from_secs(14)).await;
    let ended_at = now_ms();
    third.signal("-TERM");
    assert!(third.wait().success(), "the third process shut down gracefully");

    // Triggers the last process handed back at shutdown are decided by the
    // next one to start; an engine alone plays that part here.
    let engine =
        Engine::new(app_state(db.clone(), &sandbox.url), EngineConfig::default(), Clock::system());
    for _ in 0..60 {
        engine.run_once().await;
        if reactions_store::next_job_at(&db).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "ran {:?}; killed at +{} ms, stopped at +{} ms",
        began.elapsed(),
        killed_at - start,
        stopped_at - start
    );

    // Every monitor kept its rhythm: one recorded check per interval, no
    // interval without one, and no gap longer than an interval plus a lease.
    let checks = recorded_checks(&db).await;
    assert_eq!(checks.len(), MONITORS, "every monitor was checked");
    let mut failures = Vec::new();
    for (monitor, times) in &checks {
        let first = times[0];
        let slots: Vec<i64> = times.iter().map(|at| (at - first + 1_000) / INTERVAL_MS).collect();
        let expected: Vec<i64> = (0..slots.len() as i64).collect();
        if slots != expected {
            failures.push(format!(
                "monitor {monitor}: checks fell in intervals {slots:?} (times {times:?})"
            ));
        }
        for pair in times.windows(2) {
            if pair[1] - pair[0] > INTERVAL_MS + LEASE_MS + 1_000 {
                failures.push(format!("monitor {monitor}: gap of {} ms", pair[1] - pair[0]));
            }
        }
        if ended_at - times.last().unwrap() > INTERVAL_MS + LEASE_MS + 3_000 {
            failures.push(format!(
                "monitor {monitor}: no check in the last {} ms",
                ended_at - times.last().unwrap()
            ));
        }
    }
    let total: usize = checks.values().map(Vec::len).sum();
    assert!(total >= MONITORS * 3, "the run lasted several intervals: {total} checks");
    let hits: usize = hits.lock().unwrap().values().map(Vec::len).sum();
    assert!(
        hits >= total,
        "every recorded check reached the target ({hits} requests, {total} results)"
    );

    // Every trigger was decided once, and no step ran twice at Heroku.
    let pending: i64 = app::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM reaction_jobs").fetch_one(pool).await.unwrap()
    });
    let triggered: i64 = app::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM check_results WHERE state_after = 'healthy'").fetch_one(pool).await.unwrap()
    });
    let outcomes: Vec<(String, String, i64)> = app::with_db!(&db, pool => {
        sqlx::query_as("SELECT app_name, outcome, COUNT(*) FROM executions GROUP BY app_name, outcome")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let recorded: i64 = outcomes.iter().map(|(_, _, count)| count).sum();
    let client = HerokuClient::new(sandbox_settings(&sandbox.url).client).unwrap();
    let token = StaticToken(account.api_key.clone());
    for app in &apps {
        let succeeded: i64 = outcomes
            .iter()
            .filter(|(name, outcome, _)| name == app && outcome == "succeeded")
            .map(|(_, _, count)| count)
            .sum();
        let patches = sandbox.sandbox.calls(&format!("PATCH /apps/{app}/formation/web")) as i64;
        if patches != succeeded {
            failures
                .push(format!("{app}: {patches} scaling calls for {succeeded} succeeded steps"));
        }
        let quantity = client.api(&token).formation(app).await.unwrap().value[0].quantity as i64;
        if quantity != 1 + succeeded {
            failures.push(format!("{app}: quantity {quantity} after {succeeded} steps from 1"));
        }
    }
    let unfinished: Vec<&(String, String, i64)> =
        outcomes.iter().filter(|(_, outcome, _)| outcome != "succeeded").collect();
    if !unfinished.is_empty() {
        failures.push(format!("executions that did not succeed: {unfinished:?}"));
    }
    if pending != 0 {
        failures.push(format!("{pending} triggers were never decided"));
    }
    if recorded != triggered {
        failures.push(format!("{triggered} triggering checks but {recorded} execution records"));
    }
    if !failures.is_empty() {
        for name in ["first", "second", "third"] {
            let log = std::fs::read_to_string(logs.path().join(format!("{name}.out")))
                .unwrap_or_default();
            let errors: Vec<&str> = log
                .lines()
                .filter(|line| line.contains("ERROR") || line.contains("WARN"))
                .take(20)
                .collect();
            eprintln!("--- {name} warnings and errors ---\n{}", errors.join("\n"));
        }
    }
    database.drop_database().await;
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
