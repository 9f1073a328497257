//! `count!` and `timed!`: exact totals at every precision across threads, flushes and bucket
//! edges; where the macros find their pipeline; nothing without one; the guard's drop.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use tracing_redis::store::{ManualClock, PRECISIONS, Store};
use tracing_redis::{count, timed};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

use crate::counters_util::{buckets, dispatch, layer, total};
use crate::pipeline_lifecycle::{CHILD, run_child};
use crate::pipeline_util::{WAIT, builder};
use crate::store_counters::{DAY, t};
use crate::support::RedisServer;

const THREADS: i64 = 4;
const PER_THREAD: i64 = 5_000;

#[test]
fn totals_equal_the_increments_at_every_precision_across_threads_flushes_and_edges() {
    let server = RedisServer::start();
    // The last millisecond of a day: a bucket edge at every precision.
    let clock = ManualClock::new(t(DAY) - Duration::from_millis(1));
    let (dispatch, guard) = dispatch(&server, &clock);
    let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|k| {
            let (dispatch, barrier) = (dispatch.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for phase in 0..2 {
                        for i in 0..PER_THREAD {
                            count!("hits");
                            count!(format!("by-thread;k={k}"), 2u64);
                            if i % 1_000 == 0 {
                                count!("hits", -1);
                            }
                        }
                        // Phase 0 ends before the edge, phase 1 counts after it.
                        if phase == 0 {
                            barrier.wait();
                            barrier.wait();
                        }
                    }
                })
            })
        })
        .collect();
    barrier.wait();
    // Everything of phase 0 is in the tally: a flush in between must not change totals.
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    // Each increment counts once, however few sums carried them.
    let per_phase_calls = (THREADS * (2 * PER_THREAD + PER_THREAD / 1_000)) as u64;
    assert_eq!(report.written, per_phase_calls, "{report:?}");
    clock.advance(Duration::from_millis(1));
    barrier.wait();
    for h in threads {
        h.join().unwrap();
    }
    let report = guard.flush(WAIT);
    assert_eq!(report.dropped.total(), 0, "{report:?}");
    assert_eq!(report.written, 2 * per_phase_calls, "{report:?}");

    let per_phase = THREADS * (PER_THREAD - PER_THREAD / 1_000);
    assert_eq!(total(&server, "hits"), 2 * per_phase);
    for k in 0..THREADS {
        assert_eq!(total(&server, &format!("by-thread;k={k}")), 4 * PER_THREAD);
    }
    for p in PRECISIONS {
        let before = (DAY as i64 - 1).div_euclid(p as i64) * p as i64;
        assert_eq!(
            buckets(&server, "hits", p),
            [(before, per_phase), (DAY as i64, per_phase)].into(),
            "precision {p}: each increment in the bucket of its own time"
        );
    }
}

#[test]
fn without_a_pipeline_the_macros_do_nothing() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = layer(&server, &clock);
    // A dispatcher without the layer, and no dispatcher at all: nothing reaches the pipeline.
    let other = tracing_subscriber::registry().with(tracing_subscriber::fmt::layer());
    tracing::subscriber::with_default(other, || {
        count!("nowhere");
        assert_eq!(timed!("nowhere", 7), 7);
        assert!(!tracing_redis::Timer::start("nowhere").is_recording());
    });
    count!("nowhere", 3);
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (0, 0));
    assert!(
        Store::new()
            .known_counters(&mut server.connection())
            .unwrap()
            .is_empty()
    );
    drop(layer);
}

#[test]
fn the_layer_is_found_through_filters_boxes_and_options() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = layer(&server, &clock);
    // The layer's own filter lets no event through; counting is not an event.
    let boxed: Box<dyn tracing_subscriber::Layer<_> + Send + Sync> =
        Box::new(layer.with_filter(LevelFilter::OFF));
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(LevelFilter::INFO),
        )
        .with(Some(boxed))
        .with(None::<tracing_subscriber::fmt::Layer<_>>);
    tracing::subscriber::with_default(subscriber, || {
        count!("found", 5);
        tracing::info!("filtered out of the Redis layer");
    });
    guard.flush(WAIT);
    assert_eq!(total(&server, "found"), 5);
}

#[test]
fn timed_records_on_return_early_return_and_panic() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (dispatch, guard) = dispatch(&server, &clock);
    let step = |ms| clock.advance(Duration::from_millis(ms));
    fn parse(clock: &ManualClock, s: &str) -> Result<u64, std::num::ParseIntError> {
        let n = timed!("parse", {
            clock.advance(Duration::from_millis(300));
            s.parse::<u64>()?
        });
        Ok(n)
    }
    tracing::dispatcher::with_default(&dispatch, || {
        let v = timed!("work", {
            step(250);
            6 * 7
        });
        assert_eq!(v, 42);
        assert_eq!(parse(&clock, "5"), Ok(5));
        assert!(parse(&clock, "x").is_err(), "timed on `?` too");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            timed!("work", {
                step(750);
                panic!("inside a timed block")
            })
        }));
        assert!(panicked.is_err());
        let timer = tracing_redis::Timer::start("cancelled");
        assert!(timer.is_recording());
        timer.cancel();
    });
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (4, 0));
    let store = Store::new();
    let mut con = server.connection();
    let work = store
        .stats(&mut con, "work", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(work.count, 2);
    assert!((work.sum - 1.0).abs() < 1e-9, "{work:?}");
    assert!((work.min - 0.25).abs() < 1e-9 && (work.max - 0.75).abs() < 1e-9);
    let parse = store
        .stats(&mut con, "parse", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(parse.count, 2);
    let slowest = store.slowest(&mut con, "AccessTime", 10).unwrap();
    let names: Vec<&str> = slowest.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["work", "parse"]);
    assert!(
        store
            .stats(&mut con, "cancelled", "AccessTime")
            .unwrap()
            .is_none()
    );
}

#[test]
fn dropping_the_guard_writes_pending_increments_and_refuses_later_ones() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = layer(&server, &clock);
    let status = guard.status();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..1_000 {
            count!("pending");
        }
        assert_eq!(status.get().written, 0, "nothing written before the drop");
        drop(guard);
        count!("pending");
    });
    assert_eq!(total(&server, "pending"), 1_000);
    let s = status.get();
    assert_eq!((s.written, s.dropped.shutdown), (1_000, 1));
}

#[test]
fn a_full_tally_drops_and_reports_new_pairs_until_the_next_flush() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = builder(&server)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .counter_capacity(2)
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        count!("a");
        count!("b");
        count!("c"); // a third pair: refused
        count!("a", 4); // a held pair still adds
        clock.advance(Duration::from_secs(1));
        count!("a"); // a new second is a new pair: refused
        let report = guard.flush(WAIT);
        assert_eq!(report.dropped.counters_full, 2, "{report:?}");
        count!("c"); // room again after the flush
        guard.flush(WAIT);
    });
    assert_eq!(total(&server, "a"), 5);
    assert_eq!(total(&server, "b"), 1);
    assert_eq!(total(&server, "c"), 1);
    // The drops are also written, as for any dropped record.
    assert_eq!(total(&server, "tracing-redis.dropped"), 2);
}

#[test]
#[ignore = "run in a subprocess by a_log_only_application_counts_through_its_logger"]
fn log_only_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (logger, guard) = tracing_redis::builder()
        .name("logonly")
        .clock(ManualClock::new(t(DAY)))
        .build_logger()
        .unwrap();
    logger.install().unwrap();
    count!("logonly.hits", 3);
    let v = timed!("logonly.work", 1);
    assert_eq!(v, 1);
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (2, 0));
}

#[test]
fn a_log_only_application_counts_through_its_logger() {
    let server = RedisServer::start();
    run_child(
        "counters_macros::log_only_child",
        &[("REDIS_URL", &server.url())],
    );
    assert_eq!(total(&server, "logonly.hits"), 3);
    assert_eq!(
        buckets(&server, "logonly.hits", 1),
        [(DAY as i64, 3)].into()
    );
    let stats = Store::new()
        .stats(&mut server.connection(), "logonly.work", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(stats.count, 1);
}
