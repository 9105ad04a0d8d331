//! Timeline storage on both backends: executions and state changes
//! interleaved, filters, and paging without gaps or repeats across equal
//! timestamps; and the out-of-order migration number.

use std::collections::HashSet;

use app::monitors::MonitorSettings;
use app::monitors::settings::HeartbeatSettings;
use app::reactions::settings::ReactionSettings;
use app::reactions::{ExecutionFilter, ExecutionOutcome, ReactionKind};
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, MonitorDraft};
use app::storage::reactions::{self as reactions_store, NewExecution};
use app::storage::timeline as store;
use app::timeline::{TimelineCursor, TimelineEntry};

use crate::support::{add_team, on_each_backend};

const T0: i64 = 1_800_000_000_000;

async fn monitor(db: &Db, team: i64, name: &str) -> i64 {
    let draft = MonitorDraft {
        name: name.into(),
        settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
        interval_secs: 60,
        fail_after: 1,
        recover_after: 1,
    };
    monitors_store::create(db, team, &draft, T0, T0, None).await.unwrap()
}

async fn reaction(
    db: &Db,
    team: i64,
    monitor_id: i64,
    name: &str,
    app: &str,
    settings: &ReactionSettings,
) -> i64 {
    let settings_json = serde_json::to_string(settings).unwrap();
    app::with_db!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO reactions (team_id, name, monitor_id, connection_id, app_name, kind, call_on, settings, \
             trigger_count, frequency_secs, dry_run, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, 'failed', $6, 1, 0, FALSE, TRUE, $7, $7) RETURNING id",
        )
        .bind(team)
        .bind(name)
        .bind(monitor_id)
        .bind(app)
        .bind(settings.kind().as_str())
        .bind(&settings_json)
        .bind(T0)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

async fn state_change(db: &Db, monitor_id: i64, to: &str, at: i64) -> i64 {
    app::with_db!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO monitor_state_changes (monitor_id, from_state, to_state, reason, changed_at) \
             VALUES ($1, 'healthy', $2, 'test', $3) RETURNING id",
        )
        .bind(monitor_id)
        .bind(to)
        .bind(at)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

async fn execution(
    db: &Db,
    team: i64,
    reaction_id: i64,
    check_id: i64,
    outcome: ExecutionOutcome,
    at: i64,
) -> i64 {
    let record = reactions_store::get(db, team, reaction_id).await.unwrap().unwrap();
    reactions_store::write_execution(
        db,
        &NewExecution {
            team_id: team,
            reaction: &record.reaction,
            check_id,
            monitor_state: "failed",
            outcome,
            summary: &format!("step {check_id}"),
            detail: None,
            error: None,
            started_at: at,
            duration_ms: Some(3),
        },
    )
    .await
    .unwrap()
}

/// Reads every entry of the filtered timeline page by page.
async fn read_all(
    db: &Db,
    team: i64,
    filter: &ExecutionFilter,
    page_size: u32,
) -> Vec<TimelineCursor> {
    let mut seen = Vec::new();
    let mut before = None;
    for _ in 0..1000 {
        let (entries, next) = store::page(db, team, filter, before, page_size).await.unwrap();
        assert!(entries.len() <= page_size as usize);
        seen.extend(entries.iter().map(TimelineEntry::cursor));
        match next {
            Some(next) => before = Some(next),
            None => return seen,
        }
    }
    panic!("paging did not end");
}

/// Creates a team with two monitors and three reactions, and entries of
/// which many share instants. Returns (team, monitors, reactions).
async fn busy_team(db: &Db) -> (i64, [i64; 2], [i64; 3]) {
    let (team, _) = add_team(db, "Ops", "ops@example.com").await;
    let checkout = monitor(db, team, "checkout").await;
    let search = monitor(db, team, "search").await;
    let scale = ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 };
    let r1 = reaction(db, team, checkout, "scale shop", "shop", &scale).await;
    let r2 =
        reaction(db, team, checkout, "restart shop", "shop", &ReactionSettings::RestartAll).await;
    let r3 =
        reaction(db, team, search, "restart blog", "blog", &ReactionSettings::RestartAll).await;
    // 40 executions over 10 instants, and a state change at most of them.
    for n in 0..40i64 {
        let reaction = [r1, r2, r3][(n % 3) as usize];
        let outcome =
            if n % 4 == 0 { ExecutionOutcome::Failed } else { ExecutionOutcome::Succeeded };
        execution(db, team, reaction, n, outcome, T0 + (n / 4) * 1000).await;
    }
    for n in 0..10i64 {
        let monitor = if n % 2 == 0 { checkout } else { search };
        state_change(db, monitor, if n % 2 == 0 { "failed" } else { "healthy" }, T0 + n * 1000)
            .await;
        if n % 3 == 0 {
            state_change(db, monitor, "healthy", T0 + n * 1000).await;
        }
    }
    (team, [checkout, search], [r1, r2, r3])
}

#[tokio::test]
async fn timeline_pages_cover_everything_once() {
    on_each_backend(|db| async move {
        let (team, _, _) = busy_team(&db).await;
        let all = ExecutionFilter::default();
        let expected = 40 + 10 + 4;
        for page_size in [1, 3, 7, 50, 100] {
            let seen = read_all(&db, team, &all, page_size).await;
            assert_eq!(seen.len(), expected, "page size {page_size}");
            let unique: HashSet<_> = seen.iter().map(|c| (c.state_change, c.id)).collect();
            assert_eq!(unique.len(), expected, "no entry twice at page size {page_size}");
            assert!(
                seen.windows(2).all(|pair| pair[0] > pair[1]),
                "strictly newest first at page size {page_size}: {seen:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn timeline_puts_execution_above_its_cause() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let checkout = monitor(&db, team, "checkout").await;
        let scale = ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 5 };
        let r = reaction(&db, team, checkout, "scale shop", "shop", &scale).await;
        state_change(&db, checkout, "failed", T0).await;
        execution(&db, team, r, 1, ExecutionOutcome::Succeeded, T0).await;
        execution(&db, team, r, 2, ExecutionOutcome::AtBound, T0 + 5).await;
        let (entries, next) =
            store::page(&db, team, &ExecutionFilter::default(), None, 10).await.unwrap();
        let kinds: Vec<&str> = entries
            .iter()
            .map(|entry| match entry {
                TimelineEntry::Execution(e) if e.outcome == ExecutionOutcome::AtBound => "at bound",
                TimelineEntry::Execution(_) => "succeeded",
                TimelineEntry::StateChange(_) => "failed",
            })
            .collect();
        assert_eq!(kinds, ["at bound", "succeeded", "failed"]);
        assert_eq!(next, None);
    })
    .await;
}

#[tokio::test]
async fn timeline_filters_select_matching_entries() {
    on_each_backend(|db| async move {
        let (team, [checkout, search], [r1, _, r3]) = busy_team(&db).await;
        let page = |filter: ExecutionFilter| {
            let db = db.clone();
            async move { store::page(&db, team, &filter, None, 200).await.unwrap().0 }
        };

        let shop = page(ExecutionFilter { app: Some("shop".into()), ..Default::default() }).await;
        assert!(shop.iter().all(|entry| match entry {
            TimelineEntry::Execution(e) => e.app_name == "shop",
            TimelineEntry::StateChange(c) => c.monitor_id == checkout,
        }));
        assert_eq!(shop.iter().filter(|e| matches!(e, TimelineEntry::Execution(_))).count(), 27);
        assert_eq!(shop.iter().filter(|e| matches!(e, TimelineEntry::StateChange(_))).count(), 5 + 2);

        let by_monitor = page(ExecutionFilter { monitor_id: Some(search), ..Default::default() }).await;
        assert!(by_monitor.iter().all(|entry| match entry {
            TimelineEntry::Execution(e) => e.monitor_id == Some(search),
            TimelineEntry::StateChange(c) => c.monitor_id == search,
        }));
        assert_eq!(by_monitor.len(), 13 + 5 + 2);

        let by_reaction = page(ExecutionFilter { reaction_id: Some(r3), ..Default::default() }).await;
        assert_eq!(by_reaction.iter().filter(|e| matches!(e, TimelineEntry::Execution(_))).count(), 13);
        assert!(by_reaction.iter().all(|entry| match entry {
            TimelineEntry::Execution(e) => e.reaction_id == Some(r3),
            TimelineEntry::StateChange(c) => c.monitor_id == search,
        }));

        let failed = page(ExecutionFilter { outcome: Some(ExecutionOutcome::Failed), ..Default::default() }).await;
        assert_eq!(failed.len(), 10, "outcome filters show executions only");
        assert!(failed.iter().all(|entry| matches!(entry, TimelineEntry::Execution(e) if e.outcome == ExecutionOutcome::Failed)));

        let kind = page(ExecutionFilter { kind: Some(ReactionKind::ScaleOut), ..Default::default() }).await;
        assert_eq!(kind.len(), 14);
        assert!(kind.iter().all(|entry| matches!(entry, TimelineEntry::Execution(e) if e.reaction_id == Some(r1))));

        let window = page(ExecutionFilter { since: Some(T0 + 2000), until: Some(T0 + 4000), ..Default::default() }).await;
        assert!(window.iter().all(|entry| (T0 + 2000..T0 + 4000).contains(&entry.at())));
        assert_eq!(window.len(), 8 + 2 + 1);

        // Paging a filtered timeline also returns every entry once.
        let shop_filter = ExecutionFilter { app: Some("shop".into()), ..Default::default() };
        let seen = read_all(&db, team, &shop_filter, 4).await;
        assert_eq!(seen.len(), shop.len());
        assert_eq!(seen, shop.iter().map(TimelineEntry::cursor).collect::<Vec<_>>());

        let (other, _) = add_team(&db, "Other", "other@example.com").await;
        assert!(page_of(&db, other).await.is_empty(), "another team sees nothing");
    })
    .await;
}

#[tokio::test]
async fn scaling_history_keeps_newest_succeeded_steps() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let checkout = monitor(&db, team, "checkout").await;
        let out = ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: 9 };
        let up = ReactionSettings::ScaleUp {
            process_type: "web".into(),
            max_size: app::heroku::sizes::DynoSize::Standard2X,
        };
        let scale_out = reaction(&db, team, checkout, "out", "shop", &out).await;
        let scale_up = reaction(&db, team, checkout, "up", "shop", &up).await;
        let restart =
            reaction(&db, team, checkout, "restart", "shop", &ReactionSettings::RestartAll).await;
        let elsewhere = reaction(&db, team, checkout, "blog out", "blog", &out).await;
        // Steps of two scaling kinds interleaved in time, plus ones the chart
        // must leave out: a failed step, a restart and another app.
        let mut expected = Vec::new();
        for n in 0..6i64 {
            let at = T0 + n * 1000;
            let kind = if n % 2 == 0 { scale_out } else { scale_up };
            expected.push(execution(&db, team, kind, n, ExecutionOutcome::Succeeded, at).await);
            execution(&db, team, scale_out, 100 + n, ExecutionOutcome::Failed, at + 1).await;
            execution(&db, team, restart, 200 + n, ExecutionOutcome::Succeeded, at + 2).await;
            execution(&db, team, elsewhere, 300 + n, ExecutionOutcome::Succeeded, at + 3).await;
        }

        let ids = |steps: Vec<app::reactions::Execution>| {
            steps.into_iter().map(|step| step.id).collect::<Vec<_>>()
        };
        let all = store::scaling_history(&db, team, "shop", None, None, 100).await.unwrap();
        assert_eq!(ids(all), expected, "succeeded scaling steps of shop, oldest first");
        let newest = store::scaling_history(&db, team, "shop", None, None, 4).await.unwrap();
        assert_eq!(ids(newest), expected[2..].to_vec(), "the newest 4, oldest first");
        let ranged =
            store::scaling_history(&db, team, "shop", Some(T0 + 1000), Some(T0 + 4000), 100)
                .await
                .unwrap();
        assert_eq!(ids(ranged), expected[1..4].to_vec(), "steps within [since, until)");
    })
    .await;
}

#[tokio::test]
async fn latest_execution_of_each_reaction() {
    on_each_backend(|db| async move {
        let (team, _, [r1, r2, r3]) = busy_team(&db).await;
        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        let other_monitor = monitor(&db, other_team, "other").await;
        let other = reaction(
            &db,
            other_team,
            other_monitor,
            "other",
            "other-app",
            &ReactionSettings::RestartAll,
        )
        .await;
        execution(&db, other_team, other, 999, ExecutionOutcome::Succeeded, T0 + 99_000).await;
        // A step recorded later but started earlier does not count as newest.
        execution(&db, team, r1, 500, ExecutionOutcome::Succeeded, T0 - 1000).await;
        let quiet =
            reaction(&db, team, other_monitor, "quiet", "shop", &ReactionSettings::RestartAll)
                .await;

        let mut latest: Vec<(Option<i64>, Option<i64>)> =
            reactions_store::latest_executions(&db, team)
                .await
                .unwrap()
                .into_iter()
                .map(|execution| (execution.reaction_id, execution.check_id))
                .collect();
        latest.sort();
        // busy_team's step n belongs to reaction n % 3; the newest are 39, 37 and 38.
        assert_eq!(latest, vec![(Some(r1), Some(39)), (Some(r2), Some(37)), (Some(r3), Some(38))]);
        assert!(!latest.iter().any(|(id, _)| *id == Some(quiet)), "no step, no entry");
    })
    .await;
}

async fn page_of(db: &Db, team: i64) -> Vec<TimelineEntry> {
    store::page(db, team, &ExecutionFilter::default(), None, 100).await.unwrap().0
}

#[tokio::test]
async fn migration_numbered_before_a_newer_one_applies() {
    on_each_backend(|db| async move {
        // A database that ran every migration but this one, as one created
        // before it existed.
        app::with_db!(&db, pool => {
            sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 5").execute(pool).await.unwrap();
            sqlx::query("DROP INDEX monitor_state_changes_changed_at").execute(pool).await.unwrap();
            sqlx::query("DROP INDEX monitor_state_changes_monitor_changed_at_id").execute(pool).await.unwrap();
            sqlx::query("DROP INDEX executions_team_app_kind_started_at").execute(pool).await.unwrap();
            sqlx::query("CREATE INDEX monitor_state_changes_monitor_changed_at ON monitor_state_changes (monitor_id, changed_at)")
                .execute(pool)
                .await
                .unwrap();
        });
        let report = db.migrate().await.expect("the missing migration applies after 0006");
        assert_eq!(report.applied_now, 1);
        let versions: Vec<i64> = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.unwrap()
        });
        assert!(versions.contains(&5), "{versions:?}");
        assert!(versions.contains(&6), "{versions:?}");
        assert!(page_of(&db, add_team(&db, "Ops", "ops@example.com").await.0).await.is_empty());
    })
    .await;
}
