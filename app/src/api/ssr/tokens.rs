//! Issuing, listing and revoking API tokens, and turning a presented token
//! into the [`Caller`] it acts as.

use crate::accounts::Role;
use crate::accounts::ssr::{Caller, random_token, token_hash};
use crate::api::{ApiTokens, NewApiToken, TOKEN_PREFIX};
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::Db;
use crate::storage::api_tokens::{self as store, NewToken};
use crate::time::now_ms;

pub const MAX_NAME_LENGTH: usize = 100;
/// Tokens expire at most ten years after they are made.
pub const MAX_EXPIRY_DAYS: u32 = 3650;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Characters of a token kept in clear to tell tokens apart: the prefix and
/// 8 random characters, 48 bits that do not help guess the other 208.
const SHOWN_LENGTH: usize = TOKEN_PREFIX.len() + 8;

/// Roles a token made by someone with `role` may have: up to admin, and
/// never above the creator's own.
pub fn grantable_roles(role: Role) -> Vec<Role> {
    [Role::Admin, Role::Editor, Role::Viewer]
        .into_iter()
        .filter(|granted| *granted <= role)
        .collect()
}

pub fn validate_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid(
            "name",
            "Name is required, e.g. the script that uses the token.",
        ));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::invalid(
            "name",
            format!("Name is too long; use at most {MAX_NAME_LENGTH} characters."),
        ));
    }
    Ok(name.to_string())
}

/// Parses a role for a new token; owner tokens do not exist.
pub fn parse_role(raw: &str) -> Result<Role, AppError> {
    match raw.trim().parse::<Role>() {
        Ok(Role::Owner) | Err(_) => Err(AppError::invalid(
            "role",
            format!("Role {raw:?} is not a token role; choose admin, editor or viewer."),
        )),
        Ok(role) => Ok(role),
    }
}

/// Parses "days until expiry"; empty or 0 means the token never expires.
pub fn parse_expiry_days(raw: &str) -> Result<Option<u32>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "0" {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(AppError::invalid(
            "expires_in_days",
            format!(
                "Expiry {raw:?} is invalid; give a number of days from 1 to {MAX_EXPIRY_DAYS}, or 0 for never."
            ),
        )),
    }
}

/// Stores a new token and returns its value, which exists nowhere else.
pub async fn issue(
    db: &Db,
    team_id: i64,
    name: &str,
    role: Role,
    created_by: Option<i64>,
    expires_in_days: Option<u32>,
) -> Result<NewApiToken, AppError> {
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let now = now_ms();
    let expires_at = expires_in_days.map(|days| now + i64::from(days) * DAY_MS);
    let id = store::create(
        db,
        &NewToken {
            team_id,
            name,
            role,
            token_hash: &token_hash(&token),
            prefix: &token[..SHOWN_LENGTH],
            created_by,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    tracing::info!(
        team.id = team_id,
        token.id = id,
        role = role.as_str(),
        by = created_by,
        "API token created"
    );
    Ok(NewApiToken { id, token, name: name.to_string(), role, expires_at })
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<ApiTokens, AppError> {
    caller.require(Role::Admin)?;
    Ok(ApiTokens {
        tokens: store::list(&state.db, caller.team_id).await?,
        grantable: grantable_roles(caller.role),
        now: now_ms(),
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    role: &str,
    expires_in_days: &str,
) -> Result<NewApiToken, AppError> {
    caller.require(Role::Admin)?;
    let name = validate_name(name)?;
    let role = parse_role(role)?;
    if !grantable_roles(caller.role).contains(&role) {
        return Err(AppError::invalid(
            "role",
            format!("A token cannot have a higher role than yours ({}).", caller.role.label()),
        ));
    }
    let days = parse_expiry_days(expires_in_days)?;
    issue(&state.db, caller.team_id, &name, role, caller.user_id, days).await
}

pub async fn revoke(state: &AppState, caller: &Caller, token_id: i64) -> Result<(), AppError> {
    caller.require(Role::Admin)?;
    if !store::revoke(&state.db, caller.team_id, token_id, now_ms()).await? {
        return Err(AppError::NotFound("API token".into()));
    }
    tracing::info!(
        team.id = caller.team_id,
        token.id = token_id,
        by = caller.user_id,
        "API token revoked"
    );
    Ok(())
}

/// The reason a presented token does not authenticate; each is a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Unknown,
    Revoked,
    Expired,
    /// The member who created it left the team.
    CreatorLeft,
}

impl Rejection {
    pub fn message(self) -> &'static str {
        match self {
            Rejection::Unknown => {
                "The API token is not valid. Create one on the API page of Rebound's settings."
            }
            Rejection::Revoked => "The API token was revoked. Ask a team admin for a new one.",
            Rejection::Expired => "The API token has expired. Ask a team admin for a new one.",
            Rejection::CreatorLeft => {
                "The member who created this API token left the team, so it no longer works. Ask a team admin for a new one."
            }
        }
    }
}

/// Looks up a token by its value and returns who it acts as. The role is
/// the token's, capped by its creator's current role, so demoting a member
/// also demotes the tokens they made.
pub async fn authenticate(
    db: &Db,
    token: &str,
    now: i64,
) -> Result<Result<Caller, Rejection>, AppError> {
    let Some(grant) = store::find_by_hash(db, &token_hash(token)).await? else {
        return Ok(Err(Rejection::Unknown));
    };
    if grant.revoked_at.is_some() {
        return Ok(Err(Rejection::Revoked));
    }
    if grant.expires_at.is_some_and(|expires_at| expires_at <= now) {
        return Ok(Err(Rejection::Expired));
    }
    let role = match (grant.created_by, grant.creator_role.as_deref()) {
        (None, _) => grant.role,
        (Some(_), None) => return Ok(Err(Rejection::CreatorLeft)),
        (Some(_), Some(creator_role)) => {
            let creator_role: Role = creator_role
                .parse()
                .map_err(|error| AppError::internal("stored member role is unreadable", error))?;
            grant.role.min(creator_role)
        }
    };
    Ok(Ok(Caller {
        team_id: grant.team_id,
        role,
        user_id: grant.created_by,
        token_id: Some(grant.id),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_granted_up_to_admin_and_own_role() {
        assert_eq!(grantable_roles(Role::Owner), [Role::Admin, Role::Editor, Role::Viewer]);
        assert_eq!(grantable_roles(Role::Admin), [Role::Admin, Role::Editor, Role::Viewer]);
        assert_eq!(grantable_roles(Role::Editor), [Role::Editor, Role::Viewer]);
        assert_eq!(grantable_roles(Role::Viewer), [Role::Viewer]);
    }

    #[test]
    fn token_roles_exclude_owner() {
        assert_eq!(parse_role("editor").unwrap(), Role::Editor);
        assert_eq!(parse_role("owner").unwrap_err().field(), Some("role"));
        assert_eq!(parse_role("root").unwrap_err().field(), Some("role"));
    }

    #[test]
    fn expiry_days_parse() {
        assert_eq!(parse_expiry_days("").unwrap(), None);
        assert_eq!(parse_expiry_days("0").unwrap(), None);
        assert_eq!(parse_expiry_days(" 30 ").unwrap(), Some(30));
        for bad in ["-1", "x", "3651"] {
            assert_eq!(
                parse_expiry_days(bad).unwrap_err().field(),
                Some("expires_in_days"),
                "{bad}"
            );
        }
    }
}
