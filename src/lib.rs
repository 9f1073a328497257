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
//! # Quick start
//!
//! ```no_run
//! use tracing::{info, instrument, warn};
//!
//! #[instrument]
//! fn handle(user: u64) {
//!     info!(user, "logged in");
//! }
//!
//! fn main() {
//!     // Redis at $REDIS_URL (else redis://127.0.0.1:6379/); log name = executable name.
//!     let _guard = tracing_redis::init();
//!     handle(42);
//!     warn!("disk {}% full", 91);
//! } // the guard writes what is queued before the process ends
//! ```
//!
//! Afterwards `recent:<name>:info` holds the JSON entries, `common:{<name>:warning}` counts
//! `disk #% full`, and `stats:{handle:AccessTime}` and `slowest:AccessTime` hold the time
//! `handle` took. [`builder()`] sets the URL, log name, namespace, queue sizes and the rest;
//! [`Builder::build`] gives a [`RedisLayer`] to compose with your own subscriber
//! (`registry()`, `fmt::layer()`, `EnvFilter`, per-layer filters), and
//! [`Builder::build_logger`] a [`RedisLogger`] for applications that use `log` alone.
//!
//! ```no_run
//! use tracing_subscriber::{EnvFilter, prelude::*};
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let (layer, guard) = tracing_redis::builder().name("api").namespace("prod").build()?;
//! tracing_subscriber::registry()
//!     .with(layer.with_filter(EnvFilter::new("info,my_crate::db=debug")))
//!     .with(tracing_subscriber::fmt::layer())
//!     .init();
//! # drop(guard); Ok(()) }
//! ```
//!
//! # Counting
//!
//! [`count!`] adds to a counter, [`timed!`] times a block into the statistics (type
//! `AccessTime`, like a closed span), and code already written against the `metrics` crate
//! feeds Redis through a [`RedisRecorder`] (feature `metrics`). The macros' names never clash
//! with `metrics::counter!`, `gauge!` or `histogram!`.
//!
//! ```no_run
//! use tracing_redis::{count, timed};
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let _guard = tracing_redis::builder().install_recorder(true).try_init()?;
//! count!("orders.placed");                    // + 1
//! count!("bytes.sent", 1_500u64);             // + n, any integer type
//! count!(format!("orders;region={}", "eu"));  // a Graphite-style name of your own
//! let total = timed!("checkout", { 6 * 7 });  // an `AccessTime` sample of "checkout"
//! metrics::counter!("http.requests", "method" => "GET").increment(1); // `http.requests;method=GET`
//! metrics::histogram!("payload.size").record(512.0);   // statistics of type `Histogram`
//! metrics::gauge!("queue.depth").set(17.0);            // statistics of type `Gauge`
//! # let _ = total; Ok(()) }
//! ```
//!
//! Redis then holds each counter at 1 s, 5 s, 1 min, 5 min, 1 h, 5 h and 1 day resolution
//! (`count:<precision>:<name>`), listed in `known:`; [`query::Query::counter_window`] and
//! `tracing-redis counter NAME --precision 60` read them back.
//!
//! Counting is cheap on the caller's thread: an increment is summed in memory per counter and
//! second of its event time, on one of several shards (a thread keeps its shard; no lock is
//! shared by all threads), with no I/O. Once per flush interval the worker writes the sums:
//! one `HINCRBY` per counter, precision and bucket and one `known:` registration per counter,
//! however many increments there were. [`Guard::flush`] and dropping the guard include the
//! increments made so far. Memory is bounded by [`Builder::counter_capacity`]: the distinct
//! (counter, second) sums held until they are written or dropped, also while Redis is away;
//! past it increments are dropped and counted ([`DropReason::CountersFull`]). Counts of
//! written and dropped count each increment once, however many one sum carries.
//!
//! The macros feed the pipeline of the current `tracing` dispatcher's [`RedisLayer`] (so
//! `tracing::subscriber::with_default` scopes them too, through any per-layer filter), else
//! of the installed [`RedisLogger`]; with neither they do nothing and cost about two atomic
//! loads. Tests scope the recorder with `metrics::with_local_recorder`; applications install
//! it with [`Builder::install_recorder`], [`RedisRecorder::install`], or get one sharing a
//! layer's pipeline from [`RedisLayer::recorder`].
//!
//! # Upkeep
//!
//! Counters keep at most 120 buckets at each precision only if something trims them: the
//! counter [`Cleaner`](store::Cleaner). Nothing runs it unless you ask, in one of three ways:
//!
//! - [`Builder::cleaner`]`(true)`: a background thread of the application, one pass a
//!   minute, stopped by the [`Guard`];
//! - `tracing-redis clean-counters` (a pass a minute until interrupted) or
//!   `tracing-redis clean-counters --once` (from cron, say);
//! - a [`Cleaner`](store::Cleaner) of your own: [`Cleaner::pass`](store::Cleaner::pass),
//!   [`Cleaner::run`](store::Cleaner::run) or [`Cleaner::spawn`](store::Cleaner::spawn).
//!
//! Several cleaners may run at once, in any number of processes: each deletion is one atomic
//! script, and a counter leaves `known:` only when its hash is empty at that moment. A pass
//! costs work in proportion to the counters and buckets held, not to the increments ever
//! made.
//!
//! ```no_run
//! # fn main() -> tracing_redis::Result<()> {
//! let _guard = tracing_redis::builder().cleaner(true).try_init()?;
//! # Ok(()) }
//! ```
//!
//! # Architecture
//!
//! Layers, top to bottom; each only calls the one below it:
//!
//! 1. **Facade**: what the application calls ([`RedisLayer`], [`RedisLogger`], [`count!`],
//!    [`timed!`], [`RedisRecorder`]). On the caller's thread it builds a small owned record
//!    and pushes it onto a bounded queue (counter increments are summed in memory first): no
//!    I/O, no lock held across I/O, no JSON or timestamp formatting. A full queue drops the
//!    record and counts it ([`Overflow::Lossy`], the default) or waits at most a timeout
//!    ([`Overflow::Block`]).
//! 2. **Pipeline**: one background thread (`tracing-redis`) owns the connection. It wakes on
//!    a full batch or every flush interval, coalesces the batch (one LPUSH + LTRIM per recent
//!    log, summed counts per common log and hour, one merged update per statistics context
//!    and hour) and sends it as one MULTI/EXEC, followed, when it carried timings of the
//!    current hour, by one more that sets their contexts' means in the slowest sets (keys of
//!    other Cluster slots than the statistics). The result equals applying the records one
//!    by one. Each record counts in the hour of its own event time.
//! 3. **Store** ([`store`]): one module per technique, plain synchronous functions over a
//!    Redis connection, usable directly.
//! 4. **Query & CLI** ([`query`]): typed reads and the `tracing-redis` command-line tool.
//!
//! Events emitted on the worker thread (by the redis crate or anything else) never re-enter
//! the queue. The library never prints and never panics (except [`init`], as documented).
//!
//! # When Redis is away
//!
//! The application starts anyway; records wait in the queue (log events and samples bounded
//! by [`Builder::queue_capacity`] and [`Builder::queue_bytes`], counter sums by
//! [`Builder::counter_capacity`]). The worker reconnects with capped exponential backoff,
//! loads the scripts on every (re)connect and sends the whole flush again. Until EXEC reaches Redis nothing of a flush is applied, so a broken
//! connection loses nothing and duplicates nothing, with one exception: a flush Redis
//! executed just before the connection broke, whose reply was lost, is applied twice
//! (delivery is at-least-once for that one flush). A command refused inside EXEC (say
//! `WRONGTYPE` on a key someone else wrote) is never sent again, because EXEC does not roll
//! back: the records it carried are counted as dropped.
//!
//! Every dropped record is counted by [`DropReason`] (a counter's sum for each increment it
//! carried), shown by [`Guard::flush`] and [`StatusHandle`], and, once Redis is reachable,
//! written as an `N events dropped` entry in the recent log at `warning` (increments count
//! as events there) and added to the `tracing-redis.dropped` counter.
//!
//! # Shutdown
//!
//! [`init`] and [`Builder::build`] return a [`Guard`]. Keep it for the life of the program;
//! dropping it writes what is queued and stops the worker, waiting at most the shutdown
//! timeout ([`DEFAULT_SHUTDOWN_TIMEOUT`]). [`Guard::flush`] writes without stopping and
//! reports what happened:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let guard = tracing_redis::builder().try_init()?;
//! tracing::info!("about to exit");
//! let report = guard.flush(Duration::from_secs(2));
//! if !report.is_complete() {
//!     // Redis did not answer in time; report.last_error says why.
//! }
//! let last = guard.shutdown(); // or just let it drop
//! assert_eq!(last.failed, 0);
//! # Ok(()) }
//! ```
//!
//! Records still queued when the process exits without dropping the guard (for example
//! through `std::process::exit`) are lost.
//!
//! # Requirements
//!
//! Redis ≥ 6.2 (`ZADD GT/LT`, `ZMSCORE`).
//!
//! # Feature flags
//!
//! - `metrics` (default): [`RedisRecorder`], a `metrics::Recorder` feeding counters and
//!   statistics.
//! - `cli` (default): the `tracing-redis` binary.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::print_stdout, clippy::print_stderr, clippy::panic)
)]

mod builder;
pub mod config;
mod error;
mod facade;
mod pipeline;
pub mod query;
pub mod store;
mod url;

pub use builder::{
    Builder, DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN, DEFAULT_BATCH_SIZE, DEFAULT_COMMON_CAPACITY,
    DEFAULT_COMMON_MAX_LEN, DEFAULT_COMMON_THRESHOLD, DEFAULT_COUNTER_CAPACITY,
    DEFAULT_FLUSH_INTERVAL, DEFAULT_LEVEL, DEFAULT_MAX_MESSAGE_LEN, DEFAULT_QUEUE_BYTES,
    DEFAULT_QUEUE_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_TIMING_LEVEL, DEFAULT_URL,
    REDIS_URL_ENV,
};
pub use config::{ConnectionRegistry, LiveConfig};
pub use error::{Error, ErrorKind, Result};
#[doc(hidden)]
pub use facade::__private;
#[cfg(feature = "metrics")]
pub use facade::RedisRecorder;
pub use facade::{RedisLayer, RedisLogger, Timer};
pub use pipeline::{
    DropCounts, DropReason, FlushReport, Guard, Normalisation, Overflow, Status, StatusHandle,
    TRUNCATION_MARKER,
};
pub use url::redact_url;

/// A [`Builder`] with every default.
pub fn builder() -> Builder {
    Builder::new()
}

/// Installs the global subscriber with every default (see [`Builder::try_init`]) and returns
/// the guard that keeps the pipeline running.
///
/// # Panics
///
/// When a global subscriber or logger is already installed, or `$REDIS_URL` is not a usable
/// URL. Use [`try_init`] to handle these.
pub fn init() -> Guard {
    Builder::new().init()
}

/// As [`init`], returning an error instead of panicking.
///
/// # Errors
///
/// As [`Builder::try_init`].
pub fn try_init() -> Result<Guard> {
    Builder::new().try_init()
}

// Keeps the README's example compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
