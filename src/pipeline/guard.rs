//! The guard that keeps the worker running, flushes on request, and on drop writes what is
//! queued (and the counter increments summed so far) and stops the worker, waiting at most
//! the shutdown timeout; it also stops the counter cleaner started with the pipeline.

use std::fmt;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::status::{DropCounts, StatusHandle};
use super::{Pipeline, later};
use crate::store::CleanerHandle;

/// What a flush achieved. `written` and `dropped` are cumulative since the pipeline started
/// (as in [`Status`](crate::Status)), so two reports can be subtracted. Each event, sample
/// and counter increment emitted counts once, in `written` or in `dropped`, or in `failed`
/// while it waits (the rule is spelt out at [`DropReason`](crate::DropReason)).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushReport {
    /// Events, samples and counter increments written to Redis: at least one of their
    /// writes landed.
    pub written: u64,
    /// Events, samples and counter increments dropped, by reason.
    pub dropped: DropCounts,
    /// Events, samples and counter increments accepted before the flush that were neither
    /// written nor dropped when it returned: Redis was unreachable or slow for the whole
    /// timeout. They stay queued and are written once Redis answers (at shutdown: dropped,
    /// see [`DropCounts::shutdown`]).
    pub failed: u64,
    /// The most recent error, if any happened.
    pub last_error: Option<String>,
}

impl FlushReport {
    /// Everything accepted before the flush was written or dropped in time.
    pub fn is_complete(&self) -> bool {
        self.failed == 0
    }
}

/// Keeps the pipeline running. Dropping it writes everything queued (counter increments
/// included) and stops the worker, waiting at most the shutdown timeout; records still
/// unwritten then are counted as dropped
/// ([`DropReason::Shutdown`](crate::DropReason::Shutdown)), and so are records and increments
/// emitted afterwards. It stops the counter cleaner too, when
/// [`Builder::cleaner`](crate::Builder::cleaner) started one: told to stop first, it winds
/// down while the pipeline writes, and is waited for within the same timeout.
///
/// Keep it alive for as long as the application logs: bind it in `main`
/// (`let _guard = …;`, not `let _ = …;`, which drops it at once).
#[must_use = "dropping the guard stops the pipeline; bind it with `let _guard = …`"]
pub struct Guard {
    pipeline: Pipeline,
    shutdown_timeout: Duration,
    thread: Option<JoinHandle<()>>,
    cleaner: Option<CleanerHandle>,
}

impl Guard {
    pub(crate) fn new(
        pipeline: Pipeline,
        shutdown_timeout: Duration,
        thread: JoinHandle<()>,
    ) -> Self {
        Guard {
            pipeline,
            shutdown_timeout,
            thread: Some(thread),
            cleaner: None,
        }
    }

    /// Stops `cleaner` with the pipeline.
    pub(crate) fn set_cleaner(&mut self, cleaner: CleanerHandle) {
        self.cleaner = Some(cleaner);
    }

    /// Asks the worker to write every record accepted so far and every counter increment
    /// made so far, and waits at most `timeout` for it. Blocks the calling thread (it is the
    /// one call that does).
    pub fn flush(&self, timeout: Duration) -> FlushReport {
        self.pipeline.flush(timeout)
    }

    /// A handle on the pipeline's status, valid also after the guard is gone.
    pub fn status(&self) -> StatusHandle {
        self.pipeline.status()
    }

    /// Stops the pipeline now, as dropping the guard does, and reports the outcome.
    pub fn shutdown(mut self) -> FlushReport {
        self.stop()
    }

    fn stop(&mut self) -> FlushReport {
        let deadline = later(Instant::now(), self.shutdown_timeout);
        // Told first, so that it winds down while the pipeline writes what is queued (which
        // may take the whole timeout while Redis is away), and is joined with what remains.
        if let Some(cleaner) = &self.cleaner {
            cleaner.signal_stop();
        }
        let report = self.stop_pipeline(deadline);
        if let Some(cleaner) = self.cleaner.take() {
            let _ = cleaner.stop_within(deadline.saturating_duration_since(Instant::now()));
        }
        report
    }

    fn stop_pipeline(&mut self, deadline: Instant) -> FlushReport {
        let Some(thread) = self.thread.take() else {
            return self.pipeline.report(0);
        };
        // The worker gives up a little early, so that it has counted what it abandoned
        // by the time we stop waiting.
        let margin = (self.shutdown_timeout / 10).min(Duration::from_millis(50));
        let queue = self.pipeline.queue();
        queue.close(deadline - margin);
        if queue.wait_finished(deadline) {
            let _ = thread.join();
            self.pipeline.report(0)
        } else {
            // The worker is stuck in a connect or a read; leave it to finish on its own.
            self.pipeline.report(queue.unsettled())
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("running", &self.thread.is_some())
            .field("cleaner", &self.cleaner.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn the_cleaner_is_told_to_stop_before_the_pipeline_is_waited_for() {
        // Nothing listens there: the worker retries until the shutdown timeout runs out.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let timeout = Duration::from_secs(3);
        let (layer, guard) = crate::builder()
            .url(format!("redis://127.0.0.1:{port}/"))
            .name("app")
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .shutdown_timeout(timeout)
            .cleaner(true)
            .build()
            .unwrap();
        guard.pipeline.count("c", 1, SystemTime::now());
        let ended = guard.cleaner.as_ref().unwrap().ended();
        let start = Instant::now();
        let stopping = std::thread::spawn(move || guard.shutdown());
        assert!(
            ended.wait(timeout / 3),
            "the cleaner ends while the pipeline still tries to write"
        );
        let report = stopping.join().unwrap();
        assert!(start.elapsed() >= timeout / 2, "{:?}", start.elapsed());
        assert_eq!(
            (report.written, report.dropped.shutdown),
            (0, 1),
            "{report:?}"
        );
        drop(layer);
    }
}
