//! Statistics: exact keys, rotation, agreement with a direct computation, batches,
//! concurrent writers at the hour, bad input.

use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::Connection;
use tracing_redis::store::{ManualClock, Store, Summary};

use crate::support::{RedisServer, zset};

/// 2026-11-27T01:00:00Z, an hour boundary.
pub(crate) const H1: u64 = 1_795_741_200;
const HOUR: u64 = 3600;

pub(crate) fn at(secs: u64) -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(secs))
}

fn get(con: &mut Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

fn rel_err(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn samples_land_in_the_schema_keys() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(at(H1 + 10));
    store
        .update_stats(&mut con, "GET /", "AccessTime", 0.5)
        .unwrap();
    let after = store
        .update_stats(&mut con, "GET /", "AccessTime", 1.5)
        .unwrap();

    let key = "ns:stats:{GET /:AccessTime}";
    let mut got = zset(&mut con, key);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("count".to_owned(), 2.0),
            ("max".to_owned(), 1.5),
            ("min".to_owned(), 0.5),
            ("sum".to_owned(), 2.0),
            ("sumsq".to_owned(), 2.5)
        ]
    );
    assert_eq!(
        get(&mut con, &format!("{key}:start")).as_deref(),
        Some("2026-11-27T01:00:00")
    );
    assert_eq!(
        (after.count, after.sum, after.min, after.max),
        (2, 2.0, 0.5, 1.5)
    );
    assert_eq!(after.mean(), 1.0);
    assert!((after.stddev() - 0.5f64.sqrt()).abs() < 1e-15);
    assert_eq!(
        store.stats(&mut con, "GET /", "AccessTime").unwrap(),
        Some(after)
    );
    // update_stats does not touch slowest.
    let n: u64 = redis::cmd("EXISTS")
        .arg("ns:slowest:AccessTime")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 0);
    // No data is None, not zeros.
    assert_eq!(store.stats(&mut con, "GET /", "Other").unwrap(), None);
    assert_eq!(
        store.stats_last(&mut con, "GET /", "AccessTime").unwrap(),
        None
    );
}

#[test]
fn returned_numbers_keep_their_fractions() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(at(H1));
    let s = store
        .update_stats(&mut con, "c", "T", 0.123_456_789_012_345_6)
        .unwrap();
    assert_eq!(s.sum, 0.123_456_789_012_345_6);
    assert_eq!(s.min, 0.123_456_789_012_345_6);
    let s = store.update_stats(&mut con, "c", "T", -2.75).unwrap();
    assert_eq!(s.min, -2.75);
    assert_eq!(s.max, 0.123_456_789_012_345_6);
    let s = store.update_stats(&mut con, "c", "T", 1e-300).unwrap();
    assert_eq!(s.count, 3);
}

#[test]
fn equal_a_direct_computation_over_random_samples() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(at(H1 + 1));
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let samples: Vec<f64> = (0..1000).map(|_| rng.random::<f64>()).collect();

    let mut batch = Summary::one(samples[0]).unwrap();
    for v in &samples {
        store
            .update_stats(&mut con, "one", "Histogram", *v)
            .unwrap();
    }
    for v in &samples[1..] {
        batch.add(*v).unwrap();
    }
    let batched = store
        .update_stats_batch(&mut con, "batch", "Histogram", &batch)
        .unwrap();
    let one = store.stats(&mut con, "one", "Histogram").unwrap().unwrap();

    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for s in [one, batched] {
        assert_eq!(s.count, 1000);
        assert_eq!((s.min, s.max), (min, max));
        assert!(rel_err(s.mean(), mean) <= 1e-9, "{} vs {mean}", s.mean());
        assert!(
            rel_err(s.stddev(), var.sqrt()) <= 1e-9,
            "{} vs {}",
            s.stddev(),
            var.sqrt()
        );
    }
    // A batch adds exactly what its samples would have added one by one.
    assert_eq!(batched, one);
}

#[test]
fn one_sample_has_stddev_zero_and_batches_merge() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(at(H1 + 1));
    let s = store.update_stats(&mut con, "c", "T", 0.1).unwrap();
    assert_eq!(s.stddev(), 0.0);
    assert_eq!(s.mean(), 0.1);
    // Equal samples whose sum of squares rounds below sum²/n: still 0, not NaN.
    for _ in 0..2 {
        store.update_stats(&mut con, "c", "T", 0.1).unwrap();
    }
    let s = store.stats(&mut con, "c", "T").unwrap().unwrap();
    assert!(s.stddev() >= 0.0 && s.stddev() < 1e-8, "{}", s.stddev());

    let merged = store
        .update_stats_batch(
            &mut con,
            "c",
            "T",
            &Summary::new(2, 1.0, 0.5, 0.25, 0.75).unwrap(),
        )
        .unwrap();
    assert_eq!(merged.count, 5);
    assert_eq!((merged.min, merged.max), (0.1, 0.75));
}

#[test]
fn rotate_hourly_like_common_logs() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = at(H1 - 1);
    let store = Store::new().with_clock(clock.clone());
    store.update_stats(&mut con, "c", "T", 1.0).unwrap();
    clock.advance(Duration::from_secs(1));
    store.update_stats(&mut con, "c", "T", 2.0).unwrap();

    let (last, pstart) = store.stats_last(&mut con, "c", "T").unwrap().unwrap();
    assert_eq!((last.count, last.sum), (1, 1.0));
    assert_eq!(pstart.as_deref(), Some("2026-11-27T00:00:00"));
    let cur = store.stats(&mut con, "c", "T").unwrap().unwrap();
    assert_eq!((cur.count, cur.sum), (1, 2.0));
    let last_raw = zset(&mut con, "stats:{c:T}:last");
    assert!(last_raw.contains(&("sum".to_owned(), 1.0)), "{last_raw:?}");
    assert_eq!(
        get(&mut con, "stats:{c:T}:pstart").as_deref(),
        Some("2026-11-27T00:00:00")
    );

    // A late sample of the previous kept hour goes into :last and is returned from there.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 - 100));
    let late = store.update_stats(&mut con, "c", "T", 3.0).unwrap();
    assert_eq!((late.count, late.sum, late.max), (2, 4.0, 3.0));
    assert_eq!(store.stats(&mut con, "c", "T").unwrap(), Some(cur));

    // Idle hours, then a write: :last is the 01:00 set.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + 5 * HOUR));
    store.update_stats(&mut con, "c", "T", 4.0).unwrap();
    let (last, pstart) = store.stats_last(&mut con, "c", "T").unwrap().unwrap();
    assert_eq!((last.count, last.sum), (1, 2.0));
    assert_eq!(pstart.as_deref(), Some("2026-11-27T01:00:00"));
    assert_eq!(
        get(&mut con, "stats:{c:T}:start").as_deref(),
        Some("2026-11-27T06:00:00")
    );

    // An hour neither kept: refused, naming the key.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + 2 * HOUR));
    let err = store.update_stats(&mut con, "c", "T", 9.0).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("stats:{c:T}"), "{err}");

    // A missing set at rotation leaves :last as it was.
    redis::cmd("DEL").arg("stats:{c:T}").exec(&mut con).unwrap();
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + 7 * HOUR));
    store.update_stats(&mut con, "c", "T", 5.0).unwrap();
    let (last, pstart) = store.stats_last(&mut con, "c", "T").unwrap().unwrap();
    assert_eq!((last.count, last.sum), (1, 2.0));
    assert_eq!(pstart.as_deref(), Some("2026-11-27T01:00:00"));
}

#[test]
fn two_writers_crossing_the_hour_lose_no_sample() {
    const PER_THREAD: u64 = 1000;
    let server = RedisServer::start();
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (client, barrier) = (server.client(), barrier.clone());
            std::thread::spawn(move || {
                let mut con = client.get_connection().unwrap();
                let clock = ManualClock::new(
                    UNIX_EPOCH + Duration::from_secs(H1) - Duration::from_millis(PER_THREAD / 2),
                );
                let store = Store::new().with_clock(clock.clone());
                barrier.wait();
                for i in 0..PER_THREAD {
                    // 1 before the hour, 2 after: the sums tell where each sample went.
                    let v = if i < PER_THREAD / 2 { 1.0 } else { 2.0 };
                    store
                        .record_timing(&mut con, "ctx", "AccessTime", v)
                        .unwrap();
                    clock.advance(Duration::from_millis(1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut con = server.connection();
    let store = Store::new();
    let cur = store.stats(&mut con, "ctx", "AccessTime").unwrap().unwrap();
    let (last, _) = store
        .stats_last(&mut con, "ctx", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(
        (cur.count, cur.sum, cur.min, cur.max),
        (PER_THREAD, 2.0 * PER_THREAD as f64, 2.0, 2.0)
    );
    assert_eq!(
        (last.count, last.sum, last.min, last.max),
        (PER_THREAD, PER_THREAD as f64, 1.0, 1.0)
    );
    assert_eq!(
        store.slowest(&mut con, "AccessTime", 5).unwrap(),
        [("ctx".to_owned(), 2.0)]
    );
}

#[test]
fn bad_statistics_input_is_refused() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(at(H1));
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = store.update_stats(&mut con, "c", "T", v).unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
        assert!(err.to_string().contains("finite"), "{err}");
        assert!(
            store
                .record_timing(&mut con, "c", "T", v)
                .unwrap_err()
                .is_invalid_input()
        );
    }
    let err = store.update_stats(&mut con, "", "T", 1.0).unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("context"),
        "{err}"
    );
    let err = store.update_stats(&mut con, "c", "", 1.0).unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("type"),
        "{err}"
    );
    assert!(
        store
            .slowest(&mut con, "", 3)
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(
        Summary::new(0, 0.0, 0.0, 0.0, 0.0)
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(
        Summary::new(2, 1.0, 1.0, 2.0, 1.0)
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(
        Summary::new(2, f64::NAN, 1.0, 0.0, 1.0)
            .unwrap_err()
            .is_invalid_input()
    );
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(keys.is_empty(), "nothing written: {keys:?}");

    redis::cmd("SET")
        .arg("stats:{w:T}")
        .arg("x")
        .exec(&mut con)
        .unwrap();
    let err = store.update_stats(&mut con, "w", "T", 1.0).unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("stats:{w:T}"), "{err}");
    let err = store.stats(&mut con, "w", "T").unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    redis::cmd("SET")
        .arg("slowest:S")
        .arg("x")
        .exec(&mut con)
        .unwrap();
    let err = store.record_timing(&mut con, "ok", "S", 1.0).unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(store.slowest(&mut con, "S", 3).unwrap_err().is_wrong_type());
}
