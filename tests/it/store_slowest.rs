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
