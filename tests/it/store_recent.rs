//! Recent logs on the exact keys of the schema.

use std::time::{Duration, UNIX_EPOCH};

use redis::Connection;
use tracing_redis::store::{LogEntry, ManualClock, RECENT_CAPACITY, Severity, Store};

use crate::support::RedisServer;

/// 2026-11-27T01:02:03.456Z
const T: u64 = 1_795_741_323_456;

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(T))
}

fn key_type(con: &mut Connection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query(con).unwrap()
}

#[test]
fn an_entry_is_one_json_object_on_the_schema_key() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(clock());

    store
        .log_recent(&mut con, "web", Severity::Info, "started")
        .unwrap();

    assert_eq!(key_type(&mut con, "recent:web:info"), "list");
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg("recent:web:info")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(raw.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(json["ts"], "2026-11-27T01:02:03.456Z");
    assert_eq!(json["level"], "info");
    assert_eq!(json["message"], "started");
    assert_eq!(json["pid"], std::process::id());
    assert!(
        json["host"].as_str().is_some_and(|h| !h.is_empty()),
        "{json}"
    );
    // Fields and spans only when present.
    assert!(
        json.get("fields").is_none() && json.get("spans").is_none(),
        "{json}"
    );

    let back = store.recent(&mut con, "web", Severity::Info, 10).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].message, "started");
    assert_eq!(back[0].ts, "2026-11-27T01:02:03.456Z");
    assert_eq!(back[0].level, "info");
}

#[test]
fn newest_first_and_capped_at_capacity() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = clock();
    let store = Store::new().with_clock(clock.clone());
    let total = RECENT_CAPACITY + 5;
    for i in 0..total {
        store
            .log_recent(&mut con, "app", Severity::Error, &format!("m{i}"))
            .unwrap();
        clock.advance(Duration::from_millis(1));
    }

    let len: usize = redis::cmd("LLEN")
        .arg("recent:app:error")
        .query(&mut con)
        .unwrap();
    assert_eq!(len, RECENT_CAPACITY);
    let top: Vec<String> = store
        .recent(&mut con, "app", Severity::Error, 3)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(top, ["m104", "m103", "m102"]);
    let all = store
        .recent(&mut con, "app", Severity::Error, 1000)
        .unwrap();
    assert_eq!(all.len(), RECENT_CAPACITY);
    assert_eq!(all.last().unwrap().message, "m5");
    assert!(all.windows(2).all(|w| w[0].ts > w[1].ts), "newest first");
    assert!(
        store
            .recent(&mut con, "app", Severity::Error, 0)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn severities_and_namespaces_are_separate_keys() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let plain = Store::new().with_clock(clock());
    let ns = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(clock());

    ns.log_recent(&mut con, "web", Severity::Warning, "ns only")
        .unwrap();
    plain
        .log_recent(&mut con, "web", Severity::Critical, "plain only")
        .unwrap();

    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["ns:recent:web:warning", "recent:web:critical"]);
    assert!(
        plain
            .recent(&mut con, "web", Severity::Warning, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ns.recent(&mut con, "web", Severity::Warning, 10).unwrap()[0].message,
        "ns only"
    );
}

#[test]
fn prepared_entries_keep_fields_and_spans() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new().with_clock(clock());
    let mut entry = LogEntry::new(
        UNIX_EPOCH + Duration::from_millis(T),
        Severity::Debug,
        "app::db",
        "query",
    );
    entry
        .fields
        .insert("rows".into(), serde_json::Value::from(3));
    entry.spans = vec!["request".into(), "db_query".into()];

    store
        .push_recent(&mut con, "app", Severity::Debug, &entry)
        .unwrap();

    let raw: String = redis::cmd("LINDEX")
        .arg("recent:app:debug")
        .arg(0)
        .query(&mut con)
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(json["target"], "app::db");
    assert_eq!(json["fields"]["rows"], 3);
    assert_eq!(json["spans"], serde_json::json!(["request", "db_query"]));
    let back = store.recent(&mut con, "app", Severity::Debug, 1).unwrap();
    assert_eq!(back, [entry]);
}

#[test]
fn entries_written_by_other_tools_read_back_as_text() {
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("LPUSH")
        .arg("recent:legacy:info")
        .arg("plain text line")
        .exec(&mut con)
        .unwrap();
    let back = Store::new()
        .recent(&mut con, "legacy", Severity::Info, 5)
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].message, "plain text line");
}
