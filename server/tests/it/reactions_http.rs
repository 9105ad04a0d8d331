//! Reactions through their server functions and pages, against the sandbox.

use app::connections::ConnectionKind;
use app::monitors::MonitorSettings;
use app::monitors::settings::HeartbeatSettings;
use app::storage::monitors::{self as monitors_store, MonitorDraft};
use app::storage::reactions as store;
use app::time::now_ms;

use crate::support::{TestServer, add_connection, add_team, on_each_backend, seeded_app};

struct Setup {
    server: TestServer,
    team: i64,
    monitor: i64,
    /// `<connection id>:<app>` of the seeded shop app (web 2 × Standard-1X).
    shop: String,
    /// The seeded api app, with 12 releases.
    api: String,
}

async fn setup(db: app::storage::Db) -> Setup {
    let (team, owner) = add_team(&db, "Ops", "ops@example.com").await;
    let server = TestServer::start(db.clone()).await;
    let (connection, account) =
        add_connection(&db, &server.sandbox.sandbox, team, owner, ConnectionKind::Sandbox, None)
            .await;
    let draft = MonitorDraft {
        name: "checkout".into(),
        settings: MonitorSettings::Heartbeat(HeartbeatSettings { grace_secs: 60 }),
        interval_secs: 60,
        fail_after: 1,
        recover_after: 1,
    };
    let now = now_ms();
    let monitor =
        monitors_store::create(&db, team, &draft, now, now + 3_600_000, None).await.unwrap();
    Setup {
        server,
        team,
        monitor,
        shop: format!("{connection}:{}", seeded_app(&account, "shop")),
        api: format!("{connection}:{}", seeded_app(&account, "api")),
    }
}

fn form(setup: &Setup, kind: &str, app: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = vec![
        ("form[name]".to_string(), format!("{kind} reaction")),
        ("form[kind]".to_string(), kind.to_string()),
        ("form[monitor_id]".to_string(), setup.monitor.to_string()),
        ("form[app]".to_string(), app.to_string()),
        ("form[call_on]".to_string(), "failed".to_string()),
        ("form[enabled]".to_string(), "on".to_string()),
    ];
    for (name, value) in fields {
        let key = format!("form[{name}]");
        form.retain(|(existing, _)| *existing != key);
        form.push((key, value.to_string()));
    }
    form
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

#[tokio::test]
async fn reaction_form_names_bad_fields() {
    on_each_backend(|db| async move {
        let setup = setup(db.clone()).await;
        let editor = setup.server.client().signed_in("ops@example.com").await;
        let shop = setup.shop.clone();
        let api = setup.api.clone();
        let cases = [
            (
                form(
                    &setup,
                    "scale_out",
                    &shop,
                    &[("name", " "), ("process_type", "web"), ("max_quantity", "3")],
                ),
                "name",
            ),
            (
                form(
                    &setup,
                    "scale_out",
                    &shop,
                    &[("monitor_id", "999999"), ("process_type", "web"), ("max_quantity", "3")],
                ),
                "monitor_id",
            ),
            (
                form(&setup, "scale_out", "", &[("process_type", "web"), ("max_quantity", "3")]),
                "app",
            ),
            (
                form(
                    &setup,
                    "scale_out",
                    &format!("{}-missing", shop),
                    &[("process_type", "web"), ("max_quantity", "3")],
                ),
                "app",
            ),
            (
                form(
                    &setup,
                    "scale_out",
                    &shop,
                    &[("call_on", "sometimes"), ("process_type", "web"), ("max_quantity", "3")],
                ),
                "call_on",
            ),
            (
                form(
                    &setup,
                    "scale_out",
                    &shop,
                    &[("process_type", "clock"), ("max_quantity", "3")],
                ),
                "process_type",
            ),
            (
                form(&setup, "scale_out", &shop, &[("process_type", "web"), ("max_quantity", "")]),
                "max_quantity",
            ),
            (
                form(
                    &setup,
                    "scale_up",
                    &shop,
                    &[("process_type", "web"), ("max_size", "private-l")],
                ),
                "max_size",
            ),
            (
                form(&setup, "rollback", &api, &[("min_release_version", "99")]),
                "min_release_version",
            ),
            (form(&setup, "one_off", &shop, &[("command", "   ")]), "command"),
            (
                form(
                    &setup,
                    "scale_out",
                    &shop,
                    &[("process_type", "web"), ("max_quantity", "3"), ("trigger_count", "0")],
                ),
                "trigger_count",
            ),
        ];
        for (fields, field) in cases {
            let reply = editor.call("create_reaction", &borrowed(&fields)).await;
            assert_eq!(reply.status, 422, "{fields:?}: {}", reply.text);
            assert_eq!(reply.error_field(), Some(field), "{fields:?}: {}", reply.text);
        }
        assert!(
            store::list(&db, setup.team).await.unwrap().is_empty(),
            "nothing partial was stored"
        );
        setup.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn reaction_created_previewed_and_switched() {
    on_each_backend(|db| async move {
        let setup = setup(db.clone()).await;
        let editor = setup.server.client().signed_in("ops@example.com").await;
        let fields = form(
            &setup,
            "scale_out",
            &setup.shop,
            &[("process_type", "web"), ("max_quantity", "5")],
        );
        let preview = editor.call("preview_reaction_form", &borrowed(&fields)).await;
        assert_eq!(preview.body, "Next trigger: web 2 → 3 (max 5)", "{}", preview.text);

        let created = editor.call("create_reaction", &borrowed(&fields)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let id = created.body.as_i64().unwrap().to_string();
        let duplicate = editor.call("create_reaction", &borrowed(&fields)).await;
        assert_eq!(duplicate.error_field(), Some("name"));

        let saved_preview = editor.call("preview_reaction", &[("id", &id)]).await;
        assert_eq!(saved_preview.body, "Next trigger: web 2 → 3 (max 5)");
        let at_bound = form(
            &setup,
            "scale_out",
            &setup.shop,
            &[("process_type", "web"), ("max_quantity", "2"), ("dry_run", "on")],
        );
        let bound_preview = editor.call("preview_reaction_form", &borrowed(&at_bound)).await;
        assert_eq!(bound_preview.body, "At bound: web is at max 2; a trigger does nothing (max 2)");

        let detail = editor.call("get_reaction", &[("id", &id)]).await.body;
        assert_eq!(detail["reaction"]["app_name"], setup.shop.split(':').nth(1).unwrap());
        assert_eq!(detail["form"]["max_quantity"], "5");
        assert_eq!(
            editor.call("set_reaction_enabled", &[("id", &id), ("enabled", "false")]).await.status,
            200
        );
        let list = editor.call("list_reactions", &[]).await.body;
        assert_eq!(list["items"][0]["reaction"]["enabled"], false);

        let mut edited = fields.clone();
        edited.retain(|(name, _)| name != "form[max_quantity]");
        edited.push(("form[max_quantity]".into(), "7".into()));
        edited.push(("id".into(), id.clone()));
        assert_eq!(editor.call("update_reaction", &borrowed(&edited)).await.status, 200);
        let detail = editor.call("get_reaction", &[("id", &id)]).await.body;
        assert_eq!(detail["form"]["max_quantity"], "7");
        setup.server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn reaction_pages_render() {
    on_each_backend(|db| async move {
        let setup = setup(db.clone()).await;
        let editor = setup.server.client().signed_in("ops@example.com").await;
        let fields = form(&setup, "restart_dyno", &setup.shop, &[("dyno_name", "web.1")]);
        let id = editor.call("create_reaction", &borrowed(&fields)).await.body.as_i64().unwrap();
        let encoded_app = setup.shop.replace(':', "%3A");
        let pages = [
            "/reactions".to_string(),
            "/reactions/new?kind=scale_out".to_string(),
            format!("/reactions/new?kind=scale_out&app={encoded_app}"),
            format!("/reactions/{id}"),
            format!("/reactions/{id}/edit"),
        ];
        for path in pages {
            let response = editor.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            let html = response.text().await.unwrap();
            assert!(!html.contains("Loading"), "{path} is complete without JavaScript");
            if path.contains("app=") {
                assert!(html.contains("web (2 × "), "{path} offers the live process types");
            }
            if path.ends_with(&id.to_string()) {
                assert!(html.contains("Next trigger: restart web.1"), "{path} shows the preview");
            }
        }
        setup.server.stop().await;
    })
    .await;
}
