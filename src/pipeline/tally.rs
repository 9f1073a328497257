//! Local aggregation of counter increments on the callers' side: per (counter, second of
//! event time), summed in memory until the worker drains them into the queue as
//! [`Record::Count`]s, once per flush.
//!
//! Shards of small maps, each behind its own mutex; a thread always uses the same shard
//! (picked once per thread), so callers on different threads rarely meet and no lock is
//! shared by all. A lock is held only to add one number or, by the drain, to swap a map out:
//! never across I/O. Memory is bounded by the number of distinct (counter, second) pairs held
//! at once; past it an increment is refused and counted as dropped
//! ([`DropReason::CountersFull`]).

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use super::record::{CountRecord, Record};
use super::status::DropReason;

/// Shards at most, whatever the number of cores.
const MAX_SHARDS: usize = 64;

#[derive(Debug)]
pub(crate) struct Tally {
    shards: Box<[Padded<Mutex<Shard>>]>,
    /// Distinct (counter, second) pairs held, over all shards.
    entries: AtomicUsize,
    capacity: usize,
    closed: AtomicBool,
}

/// Keeps each shard on cache lines of its own, so threads on neighbouring shards do not
/// slow each other down.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

#[derive(Debug, Default)]
struct Shard {
    /// Counter name → (second, sum) pairs; rarely more than one or two seconds between two
    /// drains, so a short vector beats a map.
    names: HashMap<String, Vec<(i64, i64)>>,
}

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's shard number (before reduction to the shard count).
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SHARD
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT.fetch_add(1, Ordering::Relaxed);
                s.set(i);
            }
            i
        })
        .unwrap_or(0)
}

impl Tally {
    /// A tally holding at most `capacity` distinct (counter, second) pairs.
    pub(crate) fn new(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        let n = (cores * 2).next_power_of_two().clamp(2, MAX_SHARDS);
        Tally {
            shards: (0..n)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
            entries: AtomicUsize::new(0),
            capacity,
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        // A panic cannot happen while a shard is locked; if one did, its sums are still valid.
        self.shards[i & (self.shards.len() - 1)]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `n` to counter `name` in second `second`. No I/O.
    pub(crate) fn add(&self, name: &str, second: i64, n: i64) -> Result<(), DropReason> {
        let mut shard = self.shard(thread_shard());
        // Checked under the shard's lock: `close` sets the flag before it drains each shard
        // under the same lock, so an increment is either drained or refused, never lost.
        if self.closed.load(Ordering::Acquire) {
            return Err(DropReason::Shutdown);
        }
        if let Some(slots) = shard.names.get_mut(name) {
            if let Some(slot) = slots.iter_mut().rev().find(|(s, _)| *s == second) {
                slot.1 = slot.1.saturating_add(n);
                return Ok(());
            }
            self.reserve()?;
            slots.push((second, n));
            return Ok(());
        }
        self.reserve()?;
        shard.names.insert(name.to_owned(), vec![(second, n)]);
        Ok(())
    }

    fn reserve(&self) -> Result<(), DropReason> {
        if self.entries.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.entries.fetch_sub(1, Ordering::Relaxed);
            return Err(DropReason::CountersFull);
        }
        Ok(())
    }

    /// Takes every sum held as one count record per (counter, second), appended to `out`.
    pub(crate) fn drain(&self, out: &mut Vec<Record>) {
        let mut taken = 0;
        for i in 0..self.shards.len() {
            let names = std::mem::take(&mut self.shard(i).names);
            for (name, slots) in names {
                taken += slots.len();
                if let [(second, n)] = slots[..] {
                    out.push(count(name, second, n));
                    continue;
                }
                for (second, n) in slots {
                    out.push(count(name.clone(), second, n));
                }
            }
        }
        if taken > 0 {
            self.entries.fetch_sub(taken, Ordering::Relaxed);
        }
    }

    /// Refuses increments from now on ([`DropReason::Shutdown`]); what is held stays to be
    /// drained.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Taking every lock once orders the flag before any increment that follows.
        for i in 0..self.shards.len() {
            drop(self.shard(i));
        }
    }

    /// Distinct (counter, second) pairs held.
    pub(crate) fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }
}

/// `n` added to `name` at the start of second `second`.
fn count(name: String, second: i64, n: i64) -> Record {
    let d = Duration::from_secs(second.unsigned_abs());
    let at = if second >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    };
    Record::Count(CountRecord {
        name: Cow::Owned(name),
        n,
        at,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::store::clock::unix_secs;

    fn sums(records: &[Record]) -> BTreeMap<(String, i64), i64> {
        let mut out = BTreeMap::new();
        for r in records {
            let Record::Count(c) = r else {
                panic!("not a count: {r:?}")
            };
            let prev = out.insert((c.name.to_string(), unix_secs(c.at)), c.n);
            assert!(prev.is_none(), "one record per (name, second)");
        }
        out
    }

    #[test]
    fn sums_per_name_and_second_and_drains_once() {
        let t = Tally::new(100);
        t.add("a", 10, 1).unwrap();
        t.add("a", 10, 2).unwrap();
        t.add("a", 11, 4).unwrap();
        t.add("b", -1, 8).unwrap();
        assert_eq!(t.len(), 3);
        let mut out = Vec::new();
        t.drain(&mut out);
        let want = BTreeMap::from([
            (("a".to_owned(), 10), 3),
            (("a".to_owned(), 11), 4),
            (("b".to_owned(), -1), 8),
        ]);
        assert_eq!(sums(&out), want);
        assert_eq!(t.len(), 0);
        out.clear();
        t.drain(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn refuses_new_pairs_beyond_capacity_but_adds_to_held_ones() {
        let t = Tally::new(2);
        t.add("a", 1, 1).unwrap();
        t.add("b", 1, 1).unwrap();
        assert_eq!(t.add("c", 1, 1), Err(DropReason::CountersFull));
        assert_eq!(t.add("a", 2, 1), Err(DropReason::CountersFull));
        t.add("a", 1, 5).unwrap();
        let mut out = Vec::new();
        t.drain(&mut out);
        assert_eq!(sums(&out)[&("a".to_owned(), 1)], 6);
        t.add("c", 1, 1).unwrap();
    }

    #[test]
    fn closed_tally_refuses_but_keeps_what_it_held() {
        let t = Tally::new(10);
        t.add("a", 1, 1).unwrap();
        t.close();
        assert_eq!(t.add("a", 1, 1), Err(DropReason::Shutdown));
        let mut out = Vec::new();
        t.drain(&mut out);
        assert_eq!(sums(&out)[&("a".to_owned(), 1)], 1);
    }

    #[test]
    fn threads_adding_while_draining_lose_nothing() {
        let t = Arc::new(Tally::new(1_000));
        let threads: Vec<_> = (0..4)
            .map(|k| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for i in 0..20_000i64 {
                        t.add(if i % 2 == 0 { "even" } else { "odd" }, i % 3, k + 1)
                            .unwrap();
                    }
                })
            })
            .collect();
        let mut out = Vec::new();
        while !threads.iter().all(|h| h.is_finished()) {
            t.drain(&mut out);
        }
        for h in threads {
            h.join().unwrap();
        }
        t.drain(&mut out);
        let total: i64 = out
            .iter()
            .map(|r| match r {
                Record::Count(c) => c.n,
                _ => 0,
            })
            .sum();
        assert_eq!(total, 20_000 * (1 + 2 + 3 + 4));
    }
}
