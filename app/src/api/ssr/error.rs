//! The one error shape of the API, `{"error": {"code", "message", "field"}}`,
//! and extractors that report malformed requests in it.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::AppError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthenticated`, `forbidden`,
    /// `not_found`, `conflict`, `invalid`, `rate_limited`, `heroku_error`
    /// or `internal`.
    pub code: String,
    /// A description of the failure and the next step, for people.
    pub message: String,
    /// The request field at fault, for `invalid` errors and for `conflict`
    /// errors about a value in use, such as a name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error response of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None, retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.to_string()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        let code = match &error {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict(_) | AppError::Taken { .. } => "conflict",
            AppError::Heroku { .. } => "heroku_error",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal | AppError::Transport(_) => "internal",
        };
        let message = match &error {
            AppError::Forbidden => {
                "The token's role does not allow this action. Use a token with a higher role."
                    .to_string()
            }
            other => other.to_string(),
        };
        let retry_after = match &error {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        ApiError {
            status: error.status(),
            code,
            message,
            field: error.field().filter(|field| !field.is_empty()).map(str::to_string),
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON request body; a malformed one is a 400, one of the wrong shape a 422.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(error)) => Err(ApiError::invalid(
                "body",
                format!("The request body does not fit: {}.", error.body_text()),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::bad_request(
                "Send the request body as JSON with the header Content-Type: application/json.",
            )),
            Err(other) => Err(ApiError::bad_request(format!(
                "The request body is not valid JSON: {}.",
                other.body_text()
            ))),
        }
    }
}

/// Query parameters; unreadable ones are a 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|error: QueryRejection| {
                ApiError::bad_request(format!(
                    "The query string is invalid: {}.",
                    error.body_text()
                ))
            })
    }
}

/// Path parameters such as ids; unreadable ones are a 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|error: PathRejection| {
                ApiError::bad_request(format!("The URL path is invalid: {}.", error.body_text()))
            })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
