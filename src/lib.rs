//! Redis as the operational memory of a running service.
//!
//! Install it as your `tracing` subscriber (or `log` logger, or `metrics` recorder), keep
//! writing `log::info!`, `tracing::warn!` and `#[instrument]`, and Redis holds:
//!
//! - **recent logs**: the last 100 entries per log name and severity;
//! - **common logs**: how often each message occurred this hour, the previous hour kept;
//! - **counters** at 1 s, 5 s, 1 min, 5 min, 1 h, 5 h and 1 day resolution, trimmed by a cleaner;
//! - **statistics** per context (count, sum, sum of squares, min, max → mean, stddev) and the
//!   **slowest** contexts by mean;
//! - **IP → city** lookups, and **configuration** with a maintenance flag.
//!
//! # Architecture
//!
//! Layers, top to bottom; each only calls the one below it:
//!
//! 1. **Facade**: what the application calls. Cheap, never blocks, no I/O.
//! 2. **Pipeline**: a bounded queue and one background worker that batches, coalesces and
//!    writes with one MULTI/EXEC round trip per flush.
//! 3. **Store** ([`store`]): one module per technique, plain synchronous functions over a
//!    Redis connection, usable directly.
//! 4. **Query & CLI** ([`query`]): typed reads and the `tracing-redis` command-line tool.
//!
//! # Requirements
//!
//! Redis ≥ 6.2 (`ZADD GT/LT`, `ZMSCORE`).
//!
//! # Feature flags
//!
//! - `metrics` (default): a `metrics::Recorder` feeding counters and statistics.
//! - `cli` (default): the `tracing-redis` binary.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::print_stdout, clippy::print_stderr, clippy::panic)
)]

pub mod config;
mod error;
pub mod query;
pub mod store;

pub use config::{ConnectionRegistry, LiveConfig};
pub use error::{Error, ErrorKind, Result};

// Keeps the README's example compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
