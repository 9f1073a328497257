//! Recent logs: `P:recent:<name>:<severity>`, a list of JSON entries, newest first, capped at
//! [`RECENT_CAPACITY`].

use std::sync::OnceLock;
use std::time::SystemTime;

use redis::{ConnectionLike, Pipeline};
use serde::{Deserialize, Serialize};

use super::clock::iso_millis;
use super::{Severity, Store, redis_ctx};
use crate::error::{Error, Result};

/// How many entries each recent-log list keeps.
pub const RECENT_CAPACITY: usize = 100;

/// One recent-log entry, as stored (JSON):
/// `{"ts":"2026-11-27T01:02:03.456Z","level":"info","target":"app::db","message":"…",
/// "fields":{…},"spans":["request"],"host":"web-1","pid":4242}`.
///
/// `fields` and `spans` are present only when non-empty. Entries written by other tools that
/// are not JSON read back as an entry whose `message` is the raw text.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogEntry {
    /// ISO-8601 UTC time of the event, with milliseconds.
    #[serde(default)]
    pub ts: String,
    /// Severity name (`info`, `warning`, …).
    #[serde(default)]
    pub level: String,
    /// The event's target (module path for `log` records).
    #[serde(default)]
    pub target: String,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// Structured fields other than the message.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Names of the spans the event happened in, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<String>,
    /// Host name of the emitting process.
    #[serde(default)]
    pub host: String,
    /// Process id of the emitting process.
    #[serde(default)]
    pub pid: u32,
}

impl LogEntry {
    /// An entry at time `at` with this process's host and pid.
    pub fn new(at: SystemTime, severity: Severity, target: &str, message: &str) -> Self {
        LogEntry {
            ts: iso_millis(at),
            level: severity.as_str().to_owned(),
            target: target.to_owned(),
            message: message.to_owned(),
            fields: serde_json::Map::new(),
            spans: Vec::new(),
            host: host_name().to_owned(),
            pid: std::process::id(),
        }
    }

    /// The entry as its stored JSON text.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored entry; text that is not a JSON entry becomes the message.
    pub fn from_stored(raw: &str) -> Self {
        serde_json::from_str(raw).unwrap_or_else(|_| LogEntry {
            message: raw.to_owned(),
            ..LogEntry::default()
        })
    }
}

/// This machine's host name, looked up once.
pub(crate) fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}

/// Queues the push of `entries` (oldest first, as JSON) to `key` and the trim to capacity:
/// one variadic LPUSH leaves the last entry at the head, exactly as one LPUSH per entry would.
pub(crate) fn queue_recent(pipe: &mut Pipeline, key: &str, entries: &[String]) {
    if entries.is_empty() {
        return;
    }
    pipe.cmd("LPUSH").arg(key).arg(entries).ignore();
    pipe.cmd("LTRIM")
        .arg(key)
        .arg(0)
        .arg(RECENT_CAPACITY as i64 - 1)
        .ignore();
}

impl Store {
    /// Pushes `message` to the recent log of `name` at `severity`, stamped with the store's
    /// clock, and trims the list to [`RECENT_CAPACITY`]. Synchronous: one round trip.
    ///
    /// # Errors
    ///
    /// An empty `name`; any Redis error (e.g. `WRONGTYPE` when the key is not a list).
    pub fn log_recent(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        severity: Severity,
        message: &str,
    ) -> Result<()> {
        let entry = LogEntry::new(self.clock().now(), severity, name, message);
        self.push_recent(con, name, severity, &entry)
    }

    /// Pushes a prepared entry (see [`Store::log_recent`]).
    ///
    /// # Errors
    ///
    /// As [`Store::log_recent`].
    pub fn push_recent(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        severity: Severity,
        entry: &LogEntry,
    ) -> Result<()> {
        let key = self.keys().recent(name, severity)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        queue_recent(&mut pipe, &key, &[entry.to_json()]);
        redis_ctx(
            || format!("writing recent log `{key}`"),
            pipe.query::<()>(con),
        )
    }

    /// The newest `n` entries of the recent log of `name` at `severity`, newest first.
    ///
    /// # Errors
    ///
    /// An empty `name`; any Redis error.
    pub fn recent(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        severity: Severity,
        n: usize,
    ) -> Result<Vec<LogEntry>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys().recent(name, severity)?;
        let stop = i64::try_from(n).map_err(|_| Error::invalid_input("count too large"))? - 1;
        let raw: Vec<String> = redis_ctx(
            || format!("reading recent log `{key}`"),
            redis::cmd("LRANGE").arg(&key).arg(0).arg(stop).query(con),
        )?;
        Ok(raw.iter().map(|r| LogEntry::from_stored(r)).collect())
    }
}
