//! Command line and environment configuration.

use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

/// Rebound: watch your Heroku apps with monitors and let reactions scale,
/// restart, roll back or run one-off dynos when they fail or recover.
///
/// Without a subcommand, `rebound` runs the dashboard and its background
/// worker. Every option can also be set through the environment variable
/// shown next to it.
#[derive(Debug, Parser)]
#[command(name = "rebound", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageOptions,

    #[command(flatten)]
    pub serve: ServeOptions,

    #[command(flatten)]
    pub heroku: HerokuOptions,

    #[command(flatten)]
    pub notify: NotifyOptions,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard and the background worker (the default).
    Serve,
    /// Manage accounts from the shell, against the configured database.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens from the shell, against the configured database.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Run only the Heroku sandbox (a simulated Heroku API and OAuth
    /// server) on --host and --port, for several Rebound processes to share
    /// through --sandbox-url.
    Sandbox,
    /// Measure this build on this machine and print the figures (see
    /// docs/benchmarks.md). Benchmarks create their own data and need no
    /// running instance.
    Bench {
        #[command(subcommand)]
        which: crate::bench::BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Set a new password for an account and sign out its sessions. The
    /// password is read from standard input, or prompted for on a terminal.
    ResetPassword {
        /// Email address of the account.
        email: String,
    },
    /// Create an account that owns a new team. The password is read from
    /// standard input, or prompted for on a terminal.
    Create {
        /// Email address of the new account.
        email: String,
        /// Name of the team the account will own.
        #[arg(long)]
        team: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a team and print it once. It acts with its
    /// role alone, since no member created it.
    Create {
        /// Team id, or the team's name when no other team has it.
        #[arg(long)]
        team: String,
        /// admin, editor or viewer.
        #[arg(long)]
        role: String,
        /// What the token is for, e.g. "deploy script".
        #[arg(long)]
        name: String,
        /// Days until it expires; it never expires without this.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

/// Storage options: database, data directory, instance secret and logging.
#[derive(Debug, Clone, Args)]
pub struct StorageOptions {
    /// Database to use: `sqlite:PATH` or `postgres://USER@HOST/DB`. Defaults to
    /// a SQLite file in the data directory.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the default SQLite database and the generated secret key;
    /// created when missing.
    #[arg(long, global = true, env = "REBOUND_DATA_DIR", default_value = "rebound-data")]
    pub data_dir: PathBuf,

    /// Instance secret (at least 32 characters) from which the keys for
    /// encrypting stored credentials and signing cookies are derived. When
    /// unset, one is generated into DATA_DIR/secret.key. Replicas sharing a
    /// database must share this secret.
    #[arg(long, global = true, env = "REBOUND_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Maximum database connections per process.
    #[arg(long, global = true, env = "REBOUND_DATABASE_CONNECTIONS", default_value_t = 10)]
    pub database_connections: u32,

    /// Log filter, e.g. `info` or `info,server=debug` (tracing EnvFilter syntax).
    #[arg(long, global = true, env = "REBOUND_LOG", default_value = "info")]
    pub log: String,
}

/// Options for serving the dashboard.
#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    /// Address to listen on. Defaults to 127.0.0.1, or to 0.0.0.0 when only
    /// the PORT environment variable is set (as on Heroku).
    #[arg(long, global = true, env = "REBOUND_HOST")]
    pub host: Option<IpAddr>,

    /// Port to listen on (default 3000). Port 0 picks a free port.
    #[arg(long, global = true, env = "PORT")]
    pub port: Option<u16>,

    /// URL browsers use to reach this instance, e.g. https://rebound.example.com.
    /// Used in links, for the cross-site check, and to mark cookies Secure
    /// when it is https. When unset, requests are checked against their own
    /// Host header.
    #[arg(long, global = true, env = "REBOUND_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Sign a session out after this long without a request, e.g. 14d, 12h, 90m.
    #[arg(long, global = true, env = "REBOUND_SESSION_IDLE_TIMEOUT", default_value = "14d", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,

    /// Take client addresses from X-Forwarded-For. Enable only behind a proxy
    /// that sets it, such as Heroku's router.
    #[arg(long, global = true, env = "REBOUND_TRUST_PROXY_HEADERS")]
    pub trust_proxy_headers: bool,

    /// On SIGTERM or Ctrl-C, wait this long for requests in flight.
    #[arg(long, global = true, env = "REBOUND_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Requests running longer than this get a 408 response.
    #[arg(long, global = true, env = "REBOUND_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Let monitors reach loopback, private, link-local and unique-local
    /// addresses (for self-hosters who watch internal services). Off by
    /// default so that team members cannot probe the network Rebound runs in.
    #[arg(long, global = true, env = "REBOUND_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,

    /// Comma-separated addresses monitors may reach although they are
    /// private (e.g. 10.0.4.12,fd00::7), when private targets are not allowed.
    #[arg(long, global = true, env = "REBOUND_ALLOWED_TARGET_ADDRESSES", value_delimiter = ',')]
    pub allowed_target_addresses: Vec<IpAddr>,

    /// Monitor checks running at once in this process.
    #[arg(long, global = true, env = "REBOUND_CHECK_CONCURRENCY", default_value_t = 256)]
    pub check_concurrency: usize,

    /// Bytes of a response body that keyword monitors read (after
    /// decompression); a longer body is matched on what was read.
    #[arg(long, global = true, env = "REBOUND_KEYWORD_BODY_LIMIT", default_value_t = 4 * 1024 * 1024)]
    pub keyword_body_limit: usize,

    /// Keep check results this long, e.g. 30d; hourly uptime rollups stay longer.
    #[arg(long, global = true, env = "REBOUND_CHECK_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub check_retention: Duration,

    /// Serve pages only, without running monitors and housekeeping in this
    /// process (another process on the same database runs them).
    #[arg(long, global = true, env = "REBOUND_NO_WORKER")]
    pub no_worker: bool,

    /// Requests per minute each API token may make; every process on the
    /// database counts against the same limit.
    #[arg(long, global = true, env = "REBOUND_API_RATE_LIMIT", default_value_t = app::state::DEFAULT_API_RATE_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_limit: u32,
}

/// The SMTP server for email notifications, and the metrics endpoint.
#[derive(Clone, Args)]
pub struct NotifyOptions {
    /// SMTP server that email notification channels send through; email
    /// channels are unavailable without it.
    #[arg(long, global = true, env = "REBOUND_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// SMTP port. Defaults to 587 with starttls, 465 with tls, 25 with none.
    #[arg(long, global = true, env = "REBOUND_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// starttls (upgrade a plain connection, required), tls (TLS from the
    /// first byte) or none (no encryption: only for a relay on this host).
    #[arg(long, global = true, env = "REBOUND_SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,

    /// SMTP user name; with the password, Rebound authenticates.
    #[arg(long, global = true, env = "REBOUND_SMTP_USERNAME")]
    pub smtp_username: Option<String>,

    /// SMTP password.
    #[arg(long, global = true, env = "REBOUND_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,

    /// Sender of notification emails, e.g. "Rebound <rebound@example.com>".
    #[arg(long, global = true, env = "REBOUND_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// Maximum wait for each reply of the SMTP server, e.g. 20s.
    #[arg(long, global = true, env = "REBOUND_SMTP_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub smtp_timeout: Duration,

    /// Bearer token that GET /metrics requires. Without it the endpoint
    /// returns 404.
    #[arg(long, global = true, env = "REBOUND_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl fmt::Debug for NotifyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyOptions")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &self.smtp_password.as_ref().map(|_| "<redacted>"))
            .field("smtp_from", &self.smtp_from)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl NotifyOptions {
    /// Builds the SMTP settings, when a host is configured.
    pub fn smtp_settings(&self) -> anyhow::Result<Option<app::state::SmtpSettings>> {
        use app::state::{SmtpSettings, SmtpTls};
        let Some(host) = self.smtp_host.as_deref().filter(|host| !host.is_empty()) else {
            return Ok(None);
        };
        let (tls, default_port) = match self.smtp_tls.as_str() {
            "starttls" => (SmtpTls::StartTls, 587),
            "tls" => (SmtpTls::Implicit, 465),
            "none" => (SmtpTls::None, 25),
            other => bail!("REBOUND_SMTP_TLS {other:?} is not valid; use starttls, tls or none"),
        };
        let Some(from) = self.smtp_from.as_deref().filter(|from| !from.is_empty()) else {
            bail!(
                "REBOUND_SMTP_HOST is set but REBOUND_SMTP_FROM is not; set the sender address, e.g. rebound@example.com"
            );
        };
        if !app::notifications::send::is_mailbox(from) {
            bail!(
                "REBOUND_SMTP_FROM {from:?} is not an email address; use e.g. \"Rebound <rebound@example.com>\""
            );
        }
        let (username, password) = match (&self.smtp_username, &self.smtp_password) {
            (Some(user), Some(password)) => (Some(user.clone()), Some(password.clone())),
            (None, None) => (None, None),
            _ => bail!("set both REBOUND_SMTP_USERNAME and REBOUND_SMTP_PASSWORD, or neither"),
        };
        Ok(Some(SmtpSettings {
            host: host.to_string(),
            port: self.smtp_port.unwrap_or(default_port),
            tls,
            username,
            password,
            from: from.to_string(),
            timeout: self.smtp_timeout,
        }))
    }
}

/// Where Rebound reaches Heroku, and the sandbox that can stand in for it.
#[derive(Debug, Clone, Args)]
pub struct HerokuOptions {
    /// Base URL of Heroku's Platform API.
    #[arg(
        long,
        global = true,
        env = "REBOUND_HEROKU_API_URL",
        default_value = "https://api.heroku.com"
    )]
    pub heroku_api_url: String,

    /// Base URL of Heroku's OAuth server (authorize and token endpoints).
    #[arg(
        long,
        global = true,
        env = "REBOUND_HEROKU_OAUTH_URL",
        default_value = "https://id.heroku.com"
    )]
    pub heroku_oauth_url: String,

    /// Id of the OAuth client registered with Heroku (`heroku clients:create`);
    /// with the secret, enables connecting accounts through Heroku's consent page.
    #[arg(long, global = true, env = "HEROKU_OAUTH_ID")]
    pub heroku_oauth_id: Option<String>,

    /// Secret of that OAuth client.
    #[arg(long, global = true, env = "HEROKU_OAUTH_SECRET", hide_env_values = true)]
    pub heroku_oauth_secret: Option<String>,

    /// Longest wait for one Heroku response, e.g. 15s.
    #[arg(long, global = true, env = "REBOUND_HEROKU_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub heroku_timeout: Duration,

    /// Serve a simulated Heroku (API and OAuth) under /sandbox of this
    /// server, and let teams connect simulated accounts with demo apps.
    #[arg(long, global = true, env = "REBOUND_SANDBOX")]
    pub sandbox: bool,

    /// Use the sandbox at this URL (started with `rebound sandbox`) instead
    /// of serving one, so several Rebound processes share one simulated Heroku.
    #[arg(long, global = true, env = "REBOUND_SANDBOX_URL", conflicts_with = "sandbox")]
    pub sandbox_url: Option<String>,
}

impl HerokuOptions {
    /// The OAuth client, when both halves are configured.
    pub fn oauth_client(&self) -> anyhow::Result<Option<app::heroku::client::OAuthClient>> {
        match (&self.heroku_oauth_id, &self.heroku_oauth_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(Some(app::heroku::client::OAuthClient {
                    id: id.clone(),
                    secret: secret.clone(),
                }))
            }
            (None, None) => Ok(None),
            _ => bail!("set both HEROKU_OAUTH_ID and HEROKU_OAUTH_SECRET, or neither"),
        }
    }

    /// Checks that the URLs are absolute http(s) URLs.
    pub fn validate(&self) -> anyhow::Result<()> {
        let urls = [
            ("--heroku-api-url", Some(&self.heroku_api_url)),
            ("--heroku-oauth-url", Some(&self.heroku_oauth_url)),
            ("--sandbox-url", self.sandbox_url.as_ref()),
        ];
        for (flag, url) in urls {
            let Some(url) = url else { continue };
            let parsed =
                url::Url::parse(url).with_context(|| format!("{flag} {url:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("{flag} {url:?} must use http or https");
            }
        }
        Ok(())
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: None,
            port: None,
            public_url: None,
            session_idle_timeout: Duration::from_secs(14 * 24 * 3600),
            trust_proxy_headers: false,
            shutdown_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            allow_private_targets: false,
            allowed_target_addresses: Vec::new(),
            check_concurrency: 256,
            keyword_body_limit: 4 * 1024 * 1024,
            check_retention: Duration::from_secs(30 * 24 * 3600),
            no_worker: false,
            api_rate_limit: app::state::DEFAULT_API_RATE_LIMIT,
        }
    }
}

impl ServeOptions {
    /// Returns the socket address to bind. `port_from_env` is true when the
    /// port came from the PORT variable rather than the command line.
    pub fn bind_address(&self, port_from_env: bool) -> SocketAddr {
        let default_host = if self.port.is_some() && port_from_env {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        SocketAddr::new(self.host.unwrap_or(default_host), self.port.unwrap_or(3000))
    }

    /// Returns the public URL reduced to its origin (`scheme://host[:port]`).
    pub fn public_origin(&self) -> anyhow::Result<Option<String>> {
        let Some(raw) = &self.public_url else { return Ok(None) };
        let uri: axum::http::Uri =
            raw.parse().with_context(|| format!("--public-url {raw:?} is not a URL"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            bail!("--public-url {raw:?} must be absolute, like https://rebound.example.com");
        };
        if scheme != "http" && scheme != "https" {
            bail!("--public-url {raw:?} must use http or https");
        }
        Ok(Some(format!("{scheme}://{}", authority.as_str().to_ascii_lowercase())))
    }
}

/// Parses `90s`, `15m`, `12h`, `14d` (a bare number means seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; use e.g. 30s, 15m, 12h, 14d"))?;
    let seconds = match unit {
        "" | "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        "d" => value * 86_400,
        other => return Err(format!("unknown unit {other:?} in {text:?}; use s, m, h or d")),
    };
    Ok(Duration::from_secs(seconds))
}

/// The instance secret, from configuration or from DATA_DIR/secret.key
/// (generated with owner-only permissions on first run).
pub struct InstanceSecret {
    pub bytes: Vec<u8>,
    pub source: SecretSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Configured,
    File(PathBuf),
    Generated(PathBuf),
}

impl fmt::Debug for InstanceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceSecret").field("source", &self.source).finish_non_exhaustive()
    }
}

pub const MIN_SECRET_LENGTH: usize = 32;

impl StorageOptions {
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        self.ensure_data_dir()?;
        Ok(format!("sqlite://{}", self.data_dir.join("rebound.db").display()))
    }

    fn ensure_data_dir(&self) -> anyhow::Result<()> {
        if self.data_dir.is_dir() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        set_owner_only(&self.data_dir, 0o700)
    }

    pub fn instance_secret(&self) -> anyhow::Result<InstanceSecret> {
        if let Some(secret) = &self.secret_key {
            if secret.len() < MIN_SECRET_LENGTH {
                bail!(
                    "REBOUND_SECRET_KEY is {} characters long; use at least {MIN_SECRET_LENGTH} random characters",
                    secret.len()
                );
            }
            return Ok(InstanceSecret {
                bytes: secret.as_bytes().to_vec(),
                source: SecretSource::Configured,
            });
        }
        self.ensure_data_dir()?;
        let path = self.data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let secret = text.trim();
                if secret.len() < MIN_SECRET_LENGTH {
                    bail!(
                        "{} contains {} characters; it needs at least {MIN_SECRET_LENGTH}. Delete it to generate a new one (stored credentials then become unreadable)",
                        path.display(),
                        secret.len()
                    );
                }
                Ok(InstanceSecret {
                    bytes: secret.as_bytes().to_vec(),
                    source: SecretSource::File(path),
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let secret = app::accounts::ssr::random_token();
                write_new_secret(&path, &secret)?;
                Ok(InstanceSecret {
                    bytes: secret.into_bytes(),
                    source: SecretSource::Generated(path),
                })
            }
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

fn write_new_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create secret key file {}", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn set_owner_only(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot restrict permissions of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let cases = [("30", 30), ("30s", 30), ("15m", 900), ("12h", 43_200), ("14d", 1_209_600)];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn port_from_environment_alone_binds_all_interfaces() {
        let options = ServeOptions { port: Some(8080), ..ServeOptions::default() };
        assert_eq!(options.bind_address(true), "0.0.0.0:8080".parse().unwrap());
        assert_eq!(options.bind_address(false), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(ServeOptions::default().bind_address(false), "127.0.0.1:3000".parse().unwrap());
        let with_host = ServeOptions { host: Some("::1".parse().unwrap()), ..options };
        assert_eq!(with_host.bind_address(true), "[::1]:8080".parse().unwrap());
    }

    #[test]
    fn public_url_reduces_to_origin() {
        let options =
            |url: &str| ServeOptions { public_url: Some(url.into()), ..ServeOptions::default() };
        assert_eq!(
            options("https://Rebound.Example.com/some/path").public_origin().unwrap().as_deref(),
            Some("https://rebound.example.com")
        );
        assert_eq!(
            options("http://127.0.0.1:3000").public_origin().unwrap().as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert!(options("rebound.example.com").public_origin().is_err());
        assert!(options("ftp://rebound.example.com").public_origin().is_err());
    }
}
