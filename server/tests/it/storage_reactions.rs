//! Reaction storage on both backends: execution paging and filters, app
//! locks, trigger claims.

use app::monitors::MonitorSettings;
use app::monitors::settings::HeartbeatSettings;
use app::reactions::settings::{CallOn, ReactionSettings};
use app::reactions::{ExecutionCursor, ExecutionFilter, ExecutionOutcome, ReactionKind};
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, MonitorDraft};
use app::storage::reactions::{self as store, NewExecution, ReactionDraft};

use crate::support::{add_team, on_each_backend};

const T0: i64 = 1_800_000_000_000;

/// A team with one monitor, and a reaction per (name, app, kind); returns the
/// team id and reaction ids. The connection is absent: storage does not need one.
async fn reactions(db: &Db, specs: &[(&str, &str, ReactionSettings)]) -> (i64, Vec<i64>) {
    let (team, _) = add_team(db, "Ops", "ops@example.com").await;
    let monitor = MonitorDraft {
        name: "checkout".into(),
        settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
        interval_secs: 60,
        fail_after: 1,
        recover_after: 1,
    };
    let monitor_id = monitors_store::create(db, team, &monitor, T0, T0, None).await.unwrap();
    let mut ids = Vec::new();
    for (name, app, settings) in specs {
        // Reactions need a connection row; create them without one, as after
        // a disconnect, by inserting directly.
        let settings_json = serde_json::to_string(settings).unwrap();
        let id: i64 = app::with_db!(db, pool => {
            sqlx::query_scalar(
                "INSERT INTO reactions (team_id, name, monitor_id, connection_id, app_name, kind, call_on, settings, \
                 trigger_count, frequency_secs, dry_run, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, NULL, $4, $5, 'failed', $6, 1, 0, FALSE, TRUE, $7, $7) RETURNING id",
            )
            .bind(team)
            .bind(*name)
            .bind(monitor_id)
            .bind(*app)
            .bind(settings.kind().as_str())
            .bind(&settings_json)
            .bind(T0)
            .fetch_one(pool)
            .await
            .unwrap()
        });
        ids.push(id);
    }
    (team, ids)
}

#[tokio::test]
async fn executions_page_newest_first_with_filters() {
    on_each_backend(|db| async move {
        let scale = ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 };
        let (team, ids) = reactions(
            &db,
            &[("scale", "shop", scale), ("restart", "blog", ReactionSettings::RestartAll)],
        )
        .await;
        let records = [
            store::get(&db, team, ids[0]).await.unwrap().unwrap(),
            store::get(&db, team, ids[1]).await.unwrap().unwrap(),
        ];
        // 30 executions, alternating reactions, two per instant to exercise ties.
        for n in 0..30i64 {
            let record = &records[(n % 2) as usize];
            let outcome =
                if n % 5 == 0 { ExecutionOutcome::Failed } else { ExecutionOutcome::Succeeded };
            store::write_execution(
                &db,
                &NewExecution {
                    team_id: team,
                    reaction: &record.reaction,
                    check_id: n,
                    monitor_state: "failed",
                    outcome,
                    summary: &format!("step {n}"),
                    detail: None,
                    error: None,
                    started_at: T0 + (n / 2) * 1000,
                    duration_ms: Some(5),
                },
            )
            .await
            .unwrap();
        }
        let all = ExecutionFilter::default();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store::list_executions(&db, team, &all, cursor, 7).await.unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(ExecutionCursor::of);
            seen.extend(page.into_iter().map(|execution| (execution.started_at, execution.id)));
        }
        assert_eq!(seen.len(), 30, "every record exactly once across pages");
        assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "strictly newest first: {seen:?}");

        let blog = ExecutionFilter { app: Some("blog".into()), ..ExecutionFilter::default() };
        let page = store::list_executions(&db, team, &blog, None, 100).await.unwrap();
        assert_eq!(page.len(), 15);
        assert!(page.iter().all(|execution| execution.app_name == "blog"
            && execution.kind == Some(ReactionKind::RestartAll)));

        let failed_scale = ExecutionFilter {
            reaction_id: Some(ids[0]),
            outcome: Some(ExecutionOutcome::Failed),
            ..ExecutionFilter::default()
        };
        let failed: Vec<String> = store::list_executions(&db, team, &failed_scale, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.summary)
            .collect();
        assert_eq!(failed, ["step 20", "step 10", "step 0"]);

        let window = ExecutionFilter {
            since: Some(T0 + 3000),
            until: Some(T0 + 5000),
            kind: Some(ReactionKind::ScaleOut),
            ..ExecutionFilter::default()
        };
        let in_window: Vec<String> = store::list_executions(&db, team, &window, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.summary)
            .collect();
        assert_eq!(in_window, ["step 8", "step 6"]);

        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        assert!(
            store::list_executions(&db, other_team, &all, None, 100).await.unwrap().is_empty(),
            "teams see only their own"
        );
        let one = store::get_execution(&db, team, seen[0].1).await.unwrap().unwrap();
        assert_eq!(one.summary, "step 29");
        assert!(store::get_execution(&db, other_team, seen[0].1).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn app_lock_excludes_until_released_or_expired() {
    on_each_backend(|db| async move {
        assert!(store::lock_app(&db, "1:shop", "a/1", T0, T0 + 1000).await.unwrap());
        assert!(
            !store::lock_app(&db, "1:shop", "a/2", T0 + 10, T0 + 1010).await.unwrap(),
            "same process, other trigger"
        );
        assert!(
            !store::lock_app(&db, "1:shop", "b/3", T0 + 10, T0 + 1010).await.unwrap(),
            "other process"
        );
        assert!(
            store::lock_app(&db, "1:blog", "b/3", T0 + 10, T0 + 1010).await.unwrap(),
            "other app"
        );
        store::unlock_app(&db, "1:shop", "b/3").await.unwrap();
        assert!(
            !store::lock_app(&db, "1:shop", "b/4", T0 + 20, T0 + 1020).await.unwrap(),
            "only the holder unlocks"
        );
        store::unlock_app(&db, "1:shop", "a/1").await.unwrap();
        assert!(store::lock_app(&db, "1:shop", "b/4", T0 + 30, T0 + 1030).await.unwrap());
        assert!(
            store::lock_app(&db, "1:shop", "c/5", T0 + 2000, T0 + 3000).await.unwrap(),
            "an expired lock is taken over"
        );
    })
    .await;
}

#[tokio::test]
async fn reaction_names_are_unique_per_team() {
    on_each_backend(|db| async move {
        let (team, _) = reactions(&db, &[]).await;
        let monitor = monitors_store::list(&db, team, None, None, 1).await.unwrap()[0].monitor.id;
        let connection: i64 = app::with_db!(&db, pool => {
            sqlx::query_scalar(
                "INSERT INTO heroku_connections (team_id, kind, heroku_user_id, email, state, access_token, created_at, updated_at) \
                 VALUES ($1, 'api_key', 'u1', 'a@example.com', 'ok', $2, $3, $3) RETURNING id",
            )
            .bind(team)
            .bind(vec![1u8, 2, 3])
            .bind(T0)
            .fetch_one(pool)
            .await
            .unwrap()
        });
        let draft = ReactionDraft {
            name: "scale".into(),
            monitor_id: monitor,
            connection_id: connection,
            app_name: "shop".into(),
            call_on: CallOn::Failed,
            settings: ReactionSettings::RestartAll,
            trigger_count: 1,
            frequency_secs: 0,
            dry_run: false,
            enabled: true,
        };
        let id = store::create(&db, team, &draft, T0).await.unwrap();
        assert!(matches!(store::create(&db, team, &draft, T0).await, Err(store::ReactionsError::DuplicateName)));
        let renamed = ReactionDraft { name: "scale again".into(), ..draft.clone() };
        store::create(&db, team, &renamed, T0).await.unwrap();
        assert!(matches!(store::update(&db, team, id, &renamed, T0).await, Err(store::ReactionsError::DuplicateName)));
        assert_eq!(store::list(&db, team).await.unwrap().len(), 2);
        assert!(store::delete(&db, team, id).await.unwrap());
    })
    .await;
}
