//! Integration tests: storage on SQLite and Postgres, the HTTP surface on a
//! loopback server, and the `rebound` binary itself. One test binary keeps
//! link time down.

mod accounts_http;
mod authorization;
mod binary;
mod monitors_http;
mod probe;
mod scheduler;
mod storage_accounts;
mod storage_monitors;
mod support;
