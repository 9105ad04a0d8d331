//! A monitor as the REST API and configuration files write it: typed fields
//! that convert to and from the form the pages submit, so one validation
//! ([`super::ssr::validate`]) serves the browser, the API and imports.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::settings::{MonitorForm, MonitorKind};

/// A monitor's settings. Fields that do not apply to its kind are left out;
/// omitted fields take the defaults of the monitor form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Unique in the team; imports match monitors by it.
    pub name: String,
    pub kind: MonitorKind,
    /// Seconds between checks, 10 to 3600 (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u32>,
    /// Consecutive failing checks that confirm Failed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
    /// Consecutive passing checks that confirm Healthy (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_after: Option<u32>,
    /// HTTP and keyword monitors: the absolute http(s) URL to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// HTTP method (default GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Extra request headers, each `Name: value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Status codes that pass, e.g. `200-399` (the default) or `200,204`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<String>,
    /// Seconds one check may take, at most the interval and 60 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    /// Follow up to 10 redirects (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// Verify TLS certificates (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_tls: Option<bool>,
    /// A slower response counts as a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_ms: Option<u32>,
    /// Keyword monitors: the text or regular expression to look for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// `present` (the default) or `absent`: when the check passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword_regex: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    /// TCP monitors: host name or IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Heartbeat monitors: seconds of grace after each interval (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_secs: Option<u32>,
}

fn text(value: &Option<impl ToString>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Writes a checkbox as the form sends it; `default` applies when unset.
fn checkbox(value: Option<bool>, default: bool) -> Option<String> {
    value.unwrap_or(default).then(|| "on".to_string())
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

impl MonitorSpec {
    /// Builds the form the pages would submit for these settings.
    pub fn to_form(&self) -> MonitorForm {
        MonitorForm {
            name: self.name.clone(),
            kind: self.kind.as_str().to_string(),
            interval_secs: text(&self.interval_secs),
            fail_after: text(&self.fail_after),
            recover_after: text(&self.recover_after),
            url: text(&self.url),
            method: text(&self.method),
            headers: self.headers.join("\n"),
            body: text(&self.body),
            expected_status: text(&self.expected_status),
            timeout_secs: text(&self.timeout_secs),
            follow_redirects: checkbox(self.follow_redirects, true),
            verify_tls: checkbox(self.verify_tls, true),
            max_response_ms: text(&self.max_response_ms),
            keyword: text(&self.keyword),
            keyword_mode: text(&self.keyword_mode),
            keyword_regex: checkbox(self.keyword_regex, false),
            case_sensitive: checkbox(self.case_sensitive, false),
            host: text(&self.host),
            port: text(&self.port),
            grace_secs: text(&self.grace_secs),
        }
    }

    /// Reads the settings from a stored monitor's form (see
    /// [`super::ssr::form_of`]), with every field of its kind written out.
    pub fn from_form(form: &MonitorForm, kind: MonitorKind) -> MonitorSpec {
        let number = |raw: &str| raw.trim().parse().ok();
        let http = matches!(kind, MonitorKind::Http | MonitorKind::Keyword);
        let keyword = kind == MonitorKind::Keyword;
        let tcp = kind == MonitorKind::Tcp;
        MonitorSpec {
            name: form.name.clone(),
            kind,
            interval_secs: number(&form.interval_secs),
            fail_after: number(&form.fail_after),
            recover_after: number(&form.recover_after),
            url: http.then(|| form.url.clone()),
            method: http.then(|| form.method.clone()),
            headers: if http {
                form.headers
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(String::from)
                    .collect()
            } else {
                Vec::new()
            },
            body: if http { non_empty(&form.body) } else { None },
            expected_status: http.then(|| form.expected_status.clone()),
            timeout_secs: if http || tcp { number(&form.timeout_secs) } else { None },
            follow_redirects: http.then_some(form.follow_redirects.is_some()),
            verify_tls: http.then_some(form.verify_tls.is_some()),
            max_response_ms: if http { number(&form.max_response_ms) } else { None },
            keyword: keyword.then(|| form.keyword.clone()),
            keyword_mode: keyword.then(|| form.keyword_mode.clone()),
            keyword_regex: keyword.then_some(form.keyword_regex.is_some()),
            case_sensitive: keyword.then_some(form.case_sensitive.is_some()),
            host: tcp.then(|| form.host.clone()),
            port: if tcp { number(&form.port) } else { None },
            grace_secs: if kind == MonitorKind::Heartbeat {
                number(&form.grace_secs)
            } else {
                None
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitors::probe::ProbeOptions;
    use crate::monitors::ssr::{form_of, unsaved_monitor, validate};

    fn spec(kind: MonitorKind) -> MonitorSpec {
        MonitorSpec {
            name: "API".into(),
            kind,
            interval_secs: Some(60),
            fail_after: Some(2),
            recover_after: None,
            url: Some("https://api.example.com/health".into()),
            method: None,
            headers: vec!["X-Probe: rebound".into(), "Accept: text/plain".into()],
            body: None,
            expected_status: Some("200-299,404".into()),
            timeout_secs: Some(5),
            follow_redirects: None,
            verify_tls: Some(false),
            max_response_ms: Some(900),
            keyword: Some("ok".into()),
            keyword_mode: Some("absent".into()),
            keyword_regex: Some(true),
            case_sensitive: None,
            host: Some("db.example.com".into()),
            port: Some(5432),
            grace_secs: Some(30),
        }
    }

    #[test]
    fn spec_survives_store_and_export() {
        for kind in MonitorKind::ALL {
            let draft = validate(&spec(kind).to_form(), &ProbeOptions::default())
                .unwrap_or_else(|error| panic!("{kind:?}: {error}"));
            let monitor = unsaved_monitor(&draft);
            let exported = MonitorSpec::from_form(&form_of(&monitor), kind);
            let again = validate(&exported.to_form(), &ProbeOptions::default()).unwrap();
            assert_eq!(again, draft, "{kind:?}");
            assert_eq!(MonitorSpec::from_form(&form_of(&monitor), kind), exported, "{kind:?}");
        }
    }

    #[test]
    fn unset_checkboxes_default_to_safe_values() {
        let mut spec = spec(MonitorKind::Http);
        spec.follow_redirects = None;
        spec.verify_tls = None;
        let draft = validate(&spec.to_form(), &ProbeOptions::default()).unwrap();
        let crate::monitors::MonitorSettings::Http(http) = draft.settings else {
            panic!("an HTTP monitor")
        };
        assert!(http.follow_redirects);
        assert!(http.verify_tls);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json = r#"{"name": "a", "kind": "heartbeat", "grace": 5}"#;
        let error = serde_json::from_str::<MonitorSpec>(json).unwrap_err().to_string();
        assert!(error.contains("unknown field `grace`"), "{error}");
    }
}
