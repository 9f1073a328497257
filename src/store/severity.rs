//! Log severities as they appear in keys.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The severity part of `recent:<name>:<severity>` and `common:{<name>:<severity>}`.
///
/// Ordered from least to most severe. `tracing`'s `WARN` and `log`'s `Warn` map to
/// [`Severity::Warning`]; [`Severity::Critical`] is reachable through the store API only.
///
/// ```
/// use tracing_redis::store::Severity;
///
/// assert_eq!(Severity::from(tracing::Level::WARN).as_str(), "warning");
/// assert_eq!("error".parse::<Severity>().unwrap(), Severity::Error);
/// assert!(Severity::Error > Severity::Warning);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warning`
    Warning,
    /// `error`
    Error,
    /// `critical`
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Trace,
        Severity::Debug,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The name used in keys and JSON entries.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "trace",
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = Error;

    /// Parses a severity name, case-insensitively; `warn` is accepted for `warning`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "trace" => Ok(Severity::Trace),
            "debug" => Ok(Severity::Debug),
            "info" => Ok(Severity::Info),
            "warn" | "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" => Ok(Severity::Critical),
            _ => Err(Error::invalid_input(format!(
                "unknown severity {s:?}: expected trace, debug, info, warning, error or critical"
            ))),
        }
    }
}

impl From<tracing::Level> for Severity {
    fn from(level: tracing::Level) -> Self {
        match level {
            tracing::Level::TRACE => Severity::Trace,
            tracing::Level::DEBUG => Severity::Debug,
            tracing::Level::INFO => Severity::Info,
            tracing::Level::WARN => Severity::Warning,
            tracing::Level::ERROR => Severity::Error,
        }
    }
}

impl From<log::Level> for Severity {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Trace => Severity::Trace,
            log::Level::Debug => Severity::Debug,
            log::Level::Info => Severity::Info,
            log::Level::Warn => Severity::Warning,
            log::Level::Error => Severity::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        }
        assert!("loud".parse::<Severity>().unwrap_err().is_invalid_input());
    }
}
