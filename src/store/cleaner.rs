//! The counter cleaner: trims every counter to its last 120 buckets and forgets counters that
//! went idle. Several cleaners (threads or processes) may run at once.
//!
//! One pass a minute. A counter of precision `p` is visited only on passes where
//! `passes % max(1, p / 60) == 0`; its buckets starting at or before `now − 120·p` are deleted
//! and, if its hash is then empty, it leaves `known:` — both in one script, so a concurrent
//! increment is never lost from `known:`. Work per pass is proportional to the counters and
//! buckets held. `known:` is walked by member (ZRANGEBYLEX), so removals by another cleaner
//! during the walk skip nothing.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use redis::ConnectionLike;

use super::clock::unix_secs;
use super::script::{CLEAN_COUNTER, ScriptCall};
use super::{Store, redis_ctx};
use crate::error::{Error, Result};

/// How many buckets a counter keeps at each precision.
pub const SAMPLE_COUNT: i64 = 120;

/// What one cleaner pass did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// Counters (name at one precision) visited on this pass.
    pub visited: u64,
    /// Buckets deleted.
    pub buckets_deleted: u64,
    /// Counters removed from `known:` because they were empty.
    pub forgotten: u64,
}

/// Runs cleaner passes: by hand ([`Cleaner::pass`]), in a loop on the current thread
/// ([`Cleaner::run`]), or on a background thread ([`Cleaner::spawn`]).
///
/// ```no_run
/// use tracing_redis::store::{Cleaner, Store};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = redis::Client::open("redis://127.0.0.1/")?;
/// let handle = Cleaner::new(Store::new()).spawn(client)?;
/// // … later; returns promptly, not after the rest of a minute.
/// handle.stop();
/// # Ok(()) }
/// ```
///
/// Running a pass by hand, e.g. from a tool or a test:
///
/// ```no_run
/// use tracing_redis::store::{Cleaner, Store};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut con = redis::Client::open("redis://127.0.0.1/")?.get_connection()?;
/// let report = Cleaner::new(Store::new()).pass(&mut con, 0)?;
/// println!("{} old buckets deleted", report.buckets_deleted);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cleaner {
    store: Store,
    interval: Duration,
}

impl Cleaner {
    /// The default time between passes: one minute.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

    /// A cleaner for the counters of `store` (its namespace and clock).
    pub fn new(store: Store) -> Self {
        Cleaner {
            store,
            interval: Self::DEFAULT_INTERVAL,
        }
    }

    /// Sets the time between passes (default [`Cleaner::DEFAULT_INTERVAL`]). The pass-skipping
    /// rule assumes one pass a minute; change it for tests and tools only.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Runs pass number `pass` once.
    ///
    /// # Errors
    ///
    /// A connection error ends the pass at once. A counter that cannot be cleaned (for
    /// example a key of another type: `WRONGTYPE`) does not stop the others from being
    /// cleaned; the first such error is returned once the pass is done.
    pub fn pass(&self, con: &mut dyn ConnectionLike, pass: u64) -> Result<CleanReport> {
        self.pass_until(con, pass, None)
    }

    /// As [`Cleaner::pass`], ending early (with what was done so far) once `stop` is
    /// signalled: it is looked at before each counter, so a stop waits for one counter, not
    /// for the rest of a pass over all of them.
    fn pass_until(
        &self,
        con: &mut dyn ConnectionLike,
        pass: u64,
        stop: Option<&StopSignal>,
    ) -> Result<CleanReport> {
        let keys = self.store.keys();
        let known = keys.known();
        let now = unix_secs(self.store.clock().now());
        let mut report = CleanReport::default();
        let mut deferred: Option<Error> = None;
        let mut after = "-".to_owned();
        loop {
            let members: Vec<String> = redis_ctx(
                || format!("walking `{known}`"),
                redis::cmd("ZRANGEBYLEX")
                    .arg(&known)
                    .arg(&after)
                    .arg("+")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(500)
                    .query(con),
            )?;
            let Some(last) = members.last() else { break };
            after = format!("({last}");
            for member in &members {
                if stop.is_some_and(StopSignal::is_stopped) {
                    break;
                }
                let Some(precision) = member
                    .split_once(':')
                    .and_then(|(p, _)| p.parse::<i64>().ok())
                    .filter(|p| *p > 0)
                else {
                    continue;
                };
                let every = u64::try_from((precision / 60).max(1)).unwrap_or(1);
                if !pass.is_multiple_of(every) {
                    continue;
                }
                report.visited += 1;
                let cutoff = now.saturating_sub(SAMPLE_COUNT.saturating_mul(precision));
                let hash = keys.counter_from_known(member);
                let cleaned: Result<(u64, u64)> = redis_ctx(
                    || format!("cleaning `{hash}`"),
                    ScriptCall::new(
                        &CLEAN_COUNTER,
                        vec![hash.clone(), known.clone()],
                        vec![cutoff.to_string(), member.clone()],
                    )
                    .invoke(con),
                );
                match cleaned {
                    Ok((deleted, forgotten)) => {
                        report.buckets_deleted += deleted;
                        report.forgotten += forgotten;
                    }
                    Err(e) if e.is_connection() => return Err(e),
                    // One bad key must not leave every counter after it untrimmed forever.
                    Err(e) => {
                        deferred.get_or_insert(e);
                    }
                }
            }
            if stop.is_some_and(StopSignal::is_stopped) {
                break;
            }
        }
        match deferred {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Runs passes 0, 1, 2, … every interval until `stop` is signalled; returns promptly
    /// then, also in the middle of a pass (once the counter being cleaned is done).
    /// A failed pass is passed to `on_error` and the loop goes on.
    pub fn run(
        &self,
        con: &mut dyn ConnectionLike,
        stop: &StopSignal,
        mut on_error: impl FnMut(Error),
    ) {
        let mut pass = 0u64;
        loop {
            if let Err(e) = self.pass_until(con, pass, Some(stop)) {
                on_error(e);
            }
            pass = pass.wrapping_add(1);
            if stop.wait(self.interval) {
                return;
            }
        }
    }

    /// Starts the loop on a background thread named `tracing-redis-cleaner`, reconnecting
    /// through `client` when a pass fails on a broken connection.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the thread cannot be started.
    pub fn spawn(self, client: redis::Client) -> Result<CleanerHandle> {
        let stop = StopSignal::default();
        let done = StopSignal::default();
        let errors = Arc::new(Mutex::new(ErrorLog::default()));
        let (stop2, done2, errors2) = (stop.clone(), done.clone(), errors.clone());
        let thread = std::thread::Builder::new()
            .name("tracing-redis-cleaner".into())
            .spawn(move || {
                let _done = SignalOnDrop(done2);
                self.run_reconnecting(&client, &stop2, &errors2);
            })
            .map_err(|e| Error::io(e, "starting the cleaner thread"))?;
        Ok(CleanerHandle {
            stop,
            done,
            errors,
            thread: Some(thread),
        })
    }

    fn run_reconnecting(
        &self,
        client: &redis::Client,
        stop: &StopSignal,
        errors: &Mutex<ErrorLog>,
    ) {
        let mut pass = 0u64;
        let mut con: Option<redis::Connection> = None;
        loop {
            if con.is_none() {
                match connect(client) {
                    Ok(c) => con = Some(c),
                    Err(e) => record(errors, e),
                }
            }
            if let Some(c) = con.as_mut()
                && let Err(e) = self.pass_until(c, pass, Some(stop))
            {
                if e.is_connection() {
                    con = None;
                }
                record(errors, e);
            }
            pass = pass.wrapping_add(1);
            if stop.wait(self.interval) {
                return;
            }
        }
    }
}

/// Bounds every Redis call of the background cleaner, so a server that stops answering
/// cannot hold [`CleanerHandle::stop`] for longer than this.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn connect(client: &redis::Client) -> Result<redis::Connection> {
    let what = "cleaner connecting to Redis";
    let con = client
        .get_connection_with_timeout(IO_TIMEOUT)
        .map_err(|e| Error::redis(e, what))?;
    con.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| con.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| Error::redis(e, what))?;
    Ok(con)
}

#[derive(Debug, Default)]
struct ErrorLog {
    count: u64,
    last: Option<String>,
}

fn record(errors: &Mutex<ErrorLog>, e: Error) {
    let mut log = errors.lock().unwrap_or_else(PoisonError::into_inner);
    log.count += 1;
    log.last = Some(e.to_string());
}

/// Signals when dropped: the thread ended, also by a panic.
struct SignalOnDrop(StopSignal);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A stop flag that wakes a waiting loop at once.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<(Mutex<bool>, Condvar)>);

impl StopSignal {
    /// Asks the loop to stop.
    pub fn stop(&self) {
        let (flag, cv) = &*self.0;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cv.notify_all();
    }

    /// Whether stop was asked.
    pub fn is_stopped(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout`; true when stop was asked (before or during the wait).
    pub fn wait(&self, timeout: Duration) -> bool {
        let (flag, cv) = &*self.0;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// The handle of a background cleaner. Dropping it stops the cleaner too.
#[must_use = "dropping the handle stops the cleaner"]
#[derive(Debug)]
pub struct CleanerHandle {
    stop: StopSignal,
    /// Signalled by the thread when it ends.
    done: StopSignal,
    errors: Arc<Mutex<ErrorLog>>,
    thread: Option<JoinHandle<()>>,
}

impl CleanerHandle {
    /// Failed passes so far and the last error's message.
    pub fn errors(&self) -> (u64, Option<String>) {
        let log = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        (log.count, log.last.clone())
    }

    /// Stops the cleaner and waits for its thread (at most one Redis call long: a pass
    /// in progress ends after its current counter).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Asks the cleaner to stop without waiting for it (a guard does that before its own
    /// shutdown, so both wind down at once).
    pub(crate) fn signal_stop(&self) {
        self.stop.stop();
    }

    /// Signalled when the thread has ended.
    #[cfg(test)]
    pub(crate) fn ended(&self) -> StopSignal {
        self.done.clone()
    }

    /// Stops the cleaner and waits at most `timeout` for its thread; returns whether it
    /// ended in time. A thread still inside a Redis call then ends on its own after it.
    pub fn stop_within(mut self, timeout: Duration) -> bool {
        self.stop.stop();
        if !self.done.wait(timeout) {
            // Detached: it ends after its current call, bounded by the I/O timeout.
            self.thread = None;
            return false;
        }
        self.shutdown();
        true
    }

    fn shutdown(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CleanerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
