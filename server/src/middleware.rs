//! Request checks that run before pages and server functions: the sign-in
//! gate for full page loads and the cross-site check for writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use app::AppError;
use app::accounts::is_local_path;
use app::accounts::ssr::session_user;
use app::state::AppState;
use app::storage::accounts::is_set_up;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// State of [`gate_pages`]: the app state plus a cache of "the instance has
/// its first account", which never turns false again once true.
#[derive(Clone)]
pub struct PageGate {
    state: AppState,
    set_up: Arc<AtomicBool>,
}

impl PageGate {
    pub fn new(state: AppState) -> Self {
        PageGate { state, set_up: Arc::new(AtomicBool::new(false)) }
    }

    async fn is_set_up(&self) -> Result<bool, sqlx::Error> {
        if self.set_up.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let set_up = is_set_up(&self.state.db).await?;
        if set_up {
            self.set_up.store(true, Ordering::Relaxed);
        }
        Ok(set_up)
    }
}

/// Pages anyone may open.
fn is_public_page(path: &str) -> bool {
    path == "/login" || path == "/setup" || path.starts_with("/invite/")
}

/// Redirects full page loads to where they belong: an empty instance to the
/// first-run page, anonymous visitors to sign-in (remembering the page), and
/// signed-in users away from the sign-in and setup pages. Server functions
/// (POST) check sessions themselves and pass through.
pub async fn gate_pages(
    State(gate): State<PageGate>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let set_up = match gate.is_set_up().await {
        Ok(set_up) => set_up,
        Err(error) => return database_unavailable(error),
    };
    if !set_up {
        return if path == "/setup" {
            next.run(request).await
        } else {
            Redirect::to("/setup").into_response()
        };
    }
    let signed_in = match session_user(&gate.state.db, &session).await {
        Ok(user) => user.is_some(),
        Err(_) => return database_unavailable("session lookup failed"),
    };
    match (path.as_str(), signed_in) {
        ("/setup", true) => Redirect::to("/").into_response(),
        ("/setup", false) => Redirect::to("/login").into_response(),
        ("/login", true) => Redirect::to(&next_from_query(request.uri().query())).into_response(),
        (path, false) if !is_public_page(path) => {
            let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let encoded: String = url::form_urlencoded::byte_serialize(wanted.as_bytes()).collect();
            Redirect::to(&format!("/login?next={encoded}")).into_response()
        }
        _ => next.run(request).await,
    }
}

/// Returns the `next` parameter of a sign-in URL when it is a local path, else `/`.
fn next_from_query(query: Option<&str>) -> String {
    query
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "next")
                .map(|(_, value)| value.into_owned())
        })
        .filter(|path| is_local_path(path))
        .unwrap_or_else(|| "/".to_string())
}

fn database_unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "page gate failed: the database is unreachable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Rebound cannot reach its database right now. Try again in a moment.\n",
    )
        .into_response()
}

/// Gives failed server-function calls the HTTP status of their error (401,
/// 403, 404, 409, 422, 429) instead of Leptos's blanket 500. Form posts
/// without JavaScript are redirects and pass unchanged.
pub async fn set_server_fn_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes of JSON.
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "reading a server function error body failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = error.status();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Rejects state-changing requests whose `Origin` (or, without it, `Referer`)
/// is not this site. SameSite=Lax cookies already keep most cross-site posts
/// from carrying a session; this also covers sign-in forms and browsers
/// without SameSite support.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return next.run(request).await;
    }
    // Heartbeat pings come from jobs, not browsers, and carry no session.
    if request.uri().path().starts_with("/ping/") {
        return next.run(request).await;
    }
    // The API authenticates by bearer token alone and ignores cookies, so a
    // cross-site page cannot act through a visitor's session there. API
    // requests that carry cookies but no token are checked as usual.
    if is_script_api_request(&request) {
        return next.run(request).await;
    }
    let expected = state.settings.public_origin.clone();
    match check_same_origin(request.headers(), expected.as_deref()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(reason, "cross-site request rejected");
            (
                StatusCode::FORBIDDEN,
                format!("Cross-site request rejected: {reason}. Submit the form from this site's own pages.\n"),
            )
                .into_response()
        }
    }
}

/// Whether a request to the API comes from a script: it carries a bearer
/// token, or no cookie that a browser could have sent on its own.
fn is_script_api_request(request: &Request) -> bool {
    let path = request.uri().path();
    let under_api = path
        .strip_prefix(app::api::ssr::BASE_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let headers = request.headers();
    under_api
        && (app::api::ssr::auth::bearer_token(headers).is_some()
            || !headers.contains_key(header::COOKIE))
}

/// Compares the request's source origin with `public_origin`, or with the
/// request's own `Host` when no public origin is configured.
fn check_same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), &'static str> {
    let source = match headers.get(header::ORIGIN) {
        Some(origin) => origin.to_str().map_err(|_| "the Origin header is unreadable")?.to_string(),
        None => {
            let referer = headers
                .get(header::REFERER)
                .ok_or("the request has neither an Origin nor a Referer header")?
                .to_str()
                .map_err(|_| "the Referer header is unreadable")?;
            origin_of(referer).ok_or("the Referer header is not an absolute URL")?
        }
    };
    if source == "null" {
        return Err("the browser sent an opaque (null) Origin");
    }
    let matches = match public_origin {
        Some(expected) => source.eq_ignore_ascii_case(expected),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .ok_or("the request has no Host header")?;
            origin_of(&source)
                .and_then(|origin| {
                    origin.split_once("://").map(|(_, authority)| authority.to_string())
                })
                .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        }
    };
    if matches { Ok(()) } else { Err("the request comes from another site") }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty())
        .then(|| format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn same_origin_by_host() {
        let ok = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]);
        assert_eq!(check_same_origin(&ok, None), Ok(()));
        let by_referer =
            headers(&[("host", "127.0.0.1:3000"), ("referer", "http://127.0.0.1:3000/team?x=1")]);
        assert_eq!(check_same_origin(&by_referer, None), Ok(()));
    }

    #[test]
    fn other_sites_rejected() {
        let cases = [
            headers(&[("host", "127.0.0.1:3000"), ("origin", "http://evil.example")]),
            headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3001")]),
            headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("referer", "http://evil.example/127.0.0.1:3000"),
            ]),
            headers(&[("host", "127.0.0.1:3000")]),
        ];
        for case in cases {
            assert!(check_same_origin(&case, None).is_err(), "{case:?}");
        }
    }

    #[test]
    fn public_origin_is_authoritative() {
        let behind_proxy =
            headers(&[("host", "10.0.0.5:3000"), ("origin", "https://rebound.example.com")]);
        assert_eq!(check_same_origin(&behind_proxy, Some("https://rebound.example.com")), Ok(()));
        let plain_http =
            headers(&[("host", "rebound.example.com"), ("origin", "http://rebound.example.com")]);
        assert!(check_same_origin(&plain_http, Some("https://rebound.example.com")).is_err());
    }

    #[test]
    fn next_parameter_stays_local() {
        assert_eq!(next_from_query(Some("next=%2Fteam")), "/team");
        assert_eq!(next_from_query(Some("next=https%3A%2F%2Fevil.example")), "/");
        assert_eq!(next_from_query(Some("next=%2F%2Fevil.example")), "/");
        assert_eq!(next_from_query(None), "/");
    }
}
