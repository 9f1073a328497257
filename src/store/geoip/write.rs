//! Writing an import: staging keys filled in pipelined batches, then renamed over the live
//! keys in one MULTI/EXEC, so readers switch from the old data set to the new one in a single
//! step and never see a half-loaded index.

use redis::{Cmd, ConnectionLike, Pipeline, ToRedisArgs};

use crate::error::Result;
use crate::store::keys::Keys;
use crate::store::redis_ctx;

/// Members (or hash fields) per ZADD/HSET: small enough that one command never holds the
/// server for long, large enough that the protocol overhead vanishes.
const MEMBERS_PER_COMMAND: usize = 1_000;

/// Staging keys expire unless the import renames them: a crashed import cleans up after
/// itself. Refreshed with every batch, removed by PERSIST after the rename.
const STAGING_TTL_SECS: u64 = 86_400;

/// The three keys an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    V4 = 0,
    V6 = 1,
    Cities = 2,
}

const TARGETS: [Target; 3] = [Target::V4, Target::V6, Target::Cities];

impl Target {
    fn command(self) -> &'static str {
        match self {
            Target::V4 | Target::V6 => "ZADD",
            Target::Cities => "HSET",
        }
    }
}

/// The live keys and the staging keys of one import.
#[derive(Debug)]
pub(crate) struct Staging {
    live: [String; 3],
    staging: [String; 3],
}

impl Staging {
    pub(crate) fn new(keys: &Keys) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Unique per import, so two imports running at once never mix their rows.
        let token = format!("{}-{nanos}", std::process::id());
        let live = [keys.ip2cityid(), keys.ip2cityid_v6(), keys.cityid2city()];
        let staging = live.clone().map(|k| keys.importing(&k, &token));
        Staging { live, staging }
    }

    /// Deletes the staging keys of a failed import (best effort: they expire anyway).
    pub(crate) fn discard(&self, con: &mut dyn ConnectionLike) {
        let _ = redis::cmd("DEL").arg(&self.staging).exec(con);
    }
}

/// Buffers members into commands and commands into pipelined batches.
pub(crate) struct Sink<'c> {
    con: &'c mut dyn ConnectionLike,
    staging: &'c Staging,
    pipe: Pipeline,
    open: Option<(Target, Cmd, usize)>,
    pending: usize,
    batch: usize,
    in_batch: [bool; 3],
    written: [bool; 3],
    members: u64,
}

impl<'c> Sink<'c> {
    pub(crate) fn new(con: &'c mut dyn ConnectionLike, staging: &'c Staging, batch: usize) -> Self {
        Sink {
            con,
            staging,
            pipe: redis::pipe(),
            open: None,
            pending: 0,
            batch: batch.max(1),
            in_batch: [false; 3],
            written: [false; 3],
            members: 0,
        }
    }

    /// Members written or queued so far.
    pub(crate) fn members(&self) -> u64 {
        self.members
    }

    /// Queues one `score member` (ZADD) or `field value` (HSET) for `target`; returns whether
    /// this sent a batch.
    pub(crate) fn add(
        &mut self,
        target: Target,
        a: impl ToRedisArgs,
        b: impl ToRedisArgs,
    ) -> Result<bool> {
        let full = match &mut self.open {
            Some((t, cmd, n)) if *t == target => {
                cmd.arg(a).arg(b);
                *n += 1;
                *n >= MEMBERS_PER_COMMAND
            }
            _ => {
                self.close();
                let mut cmd = redis::cmd(target.command());
                cmd.arg(&self.staging.staging[target as usize])
                    .arg(a)
                    .arg(b);
                self.open = Some((target, cmd, 1));
                false
            }
        };
        if full {
            self.close();
        }
        self.pending += 1;
        self.members += 1;
        if self.pending >= self.batch {
            self.flush()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn close(&mut self) {
        if let Some((target, cmd, _)) = self.open.take() {
            self.pipe.add_command(cmd).ignore();
            self.in_batch[target as usize] = true;
        }
    }

    /// Sends what is queued, in one round trip.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.close();
        if self.pipe.is_empty() {
            return Ok(());
        }
        for t in TARGETS {
            if self.in_batch[t as usize] {
                self.pipe
                    .cmd("EXPIRE")
                    .arg(&self.staging.staging[t as usize])
                    .arg(STAGING_TTL_SECS)
                    .ignore();
                self.written[t as usize] = true;
            }
        }
        let staging = self.staging;
        redis_ctx(
            || format!("loading `{}`", staging.staging.join("`, `")),
            self.pipe.exec(self.con),
        )?;
        self.pipe.clear();
        self.pending = 0;
        self.in_batch = [false; 3];
        Ok(())
    }

    /// Sends the rest, then in one MULTI/EXEC renames each staging key over its live key, or
    /// deletes the live key when this import wrote nothing there (the data set replaces the
    /// previous one entirely).
    pub(crate) fn commit(mut self) -> Result<()> {
        self.flush()?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for t in TARGETS {
            let (staging, live) = (
                &self.staging.staging[t as usize],
                &self.staging.live[t as usize],
            );
            if self.written[t as usize] {
                pipe.cmd("RENAME").arg(staging).arg(live).ignore();
                pipe.cmd("PERSIST").arg(live).ignore();
            } else {
                pipe.cmd("DEL").arg(live).ignore();
            }
        }
        let live = &self.staging.live;
        redis_ctx(
            || format!("replacing `{}`", live.join("`, `")),
            pipe.exec(self.con),
        )
    }
}
