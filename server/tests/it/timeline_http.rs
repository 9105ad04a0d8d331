//! The timeline over HTTP: CSV and JSON exports (quoting, shape, paging
//! across export pages, other teams), filter errors, the page without
//! JavaScript, and the overview.

use app::accounts::Role;
use app::connections::ConnectionKind;
use app::reactions::ExecutionOutcome;
use app::storage::Db;
use app::storage::reactions::{self as reactions_store, ExecutionError, NewExecution};
use app::time::now_ms;
use serde_json::Value;

use crate::support::{
    TestServer, add_connection, add_team, add_user, on_each_backend, scale_out_reaction,
};

/// Writes one execution of `reaction_id`; returns its id.
async fn record(
    db: &Db,
    team: i64,
    reaction_id: i64,
    check_id: i64,
    summary: &str,
    error: Option<ExecutionError<'_>>,
    at: i64,
) -> i64 {
    let reaction = reactions_store::get(db, team, reaction_id).await.unwrap().unwrap().reaction;
    reactions_store::write_execution(
        db,
        &NewExecution {
            team_id: team,
            reaction: &reaction,
            check_id,
            monitor_state: "failed",
            outcome: if error.is_some() {
                ExecutionOutcome::Failed
            } else {
                ExecutionOutcome::Succeeded
            },
            summary,
            detail: None,
            error,
            started_at: at,
            duration_ms: Some(12),
        },
    )
    .await
    .unwrap()
}

/// Copies `count` executions of `reaction_id` in one statement, one
/// millisecond apart before `at`.
async fn many(db: &Db, team: i64, reaction_id: i64, count: i64, at: i64) {
    app::with_db!(db, pool => {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
             INSERT INTO executions (team_id, reaction_id, reaction_name, monitor_id, monitor_name, check_id, \
             monitor_state, connection_id, app_name, kind, outcome, summary, started_at) \
             SELECT $2, $3, 'bulk', NULL, 'bulk monitor', 100000 + i, 'failed', NULL, 'bulk-app', 'scale_out', \
             'succeeded', 'bulk step', $4 - i FROM n",
        )
        .bind(count)
        .bind(team)
        .bind(reaction_id)
        .bind(at)
        .execute(pool)
        .await
        .unwrap();
    });
}

struct Fixture {
    server: TestServer,
    team: i64,
    reaction: i64,
}

async fn fixture(db: &Db) -> Fixture {
    let (team, owner) = add_team(db, "Team A", "owner@team-a.test").await;
    add_user(db, "viewer@team-a.test", team, Role::Viewer).await;
    add_team(db, "Team B", "owner@team-b.test").await;
    let server = TestServer::start(db.clone()).await;
    let (connection, _) =
        add_connection(db, &server.sandbox.sandbox, team, owner, ConnectionKind::Sandbox, None)
            .await;
    let reaction = scale_out_reaction(db, team, connection, "shop-a").await;
    Fixture { server, team, reaction }
}

#[tokio::test]
async fn csv_export_quotes_fields() {
    on_each_backend(|db| async move {
        let f = fixture(&db).await;
        let now = now_ms();
        record(&db, f.team, f.reaction, 1, "web 2 → 3, \"fast\"", None, now - 2000).await;
        let error = ExecutionError {
            message: "Heroku said:\nno, not now",
            status: Some(422),
            heroku_id: Some("invalid_params"),
            request_id: Some("req-123"),
        };
        record(&db, f.team, f.reaction, 2, "web 3 → 4", Some(error), now - 1000).await;

        let client = f.server.client().signed_in("viewer@team-a.test").await;
        let response = client.get("/timeline/export.csv").await;
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let body = response.text().await.unwrap();
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert!(lines[0].starts_with("type,id,time_utc,epoch_ms,app,reaction,kind"), "{body}");
        assert!(lines[1].starts_with("execution,"), "newest first: {body}");
        assert!(
            lines[1].contains(",\"Heroku said:\nno, not now\",422,invalid_params,req-123,12"),
            "{body}"
        );
        assert!(lines[2].contains(",\"web 2 → 3, \"\"fast\"\"\","), "{body}");
        assert_eq!(lines.last(), Some(&""), "the body ends with a line break");

        f.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn json_export_streams_every_entry() {
    on_each_backend(|db| async move {
        let f = fixture(&db).await;
        let now = now_ms();
        // More than two export pages, with equal timestamps at the edges.
        many(&db, f.team, f.reaction, 2100, now).await;
        record(&db, f.team, f.reaction, 1, "newest", None, now).await;

        let owner = f.server.client().signed_in("owner@team-a.test").await;
        let response = owner.get("/timeline/export.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        let items = body["items"].as_array().expect("items is an array");
        assert_eq!(items.len(), 2101);
        assert_eq!(items[0]["type"], "execution");
        assert_eq!(items[0]["summary"], "newest");
        assert_eq!(items[0]["outcome"], "succeeded");
        assert!(items[0]["started_at"].is_i64());
        let ids: std::collections::HashSet<i64> =
            items.iter().map(|item| item["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 2101, "no entry twice");

        // A filter applies to the export as to the page.
        let filtered: Value =
            owner.get("/timeline/export.json?app=shop-a").await.json().await.unwrap();
        assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

        // Another team's member gets their own (empty) timeline.
        let outsider = f.server.client().signed_in("owner@team-b.test").await;
        let theirs: Value = outsider.get("/timeline/export.json").await.json().await.unwrap();
        assert_eq!(theirs, serde_json::json!({"items": []}));
        let csv = outsider.get("/timeline/export.csv").await.text().await.unwrap();
        assert_eq!(csv.lines().count(), 1, "only the header: {csv}");

        f.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn export_rejects_bad_filters_and_strangers() {
    on_each_backend(|db| async move {
        let f = fixture(&db).await;
        let anonymous = f.server.client().get("/timeline/export.csv").await;
        assert_eq!(anonymous.status(), 401);

        let client = f.server.client().signed_in("viewer@team-a.test").await;
        let response = client.get("/timeline/export.json?since=2026-02-30").await;
        assert_eq!(response.status(), 422);
        let message = response.text().await.unwrap();
        assert!(message.starts_with("From: \"2026-02-30\" is not a date"), "{message}");

        let response = client.get("/timeline/export.csv?kind=teleport").await;
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains("Kind \"teleport\""));
        f.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn timeline_page_renders_without_javascript() {
    on_each_backend(|db| async move {
        let f = fixture(&db).await;
        let now = now_ms();
        record(&db, f.team, f.reaction, 1, "web 2 → 3", None, now - 1000).await;
        let client = f.server.client().signed_in("viewer@team-a.test").await;

        let page = client.get("/timeline?app=shop-a").await.text().await.unwrap();
        assert!(page.contains("web 2 → 3"), "the execution is listed");
        assert!(page.contains("Dynos of shop-a"), "the app filter shows the dyno chart");
        assert!(page.contains("/timeline/export.csv?app=shop-a"), "export keeps the filter");

        let bad = client.get("/timeline?until=someday").await.text().await.unwrap();
        assert!(
            bad.contains("To: &quot;someday&quot; is not a date")
                || bad.contains("To: \"someday\" is not a date"),
            "{bad}"
        );

        let overview = client.get("/").await.text().await.unwrap();
        assert!(overview.contains("shop-a"), "the app of the reaction is listed");
        assert!(overview.contains("web 2 → 3"), "its last action is shown");
        f.server.stop().await;
    })
    .await;
}
