//! Slowest contexts through the pipeline: set after the statistics, in a step of their own
//! (another Cluster slot), before a flush returns; only by samples of the current hour.

use std::time::Duration;

use redis::Connection;
use tracing::info_span;
use tracing_redis::store::{ManualClock, Store};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder};
use crate::support::RedisServer;

/// A span of `context` lasting `seconds` on `clock`: one `AccessTime` sample.
fn sample(clock: &ManualClock, context: &str, seconds: f64) {
    info_span!("request", context).in_scope(|| clock.advance(Duration::from_secs_f64(seconds)));
}

fn slowest(con: &mut Connection) -> Vec<(String, f64)> {
    Store::new().slowest(con, "AccessTime", 100).unwrap()
}

#[test]
fn flush_and_shutdown_return_with_the_slowest_means_written() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = ManualClock::at_unix(T0);
    // Only a flush request sends anything.
    let (layer, guard) = builder(&server)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        sample(&clock, "GET /", 0.5);
        sample(&clock, "GET /", 1.5);
        sample(&clock, "POST /orders", 3.0);
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.last_error), (3, None));
    assert_eq!(
        slowest(&mut con),
        [("POST /orders".to_owned(), 3.0), ("GET /".to_owned(), 1.0)]
    );

    tracing::dispatcher::with_default(&dispatch, || sample(&clock, "GET /", 7.0));
    let report = guard.flush(WAIT);
    assert_eq!(report.written, 4, "{report:?}");
    assert_eq!(
        slowest(&mut con),
        [("POST /orders".to_owned(), 3.0), ("GET /".to_owned(), 3.0)]
    );

    tracing::dispatcher::with_default(&dispatch, || sample(&clock, "POST /orders", 1.0));
    let report = guard.shutdown();
    assert_eq!((report.written, report.dropped.total()), (5, 0));
    assert_eq!(
        slowest(&mut con),
        [("GET /".to_owned(), 3.0), ("POST /orders".to_owned(), 2.0)]
    );
}

#[test]
fn late_samples_count_in_the_last_hour_and_leave_slowest_alone() {
    let server = RedisServer::start();
    let mut con = server.connection();
    // 2026-11-27T02:00:10Z, then back to 01:30.
    let next_hour = 1_795_744_810.0;
    let clock = ManualClock::at_unix(next_hour);
    // 01:10 then 02:00:10: the set rotated, so 01:00 is the previous hour.
    let store = Store::new().with_clock(ManualClock::at_unix(next_hour - 3000.0));
    store
        .record_timing(&mut con, "GET /", "AccessTime", 0.75)
        .unwrap();
    let store = Store::new().with_clock(ManualClock::at_unix(next_hour));
    for _ in 0..2 {
        store
            .record_timing(&mut con, "GET /", "AccessTime", 0.25)
            .unwrap();
    }
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs_f64(next_hour - 1800.0));
    let (layer, guard) = builder(&server).clock(clock.clone()).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        sample(&clock, "GET /", 8.0);
        sample(&clock, "GET /new", 0.5);
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        (report.written, report.dropped.total()),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(
        slowest(&mut con),
        [("GET /new".to_owned(), 0.5), ("GET /".to_owned(), 0.25)],
        "the late sample of `GET /` counted into its own hour only"
    );
    let store = Store::new();
    let now = store
        .stats(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((now.count, now.mean()), (2, 0.25));
    let (last, _) = store
        .stats_last(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((last.count, last.sum), (2, 8.75));
}

#[test]
fn a_refused_slowest_update_keeps_the_records_written_and_shows_the_error() {
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("SET")
        .arg("slowest:AccessTime")
        .arg("not a sorted set")
        .exec(&mut con)
        .unwrap();
    let clock = ManualClock::at_unix(T0);
    let (layer, guard) = builder(&server).clock(clock.clone()).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        sample(&clock, "GET /", 0.5);
        sample(&clock, "GET /", 1.5);
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        (report.written, report.dropped.total()),
        (2, 0),
        "{report:?}"
    );
    let error = report.last_error.unwrap_or_default();
    assert!(
        error.contains("slowest:AccessTime") && error.contains("WRONGTYPE"),
        "{error}"
    );
    let stats = Store::new()
        .stats(&mut con, "GET /", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!((stats.count, stats.sum), (2, 2.0));
}
