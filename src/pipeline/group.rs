//! One coalesced write: what it sends (through the store's command builders), which records
//! it carries, and how to read Redis's answer to it. A statistics write of a context with a
//! slowest set calls for a second write, [`SlowestUpdate`], built from that answer.

use std::time::SystemTime;

use redis::{FromRedisValue, Pipeline, Value};

use super::Settings;
use crate::store::keys::{Keys, Rotated};
use crate::store::recent::queue_recent;
use crate::store::slowest::queue_slowest;
use crate::store::stats::Counted;
use crate::store::{PRECISIONS, Summary, common, counters, stats};

/// What one group writes.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    Recent {
        key: String,
        entries: Vec<String>,
    },
    Common {
        rotated: Rotated,
        at: SystemTime,
        counts: Vec<(String, u64)>,
    },
    Stats {
        rotated: Rotated,
        at: SystemTime,
        summary: Summary,
        /// The slowest set and the context to set there, once the statistics counted.
        slowest: Option<(String, String)>,
    },
    /// One counter: (precision, bucket start, summed increments).
    Count {
        name: String,
        buckets: Vec<(u64, i64, i64)>,
    },
}

/// One coalesced write and the records it carries (none for the pipeline's own reports).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub write: Write,
    pub records: Vec<u32>,
}

/// How Redis answered one group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// It landed; a command that failed without undoing that (a counter's `known:`
    /// registration, say) is named in the message, for the last error.
    Done(Option<String>),
    Stale,
    /// The scripts were not loaded: the group had no effect and may be sent again.
    NoScript,
    /// Nothing of it was applied; the message names the key and Redis's error.
    Failed(String),
}

impl Group {
    /// The key named in error messages.
    pub(crate) fn key(&self) -> &str {
        match &self.write {
            Write::Recent { key, .. } => key,
            Write::Common { rotated, .. } | Write::Stats { rotated, .. } => &rotated.current,
            Write::Count { name, .. } => name,
        }
    }

    fn queue(&self, pipe: &mut Pipeline, settings: &Settings) {
        match &self.write {
            Write::Recent { key, entries } => queue_recent(pipe, key, entries),
            Write::Common {
                rotated,
                at,
                counts,
            } => {
                let counts: Vec<(&str, u64)> =
                    counts.iter().map(|(m, n)| (m.as_str(), *n)).collect();
                common::queue_common(pipe, rotated, *at, settings.common_capacity, &counts);
            }
            Write::Stats {
                rotated,
                at,
                summary,
                ..
            } => stats::queue_stats(pipe, rotated, *at, summary),
            Write::Count { name, buckets } => {
                // The name was checked when the group was built.
                let _ = counters::queue_counts(pipe, &settings.keys, name, buckets);
            }
        }
    }

    /// Reads this group's replies (one per command it queued).
    pub(crate) fn reply(&self, replies: &[Value], keys: &Keys) -> Reply {
        if let Write::Count { name, buckets } = &self.write {
            return count_reply(name, buckets, replies, keys);
        }
        for v in replies {
            if let Value::ServerError(e) = v {
                if e.code() == "NOSCRIPT" {
                    return Reply::NoScript;
                }
                return Reply::Failed(refused(self.key(), e));
            }
        }
        let stale = match (&self.write, replies.first()) {
            (Write::Common { .. }, Some(Value::Int(0))) => true,
            (Write::Stats { .. }, Some(Value::Array(a))) => a.is_empty(),
            _ => false,
        };
        if stale {
            Reply::Stale
        } else {
            Reply::Done(None)
        }
    }

    /// The slowest update a landed group calls for: its context's new mean, when it has a
    /// slowest set and its samples counted into the current hour's set. `Err` names a reply
    /// that could not be read.
    pub(crate) fn slowest_update(
        &self,
        replies: &[Value],
    ) -> Result<Option<SlowestUpdate>, String> {
        let Write::Stats {
            rotated,
            slowest: Some((key, context)),
            ..
        } = &self.write
        else {
            return Ok(None);
        };
        let unreadable =
            |e: &dyn std::fmt::Display| format!("reading the reply for `{}`: {e}", rotated.current);
        let raw = replies
            .first()
            .map(Vec::<Option<String>>::from_redis_value_ref)
            .transpose()
            .map_err(|e| unreadable(&e))?
            .unwrap_or_default();
        let counted = Counted::from_reply(&rotated.current, &raw).map_err(|e| unreadable(&e))?;
        Ok(counted.filter(|c| c.current).map(|c| SlowestUpdate {
            key: key.clone(),
            context: context.clone(),
            mean: c.stats.mean(),
        }))
    }
}

/// A counter's replies: one HINCRBY per bucket, in the order `queue_counts` sends them
/// (precision by precision), then the `known:` ZADD. Each HINCRBY applies on its own (EXEC
/// does not roll back), so the increments landed if any HINCRBY did: then they must never
/// be sent again, and the failures are only reported. Only when none landed is nothing
/// applied.
fn count_reply(name: &str, buckets: &[(u64, i64, i64)], replies: &[Value], keys: &Keys) -> Reply {
    let precisions = PRECISIONS
        .iter()
        .flat_map(|p| buckets.iter().filter(move |(bp, ..)| bp == p).map(|_| *p));
    let mut landed = false;
    let mut errors = Vec::new();
    let mut commands = replies.iter();
    for p in precisions {
        match commands.next() {
            Some(Value::ServerError(e)) => {
                let key = keys.counter(p, name).unwrap_or_else(|_| name.to_owned());
                errors.push(refused(&key, e));
            }
            Some(_) => landed = true,
            None => errors.push(format!("no reply for counter `{name}` at precision {p}")),
        }
    }
    for v in commands {
        if let Value::ServerError(e) = v {
            errors.push(refused(&keys.known(), e));
        }
    }
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    match (landed, error) {
        (true, error) => Reply::Done(error),
        (false, Some(why)) => Reply::Failed(why),
        (false, None) => Reply::Failed(format!("counter `{name}` had nothing to write")),
    }
}

/// Redis's error `e` for a command on `key`, for the last error.
fn refused(key: &str, e: &redis::ServerError) -> String {
    format!(
        "writing `{key}`: {} {}",
        e.code(),
        e.details().unwrap_or_default().trim_end()
    )
    .trim_end()
    .to_owned()
}

/// Setting one context's mean in its slowest set, after its statistics landed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlowestUpdate {
    pub key: String,
    pub context: String,
    pub mean: f64,
}

/// `groups` packed into one MULTI/EXEC, and the range of command indices of each group.
pub(crate) fn pack(
    groups: &[&Group],
    settings: &Settings,
) -> (Vec<u8>, usize, Vec<std::ops::Range<usize>>) {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut ranges = Vec::with_capacity(groups.len());
    for g in groups {
        let start = pipe.len();
        g.queue(&mut pipe, settings);
        ranges.push(start..pipe.len());
    }
    (pipe.get_packed_pipeline(), pipe.len(), ranges)
}

/// `updates`, in order, packed into one MULTI/EXEC, and the range of command indices of each.
pub(crate) fn pack_slowest(
    updates: &[SlowestUpdate],
) -> (Vec<u8>, usize, Vec<std::ops::Range<usize>>) {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut ranges = Vec::with_capacity(updates.len());
    for u in updates {
        let start = pipe.len();
        queue_slowest(&mut pipe, &u.key, &u.context, u.mean);
        ranges.push(start..pipe.len());
    }
    (pipe.get_packed_pipeline(), pipe.len(), ranges)
}

impl SlowestUpdate {
    /// Reads this update's replies: the error, if Redis refused one of its commands.
    pub(crate) fn error(&self, replies: &[Value]) -> Option<String> {
        replies.iter().find_map(|v| match v {
            Value::ServerError(e) => Some(format!(
                "writing `{}`: {} {}",
                self.key,
                e.code(),
                e.details().unwrap_or_default()
            )),
            _ => None,
        })
    }
}
