//! The Platform API and OAuth client: one `reqwest::Client` for the whole
//! process, the headers Heroku asks for, retries, range paging and the
//! typed calls Rebound makes.
//!
//! Facts relied on (<https://devcenter.heroku.com/articles/platform-api-reference>):
//! every request carries `Accept: application/vnd.heroku+json; version=3`;
//! every response carries `Request-Id` and `RateLimit-Remaining`; errors are
//! JSON objects with `id` and `message`; lists page with `Range` and
//! `Next-Range` (206 while more remains, at most 1,000 per page).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{HerokuError, HerokuErrorKind};
use super::retry::{RetryPolicy, backoff_delay, parse_retry_after, should_retry_status};
use super::types::{
    Account, App, Authorization, Dyno, DynoSizeInfo, Formation, FormationUpdate, OneOffDyno,
    RateLimit, Release,
};

const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";
/// Heroku's largest page (`max` in a `Range` header).
pub const MAX_PAGE_SIZE: usize = 1000;
/// Pages followed for one list before the client assumes a paging loop.
const MAX_PAGES: usize = 100;

/// Where and how the client reaches Heroku.
#[derive(Debug, Clone)]
pub struct HerokuConfig {
    /// Platform API base, `https://api.heroku.com` unless a sandbox stands in.
    pub api_url: String,
    /// OAuth base, `https://id.heroku.com` unless a sandbox stands in.
    pub oauth_url: String,
    /// Maximum wait for one response.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for HerokuConfig {
    fn default() -> Self {
        HerokuConfig {
            api_url: "https://api.heroku.com".into(),
            oauth_url: "https://id.heroku.com".into(),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client registered with Heroku for the OAuth web flow.
#[derive(Clone)]
pub struct OAuthClient {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("id", &self.id).finish_non_exhaustive()
    }
}

/// An OAuth authorization server and the client registered with it:
/// Heroku's (`https://id.heroku.com`) or a sandbox's.
#[derive(Debug, Clone)]
pub struct OAuthProvider {
    pub base_url: String,
    pub client: OAuthClient,
}

/// How urgent a call is, which decides whether it may spend the last of an
/// account's rate-limit budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Reaction steps and actions a person asked for: always sent.
    Urgent,
    /// Look-ups a person is waiting for: refused at once when the budget is
    /// low, so the page can say so instead of hanging.
    Interactive,
    /// Look-ups nobody waits for (refreshes in the worker): they wait until
    /// the budget recovers.
    Background,
}

/// The token source of one connection. The client asks it for a token
/// before each attempt, tells it when Heroku rejected one, and reports the
/// rate-limit figures it sees.
#[async_trait::async_trait]
pub trait Credentials: Send + Sync {
    async fn token(&self) -> Result<String, HerokuError>;

    /// Called at most once per call, after Heroku rejected `rejected`.
    /// Returns a different token to retry with, or `None` to give up.
    async fn renew(&self, rejected: &str) -> Result<Option<String>, HerokuError>;

    /// Waits or refuses before a request according to the budget.
    async fn before_request(&self, priority: Priority) -> Result<(), HerokuError>;

    /// Records a `RateLimit-Remaining` figure.
    async fn observe_rate_limit(&self, remaining: i64);
}

/// A fixed token with no refresh, e.g. an API key being validated.
pub struct StaticToken(pub String);

#[async_trait::async_trait]
impl Credentials for StaticToken {
    async fn token(&self) -> Result<String, HerokuError> {
        Ok(self.0.clone())
    }

    async fn renew(&self, _rejected: &str) -> Result<Option<String>, HerokuError> {
        Ok(None)
    }

    async fn before_request(&self, _priority: Priority) -> Result<(), HerokuError> {
        Ok(())
    }

    async fn observe_rate_limit(&self, _remaining: i64) {}
}

/// A successful result with the response metadata Heroku sent.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub value: T,
    /// `Request-Id` of the (last) response.
    pub request_id: Option<String>,
    pub rate_limit_remaining: Option<i64>,
}

impl<T> Reply<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        Reply {
            value: f(self.value),
            request_id: self.request_id,
            rate_limit_remaining: self.rate_limit_remaining,
        }
    }
}

/// Tokens from the OAuth token endpoint.
#[derive(Clone, Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    /// Seconds until the access token expires (about 8 hours).
    pub expires_in: Option<i64>,
    /// Absent when Heroku does not rotate it on refresh; keep the old one.
    pub refresh_token: Option<String>,
    /// The Heroku user id; equals `id` from `GET /account`.
    pub user_id: Option<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("expires_in", &self.expires_in)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// A response before decoding.
struct RawResponse {
    status: StatusCode,
    request_id: Option<String>,
    rate_limit_remaining: Option<i64>,
    next_range: Option<String>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// One request to send, possibly several times.
struct Outgoing<'a> {
    method: Method,
    url: reqwest::Url,
    json: Option<&'a serde_json::Value>,
    form: Option<&'a [(&'a str, &'a str)]>,
    range: Option<&'a str>,
    /// Whether sending it twice is harmless (see [`should_retry_status`]).
    idempotent: bool,
}

/// The process-wide client. Cheap to clone.
#[derive(Clone)]
pub struct HerokuClient {
    http: reqwest::Client,
    config: Arc<HerokuConfig>,
}

impl HerokuClient {
    pub fn new(config: HerokuConfig) -> Result<HerokuClient, reqwest::Error> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V3));
        let http = reqwest::Client::builder()
            .user_agent(concat!("Rebound/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // Heroku responds directly, so a redirect would only lead elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HerokuClient { http, config: Arc::new(config) })
    }

    pub fn config(&self) -> &HerokuConfig {
        &self.config
    }

    /// The process-wide `reqwest` client, for calls to a sandbox's control API.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The Platform API at the configured base URL.
    pub fn api<'a>(&'a self, credentials: &'a dyn Credentials) -> Api<'a> {
        self.api_at(&self.config.api_url, credentials)
    }

    /// The Platform API at another base URL (a sandbox connection's).
    pub fn api_at<'a>(&'a self, base_url: &str, credentials: &'a dyn Credentials) -> Api<'a> {
        Api {
            client: self,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            priority: Priority::Urgent,
        }
    }

    /// Builds the URL that sends a person to the provider's consent page.
    /// RFC 6749 (section 4.1.1) allows `redirect_uri` here and requires it to
    /// equal the registered URI. NOTE: Heroku's OAuth article shows the URL
    /// without it; that Heroku accepts it is untested here.
    pub fn authorize_url(
        &self,
        provider: &OAuthProvider,
        scope: &str,
        state: &str,
        redirect_uri: &str,
    ) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &provider.client.id)
            .append_pair("response_type", "code")
            .append_pair("scope", scope)
            .append_pair("state", state)
            .append_pair("redirect_uri", redirect_uri)
            .finish()
            // Form encoding writes spaces as `+`; the OAuth article shows the
            // scope list with `%20`. A literal `+` is already `%2B` here.
            .replace('+', "%20");
        format!("{}/oauth/authorize?{query}", provider.base_url.trim_end_matches('/'))
    }

    /// Exchanges an authorization code for tokens (form-encoded POST to
    /// `/oauth/token` with the client secret in the body, as
    /// <https://devcenter.heroku.com/articles/oauth> shows). Not retried
    /// after a timeout: a code works once.
    pub async fn exchange_code(
        &self,
        provider: &OAuthProvider,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenGrant, HerokuError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", provider.client.id.as_str()),
            ("client_secret", provider.client.secret.as_str()),
            ("redirect_uri", redirect_uri),
        ];
        self.token_request(provider, &form).await
    }

    /// Trades a refresh token for a new access token.
    pub async fn refresh_token(
        &self,
        provider: &OAuthProvider,
        refresh_token: &str,
    ) -> Result<TokenGrant, HerokuError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", provider.client.id.as_str()),
            ("client_secret", provider.client.secret.as_str()),
        ];
        self.token_request(provider, &form).await
    }

    async fn token_request(
        &self,
        provider: &OAuthProvider,
        form: &[(&str, &str)],
    ) -> Result<TokenGrant, HerokuError> {
        let url = join_url(&provider.base_url, &["oauth", "token"])?;
        let request = Outgoing {
            method: Method::POST,
            url,
            json: None,
            form: Some(form),
            range: None,
            // A refresh token may be rotated by its first use, so a second
            // attempt after a lost response could fail. Retry only when
            // Heroku reported that it did nothing.
            idempotent: false,
        };
        let raw = self.send_with_retries(&request, None, Priority::Urgent).await?;
        let mut grant: TokenGrant = decode(&raw)?;
        grant.access_token = grant.access_token.trim().to_string();
        Ok(grant)
    }

    /// Sends `request` until it succeeds, fails for good, or the retry
    /// deadline passes. With credentials, a rejected token is renewed once.
    async fn send_with_retries(
        &self,
        request: &Outgoing<'_>,
        credentials: Option<&dyn Credentials>,
        priority: Priority,
    ) -> Result<RawResponse, HerokuError> {
        let started = Instant::now();
        let policy = self.config.retry;
        let mut retry = 0u32;
        let mut renewed = false;
        let mut token = match credentials {
            Some(credentials) => Some(credentials.token().await?),
            None => None,
        };
        loop {
            if let Some(credentials) = credentials {
                credentials.before_request(priority).await?;
            }
            let outcome = self.send_once(request, token.as_deref()).await;
            let (error, wait) = match outcome {
                Ok(raw) => {
                    if let (Some(credentials), Some(remaining)) =
                        (credentials, raw.rate_limit_remaining)
                    {
                        credentials.observe_rate_limit(remaining).await;
                    }
                    if raw.status.is_success() {
                        return Ok(raw);
                    }
                    let error = error_from_response(&raw);
                    if let (Some(credentials), Some(current)) = (credentials, token.as_deref())
                        && !renewed
                        && error.rejects_credentials()
                    {
                        renewed = true;
                        match credentials.renew(current).await? {
                            Some(fresh) => {
                                tracing::info!(
                                    heroku.status = raw.status.as_u16(),
                                    "Heroku rejected the access token; retrying with a renewed one"
                                );
                                token = Some(fresh);
                                continue;
                            }
                            None => return Err(error),
                        }
                    }
                    if !should_retry_status(raw.status.as_u16(), request.idempotent) {
                        return Err(error);
                    }
                    let backoff = backoff_delay(&policy, retry, OsRng.next_u64());
                    let wait = raw.retry_after.map_or(backoff, |asked| asked.max(backoff));
                    (error, wait)
                }
                Err(error) => {
                    // A timed-out request may have been carried out; repeat
                    // only those that are harmless to repeat.
                    let repeatable = error.kind == HerokuErrorKind::Unreachable
                        || (error.kind == HerokuErrorKind::Timeout && request.idempotent);
                    if !repeatable {
                        return Err(error);
                    }
                    (error, backoff_delay(&policy, retry, OsRng.next_u64()))
                }
            };
            if started.elapsed() + wait > policy.deadline {
                tracing::warn!(
                    heroku.status = error.status,
                    heroku.error_id = error.id.as_deref(),
                    heroku.request_id = error.request_id.as_deref(),
                    attempts = retry + 1,
                    "Heroku call failed; retry deadline reached"
                );
                return Err(error);
            }
            tracing::info!(
                heroku.status = error.status,
                heroku.error_id = error.id.as_deref(),
                heroku.request_id = error.request_id.as_deref(),
                wait_ms = wait.as_millis() as u64,
                "Heroku call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    async fn send_once(
        &self,
        request: &Outgoing<'_>,
        token: Option<&str>,
    ) -> Result<RawResponse, HerokuError> {
        let mut builder = self.http.request(request.method.clone(), request.url.clone());
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                HerokuError::local(
                    HerokuErrorKind::NeedsReauthorization,
                    "The stored Heroku token contains characters that cannot be sent; connect again.",
                )
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(json) = request.json {
            builder = builder.json(json);
        }
        if let Some(form) = request.form {
            builder = builder.form(form);
        }
        if let Some(range) = request.range {
            builder = builder.header("Range", range);
        }
        let response = builder.send().await.map_err(|error| {
            crate::metrics::record_heroku_call(None);
            transport_error(error)
        })?;
        let headers = response.headers().clone();
        let status = response.status();
        crate::metrics::record_heroku_call(Some(status.as_u16()));
        let body = response.bytes().await.map_err(transport_error)?.to_vec();
        let header = |name: &str| {
            headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string)
        };
        Ok(RawResponse {
            status,
            request_id: header("request-id"),
            rate_limit_remaining: header("ratelimit-remaining")
                .and_then(|value| value.trim().parse().ok()),
            next_range: header("next-range"),
            retry_after: header("retry-after").as_deref().and_then(parse_retry_after),
            body,
        })
    }
}

fn transport_error(error: reqwest::Error) -> HerokuError {
    // reqwest's Display names the URL; the message stays free of tokens
    // because they travel in a header.
    if error.is_timeout() {
        HerokuError::local(HerokuErrorKind::Timeout, "Heroku did not respond in time.")
    } else if error.is_connect() {
        HerokuError::local(HerokuErrorKind::Unreachable, "Heroku could not be reached.")
    } else if error.is_decode() || error.is_body() {
        HerokuError::local(HerokuErrorKind::Unreachable, "Heroku's response broke off.")
    } else {
        tracing::warn!(%error, "Heroku request failed before a response");
        HerokuError::local(HerokuErrorKind::Unreachable, "The request to Heroku failed.")
    }
}

/// Error bodies: Heroku's `{id, message}` from the API, or OAuth's
/// `{error, error_description}`, which the token endpoint may use.
#[derive(Deserialize, Default)]
struct ErrorBody {
    id: Option<String>,
    message: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn error_from_response(raw: &RawResponse) -> HerokuError {
    let body: ErrorBody = serde_json::from_slice(&raw.body).unwrap_or_default();
    let status = raw.status.as_u16();
    let oauth_error = body.error.clone();
    let id = body.id.or(body.error);
    let message = body.message.or(body.error_description).unwrap_or_else(|| {
        format!(
            "Heroku answered {status} {} without an explanation.",
            raw.status.canonical_reason().unwrap_or("")
        )
    });
    // A refresh token that no longer works means a person has to connect
    // the account again.
    let grant_gone = oauth_error.as_deref() == Some("invalid_grant")
        || (matches!(status, 400 | 401) && id.as_deref() == Some("invalid_grant"));
    HerokuError {
        kind: if grant_gone { HerokuErrorKind::NeedsReauthorization } else { HerokuErrorKind::Api },
        status: Some(status),
        id,
        message,
        request_id: raw.request_id.clone(),
        retry_after_secs: raw.retry_after.map(|wait| wait.as_secs()),
    }
}

fn decode<T: DeserializeOwned>(raw: &RawResponse) -> Result<T, HerokuError> {
    serde_json::from_slice(&raw.body).map_err(|error| {
        tracing::warn!(%error, heroku.request_id = raw.request_id.as_deref(), "unreadable Heroku response");
        HerokuError {
            kind: HerokuErrorKind::InvalidResponse,
            status: Some(raw.status.as_u16()),
            id: None,
            message: "Heroku's response could not be read.".into(),
            request_id: raw.request_id.clone(),
            retry_after_secs: None,
        }
    })
}

/// Appends path segments to a base URL, percent-encoding each.
fn join_url(base: &str, segments: &[&str]) -> Result<reqwest::Url, HerokuError> {
    let mut url = reqwest::Url::parse(base).map_err(|_| {
        HerokuError::local(
            HerokuErrorKind::Unreachable,
            format!("The Heroku URL {base:?} is not a valid URL."),
        )
    })?;
    url.path_segments_mut()
        .map_err(|_| {
            HerokuError::local(
                HerokuErrorKind::Unreachable,
                format!("The Heroku URL {base:?} cannot take a path."),
            )
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The `Range` header asking for the newest releases first.
pub fn releases_range(page_size: usize) -> String {
    format!("version ..; max={}, order=desc", page_size.clamp(1, MAX_PAGE_SIZE))
}

/// Platform API calls with one connection's credentials.
pub struct Api<'a> {
    client: &'a HerokuClient,
    base_url: String,
    credentials: &'a dyn Credentials,
    priority: Priority,
}

impl Api<'_> {
    /// Marks the following calls as look-ups a person waits for.
    pub fn interactive(mut self) -> Self {
        self.priority = Priority::Interactive;
        self
    }

    /// Marks the following calls as look-ups that may wait for budget.
    pub fn background(mut self) -> Self {
        self.priority = Priority::Background;
        self
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        json: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Reply<T>, HerokuError> {
        let url = join_url(&self.base_url, path)?;
        let request = Outgoing { method, url, json, form: None, range: None, idempotent };
        let raw =
            self.client.send_with_retries(&request, Some(self.credentials), self.priority).await?;
        Ok(Reply {
            value: decode(&raw)?,
            request_id: raw.request_id.clone(),
            rate_limit_remaining: raw.rate_limit_remaining,
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Reply<T>, HerokuError> {
        self.call(Method::GET, path, None, true).await
    }

    /// Reads a whole list, following `Next-Range` until Heroku sends none or
    /// `limit` items arrived. Each page repeats the request with the
    /// `Next-Range` value as its `Range`, unchanged.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &[&str],
        range: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Reply<Vec<T>>, HerokuError> {
        let url = join_url(&self.base_url, path)?;
        let mut items = Vec::new();
        let mut next = range.map(str::to_string);
        let mut last = None;
        for _ in 0..MAX_PAGES {
            let request = Outgoing {
                method: Method::GET,
                url: url.clone(),
                json: None,
                form: None,
                range: next.as_deref(),
                idempotent: true,
            };
            let raw = self
                .client
                .send_with_retries(&request, Some(self.credentials), self.priority)
                .await?;
            let page: Vec<T> = decode(&raw)?;
            items.extend(page);
            let done = limit.is_some_and(|limit| items.len() >= limit);
            let following = raw.next_range.clone().filter(|_| !done);
            last = Some((raw.request_id, raw.rate_limit_remaining));
            match following {
                Some(following) if next.as_deref() != Some(following.as_str()) => {
                    next = Some(following)
                }
                Some(_) => {
                    return Err(HerokuError::local(
                        HerokuErrorKind::InvalidResponse,
                        "Heroku sent the same Next-Range twice, so the list was not read to its end.",
                    ));
                }
                None => break,
            }
        }
        if let Some(limit) = limit {
            items.truncate(limit);
        }
        let (request_id, rate_limit_remaining) = last.unwrap_or_default();
        Ok(Reply { value: items, request_id, rate_limit_remaining })
    }

    /// `GET /account`: who the token belongs to.
    pub async fn account(&self) -> Result<Reply<Account>, HerokuError> {
        self.get(&["account"]).await
    }

    /// `GET /account/rate-limits`, which does not spend a call.
    pub async fn rate_limits(&self) -> Result<Reply<RateLimit>, HerokuError> {
        self.get(&["account", "rate-limits"]).await
    }

    /// `GET /apps`: every app the account reaches, team apps included.
    pub async fn apps(&self) -> Result<Reply<Vec<App>>, HerokuError> {
        self.list(&["apps"], Some("id ..; max=1000"), None).await
    }

    pub async fn app(&self, app: &str) -> Result<Reply<App>, HerokuError> {
        self.get(&["apps", app]).await
    }

    pub async fn formation(&self, app: &str) -> Result<Reply<Vec<Formation>>, HerokuError> {
        self.list(&["apps", app, "formation"], None, None).await
    }

    pub async fn formation_info(
        &self,
        app: &str,
        process_type: &str,
    ) -> Result<Reply<Formation>, HerokuError> {
        self.get(&["apps", app, "formation", process_type]).await
    }

    /// `PATCH /apps/{app}/formation/{type}` with an absolute quantity and/or
    /// size, so a repeated request leaves the same formation.
    pub async fn update_formation(
        &self,
        app: &str,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&str>,
    ) -> Result<Reply<Formation>, HerokuError> {
        let mut body = serde_json::Map::new();
        if let Some(quantity) = quantity {
            body.insert("quantity".into(), quantity.into());
        }
        if let Some(size) = size {
            body.insert("size".into(), size.into());
        }
        let body = serde_json::Value::Object(body);
        self.call(Method::PATCH, &["apps", app, "formation", process_type], Some(&body), true).await
    }

    /// `PATCH /apps/{app}/formation` with several process types at once, as
    /// needed to move an app out of Eco or Basic.
    pub async fn update_formations(
        &self,
        app: &str,
        updates: &[FormationUpdate],
    ) -> Result<Reply<Vec<Formation>>, HerokuError> {
        let body = serde_json::json!({ "updates": updates });
        self.call(Method::PATCH, &["apps", app, "formation"], Some(&body), true).await
    }

    /// `GET /apps/{app}/available-dyno-sizes`.
    pub async fn dyno_sizes(&self, app: &str) -> Result<Reply<Vec<DynoSizeInfo>>, HerokuError> {
        self.list(&["apps", app, "available-dyno-sizes"], None, None).await
    }

    pub async fn dynos(&self, app: &str) -> Result<Reply<Vec<Dyno>>, HerokuError> {
        self.list(&["apps", app, "dynos"], None, None).await
    }

    pub async fn dyno(&self, app: &str, dyno: &str) -> Result<Reply<Dyno>, HerokuError> {
        self.get(&["apps", app, "dynos", dyno]).await
    }

    /// `DELETE /apps/{app}/dynos/{name}`: restarts one dyno. Addressed by
    /// name because restarts by id were reported to do nothing
    /// (<https://github.com/martyzz1/heroku3.py/issues/85>).
    pub async fn restart_dyno(&self, app: &str, dyno: &str) -> Result<Reply<()>, HerokuError> {
        self.call::<serde_json::Value>(Method::DELETE, &["apps", app, "dynos", dyno], None, true)
            .await
            .map(|reply| reply.map(|_| ()))
    }

    /// `DELETE /apps/{app}/dynos`: restarts every dyno of the app.
    pub async fn restart_all_dynos(&self, app: &str) -> Result<Reply<()>, HerokuError> {
        self.call::<serde_json::Value>(Method::DELETE, &["apps", app, "dynos"], None, true)
            .await
            .map(|reply| reply.map(|_| ()))
    }

    /// `POST /apps/{app}/dynos` with `attach: false` and type `run`: a
    /// detached one-off dyno, as `heroku run:detached` starts one.
    pub async fn create_one_off_dyno(
        &self,
        app: &str,
        dyno: &OneOffDyno,
    ) -> Result<Reply<Dyno>, HerokuError> {
        let mut body = serde_json::json!({
            "command": dyno.command,
            "attach": false,
            "type": "run",
        });
        if let Some(size) = &dyno.size {
            body["size"] = size.as_str().into();
        }
        if let Some(ttl) = dyno.time_to_live {
            body["time_to_live"] = ttl.into();
        }
        self.call(Method::POST, &["apps", app, "dynos"], Some(&body), false).await
    }

    /// Newest releases first: `Range: version ..; max=N, order=desc`,
    /// following `Next-Range` until `limit` releases arrived. Without an
    /// explicit range Heroku sorts by id, which need not follow versions.
    pub async fn releases(
        &self,
        app: &str,
        limit: usize,
        page_size: usize,
    ) -> Result<Reply<Vec<Release>>, HerokuError> {
        let range = releases_range(page_size.min(limit.max(1)));
        self.list(&["apps", app, "releases"], Some(&range), Some(limit)).await
    }

    /// `GET /apps/{app}/releases/{id_or_version}` (a version without `v`).
    pub async fn release(
        &self,
        app: &str,
        id_or_version: &str,
    ) -> Result<Reply<Release>, HerokuError> {
        self.get(&["apps", app, "releases", id_or_version]).await
    }

    /// `POST /apps/{app}/releases` with `{"release": id}`: Heroku creates a
    /// new release ("Rollback to vN") from the target's slug and config.
    pub async fn rollback(
        &self,
        app: &str,
        release_id: &str,
    ) -> Result<Reply<Release>, HerokuError> {
        let body = serde_json::json!({ "release": release_id });
        self.call(Method::POST, &["apps", app, "releases"], Some(&body), false).await
    }

    /// `GET /oauth/authorizations/~`: the authorization behind this token.
    pub async fn current_authorization(&self) -> Result<Reply<Authorization>, HerokuError> {
        self.get(&["oauth", "authorizations", "~"]).await
    }

    /// `DELETE /oauth/authorizations/{id}`: revokes its access and refresh tokens.
    pub async fn revoke_authorization(&self, id: &str) -> Result<Reply<()>, HerokuError> {
        self.call::<serde_json::Value>(Method::DELETE, &["oauth", "authorizations", id], None, true)
            .await
            .map(|reply| reply.map(|_| ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_segments() {
        let url = join_url("http://127.0.0.1:9/sandbox/", &["apps", "a b/c", "dynos"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/sandbox/apps/a%20b%2Fc/dynos");
    }

    #[test]
    fn releases_range_is_newest_first() {
        assert_eq!(releases_range(10), "version ..; max=10, order=desc");
        assert_eq!(releases_range(5000), "version ..; max=1000, order=desc");
    }

    #[test]
    fn authorize_url_carries_state_and_scope() {
        let client = HerokuClient::new(HerokuConfig::default()).unwrap();
        let provider = OAuthProvider {
            base_url: "http://127.0.0.1:9/id".into(),
            client: OAuthClient { id: "client id".into(), secret: "s".into() },
        };
        let url =
            client.authorize_url(&provider, "identity write-protected", "st&te", "http://x/cb");
        assert_eq!(
            url,
            "http://127.0.0.1:9/id/oauth/authorize?client_id=client%20id&response_type=code&scope=identity%20write-protected&state=st%26te&redirect_uri=http%3A%2F%2Fx%2Fcb"
        );
    }
}
