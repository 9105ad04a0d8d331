//! Heroku: the Platform API client (server only), the API objects pages
//! show, and the dyno size rules.

pub mod error;
pub mod sizes;
pub mod types;

#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod retry;

pub use error::{HerokuError, HerokuErrorKind};
