//! Batching does not change results: one batched flush leaves Redis in the same state as
//! the store functions applied event by event, and each record counts in its own hour.

use std::collections::BTreeMap;
use std::time::Duration;

use tracing::{error, info, info_span, warn};
use tracing_redis::Normalisation;
use tracing_redis::store::clock::hour_start;
use tracing_redis::store::{Clock, LogEntry, ManualClock, Severity, Store};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{WAIT, builder};
use crate::support::RedisServer;

/// Every key of a server with its content, in comparable form.
fn dump(server: &RedisServer) -> BTreeMap<String, String> {
    let mut con = server.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    let mut out = BTreeMap::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut con).unwrap();
        let value = match kind.as_str() {
            "string" => redis::cmd("GET")
                .arg(&key)
                .query::<String>(&mut con)
                .unwrap(),
            "list" => format!(
                "{:?}",
                redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query::<Vec<String>>(&mut con)
                    .unwrap()
            ),
            "zset" => format!(
                "{:?}",
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query::<Vec<(String, String)>>(&mut con)
                    .unwrap()
            ),
            "hash" => format!(
                "{:?}",
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query::<BTreeMap<String, String>>(&mut con)
                    .unwrap()
            ),
            other => panic!("unexpected type {other} of {key}"),
        };
        out.insert(key, format!("{kind} {value}"));
    }
    out
}

/// What the test emits, so it can be replayed through the store.
enum Op {
    Log {
        at: std::time::SystemTime,
        severity: Severity,
        message: String,
        n: u64,
    },
    Timing {
        at: std::time::SystemTime,
        context: &'static str,
        seconds: f64,
    },
}

#[test]
fn one_batched_flush_equals_the_store_applied_one_by_one() {
    let batched = RedisServer::start();
    let reference = RedisServer::start();
    // 01:59:50 UTC: the events cross into the next hour.
    let clock = ManualClock::at_unix(1_795_744_790.0);
    let (layer, guard) = builder(&batched)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut ops = Vec::new();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..400u64 {
            // 1/32 s steps keep every sum exact in binary floating point.
            clock.advance(Duration::from_micros(31_250));
            let at = clock.now();
            let (severity, message) = match i % 4 {
                0 => (Severity::Warning, format!("slow request {} ms", i % 7)),
                1 => (Severity::Error, format!("failed {}", i % 3)),
                _ => (Severity::Info, format!("request {i}")),
            };
            match severity {
                Severity::Warning => warn!(n = i, "{message}"),
                Severity::Error => error!(n = i, "{message}"),
                _ => info!(n = i, "{message}"),
            }
            ops.push(Op::Log {
                at,
                severity,
                message,
                n: i,
            });
            if i % 5 == 0 {
                let context = ["GET /", "POST /orders", "GET /slow"][(i % 3) as usize];
                let span = info_span!("request", context);
                let seconds = (i % 9) as f64 / 32.0;
                clock.advance(Duration::from_secs_f64(seconds));
                drop(span);
                ops.push(Op::Timing {
                    at: clock.now(),
                    context,
                    seconds,
                });
            }
        }
    });
    let records = ops.len() as u64;
    assert!(
        records < tracing_redis::DEFAULT_BATCH_SIZE as u64,
        "one batch"
    );
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.written, report.dropped.total()), (records, 0));

    let mut con = reference.connection();
    let normalise = Normalisation::default();
    for op in &ops {
        match op {
            Op::Log {
                at,
                severity,
                message,
                n,
            } => {
                let store = Store::new().with_clock(ManualClock::new(*at));
                let mut entry = LogEntry::new(*at, *severity, module_path!(), message);
                entry.fields.insert("n".to_owned(), serde_json::json!(n));
                store
                    .push_recent(&mut con, "app", *severity, &entry)
                    .unwrap();
                if *severity >= Severity::Warning {
                    let member = normalise.apply(message);
                    store
                        .log_common(&mut con, "app", *severity, &member)
                        .unwrap();
                }
            }
            Op::Timing {
                at,
                context,
                seconds,
            } => {
                let store = Store::new().with_clock(ManualClock::new(*at));
                store
                    .record_timing(&mut con, context, "AccessTime", *seconds)
                    .unwrap();
            }
        }
    }
    let (got, want) = (dump(&batched), dump(&reference));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (key, value) in &want {
        assert_eq!(&got[key], value, "key {key}");
    }

    // Each record counted in the hour of its own event time, not the flush's.
    let store = Store::new();
    let mut con = batched.connection();
    let log = store
        .common(&mut con, "app", Severity::Warning, 100)
        .unwrap();
    let first_hour = hour_start(std::time::UNIX_EPOCH + Duration::from_secs(1_795_744_790));
    assert_eq!(log.last.start.as_deref(), Some(first_hour.as_str()));
    assert_eq!(log.current.start.as_deref(), Some("2026-11-27T02:00:00"));
    let in_first_hour = ops
        .iter()
        .filter(|op| {
            matches!(op, Op::Log { at, severity: Severity::Warning, .. }
                if hour_start(*at) == first_hour)
        })
        .count() as u64;
    let last_total: u64 = log.last.messages.iter().map(|(_, n)| n).sum();
    assert!(in_first_hour > 0);
    assert_eq!(last_total, in_first_hour);
}
