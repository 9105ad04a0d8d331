//! The sandbox enforces Heroku's rules: sizes and tiers, quantity limits,
//! rollback targets, one-off dynos that exit, headers, ranges, rate limits
//! and the OAuth endpoints.

use std::time::Duration;

use app::heroku::client::StaticToken;
use app::heroku::sizes::DynoSize;
use app::heroku::types::{FormationUpdate, OneOffDyno};
use serde_json::Value;

use crate::support::{seeded_app, seeded_sandbox};

const ACCEPT: &str = "application/vnd.heroku+json; version=3";

#[tokio::test]
async fn tiers_do_not_mix_below_professional() {
    let (server, account, client) = seeded_sandbox().await;
    server.sandbox.add_app(
        &account.email,
        "eco-app",
        &[("web", 1, DynoSize::Eco, "web"), ("worker", 1, DynoSize::Eco, "worker")],
        &[("succeeded", "Initial release")],
    );
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);

    let one_type = api.update_formation("eco-app", "web", None, Some("standard-1x")).await;
    let error = one_type.unwrap_err();
    assert_eq!(error.status, Some(422));
    assert!(error.message.contains("Eco and Standard-1X"), "{}", error.message);

    let second_eco = api.update_formation("eco-app", "worker", Some(2), None).await.unwrap_err();
    assert_eq!(second_eco.id.as_deref(), Some("cannot_run_above_limit"));
    assert_eq!(second_eco.message, "Cannot update to more than 1 Eco size dynos per process type.");

    // Leaving Eco works when every process type moves in one batch.
    let all = ["web", "worker"].map(|process_type| FormationUpdate {
        process_type: process_type.into(),
        quantity: None,
        size: Some("Standard-1X".into()),
    });
    api.update_formations("eco-app", &all).await.unwrap();
    let scaled = api.update_formation("eco-app", "web", Some(5), None).await.unwrap().value;
    assert_eq!((scaled.quantity, scaled.size_name()), (5, "Standard-1X"));

    let blog = seeded_app(&account, "blog");
    let basic = api.update_formation(&blog, "web", Some(2), None).await.unwrap_err();
    assert_eq!(basic.message, "Cannot update to more than 1 Basic size dynos per process type.");
    server.stop().await;
}

#[tokio::test]
async fn sizes_and_quantities_are_checked() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    let app = seeded_app(&account, "api");

    let legacy = api.update_formation(&app, "web", None, Some("1X")).await.unwrap_err();
    assert_eq!((legacy.status, legacy.id.as_deref()), (Some(422), Some("invalid_params")));
    assert!(legacy.message.starts_with("No such size as 1X."), "{}", legacy.message);
    let any_case = api.update_formation(&app, "web", None, Some("PERFORMANCE-L")).await.unwrap();
    assert_eq!(any_case.value.size_name(), "Performance-L");

    let eleven = api.update_formation(&app, "web", Some(11), None).await.unwrap_err();
    assert_eq!(
        eleven.message,
        "Cannot update to more than 10 Performance-L size dynos per process type."
    );
    assert_eq!(api.formation_info(&app, "web").await.unwrap().value.quantity, 1, "nothing changed");
    assert_eq!(api.update_formation(&app, "web", Some(10), None).await.unwrap().value.quantity, 10);

    let private = api.update_formation(&app, "web", None, Some("private-m")).await.unwrap_err();
    assert!(private.message.contains("Private Spaces"), "{}", private.message);
    let unknown = api.update_formation(&app, "clock", Some(1), None).await.unwrap_err();
    assert_eq!(unknown.status, Some(404));
    assert_eq!(unknown.message, "Couldn't find that process type (clock).");
    server.stop().await;
}

#[tokio::test]
async fn rollback_creates_a_new_release() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    let app = seeded_app(&account, "api");

    let v11 = api.release(&app, "11").await.unwrap().value;
    let first = api.rollback(&app, &v11.id).await.unwrap().value;
    assert_eq!((first.version, first.description.as_str()), (13, "Rollback to v11"));
    let dynos = api.dynos(&app).await.unwrap().value;
    assert!(dynos.iter().all(|dyno| dyno.release.as_ref().unwrap().version == 13));

    // The next step back targets the newest eligible release older than v11.
    let v10 = api.release(&app, "10").await.unwrap().value;
    let second = api.rollback(&app, &v10.id).await.unwrap().value;
    assert_eq!((second.version, second.description.as_str()), (14, "Rollback to v10"));

    let failed = api.release(&app, "8").await.unwrap().value;
    assert_eq!(failed.status, "failed");
    let refused = api.rollback(&app, &failed.id).await.unwrap_err();
    assert_eq!(refused.status, Some(422));
    let unknown = api.rollback(&app, "00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert_eq!(
        (unknown.status, unknown.message.as_str()),
        (Some(404), "Couldn't find that release.")
    );
    server.stop().await;
}

#[tokio::test]
async fn one_off_dynos_start_run_and_exit() {
    let (server, account, client) = seeded_sandbox().await;
    let token = StaticToken(account.api_key.clone());
    let api = client.api_at(&server.url, &token);
    let shop = seeded_app(&account, "shop");
    let command = OneOffDyno { command: "sleep 5".into(), size: None, time_to_live: None };
    let run = api.create_one_off_dyno(&shop, &command).await.unwrap().value;
    assert_eq!(run.state, "starting");

    server.sandbox.advance(Duration::from_secs(3));
    assert_eq!(api.dyno(&shop, &run.name).await.unwrap().value.state, "up");
    server.sandbox.advance(Duration::from_secs(10));
    let gone = api.dyno(&shop, &run.name).await.unwrap_err();
    assert_eq!(gone.status, Some(404));
    let names: Vec<_> = api.dynos(&shop).await.unwrap().value.into_iter().map(|d| d.name).collect();
    assert!(!names.contains(&run.name), "{names:?}");

    let empty = OneOffDyno { command: " ".into(), size: None, time_to_live: None };
    assert_eq!(api.create_one_off_dyno(&shop, &empty).await.unwrap_err().status, Some(422));
    let too_long = OneOffDyno { command: "true".into(), size: None, time_to_live: Some(90_000) };
    assert_eq!(api.create_one_off_dyno(&shop, &too_long).await.unwrap_err().status, Some(422));
    let eco = OneOffDyno { command: "true".into(), size: Some("eco".into()), time_to_live: None };
    assert_eq!(api.create_one_off_dyno(&shop, &eco).await.unwrap_err().status, Some(422));
    server.stop().await;
}

#[tokio::test]
async fn headers_ranges_and_rate_limits() {
    let (server, account, _) = seeded_sandbox().await;
    let http = reqwest::Client::new();
    let app = seeded_app(&account, "api");
    let get = |path: String| {
        http.get(format!("{}{path}", server.url))
            .bearer_auth(&account.api_key)
            .header("accept", ACCEPT)
    };

    let no_accept = http.get(format!("{}/account", server.url)).bearer_auth(&account.api_key);
    let response = no_accept.send().await.unwrap();
    assert_eq!(response.status(), 406);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "not_acceptable");

    let first = get(format!("/apps/{app}/releases"))
        .header("range", "version ..; max=5, order=desc")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 206);
    assert!(first.headers().contains_key("request-id"));
    let next = first.headers()["next-range"].to_str().unwrap().to_string();
    let versions: Vec<i64> = first
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|r| r["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [12, 11, 10, 9, 8]);
    let last = get(format!("/apps/{app}/releases")).header("range", &next).send().await.unwrap();
    assert_eq!(last.status(), 206);

    let bad = get(format!("/apps/{app}/releases"))
        .header("range", "version ..; max=10; order=desc")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["id"], "bad_request");

    let missing = get("/apps/nope/dynos".into()).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!((body["id"].as_str(), body["resource"].as_str()), (Some("not_found"), Some("app")));

    server.sandbox.set_rate_limit(&account.email, 0);
    let limited = get("/account".into()).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    assert_eq!(limited.json::<Value>().await.unwrap()["id"], "rate_limit");
    let free = get("/account/rate-limits".into()).send().await.unwrap();
    assert_eq!(free.status(), 200, "the rate-limit endpoint answers even with an empty bucket");
    server.stop().await;
}

#[tokio::test]
async fn oauth_endpoints_follow_the_web_flow() {
    let (server, _, _) = seeded_sandbox().await;
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = format!("{}/oauth/authorize", server.url);

    let no_type = http.get(&authorize).query(&[("client_id", "c")]).send().await.unwrap();
    assert_eq!(no_type.status(), 400);
    let page = http
        .get(&authorize)
        .query(&[
            ("client_id", "c"),
            ("response_type", "code"),
            ("scope", "identity write-protected"),
            ("state", "s1"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Simulated Heroku"));

    let consent = [
        ("client_id", "c"),
        ("scope", "identity"),
        ("state", "s1"),
        ("redirect_uri", "http://127.0.0.1:9/callback"),
        ("email", "person@sandbox.example"),
        ("decision", "allow"),
    ];
    let redirect = http.post(&authorize).form(&consent).send().await.unwrap();
    assert_eq!(redirect.status(), 303);
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "s1");

    let token = format!("{}/oauth/token", server.url);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", query["code"].as_str()),
        ("client_secret", "secret"),
        ("redirect_uri", "http://127.0.0.1:9/callback"),
    ];
    let tokens: Value =
        http.post(&token).form(&exchange).send().await.unwrap().json().await.unwrap();
    assert_eq!(tokens["expires_in"], 28_800);
    assert!(tokens["access_token"].as_str().unwrap().starts_with("HRKU-"));

    let reused = http.post(&token).form(&exchange).send().await.unwrap();
    assert_eq!(reused.status(), 400);
    assert_eq!(reused.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_secret", "secret"),
    ];
    let refreshed: Value =
        http.post(&token).form(&refresh).send().await.unwrap().json().await.unwrap();
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    assert_eq!(server.sandbox.calls("grant refresh_token"), 1);

    let mut denial = consent;
    denial[5] = ("decision", "deny");
    let denied = http.post(&authorize).form(&denial).send().await.unwrap();
    assert!(denied.headers()["location"].to_str().unwrap().contains("error=access_denied"));
    server.stop().await;
}
