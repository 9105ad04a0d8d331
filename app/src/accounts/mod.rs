//! Accounts and teams: first-run setup, sign-in, invitations, roles and the
//! team switcher.

mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod validate;

pub use pages::{AccountPage, InvitePage, LoginPage, NewTeamPage, SetupPage, TeamPage};
pub use validate::{MIN_PASSWORD_LENGTH, is_local_path};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A member's role in a team; each role can do everything the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in the team.
    Viewer,
    /// Also creates and changes monitors and reactions.
    Editor,
    /// Also manages members, invitations and Heroku connections.
    Admin,
    /// Also promotes owners; a team always keeps at least one.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => {
                Err(format!("unknown role {other:?}; expected owner, admin, editor or viewer"))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: i64,
    pub name: String,
}

/// The signed-in user as every page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub email: String,
    /// The team the pages show; `None` when the user belongs to no team.
    pub team: Option<TeamRef>,
    pub role: Option<Role>,
    pub teams: Vec<TeamRef>,
}

impl Viewer {
    /// Returns whether the user's role in the current team is at least `role`.
    pub fn can(&self, role: Role) -> bool {
        self.role.is_some_and(|own| own >= role)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: i64,
    pub role: Role,
    pub note: String,
    /// Email of the member who created it, if they still exist.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An invitation just created; `link` contains the token and is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    pub link: String,
    pub role: Role,
    pub expires_at: i64,
}

/// Team and role of an invitation, shown before anyone signs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSummary {
    pub team_name: String,
    pub role: Role,
    pub expires_at: i64,
}

/// Returns the signed-in user, or `None` for an anonymous visitor.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    ssr::viewer().await
}

/// Returns whether the instance still needs its first account.
#[server(endpoint = "setup_needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    let state = crate::state::app_state()?;
    Ok(!crate::storage::accounts::is_set_up(&state.db).await?)
}

/// Creates the first account of an empty instance, and its team, and signs in.
#[server(endpoint = "setup")]
pub async fn setup(email: String, password: String, team_name: String) -> Result<(), AppError> {
    ssr::setup(email, password, team_name).await
}

#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    ssr::login(email, password).await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    ssr::logout().await
}

/// Makes `team_id` the team the pages show.
#[server(endpoint = "switch_team")]
pub async fn switch_team(team_id: i64) -> Result<(), AppError> {
    ssr::switch_team(team_id).await
}

/// Creates a team owned by the caller and switches to it.
#[server(endpoint = "create_team")]
pub async fn create_team(team_name: String) -> Result<(), AppError> {
    ssr::create_team(team_name).await
}

#[server(endpoint = "list_members")]
pub async fn list_members() -> Result<Vec<Member>, AppError> {
    ssr::list_members().await
}

#[server(endpoint = "change_role")]
pub async fn change_role(user_id: i64, role: String) -> Result<(), AppError> {
    ssr::change_role(user_id, role).await
}

#[server(endpoint = "remove_member")]
pub async fn remove_member(user_id: i64) -> Result<(), AppError> {
    ssr::remove_member(user_id).await
}

#[server(endpoint = "list_invitations")]
pub async fn list_invitations() -> Result<Vec<Invitation>, AppError> {
    ssr::list_invitations().await
}

#[server(endpoint = "create_invitation")]
pub async fn create_invitation(role: String, note: String) -> Result<NewInvitation, AppError> {
    ssr::create_invitation(role, note).await
}

/// The invitation just created in this session, shown once (for forms
/// posted without JavaScript, which end in a redirect).
#[server(endpoint = "take_new_invitation")]
pub async fn take_new_invitation() -> Result<Option<NewInvitation>, AppError> {
    ssr::take_new_invitation().await
}

#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(invitation_id: i64) -> Result<(), AppError> {
    ssr::revoke_invitation(invitation_id).await
}

/// Team and role of an invitation, for the page its link opens.
#[server(endpoint = "invitation_details")]
pub async fn invitation_details(token: String) -> Result<InvitationSummary, AppError> {
    ssr::invitation_details(token).await
}

/// Creates an account through an invitation link and signs in.
#[server(endpoint = "sign_up")]
pub async fn sign_up(token: String, email: String, password: String) -> Result<(), AppError> {
    ssr::sign_up(token, email, password).await
}

/// Adds the signed-in user to the invitation's team.
#[server(endpoint = "join_team")]
pub async fn join_team(token: String) -> Result<(), AppError> {
    ssr::join_team(token).await
}

#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    ssr::change_password(current_password, new_password).await
}
