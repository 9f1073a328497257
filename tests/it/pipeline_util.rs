//! Helpers shared by the pipeline tests.
#![allow(dead_code)]

use std::time::Duration;

use tracing_redis::Builder;
use tracing_redis::store::{LogEntry, Severity, Store};

use crate::support::RedisServer;

/// How long a test waits on a flush before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// 2026-11-27T01:02:03.456Z
pub const T0: f64 = 1_795_741_323.456;

/// A builder writing to `server` under log name `app`, reconnecting quickly.
pub fn builder(server: &RedisServer) -> Builder {
    tracing_redis::builder()
        .url(server.url())
        .name("app")
        .backoff(Duration::from_millis(10), Duration::from_millis(200))
}

/// The whole recent log of `app` at `severity`, newest first.
pub fn recent(server: &RedisServer, severity: Severity) -> Vec<LogEntry> {
    Store::new()
        .recent(&mut server.connection(), "app", severity, 1_000)
        .unwrap()
}

/// The current common-log set of `app` at `severity`, most frequent first.
pub fn common(server: &RedisServer, severity: Severity) -> Vec<(String, u64)> {
    Store::new()
        .common(&mut server.connection(), "app", severity, 1_000)
        .unwrap()
        .current
        .messages
}

/// The sum of all scores of a sorted set.
pub fn zsum(server: &RedisServer, key: &str) -> f64 {
    let v: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut server.connection())
        .unwrap();
    v.iter().map(|(_, s)| s).sum()
}

/// Sum over the buckets of counter `name` at 1 s precision.
pub fn counter_total(server: &RedisServer, name: &str) -> i64 {
    Store::new()
        .counter(&mut server.connection(), name, 1)
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}
