//! The integration tests: one binary, one module per area, each test on its own real
//! `redis-server` (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod cli_status;
mod harness;
mod store_cleaner;
mod store_common;
mod store_counters;
mod store_names;
mod store_recent;
mod store_slowest;
mod store_stats;
