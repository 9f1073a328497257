//! The read-order lock of [`LiveConfig`](super::LiveConfig): whoever holds the turn takes the
//! next sequence number and does its round trip to Redis before giving the turn back, so a
//! read numbered later is one Redis executed later. It also keeps the connection on which
//! callers read a value for the first time.
//!
//! A turn is a flag under a mutex rather than the mutex itself, so that a caller can stop
//! waiting for it: a caller gives up after a while (the read in flight may hang until its
//! own timeout when Redis stops answering, and each waiter after it would add one more), the
//! background thread waits as long as it takes. The mutex is never held across I/O.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::cache::{Fetched, Problem, connect};
use crate::error::{Error, ErrorKind, is_connection_error};

#[derive(Default)]
pub(crate) struct ReadOrder {
    slot: Mutex<Slot>,
    freed: Condvar,
    seq: AtomicU64,
}

#[derive(Default)]
struct Slot {
    busy: bool,
    /// The loader connection, lent to whoever holds the turn.
    loader: Option<redis::Connection>,
}

/// The turn to read: a sequence number, and the loader connection (`None` until connected,
/// or after it broke). Given back when dropped, also on a panic.
pub(crate) struct Turn<'a> {
    order: &'a ReadOrder,
    seq: u64,
    loader: Option<redis::Connection>,
}

impl ReadOrder {
    /// Waits for the turn as long as it takes.
    pub(crate) fn wait(&self) -> Turn<'_> {
        let mut slot = self.lock();
        while slot.busy {
            slot = self
                .freed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
        self.take(slot)
    }

    /// Waits for the turn at most `patience`; `None` if it did not come.
    pub(crate) fn wait_at_most(&self, patience: Duration) -> Option<Turn<'_>> {
        let deadline = Instant::now() + patience;
        let mut slot = self.lock();
        while slot.busy {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())?;
            slot = self
                .freed
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Some(self.take(slot))
    }

    /// Runs `query` on the loader connection (connecting it first if needed) during a turn
    /// of the read order, and returns the read's sequence number with what it gave. Only
    /// callers reading a value for the first time come here.
    ///
    /// `patience` is the I/O timeout: it bounds the wait for the turn, the connection and
    /// the read, so a caller waits about twice that at most, however many wait with it.
    ///
    /// # Errors
    ///
    /// When the turn did not come within `patience` (a read before this one hangs: Redis is
    /// slow or not answering). Nothing was read, so this has no sequence number.
    pub(crate) fn load(
        &self,
        client: &redis::Client,
        patience: Duration,
        query: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<Option<String>>,
        key: &str,
    ) -> std::result::Result<(u64, Fetched), Problem> {
        let Some(mut turn) = self.wait_at_most(patience) else {
            return Err(Problem::from(Error::new(
                ErrorKind::Connection,
                format!(
                    "reading `{key}`: gave up after waiting {patience:?} (the I/O timeout) for \
                     the read of configuration before it; Redis is slow or not answering, and \
                     the background thread reads the value once it answers"
                ),
            )));
        };
        let seq = turn.seq();
        let con = match turn.loader.as_mut() {
            Some(con) => con,
            None => match connect(client, patience) {
                Ok(con) => turn.loader.insert(con),
                Err(e) => {
                    let problem = Problem::from(Error::redis(e, format!("reading `{key}`")));
                    return Ok((seq, Err(problem)));
                }
            },
        };
        let fetched = query(con).map_err(|e| {
            if is_connection_error(&e) {
                turn.loader = None;
            }
            Problem::from(Error::redis(e, format!("reading `{key}`")))
        });
        Ok((seq, fetched))
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, mut slot: MutexGuard<'_, Slot>) -> Turn<'_> {
        slot.busy = true;
        Turn {
            order: self,
            // Taken while holding the turn: a later number means a read Redis executed later.
            seq: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            loader: slot.loader.take(),
        }
    }
}

impl Turn<'_> {
    /// This read's sequence number.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut slot = self.order.lock();
        slot.busy = false;
        slot.loader = self.loader.take();
        drop(slot);
        // One waiter is enough: it finds the turn free and takes it, or, if a newcomer took
        // it first, that one wakes the next waiter when it is done.
        self.order.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_numbered_in_order_and_a_waiter_can_give_up() {
        let order = ReadOrder::default();
        let first = order.wait();
        assert_eq!(first.seq(), 1);
        let start = Instant::now();
        assert!(order.wait_at_most(Duration::from_millis(50)).is_none());
        assert!(start.elapsed() >= Duration::from_millis(50));
        drop(first);
        let second = order.wait_at_most(Duration::from_millis(50)).unwrap();
        assert_eq!(second.seq(), 2);
    }

    #[test]
    fn a_turn_given_back_wakes_a_waiter() {
        let order = ReadOrder::default();
        let first = order.wait();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| order.wait_at_most(Duration::from_secs(30)).map(|t| t.seq()));
            // Whether the waiter is already waiting or not, it gets the next turn.
            drop(first);
            assert_eq!(waiter.join().unwrap(), Some(2));
        });
        assert_eq!(order.wait().seq(), 3);
    }
}
