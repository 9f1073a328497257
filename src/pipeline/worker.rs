//! The worker: one named thread that owns the Redis connection. It takes a batch from the
//! queue, coalesces it, sends one MULTI/EXEC and settles every record as written or dropped.
//!
//! - No connection (Redis down, even at start): the batch waits; the worker retries with
//!   capped exponential backoff, loading the scripts on every (re)connect, and sends the
//!   whole flush again. Until EXEC arrives Redis applies nothing, so a flush is
//!   all-or-nothing with respect to a broken connection; only a flush Redis executed just
//!   before the break, whose reply was lost, is applied twice (at-least-once).
//! - A command error inside EXEC (e.g. `WRONGTYPE`): EXEC does not roll back, so the flush
//!   is never sent again; the failed command's records are dropped with the reason.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{ConnectionLike, Value};

use super::batch::{self, DropNote, Group, Reply};
use super::queue::{Queue, Taken};
use super::record::Record;
use super::status::{Counters, DropCounts, DropReason};
use super::{Settings, mark_worker_thread};
use crate::error::is_connection_error;
use crate::store::script;

/// How long connecting may take before it counts as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one flush's round trip may take before the connection counts as broken.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Server errors that say "not now" rather than "never": the transaction was refused as a
/// whole (EXECABORT), so sending it again later is safe.
const TRANSIENT: [&str; 7] = [
    "LOADING",
    "BUSY",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "READONLY",
    "OOM",
];

pub(crate) struct Worker {
    settings: Arc<Settings>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    con: Option<redis::Connection>,
    backoff: Duration,
    /// Drops already written to Redis as a note.
    reported: DropCounts,
}

/// The result of sending one MULTI/EXEC.
enum Sent {
    /// EXEC ran: one reply per command.
    Replies(Vec<Value>),
    /// Redis refused the whole transaction for good (nothing was applied).
    Refused(String),
    /// The shutdown deadline passed before Redis could be reached.
    GaveUp,
}

impl Worker {
    pub(crate) fn new(settings: Arc<Settings>, queue: Arc<Queue>, counters: Arc<Counters>) -> Self {
        let backoff = settings.backoff_min;
        Worker {
            settings,
            queue,
            counters,
            con: None,
            backoff,
            reported: DropCounts::default(),
        }
    }

    pub(crate) fn run(mut self) {
        mark_worker_thread();
        let interval = self.settings.flush_interval;
        let mut tick = Instant::now() + interval;
        loop {
            let taken = self.queue.take(tick);
            let now = Instant::now();
            if now >= tick {
                tick = now + interval;
            }
            if taken.done {
                break;
            }
            let note = self.pending_note();
            if taken.records.is_empty() && note.is_none() {
                continue;
            }
            let gave_up = self.deliver(&taken, note);
            self.queue
                .settle(taken.records.len(), taken.bytes, taken.seq_end);
            if gave_up {
                break;
            }
        }
        let rest = self.queue.take_all();
        self.counters
            .add_dropped(DropReason::Shutdown, rest.records.len() as u64);
        self.queue
            .settle(rest.records.len(), rest.bytes, rest.seq_end);
        self.queue.finish();
    }

    /// A note of the drops not yet written, with the counts it covers.
    fn pending_note(&self) -> Option<(DropNote, DropCounts)> {
        let now = self.counters.dropped();
        let delta = now.since(&self.reported);
        if delta.total() == 0 {
            return None;
        }
        let note = DropNote {
            at: self.settings.clock.now(),
            counts: delta.nonzero().collect(),
        };
        Some((note, now))
    }

    /// Writes one batch, settling each record as written or dropped. Returns whether it gave
    /// up because the shutdown deadline passed.
    fn deliver(&mut self, taken: &Taken, note: Option<(DropNote, DropCounts)>) -> bool {
        let records: &[Record] = &taken.records;
        let (groups, invalid) = batch::build(records, &self.settings, note.as_ref().map(|n| &n.0));
        let mut outcome: Vec<Option<DropReason>> = vec![None; records.len()];
        for i in invalid {
            outcome[i as usize] = Some(DropReason::Invalid);
        }
        let mut pending: Vec<&Group> = groups.iter().collect();
        let mut reloads = 0;
        let mut gave_up = false;
        while !pending.is_empty() {
            let (packed, n, ranges) = batch::pack(&pending, &self.settings);
            let replies = match self.send(&packed, n) {
                Sent::Replies(replies) => replies,
                Sent::Refused(why) => {
                    for g in &pending {
                        mark(&mut outcome, &g.records, DropReason::CommandError);
                    }
                    self.counters.set_error(why);
                    break;
                }
                Sent::GaveUp => {
                    for g in &pending {
                        mark(&mut outcome, &g.records, DropReason::Shutdown);
                    }
                    gave_up = true;
                    break;
                }
            };
            let mut again = Vec::new();
            for (g, range) in pending.iter().zip(ranges) {
                match g.reply(replies.get(range).unwrap_or_default()) {
                    Reply::Done => {}
                    Reply::Stale => mark(&mut outcome, &g.records, DropReason::Stale),
                    // Someone flushed the scripts: the call had no effect, so it may be sent
                    // again once they are loaded.
                    Reply::NoScript if reloads == 0 => again.push(*g),
                    Reply::NoScript => {
                        self.counters
                            .set_error(format!("`{}`: NOSCRIPT after reloading", g.key()));
                        mark(&mut outcome, &g.records, DropReason::CommandError);
                    }
                    Reply::Failed(why) => {
                        self.counters.set_error(format!(
                            "writing `{}`: {}",
                            g.key(),
                            why.trim_end()
                        ));
                        mark(&mut outcome, &g.records, DropReason::CommandError);
                    }
                }
            }
            if !again.is_empty() {
                reloads += 1;
                if let Some(con) = self.con.as_mut() {
                    if script::load_all(con).is_err() {
                        self.con = None;
                    }
                }
            }
            pending = again;
        }
        if !gave_up {
            if let Some((_, covered)) = note {
                self.reported = covered;
            }
            self.counters.set_last_flush(self.settings.clock.now());
        }
        let written = outcome.iter().filter(|o| o.is_none()).count();
        self.counters.add_written(written as u64);
        for reason in outcome.into_iter().flatten() {
            self.counters.add_dropped(reason, 1);
        }
        gave_up
    }

    /// Sends one packed MULTI/EXEC of `n` commands, reconnecting and retrying until EXEC ran,
    /// Redis refused the transaction for good, or the shutdown deadline passed.
    fn send(&mut self, packed: &[u8], n: usize) -> Sent {
        loop {
            if self.past_deadline() {
                return Sent::GaveUp;
            }
            if self.con.is_none() && !self.connect() {
                self.pause();
                continue;
            }
            let Some(con) = self.con.as_mut() else {
                continue;
            };
            match con.req_packed_commands(packed, n + 1, 1) {
                Ok(mut replies) => match replies.pop() {
                    Some(Value::Array(items)) if items.len() == n => {
                        self.backoff = self.settings.backoff_min;
                        return Sent::Replies(items);
                    }
                    other => {
                        self.broken(format!("unexpected reply to EXEC: {other:?}"));
                    }
                },
                Err(e) if is_connection_error(&e) || e.kind() == redis::ErrorKind::Parse => {
                    self.broken(format!("writing to {}: {e}", self.settings.url));
                }
                Err(e) => {
                    let codes: Vec<String> = e
                        .clone()
                        .into_server_errors()
                        .map(|errs| errs.iter().map(|(_, s)| s.code().to_owned()).collect())
                        .unwrap_or_default();
                    let why = format!("transaction refused by {}: {e}", self.settings.url);
                    if codes.is_empty() {
                        // Not a server answer we understand: start over on a new connection.
                        self.broken(why);
                    } else if codes.iter().any(|c| TRANSIENT.contains(&c.as_str())) {
                        self.counters.set_error(why);
                        self.pause();
                    } else {
                        return Sent::Refused(why);
                    }
                }
            }
        }
    }

    fn past_deadline(&self) -> bool {
        self.queue.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Connects and loads the scripts; on failure records the error and returns false.
    fn connect(&mut self) -> bool {
        let url = &self.settings.url;
        let result = self
            .settings
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(|e| format!("connecting to {url}: {e}"))
            .and_then(|mut con| {
                let _ = con.set_read_timeout(Some(IO_TIMEOUT));
                let _ = con.set_write_timeout(Some(IO_TIMEOUT));
                script::load_all(&mut con)
                    .map(|()| con)
                    .map_err(|e| format!("loading scripts into {url}: {e}"))
            });
        match result {
            Ok(con) => {
                self.con = Some(con);
                self.counters.set_connected(true);
                true
            }
            Err(why) => {
                self.counters.set_connected(false);
                self.counters.set_error(why);
                false
            }
        }
    }

    fn broken(&mut self, why: String) {
        self.con = None;
        self.counters.set_connected(false);
        self.counters.set_error(why);
        self.pause();
    }

    /// Waits the current backoff (cut short by a flush request or the shutdown), then
    /// doubles it up to the maximum.
    fn pause(&mut self) {
        let mut d = self.backoff;
        if let Some(deadline) = self.queue.deadline() {
            d = d.min(deadline.saturating_duration_since(Instant::now()));
        }
        self.queue.pause(d);
        self.backoff = (self.backoff * 2).min(self.settings.backoff_max);
    }
}

fn mark(outcome: &mut [Option<DropReason>], records: &[u32], reason: DropReason) {
    for i in records {
        let o = &mut outcome[*i as usize];
        if o.is_none() {
            *o = Some(reason);
        }
    }
}
