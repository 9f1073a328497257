//! Statistics: `P:stats:{<context>:<type>}`, a sorted set with members `count`, `sum`,
//! `sumsq`, `min` and `max` for the current UTC hour, rotated hourly like the common logs
//! (`:start`, `:last`, `:pstart`). One script merges a whole batch of samples atomically:
//! ZINCRBY for the sums, `ZADD LT`/`ZADD GT` for min and max, no temporary keys. It touches
//! only those four keys, which share the hash tag `{<context>:<type>}` (one Cluster slot),
//! and says whether the batch counted into the current set, so that the caller can then set
//! the mean in `slowest:<type>` (see the slowest module).

use std::time::SystemTime;

use redis::{ConnectionLike, Pipeline};

use super::clock::hour_start;
use super::keys::Rotated;
use super::script::{ROTATE_STATS, ScriptCall, float_arg};
use super::{Store, redis_ctx};
use crate::error::{Error, Result};

/// A pre-merged batch of samples: what the statistics script adds in one call.
///
/// ```
/// use tracing_redis::store::Summary;
///
/// let mut s = Summary::one(2.0).unwrap();
/// s.add(4.0).unwrap();
/// assert_eq!((s.count, s.sum, s.sumsq, s.min, s.max), (2, 6.0, 20.0, 2.0, 4.0));
/// assert!(Summary::one(f64::NAN).is_err());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples.
    pub sum: f64,
    /// Sum of their squares.
    pub sumsq: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// A summary of one sample.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for NaN or an infinite value.
    pub fn one(value: f64) -> Result<Self> {
        check_finite(value)?;
        Ok(Summary {
            count: 1,
            sum: value,
            sumsq: value * value,
            min: value,
            max: value,
        })
    }

    /// A summary of `count` samples merged elsewhere: their sum, sum of squares, smallest
    /// and largest value.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for no samples, a number
    /// that is NaN or infinite, a negative sum of squares or `min > max`.
    pub fn new(count: u64, sum: f64, sumsq: f64, min: f64, max: f64) -> Result<Self> {
        let summary = Summary {
            count,
            sum,
            sumsq,
            min,
            max,
        };
        summary.check()?;
        Ok(summary)
    }

    fn check(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::invalid_input(
                "a statistics batch needs at least one sample",
            ));
        }
        for v in [self.sum, self.sumsq, self.min, self.max] {
            check_finite(v)?;
        }
        if self.sumsq < 0.0 || self.min > self.max {
            return Err(Error::invalid_input(format!(
                "inconsistent statistics batch {self:?}: needs sumsq >= 0 and min <= max"
            )));
        }
        Ok(())
    }

    /// Adds one sample.
    ///
    /// # Errors
    ///
    /// As [`Summary::one`]; the summary is unchanged then.
    pub fn add(&mut self, value: f64) -> Result<()> {
        let one = Summary::one(value)?;
        self.merge(&one);
        Ok(())
    }

    /// Merges another summary into this one.
    pub fn merge(&mut self, other: &Summary) {
        self.count += other.count;
        self.sum += other.sum;
        self.sumsq += other.sumsq;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

fn check_finite(value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "statistics value {value} is not a finite number"
        )))
    }
}

/// Statistics of one (context, type) for one hour, as read back.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples.
    pub sum: f64,
    /// Sum of their squares.
    pub sumsq: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stats {
    /// The mean (0 for no samples).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The sample standard deviation: `sqrt(max(0, sumsq − sum²/count) / max(count − 1, 1))`;
    /// 0 for one sample, never NaN.
    pub fn stddev(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let n = self.count as f64;
        let numerator = (self.sumsq - self.sum * self.sum / n).max(0.0);
        (numerator / (n - 1.0).max(1.0)).sqrt()
    }

    /// Parses the five strings the script returns (count, sum, sumsq, min, max).
    pub(crate) fn from_strings(key: &str, raw: &[Option<String>]) -> Result<Option<Self>> {
        let parse = |i: usize| -> Result<Option<f64>> {
            match raw.get(i).and_then(|v| v.as_deref()) {
                None => Ok(None),
                Some(s) => s.parse::<f64>().map(Some).map_err(|_| {
                    Error::malformed(format!("statistics `{key}` hold a non-number {s:?}"))
                }),
            }
        };
        let Some(count) = parse(0)? else {
            return Ok(None);
        };
        Ok(Some(Stats {
            count: count.max(0.0).round() as u64,
            sum: parse(1)?.unwrap_or(0.0),
            sumsq: parse(2)?.unwrap_or(0.0),
            min: parse(3)?.unwrap_or(0.0),
            max: parse(4)?.unwrap_or(0.0),
        }))
    }
}

/// The script call merging `summary` into the statistics of the hour of `at`. Its keys are
/// the four of `rotated`, which share one hash tag.
pub(crate) fn stats_call(rotated: &Rotated, at: SystemTime, summary: &Summary) -> ScriptCall {
    let keys = vec![
        rotated.current.clone(),
        rotated.start.clone(),
        rotated.last.clone(),
        rotated.pstart.clone(),
    ];
    let args = vec![
        hour_start(at),
        summary.count.to_string(),
        float_arg(summary.sum),
        float_arg(summary.sumsq),
        float_arg(summary.min),
        float_arg(summary.max),
    ];
    ScriptCall::new(&ROTATE_STATS, keys, args)
}

/// Queues [`stats_call`]; read its reply with [`Counted::from_reply`].
pub(crate) fn queue_stats(
    pipe: &mut Pipeline,
    rotated: &Rotated,
    at: SystemTime,
    summary: &Summary,
) {
    stats_call(rotated, at, summary).queue(pipe);
}

/// What the statistics script answered for a batch that was not stale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Counted {
    /// The statistics of the set the batch counted into, after it.
    pub stats: Stats,
    /// The batch counted into the current set (not into `:last`): only then does its mean
    /// belong in `slowest:<type>`.
    pub current: bool,
}

impl Counted {
    /// Reads the script's reply for the statistics `key`: `None` when the batch was stale.
    pub(crate) fn from_reply(key: &str, raw: &[Option<String>]) -> Result<Option<Self>> {
        let Some(stats) = Stats::from_strings(key, raw)? else {
            return Ok(None);
        };
        let current = match raw.get(5).and_then(|v| v.as_deref()) {
            Some("current") => true,
            Some("last") => false,
            other => {
                return Err(Error::malformed(format!(
                    "the statistics script answered {other:?} for `{key}` where `current` or \
                     `last` belongs; load this version's scripts (they are reloaded on reconnect)"
                )));
            }
        };
        Ok(Some(Counted { stats, current }))
    }
}

impl Store {
    /// Adds one sample `value` to the statistics of `context` and `kind` (e.g. `AccessTime`)
    /// for the UTC hour of the store's clock, and returns the hour's statistics after it.
    /// Synchronous: one round trip, atomic.
    ///
    /// # Errors
    ///
    /// An empty `context` or `kind`, NaN or an infinite value; any Redis error.
    pub fn update_stats(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
        value: f64,
    ) -> Result<Stats> {
        self.update_stats_batch(con, context, kind, &Summary::one(value)?)
    }

    /// Adds a pre-merged batch of samples (see [`Store::update_stats`]).
    ///
    /// # Errors
    ///
    /// As [`Store::update_stats`]; also a summary that [`Summary::new`] would refuse.
    pub fn update_stats_batch(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
        summary: &Summary,
    ) -> Result<Stats> {
        Ok(self.run_stats(con, context, kind, summary)?.stats)
    }

    /// Runs the statistics script for one batch; a stale batch is an error.
    pub(crate) fn run_stats(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
        summary: &Summary,
    ) -> Result<Counted> {
        summary.check()?;
        let rotated = Rotated::of(self.keys().stats(context, kind)?);
        let at = self.clock().now();
        let raw: Vec<Option<String>> = redis_ctx(
            || format!("updating statistics `{}`", rotated.current),
            stats_call(&rotated, at, summary).invoke(con),
        )?;
        Counted::from_reply(&rotated.current, &raw)?.ok_or_else(|| {
            Error::invalid_input(format!(
                "sample hour {} of statistics `{}` is older than the hours they keep; not counted",
                hour_start(at),
                rotated.current
            ))
        })
    }

    /// The current set's statistics of `context` and `kind`; `None` when there is no data.
    ///
    /// The current set belongs to the hour in `:start`, the last hour a sample came in: after
    /// idle hours that is earlier than the clock's hour.
    ///
    /// # Errors
    ///
    /// An empty `context` or `kind`; any Redis error.
    pub fn stats(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
    ) -> Result<Option<Stats>> {
        let key = self.keys().stats(context, kind)?;
        read_stats(con, &key)
    }

    /// The previous hour's statistics (`:last`) of `context` and `kind`, with their start
    /// time (`:pstart`); `None` when there is no data.
    ///
    /// # Errors
    ///
    /// As [`Store::stats`].
    pub fn stats_last(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
    ) -> Result<Option<(Stats, Option<String>)>> {
        let rotated = Rotated::of(self.keys().stats(context, kind)?);
        let Some(stats) = read_stats(con, &rotated.last)? else {
            return Ok(None);
        };
        let pstart: Option<String> = redis_ctx(
            || format!("reading `{}`", rotated.pstart),
            redis::cmd("GET").arg(&rotated.pstart).query(con),
        )?;
        Ok(Some((stats, pstart)))
    }
}

fn read_stats(con: &mut dyn ConnectionLike, key: &str) -> Result<Option<Stats>> {
    let raw: Vec<Option<String>> = redis_ctx(
        || format!("reading statistics `{key}`"),
        redis::cmd("ZMSCORE")
            .arg(key)
            .arg(&["count", "sum", "sumsq", "min", "max"])
            .query(con),
    )?;
    Stats::from_strings(key, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keys;

    /// The part of `key` Redis Cluster hashes: the text between the first `{` and the first
    /// `}` after it, when not empty; else the whole key.
    fn hash_tag(key: &str) -> &str {
        if let Some(open) = key.find('{')
            && let Some(len) = key[open + 1..].find('}')
            && len > 0
        {
            return &key[open + 1..open + 1 + len];
        }
        key
    }

    #[test]
    fn the_script_declares_only_keys_of_one_hash_tag() {
        let keys = Keys::new(Some("n{s}")).unwrap();
        for (context, kind) in [("GET /users/{id}", "AccessTime"), ("a:b", "T{x}")] {
            let rotated = Rotated::of(keys.stats(context, kind).unwrap());
            let summary = Summary::one(1.5).unwrap();
            let call = stats_call(&rotated, SystemTime::UNIX_EPOCH, &summary);
            let declared = call.keys();
            assert_eq!(declared.len(), 4, "{declared:?}");
            let expected = format!(
                "{}:{}",
                crate::store::keys::encode_name(context, "context").unwrap(),
                crate::store::keys::encode_name(kind, "type").unwrap()
            );
            for key in declared {
                assert_eq!(hash_tag(key), expected, "{key} in {declared:?}");
            }
            assert!(
                declared.iter().all(|k| !k.contains("slowest")),
                "{declared:?}"
            );
        }
    }

    #[test]
    fn a_reply_tells_the_set_it_counted_into() {
        let raw = |set: Option<&str>| {
            let mut raw: Vec<Option<String>> = ["2", "3", "5", "1", "2"]
                .iter()
                .map(|s| Some((*s).to_owned()))
                .collect();
            raw.push(set.map(str::to_owned));
            raw
        };
        let current = Counted::from_reply("k", &raw(Some("current")))
            .unwrap()
            .unwrap();
        assert!(current.current);
        assert_eq!(current.stats.mean(), 1.5);
        let last = Counted::from_reply("k", &raw(Some("last")))
            .unwrap()
            .unwrap();
        assert!(!last.current);
        assert_eq!(Counted::from_reply("k", &[]).unwrap(), None, "stale");
        let err = Counted::from_reply("k", &raw(None)).unwrap_err();
        assert!(err.to_string().contains("`k`"), "{err}");
    }

    #[test]
    fn one_sample_has_zero_stddev() {
        let s = Stats {
            count: 1,
            sum: 3.0,
            sumsq: 9.0,
            min: 3.0,
            max: 3.0,
        };
        assert_eq!(s.mean(), 3.0);
        assert_eq!(s.stddev(), 0.0);
    }

    #[test]
    fn rounding_below_zero_gives_zero_not_nan() {
        let s = Stats {
            count: 3,
            sum: 0.3,
            sumsq: 0.03 - 1e-18,
            min: 0.1,
            max: 0.1,
        };
        assert_eq!(s.stddev(), 0.0);
    }
}
