//! Drop accounting: a record is written when one of its writes landed, dropped when none
//! did; the note telling the drops reaches Redis, also at shutdown, and never twice.

use std::time::Duration;

use tracing::{error, info, warn};
use tracing_redis::store::{LogEntry, ManualClock, Severity, Store};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder, common, counter_total, recent};
use crate::support::RedisServer;

/// Sets `keys` to strings, so writes of another type fail with WRONGTYPE.
fn occupy(server: &RedisServer, keys: &[&str]) {
    for key in keys {
        redis::cmd("SET")
            .arg(key)
            .arg("someone else's")
            .exec(&mut server.connection())
            .unwrap();
    }
}

/// The pipeline's notes about drops in the warning log, newest first.
fn drop_notes(server: &RedisServer) -> Vec<LogEntry> {
    recent(server, Severity::Warning)
        .into_iter()
        .filter(|e| e.target == "tracing_redis")
        .collect()
}

#[test]
fn wrongtype_on_one_key_drops_only_that_keys_records() {
    let server = RedisServer::start();
    occupy(&server, &["recent:app:info"]);
    let (layer, guard) = builder(&server).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..5 {
            warn!("fine {i}");
        }
        // Below the common-log threshold: the refused list is their only write.
        for i in 0..3 {
            info!("refused {i}");
        }
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 5);
    assert_eq!(report.dropped.command_error, 3);
    assert_eq!(report.dropped.total(), 3);
    let why = report.last_error.unwrap();
    assert!(
        why.contains("WRONGTYPE") && why.contains("recent:app:info"),
        "{why}"
    );
    assert_eq!(recent(&server, Severity::Warning).len(), 5);

    // The flush is not sent again, the pipeline keeps going, and the drop is reported.
    tracing::dispatcher::with_default(&dispatch, || error!("after"));
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (6, 3));
    assert_eq!(recent(&server, Severity::Error).len(), 1);
    let notes = drop_notes(&server);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].message, "3 events dropped");
    assert_eq!(notes[0].fields["command_error"], 3);
}

#[test]
fn a_record_is_dropped_only_when_none_of_its_writes_landed() {
    let server = RedisServer::start();
    occupy(&server, &["common:{app:error}"]);
    let (layer, guard) = builder(&server).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    // Only the common-log count is refused: the recent entries land, the records count as
    // written, and the refusal still shows.
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..3 {
            error!("half {i}");
        }
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.total()), (3, 0));
    let why = report.last_error.unwrap();
    assert!(
        why.contains("WRONGTYPE") && why.contains("common:{app:error}"),
        "{why}"
    );
    assert_eq!(recent(&server, Severity::Error).len(), 3);

    // Both writes refused: dropped.
    occupy(&server, &["recent:app:error"]);
    tracing::dispatcher::with_default(&dispatch, || {
        error!("none 1");
        error!("none 2");
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.command_error), (3, 2));
    assert_eq!(report.dropped.total(), 2);
}

#[test]
fn samples_older_than_the_kept_hours_are_dropped_as_stale() {
    let server = RedisServer::start();
    let later = Store::new().with_clock(ManualClock::at_unix(T0 + 5.0 * 3600.0));
    let mut con = server.connection();
    later
        .log_common(&mut con, "app", Severity::Error, "newer")
        .unwrap();
    later
        .record_timing(&mut con, "old", "AccessTime", 0.5)
        .unwrap();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::at_unix(T0))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info_span!("old").in_scope(|| {});
        error!("from the past");
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    // The sample's only write was stale; the event's recent entry landed, its count did not.
    assert_eq!(report.dropped.stale, 1, "{report:?}");
    assert_eq!((report.written, report.dropped.total()), (1, 1));
    assert_eq!(common(&server, Severity::Error), [("newer".to_owned(), 1)]);
    assert_eq!(recent(&server, Severity::Error).len(), 1);
    let stats = Store::new()
        .stats(&mut con, "old", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(stats.count, 1, "{stats:?}");
}

#[test]
fn drops_of_the_last_flush_are_reported_at_shutdown() {
    let server = RedisServer::start();
    occupy(&server, &["recent:app:info"]);
    let (layer, guard) = builder(&server)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..3 {
            info!("refused {i}");
        }
    });
    let report = guard.shutdown();
    assert_eq!(report.dropped.command_error, 3, "{report:?}");
    let notes = drop_notes(&server);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].message, "3 events dropped");
    assert_eq!(notes[0].fields["command_error"], 3);
    assert_eq!(counter_total(&server, "tracing-redis.dropped"), 3);
}

#[test]
fn a_refused_note_is_sent_again_and_its_count_added_once() {
    let server = RedisServer::start();
    // The note's own entry goes to the warning log: refused too, at first.
    occupy(&server, &["recent:app:info", "recent:app:warning"]);
    let (layer, guard) = builder(&server)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..3 {
            info!("refused {i}");
        }
    });
    assert_eq!(guard.flush(WAIT).dropped.command_error, 3);
    tracing::dispatcher::with_default(&dispatch, || error!("carries the note"));
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (1, 3));
    let why = report.last_error.unwrap();
    assert!(why.contains("recent:app:warning"), "{why}");
    assert_eq!(counter_total(&server, "tracing-redis.dropped"), 3);

    redis::cmd("DEL")
        .arg("recent:app:warning")
        .exec(&mut server.connection())
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || error!("carries it again"));
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (2, 3));
    let notes = drop_notes(&server);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].message, "3 events dropped");
    assert_eq!(
        counter_total(&server, "tracing-redis.dropped"),
        3,
        "the count landed the first time: not added again"
    );
    drop(guard);
    assert_eq!(
        drop_notes(&server).len(),
        1,
        "nothing left to tell at shutdown"
    );
}
