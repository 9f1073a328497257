//! [`ConnectionRegistry`]: the Redis client of each component, built from
//! `P:config:redis:<component>` and rebuilt when that configuration changes.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use redis::{ConnectionInfo, ConnectionLike as _};
use serde_json::Value;

use super::LiveConfig;
use super::cache::{Problem, connect};
use super::component::RedisComponentConfig;
use crate::error::{Error, Result};

/// How many idle connections each component's pool keeps: 8.
pub const DEFAULT_MAX_IDLE: usize = 8;

/// The config type whose components are Redis connections.
const REDIS: &str = "redis";

/// The Redis client of each component (`"logs"`, `"stats"`, …), built from
/// `P:config:redis:<component>` (a [`RedisComponentConfig`]) as [`LiveConfig`] sees it.
///
/// Each call looks at the live configuration (no I/O) and, when it changed since the
/// component's client was built, builds a new one and swaps it in: callers get the old
/// client or the new one, never one half-built. The old one is *retired*: its idle
/// connections are closed, and connections still in use are closed when given back instead of
/// returning to the pool. Ask the registry each time (it is cheap) rather than keeping a
/// [`ComponentClient`], so a change takes effect.
///
/// A value that is not a valid [`RedisComponentConfig`] does not replace the last good
/// client; [`ConnectionRegistry::error`] says what is wrong with it.
///
/// ```no_run
/// use tracing_redis::config::{ConnectionRegistry, LiveConfig};
///
/// # fn main() -> tracing_redis::Result<()> {
/// # let client = redis::Client::open("redis://127.0.0.1/").unwrap();
/// let live = LiveConfig::builder(client).start()?;
/// let registry = ConnectionRegistry::new(live.clone());
/// registry.with_connection("logs", |con| {
///     live.store().log_recent(con, "web", tracing_redis::store::Severity::Info, "started")
/// })?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ConnectionRegistry {
    live: LiveConfig,
    fallback: Option<redis::Client>,
    max_idle: usize,
    slots: RwLock<HashMap<String, Slot>>,
}

#[derive(Debug, Default)]
struct Slot {
    client: Option<Arc<ComponentClient>>,
    /// The newest configuration, when it was rejected.
    rejected: Option<(Option<Arc<Value>>, Problem)>,
}

/// The same configuration: the same `Arc` (the cache keeps it while the value is unchanged),
/// or equal values.
fn same(a: &Option<Arc<Value>>, b: &Option<Arc<Value>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

impl ConnectionRegistry {
    /// A registry following `live`. Components without configuration are an error (see
    /// [`ConnectionRegistry::with_fallback`]).
    pub fn new(live: LiveConfig) -> Self {
        ConnectionRegistry {
            live,
            fallback: None,
            max_idle: DEFAULT_MAX_IDLE,
            slots: RwLock::default(),
        }
    }

    /// Components without `P:config:redis:<component>` use `client`. Default: none, they are
    /// an error.
    #[must_use]
    pub fn with_fallback(mut self, client: redis::Client) -> Self {
        self.fallback = Some(client);
        self
    }

    /// How many idle connections each component's pool keeps. Default: [`DEFAULT_MAX_IDLE`].
    #[must_use]
    pub fn with_max_idle(mut self, max_idle: usize) -> Self {
        self.max_idle = max_idle;
        self
    }

    /// The current client of `component`. No I/O, except on the first look at its
    /// configuration (see [`LiveConfig::get_value`]); building a client only parses.
    ///
    /// # Errors
    ///
    /// An empty `component`; when there was never a usable configuration: a missing one
    /// without fallback ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)) or a
    /// bad one ([`ErrorKind::Malformed`](crate::ErrorKind::Malformed)), naming the key.
    pub fn client(&self, component: &str) -> Result<Arc<ComponentClient>> {
        loop {
            let source = self.live.get_value(REDIS, component)?;
            if let Some(answer) = self.current(component, &source) {
                return answer;
            }
            let built = self.build(component, &source);
            let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
            // Install only what is still current, so a slow builder never undoes a newer one.
            if !same(&self.live.get_value(REDIS, component)?, &source) {
                continue;
            }
            let slot = slots.entry(component.to_owned()).or_default();
            if let Some(c) = slot.client.as_ref().filter(|c| same(&c.source, &source)) {
                return Ok(Arc::clone(c));
            }
            let (answer, retired) = match built {
                Ok(new) => {
                    let new = Arc::new(new);
                    slot.rejected = None;
                    let old = slot.client.replace(Arc::clone(&new));
                    (Ok(new), old.map(|old| old.retire()))
                }
                Err(e) => {
                    let answer = slot.client.clone().ok_or_else(|| e.to_error());
                    slot.rejected = Some((source, e));
                    (answer, None)
                }
            };
            drop(slots);
            // Closing the old idle connections happens outside the lock.
            drop(retired);
            return answer;
        }
    }

    fn current(
        &self,
        component: &str,
        source: &Option<Arc<Value>>,
    ) -> Option<Result<Arc<ComponentClient>>> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.get(component)?;
        if let Some(c) = slot.client.as_ref().filter(|c| same(&c.source, source)) {
            return Some(Ok(Arc::clone(c)));
        }
        let (rejected, problem) = slot.rejected.as_ref()?;
        same(rejected, source).then(|| slot.client.clone().ok_or_else(|| problem.to_error()))
    }

    fn build(
        &self,
        component: &str,
        source: &Option<Arc<Value>>,
    ) -> std::result::Result<ComponentClient, Problem> {
        let key = self.live.store().keys().config(REDIS, component)?;
        let (config, client) = match (source, &self.fallback) {
            (Some(value), _) => {
                let config = RedisComponentConfig::from_json(&key, value)?;
                let info = config.connection_info(&key)?;
                let client = redis::Client::open(info)
                    .map_err(|e| Error::malformed(format!("`{key}`: {e}")))?;
                (Some(config), client)
            }
            (None, Some(fallback)) => (None, fallback.clone()),
            (None, None) => {
                return Err(Error::invalid_input(format!(
                    "no Redis configuration for component `{component}` (`{key}` does not \
                     exist); set one, e.g. `tracing-redis config set redis {component} \
                     '{{\"url\":\"redis://host:6379/0\"}}'`"
                ))
                .into());
            }
        };
        Ok(ComponentClient {
            component: component.to_owned(),
            config,
            client,
            source: source.clone(),
            idle: Mutex::default(),
            max_idle: self.max_idle,
            io_timeout: self.live.io_timeout(),
        })
    }

    /// A connection to `component`'s server, from its pool or new (connecting is I/O on
    /// the caller's thread). It goes back to the pool when dropped.
    ///
    /// # Errors
    ///
    /// As [`ConnectionRegistry::client`], and any error connecting.
    pub fn connection(&self, component: &str) -> Result<PooledConnection> {
        self.client(component)?.connection()
    }

    /// Runs `f` with a connection to `component`'s server, as the book's `redis_connection`
    /// decorator does. The connection goes back to the pool afterwards.
    ///
    /// # Errors
    ///
    /// As [`ConnectionRegistry::connection`], and whatever `f` returns.
    pub fn with_connection<R>(
        &self,
        component: &str,
        f: impl FnOnce(&mut redis::Connection) -> Result<R>,
    ) -> Result<R> {
        let mut con = self.connection(component)?;
        f(&mut con)
    }

    /// Why `component`'s newest configuration is not in use, if it is not. Looks at the
    /// configuration as [`ConnectionRegistry::client`] does (so the first look may do I/O).
    pub fn error(&self, component: &str) -> Option<Error> {
        if let Some(e) = self.live.error(REDIS, component) {
            return Some(e);
        }
        if let Err(e) = self.client(component) {
            return Some(e);
        }
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let (_, problem) = slots.get(component)?.rejected.as_ref()?;
        Some(problem.to_error())
    }
}

/// One component's client, as built from one version of its configuration, with a small
/// pool of idle connections.
#[derive(Debug)]
pub struct ComponentClient {
    component: String,
    config: Option<RedisComponentConfig>,
    client: redis::Client,
    source: Option<Arc<Value>>,
    idle: Mutex<Idle>,
    max_idle: usize,
    io_timeout: Duration,
}

#[derive(Default)]
struct Idle {
    retired: bool,
    connections: Vec<redis::Connection>,
}

impl fmt::Debug for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idle")
            .field("retired", &self.retired)
            .field("connections", &self.connections.len())
            .finish()
    }
}

impl ComponentClient {
    /// The component's name.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The configuration it was built from; `None` for the registry's fallback.
    pub fn config(&self) -> Option<&RedisComponentConfig> {
        self.config.as_ref()
    }

    /// The client.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Where it connects.
    pub fn connection_info(&self) -> &ConnectionInfo {
        self.client.get_connection_info()
    }

    /// Replaced by a newer configuration: its connections are closed instead of reused.
    pub fn is_retired(&self) -> bool {
        self.idle().retired
    }

    /// How many idle connections its pool holds.
    pub fn idle_connections(&self) -> usize {
        self.idle().connections.len()
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection, or a new one (connecting on the caller's thread, with the
    /// [`LiveConfig`]'s I/O timeout for connecting, reading and writing).
    ///
    /// # Errors
    ///
    /// Any error connecting.
    pub fn connection(self: &Arc<Self>) -> Result<PooledConnection> {
        let reused = {
            let mut idle = self.idle();
            std::iter::from_fn(|| idle.connections.pop()).find(|c| c.is_open())
        };
        let con = match reused {
            Some(con) => con,
            None => connect(&self.client, self.io_timeout).map_err(|e| {
                Error::redis(
                    e,
                    format!("connecting to the Redis of component `{}`", self.component),
                )
            })?,
        };
        Ok(PooledConnection {
            con: Some(con),
            owner: Arc::clone(self),
        })
    }

    /// Marks it retired and hands back its idle connections, to be closed by the caller.
    fn retire(&self) -> Vec<redis::Connection> {
        let mut idle = self.idle();
        idle.retired = true;
        std::mem::take(&mut idle.connections)
    }

    fn give_back(&self, con: redis::Connection) {
        let mut idle = self.idle();
        if !idle.retired && con.is_open() && idle.connections.len() < self.max_idle {
            idle.connections.push(con);
            return;
        }
        drop(idle);
        drop(con);
    }
}

/// A connection of one [`ComponentClient`]; back to its pool on drop (or closed, when that
/// client was retired meanwhile). Dereferences to [`redis::Connection`], so it is a
/// [`redis::ConnectionLike`] too.
pub struct PooledConnection {
    con: Option<redis::Connection>,
    owner: Arc<ComponentClient>,
}

impl fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("component", &self.owner.component)
            .field("db", &self.con.as_ref().map(|c| c.get_db()))
            .finish()
    }
}

impl PooledConnection {
    /// The client it belongs to.
    pub fn owner(&self) -> &Arc<ComponentClient> {
        &self.owner
    }

    fn con(&self) -> &redis::Connection {
        // Present from construction until drop.
        self.con.as_ref().unwrap_or_else(|| unreachable!())
    }

    fn con_mut(&mut self) -> &mut redis::Connection {
        self.con.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Deref for PooledConnection {
    type Target = redis::Connection;

    fn deref(&self) -> &redis::Connection {
        self.con()
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut redis::Connection {
        self.con_mut()
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(con) = self.con.take() {
            self.owner.give_back(con);
        }
    }
}
