//! The tables behind [`LiveConfig`](super::LiveConfig): one immutable entry per tracked
//! (type, component), the maintenance flag, and the sequence numbers that keep an older read
//! from overwriting a newer one.
//!
//! Readers take a read lock just long enough to clone an `Arc`; writers parse outside the
//! lock and take the write lock only to swap an entry. No I/O ever happens under these locks.
//! The only thing held across I/O is the turn of the [`ReadOrder`] (it also lends the loader
//! connection): every read of configuration, by the subscriber or by a caller loading a value
//! for the first time, takes its sequence number and does its round trip during its turn.
//! Reads go through two connections, so without it a read numbered later could be executed
//! by Redis earlier, and a newer value be replaced by an older one. Callers that read from
//! memory never take a turn; a caller loading a value waits for its turn at most
//! `io_timeout`, then gives up with an error instead of queueing behind reads that hang.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::Settings;
use super::read_order::ReadOrder;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Store, parse_config};

/// Why the newest value of a key was not taken: kept as kind and text so it can be handed to
/// every reader as a fresh [`Error`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    kind: ErrorKind,
    message: String,
}

impl Problem {
    pub(crate) fn to_error(&self) -> Error {
        Error::new(self.kind, self.message.clone())
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem {
            kind: e.kind(),
            message: e.message().to_owned(),
        }
    }
}

/// What reading one key gave: its text (`None`: no such key), or a problem with it.
pub(crate) type Fetched = std::result::Result<Option<String>, Problem>;

/// One configuration as last read. Never mutated: a change swaps in a new `Arc<Entry>`, so a
/// reader sees one whole entry, old or new.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: String,
    seq: u64,
    /// A read has completed; until then the entry only marks the key as tracked.
    loaded: bool,
    /// The last good value (`None`: there is no configuration).
    value: Option<Arc<Value>>,
    /// Why the newest stored value was not taken, if it was not.
    problem: Option<Problem>,
}

impl Entry {
    /// What a reader gets, or `None` when the entry still waits for its first read.
    fn answer(&self) -> Option<Result<Option<Arc<Value>>>> {
        match (&self.value, &self.problem) {
            (Some(v), _) if self.loaded => Some(Ok(Some(Arc::clone(v)))),
            (_, Some(p)) => Some(Err(p.to_error())),
            (_, None) if self.loaded => Some(Ok(None)),
            _ => None,
        }
    }

    /// The entry after reading `fetched` with sequence number `seq`.
    fn next(&self, seq: u64, fetched: Fetched) -> Entry {
        let (loaded, value, problem) = match fetched {
            Ok(None) => (true, None, None),
            Ok(Some(raw)) => match parse_config(&self.key, &raw) {
                // An unchanged value keeps its `Arc`, so holders can tell "same" by pointer.
                Ok(v) if self.value.as_deref() == Some(&v) => (true, self.value.clone(), None),
                Ok(v) => (true, Some(Arc::new(v)), None),
                Err(e) => (true, self.value.clone(), Some(e.into())),
            },
            Err(p) => (self.loaded, self.value.clone(), Some(p)),
        };
        Entry {
            key: self.key.clone(),
            seq,
            loaded,
            value,
            problem,
        }
    }
}

#[derive(Debug, Default)]
struct Tables {
    /// type → component → entry: readers look up with borrowed names, no allocation.
    by_name: HashMap<String, HashMap<String, Arc<Entry>>>,
    /// key → (type, component), for the subscriber, which receives keys.
    by_key: HashMap<String, (String, String)>,
}

/// The maintenance flag as last read.
#[derive(Debug, Default)]
struct Flag {
    seq: u64,
    on: Option<bool>,
    problem: Option<Problem>,
}

/// The subscriber's state, shown by [`LiveConfig::status`](super::LiveConfig::status).
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) stop: bool,
    pub(crate) subscribed: bool,
    pub(crate) subscriptions: u64,
    pub(crate) reloads: u64,
    pub(crate) notices: u64,
    pub(crate) last_reload: Option<SystemTime>,
    pub(crate) last_error: Option<String>,
}

/// Everything the handles and the subscriber thread share.
pub(crate) struct Shared {
    pub(crate) client: redis::Client,
    pub(crate) store: Store,
    pub(crate) settings: Settings,
    tables: RwLock<Tables>,
    flag: RwLock<Flag>,
    order: ReadOrder,
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .field(
                "state",
                &self.state.try_lock().ok().map(|s| format!("{s:?}")),
            )
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Connects with `timeout` for the connection and for every later read and write, so no
/// call waits forever on an unresponsive server.
pub(crate) fn connect(
    client: &redis::Client,
    timeout: Duration,
) -> redis::RedisResult<redis::Connection> {
    let con = client.get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(timeout))?;
    con.set_write_timeout(Some(timeout))?;
    Ok(con)
}

impl Shared {
    pub(crate) fn new(client: redis::Client, store: Store, settings: Settings) -> Self {
        Shared {
            client,
            store,
            settings,
            tables: RwLock::default(),
            flag: RwLock::default(),
            order: ReadOrder::default(),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    /// Runs `read` (one round trip on the subscriber's connection) with a sequence number,
    /// during a turn of the read order, so that it is ordered with every other read. Waits
    /// for the turn as long as it takes: a caller holds it for one read at most.
    pub(crate) fn read_in_order<T>(&self, read: impl FnOnce(u64) -> T) -> T {
        let turn = self.order.wait();
        read(turn.seq())
    }

    fn lookup(&self, kind: &str, component: &str) -> Option<Arc<Entry>> {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.by_name.get(kind)?.get(component).cloned()
    }

    /// The configuration of (`kind`, `component`): from memory, or read on this thread the
    /// first time it is asked for.
    pub(crate) fn get(&self, kind: &str, component: &str) -> Result<Option<Arc<Value>>> {
        if let Some(answer) = self.lookup(kind, component).and_then(|e| e.answer()) {
            return answer;
        }
        let key = self.store.keys().config(kind, component)?;
        // Tracked before the read: a notice arriving meanwhile makes the subscriber read it.
        self.track(kind, component, &key);
        let entry = match self.order.load(
            &self.client,
            self.settings.io_timeout,
            |con| redis::cmd("GET").arg(&key).query(con),
            &key,
        ) {
            Ok((seq, fetched)) => self.apply(&key, seq, fetched),
            Err(problem) => self.gave_up(&key, problem),
        };
        entry.and_then(|e| e.answer()).unwrap_or(Ok(None))
    }

    /// The last problem with (`kind`, `component`), if its newest value was not taken.
    pub(crate) fn problem(&self, kind: &str, component: &str) -> Option<Error> {
        let entry = self.lookup(kind, component)?;
        entry.problem.as_ref().map(Problem::to_error)
    }

    /// Every current problem, one per key.
    pub(crate) fn problems(&self) -> Vec<Error> {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<Error> = tables
            .by_name
            .values()
            .flat_map(|m| m.values())
            .filter_map(|e| e.problem.as_ref().map(Problem::to_error))
            .collect();
        out.sort_by(|a, b| a.message().cmp(b.message()));
        out
    }

    fn track(&self, kind: &str, component: &str, key: &str) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let by_component = tables.by_name.entry(kind.to_owned()).or_default();
        if by_component.contains_key(component) {
            return;
        }
        let placeholder = Entry {
            key: key.to_owned(),
            seq: 0,
            loaded: false,
            value: None,
            problem: None,
        };
        by_component.insert(component.to_owned(), Arc::new(placeholder));
        tables
            .by_key
            .insert(key.to_owned(), (kind.to_owned(), component.to_owned()));
    }

    /// The keys of every tracked configuration.
    pub(crate) fn tracked_keys(&self) -> Vec<String> {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.by_key.keys().cloned().collect()
    }

    pub(crate) fn is_tracked(&self, key: &str) -> bool {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.by_key.contains_key(key)
    }

    /// Takes what the read numbered `seq` gave for `key`, unless a later read got there
    /// first. Returns the entry now current.
    pub(crate) fn apply(&self, key: &str, seq: u64, fetched: Fetched) -> Option<Arc<Entry>> {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let (kind, component) = tables.by_key.get(key)?.clone();
        let slot = tables.by_name.get_mut(&kind)?.get_mut(&component)?;
        if seq > slot.seq {
            *slot = Arc::new(slot.next(seq, fetched));
        }
        Some(Arc::clone(slot))
    }

    /// Records `problem` for `key` when no read of it has completed yet (any later read
    /// replaces it, whatever its number), so that later readers get it from memory. Returns
    /// the entry now current.
    fn gave_up(&self, key: &str, problem: Problem) -> Option<Arc<Entry>> {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let (kind, component) = tables.by_key.get(key)?.clone();
        let slot = tables.by_name.get_mut(&kind)?.get_mut(&component)?;
        if slot.seq == 0 {
            *slot = Arc::new(Entry {
                key: slot.key.clone(),
                seq: 0,
                loaded: false,
                value: None,
                problem: Some(problem),
            });
        }
        Some(Arc::clone(slot))
    }

    /// Whether the maintenance flag is on: from memory, or read on this thread the first time.
    pub(crate) fn maintenance(&self) -> Result<bool> {
        {
            let flag = self.flag.read().unwrap_or_else(PoisonError::into_inner);
            match (flag.on, &flag.problem) {
                (Some(on), _) => return Ok(on),
                (None, Some(p)) => return Err(p.to_error()),
                (None, None) => {}
            }
        }
        let key = self.store.keys().maintenance();
        let (seq, fetched) = match self.order.load(
            &self.client,
            self.settings.io_timeout,
            |con| redis::cmd("GET").arg(&key).query(con),
            &key,
        ) {
            Ok(read) => read,
            Err(problem) => {
                // As `gave_up`: kept only until a read of the flag completes.
                let mut flag = self.flag.write().unwrap_or_else(PoisonError::into_inner);
                if flag.seq == 0 {
                    flag.problem = Some(problem.clone());
                }
                return flag.on.ok_or_else(|| problem.to_error());
            }
        };
        self.apply_maintenance(seq, fetched.clone());
        let flag = self.flag.read().unwrap_or_else(PoisonError::into_inner);
        match (flag.on, fetched) {
            (Some(on), _) => Ok(on),
            (None, Err(p)) => Err(p.to_error()),
            (None, Ok(v)) => Ok(v.is_some_and(|v| !v.is_empty())),
        }
    }

    pub(crate) fn apply_maintenance(&self, seq: u64, fetched: Fetched) {
        let mut flag = self.flag.write().unwrap_or_else(PoisonError::into_inner);
        if seq <= flag.seq {
            return;
        }
        flag.seq = seq;
        match fetched {
            Ok(v) => {
                flag.on = Some(v.is_some_and(|v| !v.is_empty()));
                flag.problem = None;
            }
            Err(p) => flag.problem = Some(p),
        }
    }

    // --- the subscriber's state ---

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Changes the state and wakes everyone waiting on it.
    pub(crate) fn update_state(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state());
        self.changed.notify_all();
    }

    /// Waits until `cond` holds or `timeout` passes; returns whether it holds.
    pub(crate) fn wait_state(&self, timeout: Duration, cond: impl Fn(&State) -> bool) -> bool {
        let guard = self.state();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |s| !cond(s))
            .unwrap_or_else(PoisonError::into_inner);
        cond(&guard)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.state().stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> Entry {
        Entry {
            key: key.to_owned(),
            seq: 0,
            loaded: false,
            value: None,
            problem: None,
        }
    }

    #[test]
    fn placeholder_has_no_answer_until_read() {
        let e = entry("config:t:c");
        assert!(e.answer().is_none());
        let e = e.next(1, Ok(None));
        assert!(matches!(e.answer(), Some(Ok(None))));
    }

    #[test]
    fn malformed_value_keeps_the_last_good_one() {
        let good = entry("config:t:c").next(1, Ok(Some(r#"{"a":1}"#.into())));
        let bad = good.next(2, Ok(Some("{not json".into())));
        let v = bad.answer().unwrap().unwrap().unwrap();
        assert_eq!(*v, serde_json::json!({"a":1}));
        let p = bad.problem.as_ref().unwrap().to_error();
        assert!(
            p.is_malformed() && p.message().contains("`config:t:c`"),
            "{p}"
        );
        let fixed = bad.next(3, Ok(Some(r#"{"a":2}"#.into())));
        assert!(fixed.problem.is_none());
    }

    #[test]
    fn malformed_first_value_is_an_error() {
        let bad = entry("config:t:c").next(1, Ok(Some("[]".into())));
        assert!(bad.answer().unwrap().unwrap_err().is_malformed());
    }

    #[test]
    fn unchanged_value_keeps_its_arc() {
        let a = entry("k").next(1, Ok(Some(r#"{"a":1}"#.into())));
        let b = a.next(2, Ok(Some(r#"{ "a" : 1 }"#.into())));
        assert!(Arc::ptr_eq(
            a.value.as_ref().unwrap(),
            b.value.as_ref().unwrap()
        ));
    }
}
