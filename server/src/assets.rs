//! The browser bundle (`/pkg/rebound.{js,wasm,css}`) and `public/` files,
//! embedded in the binary at compile time; other unknown paths get the app's
//! "not found" page.

use app::shell;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use rust_embed::RustEmbed;

/// `target/site` as scripts/build.sh leaves it. Rebuilt into the binary when
/// it changes (see build.rs).
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site"]
struct Site;

pub async fn serve_site_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if let Some(file) = Site::get(path) {
        let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
        let unchanged = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|value| value.as_bytes() == etag.as_bytes());
        let mut response = if unchanged {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Response::new(Body::from(file.data.into_owned()))
        };
        let headers = response.headers_mut();
        if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
            headers.insert(header::CONTENT_TYPE, mime);
        }
        // File names carry no content hash, so browsers revalidate each time;
        // the ETag keeps that to a 304.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        return response;
    }
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(state.clone()),
        move || shell(options.clone()),
    );
    render(request).await.into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
