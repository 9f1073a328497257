//! Local aggregation of counter increments on the callers' side: per (counter, second of
//! event time), summed in memory until the worker drains them into the queue as
//! [`Record::Count`]s, once per flush.
//!
//! Shards of small maps, each behind its own mutex; a thread always uses the same shard
//! (picked once per thread), so callers on different threads rarely meet and no lock is
//! shared by all. A lock is held only to add one number or, by the drain, to hand out a
//! shard's sums: never across I/O.
//!
//! Memory is bounded by the capacity: the distinct (counter, second) pairs summed here, in
//! the queue or in the flush in flight. A pair's slot is reserved by its first increment and
//! freed only when its record is settled (written or dropped), so while Redis is away the
//! sums waiting for it cannot grow past the capacity; past it an increment that needs a new
//! pair is refused and counted as dropped ([`DropReason::CountersFull`]). Each pair holds
//! its counter's name; a shard also keeps the names that had increments in the last
//! interval, so the next increment of a counter finds its name and slot vector ready
//! instead of allocating them.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use super::record::{CountRecord, Record};
use super::status::DropReason;

/// Shards at most, whatever the number of cores.
const MAX_SHARDS: usize = 64;

/// Slots a counter keeps allocated between drains (more only after a long wait for Redis).
const KEEP_SLOTS: usize = 4;

/// A shard's map is shrunk when its capacity passes this many times the names it keeps
/// (plus a little), so one burst of names does not hold its memory for ever.
const SHRINK_FACTOR: usize = 4;
const SHRINK_SLACK: usize = 64;

#[derive(Debug)]
pub(crate) struct Tally {
    shards: Box<[Padded<Mutex<Shard>>]>,
    /// Pairs reserved: summed in a shard, or handed out and not yet settled.
    reserved: AtomicUsize,
    /// Pairs summed in the shards, not yet handed out.
    unsent: AtomicUsize,
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
    /// Counter name → its sums per second; rarely more than one or two seconds between two
    /// drains, so a short vector beats a map. Empty for a name with no increment since the
    /// last drain (dropped at the drain after that).
    names: HashMap<Arc<str>, Vec<Slot>>,
}

/// The increments of one counter in one second.
#[derive(Debug, Clone, Copy)]
struct Slot {
    second: i64,
    sum: i64,
    /// How many increments the sum holds.
    weight: u64,
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
    /// A tally holding at most `capacity` distinct (counter, second) pairs until settled.
    pub(crate) fn new(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        let n = (cores * 2).next_power_of_two().clamp(2, MAX_SHARDS);
        Tally {
            shards: (0..n)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
            reserved: AtomicUsize::new(0),
            unsent: AtomicUsize::new(0),
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
            if let Some(slot) = slots.iter_mut().rev().find(|s| s.second == second) {
                slot.sum = slot.sum.saturating_add(n);
                slot.weight = slot.weight.saturating_add(1);
                return Ok(());
            }
            self.reserve()?;
            slots.push(Slot::new(second, n));
            return Ok(());
        }
        self.reserve()?;
        shard
            .names
            .insert(Arc::from(name), vec![Slot::new(second, n)]);
        Ok(())
    }

    fn reserve(&self) -> Result<(), DropReason> {
        if self.reserved.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.reserved.fetch_sub(1, Ordering::Relaxed);
            return Err(DropReason::CountersFull);
        }
        self.unsent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Hands out every sum held as one count record per (counter, second), appended to
    /// `out`. Their pairs stay reserved until [`Tally::release`]. Each shard keeps its
    /// allocations for the next interval, except the names idle since the last drain.
    pub(crate) fn drain(&self, out: &mut Vec<Record>) {
        let mut taken = 0;
        for i in 0..self.shards.len() {
            let mut shard = self.shard(i);
            shard.names.retain(|name, slots| {
                if slots.is_empty() {
                    return false;
                }
                taken += slots.len();
                out.extend(slots.drain(..).map(|s| count(name, s)));
                if slots.capacity() > KEEP_SLOTS {
                    slots.shrink_to(KEEP_SLOTS);
                }
                true
            });
            let kept = shard.names.len();
            if shard.names.capacity() > SHRINK_FACTOR * kept + SHRINK_SLACK {
                shard.names.shrink_to(2 * kept);
            }
        }
        if taken > 0 {
            self.unsent.fetch_sub(taken, Ordering::Relaxed);
        }
    }

    /// `pairs` records handed out by [`Tally::drain`] were settled: their slots are free.
    pub(crate) fn release(&self, pairs: usize) {
        if pairs > 0 {
            self.reserved.fetch_sub(pairs, Ordering::Relaxed);
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

    /// Distinct (counter, second) pairs reserved: summed here, or handed out and not yet
    /// settled.
    pub(crate) fn len(&self) -> usize {
        self.reserved.load(Ordering::Relaxed)
    }

    /// Pairs summed here and not yet handed out.
    pub(crate) fn unsent(&self) -> usize {
        self.unsent.load(Ordering::Relaxed)
    }

    /// Names each shard keeps, and the capacity of its map.
    #[cfg(test)]
    fn footprint(&self) -> Vec<(usize, usize)> {
        (0..self.shards.len())
            .map(|i| {
                let s = self.shard(i);
                (s.names.len(), s.names.capacity())
            })
            .collect()
    }
}

impl Slot {
    fn new(second: i64, sum: i64) -> Self {
        Slot {
            second,
            sum,
            weight: 1,
        }
    }
}

/// The sum of `slot` for counter `name`, at the start of its second.
fn count(name: &Arc<str>, slot: Slot) -> Record {
    let d = Duration::from_secs(slot.second.unsigned_abs());
    let at = if slot.second >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    };
    Record::Count(CountRecord {
        name: Arc::clone(name),
        n: slot.sum,
        at,
        weight: slot.weight,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::clock::unix_secs;

    /// (name, second) → (sum, weight).
    fn sums(records: &[Record]) -> BTreeMap<(String, i64), (i64, u64)> {
        let mut out = BTreeMap::new();
        for r in records {
            let Record::Count(c) = r else {
                panic!("not a count: {r:?}")
            };
            let prev = out.insert((c.name.to_string(), unix_secs(c.at)), (c.n, c.weight));
            assert!(prev.is_none(), "one record per (name, second)");
        }
        out
    }

    #[test]
    fn sums_and_weighs_per_name_and_second_and_drains_once() {
        let t = Tally::new(100);
        t.add("a", 10, 1).unwrap();
        t.add("a", 10, 2).unwrap();
        t.add("a", 11, 4).unwrap();
        t.add("b", -1, 8).unwrap();
        assert_eq!((t.len(), t.unsent()), (3, 3));
        let mut out = Vec::new();
        t.drain(&mut out);
        let want = BTreeMap::from([
            (("a".to_owned(), 10), (3, 2)),
            (("a".to_owned(), 11), (4, 1)),
            (("b".to_owned(), -1), (8, 1)),
        ]);
        assert_eq!(sums(&out), want);
        assert_eq!((t.len(), t.unsent()), (3, 0), "reserved until settled");
        t.release(3);
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
        assert_eq!(sums(&out)[&("a".to_owned(), 1)], (6, 2));
        t.release(2);
        t.add("c", 1, 1).unwrap();
    }

    #[test]
    fn drained_pairs_keep_their_slots_until_released() {
        let t = Tally::new(2);
        t.add("a", 1, 1).unwrap();
        t.add("b", 1, 1).unwrap();
        let mut out = Vec::new();
        t.drain(&mut out);
        // Their records wait for Redis: no room for more sums meanwhile.
        assert_eq!(t.add("c", 1, 1), Err(DropReason::CountersFull));
        assert_eq!(t.add("a", 1, 1), Err(DropReason::CountersFull));
        t.release(1);
        t.add("c", 1, 1).unwrap();
        assert_eq!(t.add("d", 1, 1), Err(DropReason::CountersFull));
    }

    #[test]
    fn closed_tally_refuses_but_keeps_what_it_held() {
        let t = Tally::new(10);
        t.add("a", 1, 1).unwrap();
        t.close();
        assert_eq!(t.add("a", 1, 1), Err(DropReason::Shutdown));
        let mut out = Vec::new();
        t.drain(&mut out);
        assert_eq!(sums(&out)[&("a".to_owned(), 1)], (1, 1));
    }

    #[test]
    fn a_drain_keeps_the_names_and_map_of_the_interval_and_sheds_idle_ones() {
        const NAMES: usize = 1_000;
        let t = Tally::new(usize::MAX);
        let names: Vec<String> = (0..NAMES).map(|i| format!("c{i}")).collect();
        let held = |t: &Tally| -> (usize, usize) {
            t.footprint()
                .iter()
                .fold((0, 0), |(n, c), (a, b)| (n + a, c + b))
        };
        for name in &names {
            t.add(name, 1, 1).unwrap();
        }
        let mut out = Vec::new();
        t.drain(&mut out);
        assert_eq!(out.len(), NAMES);
        let (kept, capacity) = held(&t);
        assert_eq!(kept, NAMES, "names stay for the next interval");
        assert!(capacity >= NAMES, "the map keeps its room: {capacity}");
        // The same counters again: found in place, summed as before.
        for name in &names {
            t.add(name, 2, 3).unwrap();
        }
        out.clear();
        t.drain(&mut out);
        assert_eq!(sums(&out)[&("c7".to_owned(), 2)], (3, 1));
        assert_eq!(held(&t).1, capacity, "no regrowth");
        // An interval without their increments: the names go, and the memory with them.
        t.add("busy", 3, 1).unwrap();
        t.drain(&mut out);
        let (kept, capacity) = held(&t);
        assert_eq!(kept, 1);
        assert!(
            capacity <= t.shards.len() * (SHRINK_FACTOR + SHRINK_SLACK),
            "{capacity}"
        );
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
        let drain = |out: &mut Vec<Record>| {
            let before = out.len();
            t.drain(out);
            t.release(out.len() - before);
        };
        while !threads.iter().all(|h| h.is_finished()) {
            drain(&mut out);
        }
        for h in threads {
            h.join().unwrap();
        }
        drain(&mut out);
        let (total, weight) = out.iter().fold((0, 0), |(n, w), r| match r {
            Record::Count(c) => (n + c.n, w + c.weight),
            _ => (n, w),
        });
        assert_eq!(total, 20_000 * (1 + 2 + 3 + 4));
        assert_eq!(weight, 4 * 20_000);
        assert_eq!(t.len(), 0);
    }
}
