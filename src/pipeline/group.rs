//! One coalesced write: what it sends (through the store's command builders), which records
//! it carries, and how to read Redis's answer to it.

use std::time::SystemTime;

use redis::{Pipeline, Value};

use super::Settings;
use crate::store::keys::Rotated;
use crate::store::recent::queue_recent;
use crate::store::{SLOWEST_CAPACITY, Summary, common, counters, stats};

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
    Done,
    Stale,
    /// The scripts were not loaded: the group had no effect and may be sent again.
    NoScript,
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
                slowest,
            } => {
                let slowest = slowest
                    .as_ref()
                    .map(|(key, context)| (key.as_str(), context.as_str(), SLOWEST_CAPACITY));
                stats::queue_stats(pipe, rotated, *at, summary, slowest);
            }
            Write::Count { name, buckets } => {
                // The name was checked when the group was built.
                let _ = counters::queue_counts(pipe, &settings.keys, name, buckets);
            }
        }
    }

    /// Reads this group's replies (one per command it queued).
    pub(crate) fn reply(&self, replies: &[Value]) -> Reply {
        for v in replies {
            if let Value::ServerError(e) = v {
                if e.code() == "NOSCRIPT" {
                    return Reply::NoScript;
                }
                let detail = e.details().unwrap_or_default();
                return Reply::Failed(format!("{} {detail}", e.code()));
            }
        }
        let stale = match (&self.write, replies.first()) {
            (Write::Common { .. }, Some(Value::Int(0))) => true,
            (Write::Stats { .. }, Some(Value::Array(a))) => a.is_empty(),
            _ => false,
        };
        if stale { Reply::Stale } else { Reply::Done }
    }
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
