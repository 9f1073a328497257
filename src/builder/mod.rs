//! The builder: every setting of the pipeline with its documented default. Checking the
//! settings and starting the pipeline live in `start.rs`.

use std::sync::Arc;
use std::time::Duration;

use tracing::Metadata;
use tracing_subscriber::filter::LevelFilter;

use crate::facade::TimingFilter;
use crate::pipeline::{Normalisation, Overflow};
use crate::store::{Clock, Severity, SystemClock};
use crate::url::redact_url;

mod start;

/// The environment variable holding the Redis URL.
pub const REDIS_URL_ENV: &str = "REDIS_URL";
/// The Redis URL used when none is set and `$REDIS_URL` is unset or empty.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";
/// Log events and samples the queue holds at most (queued plus the flush in flight).
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// Bytes of log events and samples the queue holds at most, as its own accounting counts
/// them.
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Records written per flush at most.
pub const DEFAULT_BATCH_SIZE: usize = 1_024;
/// How often the worker flushes when the batch is not full.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// How long dropping the guard waits for the queue to be written.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// The first reconnect delay; it doubles after each failure…
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// …up to this.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest message (and field value), in bytes; longer ones are cut and marked with
/// [`TRUNCATION_MARKER`](crate::TRUNCATION_MARKER).
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 8 * 1024;
/// Events at or above this severity are also counted in the common log.
pub const DEFAULT_COMMON_THRESHOLD: Severity = Severity::Warning;
/// Longest common-log member, in bytes, after digit normalisation.
pub const DEFAULT_COMMON_MAX_LEN: usize = 256;
/// Members each hour's common-log set keeps (the most frequent).
pub const DEFAULT_COMMON_CAPACITY: usize = 1_000;
/// Spans at this level and above are timed.
pub const DEFAULT_TIMING_LEVEL: LevelFilter = LevelFilter::INFO;
/// The level [`Builder::try_init`] and the log backend record from.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;
/// Distinct (counter, second) sums held at most until written or dropped.
pub const DEFAULT_COUNTER_CAPACITY: usize = 16_384;

impl Default for Normalisation {
    /// [`Normalisation::Digits`] cut at [`DEFAULT_COMMON_MAX_LEN`].
    fn default() -> Self {
        Normalisation::Digits {
            max_len: DEFAULT_COMMON_MAX_LEN,
        }
    }
}

/// Configures and starts the pipeline. Each setter documents its default (the `DEFAULT_*`
/// constants); [`Builder::build`] checks the settings together.
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> tracing_redis::Result<()> {
/// let _guard = tracing_redis::builder()
///     .url("redis://127.0.0.1:6379/")
///     .name("checkout")
///     .namespace("prod")
///     .flush_interval(Duration::from_millis(50))
///     .try_init()?;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone)]
pub struct Builder {
    url: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    queue_capacity: usize,
    queue_bytes: usize,
    batch_size: usize,
    flush_interval: Duration,
    shutdown_timeout: Duration,
    backoff: (Duration, Duration),
    max_message_len: usize,
    common_threshold: Option<Severity>,
    normalisation: Normalisation,
    common_capacity: usize,
    timing: TimingFilter,
    level: LevelFilter,
    overflow: Overflow,
    clock: Arc<dyn Clock>,
    counter_capacity: usize,
    cleaner: bool,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    install_recorder: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_size", &self.batch_size)
            .field("overflow", &self.overflow)
            .field("counter_capacity", &self.counter_capacity)
            .field("cleaner", &self.cleaner)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            url: None,
            name: None,
            namespace: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            backoff: (DEFAULT_BACKOFF_MIN, DEFAULT_BACKOFF_MAX),
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            common_threshold: Some(DEFAULT_COMMON_THRESHOLD),
            normalisation: Normalisation::default(),
            common_capacity: DEFAULT_COMMON_CAPACITY,
            timing: TimingFilter::Level(DEFAULT_TIMING_LEVEL),
            level: DEFAULT_LEVEL,
            overflow: Overflow::Lossy,
            clock: Arc::new(SystemClock),
            counter_capacity: DEFAULT_COUNTER_CAPACITY,
            cleaner: false,
            install_recorder: false,
        }
    }
}

impl Builder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Redis URL: `redis://[user:password@]host[:port][/db]`, `redis+unix:///path`, or
    /// `rediss://…` for TLS, which needs the redis crate's TLS support: add
    /// `redis = { version = "1", features = ["tls-rustls", "tls-rustls-webpki-roots"] }` to
    /// the application's dependencies (Cargo unifies the features). Default: `$REDIS_URL`,
    /// else [`DEFAULT_URL`]. Passwords never appear in errors or in the status.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The log name in `recent:<name>:…` and `common:{<name>:…}`. Default: the executable's
    /// file name without extension (`app` when unknown).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Puts every key under `namespace` (`ns:recent:…`). Default: none.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Log events and samples the queue holds at most, from acceptance until written or
    /// dropped (counter sums are bounded by [`Builder::counter_capacity`] instead). Past it
    /// a record is dropped and counted, or waits in [`Overflow::Block`] mode. Default:
    /// [`DEFAULT_QUEUE_CAPACITY`].
    pub fn queue_capacity(mut self, records: usize) -> Self {
        self.queue_capacity = records;
        self
    }

    /// Bytes of log events and samples the queue holds at most, as its own accounting
    /// counts them (inline size plus owned text). Default: [`DEFAULT_QUEUE_BYTES`].
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// Records per flush at most. Default: [`DEFAULT_BATCH_SIZE`].
    pub fn batch_size(mut self, records: usize) -> Self {
        self.batch_size = records;
        self
    }

    /// How often the worker flushes a batch that is not full. Default:
    /// [`DEFAULT_FLUSH_INTERVAL`].
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How long dropping the guard waits for the queue to be written. Default:
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The reconnect delay: `min` after the first failure, doubling up to `max`. Default:
    /// [`DEFAULT_BACKOFF_MIN`] to [`DEFAULT_BACKOFF_MAX`].
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = (min, max);
        self
    }

    /// Longest message or field value in bytes; longer ones are cut at a character boundary
    /// and end with [`TRUNCATION_MARKER`](crate::TRUNCATION_MARKER). Default:
    /// [`DEFAULT_MAX_MESSAGE_LEN`].
    pub fn max_message_len(mut self, bytes: usize) -> Self {
        self.max_message_len = bytes;
        self
    }

    /// Events at or above this severity are also counted in the common log; `None` turns
    /// the common log off. Default: [`DEFAULT_COMMON_THRESHOLD`].
    pub fn common_threshold(mut self, threshold: Option<Severity>) -> Self {
        self.common_threshold = threshold;
        self
    }

    /// How messages become common-log members. Default: [`Normalisation::Digits`] cut at
    /// [`DEFAULT_COMMON_MAX_LEN`].
    pub fn normalisation(mut self, normalisation: Normalisation) -> Self {
        self.normalisation = normalisation;
        self
    }

    /// Members each hour's common-log set keeps, the most frequent; 0 keeps all. Default:
    /// [`DEFAULT_COMMON_CAPACITY`].
    pub fn common_capacity(mut self, members: usize) -> Self {
        self.common_capacity = members;
        self
    }

    /// Time spans at `level` and above; [`LevelFilter::OFF`] times none. Default:
    /// [`DEFAULT_TIMING_LEVEL`].
    pub fn timing_level(mut self, level: LevelFilter) -> Self {
        self.timing = TimingFilter::Level(level);
        self
    }

    /// Time exactly the spans for which `filter` returns true (replaces the timing level).
    pub fn timing_filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.timing = TimingFilter::Custom(Arc::new(filter));
        self
    }

    /// The most verbose level recorded by [`Builder::try_init`] (a per-layer filter on this
    /// layer only) and by the log backend. A layer from [`Builder::build`] records what its
    /// filters let through. Default: [`DEFAULT_LEVEL`].
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// What a caller does when the queue is full. Default: [`Overflow::Lossy`].
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Takes event times from `clock` (tests use a [`ManualClock`](crate::store::ManualClock)).
    /// Default: the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Takes event times from a shared clock.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Distinct (counter, second) sums of [`count!`](crate::count) and the `metrics`
    /// recorder held at most, from the first increment of a pair until its sum is written
    /// or dropped: summed in memory, queued or in the flush in flight (and gauges and
    /// absolute counters the recorder remembers at most). Past it an increment that needs
    /// a new pair is dropped and counted
    /// ([`DropReason::CountersFull`](crate::DropReason::CountersFull)), so while Redis is
    /// away the sums waiting for it stay within this number however often the
    /// application flushes. Each sum holds its counter's name. These sums do not count
    /// against [`Builder::queue_capacity`] and [`Builder::queue_bytes`]. Default:
    /// [`DEFAULT_COUNTER_CAPACITY`].
    pub fn counter_capacity(mut self, pairs: usize) -> Self {
        self.counter_capacity = pairs;
        self
    }

    /// Also runs the counter [`Cleaner`](crate::store::Cleaner) on a background thread
    /// (`tracing-redis-cleaner`, one pass a minute, the first at once), with this builder's
    /// URL, namespace and clock; the [`Guard`](crate::Guard) stops it. Any number of processes
    /// may run one on the same Redis. Default: off (run `tracing-redis clean-counters`
    /// instead, or a `Cleaner` of your own).
    pub fn cleaner(mut self, run: bool) -> Self {
        self.cleaner = run;
        self
    }

    /// Makes [`Builder::try_init`] (and [`Builder::init`]) also install a
    /// [`RedisRecorder`](crate::RedisRecorder) on the same pipeline as the global `metrics`
    /// recorder. Default: off.
    #[cfg(feature = "metrics")]
    pub fn install_recorder(mut self, install: bool) -> Self {
        self.install_recorder = install;
        self
    }
}
