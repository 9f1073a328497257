//! The background thread of [`LiveConfig`](super::LiveConfig): subscribes to
//! `config-changed`, then reloads everything (so nothing changed before the subscription is
//! missed), re-reads each announced key, reloads everything again whenever `max_staleness`
//! has passed on the store's clock, and reconnects with backoff when the connection breaks.
//!
//! It wakes at least every [`POLL`] to look at the clock and at the stop request, so a stop
//! takes at most that long.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::cache::{Fetched, Problem, Shared, connect};
use crate::error::{Error, is_connection_error};

/// The longest the thread blocks on the subscription before looking at the clock and at the
/// stop request.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// The most a full reload starts ahead of `max_staleness`.
const EARLY: Duration = Duration::from_millis(20);

pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tracing-redis-config".to_owned())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let (min, max) = (shared.settings.backoff_min, shared.settings.backoff_max);
    let mut backoff = min;
    loop {
        let mut subscribed = false;
        let err = match follow(shared, &mut subscribed) {
            Ok(()) => {
                shared.update_state(|s| s.subscribed = false);
                return;
            }
            Err(e) => e,
        };
        shared.update_state(|s| {
            s.subscribed = false;
            s.last_error = Some(err.to_string());
        });
        if subscribed {
            backoff = min;
        }
        if shared.wait_state(backoff, |s| s.stop) {
            return;
        }
        backoff = backoff.saturating_mul(2).min(max);
    }
}

/// One connection's life: returns `Ok` when asked to stop, the error when the connection
/// breaks. Sets `subscribed` once it is subscribed and has reloaded.
fn follow(shared: &Shared, subscribed: &mut bool) -> Result<(), Error> {
    let timeout = shared.settings.io_timeout;
    let mut sub = connect(&shared.client, timeout).map_err(ctx("connecting"))?;
    let mut data = connect(&shared.client, timeout).map_err(ctx("connecting"))?;
    let channel = shared.store.keys().config_changed_channel();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe(&channel).map_err(ctx("subscribing"))?;
    let mut last_reload = reload_all(shared, &mut data)?;
    *subscribed = true;
    shared.update_state(|s| {
        s.subscribed = true;
        s.subscriptions += 1;
        s.last_error = None;
    });
    loop {
        if shared.stopping() {
            return Ok(());
        }
        let wait = match due_in(shared, last_reload) {
            Some(wait) => wait,
            None => {
                last_reload = reload_all(shared, &mut data)?;
                continue;
            }
        };
        pubsub
            .set_read_timeout(Some(wait.clamp(Duration::from_millis(1), POLL)))
            .map_err(ctx("setting the read timeout"))?;
        match pubsub.get_message() {
            Ok(msg) => {
                shared.update_state(|s| s.notices += 1);
                let payload = String::from_utf8_lossy(msg.get_payload_bytes()).into_owned();
                reload_key(shared, &mut data, &payload)?;
            }
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(ctx("waiting for notices")(e)),
        }
    }
}

fn ctx(what: &'static str) -> impl Fn(redis::RedisError) -> Error {
    move |e| Error::redis(e, format!("config subscriber: {what}"))
}

/// How long until the next full reload is due on the store's clock; `None` when it is due.
///
/// Reloads start a little early (a tenth of `max_staleness`, at most [`EARLY`]) so that a
/// late wake-up (timers round up) and the round trip still land within `max_staleness`. A
/// clock that went backwards makes a reload due at once, so a clock step never stops them.
fn due_in(shared: &Shared, last_reload: SystemTime) -> Option<Duration> {
    let max = shared.settings.max_staleness;
    let period = max - (max / 10).min(EARLY);
    let elapsed = shared
        .store
        .clock()
        .now()
        .duration_since(last_reload)
        .ok()?;
    period.checked_sub(elapsed).filter(|d| !d.is_zero())
}

/// Reads the maintenance flag and every tracked key in one round trip. Returns the clock
/// time it was started at.
fn reload_all(shared: &Shared, con: &mut redis::Connection) -> Result<SystemTime, Error> {
    let started = shared.store.clock().now();
    let keys = shared.tracked_keys();
    let flag_key = shared.store.keys().maintenance();
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    pipe.cmd("GET").arg(&flag_key);
    for key in &keys {
        pipe.cmd("GET").arg(key);
    }
    let (seq, results) = shared.read_in_order(|seq| (seq, pipe.query(con)));
    let results: Vec<redis::RedisResult<Option<String>>> =
        results.map_err(|e| Error::redis(e, "config subscriber: reloading"))?;
    let mut results = results.into_iter();
    let flag = fetched(results.next().unwrap_or(Ok(None)), &flag_key)?;
    let values = keys
        .iter()
        .zip(results)
        .map(|(key, result)| Ok((key, fetched(result, key)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    // Applied while the state is locked, so whoever sees a value this reload read also sees
    // the reload counted in the status.
    shared.update_state(|s| {
        shared.apply_maintenance(seq, flag);
        for (key, value) in values {
            shared.apply(key, seq, value);
        }
        s.reloads += 1;
        s.last_reload = Some(started);
    });
    Ok(started)
}

/// Re-reads the key a notice named, when it is the maintenance flag or a tracked key.
fn reload_key(shared: &Shared, con: &mut redis::Connection, key: &str) -> Result<(), Error> {
    let is_flag = key == shared.store.keys().maintenance();
    if !is_flag && !shared.is_tracked(key) {
        return Ok(());
    }
    let (seq, result) = shared.read_in_order(|seq| (seq, redis::cmd("GET").arg(key).query(con)));
    let value = fetched(result, key)?;
    if is_flag {
        shared.apply_maintenance(seq, value);
    } else {
        shared.apply(key, seq, value);
    }
    Ok(())
}

/// A broken connection ends `follow`; any other failure (a key of another type, a value
/// that is not text) is a problem of that key, reported while its last good value is kept.
fn fetched(result: redis::RedisResult<Option<String>>, key: &str) -> Result<Fetched, Error> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) if is_connection_error(&e) => Err(Error::redis(e, "config subscriber: reading")),
        Err(e) => Ok(Err(Problem::from(Error::redis(
            e,
            format!("reading `{key}`"),
        )))),
    }
}
