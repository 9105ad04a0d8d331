//! Monitor checks against real servers on 127.0.0.1 (and ::1) started by
//! each test: statuses, redirects, compressed and non-UTF-8 bodies, body
//! limits, stalls, TLS, refused ports, and the private-address guard.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use app::monitors::probe::{CheckOutcome, ProbeOptions, Prober};
use app::monitors::settings::{
    HttpSettings, KeywordRule, MonitorSettings, StatusRanges, TcpSettings,
};
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::serve::ListenerExt;

/// A test HTTP server; `connections` counts accepted TCP connections.
pub struct TargetServer {
    pub base: String,
    pub connections: Arc<AtomicUsize>,
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn deflate(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn brotli_bytes(text: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut output, 4096, 5, 22);
        writer.write_all(text).unwrap();
    }
    output
}

fn encoded(encoding: &'static str, bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_ENCODING, encoding), (header::CONTENT_TYPE, "text/plain")], bytes)
        .into_response()
}

/// Routes every probe test uses.
fn routes() -> Router {
    Router::new()
        .route("/ok", get(|| async { "service status: all good" }))
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move { StatusCode::from_u16(code).unwrap() }),
        )
        .route("/gzip", get(|| async { encoded("gzip", gzip(b"compressed payload: healthy")) }))
        .route(
            "/deflate",
            get(|| async { encoded("deflate", deflate(b"compressed payload: healthy")) }),
        )
        .route("/br", get(|| async { encoded("br", brotli_bytes(b"compressed payload: healthy")) }))
        .route(
            "/latin1",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=ISO-8859-1")],
                    b"<p>Caf\xe9 ouvert</p>".to_vec(),
                )
            }),
        )
        .route(
            "/shift-jis",
            get(|| async {
                // "正常" (normal) in Shift_JIS.
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=Shift_JIS")],
                    b"\x90\xb3\x8f\xed".to_vec(),
                )
            }),
        )
        .route(
            "/big",
            get(|| async {
                let mut body = vec![b'a'; 64 * 1024];
                body.extend_from_slice(b"MARKER-AT-64K");
                body
            }),
        )
        .route(
            "/stall",
            get(|| async {
                let stream = futures::stream::unfold(0, |step| async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(bytes("partial body, keyword ")), 1)),
                        _ => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            None
                        }
                    }
                });
                Body::from_stream(stream)
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "slow but fine"
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route(
            "/redirect/{hops}",
            get(|Path(hops): Path<u32>| async move {
                if hops == 0 {
                    Redirect::to("/ok")
                } else {
                    Redirect::to(&format!("/redirect/{}", hops - 1))
                }
            }),
        )
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                headers
                    .get("x-probe")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("none")
                    .to_string()
            }),
        )
}

fn bytes(text: &'static str) -> axum::body::Bytes {
    axum::body::Bytes::from_static(text.as_bytes())
}

impl TargetServer {
    pub async fn start(address: IpAddr, router: Router) -> TargetServer {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(address, 0)).await.unwrap();
        let local = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let listener = listener.tap_io(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        let base = match local {
            SocketAddr::V4(v4) => format!("http://{v4}"),
            SocketAddr::V6(v6) => format!("http://[{}]:{}", v6.ip(), v6.port()),
        };
        TargetServer { base, connections }
    }

    pub async fn loopback() -> TargetServer {
        TargetServer::start(IpAddr::V4(Ipv4Addr::LOCALHOST), routes()).await
    }
}

fn open_prober() -> Prober {
    Prober::new(ProbeOptions {
        allow_private_targets: true,
        body_limit_bytes: 32 * 1024,
        ..Default::default()
    })
}

fn http(url: String) -> HttpSettings {
    HttpSettings {
        url,
        method: "GET".into(),
        headers: vec![],
        body: String::new(),
        expected_status: StatusRanges::default(),
        timeout_ms: 2_000,
        follow_redirects: true,
        verify_tls: true,
        max_response_ms: None,
    }
}

fn keyword(pattern: &str, must_be_present: bool) -> KeywordRule {
    KeywordRule { pattern: pattern.into(), regex: false, case_sensitive: false, must_be_present }
}

async fn check_http(prober: &Prober, settings: HttpSettings) -> CheckOutcome {
    prober.check(&MonitorSettings::Http(settings)).await
}

async fn check_keyword(prober: &Prober, settings: HttpSettings, rule: KeywordRule) -> CheckOutcome {
    prober.check(&MonitorSettings::Keyword { http: settings, keyword: rule }).await
}

fn reason(outcome: &CheckOutcome) -> &str {
    outcome.reason.as_deref().unwrap_or("")
}

#[tokio::test]
async fn http_status_decides() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let ok = check_http(&prober, http(format!("{}/ok", server.base))).await;
    assert!(ok.passed, "{ok:?}");
    assert_eq!(ok.status_code, Some(200));
    assert!(ok.response_ms.is_some());

    let unavailable = check_http(&prober, http(format!("{}/status/503", server.base))).await;
    assert!(!unavailable.passed);
    assert_eq!(reason(&unavailable), "status 503 (expected 200–399)");

    let custom = HttpSettings {
        expected_status: StatusRanges::parse("500-503").unwrap(),
        ..http(format!("{}/status/503", server.base))
    };
    assert!(check_http(&prober, custom).await.passed, "503 is expected here");
}

#[tokio::test]
async fn request_headers_are_sent() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let settings = HttpSettings {
        headers: vec![("X-Probe".into(), "rebound".into())],
        ..http(format!("{}/headers", server.base))
    };
    let outcome = check_keyword(&prober, settings, keyword("rebound", true)).await;
    assert!(outcome.passed, "{outcome:?}");
}

#[tokio::test]
async fn redirects_followed_limited_or_off() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let followed = check_keyword(
        &prober,
        http(format!("{}/redirect/3", server.base)),
        keyword("all good", true),
    )
    .await;
    assert!(followed.passed, "{followed:?}");

    let looping = check_http(&prober, http(format!("{}/loop", server.base))).await;
    assert!(!looping.passed);
    assert!(reason(&looping).starts_with("too many redirects (more than 10)"), "{looping:?}");

    let off =
        HttpSettings { follow_redirects: false, ..http(format!("{}/redirect/0", server.base)) };
    let not_followed = check_http(&prober, off.clone()).await;
    assert!(not_followed.passed, "a 303 is within 200–399: {not_followed:?}");
    assert_eq!(not_followed.status_code, Some(303));
    let strict = HttpSettings { expected_status: StatusRanges::parse("200").unwrap(), ..off };
    assert_eq!(reason(&check_http(&prober, strict).await), "status 303 (expected 200)");
}

#[tokio::test]
async fn compressed_bodies_are_decoded() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    for path in ["gzip", "deflate", "br"] {
        let outcome = check_keyword(
            &prober,
            http(format!("{}/{path}", server.base)),
            keyword("payload: healthy", true),
        )
        .await;
        assert!(outcome.passed, "{path}: {outcome:?}");
    }
}

#[tokio::test]
async fn charsets_are_decoded() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let latin1 =
        check_keyword(&prober, http(format!("{}/latin1", server.base)), keyword("Café", true))
            .await;
    assert!(latin1.passed, "{latin1:?}");
    let shift_jis =
        check_keyword(&prober, http(format!("{}/shift-jis", server.base)), keyword("正常", true))
            .await;
    assert!(shift_jis.passed, "{shift_jis:?}");
}

#[tokio::test]
async fn body_limit_cuts_reading() {
    let server = TargetServer::loopback().await;
    // The limit is 32 KiB; the marker sits after 64 KiB.
    let prober = open_prober();
    let beyond = check_keyword(
        &prober,
        http(format!("{}/big", server.base)),
        keyword("MARKER-AT-64K", true),
    )
    .await;
    assert!(!beyond.passed);
    assert_eq!(reason(&beyond), "keyword \"MARKER-AT-64K\" not found");
    let within =
        check_keyword(&prober, http(format!("{}/big", server.base)), keyword("aaaa", true)).await;
    assert!(within.passed, "matching uses what was read: {within:?}");

    let roomy = Prober::new(ProbeOptions {
        allow_private_targets: true,
        body_limit_bytes: 1 << 20,
        ..Default::default()
    });
    let found =
        check_keyword(&roomy, http(format!("{}/big", server.base)), keyword("MARKER-AT-64K", true))
            .await;
    assert!(found.passed, "{found:?}");
}

#[tokio::test]
async fn stalled_body_times_out() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let settings = HttpSettings { timeout_ms: 1_000, ..http(format!("{}/stall", server.base)) };
    let outcome = check_keyword(&prober, settings, keyword("keyword", true)).await;
    assert!(!outcome.passed);
    assert_eq!(reason(&outcome), "timed out after 1 s");
}

#[tokio::test]
async fn absent_keyword_never_masks_failures() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let absent = |url: String| {
        check_keyword(
            &prober,
            HttpSettings { timeout_ms: 1_000, ..http(url) },
            keyword("error", false),
        )
    };
    assert!(absent(format!("{}/ok", server.base)).await.passed);

    let status = absent(format!("{}/status/500", server.base)).await;
    assert_eq!(reason(&status), "status 500 (expected 200–399)");
    let timeout = absent(format!("{}/hang", server.base)).await;
    assert_eq!(reason(&timeout), "timed out after 1 s");
    let refused = absent(format!("http://127.0.0.1:{}/", closed_port().await)).await;
    assert_eq!(reason(&refused), "connection refused");
}

#[tokio::test]
async fn slow_responses_fail_max_time() {
    let server = TargetServer::loopback().await;
    let prober = open_prober();
    let strict =
        HttpSettings { max_response_ms: Some(100), ..http(format!("{}/slow", server.base)) };
    let outcome = check_http(&prober, strict).await;
    assert!(!outcome.passed);
    let text = reason(&outcome);
    assert!(text.starts_with("response took ") && text.ends_with(" ms (max 100)"), "{text}");
    let relaxed =
        HttpSettings { max_response_ms: Some(5_000), ..http(format!("{}/slow", server.base)) };
    assert!(check_http(&prober, relaxed).await.passed);
}

/// A port nothing listens on (bound, then closed).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn refused_and_open_ports() {
    let prober = open_prober();
    let server = TargetServer::loopback().await;
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let tcp = |port: u16| {
        MonitorSettings::Tcp(TcpSettings { host: "127.0.0.1".into(), port, timeout_ms: 1_000 })
    };
    assert!(prober.check(&tcp(port)).await.passed);
    let closed = closed_port().await;
    let refused = prober.check(&tcp(closed)).await;
    assert_eq!(reason(&refused), format!("connection to 127.0.0.1:{closed} refused"));
    let http_refused = check_http(&prober, http(format!("http://127.0.0.1:{closed}/"))).await;
    assert_eq!(reason(&http_refused), "connection refused");
}

#[tokio::test]
async fn unknown_host_fails_lookup() {
    // A name the resolver knows to have no addresses stands in for NXDOMAIN,
    // so the test sends no DNS query anywhere.
    let prober = Prober::new(ProbeOptions {
        allow_private_targets: true,
        static_hosts: [("missing.test".to_string(), vec![])].into(),
        ..Default::default()
    });
    let outcome = check_http(&prober, http("http://missing.test/".into())).await;
    assert!(!outcome.passed);
    assert_eq!(reason(&outcome), "DNS lookup of missing.test failed: no addresses found");
}

/// A TLS server with a self-signed certificate for "localhost" that answers
/// every request with "secure ok".
async fn tls_server() -> u16 {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls_pki_key(certified.key_pair.serialize_der());
    // The test server needs no post-quantum key exchange, which is why
    // rustls 0.23.48 deprecates this provider.
    #[allow(deprecated)]
    let provider = tokio_rustls::rustls::crypto::ring::default_provider();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut request = vec![0u8; 4096];
                let _ = tls.read(&mut request).await;
                let response =
                    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nsecure ok";
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn rustls_pki_key(der: Vec<u8>) -> tokio_rustls::rustls::pki_types::PrivateKeyDer<'static> {
    tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(der.into())
}

#[tokio::test]
async fn self_signed_tls_verify_on_and_off() {
    let port = tls_server().await;
    let prober = Prober::new(ProbeOptions {
        allow_private_targets: true,
        static_hosts: [("localhost".to_string(), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])].into(),
        ..Default::default()
    });
    let url = format!("https://localhost:{port}/");
    let verified = check_http(&prober, http(url.clone())).await;
    assert!(!verified.passed);
    assert!(reason(&verified).starts_with("TLS error: "), "{verified:?}");
    assert!(reason(&verified).contains("certificate"), "the cause is named: {verified:?}");

    let unverified = check_keyword(
        &prober,
        HttpSettings { verify_tls: false, ..http(url) },
        keyword("secure ok", true),
    )
    .await;
    assert!(unverified.passed, "{unverified:?}");
}

fn guarded_prober(static_hosts: Vec<(&str, IpAddr)>, allowed: Vec<IpAddr>) -> Prober {
    Prober::new(ProbeOptions {
        allow_private_targets: false,
        allowed_addresses: allowed,
        static_hosts: static_hosts
            .into_iter()
            .map(|(name, address)| (name.to_string(), vec![address]))
            .collect(),
        ..Default::default()
    })
}

#[tokio::test]
async fn guard_refuses_before_connecting() {
    let server = TargetServer::loopback().await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let prober = guarded_prober(vec![("internal.test", loopback)], vec![]);

    let literal = check_http(&prober, http(format!("{}/ok", server.base))).await;
    assert!(!literal.passed);
    assert!(
        reason(&literal).contains("127.0.0.1 resolves to 127.0.0.1, a loopback address"),
        "{literal:?}"
    );

    let by_name = check_http(&prober, http(format!("http://internal.test:{port}/ok"))).await;
    assert!(
        reason(&by_name).starts_with("internal.test resolves to 127.0.0.1, a loopback address"),
        "{by_name:?}"
    );

    let tcp = prober
        .check(&MonitorSettings::Tcp(TcpSettings {
            host: "internal.test".into(),
            port: port.parse().unwrap(),
            timeout_ms: 1_000,
        }))
        .await;
    assert!(reason(&tcp).contains("loopback"), "{tcp:?}");

    assert_eq!(server.connections.load(Ordering::SeqCst), 0, "no connection reached the server");
}

#[tokio::test]
async fn guard_checks_every_redirect_hop() {
    // The first hop is allowed by address; it redirects to ::1, which is not.
    let forbidden = TargetServer::start("::1".parse().unwrap(), routes()).await;
    let forbidden_target = format!("{}/ok", forbidden.base);
    let entry = TargetServer::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Router::new().route(
            "/",
            get(move || {
                let target = forbidden_target.clone();
                async move { Redirect::temporary(&target) }
            }),
        ),
    )
    .await;
    let prober = guarded_prober(vec![], vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let outcome = check_http(&prober, http(format!("{}/", entry.base))).await;
    assert!(!outcome.passed);
    assert!(reason(&outcome).contains("::1 resolves to ::1, a loopback address"), "{outcome:?}");
    assert_eq!(entry.connections.load(Ordering::SeqCst), 1, "the allowed first hop was reached");
    assert_eq!(
        forbidden.connections.load(Ordering::SeqCst),
        0,
        "the redirect target was never contacted"
    );
}
