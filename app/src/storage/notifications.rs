//! Notification channels and rules, the queue of deliveries and the record
//! of delivery attempts.
//!
//! Deliveries are queued by [`QUEUE_DELIVERIES`] inside the transaction that
//! records an event, and claimed with an expiring lease, as reaction
//! triggers are: a process that dies mid-send loses its lease and another
//! process retries the delivery.

use sqlx::FromRow;

use super::{Db, is_unique_violation, with_db};
use crate::notifications::{Attempt, ChannelKind, EventKind, Rule};

#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    #[error("a channel with this name already exists in the team")]
    DuplicateName,
    #[error("this rule already exists")]
    DuplicateRule,
    #[error("no such channel")]
    ChannelNotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Queues one delivery per rule of the team that routes the event.
/// Parameters: $1 team id, $2 event kind, $3 event JSON, $4 now.
pub const QUEUE_DELIVERIES: &str = "INSERT INTO notification_deliveries \
     (team_id, channel_id, event, payload, status, run_after, created_at) \
     SELECT r.team_id, r.channel_id, r.event, $3, 'pending', $4, $4 FROM notification_rules r \
     WHERE r.team_id = $1 AND r.event = $2";

/// Queues the deliveries of `event` in the caller's transaction; returns how many.
macro_rules! queue_deliveries {
    ($executor:expr, $event:expr, $now:expr) => {{
        let event: &$crate::notifications::event::Event = $event;
        sqlx::query($crate::storage::notifications::QUEUE_DELIVERIES)
            .bind(event.team_id)
            .bind(event.event.as_str())
            .bind(event.to_json())
            .bind($now)
            .execute($executor)
            .await
            .map(|done| done.rows_affected())
    }};
}
pub(crate) use queue_deliveries;

/// A channel without its secrets.
#[derive(Debug, Clone, FromRow)]
pub struct ChannelRecord {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub kind: String,
    pub target_summary: String,
    pub created_at: i64,
    pub consecutive_failures: i32,
    pub last_error: Option<String>,
    pub last_failure_at: Option<i64>,
    pub last_success_at: Option<i64>,
}

impl ChannelRecord {
    pub fn kind(&self) -> Option<ChannelKind> {
        ChannelKind::parse(&self.kind)
    }
}

const CHANNEL_COLUMNS: &str = "id, team_id, name, kind, target_summary, created_at, \
     consecutive_failures, last_error, last_failure_at, last_success_at";

/// A validated channel, ready to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewChannel<'a> {
    pub team_id: i64,
    pub name: &'a str,
    pub kind: ChannelKind,
    pub target_summary: &'a str,
    pub created_by: Option<i64>,
    pub now: i64,
}

/// Associated data of a channel's sealed settings: names the row, so a
/// ciphertext copied to another channel does not decrypt.
pub fn secret_label(channel_id: i64) -> String {
    format!("notification_channels.secret_config:{channel_id}")
}

/// Inserts a channel. `seal` encrypts its settings once the row id is known,
/// since the id is part of the ciphertext's associated data.
pub async fn create_channel(
    db: &Db,
    new: &NewChannel<'_>,
    seal: impl FnOnce(i64) -> Vec<u8>,
) -> Result<i64, NotificationsError> {
    insert_channel(db, new, seal).await.map_err(|error| {
        if is_unique_violation(&error, "notification_channels", &["team_id", "name"]) {
            NotificationsError::DuplicateName
        } else {
            error.into()
        }
    })
}

async fn insert_channel(
    db: &Db,
    new: &NewChannel<'_>,
    seal: impl FnOnce(i64) -> Vec<u8>,
) -> sqlx::Result<i64> {
    let insert = "INSERT INTO notification_channels (team_id, name, kind, target_summary, \
                  secret_config, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let write_secret = "UPDATE notification_channels SET secret_config = $1 WHERE id = $2";
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(insert)
            .bind(new.team_id)
            .bind(new.name)
            .bind(new.kind.as_str())
            .bind(new.target_summary)
            .bind(Vec::<u8>::new())
            .bind(new.created_by)
            .bind(new.now)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(write_secret).bind(seal(id)).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    })
}

pub async fn list_channels(db: &Db, team_id: i64) -> sqlx::Result<Vec<ChannelRecord>> {
    let query = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE team_id = $1 ORDER BY name, id"
    );
    with_db!(db, pool => sqlx::query_as(&query).bind(team_id).fetch_all(pool).await)
}

pub async fn find_channel(db: &Db, team_id: i64, id: i64) -> sqlx::Result<Option<ChannelRecord>> {
    let query = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE team_id = $1 AND id = $2"
    );
    with_db!(db, pool => sqlx::query_as(&query).bind(team_id).bind(id).fetch_optional(pool).await)
}

/// Reads a channel with its sealed settings, whatever its team, for the sender.
pub async fn channel_secret(db: &Db, id: i64) -> sqlx::Result<Option<(ChannelRecord, Vec<u8>)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        channel: ChannelRecord,
        secret_config: Vec<u8>,
    }
    let query =
        format!("SELECT {CHANNEL_COLUMNS}, secret_config FROM notification_channels WHERE id = $1");
    let row: Option<Row> =
        with_db!(db, pool => sqlx::query_as(&query).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(|row| (row.channel, row.secret_config)))
}

/// Deletes a channel of `team_id` with its rules, deliveries and attempts.
pub async fn delete_channel(db: &Db, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let query = "DELETE FROM notification_channels WHERE id = $1 AND team_id = $2";
    let deleted = with_db!(db, pool => {
        sqlx::query(query).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(deleted == 1)
}

/// Adds a rule for a channel of `team_id`.
pub async fn add_rule(
    db: &Db,
    team_id: i64,
    channel_id: i64,
    event: EventKind,
    now: i64,
) -> Result<i64, NotificationsError> {
    let query = "INSERT INTO notification_rules (team_id, channel_id, event, created_at) \
                 SELECT team_id, id, $3, $4 FROM notification_channels WHERE id = $2 AND team_id = $1 \
                 RETURNING id";
    let inserted: sqlx::Result<Option<i64>> = with_db!(db, pool => {
        sqlx::query_scalar(query).bind(team_id).bind(channel_id).bind(event.as_str()).bind(now).fetch_optional(pool).await
    });
    match inserted {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(NotificationsError::ChannelNotFound),
        Err(error)
            if is_unique_violation(&error, "notification_rules", &["channel_id", "event"]) =>
        {
            Err(NotificationsError::DuplicateRule)
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn list_rules(db: &Db, team_id: i64) -> sqlx::Result<Vec<Rule>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        event: String,
        channel_id: i64,
        channel_name: String,
    }
    let query = "SELECT r.id, r.event, r.channel_id, c.name AS channel_name FROM notification_rules r \
                 JOIN notification_channels c ON c.id = r.channel_id WHERE r.team_id = $1 \
                 ORDER BY c.name, r.event, r.id";
    let rows: Vec<Row> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Rule {
                id: row.id,
                event: EventKind::parse(&row.event)?,
                channel_id: row.channel_id,
                channel_name: row.channel_name,
            })
        })
        .collect())
}

pub async fn delete_rule(db: &Db, team_id: i64, id: i64) -> sqlx::Result<bool> {
    let query = "DELETE FROM notification_rules WHERE id = $1 AND team_id = $2";
    let deleted = with_db!(db, pool => {
        sqlx::query(query).bind(id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(deleted == 1)
}

/// A claimed delivery.
#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub team_id: i64,
    pub channel_id: i64,
    pub event: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Leases up to `limit` due deliveries to `owner` for `lease_ms`, oldest
/// first, counting the attempt. As for reaction triggers, the outer
/// conditions make a concurrent claim of the same row by another process
/// update nothing.
pub async fn claim_deliveries(
    db: &Db,
    owner: &str,
    now: i64,
    limit: u32,
    lease_ms: i64,
) -> sqlx::Result<Vec<Delivery>> {
    let skip_locked = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let due =
        "status = 'pending' AND run_after <= $2 AND (lease_until IS NULL OR lease_until < $2)";
    let query = format!(
        "UPDATE notification_deliveries SET lease_owner = $1, lease_until = $2 + $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM notification_deliveries WHERE {due} ORDER BY id LIMIT $4{skip_locked}) \
         AND {due} RETURNING id, team_id, channel_id, event, payload, attempts"
    );
    let mut deliveries: Vec<Delivery> = with_db!(db, pool => {
        sqlx::query_as(&query).bind(owner).bind(now).bind(lease_ms).bind(i64::from(limit)).fetch_all(pool).await
    })?;
    deliveries.sort_by_key(|delivery| delivery.id);
    Ok(deliveries)
}

/// The next step of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// One attempt's result.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    pub delivery_id: i64,
    pub channel_id: i64,
    pub owner: &'a str,
    pub attempted_at: i64,
    pub succeeded: bool,
    pub status_code: Option<u16>,
    pub error: Option<&'a str>,
    pub duration_ms: u32,
    pub next: NextStep,
}

/// Records an attempt in one transaction: the attempt row, the delivery's
/// new status (releasing the lease) and the channel's health. Returns false,
/// writing nothing, when `owner` no longer holds the delivery's lease.
pub async fn record_attempt(db: &Db, attempt: &AttemptRecord<'_>) -> sqlx::Result<bool> {
    let (status, run_after, finished_at) = match attempt.next {
        NextStep::Delivered => ("delivered", None, Some(attempt.attempted_at)),
        NextStep::RetryAt(at) => ("pending", Some(at), None),
        NextStep::GiveUp => ("failed", None, Some(attempt.attempted_at)),
    };
    let update_delivery = "UPDATE notification_deliveries SET status = $1, \
         run_after = COALESCE($2, run_after), finished_at = $3, lease_owner = NULL, lease_until = NULL \
         WHERE id = $4 AND lease_owner = $5";
    let insert_attempt = "INSERT INTO notification_attempts (delivery_id, channel_id, attempted_at, \
         succeeded, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let channel_health = if attempt.succeeded {
        "UPDATE notification_channels SET consecutive_failures = 0, last_success_at = $1 WHERE id = $2"
    } else {
        "UPDATE notification_channels SET consecutive_failures = consecutive_failures + 1, \
         last_failure_at = $1, last_error = $3 WHERE id = $2"
    };
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(update_delivery)
            .bind(status)
            .bind(run_after)
            .bind(finished_at)
            .bind(attempt.delivery_id)
            .bind(attempt.owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(insert_attempt)
            .bind(attempt.delivery_id)
            .bind(attempt.channel_id)
            .bind(attempt.attempted_at)
            .bind(attempt.succeeded)
            .bind(attempt.status_code.map(i32::from))
            .bind(attempt.error)
            .bind(attempt.duration_ms as i32)
            .execute(&mut *tx)
            .await?;
        let mut health = sqlx::query(channel_health).bind(attempt.attempted_at).bind(attempt.channel_id);
        if !attempt.succeeded {
            health = health.bind(attempt.error);
        }
        health.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// A delivery written already leased, so no worker takes it.
#[derive(Debug, Clone, Copy)]
pub struct LeasedDelivery<'a> {
    pub team_id: i64,
    pub channel_id: i64,
    pub event: &'a str,
    pub payload: &'a str,
    pub owner: &'a str,
    pub now: i64,
    pub lease_until: i64,
}

/// Writes a delivery leased to its owner, for "Send test", which sends it
/// at once; returns its id.
pub async fn insert_leased_delivery(db: &Db, delivery: &LeasedDelivery<'_>) -> sqlx::Result<i64> {
    let query = "INSERT INTO notification_deliveries (team_id, channel_id, event, payload, status, \
                 attempts, run_after, lease_owner, lease_until, created_at) \
                 VALUES ($1, $2, $3, $4, 'pending', 1, $5, $6, $7, $5) RETURNING id";
    with_db!(db, pool => {
        sqlx::query_scalar(query)
            .bind(delivery.team_id)
            .bind(delivery.channel_id)
            .bind(delivery.event)
            .bind(delivery.payload)
            .bind(delivery.now)
            .bind(delivery.owner)
            .bind(delivery.lease_until)
            .fetch_one(pool)
            .await
    })
}

/// Releases the leases of every delivery `owner` holds, for a process that
/// stops; returns how many.
pub async fn release_deliveries_of(db: &Db, owner: &str) -> sqlx::Result<u64> {
    let query = "UPDATE notification_deliveries SET lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = $1 AND status = 'pending'";
    with_db!(db, pool => sqlx::query(query).bind(owner).execute(pool).await.map(|done| done.rows_affected()))
}

/// Returns the earliest time a pending delivery may be attempted, if any is pending.
pub async fn next_delivery_at(db: &Db) -> sqlx::Result<Option<i64>> {
    let query = "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > run_after \
                 THEN lease_until ELSE run_after END) FROM notification_deliveries WHERE status = 'pending'";
    with_db!(db, pool => sqlx::query_scalar(query).fetch_one(pool).await)
}

/// Lists the team's latest attempts, newest first, at most `per_channel` per channel.
pub async fn recent_attempts(
    db: &Db,
    team_id: i64,
    per_channel: usize,
) -> sqlx::Result<Vec<(i64, Attempt)>> {
    #[derive(FromRow)]
    struct Row {
        channel_id: i64,
        delivery_id: i64,
        event: String,
        attempted_at: i64,
        succeeded: bool,
        status_code: Option<i32>,
        error: Option<String>,
        duration_ms: i32,
    }
    // Reads a bounded window of the newest attempts rather than a per-channel
    // top-N query, which the two databases write differently.
    let query = "SELECT a.channel_id, a.delivery_id, d.event, a.attempted_at, a.succeeded, \
                 a.status_code, a.error, a.duration_ms FROM notification_attempts a \
                 JOIN notification_deliveries d ON d.id = a.delivery_id \
                 WHERE d.team_id = $1 ORDER BY a.id DESC LIMIT 500";
    let rows: Vec<Row> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).fetch_all(pool).await)?;
    let mut counts = std::collections::HashMap::<i64, usize>::new();
    Ok(rows
        .into_iter()
        .filter(|row| {
            let count = counts.entry(row.channel_id).or_default();
            *count += 1;
            *count <= per_channel
        })
        .map(|row| {
            (
                row.channel_id,
                Attempt {
                    delivery_id: row.delivery_id,
                    event: row.event,
                    attempted_at: row.attempted_at,
                    succeeded: row.succeeded,
                    status_code: row.status_code.map(|code| code as u16),
                    error: row.error,
                    duration_ms: row.duration_ms.max(0) as u32,
                },
            )
        })
        .collect())
}

/// Deletes finished deliveries (and their attempts) that ended before `before`.
pub async fn prune_finished(db: &Db, before: i64) -> sqlx::Result<u64> {
    let query =
        "DELETE FROM notification_deliveries WHERE status <> 'pending' AND finished_at < $1";
    with_db!(db, pool => sqlx::query(query).bind(before).execute(pool).await.map(|done| done.rows_affected()))
}

/// Deliveries per status, for the metrics endpoint.
pub async fn count_by_status(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    let query =
        "SELECT status, COUNT(*) FROM notification_deliveries GROUP BY status ORDER BY status";
    with_db!(db, pool => sqlx::query_as(query).fetch_all(pool).await)
}
