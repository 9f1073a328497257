//! The integration tests: one binary, one module per area, each test on its own real
//! `redis-server` (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod geoip;
mod harness;
