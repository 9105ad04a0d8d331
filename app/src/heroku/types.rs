//! Platform API objects as Rebound reads them, shared by the server and the
//! pages. Fields follow the current schema (<https://devcenter.heroku.com/articles/platform-api-reference>);
//! the ones Rebound does not use are left out, and fields that older or
//! other generations of apps may omit are optional or default.

use serde::{Deserialize, Serialize};

/// `{ "id": ..., "name": ... }` as many objects reference one another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NamedRef {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

/// The account behind a token (`GET /account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Owner {
    #[serde(default)]
    pub id: Option<String>,
    pub email: String,
}

/// A Private or Shield Space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Space {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub shield: bool,
}

/// An app (`GET /apps`, `GET /apps/{app}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct App {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub region: Option<NamedRef>,
    #[serde(default)]
    pub team: Option<NamedRef>,
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub space: Option<Space>,
    /// `cedar` or `fir`; Fir apps have other sizes and limits.
    #[serde(default)]
    pub generation: Option<NamedRef>,
    #[serde(default)]
    pub stack: Option<NamedRef>,
    #[serde(default)]
    pub maintenance: bool,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub released_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Quantity and size of one process type (`GET /apps/{app}/formation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Formation {
    pub id: String,
    #[serde(rename = "type")]
    pub process_type: String,
    pub quantity: u32,
    /// Deprecated in the schema in favour of `dyno_size`, still sent.
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub dyno_size: Option<NamedRef>,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Formation {
    /// The size name, from `dyno_size` when present, else the older `size`.
    pub fn size_name(&self) -> &str {
        self.dyno_size.as_ref().map_or(self.size.as_str(), |size| size.name.as_str())
    }
}

/// One change in `PATCH /apps/{app}/formation`; unset fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationUpdate {
    #[serde(rename = "type")]
    pub process_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// The release a dyno runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReleaseRef {
    pub id: String,
    pub version: i64,
}

/// A running or starting dyno (`GET /apps/{app}/dynos`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Dyno {
    pub id: String,
    /// `web.1`, or `run.1234` for one-off dynos.
    pub name: String,
    #[serde(rename = "type")]
    pub process_type: String,
    /// `crashed`, `down`, `idle`, `starting` or `up`.
    pub state: String,
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub release: Option<ReleaseRef>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Parameters of `POST /apps/{app}/dynos` for a detached one-off dyno.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneOffDyno {
    /// Sent to Heroku exactly as given.
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Seconds until Heroku stops the dyno; at most 86,400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReleaseUser {
    #[serde(default)]
    pub id: Option<String>,
    pub email: String,
}

/// A release (`GET /apps/{app}/releases`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Release {
    pub id: String,
    pub version: i64,
    /// `pending`, `succeeded`, `failed` or `expired`.
    pub status: String,
    #[serde(default)]
    pub description: String,
    /// The release the app runs now.
    #[serde(default)]
    pub current: bool,
    /// Added in November 2024; absent on older responses.
    #[serde(default)]
    pub eligible_for_rollback: Option<bool>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub user: Option<ReleaseUser>,
}

impl Release {
    /// Whether the release may be a rollback target: it succeeded and
    /// Heroku does not mark it ineligible.
    pub fn can_roll_back_to(&self) -> bool {
        self.status == "succeeded" && self.eligible_for_rollback != Some(false)
    }
}

/// A dyno size an app may use (`GET /apps/{app}/available-dyno-sizes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynoSizeInfo {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// Minimum vCPUs.
    #[serde(default)]
    pub compute: Option<f64>,
    /// Memory in GB.
    #[serde(default)]
    pub memory: Option<f64>,
    #[serde(default)]
    pub dedicated: bool,
    #[serde(default)]
    pub private_space_only: bool,
    #[serde(default)]
    pub precise_dyno_units: Option<f64>,
}

/// An OAuth authorization (`GET /oauth/authorizations/~`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub id: String,
    #[serde(default)]
    pub scope: Vec<String>,
}

/// `GET /account/rate-limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub remaining: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formation_reads_schema_example() {
        let json = r#"{
            "app": {"name": "example", "id": "01234567-89ab-cdef-0123-456789abcdef"},
            "command": "bundle exec rails server -p $PORT",
            "created_at": "2012-01-01T12:00:00Z",
            "dyno_size": {"id": "01234567-89ab-cdef-0123-456789abcdef", "name": "Standard-1X"},
            "id": "01234567-89ab-cdef-0123-456789abcdef",
            "quantity": 1,
            "size": "standard-1X",
            "type": "web",
            "updated_at": "2012-01-01T12:00:00Z"
        }"#;
        let formation: Formation = serde_json::from_str(json).unwrap();
        assert_eq!(formation.process_type, "web");
        assert_eq!(formation.size_name(), "Standard-1X");
    }

    #[test]
    fn release_eligibility() {
        let release = |status: &str, eligible: Option<bool>| Release {
            id: "r".into(),
            version: 1,
            status: status.into(),
            description: String::new(),
            current: false,
            eligible_for_rollback: eligible,
            created_at: None,
            user: None,
        };
        assert!(release("succeeded", Some(true)).can_roll_back_to());
        assert!(release("succeeded", None).can_roll_back_to());
        assert!(!release("succeeded", Some(false)).can_roll_back_to());
        assert!(!release("failed", Some(true)).can_roll_back_to());
        assert!(!release("pending", None).can_roll_back_to());
    }

    #[test]
    fn formation_update_omits_unset_fields() {
        let update = FormationUpdate { process_type: "web".into(), quantity: Some(3), size: None };
        assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"type":"web","quantity":3}"#);
    }
}
