//! [`LiveConfig`], its builder and its status: the public face of the cache and of the
//! subscriber thread.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Settings;
use super::cache::Shared;
use super::subscriber;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::config::config_as;

/// Builds a [`LiveConfig`]; see [`LiveConfig::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct LiveConfigBuilder {
    client: redis::Client,
    store: Store,
    settings: Settings,
}

impl LiveConfigBuilder {
    /// Uses `store`'s namespace and clock. Default: [`Store::new`] (no namespace, system
    /// clock). With a [`ManualClock`](crate::store::ManualClock), full reloads happen only
    /// when the clock is moved past `max_staleness` (notices still arrive at once).
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// How old a value may get before it is reloaded when no notice came. Default:
    /// [`DEFAULT_MAX_STALENESS`](super::DEFAULT_MAX_STALENESS) (1 s). Must not be zero.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.settings.max_staleness = max_staleness;
        self
    }

    /// The first and the longest wait between attempts to reconnect the subscriber; the wait
    /// doubles after each failure. Defaults:
    /// [`DEFAULT_RECONNECT_BACKOFF`](super::DEFAULT_RECONNECT_BACKOFF) (50 ms) and
    /// [`DEFAULT_MAX_RECONNECT_BACKOFF`](super::DEFAULT_MAX_RECONNECT_BACKOFF) (5 s).
    pub fn reconnect_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.settings.backoff_min = first;
        self.settings.backoff_max = max;
        self
    }

    /// Timeout for connecting and for each read and write, and the longest a process's first
    /// read of a value waits for another read in flight before giving up with an error.
    /// Default: [`DEFAULT_IO_TIMEOUT`](super::DEFAULT_IO_TIMEOUT) (5 s). Must not be zero.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.settings.io_timeout = timeout;
        self
    }

    /// Starts the background thread and returns at once; it connects, subscribes and
    /// reloads on its own (see [`LiveConfig::wait_subscribed`]). Redis being unreachable is
    /// not an error here: the thread keeps trying with backoff.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a zero
    /// `max_staleness` or `io_timeout`, or a zero or inverted backoff;
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the thread cannot be spawned.
    pub fn start(self) -> Result<LiveConfig> {
        let s = &self.settings;
        if s.max_staleness.is_zero() {
            return Err(Error::invalid_input(
                "max_staleness must be more than zero (it is how often values are reloaded)",
            ));
        }
        if s.io_timeout.is_zero() {
            return Err(Error::invalid_input("io_timeout must be more than zero"));
        }
        if s.backoff_min.is_zero() || s.backoff_min > s.backoff_max {
            return Err(Error::invalid_input(format!(
                "reconnect backoff must satisfy 0 < first <= max, got {:?} and {:?}",
                s.backoff_min, s.backoff_max
            )));
        }
        let shared = Arc::new(Shared::new(self.client, self.store, self.settings));
        let handle = subscriber::spawn(Arc::clone(&shared))
            .map_err(|e| Error::io(e, "spawning the configuration subscriber thread"))?;
        let worker = Worker {
            shared: Arc::clone(&shared),
            handle: Mutex::new(Some(handle)),
        };
        Ok(LiveConfig {
            shared,
            worker: Arc::new(worker),
        })
    }
}

/// Stops the subscriber when the last [`LiveConfig`] clone goes.
#[derive(Debug)]
struct Worker {
    shared: Arc<Shared>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    fn stop(&self) {
        self.shared.update_state(|s| s.stop = true);
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Configuration and the maintenance flag, served from memory and kept fresh by a background
/// thread; see the [module documentation](super) for how and for which calls do I/O.
///
/// Cheap to clone; clones share the cache and the thread, which stops when the last clone is
/// dropped (or at [`LiveConfig::stop`]).
#[derive(Debug, Clone)]
pub struct LiveConfig {
    shared: Arc<Shared>,
    worker: Arc<Worker>,
}

impl LiveConfig {
    /// A builder reading configuration through `client`.
    pub fn builder(client: redis::Client) -> LiveConfigBuilder {
        LiveConfigBuilder {
            client,
            store: Store::new(),
            settings: Settings::default(),
        }
    }

    /// The configuration of `component` of type `kind` as JSON (always an object), `None`
    /// when there is none. The `Arc` stays the same while the value does.
    ///
    /// No I/O, except on the process's first read of this configuration (see the
    /// [module documentation](super#which-calls-do-io)).
    ///
    /// # Errors
    ///
    /// An empty `kind` or `component`; on the first read, any Redis error;
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming the key, when the
    /// stored value is bad and there was never a good one.
    pub fn get_value(&self, kind: &str, component: &str) -> Result<Option<Arc<Value>>> {
        self.shared.get(kind, component)
    }

    /// The configuration of `component` of type `kind` as `T`, deserialised from the cached
    /// JSON on each call (CPU only); see [`LiveConfig::get_value`].
    ///
    /// # Errors
    ///
    /// As [`LiveConfig::get_value`], and
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming the key, when the value
    /// does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, kind: &str, component: &str) -> Result<Option<T>> {
        let Some(value) = self.shared.get(kind, component)? else {
            return Ok(None);
        };
        match T::deserialize(&*value) {
            Ok(v) => Ok(Some(v)),
            // The key is only built for the error, keeping the read path allocation-light.
            Err(_) => config_as(&self.shared.store.keys().config(kind, component)?, &value),
        }
    }

    /// Whether the service is under maintenance (`P:is-under-maintenance` is non-empty).
    ///
    /// No I/O, except on the process's first call.
    ///
    /// # Errors
    ///
    /// Only on the first call, when Redis cannot be read.
    pub fn is_under_maintenance(&self) -> Result<bool> {
        self.shared.maintenance()
    }

    /// Why the newest stored value of this configuration is not the one served (it is not a
    /// JSON object, or the key holds another type), if it is not. `None` when all is well or
    /// when the configuration was never read.
    pub fn error(&self, kind: &str, component: &str) -> Option<Error> {
        self.shared.problem(kind, component)
    }

    /// The subscriber's state and every current problem.
    pub fn status(&self) -> LiveStatus {
        let problems = self
            .shared
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        let s = self.shared.state();
        LiveStatus {
            subscribed: s.subscribed,
            subscriptions: s.subscriptions,
            reloads: s.reloads,
            notices: s.notices,
            last_reload: s.last_reload,
            last_error: s.last_error.clone(),
            problems,
        }
    }

    /// Waits until the subscriber is subscribed (and has reloaded), at most `timeout`.
    /// Returns whether it is. Changes announced from then on arrive in milliseconds.
    pub fn wait_subscribed(&self, timeout: Duration) -> bool {
        self.shared.wait_state(timeout, |s| s.subscribed)
    }

    /// Stops the background thread (for every clone) and waits for it: at most about 100 ms
    /// plus one Redis round trip (up to the I/O timeout while it is connecting). Values read
    /// so far stay readable, but no longer change.
    pub fn stop(&self) {
        self.worker.stop();
    }

    /// The store whose keys and clock are used.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The client configuration is read through.
    pub fn client(&self) -> &redis::Client {
        &self.shared.client
    }

    pub(crate) fn io_timeout(&self) -> Duration {
        self.shared.settings.io_timeout
    }
}

/// What the subscriber of a [`LiveConfig`] is doing, and what is wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStatus {
    /// Connected and subscribed to `config-changed`.
    pub subscribed: bool,
    /// How many times it subscribed: 1 after starting, one more per reconnection.
    pub subscriptions: u64,
    /// Full reloads done: one after each subscription, then one per `max_staleness`.
    pub reloads: u64,
    /// Notices received on `config-changed`.
    pub notices: u64,
    /// When the last full reload started, on the store's clock.
    pub last_reload: Option<SystemTime>,
    /// The error that broke the last connection, until it subscribes again.
    pub last_error: Option<String>,
    /// One message per configuration whose newest stored value is not served, naming its key.
    pub problems: Vec<String>,
}
