//! Heroku connections and their encrypted credentials.
//!
//! Ciphertexts are opaque here: callers seal and open them (see
//! `crate::crypto`). Because the associated data of a ciphertext names its
//! row id, [`save_connection`] asks for the sealed tokens only once the id
//! is known.

use sqlx::FromRow;

use super::{Db, with_db};
use crate::connections::{ConnectionKind, ConnectionState};

/// A connection without its secrets.
#[derive(Debug, Clone, FromRow)]
pub struct ConnectionRecord {
    pub id: i64,
    pub team_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ConnectionKind,
    pub heroku_user_id: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub state: ConnectionState,
    pub state_reason: Option<String>,
    pub api_url: Option<String>,
    pub access_token_expires_at: Option<i64>,
    pub authorization_id: Option<String>,
    pub rate_limit_remaining: Option<i64>,
    pub rate_limit_observed_at: Option<i64>,
    pub created_at: i64,
    pub has_refresh_token: bool,
}

/// The encrypted credentials of a connection and the refresh bookkeeping.
#[derive(Clone, FromRow)]
pub struct StoredTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_token_expires_at: Option<i64>,
    pub token_version: i64,
    #[sqlx(try_from = "String")]
    pub state: ConnectionState,
    pub refresh_lease_until: Option<i64>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("token_version", &self.token_version)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Sealed tokens for one row.
pub struct SealedTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
}

/// A connection to create, or whose credentials to replace when the team
/// already has this Heroku account connected the same way.
#[derive(Debug, Clone)]
pub struct NewConnection<'a> {
    pub team_id: i64,
    pub kind: ConnectionKind,
    pub heroku_user_id: &'a str,
    pub email: &'a str,
    pub api_url: Option<&'a str>,
    pub access_token_expires_at: Option<i64>,
    pub authorization_id: Option<&'a str>,
    /// The member who connected it; `None` for an operator's API token.
    pub created_by: Option<i64>,
    pub now: i64,
}

/// Whether [`save_connection`] created a row or renewed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Created(i64),
    Replaced(i64),
}

impl Saved {
    pub fn id(self) -> i64 {
        match self {
            Saved::Created(id) | Saved::Replaced(id) => id,
        }
    }
}

const RECORD_COLUMNS: &str = "id, team_id, kind, heroku_user_id, email, state, state_reason, \
     api_url, access_token_expires_at, authorization_id, rate_limit_remaining, \
     rate_limit_observed_at, created_at, refresh_token IS NOT NULL AS has_refresh_token";

/// Creates a connection, or replaces the credentials of the team's existing
/// connection to the same Heroku account (which also makes it usable again
/// after it needed re-authorization). `seal` receives the row id.
pub async fn save_connection(
    db: &Db,
    new: &NewConnection<'_>,
    seal: impl Fn(i64) -> SealedTokens,
) -> sqlx::Result<Saved> {
    let find = "SELECT id FROM heroku_connections \
                WHERE team_id = $1 AND kind = $2 AND heroku_user_id = $3";
    let insert = "INSERT INTO heroku_connections (team_id, kind, heroku_user_id, email, state, \
                  api_url, access_token, access_token_expires_at, authorization_id, created_by, \
                  created_at, updated_at) \
                  VALUES ($1, $2, $3, $4, 'ok', $5, $6, $7, $8, $9, $10, $10) RETURNING id";
    let replace = "UPDATE heroku_connections SET email = $2, state = 'ok', state_reason = NULL, \
                   api_url = $3, access_token_expires_at = $4, authorization_id = $5, \
                   token_version = token_version + 1, refresh_lease_owner = NULL, \
                   refresh_lease_until = NULL, updated_at = $6 WHERE id = $1";
    let write_tokens =
        "UPDATE heroku_connections SET access_token = $2, refresh_token = $3 WHERE id = $1";
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(find)
            .bind(new.team_id)
            .bind(new.kind.as_str())
            .bind(new.heroku_user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let saved = match existing {
            Some(id) => {
                sqlx::query(replace)
                    .bind(id)
                    .bind(new.email)
                    .bind(new.api_url)
                    .bind(new.access_token_expires_at)
                    .bind(new.authorization_id)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                Saved::Replaced(id)
            }
            None => {
                let id: i64 = sqlx::query_scalar(insert)
                    .bind(new.team_id)
                    .bind(new.kind.as_str())
                    .bind(new.heroku_user_id)
                    .bind(new.email)
                    .bind(new.api_url)
                    .bind(Vec::<u8>::new())
                    .bind(new.access_token_expires_at)
                    .bind(new.authorization_id)
                    .bind(new.created_by)
                    .bind(new.now)
                    .fetch_one(&mut *tx)
                    .await?;
                Saved::Created(id)
            }
        };
        let sealed = seal(saved.id());
        sqlx::query(write_tokens)
            .bind(saved.id())
            .bind(sealed.access_token)
            .bind(sealed.refresh_token)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(saved)
    })
}

pub async fn list_connections(db: &Db, team_id: i64) -> sqlx::Result<Vec<ConnectionRecord>> {
    let query = format!(
        "SELECT {RECORD_COLUMNS} FROM heroku_connections WHERE team_id = $1 ORDER BY created_at, id"
    );
    with_db!(db, pool => sqlx::query_as(&query).bind(team_id).fetch_all(pool).await)
}

/// Returns a connection of `team_id`; another team's connection reads as absent.
pub async fn find_connection(
    db: &Db,
    team_id: i64,
    id: i64,
) -> sqlx::Result<Option<ConnectionRecord>> {
    let query =
        format!("SELECT {RECORD_COLUMNS} FROM heroku_connections WHERE id = $1 AND team_id = $2");
    with_db!(db, pool => sqlx::query_as(&query).bind(id).bind(team_id).fetch_optional(pool).await)
}

/// Returns a connection whatever its team, for the worker.
pub async fn find_connection_by_id(db: &Db, id: i64) -> sqlx::Result<Option<ConnectionRecord>> {
    let query = format!("SELECT {RECORD_COLUMNS} FROM heroku_connections WHERE id = $1");
    with_db!(db, pool => sqlx::query_as(&query).bind(id).fetch_optional(pool).await)
}

pub async fn load_tokens(db: &Db, id: i64) -> sqlx::Result<Option<StoredTokens>> {
    let query = "SELECT access_token, refresh_token, access_token_expires_at, token_version, \
                 state, refresh_lease_until FROM heroku_connections WHERE id = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(id).fetch_optional(pool).await)
}

/// Claims the right to refresh the access token of version `version` until
/// `lease_until`. Fails when another process holds a live lease, or when the
/// token was replaced meanwhile (the caller then re-reads it).
pub async fn claim_refresh(
    db: &Db,
    id: i64,
    version: i64,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<bool> {
    let query = "UPDATE heroku_connections SET refresh_lease_owner = $3, refresh_lease_until = $5 \
                 WHERE id = $1 AND token_version = $2 AND state = 'ok' \
                 AND (refresh_lease_until IS NULL OR refresh_lease_until < $4)";
    with_db!(db, pool => {
        let done = sqlx::query(query)
            .bind(id)
            .bind(version)
            .bind(owner)
            .bind(now)
            .bind(lease_until)
            .execute(pool)
            .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Stores the result of a refresh made under `owner`'s lease and ends the
/// lease. A missing `refresh_token` keeps the stored one. Returns false
/// when the lease was lost (expired and taken by another process).
pub async fn store_refreshed_tokens(
    db: &Db,
    id: i64,
    owner: &str,
    access_token: Vec<u8>,
    refresh_token: Option<Vec<u8>>,
    expires_at: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let query = "UPDATE heroku_connections SET access_token = $3, \
                 refresh_token = COALESCE($4, refresh_token), access_token_expires_at = $5, \
                 token_version = token_version + 1, refresh_lease_owner = NULL, \
                 refresh_lease_until = NULL, updated_at = $6 \
                 WHERE id = $1 AND refresh_lease_owner = $2";
    with_db!(db, pool => {
        let done = sqlx::query(query)
            .bind(id)
            .bind(owner)
            .bind(access_token)
            .bind(refresh_token)
            .bind(expires_at)
            .bind(now)
            .execute(pool)
            .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Ends `owner`'s lease without a new token (the refresh failed).
pub async fn release_refresh(db: &Db, id: i64, owner: &str) -> sqlx::Result<()> {
    let query = "UPDATE heroku_connections SET refresh_lease_owner = NULL, \
                 refresh_lease_until = NULL WHERE id = $1 AND refresh_lease_owner = $2";
    with_db!(db, pool => sqlx::query(query).bind(id).bind(owner).execute(pool).await.map(|_| ()))
}

/// Sets the state (e.g. needs re-authorization) with the reason shown to
/// people, and ends any refresh lease. A working connection that stops
/// working queues the team's "needs re-authorization" notifications in the
/// same transaction, so each loss is announced once.
pub async fn set_state(
    db: &Db,
    id: i64,
    state: ConnectionState,
    reason: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE",
        Db::Sqlite(_) => "",
    };
    let select =
        format!("SELECT team_id, email, state FROM heroku_connections WHERE id = $1{lock}");
    let update = "UPDATE heroku_connections SET state = $2, state_reason = $3, \
                  refresh_lease_owner = NULL, refresh_lease_until = NULL, updated_at = $4 \
                  WHERE id = $1";
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        // Takes SQLite's write lock before the read, as monitors do.
        sqlx::query("UPDATE heroku_connections SET state = state WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let before: Option<(i64, String, String)> =
            sqlx::query_as(&select).bind(id).fetch_optional(&mut *tx).await?;
        sqlx::query(update)
            .bind(id)
            .bind(state.as_str())
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some((team_id, email, previous)) = before
            && previous == ConnectionState::Ok.as_str()
            && state != ConnectionState::Ok
        {
            let event = crate::notifications::event::connection_lost(team_id, id, &email, reason, now);
            super::notifications::queue_deliveries!(&mut *tx, &event, now)?;
        }
        tx.commit().await
    })
}

pub async fn record_rate_limit(db: &Db, id: i64, remaining: i64, now: i64) -> sqlx::Result<()> {
    let query = "UPDATE heroku_connections SET rate_limit_remaining = $2, \
                 rate_limit_observed_at = $3 WHERE id = $1";
    with_db!(db, pool => {
        sqlx::query(query).bind(id).bind(remaining).bind(now).execute(pool).await.map(|_| ())
    })
}

/// Deletes a connection of `team_id` and with it its secrets.
pub async fn delete_connection(db: &Db, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let query = "DELETE FROM heroku_connections WHERE id = $1 AND team_id = $2";
    with_db!(db, pool => {
        let done = sqlx::query(query).bind(id).bind(team_id).execute(pool).await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Ids of usable OAuth connections whose access token expires before `before`.
pub async fn refresh_due(db: &Db, before: i64) -> sqlx::Result<Vec<i64>> {
    let query = "SELECT id FROM heroku_connections WHERE state = 'ok' \
                 AND refresh_token IS NOT NULL AND access_token_expires_at < $1 ORDER BY id";
    with_db!(db, pool => sqlx::query_scalar(query).bind(before).fetch_all(pool).await)
}
