//! `tail` and `common`, human and JSON, against a server filled through the store.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tracing_redis::store::clock::hour_start;
use tracing_redis::store::{Clock, LogEntry, ManualClock, Severity, Store};

use crate::cli_util::{cli, json, parse_lines, stdout};
use crate::support::RedisServer;

fn fill_recent(server: &RedisServer, store: &Store, clock: &ManualClock) {
    let mut con = server.connection();
    store
        .log_recent(&mut con, "web", Severity::Info, "started")
        .unwrap();
    clock.advance(Duration::from_millis(10));
    let mut entry = LogEntry::new(clock.now(), Severity::Warning, "app::db", "slow query");
    entry.fields.insert("ms".into(), 250.into());
    entry.spans = vec!["request".into(), "db".into()];
    store
        .push_recent(&mut con, "web", Severity::Warning, &entry)
        .unwrap();
    clock.advance(Duration::from_millis(10));
    store
        .log_recent(&mut con, "db{main}", Severity::Error, "connection lost")
        .unwrap();
    clock.advance(Duration::from_millis(10));
    store
        .log_recent(&mut con, "web", Severity::Info, "request done")
        .unwrap();
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect()
}

#[test]
fn tail_merges_levels_newest_last_in_both_views() {
    let server = RedisServer::start();
    let clock = ManualClock::new(SystemTime::now());
    let store = Store::new().with_clock(clock.clone());
    fill_recent(&server, &store, &clock);

    let lines = json(cli(&server), &["tail"]);
    assert_eq!(
        messages(&lines),
        ["started", "slow query", "connection lost", "request done"]
    );
    assert_eq!(lines[1]["name"], "web");
    assert_eq!(lines[1]["level"], "warning");
    assert_eq!(lines[1]["fields"]["ms"], 250);
    assert_eq!(lines[1]["spans"], serde_json::json!(["request", "db"]));
    assert_eq!(lines[2]["name"], "db{main}");
    assert!(lines[0]["ts"].as_str().unwrap() < lines[3]["ts"].as_str().unwrap());

    let text = stdout(cli(&server), &["tail"]);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[0].ends_with("info     web: started"), "{text}");
    assert!(
        rows[1].ends_with("warning  web: slow query ms=250 [request > db]"),
        "{text}"
    );
    assert!(
        rows[2].contains("error    db{main}: connection lost"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour off a terminal: {text:?}"
    );

    let newest = json(cli(&server), &["tail", "-n", "2"]);
    assert_eq!(messages(&newest), ["connection lost", "request done"]);
    let web = json(
        cli(&server),
        &["tail", "--name", "web", "--level", "warning,error"],
    );
    assert_eq!(messages(&web), ["slow query"]);
    let both = json(
        cli(&server),
        &["tail", "--level", "warning", "--level", "error"],
    );
    assert_eq!(messages(&both), ["slow query", "connection lost"]);
}

#[test]
fn tail_reads_the_namespace_given_and_says_when_empty() {
    let server = RedisServer::start();
    let mut con = server.connection();
    Store::new()
        .with_namespace("demo")
        .unwrap()
        .log_recent(&mut con, "web", Severity::Info, "in demo")
        .unwrap();
    assert_eq!(stdout(cli(&server), &["tail"]).trim(), "no recent logs");
    assert!(json(cli(&server), &["tail"]).is_empty());
    let lines = json(cli(&server), &["--namespace", "demo", "tail"]);
    assert_eq!(messages(&lines), ["in demo"]);
}

/// Kills the child when the test ends, also on a failed assertion.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn follow_prints_each_new_entry_once() {
    let server = RedisServer::start();
    let clock = ManualClock::new(SystemTime::now());
    let store = Store::new().with_clock(clock.clone());
    let mut con = server.connection();
    store
        .log_recent(&mut con, "web", Severity::Info, "old")
        .unwrap();

    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_tracing-redis"))
            .env_remove("REDIS_URL")
            .args(["--url", &server.url(), "--json", "tail", "--follow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from tail --follow within 10 s");
        parse_lines(&line).remove(0)
    };
    assert_eq!(next()["message"], "old");

    // Two identical entries of one millisecond, another level, another name.
    clock.advance(Duration::from_millis(3));
    for _ in 0..2 {
        store
            .log_recent(&mut con, "web", Severity::Info, "dup")
            .unwrap();
    }
    store
        .log_recent(&mut con, "web", Severity::Error, "err")
        .unwrap();
    let mut got: Vec<String> = (0..3)
        .map(|_| next()["message"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["dup", "dup", "err"]);

    // Nothing is printed twice: the next line is the next entry.
    clock.advance(Duration::from_millis(3));
    store
        .log_recent(&mut con, "web", Severity::Warning, "end")
        .unwrap();
    assert_eq!(next()["message"], "end");
}

fn fill_common(server: &RedisServer, t0: SystemTime) {
    let mut con = server.connection();
    let clock = ManualClock::new(t0 - Duration::from_secs(3_600));
    let store = Store::new().with_clock(clock.clone());
    for _ in 0..4 {
        store
            .log_common(&mut con, "web", Severity::Warning, "old news")
            .unwrap();
    }
    clock.set(t0);
    for (name, level, msg, n) in [
        ("web", Severity::Warning, "disk almost full", 3),
        ("web", Severity::Warning, "slow\nquery", 1),
        ("db", Severity::Error, "timeout", 2),
    ] {
        for _ in 0..n {
            store.log_common(&mut con, name, level, msg).unwrap();
        }
    }
}

#[test]
fn common_lists_messages_with_counts_and_hours() {
    let server = RedisServer::start();
    let t0 = SystemTime::now();
    fill_common(&server, t0);
    let (h0, h_prev) = (hour_start(t0), hour_start(t0 - Duration::from_secs(3_600)));

    let rows = json(cli(&server), &["common"]);
    let got: Vec<(&str, &str, &str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("web", "warning", "disk almost full", 3),
            ("db", "error", "timeout", 2),
            ("web", "warning", "slow\nquery", 1)
        ]
    );
    assert!(rows.iter().all(|r| r["hour"] == h0.as_str()), "{rows:?}");
    assert!(rows.iter().all(|r| r["this_hour"].is_boolean()));

    let last = json(cli(&server), &["common", "--last"]);
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0]["message"].as_str(), last[0]["count"].as_u64()),
        (Some("old news"), Some(4))
    );
    assert_eq!(last[0]["hour"], h_prev.as_str());

    assert_eq!(json(cli(&server), &["common", "-n", "1"]).len(), 1);
    let errors = json(cli(&server), &["common", "--level", "error"]);
    assert_eq!(messages(&errors), ["timeout"]);
    let web = json(cli(&server), &["common", "--name", "web", "-n", "5"]);
    assert_eq!(messages(&web), ["disk almost full", "slow\nquery"]);

    let text = stdout(cli(&server), &["common"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].contains("COUNT") && lines[0].contains("MESSAGE"),
        "{text}"
    );
    assert!(
        lines[1].trim_start().starts_with("3  warning  web"),
        "{text}"
    );
    assert!(
        lines[1].contains(&h0) && lines[1].ends_with("disk almost full"),
        "{text}"
    );
    assert!(
        lines[3].ends_with("slow⏎query"),
        "one line per message: {text}"
    );
    let none = stdout(cli(&server), &["common", "--name", "nobody"]);
    assert_eq!(none.trim(), "no common logs for this hour");
}
