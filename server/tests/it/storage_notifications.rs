//! Notification storage on both backends: rules route events to channels,
//! events are queued where monitors and connections change state, and the
//! delivery queue's claims, leases and retries.

use app::accounts::Role;
use app::connections::{ConnectionKind, ConnectionState};
use app::monitors::MonitorSettings;
use app::monitors::settings::HeartbeatSettings;
use app::notifications::EventKind;
use app::storage::Db;
use app::storage::monitors::{self as monitors_store, FinishedCheck, MonitorDraft};
use app::storage::notifications::{
    self as store, AttemptRecord, NextStep, NotificationsError, QUEUE_DELIVERIES,
};
use server::sandbox::{Sandbox, SandboxOptions};

use crate::support::{add_connection, add_team, add_user, on_each_backend, webhook_channel};

const T0: i64 = 1_800_000_000_000;

/// Statuses and attempt counts of every delivery, by id.
async fn deliveries(db: &Db) -> Vec<(i64, String, String, i32)> {
    app::with_db!(db, pool => {
        sqlx::query_as("SELECT channel_id, event, status, attempts FROM notification_deliveries ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn queue(db: &Db, team: i64, event: EventKind) -> u64 {
    app::with_db!(db, pool => {
        sqlx::query(QUEUE_DELIVERIES)
            .bind(team)
            .bind(event.as_str())
            .bind("{}")
            .bind(T0)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    })
}

#[tokio::test]
async fn rules_route_events_to_their_channels() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        let slack = webhook_channel(&db, team, "slack", "http://127.0.0.1:9/a").await;
        let hook = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/b").await;
        let foreign = webhook_channel(&db, other_team, "foreign", "http://127.0.0.1:9/c").await;

        store::add_rule(&db, team, slack, EventKind::MonitorFailed, T0).await.unwrap();
        store::add_rule(&db, team, hook, EventKind::MonitorFailed, T0).await.unwrap();
        store::add_rule(&db, team, hook, EventKind::ExecutionFailed, T0).await.unwrap();
        store::add_rule(&db, other_team, foreign, EventKind::MonitorFailed, T0).await.unwrap();

        let duplicate = store::add_rule(&db, team, hook, EventKind::ExecutionFailed, T0).await;
        assert!(matches!(duplicate, Err(NotificationsError::DuplicateRule)), "{duplicate:?}");
        let cross_team = store::add_rule(&db, team, foreign, EventKind::MonitorHealthy, T0).await;
        assert!(matches!(cross_team, Err(NotificationsError::ChannelNotFound)), "{cross_team:?}");

        assert_eq!(queue(&db, team, EventKind::MonitorFailed).await, 2);
        assert_eq!(queue(&db, team, EventKind::ExecutionFailed).await, 1);
        assert_eq!(queue(&db, team, EventKind::MonitorHealthy).await, 0);
        let queued = deliveries(&db).await;
        let channels: Vec<i64> = queued.iter().map(|row| row.0).collect();
        assert_eq!(channels, vec![slack, hook, hook]);
        assert!(queued.iter().all(|row| row.2 == "pending" && row.3 == 0), "{queued:?}");

        let rules = store::list_rules(&db, team).await.unwrap();
        assert_eq!(rules.len(), 3);
        let removed_by_other_team = store::delete_rule(&db, other_team, rules[0].id).await.unwrap();
        assert!(!removed_by_other_team, "another team cannot remove the rule");
        assert!(store::delete_rule(&db, team, rules[0].id).await.unwrap());

        // Deleting a channel takes its rules and queued deliveries with it.
        assert!(store::delete_channel(&db, team, hook).await.unwrap());
        let left: Vec<i64> = store::list_rules(&db, team)
            .await
            .unwrap()
            .iter()
            .map(|rule| rule.channel_id)
            .collect();
        assert_eq!(left, vec![slack]);
        let left: Vec<i64> = deliveries(&db).await.iter().map(|row| row.0).collect();
        assert_eq!(left, vec![slack]);
    })
    .await;
}

#[tokio::test]
async fn channel_names_are_unique_per_team() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        webhook_channel(&db, team, "alerts", "http://127.0.0.1:9/").await;
        webhook_channel(&db, other_team, "alerts", "http://127.0.0.1:9/").await;
        let new = store::NewChannel {
            team_id: team,
            name: "alerts",
            kind: app::notifications::ChannelKind::Slack,
            target_summary: "https://hooks.slack.com/…",
            created_by: None,
            now: T0,
        };
        let again = store::create_channel(&db, &new, |_| vec![1, 2, 3]).await;
        assert!(matches!(again, Err(NotificationsError::DuplicateName)), "{again:?}");
    })
    .await;
}

#[tokio::test]
async fn monitor_state_change_queues_its_event() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let channel = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/").await;
        store::add_rule(&db, team, channel, EventKind::MonitorFailed, T0).await.unwrap();
        store::add_rule(&db, team, channel, EventKind::MonitorHealthy, T0).await.unwrap();
        let draft = MonitorDraft {
            name: "checkout".into(),
            settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
            interval_secs: 60,
            fail_after: 1,
            recover_after: 1,
        };
        let monitor = monitors_store::create(&db, team, &draft, T0, T0, None).await.unwrap();
        let revision: i64 = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT revision FROM monitors WHERE id = $1").bind(monitor).fetch_one(pool).await.unwrap()
        });
        let check = |at: i64, passed: bool| FinishedCheck {
            monitor_id: monitor,
            revision,
            lease_owner: None,
            checked_at: at,
            passed,
            response_ms: None,
            status_code: None,
            reason: (!passed).then(|| "heartbeat missed".to_string()),
            next_check_at: at + 60_000,
            is_ping: false,
            stale_if_pinged_after: None,
        };
        // Pending → Failed, Failed again (no change), then Healthy.
        for (offset, passed) in [(0, false), (1, false), (2, true)] {
            monitors_store::record_checks(&db, &[check(T0 + offset * 60_000, passed)]).await.unwrap();
        }
        let events: Vec<String> = deliveries(&db).await.into_iter().map(|row| row.1).collect();
        assert_eq!(events, vec!["monitor_failed", "monitor_healthy"]);

        let payload: String = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT payload FROM notification_deliveries ORDER BY id LIMIT 1").fetch_one(pool).await.unwrap()
        });
        let event: app::notifications::event::Event = serde_json::from_str(&payload).unwrap();
        assert_eq!(event.title, "Monitor \"checkout\" is Failed");
        assert!(event.details.contains(&"Reason: heartbeat missed".to_string()), "{:?}", event.details);
    })
    .await;
}

#[tokio::test]
async fn lost_connection_queues_one_event() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        add_user(&db, "viewer@example.com", team, Role::Viewer).await;
        let channel = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/").await;
        store::add_rule(&db, team, channel, EventKind::ConnectionNeedsReauthorization, T0)
            .await
            .unwrap();
        let sandbox = Sandbox::new(SandboxOptions::default());
        let (connection, _) =
            add_connection(&db, &sandbox, team, owner, ConnectionKind::Sandbox, None).await;
        let store_state = |state| {
            app::storage::connections::set_state(&db, connection, state, Some("grant revoked"), T0)
        };
        store_state(ConnectionState::NeedsReauthorization).await.unwrap();
        // Marking it again is not a new loss.
        store_state(ConnectionState::NeedsReauthorization).await.unwrap();
        let events: Vec<String> = deliveries(&db).await.into_iter().map(|row| row.1).collect();
        assert_eq!(events, vec!["connection_needs_reauthorization"]);
    })
    .await;
}

#[tokio::test]
async fn deliveries_are_leased_retried_and_given_up() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let channel = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/").await;
        store::add_rule(&db, team, channel, EventKind::MonitorFailed, T0).await.unwrap();
        queue(&db, team, EventKind::MonitorFailed).await;
        let lease = 10_000;

        let first = store::claim_deliveries(&db, "a", T0, 10, lease).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].attempts, 1);
        let id = first[0].id;
        assert!(
            store::claim_deliveries(&db, "b", T0 + 1, 10, lease).await.unwrap().is_empty(),
            "leased to a"
        );

        // a's lease runs out; b takes the delivery over.
        let taken = store::claim_deliveries(&db, "b", T0 + lease + 1, 10, lease).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].attempts, 2);

        let attempt = |owner: &'static str, at: i64, next: NextStep| AttemptRecord {
            delivery_id: id,
            channel_id: channel,
            owner,
            attempted_at: at,
            succeeded: next == NextStep::Delivered,
            status_code: Some(500),
            error: Some("the receiver answered HTTP 500"),
            duration_ms: 3,
            next,
        };
        let late = store::record_attempt(&db, &attempt("a", T0 + lease + 2, NextStep::Delivered))
            .await
            .unwrap();
        assert!(!late, "a lost its lease, so its result is dropped");

        let retry_at = T0 + lease + 5_000;
        assert!(
            store::record_attempt(&db, &attempt("b", T0 + lease + 3, NextStep::RetryAt(retry_at)))
                .await
                .unwrap()
        );
        assert!(
            store::claim_deliveries(&db, "c", retry_at - 1, 10, lease).await.unwrap().is_empty(),
            "waits for its backoff"
        );
        assert_eq!(store::next_delivery_at(&db).await.unwrap(), Some(retry_at));
        let third = store::claim_deliveries(&db, "c", retry_at, 10, lease).await.unwrap();
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].attempts, 3);
        assert!(
            store::record_attempt(&db, &attempt("c", retry_at + 1, NextStep::GiveUp))
                .await
                .unwrap()
        );

        assert_eq!(
            deliveries(&db).await,
            vec![(channel, "monitor_failed".into(), "failed".into(), 3)]
        );
        assert!(
            store::claim_deliveries(&db, "d", retry_at + 100_000, 10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store::next_delivery_at(&db).await.unwrap(), None);

        let record = store::find_channel(&db, team, channel).await.unwrap().unwrap();
        assert_eq!(record.consecutive_failures, 2);
        assert_eq!(record.last_error.as_deref(), Some("the receiver answered HTTP 500"));
        let attempts = store::recent_attempts(&db, team, 5).await.unwrap();
        assert_eq!(attempts.len(), 2, "the dropped result wrote no attempt");

        // Finished deliveries are pruned with their attempts.
        assert_eq!(store::prune_finished(&db, retry_at + 2).await.unwrap(), 1);
        assert!(deliveries(&db).await.is_empty());
        assert!(store::recent_attempts(&db, team, 5).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_take_each_delivery_once() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let channel = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/").await;
        store::add_rule(&db, team, channel, EventKind::MonitorFailed, T0).await.unwrap();
        for _ in 0..20 {
            queue(&db, team, EventKind::MonitorFailed).await;
        }
        let claims = (0..4).map(|index| {
            let db = db.clone();
            async move {
                let owner = format!("owner-{index}");
                let mut ids = Vec::new();
                loop {
                    let claimed =
                        store::claim_deliveries(&db, &owner, T0, 3, 60_000).await.unwrap();
                    if claimed.is_empty() {
                        break ids;
                    }
                    ids.extend(claimed.into_iter().map(|delivery| delivery.id));
                }
            }
        });
        let mut all: Vec<i64> =
            futures::future::join_all(claims).await.into_iter().flatten().collect();
        all.sort();
        let total = all.len();
        all.dedup();
        assert_eq!(all.len(), total, "a delivery was claimed twice");
        assert_eq!(total, 20);
    })
    .await;
}

#[tokio::test]
async fn finished_executions_queue_their_events() {
    on_each_backend(|db| async move {
        use app::reactions::ExecutionOutcome;
        use app::storage::reactions::{self as reactions_store, ExecutionError, Finish, NewExecution};

        let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
        let channel = webhook_channel(&db, team, "hook", "http://127.0.0.1:9/").await;
        for event in
            [EventKind::ExecutionSucceeded, EventKind::ExecutionFailed, EventKind::ExecutionAtBound]
        {
            store::add_rule(&db, team, channel, event, T0).await.unwrap();
        }
        let sandbox = Sandbox::new(SandboxOptions::default());
        let (connection, _) =
            add_connection(&db, &sandbox, team, owner, ConnectionKind::Sandbox, None).await;
        let reaction_id =
            crate::support::scale_out_reaction(&db, team, connection, "shop-app").await;
        let record = reactions_store::get(&db, team, reaction_id).await.unwrap().unwrap();

        let heroku_error = ExecutionError {
            message: "Cannot scale: app is locked",
            status: Some(422),
            heroku_id: Some("invalid_params"),
            request_id: Some("req-1234"),
        };
        let outcomes = [
            (ExecutionOutcome::Succeeded, "web 2 → 3", None),
            (ExecutionOutcome::DryRun, "would web 2 → 3", None),
            (ExecutionOutcome::AtBound, "web is at max 3", None),
            (ExecutionOutcome::Failed, "web 2 → 3", Some(heroku_error)),
        ];
        for (check_id, (outcome, summary, error)) in outcomes.into_iter().enumerate() {
            let execution = NewExecution {
                team_id: team,
                reaction: &record.reaction,
                check_id: check_id as i64 + 1,
                monitor_state: "failed",
                outcome,
                summary,
                detail: None,
                error,
                started_at: T0,
                duration_ms: Some(5),
            };
            let finish = Finish { job_id: 0, record: Some(execution), acted_at: None, block: None };
            reactions_store::finish(&db, &finish).await.unwrap();
        }

        let events: Vec<String> = deliveries(&db).await.into_iter().map(|row| row.1).collect();
        assert_eq!(events, vec!["execution_succeeded", "execution_at_bound", "execution_failed"]);
        let payload: String = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT payload FROM notification_deliveries WHERE event = 'execution_failed'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        let event: app::notifications::event::Event = serde_json::from_str(&payload).unwrap();
        assert!(event.title.ends_with("failed on shop-app: web 2 → 3"), "{}", event.title);
        assert!(event.details.contains(&"Error: Cannot scale: app is locked".to_string()), "{:?}", event.details);
        assert!(event.details.contains(&"Heroku request id: req-1234".to_string()), "{:?}", event.details);
    })
    .await;
}
