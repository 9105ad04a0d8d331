//! The browser bundle (`/pkg/rebound.{js,wasm,css}`) and `public/` files,
//! embedded in the binary at compile time; other unknown paths get the app's
//! "not found" page.

use app::shell;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use rust_embed::{EmbeddedFile, RustEmbed};

/// `target/site` as scripts/build.sh leaves it. Rebuilt into the binary when
/// it changes (see build.rs).
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site"]
struct Site;

pub async fn serve_site_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if let Some(file) = Site::get(path) {
        return serve_file(path, file, request.headers());
    }
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(state.clone()),
        move || shell(options.clone()),
    );
    render(request).await.into_response()
}

/// Answers with an embedded file, or with 304 when the client's copy is
/// current. Compressible files also come as `.br` and `.gz` siblings made
/// by scripts/build.sh at the highest levels; the best one the client
/// accepts is sent.
fn serve_file(path: &str, file: EmbeddedFile, request_headers: &HeaderMap) -> Response {
    let mime = file.metadata.mimetype().to_string();
    let (file, encoding) = ENCODINGS
        .iter()
        .filter(|(_, coding)| accepts(request_headers, coding))
        .find_map(|(suffix, coding)| {
            Site::get(&format!("{path}{suffix}")).map(|variant| (variant, Some(*coding)))
        })
        .unwrap_or((file, None));
    // Each variant has its own hash, so each encoding gets its own tag.
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes());
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if let Some(coding) = encoding
        && !unchanged
    {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    if ENCODINGS.iter().any(|(suffix, _)| Site::get(&format!("{path}{suffix}")).is_some()) {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    // File names carry no content hash, so browsers revalidate each time;
    // the ETag keeps that to a 304.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// Pre-compressed siblings of a file, best first: file suffix and coding.
const ENCODINGS: [(&str, &str); 2] = [(".br", "br"), (".gz", "gzip")];

/// Whether `Accept-Encoding` lists `coding` (or `*`) without `q=0`.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let listed = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    listed.into_iter().any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|parameter| {
            parameter.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0)
        });
        (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
    })
}

/// Returns the contents of an embedded file, e.g. `pkg/rebound.wasm`, or
/// of a pre-compressed sibling such as `pkg/rebound.wasm.br`.
pub fn embedded(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    Site::get(path).map(|file| file.data)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
