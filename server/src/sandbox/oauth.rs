//! The sandbox's OAuth web flow, shaped like Heroku's
//! (<https://devcenter.heroku.com/articles/oauth>): a consent page at
//! `/oauth/authorize`, codes exchanged at `/oauth/token` with the client
//! secret in a form body, refresh with `grant_type=refresh_token`.
//!
//! Differences from Heroku: any client id and non-empty secret are
//! accepted, the redirect URI comes from the `redirect_uri` parameter
//! rather than a client registration, and the consent page asks for the
//! simulated account's email instead of a sign-in.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;

use super::auth::{Code, find_or_create_account};
use super::{Sandbox, seed};

/// Codes must be exchanged within five minutes (the lifetime Heroku's
/// add-on samples state; the web flow's is undocumented).
const CODE_LIFETIME_MS: i64 = 5 * 60 * 1000;

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/oauth/authorize", get(consent_page).post(consent_given))
        .route("/oauth/token", post(token))
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    redirect_uri: Option<String>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn bad_request_page(message: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox OAuth error</title></head>\
         <body><h1>Sandbox OAuth error</h1><p>{}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

fn valid_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

async fn consent_page(
    State(sandbox): State<Sandbox>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    if params.response_type.as_deref() != Some("code") {
        return bad_request_page("response_type must be code.");
    }
    let Some(client_id) = params.client_id.filter(|id| !id.is_empty()) else {
        return bad_request_page("client_id is required.");
    };
    let Some(redirect_uri) = params.redirect_uri.filter(|uri| valid_redirect(uri)) else {
        return bad_request_page(
            "redirect_uri is required by the sandbox and must be an http(s) URL.",
        );
    };
    let suggested = format!("oauth-user-{}@sandbox.example", sandbox.now() % 1_000_000);
    let scope = params.scope.unwrap_or_default();
    let hidden = |name: &str, value: &str| {
        format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value))
    };
    // `action=""` posts back to this URL, wherever the sandbox is mounted.
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Authorize {client} · Heroku sandbox</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}\
         .simulated{{background:#fff4d6;color:#8a5a00;padding:.5rem .75rem;border-radius:6px}}\
         label{{display:block;font-weight:600;margin:1rem 0 .3rem}}input[type=email]{{width:100%;padding:.4rem}}\
         button{{margin:1rem .5rem 0 0;padding:.45rem .9rem}}</style></head><body>\
         <p class=\"simulated\">Simulated Heroku: this is Rebound's sandbox, not Heroku. Nothing here is real.</p>\
         <h1>Authorize {client}</h1>\
         <p><strong>{client}</strong> asks for access to your Heroku account with the scopes <code>{scope}</code>.</p>\
         <form method=\"post\" action=\"\">\
         {client_field}{scope_field}{state_field}{redirect_field}\
         <label for=\"email\">Sandbox account email</label>\
         <input id=\"email\" name=\"email\" type=\"email\" required value=\"{email}\">\
         <p>A new email creates a simulated account with demo apps.</p>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow access</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         </form></body></html>",
        client = escape(&client_id),
        scope = escape(&scope),
        client_field = hidden("client_id", &client_id),
        scope_field = hidden("scope", &scope),
        state_field = hidden("state", params.state.as_deref().unwrap_or_default()),
        redirect_field = hidden("redirect_uri", &redirect_uri),
        email = escape(&suggested),
    );
    Html(page).into_response()
}

#[derive(Deserialize)]
struct ConsentForm {
    client_id: String,
    scope: Option<String>,
    state: Option<String>,
    redirect_uri: String,
    email: Option<String>,
    decision: Option<String>,
}

/// Appends query parameters to the client's redirect URI.
fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

async fn consent_given(State(sandbox): State<Sandbox>, Form(form): Form<ConsentForm>) -> Response {
    if !valid_redirect(&form.redirect_uri) {
        return bad_request_page("redirect_uri must be an http(s) URL.");
    }
    let state = form.state.unwrap_or_default();
    if form.decision.as_deref() != Some("allow") {
        let target =
            redirect_with(&form.redirect_uri, &[("error", "access_denied"), ("state", &state)]);
        return Redirect::to(&target).into_response();
    }
    let email =
        form.email.map(|email| email.trim().to_lowercase()).filter(|email| email.contains('@'));
    let Some(email) = email else {
        return bad_request_page("Enter an email address for the sandbox account.");
    };
    let now = sandbox.now();
    let code = {
        let mut guard = sandbox.lock();
        let state = &mut *guard;
        let (account, created) = find_or_create_account(&mut state.world, Some(&email), now);
        if created {
            seed::seed_demo_apps(&mut state.world, account, now);
        }
        let scope = form.scope.unwrap_or_default().split_whitespace().map(str::to_string).collect();
        state.auth.issue_code(Code {
            account,
            client_id: form.client_id,
            redirect_uri: form.redirect_uri.clone(),
            scope,
            expires_at: now + CODE_LIFETIME_MS,
        })
    };
    let target = redirect_with(&form.redirect_uri, &[("code", &code), ("state", &state)]);
    Redirect::to(&target).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
}

/// OAuth-style error bodies; Heroku's token endpoint format is undocumented.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": error, "error_description": description })))
        .into_response()
}

async fn token(State(sandbox): State<Sandbox>, Form(form): Form<TokenForm>) -> Response {
    if form.client_secret.as_deref().is_none_or(str::is_empty) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_secret is required.",
        );
    }
    let now = sandbox.now();
    let mut guard = sandbox.lock();
    let state = &mut *guard;
    let lifetime = state.world.options.access_token_lifetime_secs;
    state.calls.record(format!("grant {}", form.grant_type));
    let issued = match form.grant_type.as_str() {
        "authorization_code" => {
            let code = form.code.unwrap_or_default();
            state.auth.exchange_code(
                &state.world,
                &code,
                form.redirect_uri.as_deref(),
                now,
                lifetime,
            )
        }
        "refresh_token" => {
            let refresh_token = form.refresh_token.unwrap_or_default();
            state.auth.refresh(&state.world, &refresh_token, now, lifetime)
        }
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            );
        }
    };
    match issued {
        Ok(issued) => axum::Json(json!({
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "token_type": "Bearer",
            "user_id": issued.user_id,
            "session_nonce": null,
        }))
        .into_response(),
        Err(description) => token_error(StatusCode::BAD_REQUEST, "invalid_grant", description),
    }
}
