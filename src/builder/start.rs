//! Checking the settings together and starting the pipeline: the layer, the log backend,
//! or the whole global subscriber.

use std::sync::Arc;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::prelude::*;

use super::*;
use crate::error::{Error, ErrorKind, Result};
use crate::facade::{Capture, RedisLayer, RedisLogger};
use crate::pipeline::{Guard, Pipeline, Settings};
use crate::store::{Cleaner, Keys, Store};
use crate::url::redact_url;

impl Builder {
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

    /// As [`Builder::build`], for applications that only use `metrics`: returns a
    /// [`RedisRecorder`](crate::RedisRecorder) (install it with
    /// [`RedisRecorder::install`](crate::RedisRecorder::install), or scope it with
    /// `metrics::with_local_recorder`). Applications with a layer or logger get one on the
    /// same pipeline from [`RedisLayer::recorder`] or [`RedisLogger::recorder`].
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    #[cfg(feature = "metrics")]
    pub fn build_recorder(self) -> Result<(crate::RedisRecorder, Guard)> {
        let (capture, guard) = self.start()?;
        Ok((crate::RedisRecorder::new(capture), guard))
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
    /// target. With [`Builder::install_recorder`], also the global `metrics` recorder.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]; [`ErrorKind::AlreadyInstalled`] when a global subscriber or
    /// logger (or, when asked to install one, `metrics` recorder) is already set. The
    /// subscriber is installed first, so it stays installed when only the recorder fails.
    pub fn try_init(self) -> Result<Guard> {
        let level = self.level;
        #[cfg(feature = "metrics")]
        let install_recorder = self.install_recorder;
        let (layer, guard) = self.build()?;
        #[cfg(feature = "metrics")]
        let recorder = install_recorder.then(|| layer.recorder());
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
        #[cfg(feature = "metrics")]
        if let Some(recorder) = recorder {
            recorder.install()?;
        }
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
        let shown = redact_url(&url);
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
            (
                self.counter_capacity,
                "counter capacity",
                DEFAULT_COUNTER_CAPACITY,
            ),
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
        let cleaner = self.cleaner.then(|| {
            let store = Store::new()
                .with_keys(keys.clone())
                .with_shared_clock(Arc::clone(&self.clock));
            (Cleaner::new(store), client.clone())
        });
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
            counter_capacity: self.counter_capacity,
        };
        let (pipeline, mut guard) = Pipeline::start(settings)?;
        if let Some((cleaner, client)) = cleaner {
            guard.set_cleaner(cleaner.spawn(client)?);
        }
        let capture = Capture {
            pipeline,
            clock: self.clock,
            max_message: self.max_message_len,
            common_threshold: self.common_threshold,
            counter_capacity: self.counter_capacity,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_errors_and_debug() {
        let url = "redis+unix:///tmp/r.sock?user=app&pass=s3cret";
        let shown = format!("{:?}", Builder::new().url(url));
        assert!(
            !shown.contains("s3cret") && shown.contains("pass=***"),
            "{shown}"
        );
        let err = Builder::new()
            .url("nope://u:s3cret@h/?pass=s3cret")
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("nope://u:***@h/"), "{err}");
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
