//! Redis away, restarted, refusing commands; queues full: nothing is lost silently.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing::{info, warn};
use tracing_redis::store::{ManualClock, Severity};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder, common, counter_total, recent, zsum};
use crate::support::RedisServer;

const SHORT: Duration = Duration::from_millis(300);

fn emit_warnings(layer: tracing_redis::RedisLayer, n: usize) {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..n {
            warn!(i, "tick {i}");
        }
    });
}

#[test]
fn redis_absent_at_start_then_everything_arrives_once() {
    let mut server = RedisServer::start();
    server.kill();
    let (layer, guard) = builder(&server).build().expect("starts without Redis");
    emit_warnings(layer, 10);
    let report = guard.flush(SHORT);
    assert_eq!(report.failed, 10, "{report:?}");
    let status = guard.status().get();
    assert!(!status.connected);
    assert!(status.last_error.unwrap().contains("connecting"));
    assert_eq!(status.queued_records, 10);

    server.start_again();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.total()), (10, 0));
    assert_eq!(
        common(&server, Severity::Warning),
        [("tick #".to_owned(), 10)]
    );
    assert_eq!(recent(&server, Severity::Warning).len(), 10);
    assert!(guard.status().is_connected());
}

#[test]
fn a_password_in_the_url_never_shows_in_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "redis+unix://{}?user=app&pass=s3cret",
        dir.path().join("absent.sock").display()
    );
    let (layer, guard) = tracing_redis::builder()
        .url(&url)
        .name("app")
        .build()
        .unwrap();
    emit_warnings(layer, 1);
    let report = guard.flush(SHORT);
    assert_eq!(report.failed, 1, "{report:?}");
    let status = guard.status().get();
    let why = status.last_error.clone().unwrap();
    assert!(why.contains("absent.sock?user=app&pass=***"), "{why}");
    for shown in [why, format!("{status:?}"), format!("{report:?}")] {
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

#[test]
fn events_emitted_while_redis_is_down_arrive_exactly_once() {
    let mut server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || info!("before"));
    assert_eq!(guard.flush(WAIT).written, 1);

    server.kill();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..50 {
            warn!("while down {i}");
        }
    });
    assert_eq!(guard.flush(SHORT).failed, 50);
    server.start_again(); // without persistence: only what is written after this counts

    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 51);
    assert_eq!(
        common(&server, Severity::Warning),
        [("while down #".to_owned(), 50)]
    );
    let entries = recent(&server, Severity::Warning);
    assert_eq!(entries.len(), 50);
    assert_eq!(entries[0].message, "while down 49");
    assert_eq!(entries[49].message, "while down 0");
}

#[test]
fn redis_killed_and_restarted_while_events_flow() {
    let mut server = RedisServer::options().aof().start();
    let batch = 256;
    let (layer, guard) = builder(&server)
        .batch_size(batch)
        .flush_interval(Duration::from_millis(5))
        .clock(ManualClock::at_unix(T0))
        .build()
        .unwrap();
    let status = guard.status();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let producer = std::thread::spawn(move || {
        let mut emitted = 0u64;
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            while !stop2.load(Ordering::Relaxed) {
                for _ in 0..50 {
                    warn!("event {emitted}");
                    emitted += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        emitted
    });
    assert!(crate::support::wait_until(WAIT, || status.get().written >= 2_000));
    server.restart();
    let after = status.get().written;
    assert!(crate::support::wait_until(WAIT, || status.get().written >= after + 2_000));
    stop.store(true, Ordering::Relaxed);
    let emitted = producer.join().unwrap();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.dropped.total(), 0, "{report:?}");
    assert_eq!(report.written, emitted);
    assert!(
        report.last_error.is_some(),
        "the restart broke the connection"
    );
    let counted = zsum(&server, "common:{app:warning}") as u64;
    assert!(
        (emitted..=emitted + batch as u64).contains(&counted),
        "{counted} counted for {emitted} emitted: at most the one flush in flight may repeat"
    );
}

#[test]
fn overflow_is_counted_exactly_and_reported_once_redis_is_back() {
    let mut server = RedisServer::start();
    server.kill();
    let (layer, guard) = builder(&server)
        .queue_capacity(100)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    emit_warnings(layer, 250);
    let report = guard.flush(SHORT);
    assert_eq!(report.dropped.queue_full, 150, "{report:?}");
    assert_eq!(report.dropped.total(), 150);
    assert_eq!(report.failed, 100);
    assert_eq!(guard.status().get().queued_records, 100);

    server.start_again();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 100);
    assert_eq!(
        common(&server, Severity::Warning),
        [("tick #".to_owned(), 100)]
    );
    let notes: Vec<_> = recent(&server, Severity::Warning)
        .into_iter()
        .filter(|e| e.target == "tracing_redis")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].message, "150 events dropped");
    assert_eq!(notes[0].fields["queue_full"], 150);
    assert_eq!(counter_total(&server, "tracing-redis.dropped"), 150);
}

#[test]
fn byte_budget_holds_with_redis_stopped_and_100k_events() {
    let mut server = RedisServer::start();
    server.kill();
    let budget = 256 * 1024;
    let (layer, guard) = builder(&server)
        .queue_bytes(budget)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let status = guard.status();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..100_000u64 {
            info!(i, user = "someone", "user {} logged in", i);
        }
    });
    let s = status.get();
    assert!(s.queued_bytes <= budget, "{s:?}");
    assert!(
        s.queued_bytes > budget * 9 / 10,
        "the budget is used: {s:?}"
    );
    assert!(s.dropped.queue_bytes > 0);
    assert_eq!(s.dropped.queue_full, 0);
    assert_eq!(s.queued_records as u64 + s.dropped.total(), 100_000);

    server.start_again();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, s.queued_records as u64);
    assert_eq!(status.get().queued_bytes, 0);
}

#[test]
fn blocking_mode_waits_for_room_instead_of_dropping() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .queue_capacity(16)
        .batch_size(8)
        .overflow(tracing_redis::Overflow::Block(WAIT))
        .build()
        .unwrap();
    emit_warnings(layer, 2_000);
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.total()), (2_000, 0));
    assert_eq!(
        common(&server, Severity::Warning),
        [("tick #".to_owned(), 2_000)]
    );
}

#[test]
fn flushed_scripts_are_loaded_again_and_nothing_is_lost() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || warn!("first"));
    assert_eq!(guard.flush(WAIT).written, 1);
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .exec(&mut server.connection())
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || warn!("second"));
    let report = guard.flush(WAIT);
    assert_eq!(
        (report.written, report.dropped.total()),
        (2, 0),
        "{report:?}"
    );
    let mut got = common(&server, Severity::Warning);
    got.sort();
    assert_eq!(got, [("first".to_owned(), 1), ("second".to_owned(), 1)]);
}

#[test]
fn a_transaction_refused_as_a_whole_is_dropped_not_retried() {
    let server = RedisServer::start();
    redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "noscripts",
            "on",
            ">pw",
            "~*",
            "+@all",
            "-evalsha",
        ])
        .exec(&mut server.connection())
        .unwrap();
    let url = format!("{}?user=noscripts&pass=pw", server.url());
    let (layer, guard) = builder(&server).url(url).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || info!("recent only"));
    assert_eq!(guard.flush(WAIT).written, 1);
    tracing::dispatcher::with_default(&dispatch, || {
        info!("same flush as the refused script call");
        warn!("needs the common-log script");
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.command_error), (1, 2));
    let why = report.last_error.unwrap();
    assert!(why.contains("NOPERM") || why.contains("EXECABORT"), "{why}");
    assert_eq!(
        recent(&server, Severity::Info).len(),
        1,
        "EXEC applied nothing"
    );
    assert!(guard.status().is_connected());
}
