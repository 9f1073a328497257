//! Counters at every precision, on the exact keys of the schema.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Connection;
use tracing_redis::store::{ManualClock, PRECISIONS, Store};

use crate::support::{RedisServer, zset};

/// 2026-11-28T00:00:00Z: a bucket edge at every precision (a multiple of 5 days, since 5-hour
/// buckets do not align with days).
pub(crate) const DAY: u64 = 1_795_824_000;

pub(crate) fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(crate) fn hash(con: &mut Connection, key: &str) -> BTreeMap<i64, i64> {
    redis::cmd("HGETALL").arg(key).query(con).unwrap()
}

pub(crate) fn exists(con: &mut Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query(con).unwrap()
}

#[test]
fn every_precision_counts_in_its_bucket_across_an_edge() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = ManualClock::new(t(DAY - 1));
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(clock.clone());

    store.incr_counter(&mut con, "hits", 1).unwrap();
    clock.advance(Duration::from_millis(999)); // still the last second of the day
    store.incr_counter(&mut con, "hits", 2).unwrap();
    clock.advance(Duration::from_millis(1)); // the edge itself
    store.incr_counter(&mut con, "hits", 4).unwrap();

    for p in PRECISIONS {
        let key = format!("ns:count:{p}:hits");
        let before = (DAY - 1) as i64 / p as i64 * p as i64;
        let want = BTreeMap::from([(before, 3), (DAY as i64, 4)]);
        assert_eq!(hash(&mut con, &key), want, "{key}");
        assert_eq!(
            store.counter(&mut con, "hits", p).unwrap(),
            vec![(before, 3), (DAY as i64, 4)],
            "precision {p}"
        );
    }
    let members: Vec<(String, f64)> = PRECISIONS
        .iter()
        .map(|p| (format!("{p}:hits"), 0.0))
        .collect();
    let mut got = zset(&mut con, "ns:known:");
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = members;
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    assert!(!exists(&mut con, "known:"), "namespace respected");
    assert_eq!(
        store.known_counters(&mut con).unwrap(),
        PRECISIONS
            .iter()
            .map(|p| (*p, "hits".to_owned()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn counts_add_up_and_may_be_negative() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(ManualClock::new(t(DAY + 30)));
    store.incr_counter(&mut con, "queue", 10).unwrap();
    store.incr_counter(&mut con, "queue", -3).unwrap();
    store
        .incr_counter_at(&mut con, "queue", 5, t(DAY + 90))
        .unwrap();
    assert_eq!(
        store.counter(&mut con, "queue", 60).unwrap(),
        [(DAY as i64, 7), (DAY as i64 + 60, 5)]
    );
    assert_eq!(
        store.counter(&mut con, "queue", 86_400).unwrap(),
        [(DAY as i64, 12)]
    );
    assert!(store.counter(&mut con, "never", 1).unwrap().is_empty());
}

#[test]
fn bad_counter_input_is_refused() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(ManualClock::new(t(DAY)));
    let err = store.incr_counter(&mut con, "", 1).unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("counter name"),
        "{err}"
    );
    let err = store.counter(&mut con, "hits", 7).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(
        err.to_string().contains('7') && err.to_string().contains("86400"),
        "{err}"
    );
    assert!(!exists(&mut con, "known:"), "nothing written");

    redis::cmd("SET")
        .arg("count:60:str")
        .arg("x")
        .exec(&mut con)
        .unwrap();
    let err = store.incr_counter(&mut con, "str", 1).unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    let err = store.counter(&mut con, "str", 60).unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("count:60:str"), "{err}");
}
