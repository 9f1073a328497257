//! The `metrics` facade: a [`metrics::Recorder`] turning `counter!`, `gauge!` and
//! `histogram!` into counters and statistics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

use super::Capture;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::DropReason;

/// The statistics type of `metrics` histograms.
pub(crate) const HISTOGRAM_KIND: &str = "Histogram";
/// The statistics type of `metrics` gauges.
pub(crate) const GAUGE_KIND: &str = "Gauge";

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
/// Gauges and absolute counters are remembered per name, up to
/// [`Builder::counter_capacity`](crate::Builder::counter_capacity) names each; past it their
/// updates are dropped ([`DropReason::CountersFull`]). `metrics` registers a handle on every
/// macro call; keep the handle (`let hits = counter!("hits");`) where it is called often.
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
    capture: Capture,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    gauges: HashMap<String, f64>,
    totals: HashMap<String, u64>,
}

/// One registered metric: the counter, gauge or histogram of one name.
struct Handle {
    name: String,
    inner: Arc<Inner>,
}

impl RedisRecorder {
    pub(crate) fn new(capture: Capture) -> Self {
        RedisRecorder {
            inner: Arc::new(Inner {
                capture,
                state: Mutex::new(State::default()),
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
        Arc::new(Handle {
            name: graphite_name(key),
            inner: Arc::clone(&self.inner),
        })
    }
}

impl fmt::Debug for RedisRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRecorder")
            .field("capture", &self.inner.capture)
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
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn capacity(&self) -> usize {
        self.inner.capture.counter_capacity
    }

    fn dropped(&self) {
        self.inner
            .capture
            .pipeline
            .dropped(DropReason::CountersFull);
    }

    /// Applies `op` to the gauge's value (0 when new) and records the result as a sample.
    fn gauge(&self, op: impl FnOnce(f64) -> f64) {
        let value = {
            let mut state = self.state();
            let full = state.gauges.len() >= self.capacity();
            match state.gauges.get_mut(&self.name) {
                Some(v) => {
                    *v = op(*v);
                    *v
                }
                None if full => {
                    drop(state);
                    return self.dropped();
                }
                None => {
                    let v = op(0.0);
                    state.gauges.insert(self.name.clone(), v);
                    v
                }
            }
        };
        let capture = &self.inner.capture;
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
        self.inner.capture.count(&self.name, n);
    }

    fn absolute(&self, value: u64) {
        let delta = {
            let mut state = self.state();
            let full = state.totals.len() >= self.capacity();
            match state.totals.get_mut(&self.name) {
                Some(last) => {
                    let delta = value.checked_sub(*last).unwrap_or(value);
                    *last = value;
                    delta
                }
                None if full => {
                    drop(state);
                    return self.dropped();
                }
                None => {
                    state.totals.insert(self.name.clone(), value);
                    value
                }
            }
        };
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
        let capture = &self.inner.capture;
        capture.sample(
            Cow::Owned(self.name.clone()),
            Cow::Borrowed(HISTOGRAM_KIND),
            value,
            capture.clock.now(),
            true,
        );
    }
}

/// `name;k1=v1;k2=v2` with the label keys sorted.
fn graphite_name(key: &Key) -> String {
    let mut labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    labels.sort_by(|a, b| a.0.cmp(b.0));
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
    }
}
