//! The browser bundle (`/pkg/rebound.{js,wasm,css}`) and `public/` files,
//! embedded in the binary at compile time; other unknown paths get the app's
//! "not found" page.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use app::shell;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
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

/// Answers with an embedded file, gzipped when the client accepts it and
/// the type compresses, or with 304 when the client's copy is current.
fn serve_file(path: &str, file: EmbeddedFile, request_headers: &HeaderMap) -> Response {
    let gzip = is_compressible(path) && accepts_gzip(request_headers);
    let hash = hex(&file.metadata.sha256_hash());
    // Each encoding is its own representation, so it gets its own tag.
    let etag = if gzip { format!("\"{hash}-gzip\"") } else { format!("\"{hash}\"") };
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes());
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        Response::new(Body::from(Bytes::from_owner(gzipped(path, &file.data))))
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if gzip && !unchanged {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if is_compressible(path) {
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

/// Text and WebAssembly shrink to a fraction; images are compressed already.
fn is_compressible(path: &str) -> bool {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    matches!(extension, "wasm" | "js" | "css" | "svg" | "json" | "txt" | "html" | "map")
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok()).any(
        |value| {
            value.split(',').any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let coding = parts.next().unwrap_or("");
                let refused = parts.any(|parameter| {
                    parameter
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q == 0.0)
                });
                (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
            })
        },
    )
}

/// The gzipped copy of an embedded file. Files are fixed for the life of
/// the process, so each is compressed once, at the best level.
fn gzipped(path: &str, data: &[u8]) -> Arc<[u8]> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<[u8]>>>> = LazyLock::new(Default::default);
    if let Some(done) = CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(path) {
        return done.clone();
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    encoder.write_all(data).expect("writing to memory cannot fail");
    let compressed: Arc<[u8]> = encoder.finish().expect("writing to memory cannot fail").into();
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_string(), compressed.clone());
    compressed
}

/// Compresses the browser bundle ahead of the first request for it, which
/// would otherwise wait for the compression (a few hundred ms for the WASM).
pub fn precompress() {
    for path in Site::iter() {
        if is_compressible(&path)
            && let Some(file) = Site::get(&path)
        {
            gzipped(&path, &file.data);
        }
    }
}

/// Returns the contents of an embedded file, e.g. `pkg/rebound.wasm`.
pub fn embedded(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    Site::get(path).map(|file| file.data)
}

/// Returns the gzipped copy of an embedded file, as it is served.
pub fn embedded_gzipped(path: &str) -> Option<Arc<[u8]>> {
    Site::get(path).map(|file| gzipped(path, &file.data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
