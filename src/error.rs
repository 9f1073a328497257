//! The crate's one error type.
//!
//! [`Error`] is opaque: match on [`Error::kind`] or use the `is_*` predicates. Its message
//! names the input that failed and, where there is one, what to do about it.

use std::fmt;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Redis could not be reached, or the connection broke.
    Connection,
    /// Redis answered with an error (for example `WRONGTYPE` on a key written by someone else).
    Redis,
    /// An argument was rejected before anything was sent: an empty name, a NaN value, an
    /// unparsable address, a malformed URL.
    InvalidInput,
    /// Data read from Redis or from a file does not have the expected shape (for example
    /// malformed JSON in a configuration key).
    Malformed,
    /// A file could not be read.
    Io,
    /// A global (the `tracing` subscriber, the `log` logger, the `metrics` recorder) was
    /// already installed.
    AlreadyInstalled,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Connection => "connection error",
            ErrorKind::Redis => "redis error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Malformed => "malformed data",
            ErrorKind::Io => "i/o error",
            ErrorKind::AlreadyInstalled => "already installed",
        })
    }
}

/// An error of this crate: a [`ErrorKind`], a message naming the failing input, and the
/// underlying cause when there is one (a [`redis::RedisError`], an I/O or JSON error).
///
/// ```
/// use tracing_redis::{Error, ErrorKind};
///
/// let err = Error::invalid_input("log name must not be empty");
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(err.is_invalid_input());
/// assert_eq!(err.to_string(), "invalid input: log name must not be empty");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with `message` and no underlying cause.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An [`ErrorKind::Malformed`] error.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    /// Attaches an underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Wraps a Redis error, saying what was being done (`context`, e.g. "reading key
    /// `recent:app:info`"). Connection failures become [`ErrorKind::Connection`].
    pub fn redis(err: redis::RedisError, context: impl fmt::Display) -> Self {
        let kind = if is_connection_error(&err) {
            ErrorKind::Connection
        } else {
            ErrorKind::Redis
        };
        Error {
            kind,
            message: format!("{context}: {err}"),
            source: Some(Box::new(err)),
        }
    }

    /// An [`ErrorKind::Io`] error about `path`.
    pub fn io(err: std::io::Error, path: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Io,
            message: format!("{path}: {err}"),
            source: Some(Box::new(err)),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The wrapped Redis error, if this error came from Redis.
    pub fn redis_error(&self) -> Option<&redis::RedisError> {
        self.source.as_ref()?.downcast_ref::<redis::RedisError>()
    }

    /// Redis could not be reached or the connection broke; retrying later may succeed.
    pub fn is_connection(&self) -> bool {
        self.kind == ErrorKind::Connection
    }

    /// An argument was rejected before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        self.kind == ErrorKind::InvalidInput
    }

    /// Data in Redis or in a file did not have the expected shape.
    pub fn is_malformed(&self) -> bool {
        self.kind == ErrorKind::Malformed
    }

    /// Redis answered `WRONGTYPE`: a key holds another type than this crate expects.
    pub fn is_wrong_type(&self) -> bool {
        let Some(err) = self.redis_error() else {
            return false;
        };
        if err.code() == Some("WRONGTYPE") {
            return true;
        }
        // Inside MULTI/EXEC the error is one element of the reply; inside a script, Redis
        // before 7 wraps it in an `ERR Error running script` whose detail still names it.
        err.clone().into_server_errors().is_some_and(|errors| {
            errors.iter().any(|(_, e)| {
                e.code() == "WRONGTYPE" || e.details().is_some_and(|d| d.contains("WRONGTYPE"))
            })
        })
    }
}

/// Whether a Redis error means the connection is unusable (as opposed to a command error).
pub(crate) fn is_connection_error(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Self {
        Error::redis(err, "redis command failed")
    }
}
