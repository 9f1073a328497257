//! The worker's connection: connect with a timeout, load the scripts on every (re)connect,
//! send one MULTI/EXEC and read its replies, back off exponentially while Redis is away.
//!
//! Writing and reading are separate steps so the worker can prepare the next batch while
//! Redis executes this one; still only one flush is ever in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value;

use super::Settings;
use super::queue::Queue;
use super::status::Counters;
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

/// The result of sending one MULTI/EXEC.
pub(crate) enum Sent {
    /// EXEC ran: one reply per command.
    Replies(Vec<Value>),
    /// Redis refused the whole transaction for good (nothing was applied).
    Refused(String),
    /// The shutdown deadline passed before Redis could be reached.
    GaveUp,
}

enum Failure {
    /// The connection is unusable: reconnect and send again.
    Broken(String),
    /// EXEC refused the transaction, with the error codes of the refused commands.
    Aborted(Vec<String>, String),
}

pub(crate) struct Link {
    settings: Arc<Settings>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    con: Option<redis::Connection>,
    backoff: Duration,
}

impl Link {
    pub(crate) fn new(settings: Arc<Settings>, queue: Arc<Queue>, counters: Arc<Counters>) -> Self {
        let backoff = settings.backoff_min;
        Link {
            settings,
            queue,
            counters,
            con: None,
            backoff,
        }
    }

    /// Sends one packed MULTI/EXEC of `n` commands, reconnecting and sending again until
    /// EXEC ran, Redis refused the transaction for good, or the shutdown deadline passed.
    /// `meanwhile` runs after each successful write, while Redis works.
    pub(crate) fn send(&mut self, packed: &[u8], n: usize, meanwhile: &mut dyn FnMut()) -> Sent {
        loop {
            if self.queue.deadline().is_some_and(|d| Instant::now() >= d) {
                return Sent::GaveUp;
            }
            if self.con.is_none() && !self.connect() {
                self.pause();
                continue;
            }
            let Some(con) = self.con.as_mut() else {
                continue;
            };
            if let Err(e) = con.send_packed_command(packed) {
                let why = format!("writing to {}: {e}", self.settings.url);
                self.broken(why);
                continue;
            }
            meanwhile();
            match read_transaction(con, n) {
                Ok(replies) => {
                    self.backoff = self.settings.backoff_min;
                    return Sent::Replies(replies);
                }
                Err(Failure::Broken(e)) => {
                    let why = format!("reading from {}: {e}", self.settings.url);
                    self.broken(why);
                }
                Err(Failure::Aborted(codes, e)) => {
                    let why = format!("transaction refused by {}: {e}", self.settings.url);
                    if codes.iter().any(|c| TRANSIENT.contains(&c.as_str())) {
                        self.counters.set_error(why);
                        self.pause();
                    } else {
                        return Sent::Refused(why);
                    }
                }
            }
        }
    }

    /// Loads the scripts again (someone flushed them); on failure the next send reconnects.
    pub(crate) fn reload_scripts(&mut self) {
        if let Some(con) = self.con.as_mut()
            && script::load_all(con).is_err()
        {
            self.con = None;
        }
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
        let max = self.settings.backoff_max;
        self.backoff = self.backoff.checked_mul(2).unwrap_or(max).min(max);
    }
}

/// Reads the replies of MULTI, `n` queued commands and EXEC.
fn read_transaction(con: &mut redis::Connection, n: usize) -> Result<Vec<Value>, Failure> {
    let mut refused = Vec::new();
    // Every reply is read even after an error, so the connection stays in step.
    for _ in 0..=n {
        match con.recv_response() {
            Ok(Value::ServerError(e)) => refused.push(e),
            Ok(_) => {}
            Err(e) => return Err(Failure::Broken(e.to_string())),
        }
    }
    match con.recv_response() {
        Ok(Value::Array(items)) if items.len() == n && refused.is_empty() => Ok(items),
        Ok(Value::ServerError(e)) => {
            let mut codes: Vec<String> = refused.iter().map(|r| r.code().to_owned()).collect();
            let mut why = format!("{} {}", e.code(), e.details().unwrap_or_default());
            for r in &refused {
                why.push_str(&format!(
                    "; {} {}",
                    r.code(),
                    r.details().unwrap_or_default()
                ));
            }
            codes.push(e.code().to_owned());
            Err(Failure::Aborted(codes, why))
        }
        Ok(other) => Err(Failure::Broken(format!(
            "unexpected reply to EXEC: {other:?}"
        ))),
        Err(e) => Err(Failure::Broken(e.to_string())),
    }
}
