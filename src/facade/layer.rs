//! The `tracing_subscriber::Layer`: events become log records, closed spans become timing
//! samples.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::Capture;
use crate::pipeline::record::{Bounded, FieldValue};
use crate::pipeline::{StatusHandle, on_worker_thread};
use crate::store::Severity;

/// The statistics type of span timings.
pub(crate) const TIMING_KIND: &str = "AccessTime";

/// The span field that names a timing's context instead of the span's name.
const CONTEXT_FIELD: &str = "context";

/// Which closed spans become timing samples.
#[derive(Clone)]
pub(crate) enum TimingFilter {
    Level(LevelFilter),
    Custom(Arc<dyn Fn(&Metadata<'_>) -> bool + Send + Sync>),
}

impl TimingFilter {
    fn times(&self, meta: &Metadata<'_>) -> bool {
        match self {
            TimingFilter::Level(max) => max >= meta.level(),
            TimingFilter::Custom(f) => f(meta),
        }
    }
}

impl fmt::Debug for TimingFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimingFilter::Level(l) => f.debug_tuple("Level").field(l).finish(),
            TimingFilter::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A [`Layer`] that sends events and span timings to Redis through the pipeline.
///
/// Every event becomes an entry in the recent log of its severity (and, at or above the
/// common-log threshold, a count in the common log). Every closed span that passes the timing
/// filter becomes one `AccessTime` sample of its context: the span's name, or its `context`
/// field when it has one. The layer itself lets everything through; restrict it with a
/// per-layer filter (`layer.with_filter(LevelFilter::INFO)`) or a global one (`EnvFilter`).
///
/// ```no_run
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::prelude::*;
///
/// # fn main() -> tracing_redis::Result<()> {
/// let (layer, _guard) = tracing_redis::builder().build()?;
/// tracing_subscriber::registry()
///     .with(layer.with_filter(LevelFilter::INFO))
///     .with(tracing_subscriber::fmt::layer())
///     .init();
/// tracing::info!(user = 42, "logged in");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLayer {
    capture: Capture,
    timing: TimingFilter,
}

impl fmt::Debug for RedisLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLayer")
            .field("capture", &self.capture)
            .field("timing", &self.timing)
            .finish()
    }
}

/// Kept in a span's extensions from its creation to its close.
struct SpanTiming {
    start: SystemTime,
    context: Option<String>,
}

impl RedisLayer {
    pub(crate) fn new(capture: Capture, timing: TimingFilter) -> Self {
        RedisLayer { capture, timing }
    }

    /// A handle on the pipeline's status.
    pub fn status(&self) -> StatusHandle {
        self.capture.pipeline.status()
    }

    /// A `metrics` recorder feeding this layer's pipeline; see [`RedisRecorder`](crate::RedisRecorder).
    #[cfg(feature = "metrics")]
    pub fn recorder(&self) -> super::RedisRecorder {
        super::RedisRecorder::new(self.capture.clone())
    }

    pub(crate) fn capture(&self) -> &Capture {
        &self.capture
    }
}

impl<S> Layer<S> for RedisLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if on_worker_thread() || !self.timing.times(attrs.metadata()) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut timing = SpanTiming {
            start: self.capture.clock.now(),
            context: None,
        };
        attrs.record(&mut ContextVisitor {
            context: &mut timing.context,
            max: self.capture.max_message,
        });
        span.extensions_mut().insert(timing);
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(timing) = ext.get_mut::<SpanTiming>() {
            values.record(&mut ContextVisitor {
                context: &mut timing.context,
                max: self.capture.max_message,
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(timing) = span.extensions_mut().remove::<SpanTiming>() else {
            return;
        };
        if on_worker_thread() {
            return;
        }
        let now = self.capture.clock.now();
        let elapsed = now.duration_since(timing.start).unwrap_or_default();
        let context = match timing.context {
            Some(c) => Cow::Owned(c),
            None => Cow::Borrowed(span.name()),
        };
        self.capture.sample(
            context,
            Cow::Borrowed(TIMING_KIND),
            elapsed.as_secs_f64(),
            now,
            true,
        );
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if on_worker_thread() {
            return;
        }
        // Events bridged from `log` carry their real target and level in fields.
        let normalized = event.normalized_metadata();
        let (level, target) = match &normalized {
            Some(meta) => (*meta.level(), Cow::Owned(meta.target().to_owned())),
            None => (
                *event.metadata().level(),
                Cow::Borrowed(event.metadata().target()),
            ),
        };
        let mut visitor = EventVisitor {
            message: String::new(),
            fields: Vec::new(),
            max: self.capture.max_message,
            from_log: normalized.is_some(),
        };
        event.record(&mut visitor);
        let spans = ctx
            .event_scope(event)
            .map(|scope| scope.from_root().map(|s| s.name()).collect())
            .unwrap_or_default();
        self.capture.log(
            Severity::from(level),
            target,
            visitor.message,
            visitor.fields,
            spans,
        );
    }
}

/// Picks the `context` field of a span.
struct ContextVisitor<'a> {
    context: &'a mut Option<String>,
    max: usize,
}

impl Visit for ContextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == CONTEXT_FIELD {
            *self.context = Some(Bounded::display(self.max, &value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == CONTEXT_FIELD {
            *self.context = Some(Bounded::debug(self.max, value));
        }
    }
}

/// Collects an event's message and fields, each cut to the maximum length.
struct EventVisitor {
    message: String,
    fields: Vec<(Cow<'static, str>, FieldValue)>,
    max: usize,
    from_log: bool,
}

impl EventVisitor {
    fn field(&mut self, field: &Field, value: FieldValue) {
        // `log.target`, `log.file`, … are how `tracing-log` smuggles the record's metadata.
        if self.from_log && field.name().starts_with("log.") {
            return;
        }
        self.fields.push((Cow::Borrowed(field.name()), value));
    }
}

impl Visit for EventVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = Bounded::debug(self.max, value);
        } else {
            self.field(field, FieldValue::Str(Bounded::debug(self.max, value)));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Bounded::display(self.max, &value);
        } else {
            self.field(field, FieldValue::Str(Bounded::display(self.max, &value)));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, FieldValue::Str(Bounded::display(self.max, &value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, FieldValue::U64(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        match i64::try_from(value) {
            Ok(v) => self.field(field, FieldValue::I64(v)),
            Err(_) => self.field(field, FieldValue::Str(value.to_string())),
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        match u64::try_from(value) {
            Ok(v) => self.field(field, FieldValue::U64(v)),
            Err(_) => self.field(field, FieldValue::Str(value.to_string())),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, FieldValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, FieldValue::Bool(value));
    }
}
