//! Monitor storage on both backends: CRUD, leases, confirmation through
//! stored checks, dropped stale results, rollups and pruning.

use app::monitors::MonitorState;
use app::monitors::settings::{HeartbeatSettings, HttpSettings, MonitorSettings, StatusRanges};
use app::storage::Db;
use app::storage::monitors::{
    self as store, FinishedCheck, HeartbeatSecret, MonitorDraft, MonitorsError,
};

use crate::support::{add_team, on_each_backend};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

pub fn http_draft(name: &str, url: &str) -> MonitorDraft {
    MonitorDraft {
        name: name.into(),
        settings: MonitorSettings::Http(HttpSettings {
            url: url.into(),
            method: "GET".into(),
            headers: vec![],
            body: String::new(),
            expected_status: StatusRanges::default(),
            timeout_ms: 2_000,
            follow_redirects: true,
            verify_tls: true,
            max_response_ms: None,
        }),
        interval_secs: 30,
        fail_after: 2,
        recover_after: 1,
    }
}

pub fn finished(
    monitor_id: i64,
    revision: i64,
    owner: Option<&str>,
    at: i64,
    passed: bool,
) -> FinishedCheck {
    FinishedCheck {
        monitor_id,
        revision,
        lease_owner: owner.map(str::to_string),
        checked_at: at,
        passed,
        response_ms: passed.then_some(120),
        status_code: Some(if passed { 200 } else { 503 }),
        reason: (!passed).then(|| "status 503 (expected 200–399)".to_string()),
        next_check_at: at + 30_000,
        is_ping: false,
        stale_if_pinged_after: None,
    }
}

async fn revision_of(db: &Db, team: i64, id: i64) -> i64 {
    store::get(db, team, id).await.unwrap().unwrap().revision
}

#[tokio::test]
async fn monitors_list_by_name_and_state() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let (other, _) = add_team(&db, "Other", "other@example.com").await;
        for name in ["charlie", "alpha", "bravo"] {
            store::create(&db, team, &http_draft(name, "https://example.com/"), T0, T0, None)
                .await
                .unwrap();
        }
        store::create(&db, other, &http_draft("alpha", "https://example.com/"), T0, T0, None)
            .await
            .unwrap();
        let duplicate =
            store::create(&db, team, &http_draft("alpha", "https://x.example/"), T0, T0, None)
                .await;
        assert!(matches!(duplicate, Err(MonitorsError::DuplicateName)), "{duplicate:?}");

        let names = |records: Vec<store::MonitorRecord>| {
            records.into_iter().map(|r| r.monitor.name).collect::<Vec<_>>()
        };
        let all = store::list(&db, team, None, None, 10).await.unwrap();
        assert_eq!(names(all.clone()), ["alpha", "bravo", "charlie"]);
        let after_alpha =
            store::list(&db, team, None, Some(("alpha", all[0].monitor.id)), 10).await.unwrap();
        assert_eq!(names(after_alpha), ["bravo", "charlie"]);
        assert_eq!(names(store::list(&db, team, None, None, 2).await.unwrap()), ["alpha", "bravo"]);

        store::pause(&db, team, all[1].monitor.id, T0 + 1).await.unwrap();
        let paused = store::list(&db, team, Some(MonitorState::Paused), None, 10).await.unwrap();
        assert_eq!(names(paused), ["bravo"]);
        let counts = store::count_by_state(&db, team).await.unwrap();
        assert!(counts.contains(&(MonitorState::Pending, 2)), "{counts:?}");
        assert!(counts.contains(&(MonitorState::Paused, 1)), "{counts:?}");

        assert!(
            store::get(&db, other, all[0].monitor.id).await.unwrap().is_none(),
            "teams see only their own"
        );
        assert!(!store::delete(&db, other, all[0].monitor.id).await.unwrap());
        assert!(store::delete(&db, team, all[0].monitor.id).await.unwrap());
        assert_eq!(store::list(&db, team, None, None, 10).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn claims_lease_each_monitor_once() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        for n in 0..5 {
            store::create(
                &db,
                team,
                &http_draft(&format!("m{n}"), "https://example.com/"),
                T0,
                T0 + n,
                None,
            )
            .await
            .unwrap();
        }
        store::create(
            &db,
            team,
            &http_draft("later", "https://example.com/"),
            T0,
            T0 + 60_000,
            None,
        )
        .await
        .unwrap();

        let first = store::claim_due(&db, "a", T0 + 10, 100, 5_000).await.unwrap();
        assert_eq!(first.len(), 5, "only the due ones");
        assert!(first.windows(2).all(|pair| pair[0].due_at <= pair[1].due_at), "earliest first");
        assert!(
            store::claim_due(&db, "b", T0 + 10, 100, 5_000).await.unwrap().is_empty(),
            "leased"
        );

        // The lease is timeout (2 s) plus margin (5 s).
        assert!(store::claim_due(&db, "b", T0 + 10 + 6_999, 100, 5_000).await.unwrap().is_empty());
        let taken_over = store::claim_due(&db, "b", T0 + 10 + 7_001, 100, 5_000).await.unwrap();
        assert_eq!(taken_over.len(), 5, "an expired lease is taken over");
    })
    .await;
}

#[tokio::test]
async fn next_due_skips_leased_monitors() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        for (name, due) in [("early", T0), ("late", T0 + 30_000)] {
            store::create(&db, team, &http_draft(name, "https://example.com/"), T0, due, None)
                .await
                .unwrap();
        }
        assert_eq!(store::next_due_at(&db, T0).await.unwrap(), Some(T0));

        let claimed = store::claim_due(&db, "a", T0, 1, 5_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // The early check is running: the next one to claim is the late one.
        assert_eq!(store::next_due_at(&db, T0 + 1).await.unwrap(), Some(T0 + 30_000));
        // Once its lease (2 s timeout plus 5 s margin) runs out, it is due again.
        assert_eq!(store::next_due_at(&db, T0 + 7_001).await.unwrap(), Some(T0));
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_are_disjoint() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        for n in 0..200 {
            store::create(
                &db,
                team,
                &http_draft(&format!("m{n}"), "https://example.com/"),
                T0,
                T0,
                None,
            )
            .await
            .unwrap();
        }
        let claimers = (0..4).map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store::claim_due(&db, &format!("owner-{n}"), T0 + 1, 7, 5_000)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|claim| claim.record.monitor.id));
                }
            })
        });
        let mut all: Vec<i64> = futures::future::join_all(claimers)
            .await
            .into_iter()
            .flat_map(Result::unwrap)
            .collect();
        let claimed = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(claimed, 200, "every monitor claimed");
        assert_eq!(all.len(), 200, "no monitor claimed twice");
    })
    .await;
}

#[tokio::test]
async fn stored_checks_confirm_state() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let id = store::create(&db, team, &http_draft("api", "https://example.com/"), T0, T0, None)
            .await
            .unwrap();
        let revision = revision_of(&db, team, id).await;
        let mut at = T0;
        let mut record = |passed: bool| {
            at += 30_000;
            let check = finished(id, revision, None, at, passed);
            let db = db.clone();
            async move { store::record_checks(&db, &[check]).await.unwrap() }
        };

        let first = record(false).await;
        assert_eq!(first[0].state, MonitorState::Pending, "fail_after is 2");
        assert_eq!(first[0].changed_from, None);
        let second = record(false).await;
        assert_eq!(second[0].state, MonitorState::Failed);
        assert_eq!(second[0].changed_from, Some(MonitorState::Pending));
        let recovered = record(true).await;
        assert_eq!(recovered[0].state, MonitorState::Healthy);

        let monitor = store::get(&db, team, id).await.unwrap().unwrap().monitor;
        assert_eq!(monitor.state, MonitorState::Healthy);
        assert_eq!(monitor.last_check.as_ref().unwrap().response_ms, Some(120));
        assert_eq!(monitor.state_changed_at, T0 + 90_000);

        let changes = store::state_changes(&db, id, None, 10).await.unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!((changes[0].from, changes[0].to), (MonitorState::Failed, MonitorState::Healthy));
        assert_eq!(changes[1].check_id, Some(second[0].check_id), "the change names its check");
        assert_eq!(changes[1].reason.as_deref(), Some("status 503 (expected 200–399)"));

        let checks = store::recent_checks(&db, id, None, 10).await.unwrap();
        assert_eq!(checks.len(), 3);
        assert!(checks[0].passed, "newest first");
        assert_eq!(checks[2].state_after, MonitorState::Pending);
    })
    .await;
}

#[tokio::test]
async fn stale_results_are_dropped() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let id = store::create(&db, team, &http_draft("api", "https://example.com/"), T0, T0, None)
            .await
            .unwrap();
        let revision = revision_of(&db, team, id).await;

        store::claim_due(&db, "owner-a", T0, 10, 5_000).await.unwrap();
        let lost = store::record_checks(&db, &[finished(id, revision, Some("owner-b"), T0, false)])
            .await
            .unwrap();
        assert!(lost.is_empty(), "a result from a process without the lease is dropped");

        let mut edited = http_draft("api", "https://example.com/other");
        edited.fail_after = 1;
        store::update(&db, team, id, &edited, T0 + 1, T0 + 2).await.unwrap();
        let outdated = store::record_checks(&db, &[finished(id, revision, None, T0 + 3, false)])
            .await
            .unwrap();
        assert!(outdated.is_empty(), "a result for the old settings is dropped");

        let revision = revision_of(&db, team, id).await;
        store::pause(&db, team, id, T0 + 4).await.unwrap();
        let paused_revision = revision_of(&db, team, id).await;
        assert!(
            store::record_checks(&db, &[finished(id, revision, None, T0 + 5, false)])
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store::record_checks(&db, &[finished(id, paused_revision, None, T0 + 5, false)])
                .await
                .unwrap()
                .is_empty(),
            "a paused monitor stores no results"
        );
        assert!(store::recent_checks(&db, id, None, 10).await.unwrap().is_empty());

        store::delete(&db, team, id).await.unwrap();
        assert!(
            store::record_checks(&db, &[finished(id, paused_revision, None, T0 + 6, true)])
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn pause_resume_and_retarget_restart_from_pending() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let mut draft = http_draft("api", "https://example.com/");
        draft.fail_after = 1;
        let id = store::create(&db, team, &draft, T0, T0, None).await.unwrap();
        let revision = revision_of(&db, team, id).await;
        store::record_checks(&db, &[finished(id, revision, None, T0, false)]).await.unwrap();
        assert_eq!(
            store::get(&db, team, id).await.unwrap().unwrap().monitor.state,
            MonitorState::Failed
        );

        store::pause(&db, team, id, T0 + 10).await.unwrap();
        assert!(
            store::claim_due(&db, "a", T0 + 1_000_000, 10, 5_000).await.unwrap().is_empty(),
            "paused is never due"
        );
        store::resume(&db, team, id, T0 + 20, T0 + 25).await.unwrap();
        let resumed = store::get(&db, team, id).await.unwrap().unwrap();
        assert_eq!(resumed.monitor.state, MonitorState::Pending);
        assert_eq!(resumed.next_check_at, T0 + 25);

        let renamed = MonitorDraft { name: "api-renamed".into(), ..draft.clone() };
        store::update(&db, team, id, &renamed, T0 + 30, T0 + 99).await.unwrap();
        assert_eq!(
            store::get(&db, team, id).await.unwrap().unwrap().next_check_at,
            T0 + 25,
            "a rename keeps the schedule"
        );

        let changes: Vec<(MonitorState, MonitorState)> = store::state_changes(&db, id, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.from, c.to))
            .collect();
        assert_eq!(
            changes,
            [
                (MonitorState::Paused, MonitorState::Pending),
                (MonitorState::Failed, MonitorState::Paused),
                (MonitorState::Pending, MonitorState::Failed),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn pings_pass_and_cancel_stale_misses() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let draft = MonitorDraft {
            name: "nightly job".into(),
            settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
            interval_secs: 3600,
            fail_after: 1,
            recover_after: 1,
        };
        let secret = HeartbeatSecret { nonce: "nonce".into(), token_hash: "hash-of-token".into() };
        let id =
            store::create(&db, team, &draft, T0, T0 + HOUR + 60_000, Some(&secret)).await.unwrap();
        let found = store::find_by_heartbeat(&db, "hash-of-token")
            .await
            .unwrap()
            .expect("found by token hash");
        assert_eq!(found.monitor.id, id);
        assert_eq!(found.monitor.last_ping_at, Some(T0), "the first period counts from creation");

        let ping =
            FinishedCheck { is_ping: true, ..finished(id, found.revision, None, T0 + 1_000, true) };
        store::record_checks(&db, &[ping]).await.unwrap();
        let record = store::get(&db, team, id).await.unwrap().unwrap();
        assert_eq!(record.monitor.last_ping_at, Some(T0 + 1_000));
        assert_eq!(record.monitor.state, MonitorState::Healthy);

        // A miss decided before that ping is dropped.
        let stale_miss = FinishedCheck {
            stale_if_pinged_after: Some(T0),
            ..finished(id, found.revision, None, T0 + 2_000, false)
        };
        assert!(store::record_checks(&db, &[stale_miss]).await.unwrap().is_empty());
        let current_miss = FinishedCheck {
            stale_if_pinged_after: Some(T0 + 1_000),
            ..finished(id, found.revision, None, T0 + 3_000, false)
        };
        let stored = store::record_checks(&db, &[current_miss]).await.unwrap();
        assert_eq!(stored[0].state, MonitorState::Failed);
    })
    .await;
}

#[tokio::test]
async fn rollups_feed_uptime_and_series() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let id = store::create(&db, team, &http_draft("api", "https://example.com/"), T0, T0, None)
            .await
            .unwrap();
        let revision = revision_of(&db, team, id).await;
        let hour = T0 - T0.rem_euclid(HOUR);
        let checks: Vec<FinishedCheck> = [
            (hour + 1_000, true, 100),
            (hour + 2_000, true, 300),
            (hour + 3_000, false, 0),
            (hour + HOUR + 1, true, 50),
        ]
        .into_iter()
        .map(|(at, passed, ms)| FinishedCheck {
            response_ms: passed.then_some(ms),
            ..finished(id, revision, None, at, passed)
        })
        .collect();
        assert_eq!(store::record_checks(&db, &checks).await.unwrap().len(), 4);

        assert_eq!(store::uptime_counts(&db, &[id], hour).await.unwrap(), [(id, 4, 1)]);
        assert_eq!(store::uptime_counts(&db, &[id], hour + HOUR).await.unwrap(), [(id, 1, 0)]);
        let series = store::hourly_series(&db, &[id], hour).await.unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(
            series[0].1.average_ms,
            Some(200),
            "failed checks without a response do not count"
        );
        assert_eq!(series[0].1.max_ms, Some(300));
        assert_eq!(series[0].1.failures, 1);
        assert_eq!(store::raw_series(&db, id, hour, 100).await.unwrap().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn prune_removes_only_old_results() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "ops@example.com").await;
        let id = store::create(&db, team, &http_draft("api", "https://example.com/"), T0, T0, None)
            .await
            .unwrap();
        let revision = revision_of(&db, team, id).await;
        let checks: Vec<FinishedCheck> =
            (0..25).map(|n| finished(id, revision, None, T0 + n * 1000, true)).collect();
        store::record_checks(&db, &checks).await.unwrap();
        assert_eq!(store::prune_checks(&db, T0 + 20_000, 7).await.unwrap(), 20, "in batches of 7");
        assert_eq!(store::recent_checks(&db, id, None, 100).await.unwrap().len(), 5);
    })
    .await;
}
