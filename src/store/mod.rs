//! The store: one module per technique, each owning its keys, writing them and reading them
//! back, as plain synchronous calls over a Redis connection.
//!
//! Everything here is **synchronous and does I/O on the calling thread**: use it from code
//! that wants no pipeline (scripts, tools, tests, the CLI), or from a thread of your own.
//! Layers: the store uses only Redis and the helpers beside it ([`keys`], [`clock`], the Lua
//! scripts); it knows nothing of what sits above it.
//!
//! A [`Store`] is a namespace ([`Keys`]) and a [`Clock`]; every write takes its event time
//! from the clock, so tests cross hour boundaries and bucket edges with a [`ManualClock`].
//! `P:` below is the namespace prefix (`ns:`, or nothing). Names are percent-encoded in keys
//! ([`keys::encode_name`]) and empty names are refused.
//!
//! # Recent logs
//!
//! [`Store::log_recent`] pushes a JSON [`LogEntry`] to the list `P:recent:<name>:<severity>`
//! and trims it to [`RECENT_CAPACITY`]; [`Store::recent`] reads it back, newest first.
//!
//! # Common logs
//!
//! [`Store::log_common`] counts a message in the sorted set `P:common:{<name>:<severity>}` for
//! the UTC hour in `…:start`. When the hour changes, one Lua script moves the set to `…:last`
//! and its start to `…:pstart` (leaving them alone when the set is missing) and counts: atomic
//! under any number of writers. An event of the `:pstart` hour counts into `:last`; an older one
//! is refused. [`Store::common`] reads the top N of both sets with their start times.
//!
//! # Counters
//!
//! [`Store::incr_counter`] adds to the hashes `P:count:<precision>:<name>` (field: bucket start
//! in unix seconds, a multiple of the precision) at each of [`PRECISIONS`], and registers
//! `<precision>:<name>` in the sorted set `P:known:`, in one MULTI/EXEC. [`Store::counter`]
//! reads one precision as (bucket, count) pairs. The [`Cleaner`] trims each counter to its last
//! [`SAMPLE_COUNT`] buckets and forgets counters that stayed empty: by hand
//! ([`Cleaner::pass`]), in a loop ([`Cleaner::run`]), or on a thread ([`Cleaner::spawn`]).
//!
//! # Statistics and slowest contexts
//!
//! [`Store::update_stats`] (one sample) and [`Store::update_stats_batch`] (a [`Summary`]) merge
//! count, sum, sumsq, min and max into the sorted set `P:stats:{<context>:<type>}`, rotated
//! hourly like the common logs (`:start`, `:last`, `:pstart`), in one script.
//! [`Store::stats`] and [`Store::stats_last`] read [`Stats`] back (mean, sample stddev).
//! [`Store::record_timing`] also sets the context's mean in `P:slowest:<type>`, which keeps
//! the [`SLOWEST_CAPACITY`] highest ([`Store::slowest`]), in a second step, since that key
//! lies outside the statistics' hash tag. [`Store::access_time`] returns a guard that
//! records the elapsed time when dropped, also on an error return or a panic.
//!
//! # Example
//!
//! ```no_run
//! use tracing_redis::store::{Severity, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1/")?;
//! let mut con = client.get_connection()?;
//! let store = Store::new().with_namespace("app")?;
//! store.log_recent(&mut con, "web", Severity::Info, "started")?;
//! store.log_common(&mut con, "web", Severity::Warning, "disk almost full")?;
//! store.incr_counter(&mut con, "hits", 1)?;
//! store.record_timing(&mut con, "GET /", "AccessTime", 0.012)?;
//! let top = store.slowest(&mut con, "AccessTime", 10)?;
//! # let _ = top;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod geoip;
pub mod keys;
pub mod severity;

pub(crate) mod script;

mod cleaner;
pub(crate) mod common;
pub(crate) mod config;
pub(crate) mod counters;
pub(crate) mod recent;
pub(crate) mod slowest;
pub(crate) mod stats;

use std::sync::Arc;

pub use cleaner::{CleanReport, Cleaner, CleanerHandle, SAMPLE_COUNT, StopSignal};
pub use clock::{Clock, ManualClock, SystemClock};
pub use common::{CommonLog, CommonSet};
pub use config::parse_config;
pub use counters::PRECISIONS;
pub use keys::Keys;
pub use recent::{LogEntry, RECENT_CAPACITY};
pub use severity::Severity;
pub use slowest::{AccessTimer, SLOWEST_CAPACITY};
pub use stats::{Stats, Summary};

use crate::error::Result;

/// The store: a namespace and a clock. Its methods, one group per technique, take a Redis
/// connection and run synchronously on the calling thread. Cheap to clone.
///
/// ```
/// use tracing_redis::store::{ManualClock, Store};
///
/// let store = Store::new().with_namespace("demo").unwrap().with_clock(ManualClock::at_unix(0.0));
/// assert_eq!(store.keys().known(), "demo:known:");
/// ```
#[derive(Debug, Clone)]
pub struct Store {
    keys: Keys,
    clock: Arc<dyn Clock>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store without namespace, on the system clock.
    pub fn new() -> Self {
        Store {
            keys: Keys::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Puts every key under `namespace` (`ns:recent:…`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty namespace.
    pub fn with_namespace(mut self, namespace: &str) -> Result<Self> {
        self.keys = Keys::new(Some(namespace))?;
        Ok(self)
    }

    /// Uses `keys` (and so their namespace).
    #[must_use]
    pub fn with_keys(mut self, keys: Keys) -> Self {
        self.keys = keys;
        self
    }

    /// Takes event times from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Takes event times from a shared clock.
    #[must_use]
    pub fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The key builder.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Runs `f`, turning a Redis error into this crate's error with `context`.
pub(crate) fn redis_ctx<T>(
    context: impl FnOnce() -> String,
    r: redis::RedisResult<T>,
) -> Result<T> {
    r.map_err(|e| crate::Error::redis(e, context()))
}
