//! Timeline page latency with many records. The benchmark fills a scratch
//! database with executions and state changes (one bulk statement each).
//! Then it times one page of the timeline, read as the page and the exports
//! read it, for the first page, a deep page and each filter.

use std::time::Instant;

use anyhow::Context;
use app::heroku::sizes::DynoSize;
use app::reactions::{ExecutionFilter, ExecutionOutcome, ReactionKind, ReactionSettings};
use app::storage::Db;
use app::storage::timeline as store;
use app::time::now_ms;
use app::timeline::{PAGE_SIZE, TimelineCursor};

use super::seed::{self, Scratch};
use super::{TimelineArgs, percentile};

const MONITORS: i64 = 20;
const REACTIONS: i64 = 50;
const APPS: i64 = 10;
/// Executions per state change in the filled history.
const EXECUTIONS_PER_STATE_CHANGE: i64 = 100;

pub async fn run(args: TimelineArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.executions >= 1000, "--executions must be at least 1000");
    anyhow::ensure!(args.samples > 0, "--samples must be at least 1");
    let scratch = Scratch::open(args.database_url.as_deref(), 4).await?;
    println!(
        "timeline: {} executions and {} state changes of one team ({MONITORS} monitors, {REACTIONS} reactions on {APPS} apps), pages of {PAGE_SIZE}, {} samples per case, on {}",
        args.executions,
        args.executions / EXECUTIONS_PER_STATE_CHANGE as u64,
        args.samples,
        scratch.describe()
    );
    let team = seed::team(&scratch.db).await?;
    let newest = now_ms();
    let started = Instant::now();
    let (monitors, reactions) = fill(&scratch.db, team.id, args.executions, newest).await?;
    println!("filled in {:.1} s", started.elapsed().as_secs_f64());

    let deep_row = (args.executions * 9 / 10) as i64;
    let deep: (i64, i64) = app::with_db!(&scratch.db, pool => {
        sqlx::query_as("SELECT started_at, id FROM executions WHERE check_id = $1")
            .bind(deep_row)
            .fetch_one(pool)
            .await
    })
    .context("finding the deep page's cursor failed")?;
    let deep = TimelineCursor { at: deep.0, state_change: false, id: deep.1 };

    let all = ExecutionFilter::default();
    let cases: Vec<(String, ExecutionFilter, Option<TimelineCursor>)> = vec![
        ("first page".into(), all.clone(), None),
        (format!("deep page (after entry {deep_row})"), all.clone(), Some(deep)),
        ("app".into(), ExecutionFilter { app: Some("app-3".into()), ..all.clone() }, None),
        (
            "app, deep".into(),
            ExecutionFilter { app: Some("app-3".into()), ..all.clone() },
            Some(deep),
        ),
        ("monitor".into(), ExecutionFilter { monitor_id: Some(monitors[7]), ..all.clone() }, None),
        (
            "reaction".into(),
            ExecutionFilter { reaction_id: Some(reactions[11]), ..all.clone() },
            None,
        ),
        (
            "kind".into(),
            ExecutionFilter { kind: Some(ReactionKind::Rollback), ..all.clone() },
            None,
        ),
        (
            "outcome (failed, 5%)".into(),
            ExecutionFilter { outcome: Some(ExecutionOutcome::Failed), ..all.clone() },
            None,
        ),
        (
            "time range (one hour, three days back)".into(),
            ExecutionFilter {
                since: Some(newest - 3 * 86_400_000),
                until: Some(newest - 3 * 86_400_000 + 3_600_000),
                ..all.clone()
            },
            None,
        ),
        (
            "app and outcome (failed)".into(),
            ExecutionFilter {
                app: Some("app-0".into()),
                outcome: Some(ExecutionOutcome::Failed),
                ..all.clone()
            },
            None,
        ),
        // The filled data has no failure on app-3, so this reads the app's
        // whole index range: the worst case of two filters without a
        // composite index.
        (
            "app and outcome, no match".into(),
            ExecutionFilter {
                app: Some("app-3".into()),
                outcome: Some(ExecutionOutcome::Failed),
                ..all.clone()
            },
            None,
        ),
    ];

    println!("{:<40} {:>9} {:>9} {:>8}", "case", "p50 ms", "p95 ms", "entries");
    for (name, filter, before) in cases {
        let mut micros = Vec::with_capacity(args.samples);
        let mut entries = 0;
        // Two unmeasured reads warm the caches, as a page in use would be.
        for sample in 0..args.samples + 2 {
            let start = Instant::now();
            let (page, _) = store::page(&scratch.db, team.id, &filter, before, PAGE_SIZE)
                .await
                .with_context(|| format!("reading the page for {name} failed"))?;
            if sample >= 2 {
                micros.push(start.elapsed().as_micros() as i64);
            }
            entries = page.len();
        }
        micros.sort_unstable();
        println!(
            "{name:<40} {:>9.2} {:>9.2} {entries:>8}",
            percentile(&micros, 0.5) as f64 / 1000.0,
            percentile(&micros, 0.95) as f64 / 1000.0,
        );
    }
    scratch.close().await;
    Ok(())
}

/// Creates the monitors and reactions, then the executions and state
/// changes in one statement each; returns the monitor and reaction ids.
pub(super) async fn fill(
    db: &Db,
    team: i64,
    executions: u64,
    newest: i64,
) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
    let mut monitors = Vec::new();
    for index in 0..MONITORS {
        let id: i64 = app::with_db!(db, pool => {
            sqlx::query_scalar(
                "INSERT INTO monitors (team_id, name, kind, settings, timeout_ms, interval_secs, fail_after, \
                 recover_after, state, state_changed_at, next_check_at, created_at, updated_at) \
                 VALUES ($1, $2, 'heartbeat', '{\"kind\":\"heartbeat\",\"grace_secs\":60}', 1000, 60, 1, 1, \
                 'paused', $3, $3, $3, $3) RETURNING id",
            )
            .bind(team)
            .bind(format!("monitor {index}"))
            .bind(newest)
            .fetch_one(pool)
            .await
        })?;
        monitors.push(id);
    }
    let kinds = ReactionKind::ALL;
    let mut reactions = Vec::new();
    for index in 0..REACTIONS {
        let kind = kinds[(index % kinds.len() as i64) as usize];
        let settings = serde_json::to_string(&settings_of(kind))?;
        let id: i64 = app::with_db!(db, pool => {
            sqlx::query_scalar(
                "INSERT INTO reactions (team_id, name, monitor_id, connection_id, app_name, kind, call_on, settings, \
                 trigger_count, frequency_secs, dry_run, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, NULL, $4, $5, 'failed', $7, 1, 0, FALSE, FALSE, $6, $6) RETURNING id",
            )
            .bind(team)
            .bind(format!("reaction {index}"))
            .bind(monitors[(index % MONITORS) as usize])
            .bind(format!("app-{}", index % APPS))
            .bind(kind.as_str())
            .bind(newest)
            .bind(&settings)
            .fetch_one(pool)
            .await
        })?;
        reactions.push(id);
    }
    anyhow::ensure!(
        monitors.windows(2).all(|pair| pair[1] == pair[0] + 1)
            && reactions.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "the scratch database must hand out consecutive ids"
    );

    // Row i belongs to reaction i % 50, whose monitor is (i % 50) % 20, app
    // (i % 50) % 10 and kind (i % 50) % 8, as the reactions above. Two rows
    // share each second; 5% fail and 5% are at their bound.
    let numbers = match db {
        Db::Sqlite(_) => {
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1) "
        }
        Db::Postgres(_) => "WITH n(i) AS (SELECT generate_series(0, $1 - 1)) ",
    };
    let kind_case: String = kinds
        .iter()
        .enumerate()
        .map(|(index, kind)| format!("WHEN {index} THEN '{}' ", kind.as_str()))
        .collect();
    let insert = format!(
        "{numbers}INSERT INTO executions (team_id, reaction_id, reaction_name, monitor_id, monitor_name, check_id, \
         monitor_state, connection_id, app_name, kind, outcome, summary, error_message, started_at, duration_ms) \
         SELECT $2, $3 + i % {REACTIONS}, 'reaction ' || (i % {REACTIONS}), $4 + i % {REACTIONS} % {MONITORS}, \
         'monitor ' || (i % {REACTIONS} % {MONITORS}), i, 'failed', NULL, 'app-' || (i % {REACTIONS} % {APPS}), \
         CASE i % {REACTIONS} % {} {kind_case}END, \
         CASE i % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'at_bound' ELSE 'succeeded' END, 'web 2 → 3', \
         CASE i % 20 WHEN 0 THEN 'Heroku returned 503' ELSE NULL END, $5 - (i / 2) * 1000, 40 FROM n",
        kinds.len()
    );
    app::with_db!(db, pool => {
        sqlx::query(&insert)
            .bind(executions as i64)
            .bind(team)
            .bind(reactions[0])
            .bind(monitors[0])
            .bind(newest)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .context("filling executions failed")?;

    let changes = (executions as i64 / EXECUTIONS_PER_STATE_CHANGE).max(1);
    let insert_changes = format!(
        "{numbers}INSERT INTO monitor_state_changes (monitor_id, from_state, to_state, reason, changed_at) \
         SELECT $2 + i % {MONITORS}, CASE i % 2 WHEN 0 THEN 'healthy' ELSE 'failed' END, \
         CASE i % 2 WHEN 0 THEN 'failed' ELSE 'healthy' END, 'status 503 (expected 200–399)', \
         $3 - i * {} FROM n",
        EXECUTIONS_PER_STATE_CHANGE * 500
    );
    app::with_db!(db, pool => {
        sqlx::query(&insert_changes).bind(changes).bind(monitors[0]).bind(newest).execute(pool).await.map(|_| ())
    })
    .context("filling state changes failed")?;

    // Postgres's autovacuum analyses a table this size soon after the
    // insert; doing it now measures that steady state. SQLite gathers no
    // statistics unless `ANALYZE` runs, and Rebound never runs it, so the
    // SQLite figures are without them.
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE").execute(pool).await.context("ANALYZE failed")?;
    }
    Ok((monitors, reactions))
}

/// Valid settings of each kind, so that pages can show the reactions.
fn settings_of(kind: ReactionKind) -> ReactionSettings {
    let process_type = "web".to_string();
    match kind {
        ReactionKind::ScaleOut => ReactionSettings::ScaleOut { process_type, max_quantity: 10 },
        ReactionKind::ScaleIn => ReactionSettings::ScaleIn { process_type, min_quantity: 1 },
        ReactionKind::ScaleUp => {
            ReactionSettings::ScaleUp { process_type, max_size: DynoSize::Standard2X }
        }
        ReactionKind::ScaleDown => {
            ReactionSettings::ScaleDown { process_type, min_size: DynoSize::Standard1X }
        }
        ReactionKind::RestartDyno => ReactionSettings::RestartDyno { dyno_name: "web.1".into() },
        ReactionKind::RestartAll => ReactionSettings::RestartAll,
        ReactionKind::Rollback => ReactionSettings::Rollback { min_release_version: 1 },
        ReactionKind::OneOff => ReactionSettings::OneOff {
            command: "bin/cleanup".into(),
            size: None,
            time_to_live_secs: None,
        },
    }
}
