//! The store: one module per technique, each owning its keys, writing them and reading them
//! back, as plain synchronous calls over a Redis connection.
//!
//! Everything here is **synchronous and does I/O on the calling thread**: use it from code
//! that wants no pipeline (scripts, tools, tests, the CLI), or from a thread of your own. The
//! facade ([`crate::RedisLayer`] and friends) never calls it on the caller's path.
//!
//! Layers: the store uses only Redis and the helpers beside it (keys, clock, scripts); it
//! knows nothing of the facade or the pipeline.
//!
//! # Example
//!
//! ```no_run
//! use tracing_redis::store::{Severity, Store};
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let client = redis::Client::open("redis://127.0.0.1/").map_err(|e| tracing_redis::Error::redis(e, "opening"))?;
//! let mut con = client.get_connection().map_err(|e| tracing_redis::Error::redis(e, "connecting"))?;
//! let store = Store::new().with_namespace("app")?;
//! store.log_recent(&mut con, "web", Severity::Info, "started")?;
//! store.log_common(&mut con, "web", Severity::Warning, "disk almost full")?;
//! store.incr_counter(&mut con, "hits", 1)?;
//! store.record_timing(&mut con, "GET /", "AccessTime", 0.012)?;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod geoip;
pub mod keys;
pub mod severity;

pub(crate) mod script;

mod cleaner;
mod common;
mod counters;
mod recent;
mod slowest;
mod stats;

use std::sync::Arc;

pub use cleaner::{CleanReport, Cleaner, CleanerHandle, SAMPLE_COUNT, StopSignal};
pub use clock::{Clock, ManualClock, SystemClock};
pub use common::{CommonLog, CommonSet};
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
