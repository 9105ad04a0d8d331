//! Rebound's web application: pages, server functions and the logic behind
//! them. With the `ssr` feature it also carries everything the server needs
//! (storage, sessions, secrets); with `hydrate` it is the browser bundle.

pub mod accounts;
pub mod api;
pub mod app;
pub mod components;
pub mod connections;
pub mod error;
pub mod heroku;
pub mod monitors;
pub mod notifications;
pub mod reactions;
pub mod team_config;
pub mod time;
pub mod timeline;

#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod storage;

pub use app::{App, shell};
pub use error::AppError;

/// Browser entry point: attaches the client-side app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
