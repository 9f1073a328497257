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
//!   is never sent again; records none of whose writes landed are dropped with the reason.
//!   A counter's write is judged by its HINCRBYs alone: if one landed, its increments count
//!   as written (a refused HINCRBY of another precision, or a refused `known:`
//!   registration, shows in the last error).
//! - Drops are told to Redis by a note (a recent-log entry and the dropped counter), sent
//!   with the next batch, on the next tick, or on its own at shutdown. Each of its two writes
//!   covers the drops up to the last time that write landed, by the same judgement, so a
//!   refused one (nothing of it applied) is sent again and a landed one never twice.
//!
//! Slowest sets lie outside the hash tag of the statistics script, so their updates are a
//! second MULTI/EXEC right after the flush: the means the scripts answered, for samples
//! counted into the current hour's sets, in batch order. The batch is settled only after
//! it, so [`Guard::flush`](crate::Guard::flush) returns with them written. A record whose
//! statistics landed counts as written even if this step fails (that shows in the last
//! error).

use std::sync::Arc;
use std::time::Instant;

use super::batch::{self, DropNote};
use super::group::{self, Group, Reply, SlowestUpdate, Write};
use super::link::{Link, Sent};
use super::queue::{Queue, Taken};
use super::record::Record;
use super::status::{Counters, DropCounts, DropReason};
use super::{Settings, later, mark_worker_thread};

pub(crate) struct Worker {
    settings: Arc<Settings>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    link: Link,
    /// Drops already told by a note's entry in the recent log.
    told: DropCounts,
    /// Drops already added to the dropped counter by a note.
    counted: DropCounts,
    /// The drop counts when a note's write was last refused: until they change, the note
    /// rides along with records but is not sent on its own again.
    note_refused_at: Option<DropCounts>,
}

/// A batch turned into groups, with each record's outcome so far.
struct Prepared {
    taken: Taken,
    groups: Vec<Group>,
    outcomes: Outcomes,
    /// The drop counts its note covers, if it carries one.
    covers: Option<DropCounts>,
}

impl Prepared {
    fn new(settings: &Settings, taken: Taken, note: Option<(DropNote, DropCounts)>) -> Self {
        let (groups, invalid) = batch::build(&taken.records, settings, note.as_ref().map(|n| &n.0));
        let mut outcomes = Outcomes::new(taken.records.len());
        for i in invalid {
            outcomes.failed[i as usize] = Some(DropReason::Invalid);
        }
        Prepared {
            taken,
            groups,
            outcomes,
            covers: note.map(|n| n.1),
        }
    }
}

/// What became of the writes of one batch. A record is written when at least one of its
/// writes landed, and dropped with the reason of its first failed write when none did (see
/// [`DropReason`]); either way it counts for its weight.
struct Outcomes {
    landed: Vec<bool>,
    failed: Vec<Option<DropReason>>,
    note_told: bool,
    note_counted: bool,
    note_refused: bool,
}

impl Outcomes {
    fn new(records: usize) -> Self {
        Outcomes {
            landed: vec![false; records],
            failed: vec![None; records],
            note_told: false,
            note_counted: false,
            note_refused: false,
        }
    }

    fn landed(&mut self, g: &Group) {
        if g.records.is_empty() {
            match g.write {
                Write::Recent { .. } => self.note_told = true,
                _ => self.note_counted = true,
            }
        }
        for i in &g.records {
            self.landed[*i as usize] = true;
        }
    }

    fn failed(&mut self, g: &Group, reason: DropReason) {
        if g.records.is_empty() && reason != DropReason::Shutdown {
            self.note_refused = true;
        }
        for i in &g.records {
            self.failed[*i as usize].get_or_insert(reason);
        }
    }

    /// The weight of `records` written, and the reason and weight of each record dropped.
    fn settle<'a>(
        &'a self,
        records: &'a [Record],
    ) -> (u64, impl Iterator<Item = (DropReason, u64)> + 'a) {
        let outcome = self
            .landed
            .iter()
            .zip(&self.failed)
            .zip(records)
            .map(|((landed, failed), r)| (if *landed { None } else { *failed }, r.weight()));
        let written = outcome
            .clone()
            .filter(|(reason, _)| reason.is_none())
            .map(|(_, w)| w)
            .sum();
        (
            written,
            outcome.filter_map(|(reason, w)| reason.map(|r| (r, w))),
        )
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
            told: DropCounts::default(),
            counted: DropCounts::default(),
            note_refused_at: None,
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
                        self.last_note(taken);
                        break;
                    }
                    let note = self.pending_note(taken.records.is_empty());
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
            .add_dropped(DropReason::Shutdown, taken.weight);
        self.queue.settle(&taken);
    }

    /// A note of the drops not yet written, with the counts it covers. `alone`: it would be
    /// sent without records, which is not worth it while Redis refuses it for the same drops.
    fn pending_note(&self, alone: bool) -> Option<(DropNote, DropCounts)> {
        let now = self.counters.dropped();
        if alone && self.note_refused_at == Some(now) {
            return None;
        }
        let untold = now.since(&self.told);
        let uncounted = now.since(&self.counted).total();
        if untold.total() == 0 && uncounted == 0 {
            return None;
        }
        let note = DropNote {
            at: self.settings.clock.now(),
            counts: untold.nonzero().collect(),
            counted: uncounted,
        };
        Some((note, now))
    }

    /// At shutdown, once everything queued was written: the drops of the last flushes are
    /// not told yet. Sends the note on its own while the deadline allows.
    fn last_note(&mut self, done: Taken) {
        if self.queue.deadline().is_some_and(|d| Instant::now() >= d) {
            return;
        }
        if let Some(note) = self.pending_note(true) {
            let mut next = None;
            self.deliver(Prepared::new(&self.settings, done, Some(note)), &mut next);
            if let Some(p) = next {
                self.abandon(p.taken);
            }
        }
    }

    /// Writes one prepared batch and settles its records; prepares the following batch into
    /// `next` while Redis works, when one is waiting. Returns whether it gave up because the
    /// shutdown deadline passed.
    fn deliver(&mut self, mut p: Prepared, next: &mut Option<Prepared>) -> bool {
        let mut pending: Vec<usize> = (0..p.groups.len()).collect();
        let mut slowest = Vec::new();
        let mut reloads = 0;
        let mut gave_up = false;
        let (settings, queue) = (Arc::clone(&self.settings), Arc::clone(&self.queue));
        let mut prefetch = || {
            if next.is_none()
                && let Some(taken) = queue.try_take()
            {
                *next = Some(Prepared::new(&settings, taken, None));
            }
        };
        while !pending.is_empty() {
            let groups: Vec<&Group> = pending.iter().map(|i| &p.groups[*i]).collect();
            let (packed, n, ranges) = group::pack(&groups, &self.settings);
            let replies = match self.link.send(&packed, n, &mut prefetch) {
                Sent::Replies(replies) => replies,
                Sent::Refused(why) => {
                    for g in &groups {
                        p.outcomes.failed(g, DropReason::CommandError);
                    }
                    self.counters.set_error(why);
                    break;
                }
                Sent::GaveUp => {
                    for g in &groups {
                        p.outcomes.failed(g, DropReason::Shutdown);
                    }
                    gave_up = true;
                    break;
                }
            };
            let mut again = Vec::new();
            for ((i, g), range) in pending.iter().zip(&groups).zip(ranges) {
                let replies = replies.get(range).unwrap_or_default();
                match g.reply(replies, &self.settings.keys) {
                    Reply::Done(error) => {
                        p.outcomes.landed(g);
                        if let Some(why) = error {
                            self.counters.set_error(why);
                        }
                        match g.slowest_update(replies) {
                            Ok(Some(update)) => slowest.push((*i, update)),
                            Ok(None) => {}
                            Err(why) => self.counters.set_error(why),
                        }
                    }
                    Reply::Stale => p.outcomes.failed(g, DropReason::Stale),
                    // Someone flushed the scripts: the call had no effect, so it may be sent
                    // again once they are loaded.
                    Reply::NoScript if reloads == 0 => again.push(*i),
                    Reply::NoScript => {
                        self.counters
                            .set_error(format!("`{}`: NOSCRIPT after reloading", g.key()));
                        p.outcomes.failed(g, DropReason::CommandError);
                    }
                    Reply::Failed(why) => {
                        self.counters.set_error(why);
                        p.outcomes.failed(g, DropReason::CommandError);
                    }
                }
            }
            if !again.is_empty() {
                reloads += 1;
                self.link.reload_scripts();
            }
            pending = again;
        }
        if !gave_up && !slowest.is_empty() {
            // In batch order, so a context's later hour sets its mean last.
            slowest.sort_by_key(|(i, _)| *i);
            let updates: Vec<SlowestUpdate> = slowest.into_iter().map(|(_, u)| u).collect();
            gave_up = self.send_slowest(&updates, &mut prefetch);
        }
        if let Some(covered) = p.covers {
            let o = &p.outcomes;
            if o.note_told {
                self.told = covered;
            }
            if o.note_counted {
                self.counted = covered;
            }
            self.note_refused_at = o.note_refused.then_some(covered);
        }
        if !gave_up {
            self.counters.set_last_flush(self.settings.clock.now());
        }
        let (written, dropped) = p.outcomes.settle(&p.taken.records);
        self.counters.add_written(written);
        for (reason, weight) in dropped {
            self.counters.add_dropped(reason, weight);
        }
        self.queue.settle(&p.taken);
        gave_up
    }

    /// Sets the means of the statistics that just landed in their slowest sets: one more
    /// MULTI/EXEC, before the batch is settled, so a flush that returns finds them written.
    /// Their records count as written whatever comes of it; a failure shows in the last
    /// error. Returns whether it gave up because the shutdown deadline passed.
    fn send_slowest(&mut self, updates: &[SlowestUpdate], meanwhile: &mut dyn FnMut()) -> bool {
        let (packed, n, ranges) = group::pack_slowest(updates);
        match self.link.send(&packed, n, meanwhile) {
            Sent::Replies(replies) => {
                for (u, range) in updates.iter().zip(ranges) {
                    if let Some(why) = u.error(replies.get(range).unwrap_or_default()) {
                        self.counters.set_error(why.trim_end().to_owned());
                    }
                }
                false
            }
            Sent::Refused(why) => {
                self.counters.set_error(why);
                false
            }
            Sent::GaveUp => {
                let keys: std::collections::BTreeSet<&str> =
                    updates.iter().map(|u| u.key.as_str()).collect();
                let keys: Vec<&str> = keys.into_iter().collect();
                self.counters.set_error(format!(
                    "{} means not set in `{}`: the shutdown timeout ran out",
                    updates.len(),
                    keys.join("`, `")
                ));
                true
            }
        }
    }
}
