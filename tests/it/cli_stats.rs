//! `stats` and `slowest`, human and JSON.

use std::time::{Duration, SystemTime};

use tracing_redis::store::clock::hour_start;
use tracing_redis::store::{ManualClock, Store};

use crate::cli_util::{cli, json, stdout};
use crate::support::RedisServer;

#[test]
fn stats_shows_this_hour_and_the_last_with_their_starts() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let t0 = SystemTime::now();
    let clock = ManualClock::new(t0 - Duration::from_secs(3_600));
    let store = Store::new().with_clock(clock.clone());
    store
        .record_timing(&mut con, "GET /", "AccessTime", 0.5)
        .unwrap();
    clock.set(t0);
    for v in [0.010, 0.020, 0.030] {
        store
            .record_timing(&mut con, "GET /", "AccessTime", v)
            .unwrap();
    }
    store.update_stats(&mut con, "queue", "Gauge", 7.0).unwrap();

    let rows = json(cli(&server), &["stats", "GET /"]);
    assert_eq!(rows.len(), 2);
    let (cur, last) = (&rows[0], &rows[1]);
    assert_eq!(
        (cur["period"].as_str(), last["period"].as_str()),
        (Some("current"), Some("last"))
    );
    assert_eq!(cur["start"], hour_start(t0).as_str());
    assert_eq!(
        last["start"],
        hour_start(t0 - Duration::from_secs(3_600)).as_str()
    );
    assert_eq!(cur["count"], 3);
    assert!((cur["mean"].as_f64().unwrap() - 0.02).abs() < 1e-12);
    assert!((cur["stddev"].as_f64().unwrap() - 0.01).abs() < 1e-12);
    assert_eq!(
        (cur["min"].as_f64(), cur["max"].as_f64()),
        (Some(0.01), Some(0.03))
    );
    assert_eq!(cur["type"], "AccessTime");
    assert_eq!(
        (last["count"].as_u64(), last["mean"].as_f64()),
        (Some(1), Some(0.5))
    );

    let text = stdout(cli(&server), &["stats", "GET /"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "GET / (AccessTime)");
    for col in ["HOUR (UTC)", "COUNT", "MEAN", "STDDEV", "MIN", "MAX"] {
        assert!(lines[1].contains(col), "{text}");
    }
    assert!(lines[2].starts_with("current  ") && lines[2].contains(&hour_start(t0)));
    assert!(
        lines[2].contains(" 3 ") && lines[2].contains("20.0 ms"),
        "{text}"
    );
    assert!(
        lines[2].contains("10.0 ms") && lines[2].contains("30.0 ms"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("last  ") && lines[3].contains("500.0 ms"),
        "{text}"
    );

    let gauge = json(cli(&server), &["stats", "queue", "--type", "Gauge"]);
    assert_eq!(gauge.len(), 1);
    assert_eq!(gauge[0]["max"], 7.0);
    let text = stdout(cli(&server), &["stats", "queue", "--type", "Gauge"]);
    assert!(text.contains("last     no data"), "{text}");
    assert!(json(cli(&server), &["stats", "nowhere"]).is_empty());
    let none = stdout(cli(&server), &["stats", "nowhere"]);
    assert_eq!(none, "nowhere (AccessTime)\nno statistics\n");
}

#[test]
fn slowest_ranks_contexts_by_mean_with_bars() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new();
    for (context, v) in [
        ("GET /", 0.010),
        ("POST /upload", 0.400),
        ("GET /search", 0.100),
    ] {
        store
            .record_timing(&mut con, context, "AccessTime", v)
            .unwrap();
    }
    let rows = json(cli(&server), &["slowest"]);
    let got: Vec<(u64, &str, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().unwrap(),
                r["context"].as_str().unwrap(),
                r["mean"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "POST /upload", 0.4),
            (2, "GET /search", 0.1),
            (3, "GET /", 0.01)
        ]
    );
    assert_eq!(json(cli(&server), &["slowest", "-n", "1"]).len(), 1);

    let text = stdout(cli(&server), &["slowest"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("POST /upload") && lines[0].contains("400.0 ms"));
    let bar = |l: &str| l.chars().filter(|c| *c == '█').count();
    assert_eq!(bar(lines[0]), 30, "the slowest has the full bar: {text}");
    assert!(
        bar(lines[0]) > bar(lines[1]) && bar(lines[1]) > bar(lines[2]),
        "{text}"
    );
    assert_eq!(
        stdout(cli(&server), &["slowest", "--type", "Histogram"]).trim(),
        "no Histogram statistics"
    );
}
