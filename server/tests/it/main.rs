//! Integration tests: storage on SQLite and Postgres, the HTTP surface on a
//! loopback server, and the `rebound` binary itself. One test binary keeps
//! link time down.

mod accounts_http;
mod api;
mod api_config;
mod authorization;
mod binary;
mod connection_tokens;
mod connections_http;
mod heroku_client;
mod monitors_http;
mod notifications_delivery;
mod openapi_check;
mod outage;
mod probe;
mod reactions_engine;
mod reactions_http;
mod replicas;
mod sandbox_rules;
mod scheduler;
mod storage_accounts;
mod storage_connections;
mod storage_monitors;
mod storage_notifications;
mod storage_reactions;
mod storage_timeline;
mod support;
mod timeline_http;
