//! What a failed Heroku call left behind: Heroku's own status, error id,
//! message and request id, so that people and the timeline see what Heroku
//! said.

use serde::{Deserialize, Serialize};

/// How a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HerokuErrorKind {
    /// Heroku answered with an error status and (usually) an error body.
    Api,
    /// No response within the client's timeout.
    Timeout,
    /// No connection could be made, or it broke before a response.
    Unreachable,
    /// A response arrived but could not be read as the expected JSON.
    InvalidResponse,
    /// The OAuth grant was revoked or expired; a person must connect again.
    NeedsReauthorization,
    /// The connection's API budget is nearly spent, so a look-up that can
    /// wait was not sent.
    BudgetLow,
}

/// A failed Platform API or OAuth call. `Display` shows Heroku's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct HerokuError {
    pub kind: HerokuErrorKind,
    /// HTTP status, when Heroku answered.
    pub status: Option<u16>,
    /// Heroku's machine-readable error id (`not_found`, `rate_limit`, ...),
    /// or the OAuth `error` code from the token endpoint.
    pub id: Option<String>,
    /// Text for a person: Heroku's `message`, or Rebound's description of a
    /// failure that never reached Heroku.
    pub message: String,
    /// The `Request-Id` of the failed response, for Heroku support.
    pub request_id: Option<String>,
    /// Seconds Heroku asked the client to wait (`Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl HerokuError {
    /// An error that did not come from a Heroku response.
    pub fn local(kind: HerokuErrorKind, message: impl Into<String>) -> Self {
        HerokuError {
            kind,
            status: None,
            id: None,
            message: message.into(),
            request_id: None,
            retry_after_secs: None,
        }
    }

    pub fn is_status(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    pub fn is_not_found(&self) -> bool {
        self.is_status(404)
    }

    /// Whether Heroku rejected the credentials themselves: 401, or a 403
    /// whose message speaks of expiry (Heroku's help centre describes
    /// expired keys answered with 403 Forbidden:
    /// <https://help.heroku.com/PBGP6IDE/how-should-i-generate-an-api-key-that-allows-me-to-use-the-heroku-platform-api>).
    pub fn rejects_credentials(&self) -> bool {
        match self.status {
            Some(401) => true,
            Some(403) => self.message.to_ascii_lowercase().contains("expired"),
            _ => false,
        }
    }

    /// The message with the request id, for logs and execution records.
    pub fn describe(&self) -> String {
        match (&self.id, &self.request_id) {
            (Some(id), Some(request)) => format!("{} [{id}, request {request}]", self.message),
            (Some(id), None) => format!("{} [{id}]", self.message),
            (None, Some(request)) => format!("{} [request {request}]", self.message),
            (None, None) => self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(status: u16, message: &str) -> HerokuError {
        HerokuError {
            kind: HerokuErrorKind::Api,
            status: Some(status),
            id: Some("unauthorized".into()),
            message: message.into(),
            request_id: Some("abc".into()),
            retry_after_secs: None,
        }
    }

    #[test]
    fn display_is_herokus_message() {
        let error = api_error(404, "Couldn't find that app.");
        assert_eq!(error.to_string(), "Couldn't find that app.");
        assert_eq!(error.describe(), "Couldn't find that app. [unauthorized, request abc]");
    }

    #[test]
    fn credential_rejections() {
        assert!(api_error(401, "Invalid credentials provided.").rejects_credentials());
        assert!(api_error(403, "Your API key has expired.").rejects_credentials());
        assert!(!api_error(403, "You do not have access to the app.").rejects_credentials());
        assert!(!api_error(404, "expired").rejects_credentials());
    }
}
