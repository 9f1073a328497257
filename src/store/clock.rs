//! Injectable time: everything that depends on "now" (hour rotation, counter buckets, the
//! cleaner, timing guards, cache revalidation) asks a [`Clock`], so tests can cross hour
//! boundaries and bucket edges without sleeping.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Timelike, Utc};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tracing_redis::store::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix(3_600.0 - 0.5);
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(3_600_500));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: SystemTime) -> Self {
        let clock = ManualClock {
            nanos: Arc::new(AtomicI64::new(0)),
        };
        clock.set(t);
        clock
    }

    /// A clock showing `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: f64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs_f64(secs))
    }

    /// Sets the time.
    pub fn set(&self, t: SystemTime) {
        let nanos = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        };
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let d = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        self.nanos.fetch_add(d, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        let n = self.nanos.load(Ordering::SeqCst);
        if n >= 0 {
            UNIX_EPOCH + Duration::from_nanos(n.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
        }
    }
}

/// Seconds since the Unix epoch, fractional; negative before 1970.
pub fn unix_secs_f64(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Whole seconds since the Unix epoch, rounded down (also before 1970).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

/// The start of `t`'s UTC hour as ISO-8601 without zone, e.g. `2026-11-27T01:00:00`: the
/// format of the `:start` and `:pstart` keys, which sorts as time does.
pub fn hour_start(t: SystemTime) -> String {
    let dt: DateTime<Utc> = t.into();
    let hour = dt
        .with_minute(0)
        .and_then(|d| d.with_second(0))
        .and_then(|d| d.with_nanosecond(0))
        .unwrap_or(dt);
    hour.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `t` as an ISO-8601 UTC timestamp with milliseconds, e.g. `2026-11-27T01:02:03.456Z`: the
/// `ts` of recent-log entries.
pub fn iso_millis(t: SystemTime) -> String {
    let dt: DateTime<Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_start_truncates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_741_323); // 2026-11-27T01:02:03Z
        assert_eq!(hour_start(t), "2026-11-27T01:00:00");
        assert_eq!(
            iso_millis(t + Duration::from_millis(456)),
            "2026-11-27T01:02:03.456Z"
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix(10.0);
        let c2 = c.clone();
        c.advance(Duration::from_millis(1500));
        assert_eq!(unix_secs_f64(c2.now()), 11.5);
        assert_eq!(unix_secs(c2.now()), 11);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_millis(1)), -1);
    }
}
