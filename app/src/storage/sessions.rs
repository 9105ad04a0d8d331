//! A tower-sessions store in Rebound's own database, so that any replica
//! can serve any signed-in user.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::{Db, with_db};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }

    /// Deletes expired sessions; returns how many.
    pub async fn delete_expired(&self, now_ms: i64) -> sqlx::Result<u64> {
        let query = "DELETE FROM sessions WHERE expires_at < $1";
        with_db!(&self.db, pool => {
            sqlx::query(query).bind(now_ms).execute(pool).await.map(|done| done.rows_affected())
        })
    }
}

/// Computes the stored key: a SHA-256 of the id in the cookie.
fn id_hash(id: &Id) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(id.0.to_le_bytes()))
}

fn expiry_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let query = "INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id_hash) DO NOTHING";
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // A 128-bit random id collides practically never; if it does, draw again.
        loop {
            let inserted = with_db!(&self.db, pool => {
                sqlx::query(query)
                    .bind(id_hash(&record.id))
                    .bind(&data)
                    .bind(expiry_ms(record))
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })
            .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let query = "INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at";
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        with_db!(&self.db, pool => {
            sqlx::query(query)
                .bind(id_hash(&record.id))
                .bind(&data)
                .bind(expiry_ms(record))
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let query = "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";
        let row: Option<(String, i64)> = with_db!(&self.db, pool => {
            sqlx::query_as(query).bind(id_hash(id)).bind(now_ms()).fetch_optional(pool).await
        })
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(backend)?;
        let data = serde_json::from_str(&data).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let query = "DELETE FROM sessions WHERE id_hash = $1";
        with_db!(&self.db, pool => sqlx::query(query).bind(id_hash(id)).execute(pool).await.map(|_| ()))
            .map_err(backend)?;
        Ok(())
    }
}
