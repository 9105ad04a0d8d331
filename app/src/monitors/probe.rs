//! Runs one check of a monitor and explains a failure in words a person
//! understands ("connection refused", "status 503 (expected 200–399)").

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode, Url};

use super::guard::forbidden_reason;
use super::settings::{
    HttpSettings, KeywordRule, MAX_REDIRECTS, MonitorSettings, StatusRanges, TcpSettings,
};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub passed: bool,
    /// Time until the response (HTTP), the body (keyword) or the open connection (TCP).
    pub response_ms: Option<u32>,
    pub status_code: Option<u16>,
    /// Reason for a failure; `None` when the check passed.
    pub reason: Option<String>,
}

impl CheckOutcome {
    fn pass(response_ms: u32, status_code: Option<u16>) -> CheckOutcome {
        CheckOutcome { passed: true, response_ms: Some(response_ms), status_code, reason: None }
    }

    fn fail(reason: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            passed: false,
            response_ms: None,
            status_code: None,
            reason: Some(reason.into()),
        }
    }
}

/// Probe settings that apply to every monitor of the instance.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Let monitors reach loopback, private and link-local addresses.
    pub allow_private_targets: bool,
    /// Single addresses monitors may reach although the guard forbids their
    /// range (e.g. one internal service), with `allow_private_targets` off.
    pub allowed_addresses: Vec<IpAddr>,
    /// Keyword monitors read at most this many bytes of a (decompressed) body.
    pub body_limit_bytes: usize,
    /// Host names answered without DNS; tests point names at local servers.
    pub static_hosts: HashMap<String, Vec<IpAddr>>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            allow_private_targets: false,
            allowed_addresses: Vec::new(),
            body_limit_bytes: 4 * 1024 * 1024,
            static_hosts: HashMap::new(),
        }
    }
}

/// Runs checks. Built once per process: it owns the HTTP clients (one with
/// TLS verification, one without) and the guarded resolver.
#[derive(Clone)]
pub struct Prober {
    verified: reqwest::Client,
    /// Sends notification webhooks through the same address guard.
    notifier: reqwest::Client,
    unverified: reqwest::Client,
    resolver: Arc<GuardedResolver>,
    options: Arc<ProbeOptions>,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Errors the resolver returns; found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("DNS lookup of {host} failed: {cause}")]
    Lookup { host: String, cause: String },
    #[error("DNS lookup of {host} failed: no addresses found")]
    Empty { host: String },
    #[error(
        "{host} resolves to {address}, a {reason} address; Rebound may not reach private networks unless the instance allows private targets"
    )]
    Forbidden { host: String, address: IpAddr, reason: &'static str },
}

/// Resolves names and drops addresses the guard forbids. Checking here, at
/// connect time, covers every hop of a redirect chain and a name whose DNS
/// answer changes between checks.
struct GuardedResolver {
    options: Arc<ProbeOptions>,
}

impl GuardedResolver {
    async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let addresses: Vec<IpAddr> = match self.options.static_hosts.get(host) {
            Some(addresses) => addresses.clone(),
            None => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|error| ResolveError::Lookup {
                    host: host.to_string(),
                    cause: error.to_string(),
                })?
                .map(|address| address.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err(ResolveError::Empty { host: host.to_string() });
        }
        self.allowed(host, addresses)
    }

    fn allowed(&self, host: &str, addresses: Vec<IpAddr>) -> Result<Vec<IpAddr>, ResolveError> {
        if self.options.allow_private_targets {
            return Ok(addresses);
        }
        let first = addresses[0];
        let allowed: Vec<IpAddr> = addresses
            .into_iter()
            .filter(|address| {
                forbidden_reason(*address).is_none()
                    || self.options.allowed_addresses.contains(address)
            })
            .collect();
        if allowed.is_empty() {
            let reason = forbidden_reason(first).unwrap_or("forbidden");
            return Err(ResolveError::Forbidden { host: host.to_string(), address: first, reason });
        }
        Ok(allowed)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = GuardedResolver { options: self.options.clone() };
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolver.lookup(&host).await?;
            let addrs: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl Prober {
    pub fn new(options: ProbeOptions) -> Prober {
        let options = Arc::new(options);
        let resolver = Arc::new(GuardedResolver { options: options.clone() });
        let build = |verify_tls: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("Rebound/", env!("CARGO_PKG_VERSION"), " (monitor)"))
                // Redirects are followed by hand so every hop passes the guard.
                .redirect(reqwest::redirect::Policy::none())
                // A fresh connection per check: a pooled one would hide
                // connection failures and skew response times.
                .pool_max_idle_per_host(0)
                .dns_resolver(resolver.clone())
                .danger_accept_invalid_certs(!verify_tls)
                .build()
                .expect("the monitor HTTP client builds with static settings")
        };
        let notifier = reqwest::Client::builder()
            .user_agent(concat!("Rebound/", env!("CARGO_PKG_VERSION"), " (notifications)"))
            // A redirect could lead past the guard; webhook URLs are final.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(resolver.clone())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the notification HTTP client builds with static settings");
        Prober { verified: build(true), unverified: build(false), notifier, resolver, options }
    }

    /// Returns the HTTP client for notification webhooks, whose resolver
    /// applies the address guard. Check literal IP hosts with [`Prober::check_target`] first.
    pub fn notification_client(&self) -> &reqwest::Client {
        &self.notifier
    }

    /// Checks a URL whose host is a literal IP address against the guard,
    /// which bypasses the resolver. Names are checked when they resolve.
    pub fn check_target(&self, url: &Url) -> Result<(), String> {
        self.check_literal_host(url)
    }

    pub fn options(&self) -> &ProbeOptions {
        &self.options
    }

    /// Runs one check of an HTTP, keyword or TCP monitor. Heartbeat monitors
    /// are passive and are evaluated by the scheduler instead.
    pub async fn check(&self, settings: &MonitorSettings) -> CheckOutcome {
        match settings {
            MonitorSettings::Http(http) => self.http(http, None).await,
            MonitorSettings::Keyword { http, keyword } => self.http(http, Some(keyword)).await,
            MonitorSettings::Tcp(tcp) => self.tcp(tcp).await,
            MonitorSettings::Heartbeat(_) => CheckOutcome::fail(
                "heartbeat monitors are not checked actively; they wait for pings",
            ),
        }
    }

    async fn http(&self, http: &HttpSettings, keyword: Option<&KeywordRule>) -> CheckOutcome {
        let timeout = Duration::from_millis(u64::from(http.timeout_ms));
        let started = Instant::now();
        let attempt = tokio::time::timeout(timeout, self.http_inner(http, keyword, started)).await;
        match attempt {
            Ok(outcome) => outcome,
            Err(_) => CheckOutcome::fail(format!("timed out after {}", seconds(timeout))),
        }
    }

    async fn http_inner(
        &self,
        http: &HttpSettings,
        keyword: Option<&KeywordRule>,
        started: Instant,
    ) -> CheckOutcome {
        let client = if http.verify_tls { &self.verified } else { &self.unverified };
        let mut url = match Url::parse(&http.url) {
            Ok(url) => url,
            Err(error) => {
                return CheckOutcome::fail(format!("invalid URL {:?}: {error}", http.url));
            }
        };
        let mut method = Method::from_bytes(http.method.as_bytes()).unwrap_or(Method::GET);
        let mut body = http.body.clone();
        let mut hops = 0;
        let response = loop {
            if let Err(reason) = self.check_literal_host(&url) {
                return CheckOutcome::fail(reason);
            }
            let mut request = client.request(method.clone(), url.clone());
            for (name, value) in &http.headers {
                request = request.header(name, value);
            }
            if !body.is_empty() {
                request = request.body(body.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => return CheckOutcome::fail(describe_request_error(&error)),
            };
            let redirect = response.status().is_redirection() && http.follow_redirects;
            let location = response.headers().get(reqwest::header::LOCATION).cloned();
            match (redirect, location) {
                (true, Some(location)) => {
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return CheckOutcome::fail(format!(
                            "too many redirects (more than {MAX_REDIRECTS}); last location {url}"
                        ));
                    }
                    let next = location.to_str().ok().and_then(|location| url.join(location).ok());
                    let Some(next) = next else {
                        return CheckOutcome::fail(format!(
                            "redirect from {url} has an invalid Location header"
                        ));
                    };
                    // Browsers turn a redirected POST into a GET except for 307 and 308.
                    let status = response.status();
                    if status == StatusCode::SEE_OTHER
                        || ((status == StatusCode::MOVED_PERMANENTLY
                            || status == StatusCode::FOUND)
                            && method == Method::POST)
                    {
                        method = Method::GET;
                        body.clear();
                    }
                    url = next;
                }
                _ => break response,
            }
        };

        let status = response.status().as_u16();
        let headers_ms = elapsed_ms(started);
        if !http.expected_status.contains(status) {
            return CheckOutcome {
                response_ms: Some(headers_ms),
                status_code: Some(status),
                ..CheckOutcome::fail(unexpected_status(status, &http.expected_status))
            };
        }
        let (response_ms, keyword_failure) = match keyword {
            None => (headers_ms, None),
            Some(rule) => {
                let text = match self.read_text(response).await {
                    Ok(text) => text,
                    Err(reason) => {
                        return CheckOutcome {
                            status_code: Some(status),
                            ..CheckOutcome::fail(reason)
                        };
                    }
                };
                (elapsed_ms(started), match_keyword(rule, &text).err())
            }
        };
        let failure = keyword_failure.or_else(|| {
            http.max_response_ms
                .filter(|max| response_ms > *max)
                .map(|max| format!("response took {response_ms} ms (max {max})"))
        });
        match failure {
            Some(reason) => CheckOutcome {
                response_ms: Some(response_ms),
                status_code: Some(status),
                ..CheckOutcome::fail(reason)
            },
            None => CheckOutcome::pass(response_ms, Some(status)),
        }
    }

    /// Rejects URLs whose host is an address literal the guard forbids;
    /// literals never reach the resolver.
    fn check_literal_host(&self, url: &Url) -> Result<(), String> {
        let address = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(format!("URL {url} has no host")),
        };
        let host = address.to_string();
        self.resolver.allowed(&host, vec![address]).map(|_| ()).map_err(|error| error.to_string())
    }

    /// Reads the body up to the limit and decodes it from its charset. A body
    /// cut off at the limit is returned as far as it was read.
    async fn read_text(&self, mut response: reqwest::Response) -> Result<String, String> {
        let charset = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(charset_of)
            .map(str::to_string);
        let limit = self.options.body_limit_bytes;
        let mut bytes = Vec::new();
        while bytes.len() < limit {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = limit - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(format!(
                        "reading the body failed: {}",
                        describe_request_error(&error)
                    ));
                }
            }
        }
        Ok(decode(&bytes, charset.as_deref()))
    }

    async fn tcp(&self, tcp: &TcpSettings) -> CheckOutcome {
        let timeout = Duration::from_millis(u64::from(tcp.timeout_ms));
        let started = Instant::now();
        let attempt = async {
            let addresses = match tcp.host.parse::<IpAddr>() {
                Ok(address) => self.resolver.allowed(&tcp.host, vec![address]),
                Err(_) => self.resolver.lookup(&tcp.host).await,
            }
            .map_err(|error| error.to_string())?;
            let mut last_error = None;
            for address in addresses {
                match tokio::net::TcpStream::connect(SocketAddr::new(address, tcp.port)).await {
                    Ok(_) => return Ok(()),
                    Err(error) => last_error = Some(error),
                }
            }
            Err(match last_error {
                Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    format!("connection to {}:{} refused", tcp.host, tcp.port)
                }
                Some(error) => format!("connection to {}:{} failed: {error}", tcp.host, tcp.port),
                None => format!("no address to connect to for {}", tcp.host),
            })
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(())) => CheckOutcome::pass(elapsed_ms(started), None),
            Ok(Err(reason)) => CheckOutcome::fail(reason),
            Err(_) => CheckOutcome::fail(format!("timed out after {}", seconds(timeout))),
        }
    }
}

fn elapsed_ms(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)
}

/// "10 s", "1.5 s".
fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

fn unexpected_status(status: u16, expected: &StatusRanges) -> String {
    format!("status {status} (expected {expected})")
}

/// Turns reqwest's error chain into one sentence naming the failed step.
pub(crate) fn describe_request_error(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(resolve) = current.downcast_ref::<ResolveError>() {
            return resolve.to_string();
        }
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return format!("TLS error: {tls}");
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_string(),
                std::io::ErrorKind::ConnectionReset => {
                    return "connection reset by the server".to_string();
                }
                _ => {}
            }
            // io::Error::source() skips the wrapped error itself; descend into
            // it, because rustls errors arrive wrapped this way.
            if let Some(inner) = io.get_ref() {
                source = Some(inner);
                continue;
            }
        }
        source = current.source();
    }
    if error.is_timeout() {
        return "timed out".to_string();
    }
    let mut root: &dyn std::error::Error = error;
    while let Some(next) = root.source() {
        root = next;
    }
    format!("request failed: {root}")
}

/// Returns the `charset` parameter of a Content-Type value.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"'))
    })
}

/// Decodes a body: a byte-order mark wins, then the declared charset, then
/// UTF-8. Malformed sequences become U+FFFD, so text around them still matches.
fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let declared = charset.and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    let encoding = declared.unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// Ok when the rule is satisfied, else the failure reason.
fn match_keyword(rule: &KeywordRule, text: &str) -> Result<(), String> {
    let found = if rule.regex {
        match regex::RegexBuilder::new(&rule.pattern)
            .case_insensitive(!rule.case_sensitive)
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => regex.is_match(text),
            Err(error) => {
                return Err(format!("regular expression {:?} is invalid: {error}", rule.pattern));
            }
        }
    } else if rule.case_sensitive {
        text.contains(&rule.pattern)
    } else {
        text.to_lowercase().contains(&rule.pattern.to_lowercase())
    };
    match (found, rule.must_be_present) {
        (true, true) | (false, false) => Ok(()),
        (false, true) => Err(format!("keyword {:?} not found", rule.pattern)),
        (true, false) => Err(format!("keyword {:?} found", rule.pattern)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        pattern: &str,
        regex: bool,
        case_sensitive: bool,
        must_be_present: bool,
    ) -> KeywordRule {
        KeywordRule { pattern: pattern.into(), regex, case_sensitive, must_be_present }
    }

    #[test]
    fn keyword_matching_table() {
        let cases = [
            (rule("OK", false, false, true), "status: ok", Ok(())),
            (
                rule("OK", false, true, true),
                "status: ok",
                Err("keyword \"OK\" not found".to_string()),
            ),
            (rule("error", false, false, false), "all good", Ok(())),
            (
                rule("error", false, false, false),
                "ERROR: db down",
                Err("keyword \"error\" found".to_string()),
            ),
            (rule(r"v\d+\.\d+", true, true, true), "version v1.42", Ok(())),
            (rule("größe", false, false, true), "GRÖSSE größe", Ok(())),
        ];
        for (rule, text, expected) in cases {
            assert_eq!(match_keyword(&rule, text), expected, "{rule:?} on {text:?}");
        }
        let broken = match_keyword(&rule("(", true, false, true), "x").unwrap_err();
        assert!(broken.starts_with("regular expression \"(\" is invalid"), "{broken}");
    }

    #[test]
    fn charsets_decode() {
        assert_eq!(charset_of("text/html; charset=ISO-8859-1"), Some("ISO-8859-1"));
        assert_eq!(charset_of("text/html;charset=\"utf-8\""), Some("utf-8"));
        assert_eq!(charset_of("text/html"), None);
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode(b"\x82\xb1\x82\xf1", Some("shift_jis")), "こん");
        assert_eq!(decode(b"ok \xff ok", None), "ok \u{fffd} ok");
    }

    #[test]
    fn seconds_format() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
