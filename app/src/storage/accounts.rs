//! Users, teams, memberships, invitations and sign-in failures.

use sqlx::FromRow;

use super::{Db, is_unique_violation, with_db};
use crate::accounts::{Invitation, Member, Role, TeamRef};

/// Reasons a write to accounts did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("the instance already has its first account")]
    AlreadySetUp,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the invitation is unknown, used, revoked or expired")]
    InvitationUnusable,
    #[error("the user is already a member of this team")]
    AlreadyMember,
    #[error("the team must keep at least one owner")]
    LastOwner,
    #[error("no such member")]
    NoSuchMember,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Sign-in data of an account.
#[derive(Debug, Clone, FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub session_epoch: i64,
}

/// An account as a session uses it.
#[derive(Debug, Clone, FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub session_epoch: i64,
}

#[derive(Debug, Clone, FromRow)]
struct MembershipRow {
    team_id: i64,
    team_name: String,
    #[sqlx(try_from = "String")]
    role: Role,
}

/// An invitation looked up by its token.
#[derive(Debug, Clone, FromRow)]
pub struct InvitationRecord {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationRecord {
    pub fn is_usable(&self, now: i64) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Ids of a user and the team they were placed in.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount {
    pub user_id: i64,
    pub team_id: i64,
}

/// Returns whether any account exists yet.
pub async fn is_set_up(db: &Db) -> sqlx::Result<bool> {
    let query = "SELECT COUNT(*) FROM instance_setup";
    let count: i64 = with_db!(db, pool => sqlx::query_scalar(query).fetch_one(pool).await)?;
    Ok(count > 0)
}

/// The accounts [`create_account_with_team`] may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// Only the instance's first account (the first-run page). Fails with
    /// `AlreadySetUp` once any account exists, even under a race.
    FirstAccountOnly,
    /// Any account (the operator's `rebound user create`).
    Any,
}

const INSERT_USER: &str =
    "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id";
const INSERT_MEMBERSHIP: &str =
    "INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)";

fn email_taken_or(error: sqlx::Error) -> AccountsError {
    if is_unique_violation(&error, "users", &["email"]) {
        AccountsError::EmailTaken
    } else {
        error.into()
    }
}

/// Creates an account and a new team it owns.
pub async fn create_account_with_team(
    db: &Db,
    email: &str,
    password_hash: &str,
    team_name: &str,
    now: i64,
    creation: Creation,
) -> Result<NewAccount, AccountsError> {
    let mark_setup = match creation {
        Creation::FirstAccountOnly => {
            "INSERT INTO instance_setup (id, completed_at) VALUES (1, $1)"
        }
        Creation::Any => {
            "INSERT INTO instance_setup (id, completed_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING"
        }
    };
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(mark_setup).bind(now).execute(&mut *tx).await.map_err(|error| {
            if error.as_database_error().is_some_and(|e| e.is_unique_violation()) {
                AccountsError::AlreadySetUp
            } else {
                error.into()
            }
        })?;
        let user_id: i64 = sqlx::query_scalar(INSERT_USER)
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(email_taken_or)?;
        let team_id: i64 =
            sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(team_name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(INSERT_MEMBERSHIP)
            .bind(team_id)
            .bind(user_id)
            .bind(Role::Owner.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(NewAccount { user_id, team_id })
    })
}

/// Teams whose id is `reference`, or else whose name is `reference`, for
/// operators who name a team on the command line.
pub async fn find_teams(db: &Db, reference: &str) -> sqlx::Result<Vec<TeamRef>> {
    let id: i64 = reference.trim().parse().unwrap_or(-1);
    let query = "SELECT id, name FROM teams WHERE id = $1 \
                 UNION SELECT id, name FROM teams WHERE name = $2 AND NOT EXISTS \
                 (SELECT 1 FROM teams WHERE id = $1) ORDER BY id";
    let rows: Vec<(i64, String)> = with_db!(db, pool => {
        sqlx::query_as(query).bind(id).bind(reference.trim()).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|(id, name)| TeamRef { id, name }).collect())
}

/// Creates a team owned by an existing user.
pub async fn create_team(db: &Db, user_id: i64, name: &str, now: i64) -> sqlx::Result<i64> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let team_id: i64 =
            sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(INSERT_MEMBERSHIP)
            .bind(team_id)
            .bind(user_id)
            .bind(Role::Owner.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(team_id)
    })
}

pub async fn find_credentials(db: &Db, email: &str) -> sqlx::Result<Option<Credentials>> {
    let query = "SELECT id, password_hash, session_epoch FROM users WHERE email = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(email).fetch_optional(pool).await)
}

pub async fn find_user(db: &Db, user_id: i64) -> sqlx::Result<Option<UserRecord>> {
    let query = "SELECT id, email, session_epoch FROM users WHERE id = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(user_id).fetch_optional(pool).await)
}

pub async fn find_user_by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserRecord>> {
    let query = "SELECT id, email, session_epoch FROM users WHERE email = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(email).fetch_optional(pool).await)
}

/// Replaces a password and increments the session epoch, which signs out
/// every session of the user. Returns the new epoch.
pub async fn set_password(db: &Db, user_id: i64, password_hash: &str) -> sqlx::Result<i64> {
    let query = "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 \
                 WHERE id = $2 RETURNING session_epoch";
    with_db!(db, pool => {
        sqlx::query_scalar(query).bind(password_hash).bind(user_id).fetch_one(pool).await
    })
}

/// Lists the teams a user belongs to, by name.
pub async fn teams_of(db: &Db, user_id: i64) -> sqlx::Result<Vec<(TeamRef, Role)>> {
    let query = "SELECT t.id AS team_id, t.name AS team_name, m.role \
                 FROM memberships m JOIN teams t ON t.id = m.team_id \
                 WHERE m.user_id = $1 ORDER BY t.name, t.id";
    let rows: Vec<MembershipRow> =
        with_db!(db, pool => sqlx::query_as(query).bind(user_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|row| (TeamRef { id: row.team_id, name: row.team_name }, row.role))
        .collect())
}

pub async fn role_in_team(db: &Db, user_id: i64, team_id: i64) -> sqlx::Result<Option<Role>> {
    let query = "SELECT role FROM memberships WHERE user_id = $1 AND team_id = $2";
    let role: Option<String> = with_db!(db, pool => {
        sqlx::query_scalar(query).bind(user_id).bind(team_id).fetch_optional(pool).await
    })?;
    role.map(|text| Role::try_from(text).map_err(|e| sqlx::Error::Decode(e.into()))).transpose()
}

#[derive(Debug, FromRow)]
struct MemberRow {
    user_id: i64,
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
    created_at: i64,
}

pub async fn list_members(db: &Db, team_id: i64) -> sqlx::Result<Vec<Member>> {
    let query = "SELECT m.user_id, u.email, m.role, m.created_at \
                 FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.team_id = $1 ORDER BY u.email";
    let rows: Vec<MemberRow> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|row| Member {
            user_id: row.user_id,
            email: row.email,
            role: row.role,
            joined_at: row.created_at,
        })
        .collect())
}

/// Changes a member's role, or removes the member when `role` is `None`,
/// refusing any change that would leave the team without an owner.
pub async fn change_membership(
    db: &Db,
    team_id: i64,
    user_id: i64,
    role: Option<Role>,
) -> Result<(), AccountsError> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        // Postgres locks the team's owner rows so that two admins demoting
        // the last two owners at once cannot both succeed. SQLite serialises
        // writers, and its write lock is taken by the first UPDATE below.
        let lock = match db {
            Db::Postgres(_) => " FOR UPDATE",
            Db::Sqlite(_) => "",
        };
        let owners_query =
            format!("SELECT user_id FROM memberships WHERE team_id = $1 AND role = 'owner'{lock}");
        // Take SQLite's write lock before reading, with a no-op write.
        sqlx::query("UPDATE memberships SET role = role WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let owners: Vec<i64> =
            sqlx::query_scalar(&owners_query).bind(team_id).fetch_all(&mut *tx).await?;
        let loses_owner = owners.contains(&user_id) && role != Some(Role::Owner);
        if loses_owner && owners.len() == 1 {
            return Err(AccountsError::LastOwner);
        }
        let changed = match role {
            Some(role) => {
                sqlx::query("UPDATE memberships SET role = $1 WHERE team_id = $2 AND user_id = $3")
                    .bind(role.as_str())
                    .bind(team_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
            }
        };
        if changed.rows_affected() == 0 {
            return Err(AccountsError::NoSuchMember);
        }
        tx.commit().await?;
        Ok(())
    })
}

/// An invitation to insert; `token_hash` is the SHA-256 of the link's token.
#[derive(Debug)]
pub struct NewInvitationRow<'a> {
    pub team_id: i64,
    pub role: Role,
    pub token_hash: &'a str,
    pub note: &'a str,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn create_invitation(db: &Db, invitation: &NewInvitationRow<'_>) -> sqlx::Result<i64> {
    let query = "INSERT INTO invitations \
                 (team_id, role, token_hash, note, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    with_db!(db, pool => {
        sqlx::query_scalar(query)
            .bind(invitation.team_id)
            .bind(invitation.role.as_str())
            .bind(invitation.token_hash)
            .bind(invitation.note)
            .bind(invitation.created_by)
            .bind(invitation.created_at)
            .bind(invitation.expires_at)
            .fetch_one(pool)
            .await
    })
}

#[derive(Debug, FromRow)]
struct InvitationRow {
    id: i64,
    #[sqlx(try_from = "String")]
    role: Role,
    note: String,
    created_by_email: Option<String>,
    created_at: i64,
    expires_at: i64,
}

/// Invitations of a team that can still be used.
pub async fn list_open_invitations(
    db: &Db,
    team_id: i64,
    now: i64,
) -> sqlx::Result<Vec<Invitation>> {
    let query = "SELECT i.id, i.role, i.note, u.email AS created_by_email, i.created_at, i.expires_at \
                 FROM invitations i LEFT JOIN users u ON u.id = i.created_by \
                 WHERE i.team_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
                 AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id DESC";
    let rows: Vec<InvitationRow> =
        with_db!(db, pool => sqlx::query_as(query).bind(team_id).bind(now).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|row| Invitation {
            id: row.id,
            role: row.role,
            note: row.note,
            created_by: row.created_by_email,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
        .collect())
}

/// Revokes an open invitation of the team; false when there was none.
pub async fn revoke_invitation(
    db: &Db,
    team_id: i64,
    invitation_id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let query = "UPDATE invitations SET revoked_at = $1 \
                 WHERE id = $2 AND team_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL";
    let result = with_db!(db, pool => {
        sqlx::query(query).bind(now).bind(invitation_id).bind(team_id).execute(pool).await.map(|done| done.rows_affected())
    })?;
    Ok(result == 1)
}

pub async fn find_invitation(db: &Db, token_hash: &str) -> sqlx::Result<Option<InvitationRecord>> {
    let query = "SELECT i.id, i.team_id, t.name AS team_name, i.role, i.expires_at, i.accepted_at, i.revoked_at \
                 FROM invitations i JOIN teams t ON t.id = i.team_id WHERE i.token_hash = $1";
    with_db!(db, pool => sqlx::query_as(query).bind(token_hash).fetch_optional(pool).await)
}

const CLAIM_INVITATION: &str = "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
     WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1";

/// Creates an account from an invitation and adds it to the team. The
/// invitation is claimed in the same transaction, so it works exactly once.
pub async fn accept_invitation_as_new_user(
    db: &Db,
    invitation: &InvitationRecord,
    email: &str,
    password_hash: &str,
    now: i64,
) -> Result<NewAccount, AccountsError> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let user_id: i64 = sqlx::query_scalar(INSERT_USER)
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(email_taken_or)?;
        let claimed = sqlx::query(CLAIM_INVITATION)
            .bind(now)
            .bind(user_id)
            .bind(invitation.id)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() != 1 {
            return Err(AccountsError::InvitationUnusable);
        }
        sqlx::query(INSERT_MEMBERSHIP)
            .bind(invitation.team_id)
            .bind(user_id)
            .bind(invitation.role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(NewAccount { user_id, team_id: invitation.team_id })
    })
}

/// Adds an existing account to the invitation's team, claiming the invitation.
pub async fn accept_invitation_as_member(
    db: &Db,
    invitation: &InvitationRecord,
    user_id: i64,
    now: i64,
) -> Result<(), AccountsError> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let claimed = sqlx::query(CLAIM_INVITATION)
            .bind(now)
            .bind(user_id)
            .bind(invitation.id)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() != 1 {
            return Err(AccountsError::InvitationUnusable);
        }
        sqlx::query(INSERT_MEMBERSHIP)
            .bind(invitation.team_id)
            .bind(user_id)
            .bind(invitation.role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|error| {
                if error.as_database_error().is_some_and(|e| e.is_unique_violation()) {
                    AccountsError::AlreadyMember
                } else {
                    error.into()
                }
            })?;
        tx.commit().await?;
        Ok(())
    })
}

/// Records one failed sign-in for each subject.
pub async fn record_login_failure(db: &Db, subjects: &[&str], now: i64) -> sqlx::Result<()> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for subject in subjects {
            sqlx::query("INSERT INTO login_failures (subject, failed_at) VALUES ($1, $2)")
                .bind(*subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// Times of the subject's failed sign-ins since `since`, newest first.
pub async fn recent_login_failures(db: &Db, subject: &str, since: i64) -> sqlx::Result<Vec<i64>> {
    let query = "SELECT failed_at FROM login_failures WHERE subject = $1 AND failed_at >= $2 \
                 ORDER BY failed_at DESC LIMIT 100";
    with_db!(db, pool => sqlx::query_scalar(query).bind(subject).bind(since).fetch_all(pool).await)
}

pub async fn clear_login_failures(db: &Db, subject: &str) -> sqlx::Result<()> {
    let query = "DELETE FROM login_failures WHERE subject = $1";
    with_db!(db, pool => sqlx::query(query).bind(subject).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// Deletes failures and invitations that can no longer matter; returns the
/// number of rows removed.
pub async fn prune(db: &Db, failures_before: i64, invitations_before: i64) -> sqlx::Result<u64> {
    with_db!(db, pool => {
        let failures = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
            .bind(failures_before)
            .execute(pool)
            .await?;
        let invitations = sqlx::query(
            "DELETE FROM invitations WHERE expires_at < $1 AND accepted_at IS NULL",
        )
        .bind(invitations_before)
        .execute(pool)
        .await?;
        Ok(failures.rows_affected() + invitations.rows_affected())
    })
}
