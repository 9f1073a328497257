//! `counters`, `counter` and `clean-counters`, human and JSON.

use std::time::{Duration, SystemTime};

use tracing_redis::store::{PRECISIONS, Store};

use crate::cli_util::{cli, json, stdout};
use crate::support::RedisServer;

fn fill(server: &RedisServer) -> SystemTime {
    let mut con = server.connection();
    let store = Store::new();
    let now = SystemTime::now();
    for (ago, n) in [(30, 5), (95, 2), (200, 4)] {
        store
            .incr_counter_at(&mut con, "hits", n, now - Duration::from_secs(ago))
            .unwrap();
    }
    store.incr_counter(&mut con, "GET /a{b}", 1).unwrap();
    now
}

#[test]
fn counters_lists_names_with_precisions() {
    let server = RedisServer::start();
    fill(&server);
    let rows = json(cli(&server), &["counters"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "GET /a{b}");
    assert_eq!(rows[1]["name"], "hits");
    assert_eq!(rows[1]["precisions"], serde_json::json!(PRECISIONS));

    let text = stdout(cli(&server), &["counters"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("NAME") && lines[0].ends_with("PRECISIONS"));
    assert_eq!(lines[2], "hits       1s 5s 1m 5m 1h 5h 1d");

    let empty = RedisServer::start();
    assert_eq!(
        stdout(cli(&empty), &["counters"]).trim(),
        "no known counters"
    );
    assert!(json(cli(&empty), &["counters"]).is_empty());
}

#[test]
fn counter_prints_every_bucket_of_the_window() {
    let server = RedisServer::start();
    fill(&server);

    let rows = json(cli(&server), &["counter", "hits", "--precision", "1m"]);
    // 10 minutes at 1 minute: the buckets from the one holding now − 10 min to now's.
    assert_eq!(rows.len(), 11);
    assert!(
        rows.iter()
            .all(|r| r["name"] == "hits" && r["precision"] == 60)
    );
    let total: i64 = rows.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 11);
    let starts: Vec<i64> = rows.iter().map(|r| r["start"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[1] - w[0] == 60), "{starts:?}");
    assert!(rows[0]["time"].as_str().unwrap().ends_with(":00Z"));

    // `auto` picks the finest precision whose 120 kept buckets cover the window.
    let auto = json(cli(&server), &["counter", "hits"]);
    assert_eq!(auto.len(), 121);
    assert_eq!(auto[0]["precision"], 5);
    let hour = json(
        cli(&server),
        &["counter", "hits", "--since", "1h", "--sparse"],
    );
    assert!(hour.iter().all(|r| r["precision"] == 60 && r["count"] != 0));
    let sparse = json(
        cli(&server),
        &[
            "counter",
            "hits",
            "--since",
            "2m",
            "--precision",
            "1s",
            "--sparse",
        ],
    );
    let counts: Vec<i64> = sparse
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [2, 5]);

    let text = stdout(cli(&server), &["counter", "hits", "--precision", "1m"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "hits per 1m over the last 10m");
    assert_eq!(
        lines.len(),
        12,
        "values only, no chart off a terminal: {text}"
    );
    assert!(!text.contains('│') && !text.contains('\u{1b}'), "{text}");
    let nothing = stdout(
        cli(&server),
        &["counter", "nothing", "--since", "1m", "--precision", "1m"],
    );
    assert!(nothing.ends_with("no counts in this window\n"), "{nothing}");
}

#[test]
fn clean_counters_once_reports_the_pass() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new();
    // Thirty days old: older than 120 buckets at every precision below one day.
    let old = SystemTime::now() - Duration::from_secs(30 * 86_400);
    store.incr_counter_at(&mut con, "old", 1, old).unwrap();

    let report = json(cli(&server), &["clean-counters", "--once"]);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["pass"], 0);
    assert_eq!(report[0]["visited"], 7);
    assert_eq!(report[0]["buckets_deleted"], 6);
    assert_eq!(report[0]["forgotten"], 6);
    assert!(report[0]["at"].is_string());
    let left = json(cli(&server), &["counters"]);
    assert_eq!(left[0]["precisions"], serde_json::json!([86_400]));

    let text = stdout(cli(&server), &["clean-counters", "--once"]);
    assert!(
        text.trim_end()
            .ends_with("pass 0: visited 1 counters, deleted 0 buckets, forgot 0 idle counters"),
        "{text}"
    );
}
