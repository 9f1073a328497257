//! The facade: what the application's threads run. It turns `tracing` events and spans and
//! `log` records into small owned [`Record`]s and pushes them to the pipeline: no I/O, no
//! lock held across I/O, no JSON or timestamp formatting (the worker does those).
//!
//! Layers: the facade uses the pipeline (and the store's plain types); never the reverse.

mod layer;
mod log;

use std::borrow::Cow;
use std::sync::Arc;

pub use self::layer::RedisLayer;
pub(crate) use self::layer::TimingFilter;
pub use self::log::RedisLogger;

use crate::pipeline::record::{FieldValue, LogRecord};
use crate::pipeline::{Pipeline, Record};
use crate::store::{Clock, Severity};

/// What the layer and the logger share: where records go and how they are captured.
#[derive(Clone)]
pub(crate) struct Capture {
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
    pub max_message: usize,
    pub common_threshold: Option<Severity>,
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
