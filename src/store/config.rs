//! Configuration: `P:config:<type>:<component>` holds one JSON object per component,
//! `P:is-under-maintenance` the maintenance flag (non-empty means on), and every change made
//! here is announced on the channel `P:config-changed` with the changed key as payload.
//!
//! These are plain synchronous reads and writes, one round trip each. Processes that read
//! configuration often use [`LiveConfig`](crate::config::LiveConfig), which serves the same
//! values from memory and follows the announcements.

use redis::ConnectionLike;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::clock::iso_millis;
use super::{Store, redis_ctx};
use crate::error::{Error, Result};

/// Checks that `raw`, read from or meant for `key`, is a JSON object, and returns it.
///
/// ```
/// use tracing_redis::store::parse_config;
///
/// assert!(parse_config("config:redis:logs", r#"{"db":3}"#).is_ok());
/// let err = parse_config("config:redis:logs", "{db:3}").unwrap_err();
/// assert!(err.is_malformed());
/// assert!(err.to_string().contains("config:redis:logs"), "{err}");
/// ```
///
/// # Errors
///
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming `key`, when `raw` is not
/// JSON or is JSON but not an object.
pub fn parse_config(key: &str, raw: &str) -> Result<Value> {
    json_object(raw).map_err(|why| Error::malformed(format!("`{key}` {why}")))
}

/// `raw` as a JSON object, or why it is not one ("is not valid JSON (…)").
fn json_object(raw: &str) -> std::result::Result<Value, String> {
    let value: Value = serde_json::from_str(raw).map_err(|e| format!("is not valid JSON ({e})"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!(
            "is JSON but {}, and a configuration is a JSON object",
            kind_of(&value)
        ))
    }
}

/// Deserialises the configuration `value` of `key` into `T`.
///
/// # Errors
///
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming `key`, when it does not fit.
pub(crate) fn config_as<T: DeserializeOwned>(key: &str, value: &Value) -> Result<T> {
    T::deserialize(value).map_err(|e| {
        Error::malformed(format!(
            "`{key}` does not fit the expected configuration ({e})"
        ))
        .with_source(e)
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Store {
    /// Stores `value` (which must serialise to a JSON object) as the configuration of
    /// `component` of type `kind`, and announces the key on `config-changed`, atomically.
    /// Returns how many subscribers received the announcement.
    ///
    /// ```no_run
    /// # fn main() -> tracing_redis::Result<()> {
    /// # let mut con = redis::Client::open("redis://127.0.0.1/").unwrap().get_connection().unwrap();
    /// use tracing_redis::store::Store;
    ///
    /// let store = Store::new();
    /// store.set_config(&mut con, "redis", "logs", &serde_json::json!({"url": "redis://10.0.0.5/2"}))?;
    /// let cfg: Option<serde_json::Value> = store.get_config(&mut con, "redis", "logs")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An empty `kind` or `component`, or a value that is not a JSON object
    /// ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)), in which case nothing
    /// is written; any Redis error.
    pub fn set_config<T: Serialize + ?Sized>(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        component: &str,
        value: &T,
    ) -> Result<usize> {
        let key = self.keys().config(kind, component)?;
        let value = serde_json::to_value(value).map_err(|e| {
            Error::invalid_input(format!(
                "configuration for `{key}` does not serialise to JSON: {e}"
            ))
        })?;
        if !value.is_object() {
            return Err(Error::invalid_input(format!(
                "configuration for `{key}` must be a JSON object, not {}; nothing was written",
                kind_of(&value)
            )));
        }
        self.write_config(con, &key, &value.to_string())
    }

    /// Stores the JSON text `json` as the configuration of `component` of type `kind`, after
    /// checking that it is a JSON object; see [`Store::set_config`].
    ///
    /// # Errors
    ///
    /// As [`Store::set_config`]; text that is not a JSON object is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) and leaves the stored value
    /// untouched.
    pub fn set_config_json(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        component: &str,
        json: &str,
    ) -> Result<usize> {
        let key = self.keys().config(kind, component)?;
        let value = json_object(json).map_err(|why| {
            Error::invalid_input(format!(
                "configuration for `{key}` {why}; nothing was written"
            ))
        })?;
        self.write_config(con, &key, &value.to_string())
    }

    fn write_config(&self, con: &mut dyn ConnectionLike, key: &str, json: &str) -> Result<usize> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(key)
            .arg(json)
            .ignore()
            .cmd("PUBLISH")
            .arg(self.keys().config_changed_channel())
            .arg(key);
        let (receivers,): (usize,) =
            redis_ctx(|| format!("writing configuration `{key}`"), pipe.query(con))?;
        Ok(receivers)
    }

    /// The configuration of `component` of type `kind` as `T`; `None` when there is none.
    ///
    /// # Errors
    ///
    /// An empty `kind` or `component`; [`ErrorKind::Malformed`](crate::ErrorKind::Malformed)
    /// naming the key when the stored text is not a JSON object or does not fit `T`; any
    /// Redis error.
    pub fn get_config<T: DeserializeOwned>(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        component: &str,
    ) -> Result<Option<T>> {
        let key = self.keys().config(kind, component)?;
        match self.get_config_raw(con, kind, component)? {
            None => Ok(None),
            Some(raw) => {
                let value = parse_config(&key, &raw)?;
                config_as(&key, &value).map(Some)
            }
        }
    }

    /// The stored text of the configuration of `component` of type `kind`, unchecked.
    ///
    /// # Errors
    ///
    /// An empty `kind` or `component`; any Redis error (e.g. `WRONGTYPE`).
    pub fn get_config_raw(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        component: &str,
    ) -> Result<Option<String>> {
        let key = self.keys().config(kind, component)?;
        redis_ctx(
            || format!("reading configuration `{key}`"),
            redis::cmd("GET").arg(&key).query(con),
        )
    }

    /// Deletes the configuration of `component` of type `kind` and announces it. Returns
    /// whether there was one.
    ///
    /// # Errors
    ///
    /// An empty `kind` or `component`; any Redis error.
    pub fn delete_config(
        &self,
        con: &mut dyn ConnectionLike,
        kind: &str,
        component: &str,
    ) -> Result<bool> {
        let key = self.keys().config(kind, component)?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(&key)
            .cmd("PUBLISH")
            .arg(self.keys().config_changed_channel())
            .arg(&key)
            .ignore();
        let (deleted,): (u64,) = redis_ctx(
            || format!("deleting configuration `{key}`"),
            pipe.query(con),
        )?;
        Ok(deleted > 0)
    }

    /// Puts the whole service into maintenance (`on`) or takes it out, and announces it.
    /// On, the flag holds the time it was set (from the store's clock).
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn set_maintenance(&self, con: &mut dyn ConnectionLike, on: bool) -> Result<()> {
        let key = self.keys().maintenance();
        let mut pipe = redis::pipe();
        pipe.atomic();
        if on {
            pipe.cmd("SET")
                .arg(&key)
                .arg(iso_millis(self.clock().now()))
                .ignore();
        } else {
            pipe.cmd("DEL").arg(&key).ignore();
        }
        pipe.cmd("PUBLISH")
            .arg(self.keys().config_changed_channel())
            .arg(&key)
            .ignore();
        redis_ctx(|| format!("writing `{key}`"), pipe.query::<()>(con))
    }

    /// Whether the service is under maintenance: the flag holds a non-empty value.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn is_under_maintenance(&self, con: &mut dyn ConnectionLike) -> Result<bool> {
        Ok(self.maintenance_value(con)?.is_some())
    }

    /// The value of the maintenance flag when it is on (normally the time it was set).
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn maintenance_value(&self, con: &mut dyn ConnectionLike) -> Result<Option<String>> {
        let key = self.keys().maintenance();
        let value: Option<String> = redis_ctx(
            || format!("reading `{key}`"),
            redis::cmd("GET").arg(&key).query(con),
        )?;
        Ok(value.filter(|v| !v.is_empty()))
    }

    /// Announces on `config-changed` that `key` changed, for writers that set it by other
    /// means. Returns how many subscribers received it.
    ///
    /// # Errors
    ///
    /// Any Redis error.
    pub fn publish_config_changed(&self, con: &mut dyn ConnectionLike, key: &str) -> Result<usize> {
        let channel = self.keys().config_changed_channel();
        redis_ctx(
            || format!("publishing on `{channel}`"),
            redis::cmd("PUBLISH").arg(&channel).arg(key).query(con),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_are_configurations() {
        assert!(parse_config("k", r#"{"a":1}"#).is_ok());
        for bad in ["", "{", "[1]", "3", "null", "\"s\""] {
            let err = parse_config("config:t:c", bad).unwrap_err();
            assert!(err.is_malformed(), "{bad:?}");
            assert!(err.message().contains("`config:t:c`"), "{err}");
        }
    }

    #[test]
    fn typed_access_names_the_key_on_mismatch() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Cfg {
            level: String,
        }
        let value = parse_config("k", r#"{"level":5}"#).unwrap();
        let err = config_as::<Cfg>("config:app:web", &value).unwrap_err();
        assert!(err.is_malformed());
        assert!(err.message().contains("`config:app:web`"), "{err}");
    }
}
