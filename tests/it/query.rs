//! The query API against a real server filled through the store.

use std::time::{Duration, UNIX_EPOCH};

use tracing_redis::query::{LogFilter, Query};
use tracing_redis::store::clock::hour_start;
use tracing_redis::store::{Clock, ManualClock, PRECISIONS, RECENT_CAPACITY, Severity, Store};

use crate::support::RedisServer;

/// 2026-11-27T01:02:03Z.
const T0: f64 = 1_795_741_323.0;

fn setup(ns: Option<&str>) -> (RedisServer, redis::Connection, ManualClock, Store, Query) {
    let server = RedisServer::start();
    let con = server.connection();
    let clock = ManualClock::at_unix(T0);
    let mut store = Store::new().with_clock(clock.clone());
    if let Some(ns) = ns {
        store = store.with_namespace(ns).unwrap();
    }
    let query = Query::new(store.clone());
    (server, con, clock, store, query)
}

fn messages(entries: &[tracing_redis::query::TailEntry]) -> Vec<String> {
    entries.iter().map(|e| e.entry.message.clone()).collect()
}

#[test]
fn tail_merges_names_and_levels_by_time_newest_last() {
    let (_s, mut con, clock, store, query) = setup(Some("ns"));
    let step = Duration::from_millis(10);
    for (name, level, msg) in [
        ("web", Severity::Info, "w1"),
        ("db{main}", Severity::Error, "d1"),
        ("web", Severity::Warning, "w2"),
        ("web", Severity::Info, "w3"),
        ("db{main}", Severity::Info, "d2"),
    ] {
        store.log_recent(&mut con, name, level, msg).unwrap();
        clock.advance(step);
    }
    // A namespace of its own is not read.
    Store::new()
        .log_recent(&mut con, "web", Severity::Info, "other")
        .unwrap();

    let all = query.tail(&mut con, &LogFilter::all(), 20).unwrap();
    assert_eq!(messages(&all), ["w1", "d1", "w2", "w3", "d2"]);
    assert_eq!(all[1].name, "db{main}", "names are decoded");
    assert_eq!(all[1].level, Severity::Error);
    assert_eq!(all[0].entry.ts, "2026-11-27T01:02:03.000Z");

    let newest = query.tail(&mut con, &LogFilter::all(), 2).unwrap();
    assert_eq!(messages(&newest), ["w3", "d2"]);

    let web = LogFilter::all().name("web");
    assert_eq!(
        messages(&query.tail(&mut con, &web, 20).unwrap()),
        ["w1", "w2", "w3"]
    );
    let info = LogFilter::all().levels([Severity::Info]);
    assert_eq!(
        messages(&query.tail(&mut con, &info, 20).unwrap()),
        ["w1", "w3", "d2"]
    );
    let some = LogFilter::all().levels([Severity::Error, Severity::Warning]);
    assert_eq!(
        messages(&query.tail(&mut con, &some, 20).unwrap()),
        ["d1", "w2"]
    );
    assert_eq!(query.log_names(&mut con).unwrap(), ["db{main}", "web"]);
}

#[test]
fn follow_returns_each_new_entry_once_even_within_one_millisecond() {
    let (_s, mut con, clock, store, query) = setup(None);
    store
        .log_recent(&mut con, "web", Severity::Info, "before")
        .unwrap();
    let (initial, mut cursor) = query.follow(&mut con, &LogFilter::all(), 10).unwrap();
    assert_eq!(messages(&initial), ["before"]);
    assert!(query.tail_since(&mut con, &mut cursor).unwrap().is_empty());

    // Three identical entries (same millisecond, same text) and one at another level.
    clock.advance(Duration::from_millis(5));
    for _ in 0..3 {
        store
            .log_recent(&mut con, "web", Severity::Info, "same")
            .unwrap();
    }
    store
        .log_recent(&mut con, "web", Severity::Error, "err")
        .unwrap();
    let new = query.tail_since(&mut con, &mut cursor).unwrap();
    let mut got = messages(&new);
    got.sort();
    assert_eq!(got, ["err", "same", "same", "same"]);
    assert!(query.tail_since(&mut con, &mut cursor).unwrap().is_empty());

    // More than a full list between two reads: what Redis still holds, once.
    for i in 0..RECENT_CAPACITY + 5 {
        clock.advance(Duration::from_millis(1));
        store
            .log_recent(&mut con, "web", Severity::Info, &format!("m{i}"))
            .unwrap();
    }
    let new = query.tail_since(&mut con, &mut cursor).unwrap();
    assert_eq!(new.len(), RECENT_CAPACITY);
    assert_eq!(new.last().unwrap().entry.message, "m104");
    assert_eq!(new[0].entry.message, "m5");
    assert!(query.tail_since(&mut con, &mut cursor).unwrap().is_empty());

    // At capacity, a copy of the newest entry (same millisecond, same text) is still new.
    store
        .log_recent(&mut con, "web", Severity::Info, "m104")
        .unwrap();
    let new = query.tail_since(&mut con, &mut cursor).unwrap();
    assert_eq!(messages(&new), ["m104"]);
    assert_eq!(
        new[0].raw,
        query.tail(&mut con, &LogFilter::all(), 2).unwrap()[0].raw
    );

    // An unchanged list is probed at both ends, not read whole.
    let before = lrange_calls(&mut con);
    assert!(query.tail_since(&mut con, &mut cursor).unwrap().is_empty());
    assert_eq!(lrange_calls(&mut con) - before, 2 * cursor.lists() as u64);
}

fn lrange_calls(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_lrange:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn a_follow_sees_new_levels_at_once_and_new_names_by_a_scan() {
    let (_s, mut con, _clock, store, query) = setup(None);
    let (_, mut by_name) = query
        .follow(&mut con, &LogFilter::all().name("web"), 10)
        .unwrap();
    let (_, mut any) = query.follow(&mut con, &LogFilter::all(), 10).unwrap();
    assert_eq!(any.lists(), 0);
    store
        .log_recent(&mut con, "web", Severity::Critical, "first")
        .unwrap();
    assert_eq!(
        messages(&query.tail_since(&mut con, &mut by_name).unwrap()),
        ["first"]
    );
    // Without a name, a new log is found by the scan of every tenth poll.
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.extend(messages(&query.tail_since(&mut con, &mut any).unwrap()));
    }
    assert_eq!(seen, ["first"]);
    // A known name's new level shows on the next poll.
    store
        .log_recent(&mut con, "web", Severity::Debug, "second")
        .unwrap();
    assert_eq!(
        messages(&query.tail_since(&mut con, &mut any).unwrap()),
        ["second"]
    );
}

#[test]
fn common_merges_sets_and_reads_the_last_hour() {
    let (_s, mut con, clock, store, query) = setup(None);
    let h0 = hour_start(clock.now());
    for _ in 0..3 {
        store
            .log_common(&mut con, "web", Severity::Warning, "slow")
            .unwrap();
    }
    store
        .log_common(&mut con, "web", Severity::Warning, "disk")
        .unwrap();
    clock.advance(Duration::from_secs(3_600));
    let h1 = hour_start(clock.now());
    for _ in 0..2 {
        store
            .log_common(&mut con, "db", Severity::Error, "timeout")
            .unwrap();
    }
    store
        .log_common(&mut con, "web", Severity::Warning, "new")
        .unwrap();

    let current = query
        .common(&mut con, &LogFilter::all(), false, 10)
        .unwrap();
    let rows: Vec<(&str, Severity, &str, u64)> = current
        .iter()
        .map(|r| (r.name.as_str(), r.level, r.message.as_str(), r.count))
        .collect();
    assert_eq!(
        rows,
        [
            ("db", Severity::Error, "timeout", 2),
            ("web", Severity::Warning, "new", 1)
        ]
    );
    assert!(current.iter().all(|r| r.hour.as_deref() == Some(&*h1)));
    assert_eq!(query.current_hour(), h1);

    let last = query.common(&mut con, &LogFilter::all(), true, 1).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!((last[0].message.as_str(), last[0].count), ("slow", 3));
    assert_eq!(last[0].hour.as_deref(), Some(&*h0));

    let errors = LogFilter::all().levels([Severity::Error]);
    let only = query.common(&mut con, &errors, false, 10).unwrap();
    assert_eq!(only.len(), 1);
    let web = LogFilter::all().name("web");
    assert_eq!(query.common(&mut con, &web, true, 10).unwrap().len(), 2);
}

#[test]
fn counters_are_listed_by_name_with_their_precisions() {
    let (_s, mut con, _clock, store, query) = setup(None);
    store.incr_counter(&mut con, "hits", 1).unwrap();
    store.incr_counter(&mut con, "a{b}%", 2).unwrap();
    let counters = query.counters(&mut con).unwrap();
    let names: Vec<&str> = counters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a{b}%", "hits"]);
    assert!(counters.iter().all(|c| c.precisions == PRECISIONS));
}

#[test]
fn counter_window_selects_buckets_and_fills_zeros_on_request() {
    let (_s, mut con, _clock, store, query) = setup(None);
    let t = |s: i64| UNIX_EPOCH + Duration::from_secs(s as u64);
    let base = 1_795_741_200; // a multiple of 300
    for (at, n) in [
        (base - 60, 7),
        (base + 10, 1),
        (base + 15, 2),
        (base + 130, 4),
    ] {
        store.incr_counter_at(&mut con, "hits", n, t(at)).unwrap();
    }
    let sparse = query
        .counter_window(&mut con, "hits", 60, t(base + 5), t(base + 200), false)
        .unwrap();
    assert_eq!(sparse, [(base, 3), (base + 120, 4)]);
    let filled = query
        .counter_window(&mut con, "hits", 60, t(base + 5), t(base + 200), true)
        .unwrap();
    assert_eq!(
        filled,
        [(base, 3), (base + 60, 0), (base + 120, 4), (base + 180, 0)]
    );
    let five = query
        .counter_window(&mut con, "hits", 5, t(base), t(base + 20), true)
        .unwrap();
    assert_eq!(
        five,
        [
            (base, 0),
            (base + 5, 0),
            (base + 10, 1),
            (base + 15, 2),
            (base + 20, 0)
        ]
    );
    let missing = query
        .counter_window(&mut con, "nothing", 300, t(base), t(base + 600), true)
        .unwrap();
    assert_eq!(missing, [(base, 0), (base + 300, 0), (base + 600, 0)]);

    for (p, since, until) in [(7, base, base + 1), (60, base + 1, base), (1, 0, base)] {
        let err = query
            .counter_window(&mut con, "hits", p, t(since), t(until), true)
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
    }
    let err = query
        .counter_window(&mut con, "hits", 1, t(0), t(base), true)
        .unwrap_err();
    assert!(err.to_string().contains("coarser precision"), "{err}");
}

#[test]
fn stats_report_this_hour_and_the_last_with_their_starts() {
    let (_s, mut con, clock, store, query) = setup(None);
    let empty = query.stats(&mut con, "GET /", "AccessTime").unwrap();
    assert_eq!((empty.current, empty.last), (None, None));

    let h0 = hour_start(clock.now());
    for v in [1.0, 3.0] {
        store
            .record_timing(&mut con, "GET /", "AccessTime", v)
            .unwrap();
    }
    let only = query.stats(&mut con, "GET /", "AccessTime").unwrap();
    let cur = only.current.unwrap();
    assert_eq!(cur.start.as_deref(), Some(&*h0));
    assert_eq!((cur.stats.count, cur.stats.mean()), (2, 2.0));
    assert!(only.last.is_none());

    clock.advance(Duration::from_secs(3_600));
    let h1 = hour_start(clock.now());
    for v in [10.0, 20.0, 30.0] {
        store
            .record_timing(&mut con, "GET /", "AccessTime", v)
            .unwrap();
    }
    let report = query.stats(&mut con, "GET /", "AccessTime").unwrap();
    let (cur, last) = (report.current.unwrap(), report.last.unwrap());
    assert_eq!(cur.start.as_deref(), Some(&*h1));
    assert_eq!(last.start.as_deref(), Some(&*h0));
    assert_eq!(
        (cur.stats.count, cur.stats.min, cur.stats.max),
        (3, 10.0, 30.0)
    );
    assert!((cur.stats.stddev() - 10.0).abs() < 1e-9);
    assert_eq!(last.stats.count, 2);

    let slowest = query.slowest(&mut con, "AccessTime", 10).unwrap();
    assert_eq!(slowest, [("GET /".to_owned(), 20.0)]);
}

#[test]
fn slowest_orders_contexts_by_mean() {
    let (_s, mut con, _clock, store, query) = setup(None);
    for (ctx, v) in [("a", 0.1), ("b", 0.5), ("c", 0.3)] {
        store.record_timing(&mut con, ctx, "AccessTime", v).unwrap();
    }
    let top: Vec<String> = query
        .slowest(&mut con, "AccessTime", 2)
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(top, ["b", "c"]);
}

#[test]
fn keys_of_the_wrong_type_are_reported_as_such() {
    let (_s, mut con, _clock, _store, query) = setup(None);
    redis::cmd("SET")
        .arg("recent:x:info")
        .arg("str")
        .exec(&mut con)
        .unwrap();
    let err = query.tail(&mut con, &LogFilter::all(), 5).unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("recent:x:info"), "{err}");
    redis::cmd("SET")
        .arg("common:{x:error}")
        .arg("str")
        .exec(&mut con)
        .unwrap();
    let err = query
        .common(&mut con, &LogFilter::all(), false, 5)
        .unwrap_err();
    assert!(err.is_wrong_type(), "{err}");
}
