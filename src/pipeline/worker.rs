//! The worker: one named thread that owns the Redis connection. It takes a batch from the
//! queue, coalesces it, sends one MULTI/EXEC and settles every record as written or dropped.
//! While Redis executes a flush, the worker prepares the next batch if one is waiting.
//!
//! - No connection (Redis down, even at start): the batch waits; the worker retries with
//!   capped exponential backoff, loading the scripts on every (re)connect, and sends the
//!   whole flush again. Until EXEC arrives Redis applies nothing, so a flush is
//!   all-or-nothing with respect to a broken connection; only a flush Redis executed just
//!   before the break, whose reply was lost, is applied twice (at-least-once).
//! - A command error inside EXEC (e.g. `WRONGTYPE`): EXEC does not roll back, so the flush
//!   is never sent again; the failed command's records are dropped with the reason.

use std::sync::Arc;
use std::time::Instant;

use super::batch::{self, DropNote};
use super::group::{self, Group, Reply};
use super::link::{Link, Sent};
use super::queue::{Queue, Taken};
use super::status::{Counters, DropCounts, DropReason};
use super::{Settings, later, mark_worker_thread};

pub(crate) struct Worker {
    settings: Arc<Settings>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    link: Link,
    /// Drops already written to Redis as a note.
    reported: DropCounts,
}

/// A batch turned into groups, with each record's outcome so far.
struct Prepared {
    taken: Taken,
    groups: Vec<Group>,
    outcome: Vec<Option<DropReason>>,
    /// The drop counts its note covers, if it carries one.
    covers: Option<DropCounts>,
}

impl Prepared {
    fn new(settings: &Settings, taken: Taken, note: Option<(DropNote, DropCounts)>) -> Self {
        let (groups, invalid) = batch::build(&taken.records, settings, note.as_ref().map(|n| &n.0));
        let mut outcome = vec![None; taken.records.len()];
        for i in invalid {
            outcome[i as usize] = Some(DropReason::Invalid);
        }
        Prepared {
            taken,
            groups,
            outcome,
            covers: note.map(|n| n.1),
        }
    }
}

impl Worker {
    pub(crate) fn new(settings: Arc<Settings>, queue: Arc<Queue>, counters: Arc<Counters>) -> Self {
        let link = Link::new(
            Arc::clone(&settings),
            Arc::clone(&queue),
            Arc::clone(&counters),
        );
        Worker {
            settings,
            queue,
            counters,
            link,
            reported: DropCounts::default(),
        }
    }

    pub(crate) fn run(mut self) {
        mark_worker_thread();
        let interval = self.settings.flush_interval;
        let mut tick = later(Instant::now(), interval);
        let mut next: Option<Prepared> = None;
        loop {
            let prepared = match next.take() {
                Some(p) => p,
                None => {
                    let taken = self.queue.take(tick);
                    let now = Instant::now();
                    if now >= tick {
                        tick = later(now, interval);
                    }
                    if taken.done {
                        break;
                    }
                    let note = self.pending_note();
                    if taken.records.is_empty() && note.is_none() {
                        continue;
                    }
                    Prepared::new(&self.settings, taken, note)
                }
            };
            if self.deliver(prepared, &mut next) {
                if let Some(p) = next.take() {
                    self.abandon(p.taken);
                }
                break;
            }
        }
        let rest = self.queue.take_all();
        self.abandon(rest);
        self.queue.finish();
    }

    fn abandon(&self, taken: Taken) {
        self.counters
            .add_dropped(DropReason::Shutdown, taken.records.len() as u64);
        self.queue
            .settle(taken.records.len(), taken.bytes, taken.seq_end);
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

    /// Writes one prepared batch and settles its records; prepares the following batch into
    /// `next` while Redis works, when one is waiting. Returns whether it gave up because the
    /// shutdown deadline passed.
    fn deliver(&mut self, mut p: Prepared, next: &mut Option<Prepared>) -> bool {
        let mut pending: Vec<&Group> = p.groups.iter().collect();
        let mut reloads = 0;
        let mut gave_up = false;
        let (settings, queue) = (Arc::clone(&self.settings), Arc::clone(&self.queue));
        let mut prefetch = || {
            if next.is_none() {
                if let Some(taken) = queue.try_take() {
                    *next = Some(Prepared::new(&settings, taken, None));
                }
            }
        };
        while !pending.is_empty() {
            let (packed, n, ranges) = group::pack(&pending, &self.settings);
            let replies = match self.link.send(&packed, n, &mut prefetch) {
                Sent::Replies(replies) => replies,
                Sent::Refused(why) => {
                    for g in &pending {
                        mark(&mut p.outcome, &g.records, DropReason::CommandError);
                    }
                    self.counters.set_error(why);
                    break;
                }
                Sent::GaveUp => {
                    for g in &pending {
                        mark(&mut p.outcome, &g.records, DropReason::Shutdown);
                    }
                    gave_up = true;
                    break;
                }
            };
            let mut again = Vec::new();
            for (g, range) in pending.iter().zip(ranges) {
                match g.reply(replies.get(range).unwrap_or_default()) {
                    Reply::Done => {}
                    Reply::Stale => mark(&mut p.outcome, &g.records, DropReason::Stale),
                    // Someone flushed the scripts: the call had no effect, so it may be sent
                    // again once they are loaded.
                    Reply::NoScript if reloads == 0 => again.push(*g),
                    Reply::NoScript => {
                        self.counters
                            .set_error(format!("`{}`: NOSCRIPT after reloading", g.key()));
                        mark(&mut p.outcome, &g.records, DropReason::CommandError);
                    }
                    Reply::Failed(why) => {
                        self.counters.set_error(format!(
                            "writing `{}`: {}",
                            g.key(),
                            why.trim_end()
                        ));
                        mark(&mut p.outcome, &g.records, DropReason::CommandError);
                    }
                }
            }
            if !again.is_empty() {
                reloads += 1;
                self.link.reload_scripts();
            }
            pending = again;
        }
        if !gave_up {
            if let Some(covered) = p.covers {
                self.reported = covered;
            }
            self.counters.set_last_flush(self.settings.clock.now());
        }
        let written = p.outcome.iter().filter(|o| o.is_none()).count();
        self.counters.add_written(written as u64);
        for reason in p.outcome.iter().flatten() {
            self.counters.add_dropped(*reason, 1);
        }
        let t = &p.taken;
        self.queue.settle(t.records.len(), t.bytes, t.seq_end);
        gave_up
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
