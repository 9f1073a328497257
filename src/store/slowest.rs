//! Slowest contexts: `P:slowest:<type>`, member = context, score = its current hour's mean;
//! only the [`SLOWEST_CAPACITY`] highest are kept. Timed by [`AccessTimer`].
//!
//! The key lives in another Cluster slot than the statistics (`stats:{<context>:<type>}`), so
//! it is a second step: the statistics script merges the samples and answers with the
//! hour's totals, then one MULTI/EXEC sets the mean from them and trims ([`queue_slowest`]).
//! Only samples that counted into the current hour's set move the mean; late ones (counted
//! into `:last`) and stale ones leave it alone. Between the two steps another writer may
//! set the same context: the score then holds the mean of one of the two, until the
//! context's next sample.

use std::time::SystemTime;

use redis::{ConnectionLike, Pipeline};

use super::script::float_arg;
use super::{Stats, Store, redis_ctx};
use crate::error::Result;

/// How many contexts each `slowest:<type>` keeps.
pub const SLOWEST_CAPACITY: usize = 100;

impl Store {
    /// Adds one timing `seconds` to the statistics of `context` and `kind` and sets the
    /// context's mean in `slowest:<kind>`, keeping the [`SLOWEST_CAPACITY`] highest.
    /// Synchronous: two round trips, each atomic: the statistics script, then (when the
    /// sample counted into the current hour's set) the update of `slowest:<kind>`.
    ///
    /// # Errors
    ///
    /// As [`Store::update_stats`]; an error writing `slowest:<kind>` (say `WRONGTYPE`) comes
    /// after the statistics were updated.
    pub fn record_timing(
        &self,
        con: &mut dyn ConnectionLike,
        context: &str,
        kind: &str,
        seconds: f64,
    ) -> Result<Stats> {
        let summary = super::Summary::one(seconds)?;
        let key = self.keys().slowest(kind)?;
        let counted = self.run_stats(con, context, kind, &summary)?;
        if counted.current {
            let mut pipe = redis::pipe();
            pipe.atomic();
            queue_slowest(&mut pipe, &key, context, counted.stats.mean());
            redis_ctx(|| format!("updating `{key}`"), pipe.exec(con))?;
        }
        Ok(counted.stats)
    }

    /// The `n` slowest contexts of `kind` by mean, slowest first.
    ///
    /// # Errors
    ///
    /// An empty `kind`; any Redis error.
    pub fn slowest(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        n: usize,
    ) -> Result<Vec<(String, f64)>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys().slowest(kind)?;
        redis_ctx(
            || format!("reading `{key}`"),
            redis::cmd("ZREVRANGE")
                .arg(&key)
                .arg(0)
                .arg(i64::try_from(n).unwrap_or(i64::MAX) - 1)
                .arg("WITHSCORES")
                .query(con),
        )
    }

    /// Starts timing `context` (type `AccessTime`): when the returned guard is dropped — also
    /// on an early return or a panic — the elapsed time on the store's clock is recorded with
    /// [`Store::record_timing`]. Use [`AccessTimer::finish`] to see the result or the error.
    ///
    /// ```no_run
    /// # fn main() -> tracing_redis::Result<()> {
    /// # let client = redis::Client::open("redis://127.0.0.1/").unwrap();
    /// # let mut con = client.get_connection().unwrap();
    /// let store = tracing_redis::store::Store::new();
    /// {
    ///     let _timer = store.access_time(&mut con, "GET /users");
    ///     // … handle the request …
    /// } // recorded here
    /// # Ok(()) }
    /// ```
    pub fn access_time<'a>(
        &'a self,
        con: &'a mut dyn ConnectionLike,
        context: &str,
    ) -> AccessTimer<'a> {
        AccessTimer {
            store: self,
            con,
            context: context.to_owned(),
            start: self.clock().now(),
            done: false,
        }
    }
}

/// Queues setting `context`'s `mean` in the slowest set `key` and trimming it to the
/// [`SLOWEST_CAPACITY`] highest: two commands, for a MULTI/EXEC.
pub(crate) fn queue_slowest(pipe: &mut Pipeline, key: &str, context: &str, mean: f64) {
    pipe.cmd("ZADD").arg(key).arg(float_arg(mean)).arg(context);
    let keep = i64::try_from(SLOWEST_CAPACITY).unwrap_or(i64::MAX);
    pipe.cmd("ZREMRANGEBYRANK").arg(key).arg(0).arg(-keep - 1);
}

/// Records the time from its creation to its drop as an `AccessTime` sample. See
/// [`Store::access_time`].
#[must_use = "the time is recorded when the guard is dropped; bind it to a variable"]
pub struct AccessTimer<'a> {
    store: &'a Store,
    con: &'a mut dyn ConnectionLike,
    context: String,
    start: SystemTime,
    done: bool,
}

impl std::fmt::Debug for AccessTimer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTimer")
            .field("context", &self.context)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl AccessTimer<'_> {
    /// Records now and returns the context's statistics, or the error.
    ///
    /// # Errors
    ///
    /// As [`Store::record_timing`].
    pub fn finish(mut self) -> Result<Stats> {
        self.record()
    }

    fn record(&mut self) -> Result<Stats> {
        self.done = true;
        let elapsed = self
            .store
            .clock()
            .now()
            .duration_since(self.start)
            .unwrap_or_default();
        self.store
            .record_timing(self.con, &self.context, "AccessTime", elapsed.as_secs_f64())
    }
}

impl Drop for AccessTimer<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nowhere to report from a drop; `finish` is the way to see errors.
            let _ = self.record();
        }
    }
}
