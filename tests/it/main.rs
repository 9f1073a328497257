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
mod cli_status;
#[cfg(feature = "cli")]
mod cli_top;
#[cfg(feature = "cli")]
mod cli_util;
mod config;
mod counters_aggregation;
mod counters_cleaner;
mod counters_macros;
#[cfg(feature = "metrics")]
mod counters_metrics;
mod counters_settle;
mod counters_util;
mod geoip;
mod harness;
mod pipeline_batching;
mod pipeline_drops;
mod pipeline_events;
mod pipeline_failures;
mod pipeline_lifecycle;
mod pipeline_slowest;
mod pipeline_spans;
mod pipeline_util;
mod query;
mod store_cleaner;
mod store_common;
mod store_counters;
mod store_names;
mod store_recent;
mod store_slowest;
mod store_stats;
