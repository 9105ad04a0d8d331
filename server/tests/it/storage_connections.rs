//! Connection storage on both backends: create or replace, team isolation,
//! refresh leases, states, rate-limit figures and deletion.

use app::connections::{ConnectionKind, ConnectionState};
use app::storage::Db;
use app::storage::connections::{self as store, NewConnection, Saved, SealedTokens};
use app::time::now_ms;

use crate::support::{add_team, on_each_backend};

fn new_connection<'a>(
    team_id: i64,
    user_id: i64,
    heroku_user_id: &'a str,
    email: &'a str,
) -> NewConnection<'a> {
    NewConnection {
        team_id,
        kind: ConnectionKind::OAuth,
        heroku_user_id,
        email,
        api_url: None,
        access_token_expires_at: Some(now_ms() + 3_600_000),
        authorization_id: Some("authorization-1"),
        created_by: Some(user_id),
        now: now_ms(),
    }
}

fn sealed(id: i64, label: &str) -> SealedTokens {
    SealedTokens {
        access_token: format!("access {label} for {id}").into_bytes(),
        refresh_token: Some(format!("refresh {label} for {id}").into_bytes()),
    }
}

async fn save(db: &Db, new: &NewConnection<'_>, label: &str) -> Saved {
    store::save_connection(db, new, |id| sealed(id, label)).await.unwrap()
}

#[tokio::test]
async fn connecting_again_replaces_credentials() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let new = new_connection(team, owner, "heroku-user-1", "ada@example.com");
        let first = save(&db, &new, "one").await;
        let Saved::Created(id) = first else { panic!("first save creates: {first:?}") };
        let tokens = store::load_tokens(&db, id).await.unwrap().unwrap();
        assert_eq!(
            tokens.access_token,
            format!("access one for {id}").into_bytes(),
            "sealed with the row id"
        );

        store::set_state(
            &db,
            id,
            ConnectionState::NeedsReauthorization,
            Some("grant revoked"),
            now_ms(),
        )
        .await
        .unwrap();
        let again = save(&db, &new, "two").await;
        assert_eq!(again, Saved::Replaced(id));
        let record = store::find_connection(&db, team, id).await.unwrap().unwrap();
        assert_eq!(record.state, ConnectionState::Ok, "reconnecting makes it usable again");
        assert_eq!(record.state_reason, None);
        let tokens = store::load_tokens(&db, id).await.unwrap().unwrap();
        assert_eq!(tokens.token_version, 1);
        assert_eq!(tokens.access_token, format!("access two for {id}").into_bytes());

        let api_key = NewConnection { kind: ConnectionKind::ApiKey, ..new.clone() };
        assert!(matches!(save(&db, &api_key, "key").await, Saved::Created(other) if other != id));
        assert_eq!(store::list_connections(&db, team).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn other_teams_cannot_see_or_delete() {
    on_each_backend(|db| async move {
        let (team_a, owner_a) = add_team(&db, "A", "owner@a.test").await;
        let (team_b, _) = add_team(&db, "B", "owner@b.test").await;
        let id =
            save(&db, &new_connection(team_a, owner_a, "u1", "ada@example.com"), "x").await.id();
        assert!(store::find_connection(&db, team_b, id).await.unwrap().is_none());
        assert!(store::list_connections(&db, team_b).await.unwrap().is_empty());
        assert!(!store::delete_connection(&db, team_b, id).await.unwrap());
        assert!(store::delete_connection(&db, team_a, id).await.unwrap());
        assert!(store::load_tokens(&db, id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn refresh_lease_admits_one_claimant() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let id = save(&db, &new_connection(team, owner, "u1", "ada@example.com"), "x").await.id();
        let now = now_ms();
        assert!(store::claim_refresh(&db, id, 0, "process-a", now, now + 60_000).await.unwrap());
        assert!(!store::claim_refresh(&db, id, 0, "process-b", now, now + 60_000).await.unwrap());
        assert!(
            !store::store_refreshed_tokens(&db, id, "process-b", vec![1], None, None, now)
                .await
                .unwrap(),
            "only the lease holder stores"
        );
        let stored =
            store::store_refreshed_tokens(&db, id, "process-a", vec![9], None, Some(now + 1), now)
                .await
                .unwrap();
        assert!(stored);
        let tokens = store::load_tokens(&db, id).await.unwrap().unwrap();
        assert_eq!((tokens.token_version, tokens.access_token.clone()), (1, vec![9]));
        assert!(tokens.refresh_token.is_some(), "a missing refresh token keeps the stored one");
        assert_eq!(tokens.refresh_lease_until, None);

        assert!(
            !store::claim_refresh(&db, id, 0, "process-b", now, now + 60_000).await.unwrap(),
            "stale version"
        );
        assert!(store::claim_refresh(&db, id, 1, "process-b", now, now + 1).await.unwrap());
        // An expired lease can be taken over.
        assert!(
            store::claim_refresh(&db, id, 1, "process-c", now + 2, now + 60_000).await.unwrap()
        );
        store::release_refresh(&db, id, "process-c").await.unwrap();
        assert_eq!(store::load_tokens(&db, id).await.unwrap().unwrap().refresh_lease_until, None);

        store::set_state(&db, id, ConnectionState::NeedsReauthorization, None, now).await.unwrap();
        assert!(
            !store::claim_refresh(&db, id, 1, "process-d", now, now + 1).await.unwrap(),
            "not ok"
        );
    })
    .await;
}

#[tokio::test]
async fn rate_limits_and_refresh_due() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@ops.test").await;
        let soon = NewConnection {
            access_token_expires_at: Some(now_ms() + 60_000),
            ..new_connection(team, owner, "u1", "soon@example.com")
        };
        let late = new_connection(team, owner, "u2", "late@example.com");
        let key = NewConnection {
            kind: ConnectionKind::ApiKey,
            access_token_expires_at: None,
            ..new_connection(team, owner, "u3", "key@example.com")
        };
        let soon_id = save(&db, &soon, "x").await.id();
        save(&db, &late, "x").await;
        store::save_connection(&db, &key, |_| SealedTokens {
            access_token: vec![1],
            refresh_token: None,
        })
        .await
        .unwrap();
        assert_eq!(store::refresh_due(&db, now_ms() + 600_000).await.unwrap(), [soon_id]);

        store::record_rate_limit(&db, soon_id, 4321, 1000).await.unwrap();
        let record = store::find_connection_by_id(&db, soon_id).await.unwrap().unwrap();
        assert_eq!(
            (record.rate_limit_remaining, record.rate_limit_observed_at),
            (Some(4321), Some(1000))
        );
        assert!(record.has_refresh_token);
    })
    .await;
}
