//! [`RedisComponentConfig`]: what `P:config:redis:<component>` holds.

use std::fmt;

use redis::{ConnectionInfo, IntoConnectionInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::config::config_as;
use crate::url::redact_url;

/// The Redis server of one component, as stored at `P:config:redis:<component>`: either a
/// `url` (`redis://`, `rediss://`, `redis+unix://`, with `/db` or `?db=`), or any of `host`
/// (default `127.0.0.1`), `port` (6379), `db` (0), `username` and `password`. Other fields are
/// rejected, so a misspelt one is noticed.
///
/// ```
/// use tracing_redis::config::RedisComponentConfig;
///
/// let json = serde_json::json!({"host": "10.0.0.5", "port": 6380, "db": 3});
/// let cfg = RedisComponentConfig::from_json("config:redis:logs", &json).unwrap();
/// let info = cfg.connection_info("config:redis:logs").unwrap();
/// assert_eq!(info.redis_settings().db(), 3);
/// assert_eq!(info.addr().to_string(), "10.0.0.5:6380");
///
/// let json = serde_json::json!({"url": "redis://10.0.0.5/2", "db": 3});
/// assert!(RedisComponentConfig::from_json("config:redis:logs", &json).is_err());
/// ```
#[non_exhaustive]
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisComponentConfig {
    /// A Redis URL; excludes every other field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Host name or address; default `127.0.0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// TCP port; default 6379.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Database number; default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<i64>,
    /// ACL user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for RedisComponentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials stay out of logs and panic messages.
        f.debug_struct("RedisComponentConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl RedisComponentConfig {
    /// A connection by URL.
    pub fn from_url(url: impl Into<String>) -> Self {
        RedisComponentConfig {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// Reads and checks the configuration stored at `key` (named in errors).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming `key`, for unknown
    /// fields, fields of the wrong type, or a `url` together with other fields.
    pub fn from_json(key: &str, value: &Value) -> Result<Self> {
        let cfg: RedisComponentConfig = config_as(key, value)?;
        let with_url = cfg.host.is_some()
            || cfg.port.is_some()
            || cfg.db.is_some()
            || cfg.username.is_some()
            || cfg.password.is_some();
        if cfg.url.is_some() && with_url {
            return Err(Error::malformed(format!(
                "`{key}` has a `url` and separate fields; give either a `url` or \
                 host/port/db/username/password"
            )));
        }
        Ok(cfg)
    }

    /// Where and how to connect.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed), naming `key`, for a URL that
    /// does not parse.
    pub fn connection_info(&self, key: &str) -> Result<ConnectionInfo> {
        if let Some(url) = &self.url {
            return url.as_str().into_connection_info().map_err(|e| {
                Error::malformed(format!(
                    "`{key}` has an unusable url {:?}: {e}",
                    redact_url(url)
                ))
            });
        }
        let host = self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned());
        let info = (host, self.port.unwrap_or(6379))
            .into_connection_info()
            .map_err(|e| Error::malformed(format!("`{key}`: {e}")))?;
        let mut redis = info.redis_settings().clone().set_db(self.db.unwrap_or(0));
        if let Some(user) = &self.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &self.password {
            redis = redis.set_password(password);
        }
        Ok(info.set_redis_settings(redis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_and_mixtures_are_rejected_naming_the_key() {
        for bad in [
            json!({"hots": "x"}),
            json!({"port": "6379"}),
            json!({"url": "redis://h/1", "password": "p"}),
        ] {
            let err = RedisComponentConfig::from_json("config:redis:logs", &bad).unwrap_err();
            assert!(err.is_malformed(), "{bad}");
            assert!(err.message().contains("`config:redis:logs`"), "{err}");
        }
    }

    #[test]
    fn urls_and_fields_become_connection_info() {
        let cfg =
            RedisComponentConfig::from_json("k", &json!({"url": "redis://h:7000/4"})).unwrap();
        let info = cfg.connection_info("k").unwrap();
        assert_eq!(info.redis_settings().db(), 4);
        assert_eq!(info.addr().to_string(), "h:7000");
        let cfg = RedisComponentConfig::from_json("k", &json!({"username": "u", "password": "p"}))
            .unwrap();
        let info = cfg.connection_info("k").unwrap();
        assert_eq!(info.addr().to_string(), "127.0.0.1:6379");
        assert_eq!(info.redis_settings().password(), Some("p"));
        let bad = RedisComponentConfig::from_url("nope://x");
        assert!(bad.connection_info("k").unwrap_err().is_malformed());
    }

    #[test]
    fn debug_hides_credentials() {
        let cfg = RedisComponentConfig::from_url("redis://u:secret@h/0");
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("secret") && shown.contains("u:***@h"),
            "{shown}"
        );
        let cfg = RedisComponentConfig::from_url("redis+unix:///r.sock?user=u&pass=secret");
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("secret") && shown.contains("pass=***"),
            "{shown}"
        );
        let err = RedisComponentConfig::from_url("nope:///r.sock?pass=secret")
            .connection_info("k")
            .unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let cfg = RedisComponentConfig {
            password: Some("secret".into()),
            ..RedisComponentConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("secret"));
    }
}
