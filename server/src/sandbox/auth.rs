//! Sandbox credentials: API keys, OAuth authorizations with their access
//! and refresh tokens, and authorization codes.

use std::collections::HashMap;

use axum::http::StatusCode;

use super::clock::{new_id, new_token};
use super::world::{Account, ApiError, BUCKET_SIZE, World};

/// An authorization: an API key, or one OAuth consent with its tokens.
pub struct Authorization {
    pub id: String,
    pub account: usize,
    /// Set for OAuth authorizations.
    pub client_id: Option<String>,
    pub scope: Vec<String>,
    pub revoked: bool,
}

struct AccessToken {
    authorization: usize,
    /// `None` for API keys, which do not expire.
    expires_at: Option<i64>,
}

/// An authorization code waiting to be exchanged.
pub struct Code {
    pub account: usize,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub expires_at: i64,
}

#[derive(Default)]
pub struct Auth {
    pub authorizations: Vec<Authorization>,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, usize>,
    pub codes: HashMap<String, Code>,
}

/// Issued OAuth tokens, as the token endpoint returns them.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user_id: String,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl Auth {
    /// Returns the account a bearer token belongs to.
    pub fn account_of(&self, token: &str, now: i64) -> Result<usize, ApiError> {
        let access = self
            .access_tokens
            .get(token)
            .ok_or_else(|| unauthorized("Invalid credentials provided."))?;
        let authorization = &self.authorizations[access.authorization];
        if authorization.revoked {
            return Err(unauthorized("Invalid credentials provided."));
        }
        if access.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(unauthorized(
                "Invalid credentials provided. The access token has expired.",
            ));
        }
        Ok(authorization.account)
    }

    /// Returns the authorization behind a (valid) token.
    pub fn authorization_of(&self, token: &str) -> Option<&Authorization> {
        let access = self.access_tokens.get(token)?;
        self.authorizations.get(access.authorization)
    }

    pub fn issue_api_key(&mut self, account: usize) -> String {
        let authorization = self.add_authorization(account, None, vec!["global".into()]);
        let key = new_token();
        self.access_tokens.insert(key.clone(), AccessToken { authorization, expires_at: None });
        key
    }

    fn add_authorization(
        &mut self,
        account: usize,
        client_id: Option<String>,
        scope: Vec<String>,
    ) -> usize {
        self.authorizations.push(Authorization {
            id: new_id(),
            account,
            client_id,
            scope,
            revoked: false,
        });
        self.authorizations.len() - 1
    }

    pub fn issue_code(&mut self, code: Code) -> String {
        let value = new_id();
        self.codes.insert(value.clone(), code);
        value
    }

    /// Exchanges a code: one use, before it expires, for the client and
    /// redirect URI it was issued to.
    pub fn exchange_code(
        &mut self,
        world: &World,
        code: &str,
        redirect_uri: Option<&str>,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<Issued, &'static str> {
        let grant = self
            .codes
            .remove(code)
            .ok_or("The authorization code is invalid or was already used.")?;
        if grant.expires_at <= now {
            return Err("The authorization code has expired.");
        }
        if redirect_uri.is_some_and(|uri| uri != grant.redirect_uri) {
            return Err("The redirect_uri differs from the one the code was issued for.");
        }
        let authorization =
            self.add_authorization(grant.account, Some(grant.client_id), grant.scope);
        let refresh_token = new_token();
        self.refresh_tokens.insert(refresh_token.clone(), authorization);
        let access_token = self.issue_access_token(authorization, now, lifetime_secs);
        Ok(Issued {
            access_token,
            refresh_token,
            expires_in: lifetime_secs,
            user_id: world.accounts[grant.account].id.clone(),
        })
    }

    /// Issues a new access token for a live refresh token; the refresh token
    /// stays the same.
    pub fn refresh(
        &mut self,
        world: &World,
        refresh_token: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<Issued, &'static str> {
        let authorization =
            *self.refresh_tokens.get(refresh_token).ok_or("The refresh token is invalid.")?;
        if self.authorizations[authorization].revoked {
            return Err("The authorization was revoked.");
        }
        let access_token = self.issue_access_token(authorization, now, lifetime_secs);
        let account = self.authorizations[authorization].account;
        Ok(Issued {
            access_token,
            refresh_token: refresh_token.to_string(),
            expires_in: lifetime_secs,
            user_id: world.accounts[account].id.clone(),
        })
    }

    fn issue_access_token(&mut self, authorization: usize, now: i64, lifetime_secs: i64) -> String {
        let token = new_token();
        let expires_at = Some(now + lifetime_secs * 1000);
        self.access_tokens.insert(token.clone(), AccessToken { authorization, expires_at });
        token
    }

    pub fn revoke(&mut self, account: usize, id: &str) -> Option<&Authorization> {
        let authorization = self
            .authorizations
            .iter_mut()
            .find(|authorization| authorization.id == id && authorization.account == account)?;
        authorization.revoked = true;
        Some(authorization)
    }

    pub fn expire_access_tokens(&mut self, now: i64) {
        for token in self.access_tokens.values_mut() {
            if token.expires_at.is_some() {
                token.expires_at = Some(now);
            }
        }
    }

    pub fn revoke_oauth_grants(&mut self) {
        for authorization in &mut self.authorizations {
            if authorization.client_id.is_some() {
                authorization.revoked = true;
            }
        }
    }
}

/// Finds the account with `email`, or creates it; returns (index, created).
pub fn find_or_create_account(world: &mut World, email: Option<&str>, now: i64) -> (usize, bool) {
    if let Some(email) = email
        && let Some(index) = world.accounts.iter().position(|account| account.email == email)
    {
        return (index, false);
    }
    let number = world.next_account;
    world.next_account += 1;
    let email =
        email.map_or_else(|| format!("sandbox-user-{number}@sandbox.example"), str::to_string);
    world.accounts.push(Account { id: new_id(), email, bucket: BUCKET_SIZE, bucket_at: now });
    (world.accounts.len() - 1, true)
}
