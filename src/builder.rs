//! The builder: every setting of the pipeline with its documented default, validated when
//! the pipeline is built.

use std::sync::Arc;
use std::time::Duration;

use tracing::Metadata;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::facade::{Capture, RedisLayer, RedisLogger, TimingFilter};
use crate::pipeline::{Guard, Normalisation, Overflow, Pipeline, Settings};
use crate::store::{Clock, Keys, Severity, SystemClock};

/// The environment variable holding the Redis URL.
pub const REDIS_URL_ENV: &str = "REDIS_URL";
/// The Redis URL used when none is set and `$REDIS_URL` is unset or empty.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";
/// Records the queue holds at most (queued plus the flush in flight).
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// Bytes the queue holds at most, as its own accounting counts them.
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
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("url", &self.url.as_deref().map(redact))
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_size", &self.batch_size)
            .field("overflow", &self.overflow)
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

    /// Records the queue holds at most. Default: [`DEFAULT_QUEUE_CAPACITY`].
    pub fn queue_capacity(mut self, records: usize) -> Self {
        self.queue_capacity = records;
        self
    }

    /// Bytes the queue holds at most. Default: [`DEFAULT_QUEUE_BYTES`].
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

    /// Checks the settings and starts the worker thread (it connects when it has something
    /// to write, so an unreachable Redis does not fail this call). Returns the layer and the
    /// guard that keeps the worker running.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a URL the redis crate does not accept, an empty name
    /// or namespace, a zero queue capacity, byte budget, batch size or flush interval, or a
    /// backoff whose minimum is zero or above its maximum; [`ErrorKind::Io`] when the worker
    /// thread cannot be started.
    pub fn build(self) -> Result<(RedisLayer, Guard)> {
        let timing = self.timing.clone();
        let (capture, guard) = self.start()?;
        Ok((RedisLayer::new(capture, timing), guard))
    }

    /// As [`Builder::build`], for applications that use `log` alone: returns a `log::Log`
    /// backend (install it with [`RedisLogger::install`]).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn build_logger(self) -> Result<(RedisLogger, Guard)> {
        let level = self
            .level
            .into_level()
            .map_or(log::LevelFilter::Off, |l| match l {
                tracing::Level::TRACE => log::LevelFilter::Trace,
                tracing::Level::DEBUG => log::LevelFilter::Debug,
                tracing::Level::INFO => log::LevelFilter::Info,
                tracing::Level::WARN => log::LevelFilter::Warn,
                tracing::Level::ERROR => log::LevelFilter::Error,
            });
        let flush_timeout = self.shutdown_timeout;
        let (capture, guard) = self.start()?;
        Ok((RedisLogger::new(capture, level, flush_timeout), guard))
    }

    /// Installs the global subscriber: a registry with this layer (at [`Builder::level`])
    /// and a `fmt` layer writing to stderr, filtered by `RUST_LOG` (INFO when unset; the
    /// filter applies to the `fmt` layer only); `log` records are bridged in with their real
    /// target.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]; [`ErrorKind::AlreadyInstalled`] when a global subscriber or
    /// logger is already set.
    pub fn try_init(self) -> Result<Guard> {
        let level = self.level;
        let (layer, guard) = self.build()?;
        let fmt_filter = EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .from_env_lossy();
        tracing_subscriber::registry()
            .with(layer.with_filter(level))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(fmt_filter),
            )
            .try_init()
            .map_err(|e| {
                Error::new(
                    ErrorKind::AlreadyInstalled,
                    format!(
                        "cannot install the tracing subscriber: {e}; call init once per \
                         process, or add the layer from `build()` to your own subscriber"
                    ),
                )
            })?;
        Ok(guard)
    }

    /// As [`Builder::try_init`], panicking on failure.
    ///
    /// # Panics
    ///
    /// When [`Builder::try_init`] fails: invalid settings, or a subscriber already installed.
    #[allow(clippy::panic)] // documented: `init` is the panicking variant of `try_init`
    pub fn init(self) -> Guard {
        match self.try_init() {
            Ok(guard) => guard,
            Err(e) => panic!("tracing_redis::init failed: {e}"),
        }
    }

    fn start(self) -> Result<(Capture, Guard)> {
        let url = match self.url {
            Some(u) => u,
            None => std::env::var(REDIS_URL_ENV)
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_URL.to_owned()),
        };
        let shown = redact(&url);
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            if url.starts_with("rediss://") {
                return Error::invalid_input(format!(
                    "Redis URL `{shown}` asks for TLS, which this build lacks: add \
                     `redis = {{ version = \"1\", features = [\"tls-rustls\", \
                     \"tls-rustls-webpki-roots\"] }}` to the application's Cargo.toml"
                ));
            }
            Error::invalid_input(format!(
                "Redis URL `{shown}` is not usable: {e}; expected redis://host:port/db, \
                 rediss://… or redis+unix:///path/to/socket"
            ))
        })?;
        let name = match self.name {
            Some(n) if n.is_empty() => {
                return Err(Error::invalid_input(
                    "log name must not be empty: leave it unset to use the executable's name",
                ));
            }
            Some(n) => n,
            None => default_name(),
        };
        let keys = Keys::new(self.namespace.as_deref())?;
        for (value, what, default) in [
            (
                self.queue_capacity,
                "queue capacity",
                DEFAULT_QUEUE_CAPACITY,
            ),
            (self.queue_bytes, "queue byte budget", DEFAULT_QUEUE_BYTES),
            (self.batch_size, "batch size", DEFAULT_BATCH_SIZE),
        ] {
            if value == 0 {
                return Err(Error::invalid_input(format!(
                    "{what} must be at least 1 (the default is {default})"
                )));
            }
        }
        if self.flush_interval.is_zero() {
            return Err(Error::invalid_input(format!(
                "flush interval must be above zero (the default is {DEFAULT_FLUSH_INTERVAL:?})"
            )));
        }
        let (backoff_min, backoff_max) = self.backoff;
        if backoff_min.is_zero() || backoff_min > backoff_max {
            return Err(Error::invalid_input(format!(
                "reconnect backoff {backoff_min:?}..{backoff_max:?} must start above zero and \
                 not exceed its maximum (the default is {DEFAULT_BACKOFF_MIN:?}..{DEFAULT_BACKOFF_MAX:?})"
            )));
        }
        let settings = Settings {
            client,
            url: shown,
            keys,
            name,
            normalisation: self.normalisation,
            common_capacity: self.common_capacity,
            clock: Arc::clone(&self.clock),
            queue_records: self.queue_capacity,
            queue_bytes: self.queue_bytes,
            batch_size: self.batch_size,
            flush_interval: self.flush_interval,
            backoff_min,
            backoff_max,
            overflow: self.overflow,
            shutdown_timeout: self.shutdown_timeout,
        };
        let (pipeline, guard) = Pipeline::start(settings)?;
        let capture = Capture {
            pipeline,
            clock: self.clock,
            max_message: self.max_message_len,
            common_threshold: self.common_threshold,
        };
        Ok((capture, guard))
    }
}

/// The executable's file name without extension, or `app`.
fn default_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "app".to_owned())
}

/// `url` with its password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let Some((user, _password)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    format!("{scheme}://{user}:***@{}", &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(redact("redis://:s3cret@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact("redis://u:s3cret@h/"), "redis://u:***@h/");
        assert_eq!(redact("redis://h:6379/"), "redis://h:6379/");
        assert_eq!(redact("redis://user@h/"), "redis://user@h/");
        assert_eq!(
            redact("redis+unix:///tmp/r.sock"),
            "redis+unix:///tmp/r.sock"
        );
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let err = Builder::new()
            .url("redis://127.0.0.1:1/")
            .batch_size(0)
            .build()
            .unwrap_err();
        assert!(
            err.is_invalid_input() && err.to_string().contains("batch size"),
            "{err}"
        );
        let err = Builder::new().url("nope://x").build().unwrap_err();
        assert!(err.to_string().contains("nope://x"), "{err}");
        let err = Builder::new()
            .url("redis://:pw@127.0.0.1/")
            .name("")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("log name"), "{err}");
        let err = Builder::new()
            .url("redis://127.0.0.1:1/")
            .backoff(Duration::from_secs(2), Duration::from_secs(1))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("backoff"), "{err}");
        let err = Builder::new()
            .url("redis://127.0.0.1:1/")
            .namespace("")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("namespace"), "{err}");
    }
}
