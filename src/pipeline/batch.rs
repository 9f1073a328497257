//! Coalescing: a batch of records becomes a few groups of commands, built with the store's
//! own command builders so the result in Redis is the same as applying the records one by
//! one (lists keep newest-first order, counts and sums add, min and max merge).
//!
//! - recent: per key, one variadic LPUSH + LTRIM; only the newest [`RECENT_CAPACITY`]
//!   entries are formatted, since LTRIM would drop the others anyway;
//! - common: per key and hour, one script call with the summed counts;
//! - statistics: per context, type and hour, one script call with the merged summary;
//! - counters: per name and second, one HINCRBY per precision.
//!
//! Each group remembers which records it carries, so a command that fails drops exactly
//! those records.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use redis::{Pipeline, Value};

use super::Settings;
use super::record::{LogRecord, Record};
use super::status::DropReason;
use crate::store::clock::{iso_millis, unix_secs};
use crate::store::keys::Rotated;
use crate::store::recent::{LogEntry, RECENT_CAPACITY, host_name, queue_recent};
use crate::store::{SLOWEST_CAPACITY, Severity, Summary, common, counters, stats};

/// How the layer turns a message into a common-log member, so that varying values do not
/// make every occurrence a member of its own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalisation {
    /// Count the message exactly as it is.
    Exact,
    /// Replace each run of ASCII digits with `#`, then cut to `max_len` bytes (at a character
    /// boundary): `"took 153 ms"` and `"took 9 ms"` both count as `"took # ms"`.
    Digits {
        /// Longest member, in bytes.
        max_len: usize,
    },
}

impl Normalisation {
    /// The common-log member for `message`.
    ///
    /// ```
    /// use tracing_redis::Normalisation;
    ///
    /// let n = Normalisation::Digits { max_len: 12 };
    /// assert_eq!(n.apply("user 42 logged in"), "user # logge");
    /// assert_eq!(Normalisation::Exact.apply("user 42"), "user 42");
    /// ```
    pub fn apply<'a>(&self, message: &'a str) -> Cow<'a, str> {
        match *self {
            Normalisation::Exact => Cow::Borrowed(message),
            Normalisation::Digits { max_len } => {
                let bytes = message.as_bytes();
                if message.len() <= max_len && !bytes.iter().any(u8::is_ascii_digit) {
                    return Cow::Borrowed(message);
                }
                // Digits are ASCII, so the text between digit runs is copied whole.
                let mut out = String::with_capacity(message.len().min(max_len + 1));
                let mut rest = message;
                while !rest.is_empty() && out.len() <= max_len {
                    match rest.bytes().position(|b| b.is_ascii_digit()) {
                        Some(start) => {
                            out.push_str(&rest[..start]);
                            out.push('#');
                            let run = rest[start..]
                                .bytes()
                                .position(|b| !b.is_ascii_digit())
                                .map_or(rest.len(), |end| start + end);
                            rest = &rest[run..];
                        }
                        None => {
                            out.push_str(rest);
                            rest = "";
                        }
                    }
                }
                if out.len() > max_len {
                    let mut end = max_len;
                    while !out.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.truncate(end);
                }
                Cow::Owned(out)
            }
        }
    }
}

/// What one group writes.
#[derive(Debug, Clone)]
enum Write {
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
    Count {
        name: String,
        second: i64,
        n: i64,
    },
}

/// One coalesced write and the records it carries (none for the pipeline's own reports).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    write: Write,
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
            Write::Count { name, second, n } => {
                // The name was checked when the group was built.
                let _ = counters::queue_counter(pipe, &settings.keys, name, *second, *n);
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

/// The pipeline's own note about dropped records, written once Redis is reachable.
#[derive(Debug, Clone)]
pub(crate) struct DropNote {
    pub at: SystemTime,
    pub counts: Vec<(DropReason, u64)>,
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
    let mut counts: BTreeMap<(String, i64), (i64, Vec<u32>)> = BTreeMap::new();
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
                let e = counts
                    .entry((c.name.to_string(), unix_secs(c.at)))
                    .or_default();
                e.0 += c.n;
                e.1.push(i);
            }
        }
    }

    let keys = &settings.keys;
    let mut groups = Vec::new();
    let mut stamps = Stamps::default();
    for (severity, indices) in recent {
        let Ok(key) = keys.recent(&settings.name, severity) else {
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
    for ((name, second), (n, records)) in counts {
        groups.push(Group {
            write: Write::Count { name, second, n },
            records,
        });
    }
    if let Some(note) = note {
        groups.extend(note_groups(note, settings));
    }
    (groups, invalid)
}

fn note_groups(note: &DropNote, settings: &Settings) -> Vec<Group> {
    let total: u64 = note.counts.iter().map(|(_, n)| n).sum();
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
    let mut out = Vec::with_capacity(2);
    if let Ok(key) = settings.keys.recent(&settings.name, Severity::Warning) {
        out.push(Group {
            write: Write::Recent {
                key,
                entries: vec![entry.to_json()],
            },
            records: Vec::new(),
        });
    }
    out.push(Group {
        write: Write::Count {
            name: DROPPED_COUNTER.to_owned(),
            second: unix_secs(note.at),
            n: i64::try_from(total).unwrap_or(i64::MAX),
        },
        records: Vec::new(),
    });
    out
}

/// The UTC hour of `at`, as a number that sorts like the hour (cheaper than its text).
fn hour_of(at: SystemTime) -> i64 {
    unix_secs(at).div_euclid(3600)
}

/// The stored JSON entry of a log record.
fn entry(r: &LogRecord, stamps: &mut Stamps) -> LogEntry {
    let mut fields = serde_json::Map::new();
    for (k, v) in &r.fields {
        fields.insert(k.to_string(), v.to_json());
    }
    LogEntry {
        ts: stamps.iso(r.at),
        level: r.severity.as_str().to_owned(),
        target: r.target.to_string(),
        message: r.message.clone(),
        fields,
        spans: r.spans.iter().map(|s| (*s).to_owned()).collect(),
        host: host_name().to_owned(),
        pid: std::process::id(),
    }
}

/// ISO timestamps, formatted once per millisecond: a busy batch holds many events of the
/// same millisecond.
#[derive(Default)]
struct Stamps {
    last: Option<(SystemTime, String)>,
}

impl Stamps {
    fn iso(&mut self, at: SystemTime) -> String {
        let millis = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(-1, |d| d.as_millis() as i128)
        };
        match &self.last {
            Some((t, text)) if millis(*t) == millis(at) && millis(at) >= 0 => text.clone(),
            _ => {
                let text = iso_millis(at);
                self.last = Some((at, text.clone()));
                text
            }
        }
    }
}

/// The common-log member of a log record: its normalised message, or its fields as
/// `k=v` when it has no message.
fn common_member<'a>(r: &'a LogRecord, settings: &Settings) -> Cow<'a, str> {
    if !r.message.is_empty() || r.fields.is_empty() {
        return settings.normalisation.apply(&r.message);
    }
    let text = r
        .fields
        .iter()
        .map(|(k, v)| match v {
            super::record::FieldValue::Str(s) => format!("{k}={s}"),
            other => format!("{k}={}", other.to_json()),
        })
        .collect::<Vec<_>>()
        .join(" ");
    Cow::Owned(settings.normalisation.apply(&text).into_owned())
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

struct StatsAcc {
    at: SystemTime,
    summary: Summary,
    records: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_formatted_once_per_millisecond() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_741_323_456);
        let mut stamps = Stamps::default();
        assert_eq!(stamps.iso(t), "2026-11-27T01:02:03.456Z");
        let same = t + std::time::Duration::from_micros(300);
        assert_eq!(stamps.iso(same), "2026-11-27T01:02:03.456Z");
        let next = t + std::time::Duration::from_millis(1);
        assert_eq!(stamps.iso(next), "2026-11-27T01:02:03.457Z");
    }

    #[test]
    fn digits_collapse_and_length_is_cut_at_a_char_boundary() {
        let n = Normalisation::Digits { max_len: 256 };
        assert_eq!(n.apply("took 153 ms, 9 retries"), "took # ms, # retries");
        assert_eq!(n.apply("v1.2.3"), "v#.#.#");
        assert_eq!(n.apply("١٢"), "١٢", "only ASCII digits are collapsed");
        let short = Normalisation::Digits { max_len: 3 };
        assert_eq!(short.apply("aé€"), "aé");
        assert_eq!(Normalisation::Exact.apply("x 1"), "x 1");
        assert_eq!(n.apply("12ab34"), "#ab#");
        assert_eq!(n.apply("no digits"), "no digits");
        let cut = Normalisation::Digits { max_len: 4 };
        assert_eq!(cut.apply("ab 1234 cd"), "ab #");
        assert_eq!(cut.apply("abcdefgh"), "abcd");
    }
}
