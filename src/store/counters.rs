//! Counters: `P:count:<precision>:<name>`, a hash of bucket start (unix seconds, a multiple of
//! the precision) → count, at each of [`PRECISIONS`]; `P:known:` lists every
//! `<precision>:<name>` (all score 0) so the cleaner can iterate them.

use std::time::SystemTime;

use redis::{ConnectionLike, Pipeline};

use super::clock::unix_secs;
use super::keys::{Keys, decode_name};
use super::{Store, redis_ctx};
use crate::error::{Error, Result};

/// The precisions, in seconds, every counter is kept at: 1 s, 5 s, 1 min, 5 min, 1 h, 5 h,
/// 1 day.
pub const PRECISIONS: [u64; 7] = [1, 5, 60, 300, 3600, 18_000, 86_400];

/// The start of the bucket of precision `precision` holding second `second`.
pub(crate) fn bucket_start(second: i64, precision: u64) -> i64 {
    let p = i64::try_from(precision).unwrap_or(i64::MAX);
    second.div_euclid(p) * p
}

/// Queues `n` added to counter `name` at `second`, at every precision, with its `known:`
/// registrations. Sent in a MULTI with the HINCRBYs, the registration is never separated from
/// the data, which the cleaner relies on.
pub(crate) fn queue_counter(
    pipe: &mut Pipeline,
    keys: &Keys,
    name: &str,
    second: i64,
    n: i64,
) -> Result<()> {
    let buckets = PRECISIONS.map(|p| (p, bucket_start(second, p), n));
    queue_counts(pipe, keys, name, &buckets)
}

/// Queues one HINCRBY per (precision, bucket start, n) of `buckets` for counter `name`, and
/// one ZADD registering it in `known:` at each precision that occurs.
pub(crate) fn queue_counts(
    pipe: &mut Pipeline,
    keys: &Keys,
    name: &str,
    buckets: &[(u64, i64, i64)],
) -> Result<()> {
    let mut known = Vec::with_capacity(PRECISIONS.len() * 2);
    for p in PRECISIONS {
        let mut held = buckets.iter().filter(|(bp, _, _)| *bp == p).peekable();
        if held.peek().is_none() {
            continue;
        }
        let key = keys.counter(p, name)?;
        for (_, bucket, n) in held {
            pipe.cmd("HINCRBY").arg(&key).arg(*bucket).arg(*n).ignore();
        }
        known.push("0".to_owned());
        known.push(Keys::known_member(p, name)?);
    }
    if !known.is_empty() {
        pipe.cmd("ZADD").arg(keys.known()).arg(known).ignore();
    }
    Ok(())
}

fn check_precision(precision: u64) -> Result<()> {
    if PRECISIONS.contains(&precision) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "unknown counter precision {precision}: expected one of {PRECISIONS:?} (seconds)"
        )))
    }
}

impl Store {
    /// Adds `n` to counter `name` at every precision, in the buckets of the store's clock.
    /// Synchronous: one round trip (MULTI/EXEC).
    ///
    /// # Errors
    ///
    /// An empty `name`; any Redis error.
    pub fn incr_counter(&self, con: &mut dyn ConnectionLike, name: &str, n: i64) -> Result<()> {
        self.incr_counter_at(con, name, n, self.clock().now())
    }

    /// Adds `n` to counter `name` in the buckets of time `at`.
    ///
    /// # Errors
    ///
    /// As [`Store::incr_counter`].
    pub fn incr_counter_at(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        n: i64,
        at: SystemTime,
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        queue_counter(&mut pipe, self.keys(), name, unix_secs(at), n)?;
        redis_ctx(
            || format!("updating counter `{name}`"),
            pipe.query::<()>(con),
        )
    }

    /// Counter `name` at `precision` seconds: (bucket start, count) pairs, oldest first.
    ///
    /// # Errors
    ///
    /// An empty `name`, a precision not in [`PRECISIONS`]; any Redis error; a bucket that is
    /// not an integer ([`ErrorKind::Malformed`](crate::ErrorKind::Malformed)).
    pub fn counter(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        precision: u64,
    ) -> Result<Vec<(i64, i64)>> {
        check_precision(precision)?;
        let key = self.keys().counter(precision, name)?;
        let raw: Vec<(String, String)> = redis_ctx(
            || format!("reading counter `{key}`"),
            redis::cmd("HGETALL").arg(&key).query(con),
        )?;
        let mut out = raw
            .into_iter()
            .map(|(b, c)| match (b.parse::<i64>(), c.parse::<i64>()) {
                (Ok(b), Ok(c)) => Ok((b, c)),
                _ => Err(Error::malformed(format!(
                    "counter `{key}` holds a non-integer bucket {b:?} → {c:?}"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_unstable();
        Ok(out)
    }

    /// Every known counter as (precision, name), sorted by precision then name.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn known_counters(&self, con: &mut dyn ConnectionLike) -> Result<Vec<(u64, String)>> {
        let key = self.keys().known();
        let members: Vec<String> = redis_ctx(
            || format!("reading `{key}`"),
            redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query(con),
        )?;
        let mut out: Vec<(u64, String)> = members
            .iter()
            .filter_map(|m| {
                let (p, name) = m.split_once(':')?;
                Some((p.parse().ok()?, decode_name(name).into_owned()))
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_floor_also_before_the_epoch() {
        assert_eq!(bucket_start(59, 60), 0);
        assert_eq!(bucket_start(60, 60), 60);
        assert_eq!(bucket_start(-1, 60), -60);
        assert_eq!(bucket_start(86_399, 86_400), 0);
    }
}
