//! The OpenAPI document, generated from the handlers' annotations and the
//! types they exchange.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::{config, connections, monitors, reactions};
use crate::api::Endpoint;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rebound API",
        description = "Monitors, reactions, Heroku connections, executions and configuration files of one team. \
            Authenticate with `Authorization: Bearer <token>`; a token acts for its team with its role. \
            Every error has the body `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    paths(
        monitors::list, monitors::create, monitors::get, monitors::update, monitors::delete,
        monitors::pause, monitors::resume, monitors::check_now, monitors::checks, monitors::state_changes,
        reactions::list, reactions::create, reactions::get, reactions::update, reactions::delete,
        reactions::enable, reactions::disable, reactions::preview,
        reactions::executions, reactions::execution,
        connections::list, connections::create, connections::delete, connections::apps, connections::app,
        config::export, config::import,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &ErrorResponses),
    security(("bearer" = [])),
    tags(
        (name = "Monitors", description = "Checks and their confirmed state"),
        (name = "Reactions", description = "Heroku steps taken when a monitor turns Healthy or Failed"),
        (name = "Executions", description = "The record of every reaction trigger"),
        (name = "Connections", description = "Heroku accounts and their apps"),
        (name = "Configuration", description = "Monitors and reactions as one file"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the `security` requirement names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("rbd_…").build(),
            ),
        );
    }
}

/// Adds the error statuses every operation may return, all with
/// [`ErrorBody`], in one place rather than on every handler.
struct ErrorResponses;

const ERRORS: [(&str, &str); 8] = [
    ("400", "The request is malformed"),
    ("401", "The token is missing, unknown, expired or revoked"),
    ("403", "The token's role does not allow this action"),
    ("404", "No such object in the token's team"),
    ("409", "The request conflicts with the current state, e.g. a name in use"),
    ("422", "A field is invalid; `field` names it"),
    ("429", "The token's rate limit is reached; see Retry-After"),
    ("502", "Heroku refused or failed the call"),
];

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
        .into_iter()
        .filter_map(Option::as_mut)
        .collect()
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                for (status, description) in ERRORS {
                    let response = ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                    "ErrorBody",
                                ))))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert(RefOr::T(response));
                }
            }
        }
    }
}

/// Builds the document served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Lists every operation of the document, in path order, for the
/// reference page.
pub fn endpoints() -> Vec<Endpoint> {
    let mut document = document();
    let mut endpoints = Vec::new();
    for (path, item) in document.paths.paths.iter_mut() {
        let methods = [
            ("GET", item.get.as_ref()),
            ("POST", item.post.as_ref()),
            ("PUT", item.put.as_ref()),
            ("DELETE", item.delete.as_ref()),
        ];
        for (method, operation) in methods {
            let Some(operation) = operation else { continue };
            endpoints.push(Endpoint {
                method: method.to_string(),
                path: path.clone(),
                summary: operation.summary.clone().unwrap_or_default(),
                tag: operation
                    .tags
                    .as_ref()
                    .and_then(|tags| tags.first().cloned())
                    .unwrap_or_default(),
            });
        }
    }
    endpoints
}
