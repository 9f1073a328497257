//! What travels through the queue: small owned values built on the caller's thread. Times
//! are captured there; ISO formatting, JSON and normalisation happen on the worker.

use std::borrow::Cow;
use std::fmt;
use std::mem::size_of;
use std::sync::Arc;
use std::time::SystemTime;

use crate::store::Severity;

/// Appended to a message or field value cut at the maximum length.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// One unit of work for the worker.
///
/// Adding a kind of record means: a variant here, its [`Record::size`] and
/// [`Record::weight`], and its coalescing in `batch.rs` (one arm of the match in
/// `batch::build`).
#[derive(Debug, Clone)]
pub(crate) enum Record {
    /// A log event: the recent log of its severity, and the common log when `common` is set.
    Log(LogRecord),
    /// One sample of statistics (a span's duration, a histogram value, a gauge reading).
    Sample(SampleRecord),
    /// The sum of a counter's increments in one second, at every precision: what the
    /// tally hands the queue for the increments of `count!` and the `metrics` recorder.
    Count(CountRecord),
}

/// A log event.
#[derive(Debug, Clone)]
pub(crate) struct LogRecord {
    /// When it happened (the clock of the pipeline, read on the caller's thread).
    pub at: SystemTime,
    pub severity: Severity,
    pub target: Cow<'static, str>,
    /// Already cut to the maximum length, with [`TRUNCATION_MARKER`] when cut.
    pub message: String,
    pub fields: Vec<(Cow<'static, str>, FieldValue)>,
    /// Names of the enclosing spans, outermost first.
    pub spans: Vec<&'static str>,
    /// Also count the (normalised) message in the common log.
    pub common: bool,
}

/// A structured field's value, kept typed so the JSON entry keeps numbers as numbers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl FieldValue {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Str(s) => serde_json::Value::from(s.as_str()),
            FieldValue::I64(v) => serde_json::Value::from(*v),
            FieldValue::U64(v) => serde_json::Value::from(*v),
            // NaN and infinities have no JSON number: keep their text.
            FieldValue::F64(v) => serde_json::Number::from_f64(*v)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::from(v.to_string())),
            FieldValue::Bool(v) => serde_json::Value::from(*v),
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            FieldValue::Str(s) => s.capacity(),
            _ => 0,
        }
    }
}

/// One statistics sample of `kind` (`AccessTime`, `Histogram`, `Gauge`, …) for `context`.
#[derive(Debug, Clone)]
pub(crate) struct SampleRecord {
    pub context: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub value: f64,
    /// The sample's event time: its hour is the hour it counts in.
    pub at: SystemTime,
    /// Also set the context's mean in `slowest:<kind>`.
    pub slowest: bool,
}

/// `n` added to counter `name` in the buckets of `at`: the sum of `weight` increments.
#[derive(Debug, Clone)]
pub(crate) struct CountRecord {
    /// Shared with the tally, which keeps the name between flushes.
    pub name: Arc<str>,
    pub n: i64,
    pub at: SystemTime,
    /// The increments summed into `n` (at least one): what the record counts for in
    /// `written` and `dropped`.
    pub weight: u64,
}

impl Record {
    /// The bytes this record holds, for the queue's byte budget: its inline size plus what it
    /// owns on the heap.
    pub(crate) fn size(&self) -> usize {
        let heap = match self {
            Record::Log(r) => {
                cow_heap(&r.target)
                    + r.message.capacity()
                    + r.fields.capacity() * size_of::<(Cow<'static, str>, FieldValue)>()
                    + r.fields
                        .iter()
                        .map(|(k, v)| cow_heap(k) + v.heap_size())
                        .sum::<usize>()
                    + r.spans.capacity() * size_of::<&'static str>()
            }
            Record::Sample(r) => cow_heap(&r.context) + cow_heap(&r.kind),
            // The name's shared allocation: two counts and the text.
            Record::Count(r) => 2 * size_of::<usize>() + r.name.len(),
        };
        size_of::<Record>() + heap
    }

    /// What the record counts for in `written` and `dropped`: one per event or sample, one
    /// per counter increment summed into it.
    pub(crate) fn weight(&self) -> u64 {
        match self {
            Record::Log(_) | Record::Sample(_) => 1,
            Record::Count(r) => r.weight,
        }
    }

    /// Whether the record is a counter sum, held by the tally's capacity rather than the
    /// queue's budgets.
    pub(crate) fn is_count(&self) -> bool {
        matches!(self, Record::Count(_))
    }
}

#[allow(clippy::ptr_arg)] // whether the text is owned is the point
fn cow_heap(s: &Cow<'static, str>) -> usize {
    match s {
        Cow::Borrowed(_) => 0,
        Cow::Owned(s) => s.capacity(),
    }
}

/// A `fmt::Write` that keeps at most `max` bytes (cut at a character boundary) and then
/// refuses more, so a huge `Debug` value costs neither memory nor much time.
#[derive(Debug)]
pub(crate) struct Bounded {
    buf: String,
    max: usize,
    cut: bool,
}

impl Bounded {
    pub(crate) fn new(max: usize) -> Self {
        Bounded {
            buf: String::new(),
            max,
            cut: false,
        }
    }

    /// The text, with [`TRUNCATION_MARKER`] when it was cut.
    pub(crate) fn finish(mut self) -> String {
        if self.cut {
            self.buf.push_str(TRUNCATION_MARKER);
        }
        self.buf
    }

    /// Formats `value` with `Display` into a bounded string.
    pub(crate) fn display(max: usize, value: &dyn fmt::Display) -> String {
        let mut b = Bounded::new(max);
        // An error only means the text was cut, which `finish` marks.
        let _ = fmt::write(&mut b, format_args!("{value}"));
        b.finish()
    }

    /// Formats `value` with `Debug` into a bounded string.
    pub(crate) fn debug(max: usize, value: &dyn fmt::Debug) -> String {
        let mut b = Bounded::new(max);
        let _ = fmt::write(&mut b, format_args!("{value:?}"));
        b.finish()
    }
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        let room = self.max - self.buf.len();
        if s.len() <= room {
            self.buf.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_short_text_and_cuts_long_text_at_a_char_boundary() {
        assert_eq!(Bounded::display(8, &"short"), "short");
        assert_eq!(Bounded::display(5, &"exact"), "exact");
        let cut = Bounded::display(4, &"aé€b");
        // `a` (1) + `é` (2) fit; `€` (3) does not.
        assert_eq!(cut, format!("aé{TRUNCATION_MARKER}"));
        assert_eq!(
            Bounded::debug(3, &vec![1, 2, 3]),
            format!("[1,{TRUNCATION_MARKER}")
        );
        assert_eq!(Bounded::display(0, &"x"), TRUNCATION_MARKER);
        assert_eq!(Bounded::display(0, &""), "");
    }

    #[test]
    fn size_counts_owned_text() {
        let small = Record::Sample(SampleRecord {
            context: Cow::Borrowed("ctx"),
            kind: Cow::Borrowed("AccessTime"),
            value: 1.0,
            at: SystemTime::UNIX_EPOCH,
            slowest: false,
        });
        let big = Record::Count(CountRecord {
            name: Arc::from("x".repeat(1000)),
            n: 1,
            at: SystemTime::UNIX_EPOCH,
            weight: 3,
        });
        assert_eq!(small.size(), size_of::<Record>());
        assert!(big.size() >= size_of::<Record>() + 1000);
        assert_eq!((small.weight(), big.weight()), (1, 3));
    }

    #[test]
    fn non_finite_fields_become_text() {
        assert_eq!(FieldValue::F64(f64::NAN).to_json(), "NaN");
        assert_eq!(FieldValue::F64(1.5).to_json(), 1.5);
        assert_eq!(FieldValue::U64(7).to_json(), 7);
    }
}
