//! Reactions against the Heroku sandbox on both databases: each kind from
//! start to bound, trigger counts, cooldowns, dry runs, faults, concurrency
//! and interrupted steps.

use std::time::Duration;

use app::connections::ConnectionKind;
use app::heroku::client::{HerokuClient, StaticToken};
use app::heroku::sizes::DynoSize;
use app::monitors::MonitorSettings;
use app::monitors::settings::HeartbeatSettings;
use app::reactions::plan::Step;
use app::reactions::settings::{CallOn, ReactionSettings};
use app::reactions::{Execution, ExecutionDetail, ExecutionOutcome};
use app::state::AppState;
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, FinishedCheck, MonitorDraft};
use app::storage::reactions::{self as store, ReactionDraft};
use app::time::now_ms;
use server::sandbox::{Fault, SandboxAccount, SandboxOptions, SandboxServer};
use server::worker::clock::Clock;
use server::worker::reactions::{Engine, EngineConfig};

use crate::support::{
    add_connection, add_team, app_state, on_each_backend, sandbox_settings, seeded_app,
};

struct Fixture {
    db: Db,
    sandbox: SandboxServer,
    account: SandboxAccount,
    state: AppState,
    team: i64,
    connection: i64,
    monitor: i64,
}

impl Fixture {
    async fn new(db: Db) -> Fixture {
        Fixture::with_kind(db, ConnectionKind::Sandbox).await
    }

    async fn with_kind(db: Db, kind: ConnectionKind) -> Fixture {
        let sandbox =
            SandboxServer::start(SandboxOptions::default()).await.expect("the sandbox starts");
        let (team, owner) = add_team(&db, "Ops", &format!("ops-{}@example.com", now_ms())).await;
        let expires = (kind == ConnectionKind::OAuth).then(|| now_ms() + 8 * 3_600_000);
        let (connection, account) =
            add_connection(&db, &sandbox.sandbox, team, owner, kind, expires).await;
        let draft = MonitorDraft {
            name: "checkout".into(),
            settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
            interval_secs: 60,
            fail_after: 1,
            recover_after: 1,
        };
        let now = now_ms();
        let monitor =
            monitors_store::create(&db, team, &draft, now, now + 3_600_000, None).await.unwrap();
        let state = app_state(db.clone(), &sandbox.url);
        Fixture { db, sandbox, account, state, team, connection, monitor }
    }

    fn app(&self, prefix: &str) -> String {
        seeded_app(&self.account, prefix)
    }

    async fn reaction(
        &self,
        name: &str,
        app: &str,
        settings: ReactionSettings,
        tweak: impl FnOnce(&mut ReactionDraft),
    ) -> i64 {
        let mut draft = ReactionDraft {
            name: name.into(),
            monitor_id: self.monitor,
            connection_id: self.connection,
            app_name: app.into(),
            call_on: CallOn::Failed,
            settings,
            trigger_count: 1,
            frequency_secs: 0,
            dry_run: false,
            enabled: true,
        };
        tweak(&mut draft);
        store::create(&self.db, self.team, &draft, now_ms()).await.unwrap()
    }

    /// Stores one check of the monitor and returns the triggers it queued.
    async fn check(&self, passed: bool) -> u64 {
        let record = monitors_store::get(&self.db, self.team, self.monitor).await.unwrap().unwrap();
        let now = now_ms();
        let check = FinishedCheck {
            monitor_id: self.monitor,
            revision: record.revision,
            lease_owner: None,
            checked_at: now,
            passed,
            response_ms: None,
            status_code: None,
            reason: (!passed).then(|| "heartbeat missed".to_string()),
            next_check_at: now + 60_000,
            is_ping: passed,
            stale_if_pinged_after: None,
        };
        monitors_store::record_checks(&self.db, &[check])
            .await
            .unwrap()
            .iter()
            .map(|stored| stored.triggered)
            .sum()
    }

    fn engine(&self) -> Engine {
        Engine::new(self.state.clone(), EngineConfig::default(), Clock::system())
    }

    /// Lets the engine decide queued triggers until none is left; triggers
    /// that found their app busy come back after a short delay. Returns how
    /// many claims were made.
    async fn drain(&self) -> usize {
        let engine = self.engine();
        let mut claimed = 0;
        for _ in 0..100 {
            claimed += engine.run_once().await;
            if store::next_job_at(&self.db).await.unwrap().is_none() {
                return claimed;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("queued triggers were not decided within 10 s");
    }

    /// A failing check, and the engine deciding what it triggered.
    async fn fail_and_react(&self) -> usize {
        self.check(false).await;
        self.drain().await
    }

    async fn executions(&self, reaction: i64) -> Vec<Execution> {
        let mut list =
            store::executions_of_reaction(&self.db, self.team, reaction, 100).await.unwrap();
        list.reverse();
        list
    }

    fn client(&self) -> HerokuClient {
        HerokuClient::new(sandbox_settings(&self.sandbox.url).client).unwrap()
    }

    async fn quantity(&self, app: &str, process_type: &str) -> (u32, String) {
        let client = self.client();
        let token = StaticToken(self.account.api_key.clone());
        let formation = client.api(&token).formation(app).await.unwrap().value;
        let entry = formation.into_iter().find(|entry| entry.process_type == process_type).unwrap();
        (entry.quantity, entry.size.to_ascii_lowercase())
    }
}

fn outcomes(executions: &[Execution]) -> Vec<(ExecutionOutcome, String)> {
    executions.iter().map(|execution| (execution.outcome, execution.summary.clone())).collect()
}

#[tokio::test]
async fn scale_out_stops_at_max_quantity() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let app = fx.app("shop");
        let id = fx
            .reaction(
                "more web",
                &app,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 4 },
                |_| {},
            )
            .await;
        for _ in 0..4 {
            assert_eq!(fx.fail_and_react().await, 1, "each failing check triggers once");
        }
        assert_eq!(fx.quantity(&app, "web").await.0, 4);
        assert_eq!(
            outcomes(&fx.executions(id).await),
            [
                (ExecutionOutcome::Succeeded, "web 2 → 3".to_string()),
                (ExecutionOutcome::Succeeded, "web 3 → 4".to_string()),
                (ExecutionOutcome::AtBound, "web is at max 4".to_string()),
            ],
            "the bound is recorded once, not once per check"
        );
        assert_eq!(fx.sandbox.sandbox.calls(&format!("PATCH /apps/{app}/formation/web")), 2);
        let execution = &fx.executions(id).await[0];
        assert_eq!(execution.monitor_state, app::monitors::MonitorState::Failed);
        assert!(execution.duration_ms.is_some());
    })
    .await;
}

#[tokio::test]
async fn scale_in_respects_hand_scaling() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let app = fx.app("shop");
        let id = fx
            .reaction(
                "fewer web",
                &app,
                ReactionSettings::ScaleIn { process_type: "web".into(), min_quantity: 0 },
                |_| {},
            )
            .await;
        fx.fail_and_react().await;
        // Someone scales up by hand; the next step starts from what Heroku says.
        let token = StaticToken(fx.account.api_key.clone());
        fx.client().api(&token).update_formation(&app, "web", Some(5), None).await.unwrap();
        fx.fail_and_react().await;
        assert_eq!(fx.quantity(&app, "web").await.0, 4);
        for _ in 0..5 {
            fx.fail_and_react().await;
        }
        assert_eq!(fx.quantity(&app, "web").await.0, 0);
        let summaries: Vec<String> =
            fx.executions(id).await.into_iter().map(|e| e.summary).collect();
        assert_eq!(
            summaries,
            [
                "web 2 → 1",
                "web 5 → 4",
                "web 4 → 3",
                "web 3 → 2",
                "web 2 → 1",
                "web 1 → 0",
                "web is at min 0"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn scale_up_and_down_walk_the_ladder() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let up = fx
            .reaction(
                "bigger worker",
                &shop,
                ReactionSettings::ScaleUp {
                    process_type: "worker".into(),
                    max_size: DynoSize::PerformanceL,
                },
                |_| {},
            )
            .await;
        let api = fx.app("api");
        let down = fx
            .reaction(
                "smaller api",
                &api,
                ReactionSettings::ScaleDown {
                    process_type: "web".into(),
                    min_size: DynoSize::Standard1X,
                },
                |_| {},
            )
            .await;
        for _ in 0..3 {
            fx.fail_and_react().await;
        }
        assert_eq!(fx.quantity(&shop, "worker").await.1, "performance-l");
        assert_eq!(fx.quantity(&api, "web").await.1, "standard-1x");
        let up_summaries: Vec<String> =
            fx.executions(up).await.into_iter().map(|e| e.summary).collect();
        assert_eq!(
            up_summaries,
            [
                "worker Standard-2X → Performance-M",
                "worker Performance-M → Performance-L",
                "worker is at max size Performance-L"
            ]
        );
        let down_summaries: Vec<String> =
            fx.executions(down).await.into_iter().map(|e| e.summary).collect();
        assert_eq!(
            down_summaries,
            [
                "web Performance-M → Standard-2X",
                "web Standard-2X → Standard-1X",
                "web is at min size Standard-1X"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn tier_rules_are_refused_not_sent() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let blog = fx.app("blog");
        let id = fx
            .reaction(
                "more blog",
                &blog,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 3 },
                |_| {},
            )
            .await;
        fx.fail_and_react().await;
        fx.fail_and_react().await;
        let executions = fx.executions(id).await;
        assert_eq!(executions.len(), 1, "the refusal is recorded once");
        assert_eq!(executions[0].outcome, ExecutionOutcome::Failed);
        assert!(
            executions[0]
                .summary
                .contains("Cannot update to more than 1 Basic size dynos per process type"),
            "{}",
            executions[0].summary
        );
        assert_eq!(
            fx.sandbox.sandbox.calls(&format!("PATCH /apps/{blog}/formation/web")),
            0,
            "never sent to Heroku"
        );
    })
    .await;
}

#[tokio::test]
async fn restarts_name_missing_dynos() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let one = fx
            .reaction(
                "restart web.1",
                &shop,
                ReactionSettings::RestartDyno { dyno_name: "web.1".into() },
                |_| {},
            )
            .await;
        let gone = fx
            .reaction(
                "restart web.9",
                &shop,
                ReactionSettings::RestartDyno { dyno_name: "web.9".into() },
                |_| {},
            )
            .await;
        let all = fx.reaction("restart all", &shop, ReactionSettings::RestartAll, |_| {}).await;
        fx.fail_and_react().await;
        assert_eq!(
            outcomes(&fx.executions(one).await),
            [(ExecutionOutcome::Succeeded, "restart web.1".to_string())]
        );
        let missing = fx.executions(gone).await;
        assert_eq!(missing[0].outcome, ExecutionOutcome::Failed);
        assert_eq!(
            missing[0].summary,
            "dyno web.9 does not exist (the app runs web.1, web.2, worker.1)"
        );
        assert_eq!(fx.executions(all).await[0].outcome, ExecutionOutcome::Succeeded);
        assert_eq!(fx.sandbox.sandbox.calls(&format!("DELETE /apps/{shop}/dynos/web.1")), 1);
        assert_eq!(fx.sandbox.sandbox.calls(&format!("DELETE /apps/{shop}/dynos/web.9")), 0);
        assert_eq!(fx.sandbox.sandbox.calls(&format!("DELETE /apps/{shop}/dynos")), 1);
    })
    .await;
}

#[tokio::test]
async fn rollback_after_rollback_targets_older_code() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let api = fx.app("api");
        let id = fx
            .reaction(
                "roll back api",
                &api,
                ReactionSettings::Rollback { min_release_version: 9 },
                |_| {},
            )
            .await;
        for _ in 0..5 {
            fx.fail_and_react().await;
        }
        let summaries: Vec<String> =
            fx.executions(id).await.into_iter().map(|e| e.summary).collect();
        // v8 failed, so from v9's code the next target would be v7, below the minimum.
        assert_eq!(
            summaries,
            [
                "release v12 → v11 (new v13)",
                "release v13 (running v11) → v10 (new v14)",
                "release v14 (running v10) → v9 (new v15)",
                "running code of v9 is at or below the minimum release v9",
            ]
        );
        let token = StaticToken(fx.account.api_key.clone());
        let releases = fx.client().api(&token).releases(&api, 3, 3).await.unwrap().value;
        let descriptions: Vec<&str> =
            releases.iter().map(|release| release.description.as_str()).collect();
        assert_eq!(descriptions, ["Rollback to v9", "Rollback to v10", "Rollback to v11"]);
        let detail = fx.executions(id).await[0].detail.clone().unwrap();
        assert_eq!(detail.new_release_version, Some(13));
        assert!(matches!(detail.step, Some(Step::Rollback { target_version: 11, .. })));
    })
    .await;
}

#[tokio::test]
async fn one_off_runs_command_as_typed() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let command = "bin/cleanup --since '2 days' && echo \"done ✓\"";
        let id = fx
            .reaction(
                "cleanup",
                &shop,
                ReactionSettings::OneOff {
                    command: command.into(),
                    size: Some(DynoSize::Standard2X),
                    time_to_live_secs: Some(600),
                },
                |_| {},
            )
            .await;
        fx.fail_and_react().await;
        let execution = &fx.executions(id).await[0];
        assert_eq!(execution.outcome, ExecutionOutcome::Succeeded);
        let dyno = execution
            .detail
            .as_ref()
            .and_then(|detail| detail.dyno.clone())
            .expect("the dyno name is recorded");
        assert!(dyno.starts_with("run."), "{dyno}");
        assert!(execution.summary.ends_with(&format!("→ {dyno}")), "{}", execution.summary);
        let token = StaticToken(fx.account.api_key.clone());
        let started = fx.client().api(&token).dyno(&shop, &dyno).await.unwrap().value;
        assert_eq!(started.command, command, "sent exactly as typed");
        assert_eq!(started.size.to_ascii_lowercase(), "standard-2x");
    })
    .await;
}

#[tokio::test]
async fn dry_run_records_without_calling() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let id = fx
            .reaction(
                "try it",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 },
                |draft| draft.dry_run = true,
            )
            .await;
        fx.fail_and_react().await;
        fx.fail_and_react().await;
        assert_eq!(fx.quantity(&shop, "web").await.0, 2, "nothing changed at Heroku");
        assert_eq!(fx.sandbox.sandbox.calls(&format!("PATCH /apps/{shop}/formation/web")), 0);
        assert_eq!(
            outcomes(&fx.executions(id).await),
            [
                (ExecutionOutcome::DryRun, "would web 2 → 3".to_string()),
                (ExecutionOutcome::DryRun, "would web 2 → 3".to_string()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn trigger_count_and_frequency() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let id = fx
            .reaction(
                "patient",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 10 },
                |draft| {
                    draft.trigger_count = 2;
                    draft.frequency_secs = 3600;
                },
            )
            .await;
        assert_eq!(fx.check(false).await, 0, "one failing check is not enough");
        assert_eq!(fx.check(true).await, 0, "a healthy check breaks the run");
        assert_eq!(fx.check(false).await, 0);
        assert_eq!(fx.check(false).await, 1, "the second failing check in a row triggers");
        fx.engine().run_once().await;
        assert_eq!(fx.check(false).await, 1, "every further match triggers too");
        fx.engine().run_once().await;
        let executions = fx.executions(id).await;
        assert_eq!(executions[0].outcome, ExecutionOutcome::Succeeded);
        assert_eq!(
            executions[1].outcome,
            ExecutionOutcome::SkippedCooldown,
            "within the hour: cooldown"
        );
        assert_eq!(fx.quantity(&shop, "web").await.0, 3);
    })
    .await;
}

#[tokio::test]
async fn call_on_healthy_acts_on_passing_checks() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let id = fx
            .reaction(
                "calm down",
                &shop,
                ReactionSettings::ScaleIn { process_type: "web".into(), min_quantity: 1 },
                |draft| draft.call_on = CallOn::Healthy,
            )
            .await;
        assert_eq!(fx.check(false).await, 0);
        assert_eq!(fx.check(true).await, 1);
        fx.engine().run_once().await;
        assert_eq!(
            outcomes(&fx.executions(id).await),
            [(ExecutionOutcome::Succeeded, "web 2 → 1".to_string())]
        );
        assert_eq!(fx.executions(id).await[0].monitor_state, app::monitors::MonitorState::Healthy);
    })
    .await;
}

#[tokio::test]
async fn disabled_or_unauthorised_reactions_do_not_act() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let off = fx
            .reaction(
                "off",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 },
                |draft| draft.enabled = false,
            )
            .await;
        let on = fx
            .reaction(
                "on",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 },
                |_| {},
            )
            .await;
        assert_eq!(fx.check(false).await, 1, "only the enabled reaction is triggered");
        // The connection breaks after the trigger was queued.
        app::storage::connections::set_state(
            &fx.db,
            fx.connection,
            app::connections::ConnectionState::NeedsReauthorization,
            Some("refresh token revoked"),
            now_ms(),
        )
        .await
        .unwrap();
        fx.engine().run_once().await;
        assert!(fx.executions(off).await.is_empty());
        let blocked = fx.executions(on).await;
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].outcome, ExecutionOutcome::Failed);
        assert!(
            blocked[0].summary.contains("needs to be connected again"),
            "{}",
            blocked[0].summary
        );
        assert_eq!(fx.check(false).await, 0, "no triggers while the connection is broken");
        assert_eq!(fx.quantity(&shop, "web").await.0, 2);
    })
    .await;
}

#[tokio::test]
async fn heroku_errors_are_recorded() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let id = fx.reaction("more web", &shop, ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 }, |_| {}).await;
        let path = format!("/apps/{shop}/formation/web");
        let patches = || fx.sandbox.sandbox.calls(&format!("PATCH {path}"));
        let body = serde_json::json!({"id": "internal_server_error", "message": "Something broke at Heroku."});
        fx.sandbox.sandbox.add_fault(Fault::respond(&path, 20, 500, body));
        fx.fail_and_react().await;
        // Retried with backoff inside the client's 4 s deadline, not forever.
        let after_errors = patches();
        // With test delays of 50 to 400 ms (half of each random), 4 s allow at most about 22.
        assert!((2..=25).contains(&after_errors), "{after_errors} attempts during the 500s");
        let failed = &fx.executions(id).await[0];
        assert_eq!(failed.outcome, ExecutionOutcome::Failed);
        assert_eq!(failed.heroku_status, Some(500));
        assert_eq!(failed.heroku_error_id.as_deref(), Some("internal_server_error"));
        assert_eq!(failed.error_message.as_deref(), Some("Something broke at Heroku."));
        assert!(failed.heroku_request_id.is_some(), "the request id is kept");
        fx.sandbox.sandbox.clear_faults();

        let rate = serde_json::json!({"id": "rate_limit", "message": "Your account reached the API rate limit"});
        fx.sandbox.sandbox.add_fault(Fault::respond(&path, 50, 429, rate).with_retry_after(1));
        fx.fail_and_react().await;
        // Retry-After (1 s) spaces the attempts.
        let limited_attempts = patches() - after_errors;
        assert!((2..=5).contains(&limited_attempts), "{limited_attempts} attempts during the 429s");
        let limited = &fx.executions(id).await[1];
        assert_eq!(limited.outcome, ExecutionOutcome::Failed);
        assert_eq!(limited.heroku_error_id.as_deref(), Some("rate_limit"));
        fx.sandbox.sandbox.clear_faults();

        let before_hang = patches();
        fx.sandbox.sandbox.add_fault(Fault::hang(&path, 20, Duration::from_secs(10)));
        fx.fail_and_react().await;
        let hung_attempts = patches() - before_hang;
        assert!((1..=3).contains(&hung_attempts), "{hung_attempts} attempts that hung past the 1.5 s timeout");
        let slow = &fx.executions(id).await[2];
        assert_eq!(slow.outcome, ExecutionOutcome::Failed);
        assert_eq!(slow.error_message.as_deref(), Some("Heroku did not respond in time."), "{slow:?}");
        fx.sandbox.sandbox.clear_faults();

        let before_recovery = patches();
        fx.fail_and_react().await;
        assert_eq!(fx.executions(id).await[3].outcome, ExecutionOutcome::Succeeded, "it recovers once Heroku does");
        assert_eq!(patches() - before_recovery, 1);
        assert_eq!(fx.quantity(&shop, "web").await.0, 3, "of all those attempts, only one change took effect");
    })
    .await;
}

#[tokio::test]
async fn expired_token_is_refreshed_during_a_step() {
    on_each_backend(|db| async move {
        let fx = Fixture::with_kind(db, ConnectionKind::OAuth).await;
        let shop = fx.app("shop");
        let id = fx
            .reaction(
                "more web",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 },
                |_| {},
            )
            .await;
        fx.sandbox.sandbox.expire_access_tokens();
        fx.fail_and_react().await;
        assert_eq!(fx.executions(id).await[0].outcome, ExecutionOutcome::Succeeded);
        assert_eq!(fx.sandbox.sandbox.calls("grant refresh_token"), 1);
    })
    .await;
}

#[tokio::test]
async fn two_reactions_on_one_app_step_in_turn() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db.clone()).await;
        let shop = fx.app("shop");
        let first = fx
            .reaction(
                "first",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 },
                |_| {},
            )
            .await;
        let second = fx
            .reaction(
                "second",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 },
                |_| {},
            )
            .await;
        assert_eq!(fx.check(false).await, 2);
        // Two "processes" decide at once; the app lock serialises their steps.
        let other_state = app_state(second_pool(&db).await, &fx.sandbox.url);
        let engines =
            [fx.engine(), Engine::new(other_state, EngineConfig::default(), Clock::system())];
        let (a, b) = tokio::join!(engines[0].run_once(), engines[1].run_once());
        let mut rounds = 0;
        while fx.executions(first).await.is_empty() || fx.executions(second).await.is_empty() {
            rounds += 1;
            assert!(rounds < 50, "both triggers are decided");
            tokio::time::sleep(Duration::from_millis(300)).await;
            fx.engine().run_once().await;
        }
        assert!(a + b >= 2, "both triggers were claimed");
        assert_eq!(
            fx.quantity(&shop, "web").await.0,
            4,
            "two steps, each planned from the live state"
        );
        let mut summaries = vec![
            fx.executions(first).await[0].summary.clone(),
            fx.executions(second).await[0].summary.clone(),
        ];
        summaries.sort();
        assert_eq!(summaries, ["web 2 → 3", "web 3 → 4"]);
        assert_eq!(fx.sandbox.sandbox.calls(&format!("PATCH /apps/{shop}/formation/web")), 2);
    })
    .await;
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
async fn claimed_trigger_runs_once_across_processes() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db.clone()).await;
        let shop = fx.app("shop");
        let id = fx
            .reaction(
                "more web",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 },
                |_| {},
            )
            .await;
        fx.check(false).await;
        let other = Engine::new(
            app_state(second_pool(&db).await, &fx.sandbox.url),
            EngineConfig::default(),
            Clock::system(),
        );
        let this = fx.engine();
        let (a, b) = tokio::join!(this.run_once(), other.run_once());
        assert_eq!(a + b, 1, "one process claims the trigger");
        assert_eq!(fx.executions(id).await.len(), 1);
        assert_eq!(fx.quantity(&shop, "web").await.0, 3);
    })
    .await;
}

#[tokio::test]
async fn interrupted_step_is_reconciled_not_repeated() {
    on_each_backend(|db| async move {
        let fx = Fixture::new(db).await;
        let shop = fx.app("shop");
        let scale = fx
            .reaction(
                "more web",
                &shop,
                ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 },
                |_| {},
            )
            .await;
        let restart = fx.reaction("restart", &shop, ReactionSettings::RestartAll, |_| {}).await;
        fx.check(false).await;
        let jobs = store::claim_jobs(&fx.db, "dead-process", now_ms(), 10, 1).await.unwrap();
        assert_eq!(jobs.len(), 2);
        // The dead process had sent the scaling step (Heroku applied it) and
        // the restart, but stored neither result.
        let token = StaticToken(fx.account.api_key.clone());
        fx.client().api(&token).update_formation(&shop, "web", Some(3), None).await.unwrap();
        for job in &jobs {
            let record = store::get(&fx.db, fx.team, job.reaction_id).await.unwrap().unwrap();
            let step = if job.reaction_id == scale {
                Step::SetQuantity { process_type: "web".into(), from: 2, to: 3 }
            } else {
                Step::RestartAll
            };
            let detail = serde_json::to_string(&ExecutionDetail {
                step: Some(step),
                ..ExecutionDetail::default()
            })
            .unwrap();
            let summary =
                if job.reaction_id == scale { "web 2 → 3" } else { "restart all 3 dynos" };
            store::write_execution(
                &fx.db,
                &store::NewExecution {
                    team_id: fx.team,
                    reaction: &record.reaction,
                    check_id: job.check_id,
                    monitor_state: "failed",
                    outcome: ExecutionOutcome::Running,
                    summary,
                    detail: Some(&detail),
                    error: None,
                    started_at: now_ms(),
                    duration_ms: None,
                },
            )
            .await
            .unwrap();
        }
        // The leases (1 ms) ran out; a live process takes the triggers over.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(fx.drain().await >= 2);
        assert_eq!(
            outcomes(&fx.executions(scale).await),
            [(
                ExecutionOutcome::Succeeded,
                "web 2 → 3 (confirmed after an interruption)".to_string()
            )]
        );
        let restarted = fx.executions(restart).await;
        assert_eq!(restarted[0].outcome, ExecutionOutcome::Failed);
        assert_eq!(restarted[0].summary, "restart all 3 dynos: outcome unknown");
        assert_eq!(
            fx.sandbox.sandbox.calls(&format!("PATCH /apps/{shop}/formation/web")),
            1,
            "not sent twice"
        );
        assert_eq!(fx.sandbox.sandbox.calls(&format!("DELETE /apps/{shop}/dynos")), 0);
        assert_eq!(fx.quantity(&shop, "web").await.0, 3);
    })
    .await;
}
