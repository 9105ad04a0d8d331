//! The monitor scheduler with real databases and a real HTTP target: each
//! check runs once across processes, checks never overlap, leases of dead
//! processes are taken over, and the loop turns results into states.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::monitors::MonitorState;
use app::monitors::probe::ProbeOptions;
use app::state::{AppState, Secrets, Settings};
use app::storage::Db;
use app::storage::monitors as store;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use server::worker::SchedulerConfig;
use server::worker::clock::Clock;
use server::worker::monitors::Scheduler;
use tokio_util::sync::CancellationToken;

use crate::probe::TargetServer;
use crate::storage_monitors::http_draft;
use crate::support::{TestDb, add_team, on_each_backend};

/// Per-path request counts, and whether `/flaky` answers 200 or 500.
#[derive(Clone, Default)]
struct Target {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    healthy: Arc<Mutex<bool>>,
}

async fn target() -> (TargetServer, Target) {
    let target = Target { healthy: Arc::new(Mutex::new(true)), ..Target::default() };
    let router = Router::new()
        .route(
            "/count/{name}",
            get(|State(target): State<Target>, Path(name): Path<String>| async move {
                *target.hits.lock().unwrap().entry(name).or_default() += 1;
                "counted"
            }),
        )
        .route(
            "/flaky",
            get(|State(target): State<Target>| async move {
                if *target.healthy.lock().unwrap() {
                    StatusCode::OK
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .with_state(target.clone());
    (TargetServer::start(IpAddr::V4(Ipv4Addr::LOCALHOST), router).await, target)
}

fn state_for(db: Db) -> AppState {
    server::serve::build_state(
        db,
        Settings::default(),
        Secrets::derive(b"test secret of at least thirty-two bytes"),
        "127.0.0.1:0".parse().unwrap(),
        ProbeOptions { allow_private_targets: true, ..ProbeOptions::default() },
    )
}

fn quick_config() -> SchedulerConfig {
    SchedulerConfig {
        poll_interval: Duration::from_millis(100),
        write_delay: Duration::from_millis(20),
        shutdown_grace: Duration::from_millis(500),
        ..SchedulerConfig::default()
    }
}

/// A second connection pool to the same database: another "process".
async fn second_pool(db: &Db) -> Db {
    match db {
        Db::Sqlite(pool) => Db::Sqlite(pool.clone()),
        Db::Postgres(pool) => {
            let options = pool.connect_options().as_ref().clone();
            Db::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .unwrap(),
            )
        }
    }
}

#[tokio::test]
async fn two_processes_run_each_check_once() {
    on_each_backend(|db| async move {
        let (server, target) = target().await;
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let now = app::time::now_ms();
        for n in 0..40 {
            let draft = http_draft(&format!("m{n}"), &format!("{}/count/m{n}", server.base));
            store::create(&db, team, &draft, now, now, None).await.unwrap();
        }
        let shutdown = CancellationToken::new();
        let first = Scheduler::new(state_for(db.clone()), quick_config(), Clock::system());
        let second =
            Scheduler::new(state_for(second_pool(&db).await), quick_config(), Clock::system());
        let mut events = first.subscribe();
        let mut other_events = second.subscribe();
        let runs =
            [tokio::spawn(first.run(shutdown.clone())), tokio::spawn(second.run(shutdown.clone()))];

        let mut stored = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while stored < 40 && tokio::time::Instant::now() < deadline {
            tokio::select! {
                Ok(_) = events.recv() => stored += 1,
                Ok(_) = other_events.recv() => stored += 1,
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        // Every monitor's next check is 30 s away; nothing more may run.
        tokio::time::sleep(Duration::from_millis(500)).await;
        shutdown.cancel();
        for run in runs {
            run.await.unwrap();
        }

        assert_eq!(stored, 40, "every check was stored");
        let hits = target.hits.lock().unwrap().clone();
        assert_eq!(hits.len(), 40, "every monitor was checked");
        assert!(hits.values().all(|count| *count == 1), "no check ran twice: {hits:?}");
        for record in store::list(&db, team, None, None, 100).await.unwrap() {
            assert_eq!(record.monitor.state, MonitorState::Healthy, "{}", record.monitor.name);
            assert_eq!(
                store::recent_checks(&db, record.monitor.id, None, 10).await.unwrap().len(),
                1
            );
            assert!(record.next_check_at >= now + 30_000, "the next check keeps the 30 s interval");
        }
    })
    .await;
}

#[tokio::test]
async fn running_check_is_not_claimed_again() {
    on_each_backend(|db| async move {
        let (server, _) = target().await;
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let now = app::time::now_ms();
        let mut draft = http_draft("hangs", &format!("{}/hang", server.base));
        if let app::monitors::MonitorSettings::Http(http) = &mut draft.settings {
            http.timeout_ms = 10_000;
        }
        let id = store::create(&db, team, &draft, now, now, None).await.unwrap();

        let shutdown = CancellationToken::new();
        let running = Scheduler::new(state_for(db.clone()), quick_config(), Clock::system());
        let run = tokio::spawn(running.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(700)).await;

        let other =
            Scheduler::new(state_for(second_pool(&db).await), quick_config(), Clock::system());
        assert!(other.claim(10).await.is_empty(), "the check in flight holds its lease");

        // Shutting down releases the lease of the check it abandons, so the
        // work is picked up at once rather than after the lease runs out.
        shutdown.cancel();
        run.await.unwrap();
        let claimed = other.claim(10).await;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].record.monitor.id, id);
        assert!(
            store::recent_checks(&db, id, None, 10).await.unwrap().is_empty(),
            "the abandoned check stored nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn dead_process_lease_is_taken_over() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let now = app::time::now_ms();
        store::create(&db, team, &http_draft("api", "http://127.0.0.1:9/"), now, now, None)
            .await
            .unwrap();
        let dead = Scheduler::new(state_for(db.clone()), quick_config(), Clock::system());
        assert_eq!(
            dead.claim(10).await.len(),
            1,
            "claimed, then the process dies without a result"
        );

        let clock = Clock::system();
        let survivor =
            Scheduler::new(state_for(second_pool(&db).await), quick_config(), clock.clone());
        assert!(survivor.claim(10).await.is_empty());
        // The lease is the timeout (2 s) plus the margin (5 s), well within one 30 s interval.
        clock.advance(7_500);
        assert_eq!(survivor.claim(10).await.len(), 1, "taken over after the lease ran out");
    })
    .await;
}

#[tokio::test]
async fn missed_ticks_are_skipped_not_queued() {
    let database = TestDb::sqlite().await;
    let db = database.db.clone();
    let (server, target) = target().await;
    let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
    let clock = Clock::system();
    let now = clock.now_ms();
    let id = store::create(
        &db,
        team,
        &http_draft("api", &format!("{}/count/api", server.base)),
        now,
        now,
        None,
    )
    .await
    .unwrap();
    let scheduler = Scheduler::new(state_for(db.clone()), quick_config(), clock.clone());

    // The process was away for ten intervals: one check runs, not ten.
    clock.advance(10 * 30_000 + 5_000);
    let claimed = scheduler.claim(10).await;
    assert_eq!(claimed.len(), 1);
    let finished = server::worker::monitors::check(
        &state_for(db.clone()),
        &claimed[0],
        &clock,
        scheduler.owner(),
    )
    .await;
    assert!(finished.passed);
    // The next check stays on the monitor's phase: the first tick after now.
    assert_eq!(finished.next_check_at, now + 11 * 30_000);
    store::record_checks(&db, &[finished]).await.unwrap();
    assert!(scheduler.claim(10).await.is_empty(), "nothing is queued from the missed ticks");
    assert_eq!(target.hits.lock().unwrap().get("api"), Some(&1));
    assert_eq!(store::recent_checks(&db, id, None, 10).await.unwrap().len(), 1);
    database.drop_database().await;
}

#[tokio::test]
async fn scheduler_loop_confirms_failure_and_recovery() {
    on_each_backend(|db| async move {
        let (server, target) = target().await;
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let clock = Clock::system();
        let now = clock.now_ms();
        // Fails after 2 failing checks, recovers after 1 passing check.
        let id = store::create(
            &db,
            team,
            &http_draft("flaky", &format!("{}/flaky", server.base)),
            now,
            now,
            None,
        )
        .await
        .unwrap();
        let state = state_for(db.clone());
        let wakeup = state.monitor_wakeup.clone();
        let scheduler = Scheduler::new(state, quick_config(), clock.clone());
        let mut events = scheduler.subscribe();
        let shutdown = CancellationToken::new();
        let run = tokio::spawn(scheduler.run(shutdown.clone()));

        let mut next_state = async |healthy: bool| {
            *target.healthy.lock().unwrap() = healthy;
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("a check is stored within 10 s")
                .expect("the event channel is open");
            assert_eq!(event.monitor_id, id);
            // Jump to the next due time and wake the loop.
            clock.advance(30_000);
            wakeup.notify_one();
            event.state
        };
        assert_eq!(next_state(true).await, MonitorState::Healthy);
        assert_eq!(
            next_state(false).await,
            MonitorState::Healthy,
            "one failure is not yet an outage"
        );
        assert_eq!(next_state(false).await, MonitorState::Failed);
        assert_eq!(next_state(true).await, MonitorState::Healthy);

        shutdown.cancel();
        run.await.unwrap();
        let changes = store::state_changes(&db, id, None, 10).await.unwrap();
        let reasons: Vec<Option<String>> =
            changes.iter().map(|change| change.reason.clone()).collect();
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(reasons[1].as_deref(), Some("status 500 (expected 200–399)"));
    })
    .await;
}
