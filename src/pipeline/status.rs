//! What the pipeline tells the application about itself: cumulative counts kept in atomics
//! (written, dropped by reason), the connection state and the last error. Read through a
//! cheap [`StatusHandle`]; the worker and the callers only ever add to the counts.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::queue::Queue;

/// Why records were dropped.
///
/// `written` and `dropped` count what the application emitted: one per log event, one per
/// timing or `metrics` sample, and one per counter increment (a [`count!`](crate::count)
/// call, a `metrics` counter increment), however many increments one summed write carries.
/// Everything emitted ends up written or dropped, never both, so `written + dropped` is
/// everything emitted (plus, while it waits, [`FlushReport::failed`](crate::FlushReport)).
///
/// A record is written when at least one of its writes landed: a log event at or above the
/// common-log threshold makes two (its recent-log entry and its common-log count), every
/// other record one; a counter's sum is one write, which landed when at least one of its
/// `HINCRBY`s (one per precision and bucket) did. It is dropped, with the reason of its
/// first failed write, only when none landed, and then with all the increments it summed.
/// A write that failed for a record that still counts as written (say a common-log key of
/// another type, a counter hash of another type at one precision, or a refused `known:`
/// registration) shows in [`Status::last_error`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The queue held its maximum number of records (in blocking mode: and stayed full for
    /// the whole timeout).
    QueueFull,
    /// The queue held its maximum number of bytes.
    QueueBytes,
    /// The record's hour is older than both hours Redis keeps for its key (a timing sample
    /// of a past hour; a log event is kept by its recent-log entry).
    Stale,
    /// Redis refused the commands carrying the record (for example `WRONGTYPE` on a key
    /// written by someone else); see [`Status::last_error`].
    CommandError,
    /// The record could not be turned into a key or value (an empty context, a NaN sample).
    Invalid,
    /// Emitted after shutdown, or still unwritten when the shutdown timeout ran out.
    Shutdown,
    /// A counter increment (or a `metrics` gauge or absolute counter) found the local
    /// aggregation full: it held [`Builder::counter_capacity`](crate::Builder::counter_capacity)
    /// distinct (counter, second) pairs not yet written (summed in memory, or waiting for
    /// Redis).
    CountersFull,
}

impl DropReason {
    /// Every reason, in the order of [`DropCounts`]' fields.
    pub const ALL: [DropReason; 7] = [
        DropReason::QueueFull,
        DropReason::QueueBytes,
        DropReason::Stale,
        DropReason::CommandError,
        DropReason::Invalid,
        DropReason::Shutdown,
        DropReason::CountersFull,
    ];

    /// The reason's name in reports: `queue_full`, `queue_bytes`, `stale`, `command_error`,
    /// `invalid`, `shutdown`, `counters_full`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::QueueBytes => "queue_bytes",
            DropReason::Stale => "stale",
            DropReason::CommandError => "command_error",
            DropReason::Invalid => "invalid",
            DropReason::Shutdown => "shutdown",
            DropReason::CountersFull => "counters_full",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Dropped records, by reason: events and samples, and counter increments one each (see
/// [`DropReason`]). Counts are cumulative since the pipeline started.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounts {
    /// See [`DropReason::QueueFull`].
    pub queue_full: u64,
    /// See [`DropReason::QueueBytes`].
    pub queue_bytes: u64,
    /// See [`DropReason::Stale`].
    pub stale: u64,
    /// See [`DropReason::CommandError`].
    pub command_error: u64,
    /// See [`DropReason::Invalid`].
    pub invalid: u64,
    /// See [`DropReason::Shutdown`].
    pub shutdown: u64,
    /// See [`DropReason::CountersFull`].
    pub counters_full: u64,
}

impl DropCounts {
    /// All dropped records.
    pub fn total(&self) -> u64 {
        DropReason::ALL.iter().map(|r| self.get(*r)).sum()
    }

    /// The count of one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::QueueFull => self.queue_full,
            DropReason::QueueBytes => self.queue_bytes,
            DropReason::Stale => self.stale,
            DropReason::CommandError => self.command_error,
            DropReason::Invalid => self.invalid,
            DropReason::Shutdown => self.shutdown,
            DropReason::CountersFull => self.counters_full,
        }
    }

    fn slot(&mut self, reason: DropReason) -> &mut u64 {
        match reason {
            DropReason::QueueFull => &mut self.queue_full,
            DropReason::QueueBytes => &mut self.queue_bytes,
            DropReason::Stale => &mut self.stale,
            DropReason::CommandError => &mut self.command_error,
            DropReason::Invalid => &mut self.invalid,
            DropReason::Shutdown => &mut self.shutdown,
            DropReason::CountersFull => &mut self.counters_full,
        }
    }

    /// The counts of `self` minus those of `earlier`, reason by reason.
    pub fn since(&self, earlier: &DropCounts) -> DropCounts {
        let mut out = DropCounts::default();
        for r in DropReason::ALL {
            *out.slot(r) = self.get(r).saturating_sub(earlier.get(r));
        }
        out
    }

    /// The non-zero counts as (reason, count).
    pub fn nonzero(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|r| (r, self.get(r)))
            .filter(|(_, n)| *n > 0)
    }
}

/// A snapshot of the pipeline's state. Counts are cumulative since it started.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Whether the worker holds a working connection (it connected and loaded the scripts,
    /// and no connection error happened since).
    pub connected: bool,
    /// The most recent error (connection or command), with the key or URL it concerns.
    pub last_error: Option<String>,
    /// Records accepted and not yet written or dropped (queued or in the flush in flight):
    /// log events and samples, at most [`Builder::queue_capacity`](crate::Builder::queue_capacity),
    /// plus one per (counter, second) sum, at most
    /// [`Builder::counter_capacity`](crate::Builder::counter_capacity).
    pub queued_records: usize,
    /// The bytes of the log events and samples, as the queue's byte budget counts them
    /// (counter sums are bounded by their count instead).
    pub queued_bytes: usize,
    /// Events, samples and counter increments written to Redis (at least one of their
    /// writes landed; see [`DropReason`]).
    pub written: u64,
    /// Events, samples and counter increments dropped, by reason.
    pub dropped: DropCounts,
    /// When the last flush was written (the pipeline's clock).
    pub last_flush: Option<SystemTime>,
}

/// The shared counters behind [`Status`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    written: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
    last_flush: Mutex<Option<SystemTime>>,
}

impl Counters {
    pub(crate) fn add_written(&self, n: u64) {
        if n > 0 {
            self.written.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_dropped(&self, reason: DropReason, n: u64) {
        if n > 0 {
            self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> DropCounts {
        let mut out = DropCounts::default();
        for r in DropReason::ALL {
            *out.slot(r) = self.dropped[r.index()].load(Ordering::Relaxed);
        }
        out
    }

    pub(crate) fn set_connected(&self, yes: bool) {
        self.connected.store(yes, Ordering::Relaxed);
    }

    pub(crate) fn set_error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_last_flush(&self, at: SystemTime) {
        *self
            .last_flush
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    fn last_flush(&self) -> Option<SystemTime> {
        *self
            .last_flush
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

/// A cheap, clonable view of a pipeline's [`Status`]; it stays valid after the pipeline
/// stopped.
///
/// ```no_run
/// # fn main() -> tracing_redis::Result<()> {
/// let (layer, guard) = tracing_redis::builder().build()?;
/// let status = guard.status();
/// if !status.get().connected {
///     // Redis is unreachable: records wait in the queue.
/// }
/// # drop(layer); Ok(()) }
/// ```
#[derive(Clone)]
pub struct StatusHandle {
    pub(crate) counters: Arc<Counters>,
    pub(crate) queue: Arc<Queue>,
}

impl StatusHandle {
    /// A snapshot of the status.
    pub fn get(&self) -> Status {
        let (queued_records, queued_bytes) = self.queue.held();
        Status {
            connected: self.counters.connected(),
            last_error: self.counters.last_error(),
            queued_records,
            queued_bytes,
            written: self.counters.written(),
            dropped: self.counters.dropped(),
            last_flush: self.counters.last_flush(),
        }
    }

    /// Whether the worker holds a working connection.
    pub fn is_connected(&self) -> bool {
        self.counters.connected()
    }

    /// Events, samples and counter increments dropped so far, by reason.
    pub fn dropped(&self) -> DropCounts {
        self.counters.dropped()
    }
}

impl fmt::Debug for StatusHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StatusHandle").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_own_slot() {
        let c = Counters::default();
        for (i, r) in DropReason::ALL.into_iter().enumerate() {
            c.add_dropped(r, i as u64 + 1);
        }
        let d = c.dropped();
        for (i, r) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(d.get(r), i as u64 + 1, "{r}");
        }
        assert_eq!(d.total(), 28);
        let earlier = DropCounts {
            stale: 1,
            ..DropCounts::default()
        };
        assert_eq!(d.since(&earlier).stale, 2);
        assert_eq!(d.nonzero().count(), 7);
    }
}
