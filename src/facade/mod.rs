//! The facade: what the application's threads run. It turns `tracing` events and spans,
//! `log` records, `count!`/`timed!` and `metrics` calls into small owned [`Record`]s (or
//! increments of the pipeline's tally) and hands them to the pipeline: no I/O, no lock held
//! across I/O, no JSON or timestamp formatting (the worker does those).
//!
//! Layers: the facade uses the pipeline (and the store's plain types); never the reverse.

mod counting;
mod layer;
mod log;
mod macros;
#[cfg(feature = "metrics")]
mod recorder;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

pub use self::layer::RedisLayer;
pub(crate) use self::layer::TimingFilter;
pub use self::log::RedisLogger;
pub use counting::Timer;
#[cfg(feature = "metrics")]
pub use recorder::RedisRecorder;

/// What the exported macros expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::counting::{CountValue, count};
}

use crate::pipeline::record::{FieldValue, LogRecord, SampleRecord};
use crate::pipeline::{Pipeline, Record};
use crate::store::{Clock, Severity};

/// What the layer and the logger share: where records go and how they are captured.
#[derive(Clone)]
pub(crate) struct Capture {
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
    pub max_message: usize,
    pub common_threshold: Option<Severity>,
    /// Gauges and absolute counters the `metrics` recorder remembers at most.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub counter_capacity: usize,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("max_message", &self.max_message)
            .field("common_threshold", &self.common_threshold)
            .finish_non_exhaustive()
    }
}

impl Capture {
    /// Adds `n` to counter `name` now, in the pipeline's tally.
    pub(crate) fn count(&self, name: &str, n: i64) {
        self.pipeline.count(name, n, self.clock.now());
    }

    /// Pushes one statistics sample.
    pub(crate) fn sample(
        &self,
        context: Cow<'static, str>,
        kind: Cow<'static, str>,
        value: f64,
        at: SystemTime,
        slowest: bool,
    ) {
        self.pipeline.push(Record::Sample(SampleRecord {
            context,
            kind,
            value,
            at,
            slowest,
        }));
    }

    pub(crate) fn log(
        &self,
        severity: Severity,
        target: Cow<'static, str>,
        message: String,
        fields: Vec<(Cow<'static, str>, FieldValue)>,
        spans: Vec<&'static str>,
    ) {
        let record = LogRecord {
            at: self.clock.now(),
            severity,
            target,
            message,
            fields,
            spans,
            common: self.common_threshold.is_some_and(|t| severity >= t),
        };
        self.pipeline.push(Record::Log(record));
    }
}
