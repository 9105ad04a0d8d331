//! The `rebound` server: configuration, start-up, HTTP serving, the
//! background worker and the operator's commands. `main.rs` only calls
//! [`cli::main`]; tests drive [`serve::router`] and [`serve::serve_until`].

pub mod assets;
pub mod bench;
pub mod cli;
pub mod config;
pub mod heartbeat;
pub mod middleware;
pub mod sandbox;
pub mod serve;
pub mod worker;
