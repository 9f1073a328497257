//! The bounded queue between the callers and the worker.
//!
//! A mutex around a `VecDeque`, held only to push or to take a batch (never across I/O), and
//! three condition variables: the worker waits for work, blocking callers wait for space,
//! flushers wait for their records to be settled. Capacity counts records and bytes from
//! acceptance until the worker settles them (written or dropped), so the flush in flight is
//! inside the budget too.
//!
//! The queue also owns the [`Tally`] of counter increments. Whenever it hands out a batch,
//! flushes or closes, it first moves what the tally holds into its own items, under its lock:
//! so a flush waits for every increment made before it, as for any record. Those count
//! records stay within the tally's capacity, not the queue's: their (counter, second) pairs
//! remain reserved in the tally until they are settled, so however often a flush moves them
//! here while Redis is away, the tally refuses new pairs instead of the sums piling up, and
//! log events keep the whole queue. Memory is thus bounded by the queue's records and bytes
//! plus the tally's pairs.
//!
//! What was accepted is numbered in queue order by weight (one per event or sample, one per
//! increment summed into a count record), which lets a flush wait for exactly what was
//! accepted before it and report what is still waiting in the units of `written` and
//! `dropped`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::later;
use super::record::Record;
use super::status::DropReason;
use super::tally::Tally;

/// How a caller behaves when the queue is full.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Drop the record and count it (the default): the caller never waits.
    #[default]
    Lossy,
    /// Wait for room at most this long, then drop and count.
    Block(Duration),
}

#[derive(Debug)]
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    /// The worker waits here for a full batch, a flush request or a close.
    work: Condvar,
    /// Blocking callers wait here for room.
    space: Condvar,
    /// Flushers and the shutdown wait here for settlement.
    settled: Condvar,
    max_records: usize,
    max_bytes: usize,
    batch_size: usize,
    tally: Tally,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each record with its size.
    items: VecDeque<(Record, usize)>,
    /// Records (count records aside) accepted and not yet settled, against `max_records`.
    held_records: usize,
    /// Their bytes, against `max_bytes`.
    held_bytes: usize,
    /// Weight accepted so far: the last accepted record ends at number `pushed`.
    pushed: u64,
    /// Weight handed to the worker so far.
    taken: u64,
    /// Weight written or dropped by the worker so far.
    settled: u64,
    /// The worker should hand out records up to this number without waiting for a batch.
    flush_target: u64,
    /// Bumped by flush requests and close, to cut the worker's waits short.
    wake: u64,
    worker_waiting: bool,
    space_waiters: usize,
    closed: bool,
    deadline: Option<Instant>,
    finished: bool,
}

/// Records handed to the worker, with what it needs to settle them.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    pub records: Vec<Record>,
    /// Records other than count records, and their bytes: what they hold of the budgets.
    pub held: usize,
    pub bytes: usize,
    /// Count records: the tally's pairs they hold.
    pub counts: usize,
    /// The weight of the records: what they count for in `written` and `dropped`.
    pub weight: u64,
    pub seq_end: u64,
    /// The queue is closed and was empty: the worker may stop.
    pub done: bool,
}

impl Queue {
    pub(crate) fn new(max_records: usize, max_bytes: usize, batch_size: usize) -> Self {
        Queue {
            inner: Mutex::new(Inner::default()),
            work: Condvar::new(),
            space: Condvar::new(),
            settled: Condvar::new(),
            max_records,
            max_bytes,
            batch_size,
            tally: Tally::new(usize::MAX),
        }
    }

    /// Holds at most `capacity` distinct (counter, second) pairs in the tally.
    pub(crate) fn with_tally_capacity(mut self, capacity: usize) -> Self {
        self.tally = Tally::new(capacity);
        self
    }

    /// Where counter increments are summed until the next batch.
    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Moves the tally's sums into the queue as count records. They stay outside the
    /// queue's budgets: the tally keeps their pairs reserved until they are settled.
    fn absorb(&self, g: &mut Inner) {
        if self.tally.unsent() == 0 {
            return;
        }
        let mut drained = Vec::new();
        self.tally.drain(&mut drained);
        for record in drained {
            let size = record.size();
            g.pushed += record.weight();
            g.items.push_back((record, size));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something did, the counts are still
        // consistent enough to keep logging.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accepts `record` or says why not. Never does I/O; in [`Overflow::Block`] mode waits
    /// at most its timeout for room.
    pub(crate) fn push(&self, record: Record, overflow: Overflow) -> Result<(), DropReason> {
        let size = record.size();
        if size > self.max_bytes {
            return Err(DropReason::QueueBytes);
        }
        let mut g = self.lock();
        let mut deadline = None;
        loop {
            if g.closed {
                return Err(DropReason::Shutdown);
            }
            let reason = if g.held_records >= self.max_records {
                DropReason::QueueFull
            } else if g.held_bytes + size > self.max_bytes {
                DropReason::QueueBytes
            } else {
                break;
            };
            let Overflow::Block(timeout) = overflow else {
                return Err(reason);
            };
            let now = Instant::now();
            let until = *deadline.get_or_insert_with(|| later(now, timeout));
            if now >= until {
                return Err(reason);
            }
            g.space_waiters += 1;
            g = self
                .space
                .wait_timeout(g, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            g.space_waiters -= 1;
        }
        g.items.push_back((record, size));
        g.held_records += 1;
        g.held_bytes += size;
        g.pushed += 1;
        if g.worker_waiting && g.items.len() == self.batch_size {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Waits until a full batch is queued, a flush or close asks for records, or `tick`
    /// passes; then hands out up to one batch (possibly nothing, on a tick).
    pub(crate) fn take(&self, tick: Instant) -> Taken {
        let mut g = self.lock();
        loop {
            let n = g.items.len();
            if n >= self.batch_size || (n > 0 && (g.closed || g.flush_target > g.taken)) {
                break;
            }
            if g.closed && n == 0 {
                return Taken {
                    done: true,
                    seq_end: g.taken,
                    ..Taken::default()
                };
            }
            let now = Instant::now();
            if now >= tick {
                break;
            }
            g.worker_waiting = true;
            g = self
                .work
                .wait_timeout(g, tick - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            g.worker_waiting = false;
        }
        self.drain(&mut g)
    }

    /// Hands out a batch only if one is due now (full, or asked for by a flush or close).
    pub(crate) fn try_take(&self) -> Option<Taken> {
        let mut g = self.lock();
        let n = g.items.len();
        let due = n >= self.batch_size || (n > 0 && (g.closed || g.flush_target > g.taken));
        due.then(|| self.drain(&mut g))
    }

    fn drain(&self, g: &mut Inner) -> Taken {
        self.absorb(g);
        let k = g.items.len().min(self.batch_size);
        hand_out(g, k, false)
    }

    /// Hands out everything still queued (at shutdown, to count it as dropped).
    pub(crate) fn take_all(&self) -> Taken {
        let mut g = self.lock();
        let k = g.items.len();
        hand_out(&mut g, k, true)
    }

    /// The worker is done with `t`'s records: they were written or dropped.
    pub(crate) fn settle(&self, t: &Taken) {
        let mut g = self.lock();
        g.held_records -= t.held.min(g.held_records);
        g.held_bytes -= t.bytes.min(g.held_bytes);
        self.tally.release(t.counts);
        g.settled = g.settled.max(t.seq_end);
        if g.space_waiters > 0 {
            self.space.notify_all();
        }
        self.settled.notify_all();
    }

    /// Asks the worker to write everything accepted so far and waits at most `timeout`.
    /// Returns the weight of what was not settled in time.
    pub(crate) fn flush(&self, timeout: Duration) -> u64 {
        let deadline = later(Instant::now(), timeout);
        let mut g = self.lock();
        self.absorb(&mut g);
        let target = g.pushed;
        g.flush_target = g.flush_target.max(target);
        self.wake_worker(&mut g);
        while g.settled < target && !g.finished {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            g = self
                .settled
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        target.saturating_sub(g.settled)
    }

    fn wake_worker(&self, g: &mut Inner) {
        g.wake += 1;
        if g.worker_waiting {
            self.work.notify_one();
        }
    }

    /// Refuses new records from now on and asks the worker to write what is queued and stop,
    /// giving up at `deadline`.
    pub(crate) fn close(&self, deadline: Instant) {
        let mut g = self.lock();
        if !g.closed {
            // Increments made from now on are refused, those held are written.
            self.tally.close();
            self.absorb(&mut g);
            g.closed = true;
            g.deadline = Some(deadline);
            g.flush_target = g.pushed;
        }
        self.wake_worker(&mut g);
        self.space.notify_all();
    }

    /// The shutdown deadline, once closed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.lock().deadline
    }

    /// Sleeps `d` (the reconnect backoff), cut short by a flush request or a close.
    pub(crate) fn pause(&self, d: Duration) {
        let until = later(Instant::now(), d);
        let mut g = self.lock();
        let wake = g.wake;
        while g.wake == wake {
            let now = Instant::now();
            if now >= until {
                break;
            }
            g.worker_waiting = true;
            g = self
                .work
                .wait_timeout(g, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            g.worker_waiting = false;
        }
    }

    /// The worker has stopped.
    pub(crate) fn finish(&self) {
        let mut g = self.lock();
        g.finished = true;
        self.settled.notify_all();
    }

    /// Waits until the worker stopped or `deadline` passed; returns whether it stopped.
    pub(crate) fn wait_finished(&self, deadline: Instant) -> bool {
        let mut g = self.lock();
        while !g.finished {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self
                .settled
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Records accepted and not yet settled (counting each (counter, second) pair the tally
    /// holds for a sum, summed there or queued), and the bytes the byte budget counts.
    pub(crate) fn held(&self) -> (usize, usize) {
        let g = self.lock();
        (g.held_records + self.tally.len(), g.held_bytes)
    }

    /// The weight accepted and not yet settled; after [`Queue::close`], which moved the
    /// tally's sums into the queue, that is everything.
    pub(crate) fn unsettled(&self) -> u64 {
        let g = self.lock();
        g.pushed.saturating_sub(g.settled)
    }
}

/// Hands the first `k` items to the worker.
fn hand_out(g: &mut Inner, k: usize, done: bool) -> Taken {
    let mut t = Taken {
        records: Vec::with_capacity(k),
        done,
        ..Taken::default()
    };
    for (r, size) in g.items.drain(..k) {
        if r.is_count() {
            t.counts += 1;
        } else {
            t.held += 1;
            t.bytes += size;
        }
        t.weight += r.weight();
        t.records.push(r);
    }
    g.taken += t.weight;
    t.seq_end = g.taken;
    t
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::pipeline::record::SampleRecord;

    fn rec() -> Record {
        Record::Sample(SampleRecord {
            context: Cow::Borrowed("c"),
            kind: Cow::Borrowed("AccessTime"),
            value: 1.0,
            at: SystemTime::UNIX_EPOCH,
            slowest: false,
        })
    }

    #[test]
    fn capacity_counts_records_until_settled() {
        let q = Queue::new(3, usize::MAX, 2);
        for _ in 0..3 {
            q.push(rec(), Overflow::Lossy).unwrap();
        }
        assert_eq!(q.push(rec(), Overflow::Lossy), Err(DropReason::QueueFull));
        let t = q.take(Instant::now());
        assert_eq!(t.records.len(), 2);
        // Taken but not settled: still inside the budget.
        assert_eq!(q.push(rec(), Overflow::Lossy), Err(DropReason::QueueFull));
        q.settle(&t);
        assert_eq!(q.held().0, 1);
        q.push(rec(), Overflow::Lossy).unwrap();
    }

    #[test]
    fn byte_budget_refuses_what_does_not_fit() {
        let size = rec().size();
        let q = Queue::new(100, size * 2, 10);
        q.push(rec(), Overflow::Lossy).unwrap();
        q.push(rec(), Overflow::Lossy).unwrap();
        assert_eq!(q.push(rec(), Overflow::Lossy), Err(DropReason::QueueBytes));
        assert_eq!(q.held(), (2, size * 2));
    }

    #[test]
    fn blocking_push_gives_up_after_its_timeout() {
        let q = Queue::new(1, usize::MAX, 1);
        q.push(rec(), Overflow::Lossy).unwrap();
        let start = Instant::now();
        let r = q.push(rec(), Overflow::Block(Duration::from_millis(20)));
        assert_eq!(r, Err(DropReason::QueueFull));
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn blocking_push_proceeds_when_room_appears() {
        let q = Arc::new(Queue::new(1, usize::MAX, 1));
        q.push(rec(), Overflow::Lossy).unwrap();
        let q2 = Arc::clone(&q);
        let worker = std::thread::spawn(move || {
            let t = q2.take(Instant::now() + Duration::from_secs(5));
            q2.settle(&t);
        });
        q.push(rec(), Overflow::Block(Duration::from_secs(30)))
            .unwrap();
        worker.join().unwrap();
    }

    #[test]
    fn flush_waits_for_exactly_the_records_before_it() {
        let q = Arc::new(Queue::new(10, usize::MAX, 100));
        q.push(rec(), Overflow::Lossy).unwrap();
        q.push(rec(), Overflow::Lossy).unwrap();
        let q2 = Arc::clone(&q);
        let worker = std::thread::spawn(move || {
            // The batch is not full: only the flush request hands the records out.
            let t = q2.take(Instant::now() + Duration::from_secs(30));
            assert_eq!(t.records.len(), 2);
            q2.settle(&t);
        });
        assert_eq!(q.flush(Duration::from_secs(30)), 0);
        worker.join().unwrap();
        assert_eq!(q.flush(Duration::ZERO), 0, "nothing left to wait for");
        q.push(rec(), Overflow::Lossy).unwrap();
        assert_eq!(q.flush(Duration::from_millis(1)), 1);
    }

    #[test]
    fn endless_timeouts_do_not_overflow() {
        let q = Queue::new(1, usize::MAX, 1);
        assert_eq!(q.flush(Duration::MAX), 0);
        q.push(rec(), Overflow::Block(Duration::MAX)).unwrap();
        q.close(later(Instant::now(), Duration::MAX));
        assert_eq!(
            q.push(rec(), Overflow::Block(Duration::MAX)),
            Err(DropReason::Shutdown)
        );
    }

    #[test]
    fn flush_and_close_take_the_tally_into_the_queue_outside_its_budgets() {
        let q = Queue::new(1, usize::MAX, 100).with_tally_capacity(10);
        q.push(rec(), Overflow::Lossy).unwrap();
        q.tally().add("a", 1, 2).unwrap();
        q.tally().add("a", 1, 5).unwrap();
        q.tally().add("b", 1, 3).unwrap();
        // The queue is full, yet the sums join it: the tally bounds them. The flush waits
        // for every increment, by weight.
        assert_eq!(
            q.flush(Duration::ZERO),
            4,
            "the flush waits for the sums too"
        );
        assert_eq!(q.held().0, 3, "one record, two pairs");
        q.tally().add("a", 2, 1).unwrap();
        q.close(Instant::now());
        assert_eq!(q.tally().add("a", 2, 1), Err(DropReason::Shutdown));
        assert_eq!(q.unsettled(), 5);
        let t = q.take(Instant::now());
        assert_eq!(t.records.len(), 4);
        assert_eq!((t.held, t.counts, t.weight), (1, 3, 5));
        q.settle(&t);
        assert_eq!(q.held(), (0, 0));
        assert_eq!(q.unsettled(), 0);
    }

    #[test]
    fn counter_sums_stay_bounded_by_the_tally_while_nothing_is_settled() {
        // Redis away: the worker settles nothing, the application flushes now and then.
        let q = Queue::new(10, usize::MAX, 100).with_tally_capacity(5);
        let mut refused = 0;
        for round in 0..100 {
            for name in ["a", "b", "c", "d", "e"] {
                if q.tally().add(name, round, 1).is_err() {
                    refused += 1;
                }
            }
            q.flush(Duration::ZERO);
        }
        assert_eq!(
            refused,
            5 * 99,
            "new pairs refused while the first five wait"
        );
        assert_eq!(q.lock().items.len(), 5);
        assert_eq!(q.held().0, 5);
        // Log events keep the whole queue.
        for _ in 0..10 {
            q.push(rec(), Overflow::Lossy).unwrap();
        }
        assert_eq!(q.push(rec(), Overflow::Lossy), Err(DropReason::QueueFull));
        // Once the sums are settled their pairs are free again.
        let t = q.take(Instant::now());
        assert_eq!((t.counts, t.held), (5, 10));
        q.settle(&t);
        q.tally().add("f", 100, 1).unwrap();
    }

    #[test]
    fn closed_queue_refuses_and_reports_done_when_empty() {
        let q = Queue::new(10, usize::MAX, 100);
        q.push(rec(), Overflow::Lossy).unwrap();
        q.close(Instant::now());
        assert_eq!(q.push(rec(), Overflow::Lossy), Err(DropReason::Shutdown));
        let t = q.take(Instant::now() + Duration::from_secs(30));
        assert_eq!((t.records.len(), t.done), (1, false));
        let t = q.take(Instant::now() + Duration::from_secs(30));
        assert!(t.done && t.records.is_empty());
    }
}
