//! Monitor settings per kind, and the form that edits them.

use serde::{Deserialize, Serialize};

/// The kinds of monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitorKind {
    /// An HTTP(S) request whose status (and optionally speed) decides.
    Http,
    /// An HTTP(S) request whose body must contain, or must not contain, a keyword.
    Keyword,
    /// A TCP connection that must open.
    Tcp,
    /// A job that must call Rebound's secret URL at least once per period.
    Heartbeat,
}

impl MonitorKind {
    pub const ALL: [MonitorKind; 4] =
        [MonitorKind::Http, MonitorKind::Keyword, MonitorKind::Tcp, MonitorKind::Heartbeat];

    pub fn as_str(self) -> &'static str {
        match self {
            MonitorKind::Http => "http",
            MonitorKind::Keyword => "keyword",
            MonitorKind::Tcp => "tcp",
            MonitorKind::Heartbeat => "heartbeat",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MonitorKind::Http => "HTTP status",
            MonitorKind::Keyword => "HTTP keyword",
            MonitorKind::Tcp => "TCP port",
            MonitorKind::Heartbeat => "Heartbeat",
        }
    }

    pub fn parse(text: &str) -> Option<MonitorKind> {
        MonitorKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Kind-specific settings, stored as JSON in the monitor row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MonitorSettings {
    Http(HttpSettings),
    Keyword { http: HttpSettings, keyword: KeywordRule },
    Tcp(TcpSettings),
    Heartbeat(HeartbeatSettings),
}

impl MonitorSettings {
    pub fn kind(&self) -> MonitorKind {
        match self {
            MonitorSettings::Http(_) => MonitorKind::Http,
            MonitorSettings::Keyword { .. } => MonitorKind::Keyword,
            MonitorSettings::Tcp(_) => MonitorKind::Tcp,
            MonitorSettings::Heartbeat(_) => MonitorKind::Heartbeat,
        }
    }

    /// Returns how long one check may take, in milliseconds; heartbeats take none.
    pub fn timeout_ms(&self) -> u32 {
        match self {
            MonitorSettings::Http(http) | MonitorSettings::Keyword { http, .. } => http.timeout_ms,
            MonitorSettings::Tcp(tcp) => tcp.timeout_ms,
            MonitorSettings::Heartbeat(_) => 0,
        }
    }

    /// Describes the target in one line, for lists.
    pub fn target(&self) -> String {
        match self {
            MonitorSettings::Http(http) => format!("{} {}", http.method, http.url),
            MonitorSettings::Keyword { http, keyword } => {
                let verb = if keyword.must_be_present { "contains" } else { "lacks" };
                format!("{} {} {verb} {:?}", http.method, http.url, keyword.pattern)
            }
            MonitorSettings::Tcp(tcp) => format!("{}:{}", tcp.host, tcp.port),
            MonitorSettings::Heartbeat(heartbeat) => {
                format!("waits for pings, {} s grace", heartbeat.grace_secs)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpSettings {
    pub url: String,
    pub method: String,
    /// Extra request headers, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub expected_status: StatusRanges,
    pub timeout_ms: u32,
    /// Follow up to [`MAX_REDIRECTS`] redirects; otherwise a 3xx is the answer.
    pub follow_redirects: bool,
    pub verify_tls: bool,
    /// A slower response counts as a failure.
    pub max_response_ms: Option<u32>,
}

pub const MAX_REDIRECTS: usize = 10;
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
pub const MAX_TIMEOUT_MS: u32 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordRule {
    pub pattern: String,
    /// The pattern is a regular expression rather than literal text.
    pub regex: bool,
    pub case_sensitive: bool,
    /// Healthy when the pattern is found (true) or when it is absent (false).
    pub must_be_present: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSettings {
    pub host: String,
    pub port: u16,
    pub timeout_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatSettings {
    /// Extra time after each period before a missing ping counts as a failure.
    pub grace_secs: u32,
}

/// Expected HTTP status codes as inclusive ranges, e.g. `200-399` or
/// `200,204,301-302`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRanges(pub Vec<(u16, u16)>);

impl Default for StatusRanges {
    fn default() -> Self {
        StatusRanges(vec![(200, 399)])
    }
}

impl StatusRanges {
    pub fn parse(text: &str) -> Result<StatusRanges, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(StatusRanges::default());
        }
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (low, high) = match part.split_once(['-', '–']) {
                Some((low, high)) => (low.trim(), high.trim()),
                None => (part, part),
            };
            let parse = |code: &str| -> Result<u16, String> {
                code.parse::<u16>()
                    .ok()
                    .filter(|code| (100..=599).contains(code))
                    .ok_or_else(|| format!("{code:?} is not an HTTP status code (100 to 599)"))
            };
            let (low, high) = (parse(low)?, parse(high)?);
            if low > high {
                return Err(format!("range {part:?} runs backwards; write the lower code first"));
            }
            ranges.push((low, high));
        }
        Ok(StatusRanges(ranges))
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(low, high)| (*low..=*high).contains(&status))
    }
}

impl std::fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(low, high)| if low == high { low.to_string() } else { format!("{low}–{high}") })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Check intervals offered by the form, in seconds; the API accepts any
/// value between the first and the last.
pub const INTERVAL_CHOICES: [u32; 10] = [10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600];
pub const DEFAULT_INTERVAL_SECS: u32 = 30;

/// Formats an interval for people: "30 s", "5 min", "1 h".
pub fn format_interval(seconds: u32) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The create and edit form, as the browser submits it: every field is text,
/// and checkboxes are present only when ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorForm {
    pub name: String,
    pub kind: String,
    pub interval_secs: String,
    pub fail_after: String,
    pub recover_after: String,
    pub url: String,
    pub method: String,
    pub headers: String,
    pub body: String,
    pub expected_status: String,
    pub timeout_secs: String,
    pub follow_redirects: Option<String>,
    pub verify_tls: Option<String>,
    pub max_response_ms: String,
    pub keyword: String,
    pub keyword_mode: String,
    pub keyword_regex: Option<String>,
    pub case_sensitive: Option<String>,
    pub host: String,
    pub port: String,
    pub grace_secs: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_parse() {
        let cases = [
            ("", vec![(200, 399)]),
            ("200", vec![(200, 200)]),
            ("200-299", vec![(200, 299)]),
            ("200, 204 ,301-302", vec![(200, 200), (204, 204), (301, 302)]),
            ("200–399", vec![(200, 399)]),
        ];
        for (text, expected) in cases {
            assert_eq!(StatusRanges::parse(text), Ok(StatusRanges(expected)), "{text:?}");
        }
        for bad in ["abc", "99", "600", "300-200", "200-"] {
            assert!(StatusRanges::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_ranges_contain_and_display() {
        let ranges = StatusRanges::parse("200-299,404").unwrap();
        assert!(ranges.contains(204));
        assert!(ranges.contains(404));
        assert!(!ranges.contains(301));
        assert_eq!(ranges.to_string(), "200–299, 404");
    }

    #[test]
    fn intervals_format() {
        assert_eq!(format_interval(10), "10 s");
        assert_eq!(format_interval(90), "90 s");
        assert_eq!(format_interval(300), "5 min");
        assert_eq!(format_interval(3600), "1 h");
    }

    #[test]
    fn settings_round_trip_as_json() {
        let settings = MonitorSettings::Keyword {
            http: HttpSettings {
                url: "https://example.com/health".into(),
                method: "GET".into(),
                headers: vec![("X-Probe".into(), "rebound".into())],
                body: String::new(),
                expected_status: StatusRanges::default(),
                timeout_ms: DEFAULT_TIMEOUT_MS,
                follow_redirects: true,
                verify_tls: true,
                max_response_ms: Some(800),
            },
            keyword: KeywordRule {
                pattern: "ok".into(),
                regex: false,
                case_sensitive: false,
                must_be_present: true,
            },
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(json.contains("\"kind\":\"keyword\""), "{json}");
        assert_eq!(serde_json::from_str::<MonitorSettings>(&json).unwrap(), settings);
        assert_eq!(settings.kind(), MonitorKind::Keyword);
    }
}
