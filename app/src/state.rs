//! The state built once at start-up and shared by handlers, server functions
//! and the worker.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use hkdf::Hkdf;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;
use sha2::Sha256;

use tokio::sync::Notify;

use crate::connections::tokens::HerokuRuntime;
use crate::error::AppError;
use crate::heroku::client::{HerokuConfig, OAuthClient};
use crate::monitors::probe::Prober;
use crate::storage::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub secrets: Arc<Secrets>,
    pub leptos_options: LeptosOptions,
    /// Runs monitor checks; shared by the worker and "Check now".
    pub prober: Prober,
    /// Wakes this process's monitor scheduler when a monitor is created,
    /// edited or resumed, so its first check need not wait for the next poll.
    pub monitor_wakeup: Arc<Notify>,
    /// Wakes this process's reaction engine when checks queue triggers.
    pub reaction_wakeup: Arc<Notify>,
    /// Wakes this process's notification sender when events may have been
    /// queued; other processes' events are found by its poll.
    pub notification_wakeup: Arc<Notify>,
    /// The Heroku client and connection bookkeeping, one per process.
    pub heroku: Arc<HerokuRuntime>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Returns the state that server functions reach through the Leptos context.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        AppError::internal("server function called without AppState", "missing context")
    })
}

/// Settings that request handling depends on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The origin browsers use to reach this instance (`https://rebound.example.com`),
    /// without a trailing slash. When unset, the request's own `Host` is trusted.
    pub public_origin: Option<String>,
    /// A session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// Take the client address from `X-Forwarded-For` (set when behind a proxy
    /// such as Heroku's router); otherwise the TCP peer address is used.
    pub trust_proxy_headers: bool,
    /// Requests per minute each API token may make.
    pub api_rate_limit: u32,
    pub heroku: HerokuSettings,
    /// The SMTP server email channels send through; `None` disables them.
    pub smtp: Option<SmtpSettings>,
    /// Bearer token that `GET /metrics` requires; `None` disables the endpoint.
    pub metrics_token: Option<String>,
}

/// Encryption of the connection to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP, upgraded with STARTTLS; fails if the server does not offer it.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
    /// No encryption, for a relay on the same host or a test server.
    None,
}

/// The instance's SMTP server.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From address, e.g. `Rebound <rebound@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Requests per minute per API token unless configured otherwise.
pub const DEFAULT_API_RATE_LIMIT: u32 = 300;

/// Where Rebound reaches Heroku, or the sandbox standing in for it.
#[derive(Debug, Clone, Default)]
pub struct HerokuSettings {
    /// Base URLs, timeouts and retries of the Platform API client.
    pub client: HerokuConfig,
    /// The OAuth client registered with Heroku, if any.
    pub oauth_client: Option<OAuthClient>,
    /// Base URL of a sandbox (built in or external); enables sandbox
    /// connections.
    pub sandbox_url: Option<String>,
}

impl Settings {
    /// Whether cookies must carry `Secure`: the public origin is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.as_deref().is_some_and(|origin| origin.starts_with("https://"))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_origin: None,
            session_idle_timeout: Duration::from_secs(14 * 24 * 3600),
            trust_proxy_headers: false,
            api_rate_limit: DEFAULT_API_RATE_LIMIT,
            heroku: HerokuSettings::default(),
            smtp: None,
            metrics_token: None,
        }
    }
}

/// Keys derived from the instance secret. One secret yields independent keys
/// per purpose (HKDF-SHA256 with a label each), so no key serves two uses.
pub struct Secrets {
    cookie_signing: [u8; 64],
    credential_encryption: [u8; 32],
    heartbeat: [u8; 32],
}

impl Secrets {
    /// Derives the keys from the instance secret (at least 32 bytes).
    pub fn derive(instance_secret: &[u8]) -> Secrets {
        let hkdf = Hkdf::<Sha256>::new(Some(b"rebound"), instance_secret);
        let mut cookie_signing = [0u8; 64];
        let mut credential_encryption = [0u8; 32];
        let mut heartbeat = [0u8; 32];
        hkdf.expand(b"cookie-signing", &mut cookie_signing)
            .expect("64 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(b"credential-encryption", &mut credential_encryption)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(b"heartbeat-urls", &mut heartbeat)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Secrets { cookie_signing, credential_encryption, heartbeat }
    }

    pub fn cookie_signing_key(&self) -> &[u8; 64] {
        &self.cookie_signing
    }

    pub fn credential_encryption_key(&self) -> &[u8; 32] {
        &self.credential_encryption
    }

    /// Key of the HMAC that turns a heartbeat monitor's nonce into its URL token.
    pub fn heartbeat_key(&self) -> &[u8; 32] {
        &self.heartbeat
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(redacted)")
    }
}
