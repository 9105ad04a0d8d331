//! Accounts through HTTP, as the browser uses them: first run, sign-in and
//! throttling, sessions, invitations, the page gate and the cross-site check.

use app::accounts::Role;
use app::storage::accounts as store;
use serde_json::Value;

use crate::support::{PASSWORD, TestServer, add_team, add_user, on_each_backend};

#[tokio::test]
async fn empty_instance_sends_visitors_to_setup() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db).await;
        let client = server.client();
        for path in ["/", "/team", "/login"] {
            let response = client.get(path).await;
            assert_eq!(response.status(), 303, "GET {path}");
            assert_eq!(response.headers()["location"], "/setup", "GET {path}");
        }
        assert_eq!(client.get("/setup").await.status(), 200);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn setup_validates_every_field_and_stores_nothing() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db.clone()).await;
        let client = server.client();
        let cases = [
            ([("email", "not-an-email"), ("password", PASSWORD), ("team_name", "Ops")], "email"),
            (
                [("email", "ada@example.com"), ("password", "short"), ("team_name", "Ops")],
                "password",
            ),
            (
                [("email", "ada@example.com"), ("password", PASSWORD), ("team_name", "  ")],
                "team_name",
            ),
        ];
        for (form, field) in cases {
            let reply = client.call("setup", &form).await;
            assert_eq!(reply.status, 422, "{form:?}: {}", reply.text);
            assert_eq!(reply.error_field(), Some(field), "{form:?}");
            let message = reply.body["Invalid"]["message"].as_str().unwrap().to_lowercase();
            assert!(
                message.contains(&field.replace('_', " ")),
                "message names the field: {message}"
            );
        }
        assert!(!store::is_set_up(&db).await.unwrap(), "no partial account was stored");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn setup_signs_in_and_closes() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db).await;
        let client = server.client();
        let form = [("email", "Ada@Example.com"), ("password", PASSWORD), ("team_name", "Ops")];
        let reply = client.call("setup", &form).await;
        assert_eq!(reply.status, 200, "{}", reply.text);

        let viewer = client.call("viewer", &[]).await.body;
        assert_eq!(viewer["email"], "ada@example.com");
        assert_eq!(viewer["team"]["name"], "Ops");
        assert_eq!(viewer["role"], "owner");

        let again = server.client().call("setup", &form).await;
        assert_eq!(again.status, 409, "{}", again.text);
        assert_eq!(client.get("/setup").await.headers()["location"], "/");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn login_answers_alike_for_unknown_email_and_wrong_password() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let wrong_password = server.client().login("ada@example.com", "wrong password").await;
        let unknown_email = server.client().login("nobody@example.com", PASSWORD).await;
        assert_eq!(wrong_password.status, 422);
        assert_eq!(wrong_password.text, unknown_email.text);
        assert_eq!(wrong_password.error_field(), Some("password"));

        let client = server.client();
        assert_eq!(client.login("ADA@example.com ", PASSWORD).await.status, 200);
        assert_eq!(client.call("viewer", &[]).await.body["email"], "ada@example.com");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn repeated_failures_slow_down_sign_in() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let client = server.client();
        for attempt in 1..=5 {
            let reply = client.login("ada@example.com", "wrong password").await;
            assert_eq!(reply.status, 422, "attempt {attempt}");
        }
        let locked = client.login("ada@example.com", PASSWORD).await;
        assert_eq!(locked.status, 429, "{}", locked.text);
        let wait = locked.body["RateLimited"]["retry_after_secs"].as_u64().unwrap();
        assert!((800..=900).contains(&wait), "waits about 15 minutes, got {wait} s");
        assert!(client.call("viewer", &[]).await.body.is_null(), "not signed in while locked");
        server.stop().await;
    })
    .await;
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("rebound_session="))
        .map(|value| value.split(';').next().unwrap().to_string())
}

#[tokio::test]
async fn session_cookie_is_rotated_and_protected() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let http = reqwest::Client::new();
        let post = |path: &str, form: &[(&str, &str)], cookie: Option<&str>| {
            let mut request = http
                .post(format!("{}{path}", server.url))
                .header("origin", &server.url)
                .header("accept", "application/json")
                .form(form);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
        // The cookie of a first sign-in plays the id an attacker planted:
        // signing in again while presenting it must yield a new id.
        let first =
            post("/api/login", &[("email", "ada@example.com"), ("password", PASSWORD)], None)
                .await
                .unwrap();
        let first_cookie = session_cookie(&first).expect("sign-in sets the session cookie");
        let raw = first
            .headers()
            .get_all("set-cookie")
            .iter()
            .next()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(raw.contains("HttpOnly"), "{raw}");
        assert!(raw.contains("SameSite=Lax"), "{raw}");
        assert!(!raw.contains("Secure"), "plain http instance: {raw}");

        let second = post(
            "/api/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
            Some(&first_cookie),
        )
        .await
        .unwrap();
        let second_cookie = session_cookie(&second).expect("signing in again sets a new cookie");
        assert_ne!(first_cookie, second_cookie, "the session id is rotated on sign-in");

        let old =
            post("/api/viewer", &[], Some(&first_cookie)).await.unwrap().text().await.unwrap();
        assert_eq!(old, "null", "the pre-rotation id no longer signs in");

        post("/api/logout", &[], Some(&second_cookie)).await.unwrap();
        let after =
            post("/api/viewer", &[], Some(&second_cookie)).await.unwrap().text().await.unwrap();
        assert_eq!(after, "null", "logout ends the session");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn secure_cookie_behind_https_public_url() {
    let database = crate::support::TestDb::sqlite().await;
    add_team(&database.db, "Ops", "ada@example.com").await;
    let settings = app::state::Settings {
        public_origin: Some("https://rebound.example.com".into()),
        ..Default::default()
    };
    let server = TestServer::start_with(database.db.clone(), settings).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/login", server.url))
        .header("origin", "https://rebound.example.com")
        .header("accept", "application/json")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let raw = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(raw.contains("Secure"), "{raw}");

    let from_host = server.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(from_host.status, 403, "only the public origin is accepted");
    server.stop().await;
    database.drop_database().await;
}

#[tokio::test]
async fn password_change_signs_out_other_sessions() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let laptop = server.client().signed_in("ada@example.com").await;
        let phone = server.client().signed_in("ada@example.com").await;

        let wrong = laptop
            .call(
                "change_password",
                &[("current_password", "nope"), ("new_password", "a brand new password")],
            )
            .await;
        assert_eq!(wrong.error_field(), Some("current_password"));
        let short = laptop
            .call("change_password", &[("current_password", PASSWORD), ("new_password", "short")])
            .await;
        assert_eq!(short.error_field(), Some("new_password"));

        let changed = laptop
            .call(
                "change_password",
                &[("current_password", PASSWORD), ("new_password", "a brand new password")],
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(laptop.call("viewer", &[]).await.body["email"], "ada@example.com");
        assert!(phone.call("viewer", &[]).await.body.is_null(), "the other session is signed out");
        assert_eq!(
            server.client().login("ada@example.com", "a brand new password").await.status,
            200
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn cross_site_writes_are_rejected() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let http = reqwest::Client::new();
        let form = [("email", "ada@example.com"), ("password", PASSWORD)];
        let cases: [(&str, Option<(&str, String)>); 4] = [
            ("no origin or referer", None),
            ("foreign origin", Some(("origin", "http://evil.example".to_string()))),
            ("foreign referer", Some(("referer", "http://evil.example/page".to_string()))),
            ("null origin", Some(("origin", "null".to_string()))),
        ];
        for (case, header) in cases {
            let mut request = http.post(format!("{}/api/login", server.url)).form(&form);
            if let Some((name, value)) = header {
                request = request.header(name, value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 403, "{case}");
            assert!(response.headers().get("set-cookie").is_none(), "{case}: no session started");
        }
        let same_site = http
            .post(format!("{}/api/login", server.url))
            .header("referer", format!("{}/login", server.url))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(same_site.status(), 200, "a same-site Referer is enough");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn anonymous_pages_redirect_to_sign_in() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let client = server.client();
        let response = client.get("/team?tab=members").await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/login?next=%2Fteam%3Ftab%3Dmembers");
        assert_eq!(client.get("/login").await.status(), 200);

        let client = client.signed_in("ada@example.com").await;
        assert_eq!(client.get("/team").await.status(), 200);
        let back = client.get("/login?next=%2Fteam").await;
        assert_eq!(back.headers()["location"], "/team", "signed-in users skip the sign-in page");
        let unknown = client.get("/no/such/page").await;
        assert_eq!(unknown.status(), 404);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn form_post_without_javascript_redirects_with_error() {
    on_each_backend(|db| async move {
        add_team(&db, "Ops", "ada@example.com").await;
        let server = TestServer::start(db).await;
        let response = server
            .client()
            .http
            .post(format!("{}/api/login", server.url))
            .header("accept", "text/html")
            .header("referer", format!("{}/login", server.url))
            .form(&[("email", "ada@example.com"), ("password", "wrong password")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(&format!("{}/login?", server.url)), "{location}");
        assert!(location.contains("__err="), "the error travels in the URL: {location}");

        let page = server.client().get(&location[server.url.len()..]).await.text().await.unwrap();
        assert!(page.contains("Email or password is incorrect."), "the page shows the error");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn invitation_sign_up_joins_with_role() {
    on_each_backend(|db| async move {
        let (team, _) = add_team(&db, "Ops", "owner@example.com").await;
        let server = TestServer::start(db.clone()).await;
        let owner = server.client().signed_in("owner@example.com").await;
        let owner_role = owner.call("create_invitation", &[("role", "owner"), ("note", "")]).await;
        assert_eq!(owner_role.error_field(), Some("role"), "invitations cannot grant owner");

        let created =
            owner.call("create_invitation", &[("role", "viewer"), ("note", "for Vic")]).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let link = created.body["link"].as_str().unwrap().to_string();
        assert!(link.starts_with(&format!("{}/invite/", server.url)), "{link}");
        let token = link.rsplit('/').next().unwrap().to_string();

        let listed = owner.call("list_invitations", &[]).await.body;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(!listed.to_string().contains(&token), "the token is shown only once");

        let visitor = server.client();
        assert_eq!(
            visitor.get(&format!("/invite/{token}")).await.status(),
            200,
            "the link opens anonymously"
        );
        let details = visitor.call("invitation_details", &[("token", &token)]).await.body;
        assert_eq!(details["team_name"], "Ops");
        assert_eq!(details["role"], "viewer");

        let weak = visitor
            .call(
                "sign_up",
                &[("token", &token), ("email", "vic@example.com"), ("password", "short")],
            )
            .await;
        assert_eq!(weak.error_field(), Some("password"));
        let joined = visitor
            .call(
                "sign_up",
                &[("token", &token), ("email", "vic@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(joined.status, 200, "{}", joined.text);
        let viewer = visitor.call("viewer", &[]).await.body;
        assert_eq!(viewer["role"], "viewer");
        assert_eq!(viewer["team"]["id"], team);

        let reused = server
            .client()
            .call(
                "sign_up",
                &[("token", &token), ("email", "eve@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(reused.error_field(), Some("token"), "the link works once: {}", reused.text);
        assert!(store::find_user_by_email(&db, "eve@example.com").await.unwrap().is_none());
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn existing_user_joins_second_team_and_switches() {
    on_each_backend(|db| async move {
        let (ops, _) = add_team(&db, "Ops", "ops-owner@example.com").await;
        let (web, _) = add_team(&db, "Web", "web-owner@example.com").await;
        let server = TestServer::start(db).await;
        let web_owner = server.client().signed_in("web-owner@example.com").await;
        let link = web_owner
            .call("create_invitation", &[("role", "editor"), ("note", "")])
            .await
            .body["link"]
            .as_str()
            .unwrap()
            .to_string();
        let token = link.rsplit('/').next().unwrap();

        let ops_owner = server.client().signed_in("ops-owner@example.com").await;
        assert_eq!(ops_owner.call("join_team", &[("token", token)]).await.status, 200);
        let viewer = ops_owner.call("viewer", &[]).await.body;
        assert_eq!(viewer["team"]["id"], web, "joining switches to the new team");
        assert_eq!(viewer["role"], "editor");
        assert_eq!(viewer["teams"].as_array().unwrap().len(), 2);

        let ops_id = ops.to_string();
        assert_eq!(ops_owner.call("switch_team", &[("team_id", &ops_id)]).await.status, 200);
        let viewer = ops_owner.call("viewer", &[]).await.body;
        assert_eq!(viewer["team"]["id"], ops);
        assert_eq!(viewer["role"], "owner");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn admins_manage_roles_but_not_owners() {
    on_each_backend(|db| async move {
        let (team, owner) = add_team(&db, "Ops", "owner@example.com").await;
        add_user(&db, "admin@example.com", team, Role::Admin).await;
        let editor = add_user(&db, "editor@example.com", team, Role::Editor).await;
        let server = TestServer::start(db.clone()).await;
        let admin = server.client().signed_in("admin@example.com").await;

        let editor_id = editor.to_string();
        let owner_id = owner.to_string();
        assert_eq!(
            admin.call("change_role", &[("user_id", &editor_id), ("role", "viewer")]).await.status,
            200
        );
        assert_eq!(store::role_in_team(&db, editor, team).await.unwrap(), Some(Role::Viewer));

        let promote =
            admin.call("change_role", &[("user_id", &editor_id), ("role", "owner")]).await;
        assert_eq!(promote.error_kind().as_deref(), Some("Forbidden"));
        let demote_owner =
            admin.call("change_role", &[("user_id", &owner_id), ("role", "viewer")]).await;
        assert_eq!(demote_owner.error_kind().as_deref(), Some("Forbidden"));
        let bad_role =
            admin.call("change_role", &[("user_id", &editor_id), ("role", "superuser")]).await;
        assert_eq!(bad_role.error_field(), Some("role"));

        let owner_client = server.client().signed_in("owner@example.com").await;
        let last_owner = owner_client.call("remove_member", &[("user_id", &owner_id)]).await;
        assert_eq!(last_owner.status, 409, "{}", last_owner.text);
        let members: Value = owner_client.call("list_members", &[]).await.body;
        assert_eq!(members.as_array().unwrap().len(), 3);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn health_check_answers() {
    on_each_backend(|db| async move {
        let server = TestServer::start(db).await;
        let response = server.client().get("/healthz").await;
        assert_eq!(response.status(), 200);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bundle_files_are_served_with_types() {
    let database = crate::support::TestDb::sqlite().await;
    let server = TestServer::start(database.db.clone()).await;
    let client = server.client();
    let favicon = client.get("/favicon.svg").await;
    // The favicon comes from public/ and is embedded whenever the site was
    // built; without a site build only the 404 page exists.
    if favicon.status() == 200 {
        assert_eq!(favicon.headers()["content-type"], "image/svg+xml");
        let etag = favicon.headers()["etag"].to_str().unwrap().to_string();
        let again = client
            .http
            .get(format!("{}/favicon.svg", server.url))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    } else {
        assert_eq!(favicon.status(), 404, "unbuilt site: only the not-found page exists");
    }
    server.stop().await;
    database.drop_database().await;
}

#[tokio::test]
async fn bundle_is_sent_compressed_when_accepted() {
    let database = crate::support::TestDb::sqlite().await;
    let server = TestServer::start(database.db.clone()).await;
    // A client that leaves bodies encoded, to see what the server sent.
    let http = reqwest::Client::builder().no_gzip().no_brotli().no_deflate().build().unwrap();
    let fetch = |encoding: &'static str| {
        let request = http.get(format!("{}/pkg/rebound.wasm", server.url));
        async move { request.header("accept-encoding", encoding).send().await.unwrap() }
    };

    let plain = fetch("identity").await;
    assert_eq!(plain.status(), 200, "the site is built (scripts/build.sh) before the tests");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    let plain_tag = plain.headers()["etag"].to_str().unwrap().to_string();
    let plain_body = plain.bytes().await.unwrap();

    let zipped = fetch("gzip, deflate").await;
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["content-type"], "application/wasm");
    let zipped_tag = zipped.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(zipped_tag, plain_tag, "each encoding has its own tag");
    let zipped_body = zipped.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped_body[..]), &mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain_body);

    let best = fetch("gzip, deflate, br").await;
    assert_eq!(best.headers()["content-encoding"], "br", "brotli is preferred");
    let best_body = best.bytes().await.unwrap();
    assert!(best_body.len() < zipped_body.len());
    let mut unpacked = Vec::new();
    brotli::BrotliDecompress(&mut &best_body[..], &mut unpacked).unwrap();
    assert_eq!(unpacked, plain_body);

    let refused = fetch("br;q=0, gzip;q=0").await;
    assert!(refused.headers().get("content-encoding").is_none());

    let revalidated = http
        .get(format!("{}/pkg/rebound.wasm", server.url))
        .header("accept-encoding", "gzip")
        .header("if-none-match", zipped_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    server.stop().await;
    database.drop_database().await;
}
