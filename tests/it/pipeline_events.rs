//! Events and `log` records land in the recent and common logs, in the entry format of the
//! design.

use std::time::Duration;

use log::Log;
use tracing::{debug, error, info, info_span, warn};
use tracing_redis::store::{ManualClock, Severity};
use tracing_redis::{Normalisation, TRUNCATION_MARKER};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder, common, recent};
use crate::support::RedisServer;

#[test]
fn events_become_recent_entries_and_common_counts() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::at_unix(T0))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        info_span!("request", id = 7).in_scope(|| {
            info!(
                user = 42,
                ok = true,
                ratio = 0.5,
                name = "ann",
                "user {} logged in",
                42
            );
        });
        warn!("disk 91% full");
        warn!("disk 93% full");
        error!(code = -1, "boom");
        debug!("the layer itself filters nothing");
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    // Five events and the `request` span's timing.
    assert_eq!(report.written, 6, "{report:?}");
    assert_eq!(report.dropped.total(), 0);

    let info = recent(&server, Severity::Info);
    assert_eq!(info.len(), 1);
    let e = &info[0];
    assert_eq!(e.ts, "2026-11-27T01:02:03.456Z");
    assert_eq!(e.level, "info");
    assert_eq!(e.target, module_path!());
    assert_eq!(e.message, "user 42 logged in");
    assert_eq!(
        serde_json::Value::Object(e.fields.clone()),
        serde_json::json!({"user": 42, "ok": true, "ratio": 0.5, "name": "ann"})
    );
    assert_eq!(e.spans, ["request"]);
    assert_eq!(e.pid, std::process::id());
    assert!(!e.host.is_empty());

    let warnings = recent(&server, Severity::Warning);
    let messages: Vec<&str> = warnings.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["disk 93% full", "disk 91% full"], "newest first");
    assert_eq!(
        common(&server, Severity::Warning),
        [("disk #% full".to_owned(), 2)]
    );
    assert_eq!(common(&server, Severity::Error), [("boom".to_owned(), 1)]);
    assert!(
        common(&server, Severity::Info).is_empty(),
        "below the threshold"
    );
    assert_eq!(recent(&server, Severity::Debug).len(), 1);

    // Empty fields and spans are left out of the stored JSON.
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg("recent:app:warning")
        .arg(0)
        .arg(0)
        .query(&mut server.connection())
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&raw[0]).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["host", "level", "message", "pid", "target", "ts"]);
}

#[test]
fn log_backend_records_at_its_level() {
    let server = RedisServer::start();
    let (logger, guard) = builder(&server).namespace("ns").build_logger().unwrap();
    assert_eq!(logger.level(), log::LevelFilter::Info);
    let debug = log::Metadata::builder().level(log::Level::Debug).build();
    assert!(!logger.enabled(&debug));
    for (level, n) in [
        (log::Level::Warn, 12),
        (log::Level::Warn, 7),
        (log::Level::Debug, 1),
    ] {
        logger.log(
            &log::Record::builder()
                .level(level)
                .target("app::db")
                .args(format_args!("slow query {n} ms"))
                .build(),
        );
    }
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.failed), (2, 0), "{report:?}");
    let store = tracing_redis::store::Store::new()
        .with_namespace("ns")
        .unwrap();
    let mut con = server.connection();
    let entries = store
        .recent(&mut con, "app", Severity::Warning, 10)
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].target, "app::db");
    assert_eq!(entries[0].message, "slow query 7 ms");
    let common = store
        .common(&mut con, "app", Severity::Warning, 10)
        .unwrap();
    assert_eq!(common.current.messages, [("slow query # ms".to_owned(), 2)]);
    assert!(
        store
            .recent(&mut con, "app", Severity::Debug, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bridged_log_records_keep_their_real_target() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let bridge = tracing_log::LogTracer::new();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        bridge.log(
            &log::Record::builder()
                .level(log::Level::Error)
                .target("legacy::module")
                .module_path_static(Some("legacy::module"))
                .file_static(Some("legacy.rs"))
                .line(Some(3))
                .args(format_args!("it broke"))
                .build(),
        );
    });
    assert!(guard.flush(WAIT).is_complete());
    let entries = recent(&server, Severity::Error);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target, "legacy::module");
    assert_eq!(entries[0].message, "it broke");
    assert!(entries[0].fields.is_empty(), "{:?}", entries[0].fields);
}

#[test]
fn oversized_messages_and_fields_are_cut_with_a_marker() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).max_message_len(1_000).build().unwrap();
    let long = "é".repeat(5_000);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        warn!(detail = %long, "{long}");
    });
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (1, 0));
    let e = &recent(&server, Severity::Warning)[0];
    assert!(e.message.ends_with(TRUNCATION_MARKER), "{}", e.message);
    let kept = e.message.strip_suffix(TRUNCATION_MARKER).unwrap();
    assert_eq!(kept, "é".repeat(500), "cut at a character boundary");
    let detail = e.fields["detail"].as_str().unwrap();
    assert!(detail.ends_with(TRUNCATION_MARKER) && detail.len() <= 1_000 + TRUNCATION_MARKER.len());
    let members = common(&server, Severity::Warning);
    assert_eq!(
        members[0].0.len(),
        256,
        "common members are cut to 256 bytes"
    );
}

#[test]
fn normalisation_and_threshold_are_configurable() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .normalisation(Normalisation::Exact)
        .common_threshold(Some(Severity::Info))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        info!("took 12 ms");
        info!("took 12 ms");
        info!("took 13 ms");
        info!(status = 200, path = "/");
    });
    assert!(guard.flush(WAIT).is_complete());
    let mut got = common(&server, Severity::Info);
    got.sort();
    assert_eq!(
        got,
        [
            ("status=200 path=/".to_owned(), 1),
            ("took 12 ms".to_owned(), 2),
            ("took 13 ms".to_owned(), 1)
        ]
    );
}

#[test]
fn each_hour_keeps_the_most_frequent_messages_up_to_the_capacity() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::at_unix(T0))
        .build()
        .unwrap();
    // Digits would be normalised away: letters make each rare message distinct.
    let word = |mut i: usize| {
        let mut w = String::new();
        loop {
            w.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                return w;
            }
        }
    };
    let hot = ["hot cache miss", "hot retry", "hot slow query"];
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..1_500 {
            if i % 75 == 0 {
                for h in hot {
                    warn!("{h}");
                }
            }
            warn!("rare {}", word(i));
        }
    });
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 1_560);
    let members: u64 = redis::cmd("ZCARD")
        .arg("common:{app:warning}")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(members, tracing_redis::DEFAULT_COMMON_CAPACITY as u64);
    let got = common(&server, Severity::Warning);
    let mut top = got[..3].to_vec();
    top.sort();
    let want: Vec<_> = hot.iter().map(|h| ((*h).to_owned(), 20)).collect();
    assert_eq!(top, want, "the frequent ones survive with every count");
    assert!(got[3..].iter().all(|(_, n)| *n == 1));
}

#[test]
fn flush_interval_writes_without_being_asked() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .flush_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        info!("on the timer");
    });
    let status = guard.status();
    assert!(
        crate::support::wait_until(WAIT, || status.get().written == 1),
        "{:?}",
        status.get()
    );
    assert_eq!(recent(&server, Severity::Info).len(), 1);
    assert!(status.get().connected);
    assert!(status.get().last_flush.is_some());
}
