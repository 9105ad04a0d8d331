//! OAuth token refresh: ahead of expiry, after a rejection, exactly once
//! for many callers and for two processes on one database, and stopping
//! for good when the grant is revoked.

use std::sync::Arc;

use app::connections::tokens::ConnectionCredentials;
use app::connections::{ConnectionKind, ConnectionState};
use app::heroku::HerokuErrorKind;
use app::storage::Db;
use app::time::now_ms;
use server::sandbox::{SandboxOptions, SandboxServer};

use crate::support::{add_connection, add_team, app_state, on_each_backend, on_each_test_db};

async fn account_email(
    state: &app::state::AppState,
    connection_id: i64,
) -> Result<String, app::heroku::HerokuError> {
    let credentials = ConnectionCredentials::load(state, connection_id).await.unwrap().unwrap();
    credentials.api().account().await.map(|reply| reply.value.email)
}

async fn stored_state(db: &Db, id: i64) -> ConnectionState {
    app::storage::connections::find_connection_by_id(db, id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn refresh_runs_once_for_twenty_callers() {
    on_each_backend(|db| async move {
        let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        // Expiring within the refresh window: every caller wants a refresh.
        let soon = Some(now_ms() + 60_000);
        let (id, account) =
            add_connection(&db, &sandbox.sandbox, team, owner, ConnectionKind::OAuth, soon).await;
        let state = Arc::new(app_state(db.clone(), &sandbox.url));

        let callers = (0..20).map(|_| {
            let state = state.clone();
            tokio::spawn(async move { account_email(&state, id).await })
        });
        for result in futures::future::join_all(callers).await {
            assert_eq!(result.unwrap().unwrap(), account.email);
        }
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 1);
        let record =
            app::storage::connections::find_connection_by_id(&db, id).await.unwrap().unwrap();
        assert!(record.access_token_expires_at.unwrap() > now_ms() + 7 * 3600 * 1000);
        sandbox.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rejected_token_is_refreshed_and_retried() {
    on_each_backend(|db| async move {
        let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let later = Some(now_ms() + 3 * 3600 * 1000);
        let (id, account) =
            add_connection(&db, &sandbox.sandbox, team, owner, ConnectionKind::OAuth, later).await;
        let state = app_state(db.clone(), &sandbox.url);
        assert_eq!(account_email(&state, id).await.unwrap(), account.email);
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 0, "a valid token is used as is");

        // Heroku expires the token earlier than Rebound expected.
        sandbox.sandbox.expire_access_tokens();
        assert_eq!(account_email(&state, id).await.unwrap(), account.email);
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 1);
        assert_eq!(sandbox.sandbox.calls("GET /account"), 3, "the rejected call was repeated once");
        sandbox.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoked_grant_needs_reauthorization() {
    on_each_backend(|db| async move {
        let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let expired = Some(now_ms() - 1000);
        let (id, _) =
            add_connection(&db, &sandbox.sandbox, team, owner, ConnectionKind::OAuth, expired)
                .await;
        let state = app_state(db.clone(), &sandbox.url);
        sandbox.sandbox.revoke_grants();

        let error = account_email(&state, id).await.unwrap_err();
        assert_eq!(error.kind, HerokuErrorKind::NeedsReauthorization);
        assert_eq!(stored_state(&db, id).await, ConnectionState::NeedsReauthorization);
        let again = account_email(&state, id).await.unwrap_err();
        assert_eq!(again.kind, HerokuErrorKind::NeedsReauthorization);
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 1, "no retrying forever");
        assert_eq!(sandbox.sandbox.calls("GET /account"), 0);
        sandbox.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_runs_once_across_two_processes() {
    on_each_test_db(|database| async move {
        let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
        let (team, owner) = add_team(&database.db, "Ops", "owner@ops.test").await;
        let expired = Some(now_ms() - 1000);
        let (id, account) = add_connection(
            &database.db,
            &sandbox.sandbox,
            team,
            owner,
            ConnectionKind::OAuth,
            expired,
        )
        .await;
        // A second process: its own pool, locks and process id.
        let other_pool = Db::connect(&database.url, 8).await.unwrap();
        let first = Arc::new(app_state(database.db.clone(), &sandbox.url));
        let second = Arc::new(app_state(other_pool.clone(), &sandbox.url));

        let callers = (0..20).map(|n| {
            let state = if n % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move { account_email(&state, id).await })
        });
        for result in futures::future::join_all(callers).await {
            assert_eq!(result.unwrap().unwrap(), account.email);
        }
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 1, "on {}", database.backend);
        other_pool.close().await;
        sandbox.stop().await;
        database
    })
    .await;
}

#[tokio::test]
async fn worker_refreshes_ahead_of_expiry() {
    on_each_backend(|db| async move {
        let sandbox = SandboxServer::start(SandboxOptions::default()).await.unwrap();
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let within_window = Some(now_ms() + 10 * 60 * 1000);
        let far = now_ms() + 5 * 3600 * 1000;
        let (due, _) = add_connection(
            &db,
            &sandbox.sandbox,
            team,
            owner,
            ConnectionKind::OAuth,
            within_window,
        )
        .await;
        let (later, _) =
            add_connection(&db, &sandbox.sandbox, team, owner, ConnectionKind::OAuth, Some(far))
                .await;
        let state = app_state(db.clone(), &sandbox.url);

        let refreshed = app::connections::ssr::refresh_expiring_tokens(&state).await;
        assert_eq!(refreshed, 1);
        assert_eq!(sandbox.sandbox.calls("grant refresh_token"), 1);
        let record = |id| app::storage::connections::find_connection_by_id(&db, id);
        assert!(record(due).await.unwrap().unwrap().access_token_expires_at.unwrap() > far);
        assert_eq!(record(later).await.unwrap().unwrap().access_token_expires_at, Some(far));
        sandbox.stop().await;
    })
    .await;
}
