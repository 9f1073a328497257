//! The `log::Log` backend, for applications that use `log` alone.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use super::Capture;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::record::Bounded;
use crate::pipeline::{StatusHandle, on_worker_thread};
use crate::store::Severity;

/// A [`log::Log`] backend that sends records to Redis through the pipeline: each record
/// becomes an entry in the recent log of its severity (and, at or above the common-log
/// threshold, a count in the common log).
///
/// ```no_run
/// # fn main() -> tracing_redis::Result<()> {
/// let (logger, _guard) = tracing_redis::builder().build_logger()?;
/// logger.install()?;
/// log::warn!("disk {}% full", 91);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLogger {
    capture: Capture,
    level: log::LevelFilter,
    flush_timeout: Duration,
}

impl fmt::Debug for RedisLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLogger")
            .field("capture", &self.capture)
            .field("level", &self.level)
            .finish()
    }
}

impl RedisLogger {
    pub(crate) fn new(capture: Capture, level: log::LevelFilter, flush_timeout: Duration) -> Self {
        RedisLogger {
            capture,
            level,
            flush_timeout,
        }
    }

    /// Installs this logger as the global `log` logger and sets `log::set_max_level` to its
    /// level. From then on [`count!`](crate::count) and [`timed!`](crate::timed) feed this
    /// logger's pipeline whenever the current `tracing` dispatcher holds no
    /// [`RedisLayer`](crate::RedisLayer).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyInstalled`] when a global logger is already set.
    pub fn install(self) -> Result<()> {
        let level = self.level;
        let capture = self.capture.clone();
        log::set_boxed_logger(Box::new(self)).map_err(|e| {
            Error::new(
                ErrorKind::AlreadyInstalled,
                format!("cannot install the log backend: {e}; install one logger per process"),
            )
        })?;
        log::set_max_level(level);
        super::counting::set_logger_sink(capture);
        Ok(())
    }

    /// The most verbose level this logger records.
    pub fn level(&self) -> log::LevelFilter {
        self.level
    }

    /// A handle on the pipeline's status.
    pub fn status(&self) -> StatusHandle {
        self.capture.pipeline.status()
    }

    /// A `metrics` recorder feeding this logger's pipeline; see
    /// [`RedisRecorder`](crate::RedisRecorder).
    #[cfg(feature = "metrics")]
    pub fn recorder(&self) -> super::RedisRecorder {
        super::RedisRecorder::new(self.capture.clone())
    }
}

impl log::Log for RedisLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level && !on_worker_thread()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // The target is usually the module path, which is static: no copy then.
        let target = match record.module_path_static() {
            Some(m) if m == record.target() => Cow::Borrowed(m),
            _ => Cow::Owned(record.target().to_owned()),
        };
        let message = Bounded::display(self.capture.max_message, record.args());
        self.capture.log(
            Severity::from(record.level()),
            target,
            message,
            Vec::new(),
            Vec::new(),
        );
    }

    /// Waits at most the shutdown timeout for everything logged so far to be written.
    fn flush(&self) {
        if !on_worker_thread() {
            let _ = self.capture.pipeline.flush(self.flush_timeout);
        }
    }
}
