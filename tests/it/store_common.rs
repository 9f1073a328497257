//! Common logs: counting, hourly rotation (idle hours, missing sets, late events) and two
//! writers crossing the same hour boundary.

use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use redis::Connection;
use tracing_redis::store::{ManualClock, Severity, Store};

use crate::support::{RedisServer, zset};

/// 2026-11-27T01:00:00Z, an hour boundary.
const H1: u64 = 1_795_741_200;
const HOUR: u64 = 3600;

fn at(secs: u64) -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(secs))
}

fn get(con: &mut Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

fn key_type(con: &mut Connection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query(con).unwrap()
}

fn log(store: &Store, con: &mut Connection, message: &str) {
    store
        .log_common(con, "web", Severity::Warning, message)
        .unwrap();
}

#[test]
fn counts_in_the_schema_keys_and_reads_top_n() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(at(H1 + 62));
    for (message, n) in [("disk full", 3), ("slow query", 5), ("retrying", 1)] {
        for _ in 0..n {
            log(&store, &mut con, message);
        }
    }

    let key = "ns:common:{web:warning}";
    assert_eq!(key_type(&mut con, key), "zset");
    assert_eq!(
        zset(&mut con, key),
        [
            ("retrying".to_owned(), 1.0),
            ("disk full".to_owned(), 3.0),
            ("slow query".to_owned(), 5.0)
        ]
    );
    assert_eq!(
        get(&mut con, &format!("{key}:start")).as_deref(),
        Some("2026-11-27T01:00:00")
    );
    assert_eq!(key_type(&mut con, &format!("{key}:last")), "none");
    assert_eq!(get(&mut con, &format!("{key}:pstart")), None);
    assert_eq!(key_type(&mut con, "common:{web:warning}"), "none");

    let read = store.common(&mut con, "web", Severity::Warning, 2).unwrap();
    assert_eq!(read.current.start.as_deref(), Some("2026-11-27T01:00:00"));
    assert_eq!(
        read.current.messages,
        [("slow query".to_owned(), 5), ("disk full".to_owned(), 3)]
    );
    assert_eq!(read.last.start, None);
    assert!(read.last.messages.is_empty());
    let none = store.common(&mut con, "web", Severity::Warning, 0).unwrap();
    assert!(none.current.messages.is_empty() && none.current.start.is_none());
}

#[test]
fn rotates_at_the_hour_and_keeps_the_last_set_with_data() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = at(H1 - 1); // 00:59:59
    let store = Store::new().with_clock(clock.clone());
    log(&store, &mut con, "a");
    log(&store, &mut con, "a");

    clock.advance(Duration::from_secs(1)); // 01:00:00 exactly
    log(&store, &mut con, "b");
    let read = store
        .common(&mut con, "web", Severity::Warning, 10)
        .unwrap();
    assert_eq!(read.current.start.as_deref(), Some("2026-11-27T01:00:00"));
    assert_eq!(read.current.messages, [("b".to_owned(), 1)]);
    assert_eq!(read.last.start.as_deref(), Some("2026-11-27T00:00:00"));
    assert_eq!(read.last.messages, [("a".to_owned(), 2)]);
    for (key, kind) in [
        ("common:{web:warning}", "zset"),
        ("common:{web:warning}:start", "string"),
        ("common:{web:warning}:last", "zset"),
        ("common:{web:warning}:pstart", "string"),
    ] {
        assert_eq!(key_type(&mut con, key), kind, "{key}");
    }
    assert_eq!(
        get(&mut con, "common:{web:warning}:pstart").as_deref(),
        Some("2026-11-27T00:00:00")
    );

    // An event of the previous kept hour still counts, into `:last`.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 - 10));
    log(&store, &mut con, "a");
    assert_eq!(
        zset(&mut con, "common:{web:warning}:last"),
        [("a".to_owned(), 3.0)]
    );
    assert_eq!(
        zset(&mut con, "common:{web:warning}"),
        [("b".to_owned(), 1.0)]
    );

    // Two idle hours (02:00, 03:00), then 04:00: `:last` is the 01:00 set, the last with data.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + 3 * HOUR + 5));
    log(&store, &mut con, "c");
    let read = store
        .common(&mut con, "web", Severity::Warning, 10)
        .unwrap();
    assert_eq!(read.current.start.as_deref(), Some("2026-11-27T04:00:00"));
    assert_eq!(read.current.messages, [("c".to_owned(), 1)]);
    assert_eq!(read.last.start.as_deref(), Some("2026-11-27T01:00:00"));
    assert_eq!(read.last.messages, [("b".to_owned(), 1)]);

    // 02:00 is neither kept hour: refused, nothing changes.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + HOUR + 1));
    let err = store
        .log_common(&mut con, "web", Severity::Warning, "late")
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("2026-11-27T02:00:00"), "{err}");
    assert!(err.to_string().contains("common:{web:warning}"), "{err}");
    // 01:00 (the `:pstart` hour) is still accepted.
    clock.set(UNIX_EPOCH + Duration::from_secs(H1 + 1));
    log(&store, &mut con, "b");
    let read = store
        .common(&mut con, "web", Severity::Warning, 10)
        .unwrap();
    assert_eq!(read.last.messages, [("b".to_owned(), 2)]);
    assert_eq!(read.current.messages, [("c".to_owned(), 1)]);
}

#[test]
fn a_missing_set_at_rotation_leaves_last_alone() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = at(H1 - 5);
    let store = Store::new().with_clock(clock.clone());
    log(&store, &mut con, "a");
    clock.advance(Duration::from_secs(10));
    log(&store, &mut con, "b"); // 01:00: last = {a} @ 00:00

    redis::cmd("DEL")
        .arg("common:{web:warning}")
        .exec(&mut con)
        .unwrap();
    clock.advance(Duration::from_secs(HOUR)); // 02:00, set missing
    log(&store, &mut con, "c");

    assert_eq!(
        zset(&mut con, "common:{web:warning}:last"),
        [("a".to_owned(), 1.0)]
    );
    assert_eq!(
        get(&mut con, "common:{web:warning}:pstart").as_deref(),
        Some("2026-11-27T00:00:00")
    );
    assert_eq!(
        get(&mut con, "common:{web:warning}:start").as_deref(),
        Some("2026-11-27T02:00:00")
    );
    assert_eq!(
        zset(&mut con, "common:{web:warning}"),
        [("c".to_owned(), 1.0)]
    );

    // The very first rotation, with nothing to move at all, fails neither.
    redis::cmd("SET")
        .arg("common:{api:error}:start")
        .arg("2026-11-27T00:00:00")
        .exec(&mut con)
        .unwrap();
    store
        .log_common(&mut con, "api", Severity::Error, "x")
        .unwrap();
    assert_eq!(key_type(&mut con, "common:{api:error}:last"), "none");
    assert_eq!(
        zset(&mut con, "common:{api:error}"),
        [("x".to_owned(), 1.0)]
    );
}

#[test]
fn two_writers_crossing_the_hour_lose_no_count() {
    const PER_THREAD: u64 = 1500;
    let server = RedisServer::start();
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let client = server.client();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut con = client.get_connection().unwrap();
                // Each writer has its own clock: one may be past the hour while the other is
                // not, which is what happens between processes.
                let clock = ManualClock::new(
                    UNIX_EPOCH + Duration::from_secs(H1) - Duration::from_millis(PER_THREAD / 2),
                );
                let store = Store::new().with_clock(clock.clone());
                barrier.wait();
                for _ in 0..PER_THREAD {
                    store
                        .log_common(&mut con, "web", Severity::Warning, &format!("t{t}"))
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
    let half = (PER_THREAD / 2) as f64;
    assert_eq!(
        zset(&mut con, "common:{web:warning}"),
        [("t0".to_owned(), half), ("t1".to_owned(), half)]
    );
    assert_eq!(
        zset(&mut con, "common:{web:warning}:last"),
        [("t0".to_owned(), half), ("t1".to_owned(), half)]
    );
    assert_eq!(
        get(&mut con, "common:{web:warning}:pstart").as_deref(),
        Some("2026-11-27T00:00:00")
    );
}
