//! The Platform API client against the sandbox: every call, every kind of
//! error, retries, `Retry-After`, timeouts and `Range` paging.

use std::time::{Duration, Instant};

use app::heroku::HerokuErrorKind;
use app::heroku::client::{HerokuClient, StaticToken};
use app::heroku::types::{FormationUpdate, OneOffDyno};
use axum::http::Method;
use serde_json::json;
use server::sandbox::Fault;

use crate::support::{sandbox_settings, seeded_app, seeded_sandbox};

#[tokio::test]
async fn every_call_answers_like_heroku() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    let shop = seeded_app(&account, "shop");
    let api_app = seeded_app(&account, "api");

    let me = api.account().await.unwrap();
    assert_eq!(me.value.email, account.email);
    assert!(me.request_id.is_some(), "every reply keeps the Request-Id");
    assert!(me.rate_limit_remaining.is_some_and(|left| left < 4500));

    let budget = api.rate_limits().await.unwrap().value.remaining;
    assert_eq!(api.rate_limits().await.unwrap().value.remaining, budget, "rate-limits is free");

    let apps = api.apps().await.unwrap().value;
    let mut names: Vec<_> = apps.iter().map(|app| app.name.clone()).collect();
    names.sort();
    assert_eq!(names, [seeded_app(&account, "api"), seeded_app(&account, "blog"), shop.clone()]);
    let team_app = apps.iter().find(|app| app.name == api_app).unwrap();
    assert_eq!(team_app.team.as_ref().map(|team| team.name.as_str()), Some("acme-platform"));
    assert_eq!(api.app(&shop).await.unwrap().value.name, shop);

    let formation = api.formation(&shop).await.unwrap().value;
    let web = formation.iter().find(|line| line.process_type == "web").unwrap();
    assert_eq!((web.quantity, web.size_name()), (2, "Standard-1X"));
    assert_eq!(api.formation_info(&shop, "worker").await.unwrap().value.quantity, 1);

    let scaled = api.update_formation(&shop, "web", Some(3), None).await.unwrap().value;
    assert_eq!(scaled.quantity, 3);
    let resized = api.update_formation(&shop, "web", None, Some("standard-2x")).await.unwrap();
    assert_eq!(resized.value.size_name(), "Standard-2X");
    let batch = [
        FormationUpdate { process_type: "web".into(), quantity: Some(1), size: None },
        FormationUpdate { process_type: "worker".into(), quantity: Some(2), size: None },
    ];
    let updated = api.update_formations(&shop, &batch).await.unwrap().value;
    assert_eq!(updated.iter().map(|line| line.quantity).collect::<Vec<_>>(), [1, 2]);

    let sizes = api.dyno_sizes(&shop).await.unwrap().value;
    assert!(sizes.iter().any(|size| size.name == "Performance-L"));

    let dynos = api.dynos(&shop).await.unwrap().value;
    let mut dyno_names: Vec<_> = dynos.iter().map(|dyno| dyno.name.clone()).collect();
    dyno_names.sort();
    assert_eq!(dyno_names, ["web.1", "worker.1", "worker.2"]);
    assert_eq!(api.dyno(&shop, "web.1").await.unwrap().value.process_type, "web");
    api.restart_dyno(&shop, "web.1").await.unwrap();
    assert_eq!(api.dyno(&shop, "web.1").await.unwrap().value.state, "starting");
    api.restart_all_dynos(&shop).await.unwrap();

    let command = "echo \"héllo wörld\" && bin/rake 'cleanup:all[1,2]'";
    let one_off = OneOffDyno {
        command: command.into(),
        size: Some("standard-2x".into()),
        time_to_live: Some(600),
    };
    let run = api.create_one_off_dyno(&shop, &one_off).await.unwrap().value;
    assert!(run.name.starts_with("run."), "{}", run.name);
    assert_eq!(run.command, command, "the command arrives exactly as typed");
    assert_eq!(run.state, "starting");
    assert_eq!(run.size, "Standard-2X");

    let releases = api.releases(&api_app, 10, 4).await.unwrap().value;
    let versions: Vec<i64> = releases.iter().map(|release| release.version).collect();
    assert_eq!(versions, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3], "newest first");
    assert_eq!(server.sandbox.calls(&format!("GET /apps/{api_app}/releases")), 3, "three pages");
    assert!(releases[0].current);
    assert_eq!(releases[4].status, "failed");
    let v11 = api.release(&api_app, "11").await.unwrap().value;
    assert_eq!(v11.version, 11);

    let rollback = api.rollback(&api_app, &v11.id).await.unwrap().value;
    assert_eq!(rollback.version, 13);
    assert_eq!(rollback.description, "Rollback to v11");
    assert!(rollback.current);
    let newest = api.releases(&api_app, 2, 2).await.unwrap().value;
    assert_eq!((newest[0].version, newest[0].current), (13, true));
    assert!(!newest[1].current, "the old current release is not current any more");

    let authorization = api.current_authorization().await.unwrap().value;
    api.revoke_authorization(&authorization.id).await.unwrap();
    let after = api.account().await.unwrap_err();
    assert_eq!(after.status, Some(401));
    server.stop().await;
}

#[tokio::test]
async fn errors_keep_heroku_fields() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);

    let missing = api.app("no-such-app").await.unwrap_err();
    assert_eq!(missing.kind, HerokuErrorKind::Api);
    assert_eq!(missing.status, Some(404));
    assert_eq!(missing.id.as_deref(), Some("not_found"));
    assert_eq!(missing.to_string(), "Couldn't find that app.");
    assert!(missing.request_id.is_some());

    let shop = seeded_app(&account, "shop");
    let mixed = api.update_formation(&shop, "web", None, Some("eco")).await.unwrap_err();
    assert_eq!(mixed.status, Some(422));
    assert!(mixed.message.contains("Eco and Standard-2X"), "{}", mixed.message);

    let no_dyno = api.restart_dyno(&shop, "web.9").await.unwrap_err();
    assert_eq!(no_dyno.status, Some(404));
    assert!(no_dyno.message.contains("web.9"), "{}", no_dyno.message);

    let stranger = StaticToken("HRKU-not-a-key".into());
    let unauthorized = client.api_at(&server.url, &stranger).account().await.unwrap_err();
    assert_eq!(
        (unauthorized.status, unauthorized.id.as_deref()),
        (Some(401), Some("unauthorized"))
    );

    server.sandbox.add_fault(Fault::respond("/account", 1, 200, json!("not an account")));
    let unreadable = api.account().await.unwrap_err();
    assert_eq!(unreadable.kind, HerokuErrorKind::InvalidResponse);
    assert!(unreadable.request_id.is_some());
    server.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    server.sandbox.add_fault(Fault::respond(
        "/account",
        2,
        503,
        json!({"id": "unavailable", "message": "API unavailable"}),
    ));
    assert_eq!(api.account().await.unwrap().value.email, account.email);
    assert_eq!(server.sandbox.calls("GET /account"), 3);

    // A 500 on a call that must not run twice is reported, not repeated.
    let shop = seeded_app(&account, "shop");
    let path = format!("/apps/{shop}/dynos");
    let fault = Fault::respond(&path, 1, 500, json!({"id": "internal", "message": "Boom"}));
    server.sandbox.add_fault(fault.with_method(Method::POST));
    let one_off = OneOffDyno { command: "true".into(), size: None, time_to_live: None };
    let error = api.create_one_off_dyno(&shop, &one_off).await.unwrap_err();
    assert_eq!((error.status, error.message.as_str()), (Some(500), "Boom"));
    assert_eq!(server.sandbox.calls(&format!("POST {path}")), 1);
    server.stop().await;
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    let limited = json!({"id": "rate_limit", "message": "Your account reached the API rate limit"});

    server
        .sandbox
        .add_fault(Fault::respond("/account", 1, 429, limited.clone()).with_retry_after(1));
    let started = Instant::now();
    api.account().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(server.sandbox.calls("GET /account"), 2);

    // A wait beyond the retry deadline is not attempted at all.
    server.sandbox.add_fault(Fault::respond("/account", 1, 429, limited).with_retry_after(60));
    let started = Instant::now();
    let error = api.account().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!((error.status, error.id.as_deref()), (Some(429), Some("rate_limit")));
    assert_eq!(error.retry_after_secs, Some(60));

    // An empty bucket returns 429 until it refills (75 calls a minute).
    server.sandbox.set_rate_limit(&account.email, 0);
    let reply = api.account().await.unwrap();
    assert_eq!(reply.rate_limit_remaining, Some(0));
    assert!(server.sandbox.calls("GET /account") >= 5, "the 429s were retried");
    server.stop().await;
}

#[tokio::test]
async fn timeouts_retry_reads_only() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    server.sandbox.add_fault(Fault::hang("/account", 1, Duration::from_secs(3)));
    assert_eq!(api.account().await.unwrap().value.email, account.email);
    assert_eq!(server.sandbox.calls("GET /account"), 2);

    let app = seeded_app(&account, "api");
    let target = api.release(&app, "11").await.unwrap().value;
    let path = format!("/apps/{app}/releases");
    server
        .sandbox
        .add_fault(Fault::hang(&path, 1, Duration::from_secs(3)).with_method(Method::POST));
    let error = api.rollback(&app, &target.id).await.unwrap_err();
    assert_eq!(error.kind, HerokuErrorKind::Timeout);
    assert_eq!(error.to_string(), "Heroku did not respond in time.");
    assert_eq!(server.sandbox.calls(&format!("POST {path}")), 1, "a rollback is never sent twice");
    server.stop().await;
}

#[tokio::test]
async fn unreachable_heroku_is_reported() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = HerokuClient::new(sandbox_settings(&format!("http://{closed}")).client).unwrap();
    let token = StaticToken("HRKU-x".into());
    let error = client.api(&token).account().await.unwrap_err();
    assert_eq!(error.kind, HerokuErrorKind::Unreachable);
    assert_eq!(error.status, None);
    assert_eq!(error.to_string(), "Heroku could not be reached.");
}
