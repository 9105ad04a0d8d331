//! API tokens and the request counters of the API's rate limit.

use sqlx::FromRow;

use super::{Db, with_db};
use crate::accounts::Role;
use crate::api::ApiToken;

/// A token to store; only the hash of its value is kept.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub team_id: i64,
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

pub async fn create(db: &Db, token: &NewToken<'_>) -> sqlx::Result<i64> {
    let query = "INSERT INTO api_tokens \
                 (team_id, name, role, token_hash, prefix, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    with_db!(db, pool => {
        sqlx::query_scalar(query)
            .bind(token.team_id)
            .bind(token.name)
            .bind(token.role.as_str())
            .bind(token.token_hash)
            .bind(token.prefix)
            .bind(token.created_by)
            .bind(token.created_at)
            .bind(token.expires_at)
            .fetch_one(pool)
            .await
    })
}

#[derive(Debug, FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    prefix: String,
    created_by_email: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// Lists a team's tokens, revoked ones included, newest first.
pub async fn list(db: &Db, team_id: i64) -> sqlx::Result<Vec<ApiToken>> {
    let query = "SELECT t.id, t.name, t.role, t.prefix, u.email AS created_by_email, t.created_at, \
                 t.last_used_at, t.expires_at, t.revoked_at \
                 FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by \
                 WHERE t.team_id = $1 ORDER BY t.created_at DESC, t.id DESC";
    let rows: Vec<TokenRow> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|row| ApiToken {
            id: row.id,
            name: row.name,
            role: row.role,
            prefix: row.prefix,
            created_by: row.created_by_email,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
        .collect())
}

/// Revokes a team's token; returns false when it does not exist in the team
/// or was already revoked.
pub async fn revoke(db: &Db, team_id: i64, id: i64, now: i64) -> sqlx::Result<bool> {
    let query = "UPDATE api_tokens SET revoked_at = $1 \
                 WHERE id = $2 AND team_id = $3 AND revoked_at IS NULL";
    let updated = with_db!(db, pool => {
        sqlx::query(query).bind(now).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

/// What authenticating a request needs to know about a token.
#[derive(Debug, Clone, FromRow)]
pub struct TokenGrant {
    pub id: i64,
    pub team_id: i64,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_by: Option<i64>,
    /// The creator's current role in the token's team; `None` when the
    /// creator left the team (or there is no creator).
    pub creator_role: Option<String>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Finds a token by the hash of its value.
pub async fn find_by_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<TokenGrant>> {
    let query = "SELECT t.id, t.team_id, t.role, t.created_by, m.role AS creator_role, \
                 t.expires_at, t.revoked_at \
                 FROM api_tokens t \
                 LEFT JOIN memberships m ON m.team_id = t.team_id AND m.user_id = t.created_by \
                 WHERE t.token_hash = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(token_hash).fetch_optional(pool).await)
}

/// Records that a token was used at `now`. The row is written at most once
/// a minute per token, so busy scripts do not turn every read into a write.
pub async fn touch(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    let query = "UPDATE api_tokens SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)";
    with_db!(db, pool => {
        sqlx::query(query).bind(now).bind(id).bind(now - 60_000).execute(pool).await.map(|_| ())
    })
}

/// Counts one request of a token in the window starting at `window_start`
/// and returns the window's count so far, this request included.
pub async fn count_request(db: &Db, token_id: i64, window_start: i64) -> sqlx::Result<i64> {
    let query = "INSERT INTO api_rate_limits (token_id, window_start, requests) VALUES ($1, $2, 1) \
                 ON CONFLICT (token_id, window_start) \
                 DO UPDATE SET requests = api_rate_limits.requests + 1 RETURNING requests";
    let requests: i32 = with_db!(db, pool => {
        sqlx::query_scalar(query).bind(token_id).bind(window_start).fetch_one(pool).await
    })?;
    Ok(i64::from(requests))
}

/// Deletes rate-limit windows that started before `before`.
pub async fn prune_rate_limits(db: &Db, before: i64) -> sqlx::Result<u64> {
    let query = "DELETE FROM api_rate_limits WHERE window_start < $1";
    with_db!(db, pool => {
        sqlx::query(query).bind(before).execute(pool).await.map(|done| done.rows_affected())
    })
}
