//! How counter sums are settled: every increment counts once in `written` or `dropped`
//! however many one write carries; sums waiting for Redis stay inside the tally's capacity;
//! a counter write whose increments landed is never taken for a failure, nor sent again.

use std::time::Duration;

use tracing::info;
use tracing_redis::count;
use tracing_redis::store::{ManualClock, Severity};
use tracing_subscriber::prelude::*;

use crate::counters_util::{buckets, total};
use crate::pipeline_util::{WAIT, builder, recent};
use crate::store_counters::{DAY, t};
use crate::support::RedisServer;

#[test]
fn each_increment_counts_once_when_its_sum_is_dropped_at_shutdown() {
    let mut server = RedisServer::start();
    server.kill();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::new(t(DAY)))
        .shutdown_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..1_000 {
            count!("unwritten");
        }
    });
    let report = guard.shutdown();
    assert_eq!(report.written, 0, "{report:?}");
    assert_eq!(report.dropped.shutdown, 1_000, "{report:?}");
    assert_eq!(report.dropped.total(), 1_000, "{report:?}");
}

#[test]
fn flushes_while_redis_is_away_keep_counter_sums_inside_the_tally() {
    let mut server = RedisServer::start();
    server.kill();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = builder(&server)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .queue_capacity(10)
        .counter_capacity(5)
        .build()
        .unwrap();
    let status = guard.status();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..100 {
            for name in ["a", "b", "c", "d", "e"] {
                count!(name);
            }
            let report = guard.flush(Duration::ZERO);
            assert_eq!(
                report.failed, 5,
                "only the first five sums wait: {report:?}"
            );
            let s = status.get();
            assert_eq!(s.queued_records, 5, "{s:?}");
            clock.advance(Duration::from_secs(1));
        }
        // The sums waiting for Redis leave the queue to log events.
        for i in 0..10 {
            info!(i, "still logging");
        }
    });
    let s = status.get();
    assert_eq!(s.dropped.queue_full, 0, "{s:?}");
    assert_eq!(s.dropped.counters_full, 5 * 99, "{s:?}");
    assert_eq!(s.queued_records, 15, "{s:?}");

    server.start_again();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 5 + 10, "{report:?}");
    // One more event, which the drop note rides along with if it has not left yet.
    tracing::dispatcher::with_default(&dispatch, || info!("back"));
    let report = guard.flush(WAIT);
    assert_eq!(
        report.written + report.dropped.total(),
        500 + 11,
        "every increment and event once: {report:?}"
    );
    for name in ["a", "b", "c", "d", "e"] {
        assert_eq!(total(&server, name), 1);
    }
    assert_eq!(total(&server, "tracing-redis.dropped"), 495);
    assert_eq!(recent(&server, Severity::Info).len(), 11);
    // One note, or two when the worker took its stuck batch after the first drops.
    let told: u64 = recent(&server, Severity::Warning)
        .iter()
        .map(|e| {
            let n = e.message.strip_suffix(" events dropped").unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(told, 495);
}

#[test]
fn a_refused_known_registration_leaves_the_increments_written_and_unrepeated() {
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("SET")
        .arg("known:")
        .arg("not a sorted set")
        .exec(&mut con)
        .unwrap();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = builder(&server)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .counter_capacity(1)
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        count!("a");
        count!("b"); // a second pair: refused, so a drop note follows
        let report = guard.flush(WAIT);
        assert_eq!(report.dropped.counters_full, 1, "{report:?}");
        for _ in 0..5 {
            count!("c");
            clock.advance(Duration::from_secs(1));
            let report = guard.flush(WAIT);
            assert!(report.is_complete(), "{report:?}");
        }
    });
    let s = guard.status().get();
    assert_eq!((s.written, s.dropped.total()), (1 + 5, 1), "{s:?}");
    let why = s.last_error.unwrap_or_default();
    assert!(
        why.contains("`known:`") && why.contains("WRONGTYPE"),
        "{why}"
    );
    assert_eq!(total(&server, "a"), 1);
    assert_eq!(total(&server, "c"), 5);
    assert_eq!(
        total(&server, "tracing-redis.dropped"),
        1,
        "the note's count lands once, though its registration is refused"
    );
}

#[test]
fn a_counter_refused_at_one_precision_counts_as_written_at_the_others() {
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("SET")
        .arg("count:1:d")
        .arg("not a hash")
        .exec(&mut con)
        .unwrap();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = builder(&server)
        .clock(clock)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        count!("d", 2);
        count!("d", 3);
    });
    let report = guard.flush(WAIT);
    assert_eq!(
        (report.written, report.dropped.total()),
        (2, 0),
        "{report:?}"
    );
    let why = report.last_error.unwrap_or_default();
    assert!(
        why.contains("`count:1:d`") && why.contains("WRONGTYPE"),
        "{why}"
    );
    assert_eq!(buckets(&server, "d", 5).values().sum::<i64>(), 5);
    assert_eq!(buckets(&server, "d", 86_400).values().sum::<i64>(), 5);
    // Not sent again with the next flush.
    guard.flush(WAIT);
    assert_eq!(buckets(&server, "d", 60).values().sum::<i64>(), 5);
}
