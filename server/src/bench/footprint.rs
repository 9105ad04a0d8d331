//! Footprint of this build: binary size, the browser bundle as served
//! (raw and pre-compressed), time from process start to the first answered request (with a
//! new database, then with an existing one), and resident memory at rest.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::machine::rss_kib;

/// The browser bundle, as `assets` serves it.
const BUNDLE: [&str; 3] = ["pkg/rebound.wasm", "pkg/rebound.js", "pkg/rebound.css"];

pub async fn run() -> anyhow::Result<()> {
    let binary = std::env::current_exe().context("cannot find this binary")?;
    let size = std::fs::metadata(&binary)?.len();
    println!("binary: {} ({:.1} MB)", binary.display(), size as f64 / 1e6);
    for path in BUNDLE {
        let size = |path: &str| crate::assets::embedded(path).map(|data| data.len() as f64 / 1e3);
        let raw = size(path).with_context(|| format!("{path} is not embedded in this build"))?;
        let compressed = |suffix: &str| {
            size(&format!("{path}{suffix}")).map_or("none".to_string(), |kb| format!("{kb:.0} KB"))
        };
        println!(
            "{path}: {raw:.0} KB; as served: gzip {}, brotli {}",
            compressed(".gz"),
            compressed(".br")
        );
    }

    let data_dir = std::env::temp_dir().join(format!(
        "rebound-footprint-{}-{}",
        std::process::id(),
        app::time::now_ms()
    ));
    let result = starts(&binary, &data_dir).await;
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        eprintln!("warning: could not delete {}: {error}", data_dir.display());
    }
    result
}

async fn starts(binary: &std::path::Path, data_dir: &std::path::Path) -> anyhow::Result<()> {
    for (label, idle) in [("new database", false), ("existing database", true)] {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--port")
            .arg(port.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("PORT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start rebound")?;
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let outcome = wait_until_healthy(&mut child, address, started).await;
        let measured = outcome.map(|elapsed| {
            println!("start-up to first answered request ({label}): {} ms", elapsed.as_millis());
        });
        if measured.is_ok() && idle {
            tokio::time::sleep(Duration::from_secs(5)).await;
            println!("resident memory at rest, 5 s after start: {:.1} MB", rss_mb(&child));
            for _ in 0..20 {
                get(address, "/login")?;
            }
            println!("resident memory after serving 20 pages: {:.1} MB", rss_mb(&child));
        }
        stop(&mut child);
        measured?;
    }
    Ok(())
}

fn rss_mb(child: &Child) -> f64 {
    rss_kib(Some(child.id())) as f64 * 1024.0 / 1e6
}

pub(super) async fn wait_until_healthy(
    child: &mut Child,
    address: SocketAddr,
    started: Instant,
) -> anyhow::Result<Duration> {
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("rebound exited with {status} before answering");
        }
        if get(address, "/healthz").is_ok_and(|status| status == 200) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    anyhow::bail!("rebound did not answer /healthz within 30 s")
}

/// One HTTP/1.1 GET; returns the status code.
fn get(address: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head = String::from_utf8_lossy(&response[..response.len().min(32)]).into_owned();
    head.split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .with_context(|| format!("not an HTTP response: {head:?}"))
}

pub(super) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Stops the child with SIGTERM, as an operator would, and waits for it.
pub(super) fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    for _ in 0..100 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
