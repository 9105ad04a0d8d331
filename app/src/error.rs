//! The one error type that crosses the server-function boundary.
//!
//! Policy: every variant except `Internal` carries a message written for the
//! person at the browser. Internal failures (database, I/O, bugs) are logged
//! with their cause once, where they are converted into `Internal`, and the
//! browser only learns that something failed on the server.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Your role in this team does not allow this action. Ask a team admin.")]
    Forbidden,
    #[error("{0} was not found. It may have been deleted, or it belongs to another team.")]
    NotFound(String),
    /// Bad input; `field` names the form field (or argument) at fault.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request conflicts with the current state, e.g. the sandbox is
    /// not enabled.
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique, such as a monitor's name, is in use.
    /// `field` names the form field, as for `Invalid`.
    #[error("{message}")]
    Taken { field: String, message: String },
    /// Heroku refused or failed a call; the message is Heroku's own (or
    /// says why Heroku could not be asked).
    #[error("Heroku: {message}")]
    Heroku { message: String, request_id: Option<String> },
    #[error("Too many failed sign-in attempts. Try again in {}.", crate::time::format_wait(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    #[error(
        "The server could not complete the request. Try again; if it keeps failing, ask your administrator to check the server log."
    )]
    Internal,
    /// The browser could not reach the server or read its response.
    #[error(
        "The request failed before reaching the server: {0}. Check your connection and try again."
    )]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.to_string(), message: message.into() }
    }

    /// Returns the field this error is about, if it is a validation error
    /// or a value in use.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::Taken { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Converts an internal failure into `Internal`, logging its cause once.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        AppError::Internal
    }

    /// HTTP status for this error, used when the error is the whole response.
    #[cfg(feature = "ssr")]
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) | AppError::Taken { .. } => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Heroku { .. } => StatusCode::BAD_GATEWAY,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A form that left out an argument: name it, so the page can point at it.
            ServerFnErrorErr::MissingArg(arg) => {
                AppError::invalid(&arg, format!("{arg} is missing. Fill it in and submit again."))
            }
            ServerFnErrorErr::Args(message) => AppError::invalid(
                "",
                format!("The form could not be read ({message}). Reload the page and try again."),
            ),
            ServerFnErrorErr::Request(message) | ServerFnErrorErr::Response(message) => {
                AppError::Transport(message)
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::internal("database query failed", error)
    }
}

impl From<crate::heroku::HerokuError> for AppError {
    fn from(error: crate::heroku::HerokuError) -> Self {
        AppError::Heroku { message: error.message, request_id: error.request_id }
    }
}

#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        AppError::internal("session store failed", error)
    }
}
