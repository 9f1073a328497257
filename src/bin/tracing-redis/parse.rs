//! Value parsers for the arguments: severities, counter precisions, durations. A rejected
//! value is a usage error (exit 2) whose message lists what is accepted.

use std::time::Duration;

use tracing_redis::store::{PRECISIONS, SAMPLE_COUNT, Severity};

use crate::units::short_duration;

/// A severity name (`trace`, `debug`, `info`, `warning` or `warn`, `error`, `critical`).
pub fn severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.message().to_owned())
}

/// A counter precision, or the choice left to the window (`auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// The finest precision whose kept buckets cover the window (see [`Precision::for_window`]).
    Auto,
    /// This many seconds, one of [`PRECISIONS`].
    Secs(u64),
}

impl Precision {
    /// The precision in seconds for a window of `window`: the given one, or for `Auto` the
    /// finest whose kept buckets ([`SAMPLE_COUNT`]) cover the window (1 d when none does).
    pub fn for_window(self, window: Duration) -> u64 {
        match self {
            Precision::Secs(p) => p,
            Precision::Auto => PRECISIONS
                .into_iter()
                .find(|p| p.saturating_mul(SAMPLE_COUNT.unsigned_abs()) >= window.as_secs())
                .unwrap_or(PRECISIONS[PRECISIONS.len() - 1]),
        }
    }
}

/// `auto`, or one of 1s 5s 1m 5m 1h 5h 1d (also as plain seconds: 1, 5, 60, …).
pub fn precision(s: &str) -> Result<Precision, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Precision::Auto);
    }
    let accepted = PRECISIONS
        .iter()
        .map(|p| short_duration(*p))
        .collect::<Vec<_>>()
        .join(", ");
    match duration(s).map(|d| d.as_secs()) {
        Ok(p) if PRECISIONS.contains(&p) => Ok(Precision::Secs(p)),
        _ => Err(format!(
            "unknown precision {s:?}: expected auto or one of {accepted}"
        )),
    }
}

/// A duration: a whole number with a unit `s`, `m`, `h` or `d`, or several (`1h30m`); a bare
/// number is seconds. Zero is rejected.
pub fn duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: expected e.g. 30s, 10m, 2h, 1d or 1h30m");
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return nonzero(secs).ok_or_else(bad);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    nonzero(total).ok_or_else(bad)
}

fn nonzero(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(duration("45"), Ok(Duration::from_secs(45)));
        for bad in [
            "",
            "0",
            "0s",
            "10x",
            "m",
            "10m5",
            "-5m",
            "1.5h",
            "99999999999999999999d",
        ] {
            let err = duration(bad).unwrap_err();
            assert!(err.contains("invalid duration"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn precisions() {
        assert_eq!(precision("5s"), Ok(Precision::Secs(5)));
        assert_eq!(precision("1m"), Ok(Precision::Secs(60)));
        assert_eq!(precision("60"), Ok(Precision::Secs(60)));
        assert_eq!(precision("5h"), Ok(Precision::Secs(18_000)));
        assert_eq!(precision("1d"), Ok(Precision::Secs(86_400)));
        assert_eq!(precision("1"), Ok(Precision::Secs(1)));
        assert_eq!(precision("AUTO"), Ok(Precision::Auto));
        let err = precision("7s").unwrap_err();
        assert!(err.contains("1s, 5s, 1m, 5m, 1h, 5h, 1d"), "{err}");
        assert!(precision("2m").is_err());
    }

    #[test]
    fn auto_precision_covers_the_window_with_kept_buckets() {
        let auto = |s| Precision::Auto.for_window(Duration::from_secs(s));
        assert_eq!(auto(100), 1);
        assert_eq!(auto(600), 5);
        assert_eq!(auto(3_600), 60);
        assert_eq!(auto(86_400), 3_600);
        assert_eq!(auto(10_000_000), 86_400);
        assert_eq!(auto(1_000_000_000), 86_400);
        assert_eq!(Precision::Secs(300).for_window(Duration::from_secs(1)), 300);
    }

    #[test]
    fn severities() {
        assert_eq!(severity("WARN"), Ok(Severity::Warning));
        assert!(severity("loud").unwrap_err().contains("unknown severity"));
    }
}
