//! Live configuration: every process follows changes to its configuration, to the
//! maintenance flag and to its components' Redis connections within milliseconds, without a
//! restart.
//!
//! Uses the [`store`](crate::store) (keys, reads) and Redis; the store knows nothing of it.
//!
//! # Reading configuration
//!
//! [`LiveConfig`] serves `P:config:<type>:<component>` and `P:is-under-maintenance` from an
//! in-process cache kept fresh by one background thread, which
//!
//! - subscribes to `P:config-changed` and re-reads each key announced there (writers using
//!   [`Store::set_config`](crate::store::Store::set_config), the CLI's `config set` or
//!   `maintenance on|off` announce their changes), so changes arrive in milliseconds;
//! - reloads every value it tracks at least every `max_staleness`
//!   ([`DEFAULT_MAX_STALENESS`], measured on the store's [`Clock`](crate::store::Clock)), so
//!   changes from writers that never announce (a plain `redis-cli SET`) arrive too;
//! - subscribes *before* it reloads, and after a broken connection reconnects with backoff
//!   and reloads everything, so no change falls between the two.
//!
//! ## Which calls do I/O
//!
//! Reads of a value the cache already holds do **no I/O at all**: a read lock held just long
//! enough to clone an `Arc`, even when Redis is unreachable. Revalidation happens on the
//! background thread, never on the reader's. The one exception is the **first** read of a
//! configuration (or of the maintenance flag) by a process: that one is read from Redis on
//! the caller's thread, and the value is tracked from then on. Reads are taken in the order
//! Redis executed them, so that first read may wait for another read in flight (of the
//! background thread, or another caller's first read): at most the I/O timeout
//! ([`DEFAULT_IO_TIMEOUT`]), after which it gives up with an error, then the read itself is
//! bounded by the I/O timeout too. If that first read fails, later reads return the same
//! error at once, without I/O, until the background thread has read the value.
//!
//! ## Bad values
//!
//! A stored value that is not a JSON object (or that another writer turned into a hash) does
//! not replace the last good one: readers keep getting the last good configuration, and
//! [`LiveConfig::error`] and [`LiveStatus::problems`] name the key and say what is wrong.
//! Only a configuration that never had a good value reads as that error.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use tracing_redis::config::LiveConfig;
//!
//! #[derive(serde::Deserialize)]
//! struct Web {
//!     workers: u32,
//! }
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let client = redis::Client::open("redis://127.0.0.1/").map_err(|e| tracing_redis::Error::redis(e, "opening"))?;
//! let live = LiveConfig::builder(client)
//!     .max_staleness(Duration::from_millis(500))
//!     .start()?;
//! if live.is_under_maintenance()? {
//!     // answer 503
//! }
//! let web: Option<Web> = live.get("app", "web")?;
//! # Ok(()) }
//! ```
//!
//! # Connections per component
//!
//! [`ConnectionRegistry`] hands out the Redis client (and pooled connections) of a component,
//! built from `P:config:redis:<component>` ([`RedisComponentConfig`]) and rebuilt when that
//! configuration changes.

mod cache;
mod component;
mod live;
mod read_order;
mod registry;
mod subscriber;

use std::time::Duration;

pub use component::RedisComponentConfig;
pub use live::{LiveConfig, LiveConfigBuilder, LiveStatus};
pub use registry::{ComponentClient, ConnectionRegistry, DEFAULT_MAX_IDLE, PooledConnection};

/// How old a cached value may get before the background thread reloads it, when no notice
/// came: 1 s.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(1);

/// The first wait before reconnecting the subscriber: 50 ms, doubling on each failure.
pub const DEFAULT_RECONNECT_BACKOFF: Duration = Duration::from_millis(50);

/// The longest wait between reconnection attempts: 5 s.
pub const DEFAULT_MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(5);

/// The timeout for connecting and for each read or write of the cache's connections (and of
/// the registry's pooled connections): 5 s.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The builder's settings, validated.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) max_staleness: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) io_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_staleness: DEFAULT_MAX_STALENESS,
            backoff_min: DEFAULT_RECONNECT_BACKOFF,
            backoff_max: DEFAULT_MAX_RECONNECT_BACKOFF,
            io_timeout: DEFAULT_IO_TIMEOUT,
        }
    }
}
