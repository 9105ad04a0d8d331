//! Account storage on both backends.

use app::accounts::Role;
use app::storage::Db;
use app::storage::accounts::{self as store, AccountsError, Creation, NewInvitationRow};
use app::storage::sessions::DbSessionStore;
use app::time::now_ms;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

use crate::support::{add_team, add_user, on_each_backend, password_hash};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn first_account_is_created_once() {
    on_each_backend(|db| async move {
        assert!(!store::is_set_up(&db).await.unwrap());
        let first = store::create_account_with_team(
            &db,
            "ada@example.com",
            password_hash(),
            "Ops",
            now_ms(),
            Creation::FirstAccountOnly,
        )
        .await
        .expect("the first account is created");
        assert!(store::is_set_up(&db).await.unwrap());

        let second = store::create_account_with_team(
            &db,
            "bob@example.com",
            password_hash(),
            "Other",
            now_ms(),
            Creation::FirstAccountOnly,
        )
        .await;
        assert!(matches!(second, Err(AccountsError::AlreadySetUp)), "{second:?}");
        assert!(store::find_user_by_email(&db, "bob@example.com").await.unwrap().is_none());

        let teams = store::teams_of(&db, first.user_id).await.unwrap();
        assert_eq!(teams.len(), 1);
        assert_eq!(teams[0].0.name, "Ops");
        assert_eq!(teams[0].1, Role::Owner);
    })
    .await;
}

#[tokio::test]
async fn concurrent_first_accounts_yield_one() {
    on_each_backend(|db| async move {
        let attempts = (0..4).map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                store::create_account_with_team(
                    &db,
                    &format!("user{n}@example.com"),
                    password_hash(),
                    "Ops",
                    now_ms(),
                    Creation::FirstAccountOnly,
                )
                .await
            })
        });
        let results = futures::future::join_all(attempts).await;
        let created = results.iter().filter(|result| matches!(result, Ok(Ok(_)))).count();
        assert_eq!(created, 1, "{results:?}");
        let users: i64 = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.unwrap()
        });
        assert_eq!(users, 1);
    })
    .await;
}

#[tokio::test]
async fn duplicate_email_is_rejected() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let again = store::create_account_with_team(
            &db,
            "ada@example.com",
            password_hash(),
            "Other",
            now_ms(),
            Creation::Any,
        )
        .await;
        assert!(matches!(again, Err(AccountsError::EmailTaken)), "{again:?}");
        let teams: i64 = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM teams").fetch_one(pool).await.unwrap()
        });
        assert_eq!(teams, 1, "the failed sign-up left no team behind");
    })
    .await;
}

#[tokio::test]
async fn last_owner_cannot_leave_or_be_demoted() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        let editor = add_user(&db, "editor@example.com", team, Role::Editor).await;

        let demote = store::change_membership(&db, team, owner, Some(Role::Admin)).await;
        assert!(matches!(demote, Err(AccountsError::LastOwner)), "{demote:?}");
        let leave = store::change_membership(&db, team, owner, None).await;
        assert!(matches!(leave, Err(AccountsError::LastOwner)), "{leave:?}");

        store::change_membership(&db, team, editor, Some(Role::Owner)).await.unwrap();
        store::change_membership(&db, team, owner, Some(Role::Viewer)).await.unwrap();
        assert_eq!(store::role_in_team(&db, owner, team).await.unwrap(), Some(Role::Viewer));
        store::change_membership(&db, team, owner, None).await.unwrap();
        assert_eq!(store::role_in_team(&db, owner, team).await.unwrap(), None);

        let missing = store::change_membership(&db, team, owner, Some(Role::Editor)).await;
        assert!(matches!(missing, Err(AccountsError::NoSuchMember)), "{missing:?}");
    })
    .await;
}

#[tokio::test]
async fn members_list_in_email_order() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "zed@example.com").await;
        add_user(&db, "amy@example.com", team, Role::Viewer).await;
        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        let members = store::list_members(&db, team).await.unwrap();
        let emails: Vec<&str> = members.iter().map(|m| m.email.as_str()).collect();
        assert_eq!(emails, ["amy@example.com", "zed@example.com"]);
        assert_eq!(store::list_members(&db, other_team).await.unwrap().len(), 1);
    })
    .await;
}

async fn invite(db: &Db, team_id: i64, created_by: i64, token_hash: &str, expires_at: i64) -> i64 {
    let row = NewInvitationRow {
        team_id,
        role: Role::Editor,
        token_hash,
        note: "for Bob",
        created_by: Some(created_by),
        created_at: now_ms(),
        expires_at,
    };
    store::create_invitation(db, &row).await.unwrap()
}

#[tokio::test]
async fn invitation_works_once() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        invite(&db, team, owner, "hash-1", now_ms() + DAY_MS).await;
        let invitation =
            store::find_invitation(&db, "hash-1").await.unwrap().expect("found by hash");
        assert!(invitation.is_usable(now_ms()));
        assert_eq!(invitation.team_name, "Ops");

        let account = store::accept_invitation_as_new_user(
            &db,
            &invitation,
            "bob@example.com",
            password_hash(),
            now_ms(),
        )
        .await
        .expect("the invitation creates an account");
        assert_eq!(
            store::role_in_team(&db, account.user_id, team).await.unwrap(),
            Some(Role::Editor)
        );

        let again = store::accept_invitation_as_new_user(
            &db,
            &invitation,
            "carol@example.com",
            password_hash(),
            now_ms(),
        )
        .await;
        assert!(matches!(again, Err(AccountsError::InvitationUnusable)), "{again:?}");
        assert!(
            store::find_user_by_email(&db, "carol@example.com").await.unwrap().is_none(),
            "the refused sign-up created no account"
        );
        assert!(!store::find_invitation(&db, "hash-1").await.unwrap().unwrap().is_usable(now_ms()));
    })
    .await;
}

#[tokio::test]
async fn open_invitations_exclude_used_revoked_expired() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        let (_, stranger) = add_team(&db, "Other", "stranger@example.com").await;
        let now = now_ms();
        let open = invite(&db, team, owner, "open", now + DAY_MS).await;
        let revoked = invite(&db, team, owner, "revoked", now + DAY_MS).await;
        invite(&db, team, owner, "expired", now - 1).await;
        invite(&db, team, owner, "used", now + DAY_MS).await;

        assert!(store::revoke_invitation(&db, team, revoked, now).await.unwrap());
        assert!(!store::revoke_invitation(&db, team, revoked, now).await.unwrap(), "revoked twice");
        let used = store::find_invitation(&db, "used").await.unwrap().unwrap();
        store::accept_invitation_as_member(&db, &used, stranger, now).await.unwrap();

        let listed = store::list_open_invitations(&db, team, now).await.unwrap();
        let ids: Vec<i64> = listed.iter().map(|i| i.id).collect();
        assert_eq!(ids, [open]);
        assert_eq!(listed[0].created_by.as_deref(), Some("owner@example.com"));
        assert_eq!(listed[0].note, "for Bob");
    })
    .await;
}

#[tokio::test]
async fn revoke_requires_the_owning_team() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        let (other_team, _) = add_team(&db, "Other", "other@example.com").await;
        let id = invite(&db, team, owner, "token", now_ms() + DAY_MS).await;
        assert!(!store::revoke_invitation(&db, other_team, id, now_ms()).await.unwrap());
        assert!(store::find_invitation(&db, "token").await.unwrap().unwrap().is_usable(now_ms()));
    })
    .await;
}

#[tokio::test]
async fn existing_member_cannot_join_twice() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        invite(&db, team, owner, "token", now_ms() + DAY_MS).await;
        let invitation = store::find_invitation(&db, "token").await.unwrap().unwrap();
        let result = store::accept_invitation_as_member(&db, &invitation, owner, now_ms()).await;
        assert!(matches!(result, Err(AccountsError::AlreadyMember)), "{result:?}");
        assert!(
            store::find_invitation(&db, "token").await.unwrap().unwrap().is_usable(now_ms()),
            "the invitation stays unused"
        );
    })
    .await;
}

#[tokio::test]
async fn password_change_bumps_epoch() {
    on_each_backend(|db| async move {
        let (_, owner) = add_team(&db, "Ops", "owner@example.com").await;
        let before = store::find_user(&db, owner).await.unwrap().unwrap().session_epoch;
        let epoch = store::set_password(&db, owner, "new-hash").await.unwrap();
        assert_eq!(epoch, before + 1);
        let credentials = store::find_credentials(&db, "owner@example.com").await.unwrap().unwrap();
        assert_eq!(credentials.password_hash, "new-hash");
        assert_eq!(credentials.session_epoch, epoch);
    })
    .await;
}

#[tokio::test]
async fn login_failures_count_clear_and_prune() {
    on_each_backend(|db| async move {
        let now = now_ms();
        store::record_login_failure(&db, &["account:a@x", "ip:127.0.0.1"], now - 2 * DAY_MS)
            .await
            .unwrap();
        store::record_login_failure(&db, &["account:a@x", "ip:127.0.0.1"], now - 1000)
            .await
            .unwrap();
        store::record_login_failure(&db, &["account:a@x"], now).await.unwrap();

        let recent = store::recent_login_failures(&db, "account:a@x", now - DAY_MS).await.unwrap();
        assert_eq!(recent, [now, now - 1000], "newest first, only within the window");
        assert_eq!(
            store::recent_login_failures(&db, "ip:127.0.0.1", now - DAY_MS).await.unwrap().len(),
            1
        );

        assert_eq!(store::prune(&db, now - DAY_MS, now - DAY_MS).await.unwrap(), 2);
        store::clear_login_failures(&db, "account:a@x").await.unwrap();
        assert!(store::recent_login_failures(&db, "account:a@x", 0).await.unwrap().is_empty());
        assert_eq!(store::recent_login_failures(&db, "ip:127.0.0.1", 0).await.unwrap().len(), 1);
    })
    .await;
}

fn record(expires_in_secs: i64) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("user".to_string(), serde_json::json!({"id": 7, "epoch": 0}));
    Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(expires_in_secs),
    }
}

#[tokio::test]
async fn sessions_round_trip_and_expire() {
    on_each_backend(|db| async move {
        let store = DbSessionStore::new(db.clone());
        let mut live = record(3600);
        store.create(&mut live).await.unwrap();
        let loaded = store.load(&live.id).await.unwrap().expect("the session loads");
        assert_eq!(loaded.data, live.data);
        assert_eq!(loaded.expiry_date.unix_timestamp(), live.expiry_date.unix_timestamp());

        live.data.insert("team".into(), serde_json::json!(3));
        store.save(&live).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap().unwrap().data.len(), 2);

        let mut expired = record(-10);
        store.create(&mut expired).await.unwrap();
        assert!(store.load(&expired.id).await.unwrap().is_none(), "expired sessions do not load");
        assert_eq!(store.delete_expired(now_ms()).await.unwrap(), 1);

        store.delete(&live.id).await.unwrap();
        assert!(store.load(&live.id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn session_ids_are_stored_hashed() {
    on_each_backend(|db| async move {
        let store = DbSessionStore::new(db.clone());
        let mut session = record(3600);
        store.create(&mut session).await.unwrap();
        let keys: Vec<String> = app::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT id_hash FROM sessions").fetch_all(pool).await.unwrap()
        });
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains(&session.id.to_string()), "the cookie value is not stored");
    })
    .await;
}
