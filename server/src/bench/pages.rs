//! Pages under load. A second `rebound` process (this binary, without its
//! worker) serves a seeded database. A load generator in this process keeps
//! a fixed number of signed-in requests in flight for each page and prints
//! latency percentiles and throughput. Both share the machine's cores.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::storage::monitors as monitors_store;
use app::time::now_ms;
use tokio::task::JoinSet;

use super::seed::{self, Scratch};
use super::{PagesArgs, percentile};

pub async fn run(args: PagesArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.executions >= 1000, "--executions must be at least 1000");
    let scratch = Scratch::open(args.database_url.as_deref(), 8).await?;
    println!(
        "pages: {} monitors and {} executions, {} requests in flight for {} s per page, on {}",
        args.monitors,
        args.executions,
        args.concurrency,
        args.duration.as_secs(),
        scratch.describe()
    );
    let outcome = measure(&args, &scratch).await;
    scratch.close().await;
    outcome
}

async fn measure(args: &PagesArgs, scratch: &Scratch) -> anyhow::Result<()> {
    let seeded = Instant::now();
    let team = seed::team(&scratch.db).await?;
    seed_monitors(&scratch.db, team.id, args.monitors).await?;
    super::timeline::fill(&scratch.db, team.id, args.executions, now_ms()).await?;
    println!("seeded in {:.1} s", seeded.elapsed().as_secs_f64());

    let mut server = Server::start(&scratch.url).await?;
    let outcome = async {
        let client = server.sign_in().await?;
        for path in ["/", "/monitors", "/reactions", "/timeline", "/timeline?app=app-3"] {
            load(&client, &server.base, path, args).await?;
        }
        anyhow::Ok(())
    }
    .await;
    server.stop();
    outcome
}

/// Monitors of `team_id`, parked so that nothing checks them, with a tenth
/// Failed and the rest Healthy, as on a team's ordinary day.
async fn seed_monitors(db: &app::storage::Db, team_id: i64, count: usize) -> anyhow::Result<()> {
    let parked = now_ms() + 24 * 3_600_000;
    for index in 0..count {
        let draft =
            seed::http_monitor(format!("service {index:04}"), "http://127.0.0.1:9/health", 30, 2);
        monitors_store::create(db, team_id, &draft, now_ms(), parked, None)
            .await
            .map_err(|error| anyhow::anyhow!("creating a monitor failed: {error}"))?;
    }
    app::with_db!(db, pool => {
        sqlx::query(
            "UPDATE monitors SET state = CASE WHEN id % 10 = 0 THEN 'failed' ELSE 'healthy' END",
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Keeps `args.concurrency` requests for `path` in flight for
/// `args.duration` after one second of warm-up, then prints the figures.
async fn load(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    args: &PagesArgs,
) -> anyhow::Result<()> {
    let url = Arc::new(format!("{base}{path}"));
    let first = client.get(url.as_str()).send().await?;
    let status = first.status();
    let body = first.text().await?;
    let size = body.len();
    anyhow::ensure!(status.is_success(), "GET {path} returned {status}");
    // An error page is fast and small; measuring it would flatter the figures.
    anyhow::ensure!(
        !body.contains("banner-error"),
        "GET {path} rendered an error message; see the server's log above"
    );

    let warm_up = Duration::from_secs(1);
    let started = Instant::now();
    let end = started + warm_up + args.duration;
    let mut workers = JoinSet::new();
    for _ in 0..args.concurrency {
        let client = client.clone();
        let url = url.clone();
        workers.spawn(async move {
            let mut latencies_us = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let response = client.get(url.as_str()).send().await?;
                let status = response.status();
                response.bytes().await?;
                anyhow::ensure!(status.is_success(), "GET {url} returned {status}");
                if sent >= started + warm_up {
                    latencies_us.push(sent.elapsed().as_micros() as i64);
                }
            }
            anyhow::Ok(latencies_us)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        latencies.extend(done.context("a load worker panicked")??);
    }
    latencies.sort_unstable();
    let ms = |quantile: f64| percentile(&latencies, quantile) as f64 / 1000.0;
    println!(
        "GET {path} ({:.0} KB): {} requests, {:.0} requests/s, latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        size as f64 / 1e3,
        latencies.len(),
        latencies.len() as f64 / args.duration.as_secs_f64(),
        ms(0.5),
        ms(0.95),
        ms(0.99),
        ms(1.0),
    );
    Ok(())
}

/// This binary serving the benchmark database on a free loopback port.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str) -> anyhow::Result<Server> {
        let binary = std::env::current_exe().context("cannot find this binary")?;
        let port = super::footprint::free_port()?;
        let child = Command::new(binary)
            .arg("--database-url")
            .arg(database_url)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .arg("--no-worker")
            .env("REBOUND_SECRET_KEY", String::from_utf8_lossy(seed::SECRET).as_ref())
            .env("REBOUND_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("PORT")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start rebound")?;
        let started = Instant::now();
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut server = Server { child, base: format!("http://{address}") };
        if let Err(error) =
            super::footprint::wait_until_healthy(&mut server.child, address, started).await
        {
            server.stop();
            return Err(error);
        }
        Ok(server)
    }

    /// Signs in and returns a client that sends the session cookie of the benchmark team's owner.
    async fn sign_in(&self) -> anyhow::Result<reqwest::Client> {
        let response = reqwest::Client::new()
            .post(format!("{}/api/login", self.base))
            .header(reqwest::header::ORIGIN, &self.base)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("email", seed::EMAIL), ("password", seed::PASSWORD)])
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "signing in returned {status}");
        // A browser sends back only the name=value part of each Set-Cookie.
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()?.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        anyhow::ensure!(!cookie.is_empty(), "signing in set no session cookie");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse()?);
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(256)
            .build()?)
    }

    fn stop(&mut self) {
        super::footprint::stop(&mut self.child);
    }
}
