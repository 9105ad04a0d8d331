//! A `rebound` process whose Postgres becomes unreachable for 30 s: it keeps
//! serving what it can, logs the outage once per interval rather than once
//! per attempt, and resumes on its own.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::monitors::MonitorSettings;
use app::monitors::settings::{HttpSettings, StatusRanges};
use app::storage::monitors::{self as monitors_store, MonitorDraft};
use app::time::now_ms;
use axum::Router;
use axum::routing::get;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::probe::TargetServer;
use crate::support::{TEST_SECRET, TestDb, add_team};

/// A TCP proxy on 127.0.0.1 in front of Postgres that can drop every
/// connection and refuse new ones, as a network outage would.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (accept_down, accept_links) = (down.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if accept_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                accept_links.lock().unwrap().push(link.abort_handle());
            }
        });
        Proxy { port, down, links }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

// Several threads: the test blocks on child processes while the servers it
// started (the proxy, the target, the sandbox) must keep answering them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_is_survived() {
    let Some(database) = TestDb::postgres().await else { return };
    let db = database.db.clone();
    let target = TargetServer::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Router::new().route("/", get(|| async { "ok" })),
    )
    .await;
    let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
    let now = now_ms();
    let mut monitor_ids = Vec::new();
    for n in 0..5 {
        let draft = MonitorDraft {
            name: format!("m{n}"),
            settings: MonitorSettings::Http(HttpSettings {
                url: format!("{}/", target.base),
                method: "GET".into(),
                headers: vec![],
                body: String::new(),
                expected_status: StatusRanges::default(),
                timeout_ms: 2_000,
                follow_redirects: false,
                verify_tls: true,
                max_response_ms: None,
            }),
            interval_secs: 10,
            fail_after: 1,
            recover_after: 1,
        };
        monitor_ids.push(
            monitors_store::create(&db, team, &draft, now, now + 1_000 + n * 1_000, None)
                .await
                .unwrap(),
        );
    }

    let upstream = {
        let url = url::Url::parse(&database.url).unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
    };
    let proxy = Proxy::start(upstream).await;
    let mut through_proxy = url::Url::parse(&database.url).unwrap();
    through_proxy.set_port(Some(proxy.port)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .env_clear()
        .args(["--host", "127.0.0.1", "--port", "0", "--allow-private-targets", "--log", "info"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--database-url", through_proxy.as_str()])
        .args(["--secret-key", std::str::from_utf8(TEST_SECRET).unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let (address_sender, address) = std::sync::mpsc::channel();
    let reader_lines = lines.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                let _ = address_sender.send(rest.split_whitespace().next().unwrap().to_string());
            }
            reader_lines.lock().unwrap().push(line);
        }
    });
    let base = format!("http://{}", address.recv_timeout(Duration::from_secs(30)).unwrap());
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    let before: usize = recorded(&db).await;
    assert!(before >= 5, "checks ran before the outage: {before}");

    proxy.cut();
    let outage_started = lines.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        http.get(format!("{base}/healthz")).send().await.unwrap().status(),
        503,
        "the health check tells"
    );
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("cannot reach its database"), "pages say why");
    tokio::time::sleep(Duration::from_secs(27)).await;

    proxy.restore();
    let outage_log: Vec<String> = lines.lock().unwrap()[outage_started..].to_vec();
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(
        http.get(format!("{base}/healthz")).send().await.unwrap().status(),
        200,
        "it resumed without a restart"
    );
    let after: usize = recorded(&db).await;
    assert!(
        after >= before + 5,
        "checks run again after the outage: {before} before, {after} after"
    );

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let log = lines.lock().unwrap().join("\n");

    // The scheduler and the reaction engine each log the outage when it
    // starts and again after 30 s, not on every attempt (about one a second).
    let unreachable =
        outage_log.iter().filter(|line| line.contains("the database is unreachable")).count();
    let repeated = outage_log.iter().filter(|line| line.contains("still failing")).count();
    assert!(
        (2..=12).contains(&unreachable),
        "{unreachable} outage lines in 30 s:\n{}",
        outage_log.join("\n")
    );
    assert!(repeated <= 6, "{repeated} repeated outage lines");
    assert!(
        log.contains("works again: the database is reachable"),
        "the recovery is logged:\n{log}"
    );
    assert!(
        log.contains("skipped checks that were missed"),
        "ticks missed during the outage are skipped, not queued"
    );
    database.drop_database().await;
}

async fn recorded(db: &app::storage::Db) -> usize {
    let count: i64 = app::with_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM check_results").fetch_one(pool).await.unwrap()
    });
    count as usize
}
