//! Slowest contexts and the `access_time` guard.

use std::time::Duration;

use redis::Connection;
use tracing_redis::store::{ManualClock, SLOWEST_CAPACITY, Store};

use crate::store_stats::{H1, at};
use crate::support::RedisServer;

#[test]
fn slowest_keeps_the_highest_means() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(at(H1 + 1));
    for i in 0..150 {
        store
            .record_timing(&mut con, &format!("ctx{i:03}"), "AccessTime", i as f64)
            .unwrap();
    }
    let n: usize = redis::cmd("ZCARD")
        .arg("ns:slowest:AccessTime")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, SLOWEST_CAPACITY);
    let top = store.slowest(&mut con, "AccessTime", 3).unwrap();
    assert_eq!(
        top,
        [
            ("ctx149".to_owned(), 149.0),
            ("ctx148".to_owned(), 148.0),
            ("ctx147".to_owned(), 147.0)
        ]
    );
    let all = store.slowest(&mut con, "AccessTime", 1000).unwrap();
    assert_eq!(all.len(), SLOWEST_CAPACITY);
    assert_eq!(all.last().unwrap(), &("ctx050".to_owned(), 50.0));

    // The score is the mean of the current hour, moving both ways.
    store
        .record_timing(&mut con, "ctx149", "AccessTime", 0.0)
        .unwrap();
    let score: f64 = redis::cmd("ZSCORE")
        .arg("ns:slowest:AccessTime")
        .arg("ctx149")
        .query(&mut con)
        .unwrap();
    assert_eq!(score, 74.5);
    assert!(store.slowest(&mut con, "AccessTime", 0).unwrap().is_empty());
    assert!(store.slowest(&mut con, "Other", 10).unwrap().is_empty());
}

fn handler(
    store: &Store,
    con: &mut Connection,
    clock: &ManualClock,
    fail: bool,
) -> tracing_redis::Result<()> {
    let _timer = store.access_time(con, "early return");
    clock.advance(Duration::from_millis(250));
    if fail {
        Err(tracing_redis::Error::invalid_input("request failed"))?;
    }
    clock.advance(Duration::from_millis(250));
    Ok(())
}

#[test]
fn access_time_records_on_drop_error_and_panic() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = at(H1 + 1);
    let store = Store::new().with_clock(clock.clone());

    {
        let _timer = store.access_time(&mut con, "GET /");
        clock.advance(Duration::from_millis(1500));
    }
    let s = store
        .stats(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((s.count, s.sum), (1, 1.5));
    assert_eq!(
        store.slowest(&mut con, "AccessTime", 1).unwrap(),
        [("GET /".to_owned(), 1.5)]
    );

    assert!(handler(&store, &mut con, &clock, true).is_err());
    handler(&store, &mut con, &clock, false).unwrap();
    let s = store
        .stats(&mut con, "early return", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((s.count, s.min, s.max), (2, 0.25, 0.5));

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _timer = store.access_time(&mut con, "panics");
        clock.advance(Duration::from_millis(125));
        panic!("handler panicked");
    }));
    assert!(outcome.is_err());
    let s = store
        .stats(&mut con, "panics", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((s.count, s.sum), (1, 0.125));

    let timer = store.access_time(&mut con, "finished");
    clock.advance(Duration::from_millis(2));
    let s = timer.finish().unwrap();
    assert_eq!((s.count, s.sum), (1, 0.002));
    let s = store
        .stats(&mut con, "finished", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(s.count, 1, "finish records once, not again on drop");
}

fn slowest_score(con: &mut Connection, context: &str) -> Option<f64> {
    redis::cmd("ZSCORE")
        .arg("slowest:AccessTime")
        .arg(context)
        .query(con)
        .unwrap()
}

#[test]
fn late_and_stale_samples_leave_slowest_alone() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = at(H1 + 3600 + 10);
    let store = Store::new().with_clock(clock.clone());
    store
        .record_timing(&mut con, "GET /", "AccessTime", 2.0)
        .unwrap();
    store
        .record_timing(&mut con, "GET /", "AccessTime", 4.0)
        .unwrap();
    // The next hour rotates: the current hour's set starts over, and so does the mean.
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs(H1 + 2 * 3600 + 10));
    let s = store
        .record_timing(&mut con, "GET /", "AccessTime", 1.0)
        .unwrap();
    assert_eq!((s.count, s.mean()), (1, 1.0));
    assert_eq!(slowest_score(&mut con, "GET /"), Some(1.0));

    // A sample of the previous hour counts into `:last`, not into the current mean.
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs(H1 + 3600 + 20));
    let s = store
        .record_timing(&mut con, "GET /", "AccessTime", 9.0)
        .unwrap();
    assert_eq!((s.count, s.sum), (3, 15.0), "the previous hour's totals");
    assert_eq!(slowest_score(&mut con, "GET /"), Some(1.0));
    let (last, _) = store
        .stats_last(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(last.count, 3);

    // Older than both kept hours: refused, and slowest untouched.
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs(H1 + 10));
    let err = store
        .record_timing(&mut con, "GET /", "AccessTime", 50.0)
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert_eq!(slowest_score(&mut con, "GET /"), Some(1.0));
    assert_eq!(
        store.slowest(&mut con, "AccessTime", 10).unwrap(),
        [("GET /".to_owned(), 1.0)]
    );
}

#[test]
fn a_refused_slowest_update_comes_after_the_statistics() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(at(H1 + 1));
    redis::cmd("SET")
        .arg("slowest:AccessTime")
        .arg("x")
        .exec(&mut con)
        .unwrap();
    let err = store
        .record_timing(&mut con, "GET /", "AccessTime", 1.0)
        .unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("slowest:AccessTime"), "{err}");
    let s = store
        .stats(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(s.count, 1, "the statistics were updated first");
}
