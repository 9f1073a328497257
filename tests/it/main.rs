//! The integration tests: one binary, one module per area, each test on its own real
//! `redis-server` (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "cli")]
mod cli_counters;
#[cfg(feature = "cli")]
mod cli_errors;
#[cfg(feature = "cli")]
mod cli_logs;
#[cfg(feature = "cli")]
mod cli_stats;
#[cfg(feature = "cli")]
mod cli_top;
#[cfg(feature = "cli")]
mod cli_util;
mod harness;
mod query;
