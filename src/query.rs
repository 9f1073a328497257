//! Typed reads over what the store keeps, shared by the `tracing-redis` tool and by library
//! users: recent logs merged across severities (and followed), common logs with their hours,
//! known counters, a counter over a time window, statistics of this hour and the last, the
//! slowest contexts.
//!
//! Built on [`crate::store`] and nothing above it. Like the store, every call is synchronous
//! and does I/O on the calling thread. Names found by scanning keys are percent-decoded
//! ([`decode_name`](crate::store::keys::decode_name)), so they read as they were written.
//!
//! # Example
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use tracing_redis::query::{LogFilter, Query};
//! use tracing_redis::store::{Severity, Store};
//!
//! # fn main() -> tracing_redis::Result<()> {
//! let client = redis::Client::open("redis://127.0.0.1/").map_err(|e| tracing_redis::Error::redis(e, "opening"))?;
//! let mut con = client.get_connection().map_err(|e| tracing_redis::Error::redis(e, "connecting"))?;
//! let query = Query::new(Store::new().with_namespace("app")?);
//!
//! // The 20 newest warnings and errors of every log name, oldest first.
//! let filter = LogFilter::all().levels([Severity::Warning, Severity::Error]);
//! for e in query.tail(&mut con, &filter, 20)? {
//!     println!("{} {} {}: {}", e.entry.ts, e.level, e.name, e.entry.message);
//! }
//!
//! // Requests per minute over the last hour, empty minutes as 0.
//! let now = SystemTime::now();
//! let series = query.counter_window(&mut con, "requests", 60, now - Duration::from_secs(3600), now, true)?;
//! # let _ = series;
//! # Ok(()) }
//! ```

mod tail;

use std::collections::BTreeSet;
use std::time::SystemTime;

use redis::ConnectionLike;

pub use tail::{LogFilter, TailCursor, TailEntry};

use crate::error::{Error, Result};
use crate::store::clock::{hour_start, unix_secs};
use crate::store::keys::Rotated;
use crate::store::{PRECISIONS, Severity, Stats, Store};

/// The most buckets [`Query::counter_window`] fills with zeros in one call; ask for a
/// coarser precision or a shorter window beyond it.
pub const MAX_WINDOW_BUCKETS: i64 = 100_000;

/// Reads over a [`Store`] (its namespace and clock). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Query {
    store: Store,
}

/// One message of a common log, with the log it belongs to and the hour it was counted in.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct CommonRow {
    /// The log name.
    pub name: String,
    /// The severity.
    pub level: Severity,
    /// ISO-8601 UTC start of the hour of the set (`None` when the start key is missing).
    pub hour: Option<String>,
    /// The message, as counted.
    pub message: String,
    /// Occurrences in that hour.
    pub count: u64,
}

/// A counter in `known:`, with the precisions (seconds) it is kept at.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCounter {
    /// The counter name.
    pub name: String,
    /// Its precisions in seconds, finest first.
    pub precisions: Vec<u64>,
}

/// One hour's statistics and the hour's start.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct HourStats {
    /// ISO-8601 UTC start of the hour (`None` when the start key is missing).
    pub start: Option<String>,
    /// Count, sums, min and max; [`Stats::mean`] and [`Stats::stddev`] derive from them.
    pub stats: Stats,
}

/// The statistics of one context and type: the current set and the previous one.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsReport {
    /// The current set (`None` without data). Its start may be older than the clock's hour
    /// when nothing was recorded since.
    pub current: Option<HourStats>,
    /// The previous set that had data.
    pub last: Option<HourStats>,
}

impl Query {
    /// Reads through `store`.
    pub fn new(store: Store) -> Self {
        Query { store }
    }

    /// The store read from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The start of the store clock's current UTC hour, in the format of
    /// [`CommonRow::hour`] and [`HourStats::start`]: compare to tell "this hour" from older.
    pub fn current_hour(&self) -> String {
        hour_start(self.store.clock().now())
    }

    /// The `n` most frequent messages over the common logs `filter` selects, most frequent
    /// first: of each set's current hour, or of its previous one with `last`. Without a name
    /// in the filter, every common log found by `SCAN` is read.
    ///
    /// # Errors
    ///
    /// An empty name; any Redis error (e.g. `WRONGTYPE` when a key is not a sorted set).
    pub fn common(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
        last: bool,
        n: usize,
    ) -> Result<Vec<CommonRow>> {
        let logs = self.common_logs(con, filter)?;
        self.common_in(con, &logs, last, n)
    }

    /// The common logs (name, severity) `filter` selects: with a name, each selected
    /// severity of it; without, those found by `SCAN`, sorted. Callers that poll can keep
    /// the answer for a while and read with [`Query::common_in`], sparing a scan each time.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn common_logs(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
    ) -> Result<Vec<(String, Severity)>> {
        if let Some(name) = &filter.name {
            return Ok(filter
                .severities()
                .into_iter()
                .map(|s| (name.clone(), s))
                .collect());
        }
        let keys = self.store.keys();
        let found: BTreeSet<(String, Severity)> = scan(con, &keys.common_pattern())?
            .iter()
            .filter_map(|k| keys.parse_common(k))
            .filter(|(_, s)| filter.matches_level(*s))
            .collect();
        Ok(found.into_iter().collect())
    }

    /// Like [`Query::common`], over the common logs `logs` (name, severity).
    ///
    /// # Errors
    ///
    /// As [`Query::common`].
    pub fn common_in(
        &self,
        con: &mut dyn ConnectionLike,
        logs: &[(String, Severity)],
        last: bool,
        n: usize,
    ) -> Result<Vec<CommonRow>> {
        let mut rows = Vec::new();
        for (name, level) in logs {
            let (name, level) = (name.as_str(), *level);
            let log = self.store.common(con, name, level, n)?;
            let set = if last { log.last } else { log.current };
            rows.extend(set.messages.into_iter().map(|(message, count)| CommonRow {
                name: name.to_owned(),
                level,
                hour: set.start.clone(),
                message,
                count,
            }));
        }
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.name, a.level, &a.message).cmp(&(&b.name, b.level, &b.message)))
        });
        rows.truncate(n);
        Ok(rows)
    }

    /// Every counter in `known:`, by name, with its precisions.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn counters(&self, con: &mut dyn ConnectionLike) -> Result<Vec<KnownCounter>> {
        let mut out: Vec<KnownCounter> = Vec::new();
        let mut known = self.store.known_counters(con)?;
        known.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
        for (precision, name) in known {
            match out.last_mut() {
                Some(last) if last.name == name => last.precisions.push(precision),
                _ => out.push(KnownCounter {
                    name,
                    precisions: vec![precision],
                }),
            }
        }
        Ok(out)
    }

    /// Counter `name` at `precision` seconds: (bucket start, count) for the buckets that
    /// start from the bucket holding `since` up to `until`, oldest first. With `fill_zeros`
    /// every bucket of the window is present, missing ones as 0.
    ///
    /// # Errors
    ///
    /// An empty name, a precision not in [`PRECISIONS`], `until` before `since`, a zero-filled
    /// window of more than [`MAX_WINDOW_BUCKETS`] buckets
    /// ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)); any Redis error.
    pub fn counter_window(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        precision: u64,
        since: SystemTime,
        until: SystemTime,
        fill_zeros: bool,
    ) -> Result<Vec<(i64, i64)>> {
        if !PRECISIONS.contains(&precision) {
            return Err(Error::invalid_input(format!(
                "unknown counter precision {precision}: expected one of {PRECISIONS:?} (seconds)"
            )));
        }
        let p = i64::try_from(precision).unwrap_or(i64::MAX);
        let (since, until) = (unix_secs(since), unix_secs(until));
        if until < since {
            return Err(Error::invalid_input(format!(
                "counter window ends ({until}) before it starts ({since})"
            )));
        }
        let from = since.div_euclid(p) * p;
        let to = until.div_euclid(p) * p;
        if fill_zeros && (to - from) / p >= MAX_WINDOW_BUCKETS {
            return Err(Error::invalid_input(format!(
                "a window of {} s at precision {precision} s holds more than {MAX_WINDOW_BUCKETS} \
                 buckets; choose a coarser precision or a shorter window",
                until - since
            )));
        }
        let data: Vec<(i64, i64)> = self
            .store
            .counter(con, name, precision)?
            .into_iter()
            .filter(|(b, _)| (from..=to).contains(b))
            .collect();
        if !fill_zeros {
            return Ok(data);
        }
        let mut data = data.into_iter().peekable();
        let mut out = Vec::new();
        let mut bucket = from;
        while bucket <= to {
            let count = match data.peek() {
                Some(&(b, c)) if b == bucket => {
                    data.next();
                    c
                }
                _ => 0,
            };
            out.push((bucket, count));
            bucket += p;
        }
        Ok(out)
    }

    /// The statistics of `context` and `kind` (e.g. `AccessTime`): the current set and the
    /// previous one, each with its hour's start.
    ///
    /// # Errors
    ///
    /// An empty `context` or `kind`; any Redis error.
    pub fn stats(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
    ) -> Result<StatsReport> {
        let rotated = Rotated::of(self.store.keys().stats(context, kind)?);
        let current = match self.store.stats(con, context, kind)? {
            Some(stats) => {
                let start: Option<String> = redis::cmd("GET")
                    .arg(&rotated.start)
                    .query(con)
                    .map_err(|e| Error::redis(e, format!("reading `{}`", rotated.start)))?;
                Some(HourStats { start, stats })
            }
            None => None,
        };
        let last = self
            .store
            .stats_last(con, context, kind)?
            .map(|(stats, start)| HourStats { start, stats });
        Ok(StatsReport { current, last })
    }

    /// The `n` slowest contexts of `kind` by their current mean, slowest first.
    ///
    /// # Errors
    ///
    /// An empty `kind`; any Redis error.
    pub fn slowest(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        n: usize,
    ) -> Result<Vec<(String, f64)>> {
        self.store.slowest(con, kind, n)
    }
}

/// Every key matching the `SCAN MATCH` pattern `pattern` (build it with the `*_pattern`
/// methods of [`Keys`](crate::store::keys::Keys), which escape the namespace), by `SCAN`:
/// never `KEYS`, which blocks the server. A key may be listed twice when the keyspace is
/// resized during the scan, as `SCAN` allows.
///
/// # Errors
///
/// Any Redis error, naming the pattern.
pub fn scan(con: &mut dyn ConnectionLike, pattern: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .map_err(|e| Error::redis(e, format!("scanning keys `{pattern}`")))?;
        out.extend(batch);
        if next == 0 {
            return Ok(out);
        }
        cursor = next;
    }
}
