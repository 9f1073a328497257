//! Recent logs merged across names and severities by timestamp, and followed: a
//! [`TailCursor`] remembers each list as last read, so a later read returns only what was
//! pushed since.
//!
//! The lists carry no sequence numbers and several entries can share a millisecond (even
//! with the same text), so new entries are not found by time. A list only ever grows at its
//! head and is trimmed at its tail, so what was pushed since the last read is the shortest
//! head whose removal leaves a prefix of the list as it was read before.

use std::collections::{BTreeMap, BTreeSet};

use redis::ConnectionLike;

use super::{Query, scan};
use crate::error::{Error, Result};
use crate::store::{LogEntry, RECENT_CAPACITY, Severity};

/// How many polls of a [`TailCursor`] without a name pass between two scans for new logs.
const RESCAN_EVERY: u64 = 10;

/// Which recent logs to read: one name or all, some severities or all.
///
/// ```
/// use tracing_redis::query::LogFilter;
/// use tracing_redis::store::Severity;
///
/// let f = LogFilter::all().name("web").levels([Severity::Error]);
/// assert_eq!(f.name.as_deref(), Some("web"));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this log name; every name found by `SCAN` when `None`.
    pub name: Option<String>,
    /// Only these severities; all of them when empty.
    pub levels: Vec<Severity>,
}

impl LogFilter {
    /// Every name, every severity.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only log `name`.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only these severities (all of them when empty).
    #[must_use]
    pub fn levels(mut self, levels: impl IntoIterator<Item = Severity>) -> Self {
        self.levels = levels.into_iter().collect();
        self
    }

    pub(super) fn severities(&self) -> Vec<Severity> {
        if self.levels.is_empty() {
            Severity::ALL.to_vec()
        } else {
            let set: BTreeSet<Severity> = self.levels.iter().copied().collect();
            set.into_iter().collect()
        }
    }

    pub(super) fn matches_level(&self, level: Severity) -> bool {
        self.levels.is_empty() || self.levels.contains(&level)
    }
}

/// A recent-log entry with the log it was read from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct TailEntry {
    /// The log name (from the key).
    pub name: String,
    /// The severity (from the key).
    pub level: Severity,
    /// The parsed entry.
    pub entry: LogEntry,
    /// The entry as stored.
    pub raw: String,
}

/// Where a follow stands: each followed list as last read. Made by [`Query::follow`],
/// advanced by [`Query::tail_since`].
#[derive(Debug, Clone)]
pub struct TailCursor {
    filter: LogFilter,
    lists: BTreeMap<String, Tracked>,
    polls: u64,
}

#[derive(Debug, Clone)]
struct Tracked {
    name: String,
    level: Severity,
    /// Newest first, as stored.
    entries: Vec<String>,
}

impl TailCursor {
    /// How many lists are followed.
    pub fn lists(&self) -> usize {
        self.lists.len()
    }
}

impl Query {
    /// Names that have a recent log, sorted, found by `SCAN`.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn log_names(&self, con: &mut dyn ConnectionLike) -> Result<Vec<String>> {
        let names: BTreeSet<String> = self
            .recent_keys(con, &LogFilter::all())?
            .into_iter()
            .map(|(_, name, _)| name)
            .collect();
        Ok(names.into_iter().collect())
    }

    /// The `n` newest entries of the recent logs `filter` selects, merged by timestamp,
    /// newest last.
    ///
    /// # Errors
    ///
    /// An empty name; any Redis error (e.g. `WRONGTYPE` when a key is not a list).
    pub fn tail(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
        n: usize,
    ) -> Result<Vec<TailEntry>> {
        let mut out = Vec::new();
        for (key, name, level) in self.recent_keys(con, filter)? {
            let raw = read_list(con, &key, n)?;
            out.extend(raw.into_iter().rev().map(|r| entry(&name, level, r)));
        }
        Ok(newest(out, n))
    }

    /// Like [`Query::tail`], and a cursor from which [`Query::tail_since`] returns only the
    /// entries pushed after this call.
    ///
    /// # Errors
    ///
    /// As [`Query::tail`].
    pub fn follow(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
        n: usize,
    ) -> Result<(Vec<TailEntry>, TailCursor)> {
        let mut cursor = TailCursor {
            filter: filter.clone(),
            lists: BTreeMap::new(),
            polls: 0,
        };
        let mut out = Vec::new();
        for (key, name, level) in self.followed_keys(con, filter)? {
            let raw = read_list(con, &key, RECENT_CAPACITY)?;
            out.extend(raw.iter().rev().map(|r| entry(&name, level, r.clone())));
            cursor.lists.insert(
                key,
                Tracked {
                    name,
                    level,
                    entries: raw,
                },
            );
        }
        Ok((newest(out, n), cursor))
    }

    /// The entries pushed to the followed lists since the cursor last read them, merged by
    /// timestamp, newest last. Without a name in the filter, names that appeared since are
    /// picked up every tenth call (a `SCAN`), with all their entries. If more than
    /// [`RECENT_CAPACITY`] entries were pushed to one list between two calls, the overflow
    /// is gone from Redis and not returned.
    ///
    /// # Errors
    ///
    /// Any Redis error; the cursor stays usable.
    pub fn tail_since(
        &self,
        con: &mut dyn ConnectionLike,
        cursor: &mut TailCursor,
    ) -> Result<Vec<TailEntry>> {
        cursor.polls = cursor.polls.wrapping_add(1);
        if cursor.filter.name.is_none() && cursor.polls.is_multiple_of(RESCAN_EVERY) {
            for (key, name, level) in self.followed_keys(con, &cursor.filter)? {
                cursor.lists.entry(key).or_insert(Tracked {
                    name,
                    level,
                    entries: Vec::new(),
                });
            }
        }
        let probes = probe(con, cursor.lists.keys())?;
        let mut out = Vec::new();
        for (i, (key, tracked)) in cursor.lists.iter_mut().enumerate() {
            if probes
                .as_ref()
                .and_then(|p| p.get(i))
                .is_some_and(|p| p.matches(&tracked.entries))
            {
                continue;
            }
            let raw = read_list(con, key, RECENT_CAPACITY)?;
            let fresh = pushed_since(&tracked.entries, &raw);
            out.extend(
                raw[..fresh]
                    .iter()
                    .rev()
                    .map(|r| entry(&tracked.name, tracked.level, r.clone())),
            );
            tracked.entries = raw;
        }
        let n = out.len();
        Ok(newest(out, n))
    }

    /// The lists a follow watches: every selected severity of the name, or of each name
    /// found, so that a name's first entry at another severity shows at once.
    fn followed_keys(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
    ) -> Result<Vec<(String, String, Severity)>> {
        let names = match &filter.name {
            Some(name) => vec![name.clone()],
            None => self.log_names(con)?,
        };
        let keys = self.store().keys();
        let mut out = Vec::new();
        for name in names {
            for level in filter.severities() {
                out.push((keys.recent(&name, level)?, name.clone(), level));
            }
        }
        Ok(out)
    }

    /// (key, decoded name, severity) of the recent logs `filter` selects, sorted by key.
    fn recent_keys(
        &self,
        con: &mut dyn ConnectionLike,
        filter: &LogFilter,
    ) -> Result<Vec<(String, String, Severity)>> {
        let keys = self.store().keys();
        if let Some(name) = &filter.name {
            let mut found = filter
                .severities()
                .into_iter()
                .map(|s| Ok((keys.recent(name, s)?, name.clone(), s)))
                .collect::<Result<Vec<_>>>()?;
            // The same order as when scanning, so entries of one millisecond tie alike.
            found.sort();
            return Ok(found);
        }
        let found: BTreeMap<String, (String, Severity)> = scan(con, &keys.recent_pattern())?
            .into_iter()
            .filter_map(|k| {
                let (name, level) = keys.parse_recent(&k)?;
                filter.matches_level(level).then_some((k, (name, level)))
            })
            .collect();
        Ok(found.into_iter().map(|(k, (n, l))| (k, n, l)).collect())
    }
}

/// Entries compared at each end of a list to tell it unchanged without reading it all.
const PROBE: usize = 4;

/// A list's length and the entries at both of its ends.
struct Probe {
    len: usize,
    head: Vec<String>,
    tail: Vec<String>,
}

impl Probe {
    /// Whether the list still is `before` (newest first, as last read). A push changes the
    /// length below capacity and shifts the oldest entries at capacity, so only a list that
    /// is one run of identical entries at both ends could change unseen.
    fn matches(&self, before: &[String]) -> bool {
        self.len == before.len()
            && self.head == before[..PROBE.min(before.len())]
            && self.tail == before[before.len().saturating_sub(PROBE)..]
    }
}

/// Probes every list in one round trip. `None` when a list cannot be probed (a key of
/// another type): the caller then reads each list and reports which key failed.
fn probe<'a>(
    con: &mut dyn ConnectionLike,
    keys: impl Iterator<Item = &'a String>,
) -> Result<Option<Vec<Probe>>> {
    let mut pipe = redis::pipe();
    let last = -(PROBE as i64);
    for key in keys {
        pipe.cmd("LLEN").arg(key);
        pipe.cmd("LRANGE").arg(key).arg(0).arg(-last - 1);
        pipe.cmd("LRANGE").arg(key).arg(last).arg(-1);
    }
    match pipe.query::<Vec<(usize, Vec<String>, Vec<String>)>>(con) {
        Ok(replies) => Ok(Some(
            replies
                .into_iter()
                .map(|(len, head, tail)| Probe { len, head, tail })
                .collect(),
        )),
        Err(e) if crate::error::is_connection_error(&e) => {
            Err(Error::redis(e, "probing recent logs"))
        }
        Err(_) => Ok(None),
    }
}

fn read_list(con: &mut dyn ConnectionLike, key: &str, n: usize) -> Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let stop = i64::try_from(n).unwrap_or(i64::MAX) - 1;
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(stop)
        .query(con)
        .map_err(|e| Error::redis(e, format!("reading recent log `{key}`")))
}

fn entry(name: &str, level: Severity, raw: String) -> TailEntry {
    TailEntry {
        name: name.to_owned(),
        level,
        entry: LogEntry::from_stored(&raw),
        raw,
    }
}

/// Sorts by timestamp (stable: entries of one list keep their order) and keeps the newest `n`.
fn newest(mut entries: Vec<TailEntry>, n: usize) -> Vec<TailEntry> {
    entries.sort_by(|a, b| a.entry.ts.cmp(&b.entry.ts));
    let skip = entries.len().saturating_sub(n);
    entries.split_off(skip)
}

/// How many entries at the head of `now` (newest first) were pushed after `before` was read:
/// the smallest `k` such that `now[k..]` is a prefix of `before`.
fn pushed_since(before: &[String], now: &[String]) -> usize {
    (0..=now.len())
        .find(|&k| {
            let rest = &now[k..];
            rest.len() <= before.len() && rest == &before[..rest.len()]
        })
        .unwrap_or(now.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pushed_since_counts_the_new_head() {
        assert_eq!(pushed_since(&v(&[]), &v(&["a", "b"])), 2);
        assert_eq!(pushed_since(&v(&["a", "b"]), &v(&["a", "b"])), 0);
        assert_eq!(pushed_since(&v(&["a", "b"]), &v(&["c", "a", "b"])), 1);
        // Identical entries (same millisecond, same text) are still counted.
        assert_eq!(pushed_since(&v(&["a"]), &v(&["a", "a"])), 1);
        assert_eq!(pushed_since(&v(&["a", "a"]), &v(&["a", "a", "a"])), 1);
        // Trimmed at the tail: [c, a] after [a, b] with capacity 2.
        assert_eq!(pushed_since(&v(&["a", "b"]), &v(&["c", "a"])), 1);
        // Everything replaced.
        assert_eq!(pushed_since(&v(&["a", "b"]), &v(&["c", "d"])), 2);
        // Deleted.
        assert_eq!(pushed_since(&v(&["a", "b"]), &v(&[])), 0);
    }

    #[test]
    fn a_probe_sees_pushes_below_and_at_capacity() {
        let before = v(&["d", "c", "b", "a", "z", "y"]);
        let probe = |len, head: &[&str], tail: &[&str]| Probe {
            len,
            head: v(head),
            tail: v(tail),
        };
        assert!(probe(6, &["d", "c", "b", "a"], &["b", "a", "z", "y"]).matches(&before));
        // One more entry below capacity: the length says so.
        assert!(!probe(7, &["e", "d", "c", "b"], &["b", "a", "z", "y"]).matches(&before));
        // At capacity (trimmed to 6): the oldest end moved.
        assert!(!probe(6, &["d", "d", "c", "b"], &["c", "b", "a", "z"]).matches(&before));
        assert!(probe(2, &["b", "a"], &["b", "a"]).matches(&v(&["b", "a"])));
        assert!(probe(0, &[], &[]).matches(&[]));
    }

    #[test]
    fn newest_keeps_the_last_n_by_time() {
        let e = |ts: &str, m: &str| TailEntry {
            name: "n".into(),
            level: Severity::Info,
            entry: LogEntry {
                ts: ts.into(),
                message: m.into(),
                ..LogEntry::default()
            },
            raw: String::new(),
        };
        let got = newest(vec![e("3", "c"), e("1", "a"), e("2", "b"), e("2", "b2")], 3);
        let msgs: Vec<&str> = got.iter().map(|t| t.entry.message.as_str()).collect();
        assert_eq!(msgs, ["b", "b2", "c"]);
    }
}
