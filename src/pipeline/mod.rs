//! The pipeline: a bounded queue of [`Record`]s and one background worker that batches,
//! coalesces and writes them with one MULTI/EXEC per flush, reconnecting with backoff and
//! counting every record it could not write.
//!
//! Layers: the facade builds records and pushes them here; the pipeline writes them with the
//! store's command builders. Nothing here calls the facade.

pub(crate) mod batch;
mod format;
mod group;
mod guard;
mod link;
pub(crate) mod queue;
pub(crate) mod record;
mod status;
mod tally;
mod worker;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use format::Normalisation;
pub use guard::{FlushReport, Guard};
pub use queue::Overflow;
pub use record::TRUNCATION_MARKER;
pub use status::{DropCounts, DropReason, Status, StatusHandle};

pub(crate) use record::Record;

use crate::error::{Error, ErrorKind, Result};
use crate::store::clock::unix_secs;
use crate::store::{Clock, Keys};
use queue::Queue;
use status::Counters;
use worker::Worker;

/// The name of the worker thread.
pub(crate) const THREAD_NAME: &str = "tracing-redis";

/// Everything the worker needs, fixed when the pipeline starts.
#[derive(Debug)]
pub(crate) struct Settings {
    pub client: redis::Client,
    /// The URL with any password hidden, for messages.
    pub url: String,
    pub keys: Keys,
    pub name: String,
    pub normalisation: Normalisation,
    pub common_capacity: usize,
    pub clock: Arc<dyn Clock>,
    pub queue_records: usize,
    pub queue_bytes: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub overflow: Overflow,
    pub shutdown_timeout: Duration,
    /// Distinct (counter, second) sums held at most until written or dropped.
    pub counter_capacity: usize,
}

/// `from + d`, or a year from `from` when `d` is too large to add (`Duration::MAX` means
/// "wait for ever", which must not overflow).
pub(crate) fn later(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .or_else(|| from.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(from)
}

thread_local! {
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
}

fn mark_worker_thread() {
    let _ = ON_WORKER.try_with(|w| w.set(true));
}

/// Whether the current thread is a pipeline worker: what it emits (the redis crate's own
/// logs, anything else) must never re-enter a queue, or one write could feed the next.
pub(crate) fn on_worker_thread() -> bool {
    ON_WORKER.try_with(Cell::get).unwrap_or(false)
}

/// The callers' side of a running pipeline: cheap to clone.
#[derive(Clone)]
pub(crate) struct Pipeline {
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    overflow: Overflow,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("overflow", &self.overflow)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts the worker thread. Does not connect: the worker connects when it has records.
    pub(crate) fn start(settings: Settings) -> Result<(Pipeline, Guard)> {
        let queue = Arc::new(
            Queue::new(
                settings.queue_records,
                settings.queue_bytes,
                settings.batch_size,
            )
            .with_tally_capacity(settings.counter_capacity),
        );
        let counters = Arc::new(Counters::default());
        let pipeline = Pipeline {
            queue: Arc::clone(&queue),
            counters: Arc::clone(&counters),
            overflow: settings.overflow,
        };
        let shutdown_timeout = settings.shutdown_timeout;
        let worker = Worker::new(Arc::new(settings), queue, counters);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || worker.run())
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the `{THREAD_NAME}` worker thread: {e}"),
                )
                .with_source(e)
            })?;
        let guard = Guard::new(pipeline.clone(), shutdown_timeout, thread);
        Ok((pipeline, guard))
    }

    /// Queues `record`; when it cannot be queued, counts it as dropped. No I/O.
    pub(crate) fn push(&self, record: Record) {
        if let Err(reason) = self.queue.push(record, self.overflow) {
            self.counters.add_dropped(reason, 1);
        }
    }

    /// Adds `n` to counter `name` in the second of `at`, summed in memory until the next
    /// flush; when it cannot be held, counts it as dropped (one increment, whatever `n`).
    /// No I/O.
    pub(crate) fn count(&self, name: &str, n: i64, at: SystemTime) {
        if let Err(reason) = self.queue.tally().add(name, unix_secs(at), n) {
            self.counters.add_dropped(reason, 1);
        }
    }

    /// Counts one record as dropped for `reason` (a facade refused it before queueing).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn dropped(&self, reason: DropReason) {
        self.counters.add_dropped(reason, 1);
    }

    /// Waits at most `timeout` for every record accepted so far to be written or dropped.
    pub(crate) fn flush(&self, timeout: Duration) -> FlushReport {
        let failed = self.queue.flush(timeout);
        self.report(failed)
    }

    pub(crate) fn report(&self, failed: u64) -> FlushReport {
        FlushReport {
            written: self.counters.written(),
            dropped: self.counters.dropped(),
            failed,
            last_error: self.counters.last_error(),
        }
    }

    pub(crate) fn status(&self) -> StatusHandle {
        StatusHandle {
            counters: Arc::clone(&self.counters),
            queue: Arc::clone(&self.queue),
        }
    }

    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }
}
