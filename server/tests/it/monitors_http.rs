//! Monitors through their server functions and the heartbeat URL.

use std::net::{IpAddr, Ipv4Addr};

use app::accounts::Role;
use app::monitors::MonitorState;
use app::state::Settings;
use app::storage::monitors as store;

use crate::probe::TargetServer;
use crate::support::{TestServer, add_team, add_user, on_each_backend};

fn monitor_form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.iter().map(|(name, value)| (format!("form[{name}]"), value.to_string())).collect()
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

#[tokio::test]
async fn create_validates_and_stores_nothing_on_error() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let server = TestServer::start(db.clone()).await;
        let editor = server.client().signed_in("ops@example.com").await;
        let cases = [
            (monitor_form(&[("name", "api"), ("kind", "http"), ("url", "nope")]), "url"),
            (
                monitor_form(&[
                    ("name", "api"),
                    ("kind", "keyword"),
                    ("url", "https://example.com"),
                    ("keyword", "("),
                    ("keyword_regex", "on"),
                ]),
                "keyword",
            ),
            (
                monitor_form(&[
                    ("name", "api"),
                    ("kind", "http"),
                    ("url", "https://example.com"),
                    ("interval_secs", "5"),
                ]),
                "interval_secs",
            ),
            (
                monitor_form(&[
                    ("name", "api"),
                    ("kind", "tcp"),
                    ("host", "db.example.com"),
                    ("port", "99999"),
                ]),
                "port",
            ),
            (
                monitor_form(&[
                    ("name", "api"),
                    ("kind", "http"),
                    ("url", "https://example.com"),
                    ("fail_after", "0"),
                ]),
                "fail_after",
            ),
        ];
        for (form, field) in cases {
            let reply = editor.call("create_monitor", &borrowed(&form)).await;
            assert_eq!(reply.status, 422, "{form:?}: {}", reply.text);
            assert_eq!(reply.error_field(), Some(field), "{form:?}");
        }
        assert!(
            store::list(&db, team, None, None, 10).await.unwrap().is_empty(),
            "nothing partial was stored"
        );

        let good = monitor_form(&[
            ("name", "api"),
            ("kind", "http"),
            ("url", "https://example.com/health"),
            ("verify_tls", "on"),
        ]);
        let created = editor.call("create_monitor", &borrowed(&good)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let duplicate = editor.call("create_monitor", &borrowed(&good)).await;
        assert_eq!(duplicate.error_field(), Some("name"));
        let list = editor.call("list_monitors", &[("state", ""), ("after", "")]).await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(list.body["items"][0]["monitor"]["state"], "pending");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn private_targets_need_the_setting() {
    let database = crate::support::TestDb::sqlite().await;
    add_team(&database.db, "Ops", "ops@example.com").await;
    let listener_less = TestServer::start_with_probe(
        database.db.clone(),
        Settings::default(),
        app::monitors::probe::ProbeOptions::default(),
    )
    .await;
    let editor = listener_less.client().signed_in("ops@example.com").await;
    let form = monitor_form(&[
        ("name", "local"),
        ("kind", "http"),
        ("url", "http://127.0.0.1:8080/health"),
    ]);
    let reply = editor.call("create_monitor", &borrowed(&form)).await;
    assert_eq!(reply.error_field(), Some("url"), "{}", reply.text);
    assert!(reply.text.contains("loopback"), "{}", reply.text);
    listener_less.stop().await;
    database.drop_database().await;
}

#[tokio::test]
async fn check_now_reports_without_storing() {
    on_each_backend(|db| async move {
        let target = TargetServer::start(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            axum::Router::new().route("/health", axum::routing::get(|| async { "database: ok" })),
        )
        .await;
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        add_user(&db, "viewer@example.com", team, Role::Viewer).await;
        let server = TestServer::start(db.clone()).await;
        let editor = server.client().signed_in("ops@example.com").await;
        let form = monitor_form(&[
            ("name", "db"),
            ("kind", "keyword"),
            ("url", &format!("{}/health", target.base)),
            ("keyword", "database: down"),
            ("keyword_mode", "absent"),
        ]);
        let id = editor
            .call("create_monitor", &borrowed(&form))
            .await
            .body
            .as_i64()
            .unwrap()
            .to_string();

        let checked = editor.call("check_monitor_now", &[("id", &id)]).await;
        assert_eq!(checked.status, 200, "{}", checked.text);
        assert_eq!(checked.body["passed"], true);
        assert_eq!(checked.body["status_code"], 200);
        let history = editor.call("monitor_history", &[("id", &id), ("range", "1h")]).await;
        assert!(history.body["checks"].as_array().unwrap().is_empty(), "check now stores nothing");
        assert_eq!(target.connections.load(std::sync::atomic::Ordering::SeqCst), 1);

        let viewer = server.client().signed_in("viewer@example.com").await;
        assert_eq!(viewer.call("check_monitor_now", &[("id", &id)]).await.status, 403);
        let detail = viewer.call("get_monitor", &[("id", &id)]).await;
        assert_eq!(detail.body["can_edit"], false);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn heartbeat_url_records_pings() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ops@example.com").await;
        let server = TestServer::start(db.clone()).await;
        let editor = server.client().signed_in("ops@example.com").await;
        let form = monitor_form(&[("name", "nightly backup"), ("kind", "heartbeat"), ("interval_secs", "3600"), ("grace_secs", "300")]);
        let id = editor.call("create_monitor", &borrowed(&form)).await.body.as_i64().unwrap();
        let detail = editor.call("get_monitor", &[("id", &id.to_string())]).await.body;
        let url = detail["heartbeat_url"].as_str().expect("editors see the URL").to_string();
        assert!(url.starts_with(&format!("{}/ping/", server.url)), "{url}");

        let stored_hashes: Vec<Option<String>> = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT heartbeat_token_hash FROM monitors").fetch_all(pool).await.unwrap()
        });
        let token = url.rsplit('/').next().unwrap();
        assert!(stored_hashes.iter().flatten().all(|hash| !hash.contains(token)), "the token itself is not stored");

        // A job calls it without a session, with GET or POST.
        let job = reqwest::Client::new();
        assert_eq!(job.get(&url).send().await.unwrap().status(), 200);
        assert_eq!(job.post(&url).send().await.unwrap().status(), 200);
        assert_eq!(job.get(format!("{}/ping/not-a-real-token", server.url)).send().await.unwrap().status(), 404);

        let record = store::find_by_heartbeat(&db, &app::accounts::ssr::token_hash(token)).await.unwrap().unwrap();
        assert_eq!(record.monitor.state, MonitorState::Healthy);
        assert_eq!(store::recent_checks(&db, id, None, 10).await.unwrap().len(), 2);
        assert!(record.next_check_at > app::time::now_ms() + 3_600_000, "the deadline moved a period plus grace ahead");

        editor.call("pause_monitor", &[("id", &id.to_string())]).await;
        assert_eq!(job.get(&url).send().await.unwrap().status(), 200);
        assert_eq!(store::recent_checks(&db, id, None, 10).await.unwrap().len(), 2, "pings to a paused monitor are not stored");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn monitor_pages_render() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ops@example.com").await;
        let server = TestServer::start(db.clone()).await;
        let editor = server.client().signed_in("ops@example.com").await;
        let form = monitor_form(&[
            ("name", "homepage"),
            ("kind", "http"),
            ("url", "https://example.com/"),
        ]);
        let id = editor.call("create_monitor", &borrowed(&form)).await.body.as_i64().unwrap();
        for path in [
            "/monitors",
            "/monitors/new?kind=tcp",
            &format!("/monitors/{id}"),
            &format!("/monitors/{id}/edit"),
        ] {
            let response = editor.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            let html = response.text().await.unwrap();
            assert!(html.contains("homepage") || path.contains("new"), "{path} shows the monitor");
        }
        let missing = editor.get("/monitors/999999").await.text().await.unwrap();
        assert!(missing.contains("Monitor was not found"), "unknown monitors say so");
        server.stop().await;
    })
    .await;
}
