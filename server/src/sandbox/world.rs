//! The sandbox's in-memory state and the Heroku rules it enforces: per
//! account a rate-limit bucket and apps; per app a formation, dynos and
//! releases. Every operation runs under one lock and returns either a JSON
//! value or an [`ApiError`] shaped like Heroku's error bodies.

use std::collections::{BTreeMap, HashMap};

use app::heroku::sizes::{
    DynoSize, FormationRuleError, ProcessLine, Tier, check_formation, parse_current_size,
};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::clock::{iso8601, new_id};

/// A Heroku-style error: status plus `{ "id", "message", ... }`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
    /// Extra keys such as `resource` or `limit`.
    pub extra: serde_json::Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, id, message: message.into(), extra: serde_json::Map::new() }
    }

    pub fn not_found(resource: &str, message: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(StatusCode::NOT_FOUND, "not_found", message);
        error.extra.insert("resource".into(), resource.into());
        error
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message)
    }

    pub fn body(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("id".into(), self.id.into());
        body.insert("message".into(), self.message.clone().into());
        Value::Object(body)
    }

    fn from_rule(error: FormationRuleError) -> ApiError {
        let mut api = match error {
            FormationRuleError::MixedTiers { .. }
            | FormationRuleError::PrivateOutsideSpace { .. }
            | FormationRuleError::PublicInsideSpace { .. } => ApiError::invalid(error.to_string()),
            _ => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "cannot_run_above_limit",
                error.to_string(),
            ),
        };
        if let Some(limit) = error.limit() {
            api.extra.insert("limit".into(), limit.into());
            api.extra.insert(
                "url".into(),
                "https://devcenter.heroku.com/articles/dyno-scaling-and-process-limits".into(),
            );
        }
        api
    }
}

/// Timing knobs, shortened by tests.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Lifetime of OAuth access tokens, 8 hours at Heroku.
    pub access_token_lifetime_secs: i64,
    /// A new or restarted dyno reports `starting` this long, then `up`.
    pub dyno_startup_ms: i64,
    /// How long a one-off dyno runs unless its command is `sleep N` or its
    /// time to live is shorter.
    pub one_off_run_ms: i64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            access_token_lifetime_secs: 8 * 3600,
            dyno_startup_ms: 2_000,
            one_off_run_ms: 30_000,
        }
    }
}

pub struct Account {
    pub id: String,
    pub email: String,
    /// Tokens left in the rate-limit bucket, as of `bucket_at`.
    pub bucket: f64,
    pub bucket_at: i64,
}

/// Token bucket of an account: 4,500 calls refilled at 75 per minute
/// (<https://devcenter.heroku.com/articles/platform-api-reference#rate-limits>).
pub const BUCKET_SIZE: f64 = 4_500.0;
const REFILL_PER_MS: f64 = 75.0 / 60_000.0;

impl Account {
    pub fn remaining(&mut self, now: i64) -> f64 {
        let refilled = (now - self.bucket_at).max(0) as f64 * REFILL_PER_MS;
        self.bucket = (self.bucket + refilled).min(BUCKET_SIZE);
        self.bucket_at = now;
        self.bucket
    }
}

pub struct Process {
    pub id: String,
    pub quantity: u32,
    pub size: DynoSize,
    pub command: String,
    pub updated_at: i64,
}

pub struct SimDyno {
    pub id: String,
    pub name: String,
    pub process_type: String,
    pub size: DynoSize,
    pub command: String,
    pub release_version: i64,
    pub created_at: i64,
    /// Last start or restart; the dyno is `starting` for a while after it.
    pub started_at: i64,
    /// One-off dynos exit at this instant.
    pub ends_at: Option<i64>,
}

pub struct SimRelease {
    pub id: String,
    pub version: i64,
    pub status: &'static str,
    pub description: String,
    pub created_at: i64,
    pub eligible_for_rollback: bool,
}

pub struct SimApp {
    pub id: String,
    pub name: String,
    pub owner: usize,
    pub team: Option<String>,
    pub region: &'static str,
    pub created_at: i64,
    pub formation: BTreeMap<String, Process>,
    pub dynos: Vec<SimDyno>,
    pub releases: Vec<SimRelease>,
}

impl SimApp {
    /// Returns the release the app runs: the newest that succeeded.
    pub fn current_release(&self) -> Option<&SimRelease> {
        self.releases.iter().filter(|r| r.status == "succeeded").max_by_key(|r| r.version)
    }

    fn current_version(&self) -> i64 {
        self.current_release().map_or(0, |release| release.version)
    }

    fn lines(&self) -> Vec<ProcessLine> {
        self.formation
            .iter()
            .map(|(process_type, process)| ProcessLine {
                process_type: process_type.clone(),
                size: process.size,
                quantity: process.quantity,
            })
            .collect()
    }

    /// Returns the tier of the app's formation (Eco, Basic, or Professional).
    fn tier(&self) -> Tier {
        self.formation.values().next().map_or(Tier::Professional, |process| process.size.tier())
    }

    fn running_one_offs(&self) -> impl Iterator<Item = &SimDyno> {
        self.dynos.iter().filter(|dyno| dyno.ends_at.is_some())
    }

    /// Brings the formation dynos in line with the formation: `type.1` to
    /// `type.N` per process type. Dynos of a type whose size changed
    /// restart at the new size.
    fn reconcile(&mut self, now: i64) {
        let version = self.current_version();
        let formation = &self.formation;
        self.dynos.retain(|dyno| {
            dyno.ends_at.is_some()
                || formation.get(&dyno.process_type).is_some_and(|process| {
                    dyno_number(&dyno.name).is_some_and(|n| n <= process.quantity)
                })
        });
        for (process_type, process) in &self.formation {
            for number in 1..=process.quantity {
                let name = format!("{process_type}.{number}");
                match self.dynos.iter_mut().find(|dyno| dyno.name == name) {
                    Some(dyno) if dyno.size != process.size => {
                        dyno.size = process.size;
                        dyno.started_at = now;
                    }
                    Some(_) => {}
                    None => self.dynos.push(SimDyno {
                        id: new_id(),
                        name,
                        process_type: process_type.clone(),
                        size: process.size,
                        command: process.command.clone(),
                        release_version: version,
                        created_at: now,
                        started_at: now,
                        ends_at: None,
                    }),
                }
            }
        }
        self.dynos.sort_by_key(|dyno| (dyno.process_type.clone(), dyno_number(&dyno.name)));
    }

    fn restart(&mut self, process_type: Option<&str>, now: i64) {
        let version = self.current_version();
        for dyno in self.dynos.iter_mut().filter(|dyno| dyno.ends_at.is_none()) {
            if process_type.is_none_or(|wanted| dyno.process_type == wanted) {
                dyno.started_at = now;
                dyno.release_version = version;
            }
        }
    }

    fn prune_exited(&mut self, now: i64) {
        self.dynos.retain(|dyno| dyno.ends_at.is_none_or(|end| end > now));
    }
}

fn dyno_number(name: &str) -> Option<u32> {
    name.rsplit_once('.').and_then(|(_, number)| number.parse().ok())
}

/// Every account, app and credential of one sandbox.
pub struct World {
    pub options: SandboxOptions,
    pub accounts: Vec<Account>,
    pub apps: Vec<SimApp>,
    pub next_account: u64,
}

impl World {
    pub fn new(options: SandboxOptions) -> World {
        World { options, accounts: Vec::new(), apps: Vec::new(), next_account: 1 }
    }

    /// Finds an app of `account` by name or id; others' apps read as absent.
    pub fn app_mut(&mut self, account: usize, name_or_id: &str) -> Result<&mut SimApp, ApiError> {
        self.apps
            .iter_mut()
            .find(|app| app.owner == account && (app.name == name_or_id || app.id == name_or_id))
            .ok_or_else(|| ApiError::not_found("app", "Couldn't find that app."))
    }

    pub fn account_json(&self, account: usize) -> Value {
        let account = &self.accounts[account];
        json!({
            "id": account.id,
            "email": account.email,
            "name": "Sandbox User",
            "verified": true,
            "two_factor_authentication": false,
            "federated": false,
            "created_at": iso8601(0),
            "updated_at": iso8601(0),
        })
    }

    pub fn app_json(&self, app: &SimApp) -> Value {
        let owner = &self.accounts[app.owner];
        let released_at = app.current_release().map(|release| release.created_at);
        json!({
            "id": app.id,
            "name": app.name,
            "region": { "id": null, "name": app.region },
            "owner": { "id": owner.id, "email": owner.email },
            "team": app.team.as_ref().map(|team| json!({ "id": null, "name": team })),
            "organization": null,
            "space": null,
            "generation": { "id": null, "name": "cedar" },
            "stack": { "id": null, "name": "heroku-24" },
            "build_stack": { "id": null, "name": "heroku-24" },
            "maintenance": false,
            "internal_routing": false,
            "acm": false,
            "web_url": format!("https://{}.sandbox.example/", app.name),
            "git_url": format!("https://git.sandbox.example/{}.git", app.name),
            "created_at": iso8601(app.created_at),
            "released_at": released_at.map(iso8601),
            "updated_at": iso8601(app.created_at),
        })
    }

    pub fn apps_of(&self, account: usize) -> impl Iterator<Item = &SimApp> {
        self.apps.iter().filter(move |app| app.owner == account)
    }
}

pub fn formation_json(app: &SimApp, process_type: &str, process: &Process) -> Value {
    json!({
        "id": process.id,
        "app": { "id": app.id, "name": app.name },
        "type": process_type,
        "quantity": process.quantity,
        "size": process.size.display_name(),
        "dyno_size": { "id": null, "name": process.size.display_name() },
        "command": process.command,
        "created_at": iso8601(app.created_at),
        "updated_at": iso8601(process.updated_at),
    })
}

pub fn dyno_json(app: &SimApp, dyno: &SimDyno, now: i64, startup_ms: i64) -> Value {
    let state = if now < dyno.started_at + startup_ms { "starting" } else { "up" };
    let release = app.releases.iter().find(|release| release.version == dyno.release_version);
    json!({
        "id": dyno.id,
        "name": dyno.name,
        "type": dyno.process_type,
        "state": state,
        "size": dyno.size.display_name(),
        "command": dyno.command,
        "attach_url": null,
        "release": release.map(|release| json!({ "id": release.id, "version": release.version })),
        "app": { "id": app.id, "name": app.name },
        "created_at": iso8601(dyno.created_at),
        "updated_at": iso8601(dyno.started_at),
    })
}

pub fn release_json(app: &SimApp, release: &SimRelease, owner_email: &str) -> Value {
    let current = app.current_release().is_some_and(|current| current.id == release.id);
    json!({
        "id": release.id,
        "version": release.version,
        "status": release.status,
        "description": release.description,
        "current": current,
        "eligible_for_rollback": release.eligible_for_rollback,
        "app": { "id": app.id, "name": app.name },
        "user": { "id": null, "email": owner_email },
        "addon_plan_names": [],
        "output_stream_url": null,
        "created_at": iso8601(release.created_at),
        "updated_at": iso8601(release.created_at),
    })
}

pub fn dyno_size_json(size: DynoSize) -> Value {
    json!({
        "id": null,
        "name": size.display_name(),
        "architecture": "amd64",
        "compute": null,
        "memory": f64::from(size.memory_mb()) / 1024.0,
        "dedicated": size.is_dedicated(),
        "private_space_only": size.tier() == Tier::Private,
        "precise_dyno_units": null,
        "generation": { "id": null, "name": "cedar" },
        "cost": null,
    })
}

/// A parsed formation change for one process type.
pub struct ProcessChange {
    pub process_type: String,
    pub quantity: Option<u32>,
    pub size: Option<DynoSize>,
}

/// Reads `quantity`, `size` and `dyno_size.name` from a formation update.
pub fn parse_change(process_type: &str, body: &Value) -> Result<ProcessChange, ApiError> {
    let quantity = match body.get("quantity") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|quantity| u32::try_from(quantity).ok())
                .ok_or_else(|| ApiError::invalid("Quantity must be a non-negative integer."))?,
        ),
    };
    let size_name = body
        .get("dyno_size")
        .and_then(|size| size.get("name"))
        .or_else(|| body.get("size"))
        .filter(|value| !value.is_null());
    let size = match size_name {
        None => None,
        Some(value) => {
            let name = value.as_str().ok_or_else(|| ApiError::invalid("Size must be a string."))?;
            Some(parse_current_size(name).map_err(|_| {
                ApiError::invalid(format!(
                    "No such size as {name}. Available dyno sizes are Eco, Basic, Standard-1X, Standard-2X, Performance-M, Performance-L, Performance-L-RAM, Performance-XL and Performance-2XL."
                ))
            })?)
        }
    };
    Ok(ProcessChange { process_type: process_type.to_string(), quantity, size })
}

/// Applies formation changes as one unit: all of them or, when the result
/// breaks a rule, none.
pub fn apply_changes(
    app: &mut SimApp,
    changes: &[ProcessChange],
    now: i64,
) -> Result<Vec<String>, ApiError> {
    let mut lines = app.lines();
    for change in changes {
        let line = lines
            .iter_mut()
            .find(|line| line.process_type == change.process_type)
            .ok_or_else(|| {
                ApiError::not_found(
                    "formation",
                    format!("Couldn't find that process type ({}).", change.process_type),
                )
            })?;
        if let Some(quantity) = change.quantity {
            line.quantity = quantity;
        }
        if let Some(size) = change.size {
            line.size = size;
        }
    }
    let eco_one_offs = app.running_one_offs().filter(|dyno| dyno.size == DynoSize::Eco).count();
    check_formation(&lines, false, eco_one_offs as u32).map_err(ApiError::from_rule)?;
    for line in lines {
        let process =
            app.formation.get_mut(&line.process_type).expect("lines come from the formation");
        if process.quantity != line.quantity || process.size != line.size {
            process.quantity = line.quantity;
            process.size = line.size;
            process.updated_at = now;
        }
    }
    app.reconcile(now);
    Ok(changes.iter().map(|change| change.process_type.clone()).collect())
}

/// Starts a detached one-off dyno after checking Heroku's limits.
pub fn start_one_off(
    app: &mut SimApp,
    body: &Value,
    now: i64,
    options: &SandboxOptions,
) -> Result<usize, ApiError> {
    let command = body
        .get("command")
        .and_then(Value::as_str)
        .filter(|command| !command.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("Command is required."))?
        .to_string();
    let time_to_live = match body.get("time_to_live") {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(value.as_i64().filter(|ttl| (1..=86_400).contains(ttl)).ok_or_else(|| {
                ApiError::invalid("Time to live must be between 1 and 86400 seconds.")
            })?)
        }
    };
    let size = one_off_size(app, body)?;
    let run_ms = command
        .strip_prefix("sleep ")
        .and_then(|seconds| seconds.trim().parse::<i64>().ok())
        .map_or(options.one_off_run_ms, |seconds| seconds * 1000);
    let run_ms = time_to_live.map_or(run_ms, |ttl| run_ms.min(ttl * 1000));

    let mut number = (now % 9000 + 1000) as u32;
    while app.dynos.iter().any(|dyno| dyno.name == format!("run.{number}")) {
        number = number % 9000 + 1001;
    }
    let version = app.current_version();
    app.dynos.push(SimDyno {
        id: new_id(),
        name: format!("run.{number}"),
        process_type: "run".into(),
        size,
        command,
        release_version: version,
        created_at: now,
        started_at: now,
        ends_at: Some(now + options.dyno_startup_ms + run_ms),
    });
    Ok(app.dynos.len() - 1)
}

/// Returns the size of a new one-off dyno (the app's tier by default) after
/// checking it against the app's tier and the concurrent one-off limits.
fn one_off_size(app: &SimApp, body: &Value) -> Result<DynoSize, ApiError> {
    let app_tier = app.tier();
    let size = match body.get("size").and_then(Value::as_str) {
        Some(name) => parse_change("run", &json!({ "size": name }))?.size.expect("size was given"),
        None => match app_tier {
            Tier::Eco => DynoSize::Eco,
            Tier::Basic => DynoSize::Basic,
            _ => DynoSize::Standard1X,
        },
    };
    if size.tier() != app_tier {
        let formation_size = app.formation.values().next().map_or(size, |process| process.size);
        return Err(ApiError::from_rule(FormationRuleError::MixedTiers {
            first: formation_size.min(size),
            second: formation_size.max(size),
        }));
    }
    let same_limit = app.running_one_offs().filter(|dyno| dyno.size.tier() == size.tier()).count();
    let limit = size.max_concurrent_one_off();
    if same_limit as u32 >= limit {
        return Err(ApiError::from_rule(FormationRuleError::AbovePerTypeLimit {
            process_type: "run".into(),
            size,
            limit,
        }));
    }
    if size == DynoSize::Eco {
        let eco_one_offs = app.running_one_offs().filter(|dyno| dyno.size == DynoSize::Eco).count();
        check_formation(&app.lines(), false, eco_one_offs as u32 + 1)
            .map_err(ApiError::from_rule)?;
    }
    Ok(size)
}

/// Restarts one dyno by name or id; a one-off dyno stops instead.
pub fn restart_dyno(app: &mut SimApp, name_or_id: &str, now: i64) -> Result<(), ApiError> {
    let index = app
        .dynos
        .iter()
        .position(|dyno| dyno.name == name_or_id || dyno.id == name_or_id)
        .ok_or_else(|| {
            ApiError::not_found("dyno", format!("Couldn't find that dyno ({name_or_id})."))
        })?;
    if app.dynos[index].ends_at.is_some() {
        app.dynos.remove(index);
    } else {
        app.dynos[index].started_at = now;
        app.dynos[index].release_version = app.current_version();
    }
    Ok(())
}

pub fn restart_all(app: &mut SimApp, process_type: Option<&str>, now: i64) -> Result<(), ApiError> {
    if let Some(wanted) = process_type
        && !app.formation.contains_key(wanted)
    {
        return Err(ApiError::not_found(
            "formation",
            format!("Couldn't find that process type ({wanted})."),
        ));
    }
    app.restart(process_type, now);
    Ok(())
}

/// Creates a release that rolls back to `release_id` ("Rollback to vN").
pub fn roll_back(app: &mut SimApp, body: &Value, now: i64) -> Result<usize, ApiError> {
    let target_id = body.get("release").and_then(Value::as_str).ok_or_else(|| {
        ApiError::invalid("Release is required: send {\"release\": \"<release id>\"}.")
    })?;
    let target = app
        .releases
        .iter()
        .find(|release| release.id == target_id)
        .ok_or_else(|| ApiError::not_found("release", "Couldn't find that release."))?;
    if target.status != "succeeded" || !target.eligible_for_rollback {
        return Err(ApiError::invalid(format!(
            "Release v{} cannot be rolled back to: it is {} and {}eligible for rollback.",
            target.version,
            target.status,
            if target.eligible_for_rollback { "" } else { "not " }
        )));
    }
    let description = format!("Rollback to v{}", target.version);
    let version = app.releases.iter().map(|release| release.version).max().unwrap_or(0) + 1;
    app.releases.push(SimRelease {
        id: new_id(),
        version,
        status: "succeeded",
        description,
        created_at: now,
        eligible_for_rollback: true,
    });
    app.restart(None, now);
    Ok(app.releases.len() - 1)
}

/// Looks up a release by id or by version number (no `v`).
pub fn find_release<'a>(app: &'a SimApp, id_or_version: &str) -> Result<&'a SimRelease, ApiError> {
    let version: Option<i64> = id_or_version.parse().ok();
    app.releases
        .iter()
        .find(|release| release.id == id_or_version || Some(release.version) == version)
        .ok_or_else(|| ApiError::not_found("release", "Couldn't find that release."))
}

pub fn find_dyno<'a>(app: &'a SimApp, name_or_id: &str) -> Result<&'a SimDyno, ApiError> {
    app.dynos.iter().find(|dyno| dyno.name == name_or_id || dyno.id == name_or_id).ok_or_else(
        || ApiError::not_found("dyno", format!("Couldn't find that dyno ({name_or_id}).")),
    )
}

/// Removes one-off dynos that exited.
pub fn prune(app: &mut SimApp, now: i64) {
    app.prune_exited(now);
}

/// Adds an app with the given formation and releases (oldest first), its
/// dynos already up.
pub fn add_app(
    world: &mut World,
    owner: usize,
    name: String,
    team: Option<String>,
    processes: &[(&str, u32, DynoSize, &str)],
    releases: &[(&'static str, &str)],
    now: i64,
) {
    let formation = processes
        .iter()
        .map(|(process_type, quantity, size, command)| {
            let process = Process {
                id: new_id(),
                quantity: *quantity,
                size: *size,
                command: command.to_string(),
                updated_at: now,
            };
            (process_type.to_string(), process)
        })
        .collect();
    let count = releases.len() as i64;
    let releases = releases
        .iter()
        .enumerate()
        .map(|(index, (status, description))| SimRelease {
            id: new_id(),
            version: index as i64 + 1,
            status,
            description: description.to_string(),
            // One release an hour up to now.
            created_at: now - (count - index as i64) * 3_600_000,
            eligible_for_rollback: true,
        })
        .collect();
    let mut app = SimApp {
        id: new_id(),
        name,
        owner,
        team,
        region: "us",
        created_at: now - (count + 1) * 3_600_000,
        formation,
        dynos: Vec::new(),
        releases,
    };
    // Seeded dynos are already up.
    app.reconcile(now - 60_000);
    world.apps.push(app);
}

/// Counts calls per "METHOD /path" and extra counters such as token grants.
#[derive(Default)]
pub struct CallLog {
    pub counts: HashMap<String, u64>,
    /// Wall-clock time (epoch ms) of the first call of each key, for
    /// measuring how soon Rebound reacts.
    pub first_at: HashMap<String, i64>,
}

impl CallLog {
    pub fn record(&mut self, key: String) {
        self.first_at.entry(key.clone()).or_insert_with(app::time::now_ms);
        *self.counts.entry(key).or_default() += 1;
    }
}
