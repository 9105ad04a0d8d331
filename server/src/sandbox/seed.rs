//! Demo apps for a new sandbox account: a web and worker app on Standard
//! dynos, an app on Basic dynos, and an app with a dozen releases (one of
//! them failed), so every page and reaction has something to act on.

use app::heroku::sizes::DynoSize;

use super::world::{World, add_app};

pub fn seed_demo_apps(world: &mut World, account: usize, now: i64) {
    // App names are global at Heroku; a per-account suffix keeps them
    // unique across sandbox accounts too.
    let suffix = world.accounts[account].id[..6].to_string();
    add_app(
        world,
        account,
        format!("shop-{suffix}"),
        None,
        &[
            ("web", 2, DynoSize::Standard1X, "bundle exec puma -C config/puma.rb"),
            ("worker", 1, DynoSize::Standard2X, "bundle exec sidekiq"),
        ],
        &[
            ("succeeded", "Initial release"),
            ("succeeded", "Deploy 4e1b0c2"),
            ("succeeded", "Set SIDEKIQ_CONCURRENCY config vars"),
            ("succeeded", "Deploy 9a7f3d1"),
        ],
        now,
    );
    add_app(
        world,
        account,
        format!("blog-{suffix}"),
        None,
        &[("web", 1, DynoSize::Basic, "node server.js")],
        &[("succeeded", "Initial release"), ("succeeded", "Deploy 1c2d3e4")],
        now,
    );
    add_app(
        world,
        account,
        format!("api-{suffix}"),
        Some("acme-platform".into()),
        &[
            ("web", 1, DynoSize::PerformanceM, "bin/start-api"),
            ("release", 0, DynoSize::PerformanceM, "bin/migrate"),
        ],
        &[
            ("succeeded", "Initial release"),
            ("succeeded", "Deploy 0f3a9b1"),
            ("succeeded", "Deploy 55c0e2d"),
            ("succeeded", "Set FEATURE_FLAGS config vars"),
            ("succeeded", "Deploy 8d21f4a"),
            ("succeeded", "Deploy a90b7c3"),
            ("succeeded", "Deploy 3e4f5a6"),
            ("failed", "Deploy 77aa1b2 (release command failed)"),
            ("succeeded", "Deploy 91bc2d3"),
            ("succeeded", "Set LOG_LEVEL config vars"),
            ("succeeded", "Deploy c0ffee1"),
            ("succeeded", "Deploy d15ea5e"),
        ],
        now,
    );
}
