//! Common logs: `P:common:{<name>:<severity>}`, a sorted set of message → occurrences in the
//! current UTC hour, with `:start`, and the previous hour's set in `:last` with `:pstart`.
//!
//! Rotation and counting happen in one Lua script (`scripts/rotate.lua`, then
//! `scripts/rotate_common.lua`): read `:start`; if the event's hour is later, move the set to
//! `:last` (only if it exists) and `:start` to `:pstart`; then count. No WATCH loop, nothing lost when writers cross the hour
//! together. An event of the previous kept hour counts into `:last`; an older one is refused.

use std::time::SystemTime;

use redis::{ConnectionLike, Pipeline};

use super::clock::hour_start;
use super::keys::Rotated;
use super::script::{ROTATE_COMMON, ScriptCall};
use super::{Severity, Store, redis_ctx};
use crate::error::{Error, Result};

/// One hour's most frequent messages.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommonSet {
    /// ISO-8601 UTC start of the hour the set belongs to (`None` if never written).
    pub start: Option<String>,
    /// Messages with their occurrences, most frequent first.
    pub messages: Vec<(String, u64)>,
}

/// The common log of one name and severity: this hour's set and the previous one.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommonLog {
    /// The current hour (`:start`).
    pub current: CommonSet,
    /// The previous set that had data (`:last`, `:pstart`).
    pub last: CommonSet,
}

/// The script call counting `counts` (message, occurrences) in the hour of `at`.
pub(crate) fn common_call(
    rotated: &Rotated,
    at: SystemTime,
    cap: usize,
    counts: &[(&str, u64)],
) -> ScriptCall {
    let mut args = Vec::with_capacity(2 + counts.len() * 2);
    args.push(hour_start(at));
    args.push(cap.to_string());
    for (message, n) in counts {
        args.push(n.to_string());
        args.push((*message).to_owned());
    }
    ScriptCall::new(
        &ROTATE_COMMON,
        vec![
            rotated.current.clone(),
            rotated.start.clone(),
            rotated.last.clone(),
            rotated.pstart.clone(),
        ],
        args,
    )
}

/// Queues `common_call` into a MULTI/EXEC pipeline; its reply is 1 (counted) or 0 (stale).
pub(crate) fn queue_common(
    pipe: &mut Pipeline,
    rotated: &Rotated,
    at: SystemTime,
    cap: usize,
    counts: &[(&str, u64)],
) {
    common_call(rotated, at, cap, counts).queue(pipe);
}

impl Store {
    /// Counts one occurrence of `message` (exactly as given) in the common log of `name` at
    /// `severity`, in the UTC hour of the store's clock, rotating first when the hour changed.
    /// Synchronous: one round trip, atomic.
    ///
    /// # Errors
    ///
    /// An empty `name`; a clock earlier than both kept hours
    /// ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)); any Redis error.
    pub fn log_common(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        severity: Severity,
        message: &str,
    ) -> Result<()> {
        let rotated = Rotated::of(self.keys().common(name, severity)?);
        let at = self.clock().now();
        let counted: i64 = redis_ctx(
            || format!("counting in common log `{}`", rotated.current),
            common_call(&rotated, at, 0, &[(message, 1)]).invoke(con),
        )?;
        if counted == 0 {
            return Err(Error::invalid_input(format!(
                "event hour {} of common log `{}` is older than the hours it keeps; not counted",
                hour_start(at),
                rotated.current
            )));
        }
        Ok(())
    }

    /// The `n` most frequent messages of this hour's and of the last set of the common log of
    /// `name` at `severity`, with their start times.
    ///
    /// # Errors
    ///
    /// An empty `name`; any Redis error.
    pub fn common(
        &self,
        con: &mut dyn ConnectionLike,
        name: &str,
        severity: Severity,
        n: usize,
    ) -> Result<CommonLog> {
        let rotated = Rotated::of(self.keys().common(name, severity)?);
        let stop = i64::try_from(n).unwrap_or(i64::MAX) - 1;
        if n == 0 {
            return Ok(CommonLog::default());
        }
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&rotated.start);
        pipe.cmd("ZREVRANGE")
            .arg(&rotated.current)
            .arg(0)
            .arg(stop)
            .arg("WITHSCORES");
        pipe.cmd("GET").arg(&rotated.pstart);
        pipe.cmd("ZREVRANGE")
            .arg(&rotated.last)
            .arg(0)
            .arg(stop)
            .arg("WITHSCORES");
        #[allow(clippy::type_complexity)]
        let (start, cur, pstart, last): (
            Option<String>,
            Vec<(String, f64)>,
            Option<String>,
            Vec<(String, f64)>,
        ) = redis_ctx(
            || format!("reading common log `{}`", rotated.current),
            pipe.query(con),
        )?;
        let counts = |v: Vec<(String, f64)>| {
            v.into_iter()
                .map(|(m, s)| (m, s.max(0.0).round() as u64))
                .collect()
        };
        Ok(CommonLog {
            current: CommonSet {
                start,
                messages: counts(cur),
            },
            last: CommonSet {
                start: pstart,
                messages: counts(last),
            },
        })
    }
}
