//! Databases and data the benchmarks run on.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use app::accounts::ssr::hash_password;
use app::connections::ConnectionKind;
use app::connections::tokens::access_token_label;
use app::monitors::MonitorSettings;
use app::monitors::settings::{HttpSettings, StatusRanges};
use app::state::{AppState, Secrets, Settings};
use app::storage::Db;
use app::storage::accounts::{self as accounts_store, Creation};
use app::storage::connections::{self as connections_store, NewConnection, SealedTokens};
use app::storage::monitors::MonitorDraft;
use app::time::now_ms;

use crate::sandbox::Sandbox;

/// The sign-in of the benchmark team's owner.
pub const EMAIL: &str = "bench@example.com";

/// The password of every benchmark user.
pub const PASSWORD: &str = "benchmark password";

/// Instance secret of benchmark processes; their data is thrown away.
pub const SECRET: &[u8] = b"benchmark instance secret, not for real use";

/// A database for one benchmark: the one given, or a new SQLite file in a
/// temporary directory that is deleted afterwards.
pub struct Scratch {
    pub url: String,
    pub db: Db,
    directory: Option<PathBuf>,
}

impl Scratch {
    pub async fn open(url: Option<&str>, max_connections: u32) -> anyhow::Result<Scratch> {
        let (url, directory) = match url {
            Some(url) => (url.to_string(), None),
            None => {
                let directory = std::env::temp_dir().join(format!(
                    "rebound-bench-{}-{}",
                    std::process::id(),
                    now_ms()
                ));
                std::fs::create_dir_all(&directory)
                    .with_context(|| format!("cannot create {}", directory.display()))?;
                (format!("sqlite://{}", directory.join("bench.db").display()), Some(directory))
            }
        };
        let db = Db::connect(&url, max_connections).await.with_context(|| {
            format!("cannot connect to the benchmark database {}", redact(&url))
        })?;
        db.migrate().await.context("database migration failed")?;
        let teams: i64 = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM teams").fetch_one(pool).await
        })?;
        anyhow::ensure!(
            teams == 0,
            "the benchmark database already holds teams; give an empty database"
        );
        Ok(Scratch { url, db, directory })
    }

    /// Names the database, for the printed figures.
    pub fn describe(&self) -> String {
        match &self.directory {
            Some(_) => "SQLite (a new file in a temporary directory)".to_string(),
            None => format!("{} ({})", self.db.kind(), redact(&self.url)),
        }
    }

    pub async fn close(self) {
        self.db.close().await;
        if let Some(directory) = self.directory
            && let Err(error) = std::fs::remove_dir_all(&directory)
        {
            eprintln!("warning: could not delete {}: {error}", directory.display());
        }
    }
}

/// Returns `url` without its password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

pub struct Team {
    pub id: i64,
    pub owner_id: i64,
}

/// Creates a team with one owner whose password is [`PASSWORD`].
pub async fn team(db: &Db) -> anyhow::Result<Team> {
    let hash = hash_password(PASSWORD.to_string())
        .await
        .map_err(|error| anyhow::anyhow!("hashing the benchmark password failed: {error}"))?;
    let account = accounts_store::create_account_with_team(
        db,
        EMAIL,
        &hash,
        "Bench",
        now_ms(),
        Creation::Any,
    )
    .await
    .context("creating the benchmark team failed")?;
    Ok(Team { id: account.team_id, owner_id: account.user_id })
}

/// Describes an HTTP status monitor of `url`.
pub fn http_monitor(name: String, url: &str, interval_secs: u32, fail_after: u32) -> MonitorDraft {
    MonitorDraft {
        name,
        settings: MonitorSettings::Http(HttpSettings {
            url: url.to_string(),
            method: "GET".to_string(),
            headers: Vec::new(),
            body: String::new(),
            expected_status: StatusRanges::default(),
            timeout_ms: 5_000,
            follow_redirects: false,
            verify_tls: true,
            max_response_ms: None,
        }),
        interval_secs,
        fail_after,
        recover_after: 1,
    }
}

/// Connects a new sandbox account to `team` by API key; returns the
/// connection id and the account.
pub async fn sandbox_connection(
    db: &Db,
    sandbox: &Sandbox,
    team: &Team,
) -> anyhow::Result<(i64, crate::sandbox::SandboxAccount)> {
    let account = sandbox.create_account(None, false);
    let new = NewConnection {
        team_id: team.id,
        kind: ConnectionKind::Sandbox,
        heroku_user_id: &account.id,
        email: &account.email,
        api_url: None,
        access_token_expires_at: None,
        authorization_id: None,
        created_by: Some(team.owner_id),
        now: now_ms(),
    };
    let key = *Secrets::derive(SECRET).credential_encryption_key();
    let token = account.api_key.clone();
    let saved = connections_store::save_connection(db, &new, |id| SealedTokens {
        access_token: app::crypto::seal(&key, &access_token_label(id), token.as_bytes()),
        refresh_token: None,
    })
    .await
    .context("saving the sandbox connection failed")?;
    Ok((saved.id(), account))
}

/// Builds the state of one Rebound process on `db` whose Heroku is
/// `sandbox_url`.
pub fn state(db: Db, sandbox_url: Option<&str>, address: SocketAddr) -> AppState {
    let mut settings = Settings::default();
    if let Some(url) = sandbox_url {
        settings.heroku.client.api_url = url.to_string();
        settings.heroku.client.oauth_url = url.to_string();
        settings.heroku.sandbox_url = Some(url.to_string());
    }
    let probe = app::monitors::probe::ProbeOptions {
        // Every benchmark target listens on loopback.
        allow_private_targets: true,
        ..Default::default()
    };
    crate::serve::build_state(db, settings, Secrets::derive(SECRET), address, probe)
}
