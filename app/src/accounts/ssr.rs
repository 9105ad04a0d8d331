//! Server side of accounts: sessions, password hashing, sign-in throttling and
//! the role checks every server function goes through.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use super::validate;
use super::{Invitation, InvitationSummary, Member, NewInvitation, Role, TeamRef, Viewer};
use crate::error::AppError;
use crate::state::{AppState, app_state};
use crate::storage::Db;
use crate::storage::accounts::{self as store, AccountsError, Creation, UserRecord};
use crate::time::now_ms;

const SESSION_USER: &str = "user";
const SESSION_TEAM: &str = "team";
const NEW_INVITATION: &str = "new_invitation";

/// Failed sign-ins are counted over this window.
pub const LOGIN_FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures for one account within the window before sign-in waits.
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
/// Failures from one address within the window before sign-in waits; higher
/// than per account because offices and NATs share addresses.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

pub const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// The user a session belongs to. It is valid while the epoch matches the user's.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SessionUser {
    id: i64,
    epoch: i64,
}

/// Who acts on a team's data: a signed-in member in their current team, or
/// an API token for its team. Functions shared by server functions and the
/// REST API take it explicitly and check its role with [`Caller::require`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub team_id: i64,
    pub role: Role,
    /// The member acting, or the member who created the acting token;
    /// `None` for a token the operator created with `rebound token create`.
    pub user_id: Option<i64>,
    /// The API token acting, if any.
    pub token_id: Option<i64>,
}

impl Caller {
    /// Checks that the caller's role is at least `minimum`.
    pub fn require(&self, minimum: Role) -> Result<(), AppError> {
        if self.role < minimum {
            return Err(AppError::Forbidden);
        }
        Ok(())
    }
}

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|error| AppError::internal("session layer missing from the request", error))
}

/// Returns the user a session is signed in as, if the session is still valid.
pub async fn session_user(db: &Db, session: &Session) -> Result<Option<UserRecord>, AppError> {
    let Some(stored) = session.get::<SessionUser>(SESSION_USER).await? else {
        return Ok(None);
    };
    let user = store::find_user(db, stored.id).await?;
    Ok(user.filter(|user| user.session_epoch == stored.epoch))
}

/// Returns the user's current team and role: the one stored in the session
/// if they still belong to it, else their first team by name.
async fn current_team(
    session: &Session,
    teams: &[(TeamRef, Role)],
) -> Result<Option<(TeamRef, Role)>, AppError> {
    let chosen: Option<i64> = session.get(SESSION_TEAM).await?;
    let found = chosen.and_then(|id| teams.iter().find(|(team, _)| team.id == id));
    Ok(found.or(teams.first()).cloned())
}

pub async fn viewer() -> Result<Option<Viewer>, AppError> {
    let state = app_state()?;
    let session = session().await?;
    let Some(user) = session_user(&state.db, &session).await? else {
        return Ok(None);
    };
    let teams = store::teams_of(&state.db, user.id).await?;
    let current = current_team(&session, &teams).await?;
    Ok(Some(Viewer {
        user_id: user.id,
        email: user.email,
        team: current.as_ref().map(|(team, _)| team.clone()),
        role: current.map(|(_, role)| role),
        teams: teams.into_iter().map(|(team, _)| team).collect(),
    }))
}

/// Returns the signed-in user acting in their current team. Server
/// functions that read or change team data start here (or with
/// [`require_role`]); the role check follows with [`Caller::require`].
pub async fn session_caller() -> Result<(AppState, Caller), AppError> {
    let state = app_state()?;
    let session = session().await?;
    let caller = caller_of_session(&state, &session).await?;
    Ok((state, caller))
}

/// Returns the signed-in user of `session` acting in their current team,
/// for plain axum handlers (such as exports) that extract the session
/// themselves.
pub async fn caller_of_session(state: &AppState, session: &Session) -> Result<Caller, AppError> {
    let user = session_user(&state.db, session).await?.ok_or(AppError::Unauthenticated)?;
    let teams = store::teams_of(&state.db, user.id).await?;
    let (team, role) = current_team(session, &teams).await?.ok_or(AppError::Forbidden)?;
    Ok(Caller { team_id: team.id, role, user_id: Some(user.id), token_id: None })
}

/// Checks that the request comes from a signed-in user whose role in their
/// current team is at least `minimum`.
pub async fn require_role(minimum: Role) -> Result<(AppState, Caller), AppError> {
    let (state, caller) = session_caller().await?;
    caller.require(minimum)?;
    Ok((state, caller))
}

/// Checks that the request comes from a signed-in user, whatever their teams.
async fn require_user() -> Result<(AppState, Session, UserRecord), AppError> {
    let state = app_state()?;
    let session = session().await?;
    let user = session_user(&state.db, &session).await?.ok_or(AppError::Unauthenticated)?;
    Ok((state, session, user))
}

/// Starts a fresh session for `user` in `team_id`. The id is rotated so a
/// session id planted before sign-in is worthless after it.
async fn start_session(
    session: &Session,
    user_id: i64,
    epoch: i64,
    team_id: Option<i64>,
) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(SESSION_USER, SessionUser { id: user_id, epoch }).await?;
    if let Some(team_id) = team_id {
        session.insert(SESSION_TEAM, team_id).await?;
    }
    Ok(())
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await
    .map_err(|error| AppError::internal("password hashing task failed", error))?
    .map_err(|error| AppError::internal("password hashing failed", error))
}

/// Verifies off the async runtime. Without a stored hash, a dummy hash is
/// verified instead, so unknown emails take as long as wrong passwords.
async fn verify_password(password: String, stored_hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let hash = stored_hash.as_deref().unwrap_or_else(|| dummy_hash());
        let parsed = PasswordHash::new(hash)?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok::<_, argon2::password_hash::Error>(matches && stored_hash.is_some())
    })
    .await
    .map_err(|error| AppError::internal("password verification task failed", error))?
    .map_err(|error| AppError::internal("stored password hash is unreadable", error))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_token().as_bytes(), &salt)
            .expect("hashing a random password with default Argon2 parameters succeeds")
            .to_string()
    })
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Returns the client address for throttling: the TCP peer, or with
/// `trust_proxy_headers` the last `X-Forwarded-For` entry (the one appended
/// by the proxy in front of Rebound).
async fn client_address(state: &AppState) -> Option<IpAddr> {
    if state.settings.trust_proxy_headers {
        let headers: HeaderMap = leptos_axum::extract().await.ok()?;
        let forwarded = headers.get("x-forwarded-for")?.to_str().ok()?;
        return forwarded.rsplit(',').next()?.trim().parse().ok();
    }
    let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok()?;
    Some(peer.ip())
}

/// Seconds until the subject may try again, if it reached `limit` failures
/// within the window.
fn wait_after_failures(failures_newest_first: &[i64], limit: usize, now: i64) -> Option<u64> {
    let oldest_counted = *failures_newest_first.get(limit - 1)?;
    let retry_at = oldest_counted + LOGIN_FAILURE_WINDOW_MS;
    (retry_at > now).then(|| ((retry_at - now) as u64).div_ceil(1000))
}

async fn throttle_wait(
    db: &Db,
    subjects: &[(String, usize)],
    now: i64,
) -> Result<Option<u64>, AppError> {
    let mut wait = None;
    for (subject, limit) in subjects {
        let failures =
            store::recent_login_failures(db, subject, now - LOGIN_FAILURE_WINDOW_MS).await?;
        if let Some(seconds) = wait_after_failures(&failures, *limit, now) {
            wait = Some(wait.map_or(seconds, |longest: u64| longest.max(seconds)));
        }
    }
    Ok(wait)
}

pub async fn setup(email: String, password: String, team_name: String) -> Result<(), AppError> {
    let state = app_state()?;
    let email = validate::email(&email)?;
    validate::password("password", &password)?;
    let team_name = validate::team_name(&team_name)?;
    let hash = hash_password(password).await?;
    let created = store::create_account_with_team(
        &state.db,
        &email,
        &hash,
        &team_name,
        now_ms(),
        Creation::FirstAccountOnly,
    )
    .await;
    let account = match created {
        Ok(account) => account,
        Err(AccountsError::AlreadySetUp) => {
            return Err(AppError::Conflict(
                "This instance already has an account. Sign in, or ask a team admin for an invitation."
                    .into(),
            ));
        }
        Err(error) => return Err(AppError::internal("first account creation failed", error)),
    };
    tracing::info!(user.id = account.user_id, team.id = account.team_id, "first account created");
    start_session(&session().await?, account.user_id, 0, Some(account.team_id)).await
}

pub async fn login(email: String, password: String) -> Result<(), AppError> {
    let state = app_state()?;
    // A malformed email cannot match an account; reply as for any other miss.
    let email = validate::email(&email).unwrap_or_default();
    let now = now_ms();
    let account_subject = format!("account:{email}");
    let mut subjects = vec![(account_subject.clone(), MAX_FAILURES_PER_ACCOUNT)];
    if let Some(address) = client_address(&state).await {
        subjects.push((format!("ip:{address}"), MAX_FAILURES_PER_ADDRESS));
    }
    if let Some(retry_after_secs) = throttle_wait(&state.db, &subjects, now).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }

    let credentials = store::find_credentials(&state.db, &email).await?;
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    if !verify_password(password, stored_hash).await? {
        let subject_names: Vec<&str> = subjects.iter().map(|(s, _)| s.as_str()).collect();
        store::record_login_failure(&state.db, &subject_names, now).await?;
        tracing::info!(known_account = credentials.is_some(), "sign-in failed");
        return Err(AppError::invalid("password", BAD_CREDENTIALS));
    }
    let credentials = credentials.expect("a password only verifies against a stored hash");
    store::clear_login_failures(&state.db, &account_subject).await?;
    tracing::info!(user.id = credentials.id, "signed in");
    start_session(&session().await?, credentials.id, credentials.session_epoch, None).await
}

pub async fn logout() -> Result<(), AppError> {
    session().await?.flush().await?;
    Ok(())
}

pub async fn switch_team(team_id: i64) -> Result<(), AppError> {
    let (state, session, user) = require_user().await?;
    if store::role_in_team(&state.db, user.id, team_id).await?.is_none() {
        return Err(AppError::NotFound("Team".into()));
    }
    session.insert(SESSION_TEAM, team_id).await?;
    Ok(())
}

pub async fn create_team(team_name: String) -> Result<(), AppError> {
    let (state, session, user) = require_user().await?;
    let name = validate::team_name(&team_name)?;
    // The team switcher shows names only, so one user's teams need distinct ones.
    let teams = store::teams_of(&state.db, user.id).await?;
    if teams.iter().any(|(team, _)| team.name.eq_ignore_ascii_case(&name)) {
        return Err(AppError::invalid(
            "team_name",
            format!("You are already in a team named {name:?}; choose another name."),
        ));
    }
    let team_id = store::create_team(&state.db, user.id, &name, now_ms()).await?;
    tracing::info!(user.id = user.id, team.id = team_id, "team created");
    session.insert(SESSION_TEAM, team_id).await?;
    Ok(())
}

pub async fn list_members() -> Result<Vec<Member>, AppError> {
    let (state, caller) = require_role(Role::Viewer).await?;
    Ok(store::list_members(&state.db, caller.team_id).await?)
}

/// Admins manage editors and viewers and other admins; only owners may
/// touch an owner or create one.
fn may_manage(caller: &Caller, target_current: Role, target_new: Option<Role>) -> bool {
    let touches_owner = target_current == Role::Owner || target_new == Some(Role::Owner);
    caller.role >= Role::Admin && (!touches_owner || caller.role == Role::Owner)
}

fn parse_role(field: &str, raw: &str) -> Result<Role, AppError> {
    raw.parse().map_err(|_| {
        AppError::invalid(
            field,
            format!("Role {raw:?} is unknown; choose owner, admin, editor or viewer."),
        )
    })
}

async fn change_membership(user_id: i64, role: Option<Role>) -> Result<(), AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    let current = store::role_in_team(&state.db, user_id, caller.team_id)
        .await?
        .ok_or_else(|| AppError::NotFound("Member".into()))?;
    if !may_manage(&caller, current, role) {
        return Err(AppError::Forbidden);
    }
    match store::change_membership(&state.db, caller.team_id, user_id, role).await {
        Ok(()) => {
            tracing::info!(team.id = caller.team_id, member.id = user_id, role = ?role, by = caller.user_id, "membership changed");
            Ok(())
        }
        Err(AccountsError::LastOwner) => Err(AppError::Conflict(
            "The team must keep at least one owner. Make another member owner first.".into(),
        )),
        Err(AccountsError::NoSuchMember) => Err(AppError::NotFound("Member".into())),
        Err(error) => Err(AppError::internal("membership change failed", error)),
    }
}

pub async fn change_role(user_id: i64, role: String) -> Result<(), AppError> {
    let role = parse_role("role", &role)?;
    change_membership(user_id, Some(role)).await
}

pub async fn remove_member(user_id: i64) -> Result<(), AppError> {
    change_membership(user_id, None).await
}

pub async fn list_invitations() -> Result<Vec<Invitation>, AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    Ok(store::list_open_invitations(&state.db, caller.team_id, now_ms()).await?)
}

pub async fn create_invitation(role: String, note: String) -> Result<NewInvitation, AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    let role = parse_role("role", &role)?;
    if role == Role::Owner {
        return Err(AppError::invalid(
            "role",
            "Invitations grant admin, editor or viewer; promote a member to owner on the team page.",
        ));
    }
    let note = validate::note(&note)?;
    let token = random_token();
    let now = now_ms();
    let expires_at = now + INVITATION_TTL_MS;
    let invitation = store::NewInvitationRow {
        team_id: caller.team_id,
        role,
        token_hash: &token_hash(&token),
        note: &note,
        created_by: caller.user_id,
        created_at: now,
        expires_at,
    };
    let id = store::create_invitation(&state.db, &invitation).await?;
    tracing::info!(
        team.id = caller.team_id,
        invitation.id = id,
        by = caller.user_id,
        "invitation created"
    );
    let origin = request_origin(&state).await;
    let new = NewInvitation { link: format!("{origin}/invite/{token}"), role, expires_at };
    // Kept for one page view, so that a form posted without JavaScript,
    // which ends in a redirect, can still show the link once.
    session().await?.insert(NEW_INVITATION, &new).await?;
    Ok(new)
}

/// The origin links should use: the configured public URL, else the `Host`
/// the request came to.
pub(crate) async fn request_origin(state: &AppState) -> String {
    let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    origin_of(state, &headers)
}

/// The origin links should use for a request with these headers.
pub fn origin_of(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = &state.settings.public_origin {
        return origin.clone();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3000");
    format!("http://{host}")
}

/// Returns the invitation created last in this session, once.
pub async fn take_new_invitation() -> Result<Option<NewInvitation>, AppError> {
    require_role(Role::Admin).await?;
    Ok(session().await?.remove::<NewInvitation>(NEW_INVITATION).await?)
}

pub async fn revoke_invitation(invitation_id: i64) -> Result<(), AppError> {
    let (state, caller) = require_role(Role::Admin).await?;
    if !store::revoke_invitation(&state.db, caller.team_id, invitation_id, now_ms()).await? {
        return Err(AppError::NotFound("Invitation".into()));
    }
    Ok(())
}

fn invitation_unusable() -> AppError {
    AppError::invalid(
        "token",
        "This invitation link was already used, revoked or has expired. Ask a team admin for a new one.",
    )
}

async fn usable_invitation(db: &Db, token: &str) -> Result<store::InvitationRecord, AppError> {
    let invitation = store::find_invitation(db, &token_hash(token.trim())).await?;
    match invitation {
        Some(invitation) if invitation.is_usable(now_ms()) => Ok(invitation),
        _ => Err(invitation_unusable()),
    }
}

pub async fn invitation_details(token: String) -> Result<InvitationSummary, AppError> {
    let state = app_state()?;
    let invitation = usable_invitation(&state.db, &token).await?;
    Ok(InvitationSummary {
        team_name: invitation.team_name,
        role: invitation.role,
        expires_at: invitation.expires_at,
    })
}

pub async fn sign_up(token: String, email: String, password: String) -> Result<(), AppError> {
    let state = app_state()?;
    let invitation = usable_invitation(&state.db, &token).await?;
    let email = validate::email(&email)?;
    validate::password("password", &password)?;
    let hash = hash_password(password).await?;
    let account = match store::accept_invitation_as_new_user(
        &state.db,
        &invitation,
        &email,
        &hash,
        now_ms(),
    )
    .await
    {
        Ok(account) => account,
        Err(AccountsError::EmailTaken) => {
            return Err(AppError::invalid(
                "email",
                "An account with this email already exists. Sign in first, then open the invitation link again to join.",
            ));
        }
        Err(AccountsError::InvitationUnusable) => {
            return Err(invitation_unusable());
        }
        Err(error) => return Err(AppError::internal("sign-up through invitation failed", error)),
    };
    tracing::info!(
        user.id = account.user_id,
        team.id = account.team_id,
        "account created through invitation"
    );
    start_session(&session().await?, account.user_id, 0, Some(account.team_id)).await
}

pub async fn join_team(token: String) -> Result<(), AppError> {
    let (state, session, user) = require_user().await?;
    let invitation = usable_invitation(&state.db, &token).await?;
    match store::accept_invitation_as_member(&state.db, &invitation, user.id, now_ms()).await {
        Ok(()) => {}
        Err(AccountsError::AlreadyMember) => {
            return Err(AppError::Conflict(format!(
                "You are already a member of {}; the invitation is still unused.",
                invitation.team_name
            )));
        }
        Err(AccountsError::InvitationUnusable) => {
            return Err(invitation_unusable());
        }
        Err(error) => return Err(AppError::internal("joining a team failed", error)),
    }
    tracing::info!(
        user.id = user.id,
        team.id = invitation.team_id,
        "joined team through invitation"
    );
    session.insert(SESSION_TEAM, invitation.team_id).await?;
    Ok(())
}

pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let (state, session, user) = require_user().await?;
    validate::password("new_password", &new_password)?;
    let credentials = store::find_credentials(&state.db, &user.email).await?;
    let stored_hash = credentials.map(|c| c.password_hash);
    if !verify_password(current_password, stored_hash).await? {
        return Err(AppError::invalid("current_password", "Current password is incorrect."));
    }
    let hash = hash_password(new_password).await?;
    let epoch = store::set_password(&state.db, user.id, &hash).await?;
    tracing::info!(user.id = user.id, "password changed; other sessions signed out");
    // Keep this browser signed in under the new epoch.
    let team: Option<i64> = session.get(SESSION_TEAM).await?;
    start_session(&session, user.id, epoch, team).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn throttle_waits_only_at_limit() {
        let now = 100 * MINUTE;
        let four = [now - MINUTE, now - 2 * MINUTE, now - 3 * MINUTE, now - 4 * MINUTE];
        assert_eq!(wait_after_failures(&four, 5, now), None);

        let five =
            [now - MINUTE, now - 2 * MINUTE, now - 3 * MINUTE, now - 4 * MINUTE, now - 5 * MINUTE];
        // The fifth most recent failure was 5 minutes ago: 10 minutes remain.
        assert_eq!(wait_after_failures(&five, 5, now), Some(600));
    }

    #[test]
    fn throttle_counts_only_newest_within_limit() {
        let now = 100 * MINUTE;
        let failures = [
            now,
            now - 14 * MINUTE,
            now - 14 * MINUTE,
            now - 14 * MINUTE,
            now - 14 * MINUTE,
            now - 14 * MINUTE,
        ];
        assert_eq!(wait_after_failures(&failures, 5, now), Some(60));
    }

    #[test]
    fn admins_cannot_touch_owners() {
        let admin = Caller { team_id: 1, role: Role::Admin, user_id: Some(1), token_id: None };
        let owner = Caller { role: Role::Owner, ..admin.clone() };
        assert!(may_manage(&admin, Role::Editor, Some(Role::Viewer)));
        assert!(may_manage(&admin, Role::Viewer, None));
        assert!(!may_manage(&admin, Role::Owner, Some(Role::Admin)));
        assert!(!may_manage(&admin, Role::Editor, Some(Role::Owner)));
        assert!(!may_manage(&admin, Role::Owner, None));
        assert!(may_manage(&owner, Role::Owner, Some(Role::Admin)));
        assert!(may_manage(&owner, Role::Editor, Some(Role::Owner)));
    }

    #[test]
    fn token_hash_is_stable_and_distinct() {
        assert_eq!(token_hash("abc"), token_hash("abc"));
        assert_ne!(token_hash("abc"), token_hash("abd"));
        assert_ne!(random_token(), random_token());
    }
}
