//! Storage on SQLite or Postgres behind one interface.
//!
//! Each backend has its own typed pool and migration folder. Queries are
//! written once in the dialect both backends accept (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, integer timestamps) and compiled once per
//! backend by [`with_db!`]; the few statements that differ are matched on
//! [`Db`] where they are used.

pub mod accounts;
pub mod api_tokens;
pub mod connections;
pub mod monitors;
pub mod notifications;
pub mod reactions;
pub mod sessions;
pub mod timeline;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the typed pool of whichever backend `$db`
/// is, so one query text compiles against both drivers.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite($pool) => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}
pub use with_db;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Migration counts reported by [`Db::migrate`].
#[derive(Debug, Clone, Copy)]
pub struct MigrationReport {
    pub applied_now: usize,
    pub total: usize,
}

impl Db {
    /// Connects to `url` (`sqlite:` or `postgres:`). A SQLite file is created
    /// when missing and runs in WAL mode with a busy timeout.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = if in_memory {
                // Every connection to an in-memory database opens its own empty
                // database, so the pool must keep exactly one, forever.
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?
            } else {
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .connect_with(options)
                    .await?
            };
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?.application_name("rebound");
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL scheme in {:?}: use sqlite:PATH or postgres://…",
                    url.split(':').next().unwrap_or_default()
                )
                .into(),
            ))
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<MigrationReport, sqlx::migrate::MigrateError> {
        let migrator = self.migrator();
        let before = self.applied_migrations().await;
        with_db!(self, pool => migrator.run(pool).await)?;
        let after = self.applied_migrations().await;
        Ok(MigrationReport { applied_now: after.saturating_sub(before), total: after })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self {
            Db::Sqlite(_) => &SQLITE_MIGRATOR,
            Db::Postgres(_) => &POSTGRES_MIGRATOR,
        }
    }

    /// Counts rows in sqlx's bookkeeping table; zero before the first run.
    async fn applied_migrations(&self) -> usize {
        let query = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
        let count: Result<i64, _> =
            with_db!(self, pool => sqlx::query_scalar(query).fetch_one(pool).await);
        count.map(|n| n as usize).unwrap_or(0)
    }

    /// `sqlite` or `postgres`, for logs and the health check.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Runs a trivial query; fails when the database does not respond.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Closes every connection; waits for connections in use to be returned.
    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// Returns whether `error` violates the unique constraint on `columns` of
/// `table` (declared as `UNIQUE (a, b)` or on a single column).
pub fn is_unique_violation(error: &sqlx::Error, table: &str, columns: &[&str]) -> bool {
    let sqlx::Error::Database(db_error) = error else {
        return false;
    };
    if !db_error.is_unique_violation() {
        return false;
    }
    // Postgres names the constraint (`users_email_key` by its default naming);
    // SQLite lists the columns in its message
    // ("UNIQUE constraint failed: monitors.team_id, monitors.name").
    let postgres_name = format!("{table}_{}_key", columns.join("_"));
    let sqlite_columns: Vec<String> =
        columns.iter().map(|column| format!("{table}.{column}")).collect();
    db_error.constraint() == Some(postgres_name.as_str())
        || db_error.message().ends_with(&sqlite_columns.join(", "))
}
