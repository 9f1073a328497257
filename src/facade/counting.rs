//! What `count!` and `timed!` call: find the pipeline to feed, then add to its tally or push
//! one timing sample.
//!
//! The pipeline is found, in this order, in the current `tracing` dispatcher (the first
//! [`RedisLayer`] in it, reached through `Layered`, per-layer `Filtered`, boxed and optional
//! layers by their own downcasting, so `tracing::subscriber::with_default` scopes counting as
//! it scopes events), then in the `log` backend installed with [`RedisLogger::install`]
//! (applications that use `log` alone), else nowhere: then nothing happens, for the price of
//! an atomic load or two.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::layer::TIMING_KIND;
use super::{Capture, RedisLayer};

/// The pipeline of the installed `log` backend, for applications without a `tracing`
/// subscriber.
static LOGGER_SINK: OnceLock<Capture> = OnceLock::new();

/// Remembers the pipeline of the installed `log` backend (the first one: a process has one).
pub(crate) fn set_logger_sink(capture: Capture) {
    let _ = LOGGER_SINK.set(capture);
}

/// Runs `f` on the pipeline of the current dispatcher's [`RedisLayer`], else on that of the
/// installed `log` backend; returns `None` when there is neither.
#[inline]
fn with_sink<R>(f: impl FnOnce(&Capture) -> R) -> Option<R> {
    let mut f = Some(f);
    let mut out = None;
    tracing::dispatcher::get_default(|dispatch| {
        if let Some(layer) = dispatch.downcast_ref::<RedisLayer>()
            && let Some(f) = f.take()
        {
            out = Some(f(layer.capture()));
        }
    });
    if let Some(f) = f {
        return LOGGER_SINK.get().map(f);
    }
    out
}

/// Adds `n` to counter `name`; what [`count!`](crate::count) expands to.
#[doc(hidden)]
#[inline]
pub fn count<N: AsRef<str> + ?Sized>(name: &N, n: i64) {
    count_str(name.as_ref(), n);
}

fn count_str(name: &str, n: i64) {
    with_sink(|capture| capture.count(name, n));
}

/// An increment as [`count!`](crate::count) takes it: any integer, saturated to `i64`.
#[doc(hidden)]
pub trait CountValue {
    /// The increment as an `i64`, saturated.
    fn into_count(self) -> i64;
}

macro_rules! count_value_lossless {
    ($($t:ty),*) => {$(
        impl CountValue for $t {
            #[inline]
            fn into_count(self) -> i64 {
                i64::from(self)
            }
        }
    )*};
}

macro_rules! count_value_saturating {
    ($($t:ty),*) => {$(
        impl CountValue for $t {
            #[inline]
            fn into_count(self) -> i64 {
                i64::try_from(self).unwrap_or(if self > 0 { i64::MAX } else { i64::MIN })
            }
        }
    )*};
}

count_value_lossless!(i8, i16, i32, i64, u8, u16, u32);
count_value_saturating!(isize, usize, u64, i128, u128);

/// Times a piece of code into the statistics of a context (type `AccessTime`, and the
/// context's mean in `slowest:AccessTime`), like a closed span. The time is measured on the
/// pipeline's clock from [`Timer::start`] until the timer is dropped, also on an early return
/// or a panic; [`timed!`](crate::timed) wraps a block in one.
///
/// Which pipeline is fed is decided at the start, as for [`count!`](crate::count); with none,
/// the timer does nothing and reads no clock.
///
/// ```no_run
/// # fn main() -> tracing_redis::Result<()> {
/// let _guard = tracing_redis::builder().try_init()?;
/// fn charge(cents: u64) -> Result<(), String> {
///     let _timer = tracing_redis::Timer::start("billing.charge");
///     if cents == 0 {
///         return Err("nothing to charge".into()); // recorded here
///     }
///     Ok(()) // and here
/// }
/// # let _ = charge(5);
/// # Ok(()) }
/// ```
#[must_use = "the time is recorded when the timer is dropped: bind it with `let _timer = …`"]
pub struct Timer {
    running: Option<(Capture, Cow<'static, str>, SystemTime)>,
}

impl Timer {
    /// Starts timing `context`.
    pub fn start(context: impl Into<Cow<'static, str>>) -> Timer {
        let running = with_sink(|capture| {
            let start = capture.clock.now();
            (capture.clone(), context.into(), start)
        });
        Timer { running }
    }

    /// Whether a pipeline will receive the time.
    pub fn is_recording(&self) -> bool {
        self.running.is_some()
    }

    /// Stops the timer without recording anything.
    pub fn cancel(mut self) {
        self.running = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some((capture, context, start)) = self.running.take() {
            let now = capture.clock.now();
            let elapsed = now.duration_since(start).unwrap_or_default();
            capture.sample(
                context,
                Cow::Borrowed(TIMING_KIND),
                elapsed.as_secs_f64(),
                now,
                true,
            );
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("context", &self.running.as_ref().map(|r| &r.1))
            .field("start", &self.running.as_ref().map(|r| r.2))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increments_saturate() {
        assert_eq!(5u8.into_count(), 5);
        assert_eq!((-3i32).into_count(), -3);
        assert_eq!(u64::MAX.into_count(), i64::MAX);
        assert_eq!(i128::MIN.into_count(), i64::MIN);
        assert_eq!(7usize.into_count(), 7);
    }

    #[test]
    fn without_a_pipeline_nothing_happens() {
        crate::count!("nowhere");
        crate::count!(String::from("nowhere"), 3u64);
        let t = Timer::start("nowhere");
        assert!(!t.is_recording());
        assert_eq!(crate::timed!("nowhere", 1 + 1), 2);
    }
}
