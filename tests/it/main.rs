//! The integration tests: one binary, one module per area, each test on its own real
//! `redis-server` (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod harness;
mod pipeline_batching;
mod pipeline_events;
mod pipeline_failures;
mod pipeline_lifecycle;
mod pipeline_spans;
mod pipeline_util;
