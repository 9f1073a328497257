//! A bounded, sharded, read-mostly map from `metrics` keys to handles, so that registering a
//! key the recorder has seen before is a lookup under a shard's read lock: no allocation,
//! no lock shared by every key.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use metrics::Key;

/// Shards at most, whatever the number of cores.
const MAX_SHARDS: usize = 64;

pub(super) struct KeyCache<V> {
    shards: Box<[Padded<RwLock<Shard<V>>>]>,
    /// Keys held, over all shards.
    len: AtomicUsize,
    capacity: usize,
}

type Shard<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

/// Keeps each shard's lock on cache lines of its own, so readers of neighbouring shards do
/// not slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

/// `Key` hashes itself once, when it is built, and feeds only that `u64` to the hasher:
/// hashing it again would be wasted work.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached through `Key`; FNV-1a, so any other input still hashes well enough.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

impl<V: Clone> KeyCache<V> {
    /// A cache holding at most `capacity` keys.
    pub(super) fn new(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        let n = (cores * 2).next_power_of_two().clamp(2, MAX_SHARDS);
        KeyCache {
            shards: (0..n).map(|_| Padded(RwLock::default())).collect(),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    /// The value of `key`, made by `make` the first time. `make` is told whether its value
    /// will be kept: past the capacity it is not, and every call makes a new one.
    pub(super) fn get_or_make(&self, key: &Key, make: impl FnOnce(bool) -> V) -> V {
        let shard = self.shard(key);
        if let Some(v) = shard
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return v.clone();
        }
        if self.len.load(Ordering::Relaxed) >= self.capacity {
            return make(false);
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = map.get(key) {
            return v.clone();
        }
        let reserved = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok();
        if !reserved {
            drop(map);
            return make(false);
        }
        let v = make(true);
        map.insert(key.clone(), v.clone());
        v
    }

    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn shard(&self, key: &Key) -> &RwLock<Shard<V>> {
        // The maps use the hash's low bits and its top 7; shards take bits from the middle,
        // so keys of one shard still spread over their map.
        let i = (key.get_hash() >> 32) as usize & (self.shards.len() - 1);
        &self.shards[i].0
    }
}

#[cfg(test)]
mod tests {
    use metrics::Label;

    use super::*;

    #[test]
    fn a_key_is_made_once_and_found_again_in_any_label_order() {
        let cache = KeyCache::new(10);
        let made = AtomicUsize::new(0);
        let make = |cached: bool| {
            assert!(cached);
            made.fetch_add(1, Ordering::Relaxed)
        };
        let a = Key::from_parts("k", vec![Label::new("x", "1"), Label::new("y", "2")]);
        let b = Key::from_parts("k", vec![Label::new("y", "2"), Label::new("x", "1")]);
        assert_eq!(cache.get_or_make(&a, make), 0);
        assert_eq!(cache.get_or_make(&b, make), 0);
        assert_eq!(cache.get_or_make(&Key::from_name("other"), make), 1);
        assert_eq!(made.load(Ordering::Relaxed), 2);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn past_capacity_values_are_made_and_not_kept() {
        let cache = KeyCache::new(2);
        let keys: Vec<Key> = (0..5).map(|i| Key::from_name(format!("k{i}"))).collect();
        let kept: Vec<bool> = keys.iter().map(|k| cache.get_or_make(k, |c| c)).collect();
        assert_eq!(kept, [true, true, false, false, false]);
        assert_eq!(cache.len(), 2);
        // The first two are found again; the others are made anew each time.
        assert!(cache.get_or_make(&keys[0], |_| false));
        assert!(!cache.get_or_make(&keys[4], |c| c));
        assert_eq!(cache.len(), 2);
    }
}
