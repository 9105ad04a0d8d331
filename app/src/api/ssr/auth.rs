//! Bearer-token authentication and the per-token rate limit of the API.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::tokens::authenticate as authenticate_token;
use crate::state::AppState;
use crate::storage::api_tokens as store;
use crate::time::now_ms;

/// Rate-limit windows are fixed minutes, counted in the database so every
/// process serving the API shares one count per token.
pub const WINDOW_MS: i64 = 60_000;

/// Returns the token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

/// The rate-limit figures of one request, sent as `RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
struct Quota {
    limit: u32,
    remaining: u32,
    /// Seconds until the window ends and the count starts again.
    reset_secs: u64,
}

impl Quota {
    fn apply(self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

/// Authenticates the request by its bearer token, counts it against the
/// token's rate limit, and hands the token's [`crate::accounts::ssr::Caller`]
/// to the handler. Cookies play no part: a browser session cannot call the
/// API, so the API needs no cross-site check.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return ApiError::unauthenticated(
            "Send an API token in the header Authorization: Bearer rbd_…; admins create tokens on the API page of Rebound's settings.",
        )
        .into_response();
    };
    let now = now_ms();
    let caller = match authenticate_token(&state.db, token, now).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(rejection)) => {
            return ApiError::unauthenticated(rejection.message()).into_response();
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    let token_id = caller.token_id.expect("a token authenticates as a caller with its token id");

    let window_start = now - now.rem_euclid(WINDOW_MS);
    let count = match store::count_request(&state.db, token_id, window_start).await {
        Ok(count) => count,
        Err(error) => return ApiError::from(crate::AppError::from(error)).into_response(),
    };
    let limit = state.settings.api_rate_limit;
    let quota = Quota {
        limit,
        remaining: u32::try_from(i64::from(limit) - count).unwrap_or(0),
        reset_secs: ((window_start + WINDOW_MS - now) as u64).div_ceil(1000),
    };
    if count > i64::from(limit) {
        tracing::info!(token.id = token_id, team.id = caller.team_id, "API rate limit reached");
        let mut error = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "This token made more than {limit} requests this minute. Wait {} s and try again.",
                quota.reset_secs
            ),
        );
        error.retry_after = Some(quota.reset_secs);
        let mut response = error.into_response();
        quota.apply(response.headers_mut());
        return response;
    }
    if let Err(error) = store::touch(&state.db, token_id, now).await {
        tracing::warn!(%error, token.id = token_id, "recording when an API token was used failed");
    }

    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    quota.apply(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read() {
        let headers = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::AUTHORIZATION, value.parse().unwrap());
            map
        };
        assert_eq!(bearer_token(&headers("Bearer rbd_abc")), Some("rbd_abc"));
        assert_eq!(bearer_token(&headers("bearer  rbd_abc ")), Some("rbd_abc"));
        assert_eq!(bearer_token(&headers("Basic dXNlcg==")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
