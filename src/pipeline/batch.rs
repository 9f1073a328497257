//! Coalescing: a batch of records becomes a few groups of commands, built with the store's
//! own command builders so the result in Redis is the same as applying the records one by
//! one (lists keep newest-first order, counts and sums add, min and max merge).
//!
//! - recent: per key, one variadic LPUSH + LTRIM; only the newest [`RECENT_CAPACITY`]
//!   entries are formatted, since LTRIM would drop the others anyway;
//! - common: per key and hour, one script call with the summed counts;
//! - statistics: per context, type and hour, one script call with the merged summary (the
//!   means it answers go to the slowest sets afterwards: see the worker);
//! - counters: per name, one HINCRBY per (precision, bucket) with the summed increments of
//!   every second of the batch falling into that bucket, and one `known:` registration.
//!
//! Each group remembers which records it carries, so the worker can settle every record by
//! the outcome of its own writes (see [`DropReason`] for the rule). The pipeline's note about
//! drops travels in groups of its own that carry no records.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::Settings;
use super::format::{Stamps, common_member, entry};
use super::group::{Group, Write};
use super::record::Record;
use super::status::DropReason;
use crate::store::clock::unix_secs;
use crate::store::counters::bucket_start;
use crate::store::keys::Rotated;
use crate::store::recent::{LogEntry, RECENT_CAPACITY};
use crate::store::{PRECISIONS, Severity, Summary};

/// The pipeline's own note about dropped records, written once Redis is reachable. Its two
/// writes are tracked apart, so that one failing is neither lost nor written twice.
#[derive(Debug, Clone)]
pub(crate) struct DropNote {
    pub at: SystemTime,
    /// The drops not yet told in the recent log, by reason (empty: no entry to write).
    pub counts: Vec<(DropReason, u64)>,
    /// The drops not yet added to [`DROPPED_COUNTER`] (0: nothing to add).
    pub counted: u64,
}

/// The counter every drop note adds to.
pub(crate) const DROPPED_COUNTER: &str = "tracing-redis.dropped";

/// Builds the groups of `records` (and of `note`). Records that cannot become a key or value
/// are returned as dropped ([`DropReason::Invalid`]).
pub(crate) fn build(
    records: &[Record],
    settings: &Settings,
    note: Option<&DropNote>,
) -> (Vec<Group>, Vec<u32>) {
    let mut recent: BTreeMap<Severity, Vec<u32>> = BTreeMap::new();
    let mut common: BTreeMap<(Severity, i64), CommonAcc> = BTreeMap::new();
    let mut stats: BTreeMap<(String, String, bool, i64), StatsAcc> = BTreeMap::new();
    let mut counts: BTreeMap<String, CountAcc> = BTreeMap::new();
    let mut invalid = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let i = i as u32;
        match record {
            Record::Log(r) => {
                recent.entry(r.severity).or_default().push(i);
                if r.common {
                    let member = common_member(r, settings);
                    let acc = common
                        .entry((r.severity, hour_of(r.at)))
                        .or_insert_with(|| CommonAcc::new(r.at));
                    acc.add(member, i);
                }
            }
            Record::Sample(s) => {
                let (false, false, Ok(one)) = (
                    s.context.is_empty(),
                    s.kind.is_empty(),
                    Summary::one(s.value),
                ) else {
                    invalid.push(i);
                    continue;
                };
                let key = (
                    s.context.to_string(),
                    s.kind.to_string(),
                    s.slowest,
                    hour_of(s.at),
                );
                match stats.get_mut(&key) {
                    Some(acc) => {
                        acc.summary.merge(&one);
                        acc.records.push(i);
                    }
                    None => {
                        let acc = StatsAcc {
                            at: s.at,
                            summary: one,
                            records: vec![i],
                        };
                        stats.insert(key, acc);
                    }
                }
            }
            Record::Count(c) => {
                if c.name.is_empty() {
                    invalid.push(i);
                    continue;
                }
                let acc = match counts.get_mut(c.name.as_ref()) {
                    Some(acc) => acc,
                    None => counts.entry(c.name.to_string()).or_default(),
                };
                acc.add(unix_secs(c.at), c.n);
                acc.records.push(i);
            }
        }
    }

    let keys = &settings.keys;
    let mut groups = Vec::new();
    let mut stamps = Stamps::default();
    for (severity, indices) in recent {
        let Ok(key) = keys.recent(&settings.name, severity) else {
            invalid.extend(indices);
            continue;
        };
        let skip = indices.len().saturating_sub(RECENT_CAPACITY);
        let entries = indices[skip..]
            .iter()
            .filter_map(|i| match &records[*i as usize] {
                Record::Log(r) => Some(entry(r, &mut stamps).to_json()),
                _ => None,
            })
            .collect();
        groups.push(Group {
            write: Write::Recent { key, entries },
            records: indices,
        });
    }
    for ((severity, _hour), acc) in common {
        let Ok(key) = keys.common(&settings.name, severity) else {
            invalid.extend(acc.records);
            continue;
        };
        groups.push(Group {
            write: Write::Common {
                rotated: Rotated::of(key),
                at: acc.at,
                counts: acc.counts,
            },
            records: acc.records,
        });
    }
    for ((context, kind, slowest, _hour), acc) in stats {
        let (Ok(key), Ok(slowest_key)) = (keys.stats(&context, &kind), keys.slowest(&kind)) else {
            invalid.extend(acc.records);
            continue;
        };
        groups.push(Group {
            write: Write::Stats {
                rotated: Rotated::of(key),
                at: acc.at,
                summary: acc.summary,
                slowest: slowest.then_some((slowest_key, context)),
            },
            records: acc.records,
        });
    }
    for (name, acc) in counts {
        groups.push(acc.into_group(name));
    }
    if let Some(note) = note {
        groups.extend(note_group(note, settings));
        if note.counted > 0 {
            let mut acc = CountAcc::default();
            let n = i64::try_from(note.counted).unwrap_or(i64::MAX);
            acc.add(unix_secs(note.at), n);
            groups.push(acc.into_group(DROPPED_COUNTER.to_owned()));
        }
    }
    (groups, invalid)
}

/// The note's entry in the recent log at `warning` (its count goes with the other counters).
fn note_group(note: &DropNote, settings: &Settings) -> Option<Group> {
    let total: u64 = note.counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut entry = LogEntry::new(
        note.at,
        Severity::Warning,
        "tracing_redis",
        &format!("{total} events dropped"),
    );
    for (reason, n) in &note.counts {
        entry
            .fields
            .insert(reason.as_str().to_owned(), serde_json::Value::from(*n));
    }
    let key = settings
        .keys
        .recent(&settings.name, Severity::Warning)
        .ok()?;
    Some(Group {
        write: Write::Recent {
            key,
            entries: vec![entry.to_json()],
        },
        records: Vec::new(),
    })
}

/// The UTC hour of `at`, as a number that sorts like the hour (cheaper than its text).
fn hour_of(at: SystemTime) -> i64 {
    unix_secs(at).div_euclid(3600)
}

struct CommonAcc {
    at: SystemTime,
    counts: Vec<(String, u64)>,
    index: HashMap<String, usize>,
    records: Vec<u32>,
}

impl CommonAcc {
    fn new(at: SystemTime) -> Self {
        CommonAcc {
            at,
            counts: Vec::new(),
            index: HashMap::new(),
            records: Vec::new(),
        }
    }

    fn add(&mut self, member: Cow<'_, str>, record: u32) {
        self.records.push(record);
        match self.index.get(member.as_ref()) {
            Some(&i) => self.counts[i].1 += 1,
            None => {
                let member = member.into_owned();
                self.index.insert(member.clone(), self.counts.len());
                self.counts.push((member, 1));
            }
        }
    }
}

/// One counter's increments in a batch, summed per (precision, bucket start).
#[derive(Default)]
struct CountAcc {
    buckets: BTreeMap<(u64, i64), i64>,
    records: Vec<u32>,
}

impl CountAcc {
    fn add(&mut self, second: i64, n: i64) {
        for p in PRECISIONS {
            let sum = self
                .buckets
                .entry((p, bucket_start(second, p)))
                .or_default();
            *sum = sum.saturating_add(n);
        }
    }

    fn into_group(self, name: String) -> Group {
        Group {
            write: Write::Count {
                name,
                buckets: self
                    .buckets
                    .into_iter()
                    .map(|((p, bucket), n)| (p, bucket, n))
                    .collect(),
            },
            records: self.records,
        }
    }
}

struct StatsAcc {
    at: SystemTime,
    summary: Summary,
    records: Vec<u32>,
}
