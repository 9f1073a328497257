//! What every technique shares: awkward names round-trip and are percent-encoded in keys,
//! scripts survive `SCRIPT FLUSH`, and bad input or keys of another type give clear errors.

use std::time::{Duration, UNIX_EPOCH};

use redis::Connection;
use tracing_redis::store::{Cleaner, ManualClock, Severity, Store};

use crate::support::RedisServer;

/// 2026-11-27T01:00:00Z
const H1: u64 = 1_795_741_200;

fn store() -> Store {
    Store::new()
        .with_namespace("n{s}")
        .unwrap()
        .with_clock(ManualClock::new(UNIX_EPOCH + Duration::from_secs(H1)))
}

fn exists(con: &mut Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query(con).unwrap()
}

#[test]
fn names_with_braces_percent_signs_and_newlines_round_trip() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = store();
    let name = "a{b}%c\nd";
    let enc = "a%7Bb%7D%25c%0Ad";

    store
        .log_recent(&mut con, name, Severity::Info, "m")
        .unwrap();
    store
        .log_common(&mut con, name, Severity::Info, "m{1}\n")
        .unwrap();
    store.incr_counter(&mut con, name, 3).unwrap();
    store.record_timing(&mut con, name, "Time{x}", 0.5).unwrap();

    for key in [
        format!("n%7Bs%7D:recent:{enc}:info"),
        format!("n%7Bs%7D:common:{{{enc}:info}}"),
        format!("n%7Bs%7D:common:{{{enc}:info}}:start"),
        format!("n%7Bs%7D:count:60:{enc}"),
        format!("n%7Bs%7D:stats:{{{enc}:Time%7Bx%7D}}"),
        "n%7Bs%7D:slowest:Time%7Bx%7D".to_owned(),
    ] {
        assert!(exists(&mut con, &key), "{key:?} missing");
    }
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg("n%7Bs%7D:known:")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert!(members.contains(&format!("60:{enc}")), "{members:?}");

    assert_eq!(
        store.recent(&mut con, name, Severity::Info, 1).unwrap()[0].message,
        "m"
    );
    assert_eq!(
        store
            .common(&mut con, name, Severity::Info, 1)
            .unwrap()
            .current
            .messages,
        [("m{1}\n".to_owned(), 1)]
    );
    assert_eq!(store.counter(&mut con, name, 60).unwrap()[0].1, 3);
    assert!(
        store
            .known_counters(&mut con)
            .unwrap()
            .contains(&(60, name.to_owned()))
    );
    assert_eq!(
        store
            .stats(&mut con, name, "Time{x}")
            .unwrap()
            .unwrap()
            .count,
        1
    );
    // Slowest members are contexts as given (members are not keys).
    assert_eq!(
        store.slowest(&mut con, "Time{x}", 1).unwrap(),
        [(name.to_owned(), 0.5)]
    );

    // The cleaner turns encoded members back into the same keys.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(H1 + 200 * 86_400));
    let report = Cleaner::new(store.clone().with_clock(clock))
        .pass(&mut con, 0)
        .unwrap();
    assert_eq!(report.forgotten, 7);
    assert!(!exists(&mut con, &format!("n%7Bs%7D:count:60:{enc}")));
    assert!(!exists(&mut con, "n%7Bs%7D:known:"));
}

#[test]
fn scripts_are_reloaded_after_script_flush() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = store();
    store
        .log_common(&mut con, "w", Severity::Error, "x")
        .unwrap();
    store.update_stats(&mut con, "c", "T", 1.0).unwrap();
    store.incr_counter(&mut con, "c", 1).unwrap();

    redis::cmd("SCRIPT").arg("FLUSH").exec(&mut con).unwrap();
    store
        .log_common(&mut con, "w", Severity::Error, "x")
        .unwrap();
    redis::cmd("SCRIPT").arg("FLUSH").exec(&mut con).unwrap();
    assert_eq!(
        store.update_stats(&mut con, "c", "T", 1.0).unwrap().count,
        2
    );
    redis::cmd("SCRIPT").arg("FLUSH").exec(&mut con).unwrap();
    let later = store.clone().with_clock(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(H1 + 1000),
    ));
    // 1000 s later, only the 1 s and 5 s buckets are past their cutoff.
    assert_eq!(
        Cleaner::new(later)
            .pass(&mut con, 0)
            .unwrap()
            .buckets_deleted,
        2
    );

    assert_eq!(
        store
            .common(&mut con, "w", Severity::Error, 1)
            .unwrap()
            .current
            .messages,
        [("x".to_owned(), 2)]
    );
}

#[test]
fn empty_names_are_refused_naming_the_argument() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = store();
    let cases = [
        (
            "log name",
            store
                .log_recent(&mut con, "", Severity::Info, "m")
                .unwrap_err(),
        ),
        (
            "log name",
            store.recent(&mut con, "", Severity::Info, 1).unwrap_err(),
        ),
        (
            "log name",
            store
                .log_common(&mut con, "", Severity::Info, "m")
                .unwrap_err(),
        ),
        (
            "log name",
            store.common(&mut con, "", Severity::Info, 1).unwrap_err(),
        ),
        (
            "counter name",
            store.incr_counter(&mut con, "", 1).unwrap_err(),
        ),
        ("counter name", store.counter(&mut con, "", 60).unwrap_err()),
        (
            "context",
            store.update_stats(&mut con, "", "T", 1.0).unwrap_err(),
        ),
        (
            "context",
            store.record_timing(&mut con, "", "T", 1.0).unwrap_err(),
        ),
        (
            "statistics type",
            store.stats(&mut con, "c", "").unwrap_err(),
        ),
        (
            "statistics type",
            store.stats_last(&mut con, "c", "").unwrap_err(),
        ),
        ("namespace", Store::new().with_namespace("").unwrap_err()),
    ];
    for (what, err) in cases {
        assert!(err.is_invalid_input(), "{err}");
        assert!(err.to_string().contains(what), "{err} should name {what}");
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(keys.is_empty(), "nothing written: {keys:?}");
}

#[test]
fn keys_of_another_type_give_wrong_type_errors() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = store();
    for key in [
        "n%7Bs%7D:recent:w:info",
        "n%7Bs%7D:common:{w:info}",
        "n%7Bs%7D:common:{v:info}:last",
    ] {
        redis::cmd("HSET")
            .arg(key)
            .arg("f")
            .arg("v")
            .exec(&mut con)
            .unwrap();
    }
    let err = store
        .log_recent(&mut con, "w", Severity::Info, "m")
        .unwrap_err();
    assert!(err.is_wrong_type() && !err.is_connection(), "{err}");
    assert!(err.to_string().contains("recent:w:info"), "{err}");
    assert!(
        store
            .recent(&mut con, "w", Severity::Info, 5)
            .unwrap_err()
            .is_wrong_type()
    );
    let err = store
        .log_common(&mut con, "w", Severity::Info, "m")
        .unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("common:{w:info}"), "{err}");
    assert!(
        store
            .common(&mut con, "w", Severity::Info, 5)
            .unwrap_err()
            .is_wrong_type()
    );
    assert!(
        store
            .common(&mut con, "v", Severity::Info, 5)
            .unwrap_err()
            .is_wrong_type()
    );
    // Other errors are not taken for WRONGTYPE.
    let err = store.recent(&mut con, "", Severity::Info, 5).unwrap_err();
    assert!(!err.is_wrong_type());
}
