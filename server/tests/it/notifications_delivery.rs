//! Notification delivery against receivers on 127.0.0.1: a webhook that
//! fails before it succeeds and checks the HMAC signature, Slack's message
//! format, an SMTP server, a channel that keeps failing, and the address
//! guard. Also the metrics endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::accounts::Role;
use app::accounts::ssr::Caller;
use app::monitors::probe::ProbeOptions;
use app::notifications::ssr::{self as notifications, RetryPolicy};
use app::notifications::{ChannelForm, EventKind};
use app::state::{AppState, Secrets, Settings, SmtpSettings, SmtpTls};
use app::storage::Db;
use app::storage::notifications::{self as store, QUEUE_DELIVERIES};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::Mac;
use server::worker::notifications::{Notifier, NotifierConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{TEST_SECRET, TestServer, add_team, on_each_backend, open_probe};

const SIGNING_SECRET: &str = "a signing secret of some length";

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// An HTTP receiver on 127.0.0.1 that returns 500 to its first
/// `failures` requests and 200 afterwards.
struct Receiver {
    url: String,
    requests: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    requests: Arc<Mutex<Vec<Received>>>,
    failures: usize,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let mut requests = state.requests.lock().unwrap();
    requests.push(Received { headers, body: body.to_vec() });
    if requests.len() <= state.failures {
        (StatusCode::INTERNAL_SERVER_ERROR, "receiver is down")
    } else {
        (StatusCode::OK, "ok")
    }
}

async fn receiver(failures: usize) -> Receiver {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(ReceiverState { requests: requests.clone(), failures });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Receiver { url: format!("http://{address}/hook"), requests }
}

impl Receiver {
    fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

/// Verifies a signature the way a receiver would, without Rebound's code.
fn signature_is_valid(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else { return false };
    let Ok(expected) = (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(hex.get(index..index + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn state_with(db: Db, settings: Settings, probe: ProbeOptions) -> AppState {
    let address = "127.0.0.1:9".parse().unwrap();
    server::serve::build_state(db, settings, Secrets::derive(TEST_SECRET), address, probe)
}

fn admin(team: i64, user: i64) -> Caller {
    Caller { team_id: team, role: Role::Admin, user_id: Some(user), token_id: None }
}

fn quick_notifier(state: &AppState, max_attempts: u32) -> Notifier {
    let config = NotifierConfig {
        retry: RetryPolicy { max_attempts, first_backoff_ms: 50, max_backoff_ms: 200 },
        ..NotifierConfig::default()
    };
    Notifier::new(state.clone(), config)
}

/// Queues `event` for every matching rule of `team`, as a recorded event does.
async fn queue(db: &Db, team: i64, event: &app::notifications::event::Event) {
    app::with_db!(db, pool => {
        sqlx::query(QUEUE_DELIVERIES)
            .bind(team)
            .bind(event.event.as_str())
            .bind(event.to_json())
            .bind(app::time::now_ms())
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    });
}

fn monitor_failed(team: i64) -> app::notifications::event::Event {
    app::notifications::event::monitor_changed(
        team,
        7,
        "checkout",
        app::monitors::MonitorState::Healthy,
        app::monitors::MonitorState::Failed,
        Some("status 503 (expected 200–399)"),
        app::time::now_ms(),
    )
    .unwrap()
}

/// Runs the notifier until `done` returns true or 10 s pass.
async fn deliver_until(notifier: &Notifier, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() && tokio::time::Instant::now() < deadline {
        if notifier.run_once().await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn statuses(db: &Db) -> Vec<(String, i32)> {
    app::with_db!(db, pool => {
        sqlx::query_as("SELECT status, attempts FROM notification_deliveries ORDER BY id").fetch_all(pool).await.unwrap()
    })
}

#[tokio::test]
async fn webhook_retries_after_errors_and_is_signed() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let state = state_with(db.clone(), Settings::default(), open_probe());
        let hook = receiver(2).await;
        let form = ChannelForm {
            name: "ops hook".into(),
            kind: "webhook".into(),
            url: hook.url.clone(),
            signing_secret: SIGNING_SECRET.into(),
            recipients: String::new(),
        };
        let channel =
            notifications::create_channel(&state, &admin(team, owner), form).await.unwrap();
        assert!(channel.signed);
        assert!(!channel.target.contains("/hook"), "the page shows no path: {}", channel.target);
        notifications::add_rule(
            &state,
            &admin(team, owner),
            "monitor_failed",
            &channel.id.to_string(),
        )
        .await
        .unwrap();
        queue(&db, team, &monitor_failed(team)).await;

        let notifier = quick_notifier(&state, 5);
        deliver_until(&notifier, || hook.received().len() >= 3).await;
        let received = hook.received();
        assert_eq!(received.len(), 3, "two 500s, then a success");
        for request in &received {
            let signature = request.headers["x-rebound-signature"].to_str().unwrap();
            assert!(
                signature_is_valid(SIGNING_SECRET, &request.body, signature),
                "signature {signature}"
            );
            assert_eq!(request.headers["x-rebound-event"], "monitor_failed");
            assert_eq!(request.headers["content-type"], "application/json");
        }
        let delivery_ids: Vec<&str> = received
            .iter()
            .map(|request| request.headers["x-rebound-delivery"].to_str().unwrap())
            .collect();
        assert!(
            delivery_ids.iter().all(|id| *id == delivery_ids[0]),
            "retries keep the delivery id"
        );
        let body: serde_json::Value = serde_json::from_slice(&received[2].body).unwrap();
        assert_eq!(body["event"], "monitor_failed");
        assert_eq!(body["title"], "Monitor \"checkout\" is Failed");
        assert_eq!(body["data"]["monitor_name"], "checkout");
        assert!(body["occurred_at"].as_str().unwrap().ends_with('Z'));

        assert_eq!(statuses(&db).await, vec![("delivered".to_string(), 3)]);
        let overview = notifications::overview(&state, &admin(team, owner)).await.unwrap();
        let shown = &overview.channels[0];
        assert_eq!(shown.consecutive_failures, 0, "a success resets the failure count");
        assert_eq!(shown.attempts.len(), 3);
        assert!(shown.attempts[0].succeeded);
        assert_eq!(shown.attempts[1].status_code, Some(500));
        assert_eq!(
            shown.attempts[1].error.as_deref(),
            Some("the receiver answered HTTP 500: receiver is down")
        );
    })
    .await;
}

#[tokio::test]
async fn failing_channel_gives_up_and_shows_why() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let state = state_with(db.clone(), Settings::default(), open_probe());
        let hook = receiver(usize::MAX).await;
        let form = ChannelForm {
            name: "down".into(),
            kind: "webhook".into(),
            url: hook.url.clone(),
            ..ChannelForm::default()
        };
        let channel =
            notifications::create_channel(&state, &admin(team, owner), form).await.unwrap();
        assert!(!channel.signed);
        store::add_rule(&db, team, channel.id, EventKind::MonitorFailed, 0).await.unwrap();
        queue(&db, team, &monitor_failed(team)).await;

        let notifier = quick_notifier(&state, 3);
        deliver_until(&notifier, || hook.received().len() >= 3).await;
        assert_eq!(notifier.run_once().await, 0, "no attempt after the last one");
        assert_eq!(statuses(&db).await, vec![("failed".to_string(), 3)]);
        assert!(
            hook.received()
                .iter()
                .all(|request| !request.headers.contains_key("x-rebound-signature"))
        );

        let overview = notifications::overview(&state, &admin(team, owner)).await.unwrap();
        let shown = &overview.channels[0];
        assert!(shown.failing(), "{shown:?}");
        assert_eq!(
            shown.last_error.as_deref(),
            Some("the receiver answered HTTP 500: receiver is down")
        );
    })
    .await;
}

#[tokio::test]
async fn slack_message_has_text() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let state = state_with(db.clone(), Settings::default(), open_probe());
        let slack = receiver(0).await;
        let form = ChannelForm {
            name: "slack".into(),
            kind: "slack".into(),
            url: slack.url.clone(),
            ..ChannelForm::default()
        };
        let channel =
            notifications::create_channel(&state, &admin(team, owner), form).await.unwrap();

        let result =
            notifications::send_test(&state, &admin(team, owner), channel.id).await.unwrap();
        assert!(result.succeeded, "{result:?}");
        assert_eq!(result.message, "Delivered: the receiver answered HTTP 200.");
        let received = slack.received();
        assert_eq!(received.len(), 1);
        let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("Test message for channel \"slack\" from Rebound\n"), "{text}");
        assert_eq!(body.as_object().unwrap().len(), 1, "Slack gets only text: {body}");
        assert_eq!(statuses(&db).await, vec![("delivered".to_string(), 1)]);
    })
    .await;
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let guarded = state_with(db.clone(), Settings::default(), ProbeOptions::default());
        for url in ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://[::1]/x"] {
            let form = ChannelForm {
                name: "local".into(),
                kind: "webhook".into(),
                url: url.into(),
                ..ChannelForm::default()
            };
            let error = notifications::create_channel(&guarded, &admin(team, owner), form)
                .await
                .unwrap_err();
            assert_eq!(error.field(), Some("url"), "{url}: {error:?}");
            assert!(error.to_string().contains("may not reach private networks"), "{error}");
        }

        // A channel saved while private targets were allowed is still
        // guarded when it sends.
        let hook = receiver(0).await;
        let open = state_with(db.clone(), Settings::default(), open_probe());
        let form = ChannelForm {
            name: "local".into(),
            kind: "webhook".into(),
            url: hook.url.clone(),
            ..ChannelForm::default()
        };
        let channel =
            notifications::create_channel(&open, &admin(team, owner), form).await.unwrap();
        let result =
            notifications::send_test(&guarded, &admin(team, owner), channel.id).await.unwrap();
        assert!(!result.succeeded);
        assert!(result.message.contains("loopback"), "{}", result.message);
        assert!(!result.message.contains("/hook"), "the URL stays hidden: {}", result.message);
        assert!(hook.received().is_empty());
    })
    .await;
}

#[tokio::test]
async fn invalid_channel_forms_name_the_field() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let state = state_with(db.clone(), Settings::default(), open_probe());
        let cases = [
            (
                ChannelForm {
                    name: " ".into(),
                    kind: "webhook".into(),
                    url: "http://127.0.0.1/".into(),
                    ..ChannelForm::default()
                },
                "name",
            ),
            (
                ChannelForm { name: "x".into(), kind: "pager".into(), ..ChannelForm::default() },
                "kind",
            ),
            (
                ChannelForm {
                    name: "x".into(),
                    kind: "slack".into(),
                    url: "hooks.slack.com/x".into(),
                    ..ChannelForm::default()
                },
                "url",
            ),
            (
                ChannelForm {
                    name: "x".into(),
                    kind: "webhook".into(),
                    url: "ftp://127.0.0.1/".into(),
                    ..ChannelForm::default()
                },
                "url",
            ),
            (
                ChannelForm {
                    name: "x".into(),
                    kind: "webhook".into(),
                    url: "http://127.0.0.1/".into(),
                    signing_secret: "short".into(),
                    ..ChannelForm::default()
                },
                "signing_secret",
            ),
            (
                ChannelForm {
                    name: "x".into(),
                    kind: "email".into(),
                    recipients: "ops@example.com".into(),
                    ..ChannelForm::default()
                },
                "kind",
            ),
        ];
        for (form, field) in cases {
            let error = notifications::create_channel(&state, &admin(team, owner), form.clone())
                .await
                .unwrap_err();
            assert_eq!(error.field(), Some(field), "{form:?}: {error}");
        }
        let viewer = Caller { role: Role::Editor, ..admin(team, owner) };
        let form = ChannelForm {
            name: "x".into(),
            kind: "webhook".into(),
            url: "http://127.0.0.1/".into(),
            ..ChannelForm::default()
        };
        assert_eq!(
            notifications::create_channel(&state, &viewer, form).await.unwrap_err(),
            app::AppError::Forbidden
        );
    })
    .await;
}

/// Starts a minimal SMTP server on 127.0.0.1 (no TLS, no authentication)
/// that keeps the envelope recipients and the message of each transaction.
async fn smtp_receiver() -> (u16, Arc<Mutex<Vec<(Vec<String>, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                let mut recipients = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO")
                    {
                        b"250-test.local\r\n250 8BITMIME\r\n"
                    } else if command.starts_with("RCPT TO:") {
                        recipients.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        b"250 OK\r\n"
                    } else if command.starts_with("DATA") {
                        write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.unwrap();
                        let mut message = String::new();
                        while let Ok(Some(data)) = lines.next_line().await {
                            if data == "." {
                                break;
                            }
                            message.push_str(&data);
                            message.push('\n');
                        }
                        store.lock().unwrap().push((std::mem::take(&mut recipients), message));
                        b"250 2.0.0 queued\r\n"
                    } else if command.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn email_goes_through_smtp() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let (port, messages) = smtp_receiver().await;
        let settings = Settings {
            smtp: Some(SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                tls: SmtpTls::None,
                username: None,
                password: None,
                from: "Rebound <rebound@example.com>".into(),
                timeout: Duration::from_secs(5),
            }),
            ..Settings::default()
        };
        let state = state_with(db.clone(), settings, open_probe());
        let form = ChannelForm {
            name: "on-call email".into(),
            kind: "email".into(),
            recipients: "ada@example.com, grace@example.com".into(),
            ..ChannelForm::default()
        };
        let channel =
            notifications::create_channel(&state, &admin(team, owner), form).await.unwrap();
        assert_eq!(channel.target, "ada@example.com, grace@example.com");
        store::add_rule(&db, team, channel.id, EventKind::MonitorFailed, 0).await.unwrap();
        queue(&db, team, &monitor_failed(team)).await;

        let notifier = quick_notifier(&state, 3);
        deliver_until(&notifier, || !messages.lock().unwrap().is_empty()).await;
        let sent = messages.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        let (recipients, message) = &sent[0];
        assert_eq!(
            recipients,
            &vec!["ada@example.com".to_string(), "grace@example.com".to_string()]
        );
        assert!(message.contains("Subject: [Rebound] Monitor \"checkout\" is Failed"), "{message}");
        assert!(message.contains("From: Rebound <rebound@example.com>"), "{message}");
        assert!(message.contains("Reason: status 503"), "{message}");
        assert_eq!(statuses(&db).await, vec![("delivered".to_string(), 1)]);

        let bad = ChannelForm {
            name: "bad".into(),
            kind: "email".into(),
            recipients: "ada@, x".into(),
            ..ChannelForm::default()
        };
        let error =
            notifications::create_channel(&state, &admin(team, owner), bad).await.unwrap_err();
        assert_eq!(error.field(), Some("recipients"), "{error}");
    })
    .await;
}

async fn get_metrics(server: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_need_the_configured_token() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone()).await;
        assert_eq!(get_metrics(&server, Some("anything")).await.0, 404, "disabled without a token");
        server.stop().await;

        let settings =
            Settings { metrics_token: Some("scrape-token".into()), ..Settings::default() };
        let server = TestServer::start_with(db.clone(), settings).await;
        assert_eq!(get_metrics(&server, None).await.0, 401);
        assert_eq!(get_metrics(&server, Some("wrong-token")).await.0, 401);

        // A TCP monitor on a closed port fails its checks.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let draft = app::storage::monitors::MonitorDraft {
            name: "closed port".into(),
            settings: app::monitors::MonitorSettings::Tcp(app::monitors::settings::TcpSettings {
                host: "127.0.0.1".into(),
                port,
                timeout_ms: 1000,
            }),
            interval_secs: 10,
            fail_after: 1,
            recover_after: 1,
        };
        let now = app::time::now_ms();
        app::storage::monitors::create(&db, team, &draft, now, now, None).await.unwrap();
        let state = state_with(db.clone(), Settings::default(), open_probe());
        let scheduler = server::worker::monitors::Scheduler::new(
            state,
            server::worker::SchedulerConfig {
                poll_interval: Duration::from_millis(100),
                write_delay: Duration::from_millis(20),
                ..server::worker::SchedulerConfig::default()
            },
            server::worker::clock::Clock::system(),
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn(scheduler.run(shutdown.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut body = String::new();
        while tokio::time::Instant::now() < deadline {
            let (status, text) = get_metrics(&server, Some("scrape-token")).await;
            assert_eq!(status, 200);
            body = text;
            if body.contains("rebound_monitors{state=\"failed\"} 1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
        running.await.unwrap();
        server.stop().await;

        assert!(body.contains("rebound_monitors{state=\"failed\"} 1"), "{body}");
        assert!(body.contains("# TYPE rebound_check_duration_seconds histogram"), "{body}");
        let failed_checks = metric_value(&body, "rebound_checks_total{result=\"failed\"}");
        assert!(failed_checks >= 1.0, "{body}");
        assert!(
            metric_value(&body, "rebound_check_duration_seconds_count") >= failed_checks,
            "{body}"
        );
        for name in [
            "rebound_reaction_jobs_queued 0",
            "rebound_notification_deliveries{status=\"pending\"} 0",
            "# TYPE rebound_executions_total counter",
            "# TYPE rebound_heroku_api_requests_total counter",
            "# TYPE rebound_heroku_rate_limit_remaining gauge",
        ] {
            assert!(body.contains(name), "{name} missing from\n{body}");
        }
    })
    .await;
}

fn metric_value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series).map(|rest| rest.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("{series} missing from\n{body}"))
}

#[tokio::test]
async fn two_processes_send_each_delivery_once() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let hook = receiver(0).await;
        let first = state_with(db.clone(), Settings::default(), open_probe());
        // A second pool stands for a second process on the same database.
        let other_db = match &db {
            Db::Sqlite(pool) => Db::Sqlite(pool.clone()),
            Db::Postgres(pool) => Db::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect_with(pool.connect_options().as_ref().clone())
                    .await
                    .unwrap(),
            ),
        };
        let second = state_with(other_db, Settings::default(), open_probe());
        let form = ChannelForm {
            name: "hook".into(),
            kind: "webhook".into(),
            url: hook.url.clone(),
            ..ChannelForm::default()
        };
        let channel =
            notifications::create_channel(&first, &admin(team, owner), form).await.unwrap();
        store::add_rule(&db, team, channel.id, EventKind::MonitorFailed, 0).await.unwrap();
        for _ in 0..12 {
            queue(&db, team, &monitor_failed(team)).await;
        }

        let (one, two) = (quick_notifier(&first, 3), quick_notifier(&second, 3));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while hook.received().len() < 12 && tokio::time::Instant::now() < deadline {
            let (sent_one, sent_two) = tokio::join!(one.run_once(), two.run_once());
            if sent_one + sent_two == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut ids: Vec<String> = hook
            .received()
            .iter()
            .map(|request| request.headers["x-rebound-delivery"].to_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 12, "every delivery arrived");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 12, "no delivery arrived twice");
        assert!(
            statuses(&db)
                .await
                .iter()
                .all(|(status, attempts)| status == "delivered" && *attempts == 1)
        );
    })
    .await;
}
