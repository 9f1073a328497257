//! The `metrics` facade: a [`metrics::Recorder`] turning `counter!`, `gauge!` and
//! `histogram!` into counters and statistics.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

use self::key_cache::KeyCache;
use super::Capture;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::DropReason;

mod key_cache;

/// The statistics type of `metrics` histograms.
pub(crate) const HISTOGRAM_KIND: &str = "Histogram";
/// The statistics type of `metrics` gauges.
pub(crate) const GAUGE_KIND: &str = "Gauge";
/// Distinct keys whose handles a recorder keeps at least, however small the counter
/// capacity.
const MIN_CACHED_KEYS: usize = 1_024;

/// A [`metrics::Recorder`] feeding a pipeline, so code that already uses the `metrics`
/// macros writes to Redis unchanged:
///
/// - `counter!(…).increment(n)` adds `n` to the counter, exactly as
///   [`count!`](crate::count) does (summed in memory, written once per flush).
///   `counter!(…).absolute(v)` says the counter's total is now `v`: the recorder remembers
///   the last total of each counter and adds the difference, so the sum of its buckets
///   follows the totals. The first total of a counter in a process counts in full (counters
///   start at zero with the process), and a total lower than the previous one is a restart
///   of the source and also counts in full.
/// - `histogram!(…).record(v)` is one sample of statistics type `Histogram`
///   (`stats:{<name>:Histogram}`), and sets the name's mean in `slowest:Histogram`.
/// - `gauge!(…)`: every `set`, `increment` and `decrement` is one sample of type `Gauge`
///   holding the gauge's resulting value (count, mean, min and max of the values it took
///   this hour).
///
/// Labels join the name Graphite-style, keys sorted: `counter!("http", "method" => "GET",
/// "code" => "200")` counts `http;code=200;method=GET`. In names, label keys and values `%`
/// and `;`, and `=` in label keys, are written `%25`, `%3B` and `%3D`, so names stay
/// unambiguous. Descriptions and units are ignored.
///
/// # Cost and memory
///
/// `metrics` asks the recorder for a handle on every macro call. The recorder keeps one
/// handle per key (name and labels, in any order): the first call with a key builds its
/// Redis name, later calls find the handle again under the read lock of one of several
/// shards, without allocating. A counter increment then adds to the in-memory sum of its
/// second, as [`count!`](crate::count) does; a gauge's value and a counter's last total are
/// atomics in the handle, so no lock is shared by all metrics. A histogram or gauge sample
/// carries its name as a `String` (one allocation per sample).
///
/// Handles are kept for at most
/// [`Builder::counter_capacity`](crate::Builder::counter_capacity) distinct keys (at least
/// 1,024), so keys built from unbounded label values cannot grow memory without limit. Past
/// it, a macro call with a new key gets a handle for that call only (its name built each
/// time): its increments and histogram samples are still recorded, but its gauge updates
/// and absolute totals, having nowhere to be remembered, are dropped
/// ([`DropReason::CountersFull`]). Gauge values and last totals are also remembered for at
/// most `counter_capacity` keys each; past it their updates are dropped the same way.
/// Keeping a handle (`let hits = counter!("hits");`) where it is called often saves even the
/// lookup.
///
/// ```no_run
/// use metrics::{counter, gauge, histogram};
/// use tracing_redis::count; // no clash with `metrics::counter!`
///
/// # fn main() -> tracing_redis::Result<()> {
/// let (recorder, _guard) = tracing_redis::builder().build_recorder()?;
/// recorder.install()?;
/// counter!("http.requests", "method" => "GET").increment(1);
/// histogram!("http.latency").record(0.012);
/// gauge!("queue.depth").set(17.0);
/// count!("jobs.done"); // needs a layer or a logger, see `count!`
/// # Ok(()) }
/// ```
///
/// In tests, scope it to a closure with `metrics::with_local_recorder(&recorder, || …)`.
///
/// Both families of macros live side by side; with nothing installed, both do nothing:
///
/// ```
/// use metrics::counter;
/// use tracing_redis::{count, timed};
///
/// count!("jobs.done");
/// counter!("jobs.done").increment(1);
/// assert_eq!(timed!("jobs.run", 2 + 2), 4);
/// ```
#[derive(Clone)]
pub struct RedisRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    handles: KeyCache<Arc<Handle>>,
}

/// What every handle of a recorder holds: not the cache, so that handles and cache hold no
/// cycle and the pipeline is let go with the recorder.
struct Shared {
    capture: Capture,
    /// Handles remembering a gauge value.
    gauges: AtomicUsize,
    /// Handles remembering a counter's last total.
    totals: AtomicUsize,
}

/// Whether a handle remembers a gauge value (or a last total): decided once, on first use.
const UNDECIDED: u8 = 0;
const REMEMBERED: u8 = 1;
const REFUSED: u8 = 2;

/// One registered metric: the counter, gauge and histogram of one key.
struct Handle {
    name: String,
    shared: Arc<Shared>,
    /// Kept by the recorder, so later calls with the same key find this handle again.
    cached: bool,
    gauge_state: AtomicU8,
    /// The gauge's value as `f64` bits; 0.0 when new.
    gauge: AtomicU64,
    total_state: AtomicU8,
    /// The counter's last absolute total; 0 when new.
    total: AtomicU64,
}

impl RedisRecorder {
    pub(crate) fn new(capture: Capture) -> Self {
        let capacity = capture.counter_capacity.max(MIN_CACHED_KEYS);
        RedisRecorder {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    capture,
                    gauges: AtomicUsize::new(0),
                    totals: AtomicUsize::new(0),
                }),
                handles: KeyCache::new(capacity),
            }),
        }
    }

    /// Installs this recorder as the global `metrics` recorder.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyInstalled`] when a global recorder is already set.
    pub fn install(self) -> Result<()> {
        metrics::set_global_recorder(self).map_err(|e| {
            Error::new(
                ErrorKind::AlreadyInstalled,
                format!(
                    "cannot install the metrics recorder: {e}; install one recorder per \
                     process, or use `metrics::with_local_recorder`"
                ),
            )
        })
    }

    fn handle(&self, key: &Key) -> Arc<Handle> {
        self.inner.handles.get_or_make(key, |cached| {
            Arc::new(Handle {
                name: graphite_name(key),
                shared: Arc::clone(&self.inner.shared),
                cached,
                gauge_state: AtomicU8::new(UNDECIDED),
                gauge: AtomicU64::new(0.0_f64.to_bits()),
                total_state: AtomicU8::new(UNDECIDED),
                total: AtomicU64::new(0),
            })
        })
    }
}

impl fmt::Debug for RedisRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRecorder")
            .field("capture", &self.inner.shared.capture)
            .field("cached_keys", &self.inner.handles.len())
            .finish_non_exhaustive()
    }
}

impl Recorder for RedisRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

impl Handle {
    /// Whether this handle may remember a value of the kind `state` and `taken` track,
    /// taking one of the `counter_capacity` places on first use. Only kept handles may: a
    /// value held by a handle made for one call would never be found again.
    fn remembers(&self, state: &AtomicU8, taken: &AtomicUsize) -> bool {
        match state.load(Ordering::Acquire) {
            REMEMBERED => return true,
            REFUSED => return false,
            _ => {}
        }
        let capacity = self.shared.capture.counter_capacity;
        let granted = self.cached
            && taken
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < capacity).then_some(n + 1)
                })
                .is_ok();
        let decided = if granted { REMEMBERED } else { REFUSED };
        match state.compare_exchange(UNDECIDED, decided, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => granted,
            Err(other) => {
                // Another thread decided first: give back the place taken for nothing.
                if granted {
                    taken.fetch_sub(1, Ordering::AcqRel);
                }
                other == REMEMBERED
            }
        }
    }

    fn dropped(&self) {
        self.shared
            .capture
            .pipeline
            .dropped(DropReason::CountersFull);
    }

    /// Applies `op` to the gauge's value (0 when new) and records the result as a sample.
    fn gauge(&self, op: impl Fn(f64) -> f64) {
        if !self.remembers(&self.gauge_state, &self.shared.gauges) {
            return self.dropped();
        }
        let mut bits = self.gauge.load(Ordering::Acquire);
        let value = loop {
            let next = op(f64::from_bits(bits));
            match self.gauge.compare_exchange_weak(
                bits,
                next.to_bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break next,
                Err(now) => bits = now,
            }
        };
        let capture = &self.shared.capture;
        capture.sample(
            Cow::Owned(self.name.clone()),
            Cow::Borrowed(GAUGE_KIND),
            value,
            capture.clock.now(),
            false,
        );
    }
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        let n = i64::try_from(value).unwrap_or(i64::MAX);
        self.shared.capture.count(&self.name, n);
    }

    fn absolute(&self, value: u64) {
        if !self.remembers(&self.total_state, &self.shared.totals) {
            return self.dropped();
        }
        let last = self.total.swap(value, Ordering::AcqRel);
        let delta = value.checked_sub(last).unwrap_or(value);
        if delta > 0 {
            CounterFn::increment(self, delta);
        }
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.gauge(|v| v + value);
    }

    fn decrement(&self, value: f64) {
        self.gauge(|v| v - value);
    }

    fn set(&self, value: f64) {
        self.gauge(|_| value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        let capture = &self.shared.capture;
        capture.sample(
            Cow::Owned(self.name.clone()),
            Cow::Borrowed(HISTOGRAM_KIND),
            value,
            capture.clock.now(),
            true,
        );
    }
}

/// `name;k1=v1;k2=v2` with the labels sorted (by key, then by value when a key repeats), so
/// that keys `metrics` holds equal, whatever their label order, get one name.
fn graphite_name(key: &Key) -> String {
    let mut labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    labels.sort_unstable();
    let mut out = String::with_capacity(key.name().len() + 16 * labels.len());
    escape(&mut out, key.name(), false);
    for (k, v) in labels {
        out.push(';');
        escape(&mut out, k, true);
        out.push('=');
        escape(&mut out, v, false);
    }
    out
}

fn escape(out: &mut String, text: &str, is_key: bool) {
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            ';' => out.push_str("%3B"),
            '=' if is_key => out.push_str("%3D"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics::Label;

    use super::*;

    #[test]
    fn labels_join_sorted_and_escaped() {
        assert_eq!(graphite_name(&Key::from_name("plain")), "plain");
        assert_eq!(graphite_name(&Key::from_name("a;b%")), "a%3Bb%25");
        let key = Key::from_parts(
            "http",
            vec![Label::new("method", "GET"), Label::new("code", "200")],
        );
        assert_eq!(graphite_name(&key), "http;code=200;method=GET");
        let key = Key::from_parts("a;b", vec![Label::new("k=1", "50%;x=y")]);
        assert_eq!(graphite_name(&key), "a%3Bb;k%3D1=50%25%3Bx=y");
        let twice = |a, b| Key::from_parts("t", vec![Label::new("k", a), Label::new("k", b)]);
        assert_eq!(twice("2", "1"), twice("1", "2"), "equal keys for `metrics`");
        assert_eq!(graphite_name(&twice("2", "1")), "t;k=1;k=2");
        assert_eq!(graphite_name(&twice("1", "2")), "t;k=1;k=2");
    }
}
