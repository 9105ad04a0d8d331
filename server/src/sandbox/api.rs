//! Platform API routes of the sandbox. Paths, bodies and statuses follow
//! <https://devcenter.heroku.com/articles/platform-api-reference>: singular
//! `formation` for scaling, plural `formations` for restarting a process
//! type, 201 for created dynos and releases, 202 for restarts.

use app::heroku::sizes::{ALL_SIZES, Tier};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::range::{Key, Row, paginate};
use super::world::{
    self, ApiError, apply_changes, dyno_json, dyno_size_json, find_dyno, find_release,
    formation_json, parse_change, release_json,
};
use super::{Reply, Sandbox};

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/account", get(account))
        .route("/account/rate-limits", get(rate_limits))
        .route("/apps", get(apps))
        .route("/apps/{app}", get(app_info))
        .route("/apps/{app}/formation", get(formation_list).patch(formation_batch))
        .route("/apps/{app}/formation/{process_type}", get(formation_info).patch(formation_update))
        .route("/apps/{app}/formations/{process_type}", axum::routing::delete(restart_process_type))
        .route("/apps/{app}/available-dyno-sizes", get(available_sizes))
        .route("/dyno-sizes", get(all_sizes))
        .route("/apps/{app}/dynos", get(dyno_list).post(dyno_create).delete(restart_all))
        .route("/apps/{app}/dynos/{dyno}", get(dyno_info).delete(restart_one))
        .route("/apps/{app}/releases", get(release_list).post(rollback))
        .route("/apps/{app}/releases/{release}", get(release_info))
        .route("/oauth/authorizations/{id}", get(authorization_info).delete(authorization_revoke))
}

fn range_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("range").and_then(|value| value.to_str().ok())
}

/// Turns a page into a reply with `Content-Range` and `Next-Range`.
fn page_reply(page: super::range::Page, accept_ranges: &str) -> Reply {
    let mut reply = Reply::with_status(page.status, Value::Array(page.items));
    reply.headers.push(("accept-ranges", accept_ranges.to_string()));
    if let Some(content_range) = page.content_range {
        reply.headers.push(("content-range", content_range));
    }
    if let Some(next_range) = page.next_range {
        reply.headers.push(("next-range", next_range));
    }
    reply
}

fn body_object(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "Request body is not valid JSON.")
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Request body must be a JSON object.",
        ))
    }
}

async fn account(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    sandbox
        .api(&headers, false, |state, account, _| Ok(Reply::ok(state.world.account_json(account))))
}

/// Does not spend a call, as at Heroku.
async fn rate_limits(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    sandbox.api(&headers, true, |state, account, now| {
        let remaining = state.world.accounts[account].remaining(now).floor() as i64;
        Ok(Reply::ok(json!({ "remaining": remaining })))
    })
}

async fn apps(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let range = range_header(&headers).map(str::to_string);
    sandbox.api(&headers, false, |state, account, _| {
        let rows = state
            .world
            .apps_of(account)
            .map(|app| Row {
                keys: vec![
                    ("id", Key::Text(app.id.clone())),
                    ("name", Key::Text(app.name.clone())),
                    ("updated_at", Key::Int(app.created_at)),
                ],
                value: state.world.app_json(app),
            })
            .collect();
        let page = paginate(rows, range.as_deref(), &["id", "name", "updated_at"], "id")?;
        Ok(page_reply(page, "id, name, updated_at"))
    })
}

async fn app_info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    sandbox.api(&headers, false, |state, account, _| {
        let found = state.world.app_mut(account, &app)?;
        let name = found.name.clone();
        let app =
            state.world.apps.iter().find(|candidate| candidate.name == name).expect("just found");
        Ok(Reply::ok(state.world.app_json(app)))
    })
}

async fn formation_list(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    let range = range_header(&headers).map(str::to_string);
    sandbox.api(&headers, false, |state, account, _| {
        let app = state.world.app_mut(account, &app)?;
        let rows = app
            .formation
            .iter()
            .map(|(process_type, process)| Row {
                keys: vec![
                    ("id", Key::Text(process.id.clone())),
                    ("type", Key::Text(process_type.clone())),
                ],
                value: formation_json(app, process_type, process),
            })
            .collect();
        let page = paginate(rows, range.as_deref(), &["id", "type"], "id")?;
        Ok(page_reply(page, "id, type"))
    })
}

async fn formation_info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, process_type)): Path<(String, String)>,
) -> Response {
    sandbox.api(&headers, false, |state, account, _| {
        let app = state.world.app_mut(account, &app)?;
        let process = app.formation.get(&process_type).ok_or_else(|| {
            ApiError::not_found(
                "formation",
                format!("Couldn't find that process type ({process_type})."),
            )
        })?;
        Ok(Reply::ok(formation_json(app, &process_type, process)))
    })
}

async fn formation_update(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, process_type)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let body = body_object(&body)?;
        let change = parse_change(&process_type, &body)?;
        let app = state.world.app_mut(account, &app)?;
        apply_changes(app, &[change], now)?;
        let process = &app.formation[&process_type];
        Ok(Reply::ok(formation_json(app, &process_type, process)))
    })
}

async fn formation_batch(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let body = body_object(&body)?;
        let updates = body
            .get("updates")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid("Updates are required: send {\"updates\": [...]}."))?;
        let changes = updates
            .iter()
            .map(|update| {
                let process_type = update
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::invalid("Every update needs a type."))?;
                parse_change(process_type, update)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let app = state.world.app_mut(account, &app)?;
        let changed = apply_changes(app, &changes, now)?;
        let body = changed
            .iter()
            .map(|process_type| formation_json(app, process_type, &app.formation[process_type]))
            .collect();
        Ok(Reply::ok(Value::Array(body)))
    })
}

async fn restart_process_type(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, process_type)): Path<(String, String)>,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let app = state.world.app_mut(account, &app)?;
        world::restart_all(app, Some(&process_type), now)?;
        Ok(Reply::with_status(StatusCode::ACCEPTED, json!({})))
    })
}

async fn available_sizes(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    sandbox.api(&headers, false, |state, account, _| {
        state.world.app_mut(account, &app)?;
        let sizes = ALL_SIZES
            .iter()
            .filter(|size| size.tier() != Tier::Private)
            .map(|size| dyno_size_json(*size))
            .collect();
        Ok(Reply::ok(Value::Array(sizes)))
    })
}

async fn all_sizes(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    sandbox.api(&headers, false, |_, _, _| {
        Ok(Reply::ok(Value::Array(ALL_SIZES.iter().map(|size| dyno_size_json(*size)).collect())))
    })
}

async fn dyno_list(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    let range = range_header(&headers).map(str::to_string);
    sandbox.api(&headers, false, |state, account, now| {
        let startup = state.world.options.dyno_startup_ms;
        let app = state.world.app_mut(account, &app)?;
        world::prune(app, now);
        let rows = app
            .dynos
            .iter()
            .map(|dyno| Row {
                keys: vec![
                    ("id", Key::Text(dyno.id.clone())),
                    ("name", Key::Text(dyno.name.clone())),
                ],
                value: dyno_json(app, dyno, now, startup),
            })
            .collect();
        let page = paginate(rows, range.as_deref(), &["id", "name"], "id")?;
        Ok(page_reply(page, "id, name"))
    })
}

async fn dyno_info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, dyno)): Path<(String, String)>,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let startup = state.world.options.dyno_startup_ms;
        let app = state.world.app_mut(account, &app)?;
        world::prune(app, now);
        let dyno = find_dyno(app, &dyno)?;
        Ok(Reply::ok(dyno_json(app, dyno, now, startup)))
    })
}

async fn dyno_create(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let body = body_object(&body)?;
        let options = state.world.options.clone();
        let app = state.world.app_mut(account, &app)?;
        world::prune(app, now);
        let index = world::start_one_off(app, &body, now, &options)?;
        let dyno = dyno_json(app, &app.dynos[index], now, options.dyno_startup_ms);
        Ok(Reply::with_status(StatusCode::CREATED, dyno))
    })
}

async fn restart_one(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, dyno)): Path<(String, String)>,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let app = state.world.app_mut(account, &app)?;
        world::prune(app, now);
        world::restart_dyno(app, &dyno, now)?;
        Ok(Reply::with_status(StatusCode::ACCEPTED, json!({})))
    })
}

async fn restart_all(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let app = state.world.app_mut(account, &app)?;
        world::restart_all(app, None, now)?;
        Ok(Reply::with_status(StatusCode::ACCEPTED, json!({})))
    })
}

async fn release_list(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    let range = range_header(&headers).map(str::to_string);
    sandbox.api(&headers, false, |state, account, _| {
        let owner_email = state.world.accounts[account].email.clone();
        let app = state.world.app_mut(account, &app)?;
        let rows = app
            .releases
            .iter()
            .map(|release| Row {
                keys: vec![
                    ("id", Key::Text(release.id.clone())),
                    ("version", Key::Int(release.version)),
                ],
                value: release_json(app, release, &owner_email),
            })
            .collect();
        let page = paginate(rows, range.as_deref(), &["id", "version"], "id")?;
        Ok(page_reply(page, "id, version"))
    })
}

async fn release_info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((app, release)): Path<(String, String)>,
) -> Response {
    sandbox.api(&headers, false, |state, account, _| {
        let owner_email = state.world.accounts[account].email.clone();
        let app = state.world.app_mut(account, &app)?;
        let release = find_release(app, &release)?;
        Ok(Reply::ok(release_json(app, release, &owner_email)))
    })
}

async fn rollback(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    sandbox.api(&headers, false, |state, account, now| {
        let body = body_object(&body)?;
        let owner_email = state.world.accounts[account].email.clone();
        let app = state.world.app_mut(account, &app)?;
        let index = world::roll_back(app, &body, now)?;
        Ok(Reply::with_status(
            StatusCode::CREATED,
            release_json(app, &app.releases[index], &owner_email),
        ))
    })
}

fn authorization_json(authorization: &super::auth::Authorization) -> Value {
    json!({
        "id": authorization.id,
        "scope": authorization.scope,
        "client": authorization.client_id.as_ref().map(|id| json!({ "id": id, "name": id })),
    })
}

/// `GET /oauth/authorizations/~` returns the authorization of the token in use.
async fn authorization_info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    sandbox.api(&headers, false, |state, account, _| {
        let found = if id == "~" {
            state.auth.authorization_of(&token)
        } else {
            state.auth.authorizations.iter().find(|authorization| authorization.id == id)
        };
        let authorization =
            found.filter(|authorization| authorization.account == account).ok_or_else(|| {
                ApiError::not_found("oauth_authorization", "Couldn't find that authorization.")
            })?;
        Ok(Reply::ok(authorization_json(authorization)))
    })
}

/// Revokes an authorization with its access and refresh tokens.
async fn authorization_revoke(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    sandbox.api(&headers, false, |state, account, _| {
        let authorization = state.auth.revoke(account, &id).ok_or_else(|| {
            ApiError::not_found("oauth_authorization", "Couldn't find that authorization.")
        })?;
        Ok(Reply::ok(authorization_json(authorization)))
    })
}
