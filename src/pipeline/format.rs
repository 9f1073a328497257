//! How records look once stored: the JSON entry of the recent log (timestamps formatted once
//! per millisecond), and the normalised member of the common log.

use std::borrow::Cow;
use std::time::SystemTime;

use super::Settings;
use super::record::{FieldValue, LogRecord};
use crate::store::clock::iso_millis;
use crate::store::recent::{LogEntry, host_name};

/// How the layer turns a message into a common-log member, so that varying values do not
/// make every occurrence a member of its own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalisation {
    /// Count the message exactly as it is.
    Exact,
    /// Replace each run of ASCII digits with `#`, then cut to `max_len` bytes (at a character
    /// boundary): `"took 153 ms"` and `"took 9 ms"` both count as `"took # ms"`.
    Digits {
        /// Longest member, in bytes.
        max_len: usize,
    },
}

impl Normalisation {
    /// The common-log member for `message`.
    ///
    /// ```
    /// use tracing_redis::Normalisation;
    ///
    /// let n = Normalisation::Digits { max_len: 12 };
    /// assert_eq!(n.apply("user 42 logged in"), "user # logge");
    /// assert_eq!(Normalisation::Exact.apply("user 42"), "user 42");
    /// ```
    pub fn apply<'a>(&self, message: &'a str) -> Cow<'a, str> {
        match *self {
            Normalisation::Exact => Cow::Borrowed(message),
            Normalisation::Digits { max_len } => {
                let bytes = message.as_bytes();
                if message.len() <= max_len && !bytes.iter().any(u8::is_ascii_digit) {
                    return Cow::Borrowed(message);
                }
                // Digits are ASCII, so the text between digit runs is copied whole.
                let mut out = String::with_capacity(message.len().min(max_len + 1));
                let mut rest = message;
                while !rest.is_empty() && out.len() <= max_len {
                    match rest.bytes().position(|b| b.is_ascii_digit()) {
                        Some(start) => {
                            out.push_str(&rest[..start]);
                            out.push('#');
                            let run = rest[start..]
                                .bytes()
                                .position(|b| !b.is_ascii_digit())
                                .map_or(rest.len(), |end| start + end);
                            rest = &rest[run..];
                        }
                        None => {
                            out.push_str(rest);
                            rest = "";
                        }
                    }
                }
                if out.len() > max_len {
                    let mut end = max_len;
                    while !out.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.truncate(end);
                }
                Cow::Owned(out)
            }
        }
    }
}

/// The stored JSON entry of a log record.
pub(crate) fn entry(r: &LogRecord, stamps: &mut Stamps) -> LogEntry {
    let mut fields = serde_json::Map::new();
    for (k, v) in &r.fields {
        fields.insert(k.to_string(), v.to_json());
    }
    LogEntry {
        ts: stamps.iso(r.at),
        level: r.severity.as_str().to_owned(),
        target: r.target.to_string(),
        message: r.message.clone(),
        fields,
        spans: r.spans.iter().map(|s| (*s).to_owned()).collect(),
        host: host_name().to_owned(),
        pid: std::process::id(),
    }
}

/// ISO timestamps, formatted once per millisecond: a busy batch holds many events of the
/// same millisecond.
#[derive(Default)]
pub(crate) struct Stamps {
    last: Option<(SystemTime, String)>,
}

impl Stamps {
    pub(crate) fn iso(&mut self, at: SystemTime) -> String {
        let millis = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(-1, |d| d.as_millis() as i128)
        };
        match &self.last {
            Some((t, text)) if millis(*t) == millis(at) && millis(at) >= 0 => text.clone(),
            _ => {
                let text = iso_millis(at);
                self.last = Some((at, text.clone()));
                text
            }
        }
    }
}

/// The common-log member of a log record: its normalised message, or its fields as
/// `k=v` when it has no message.
pub(crate) fn common_member<'a>(r: &'a LogRecord, settings: &Settings) -> Cow<'a, str> {
    if !r.message.is_empty() || r.fields.is_empty() {
        return settings.normalisation.apply(&r.message);
    }
    let text = r
        .fields
        .iter()
        .map(|(k, v)| match v {
            FieldValue::Str(s) => format!("{k}={s}"),
            other => format!("{k}={}", other.to_json()),
        })
        .collect::<Vec<_>>()
        .join(" ");
    Cow::Owned(settings.normalisation.apply(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_formatted_once_per_millisecond() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_741_323_456);
        let mut stamps = Stamps::default();
        assert_eq!(stamps.iso(t), "2026-11-27T01:02:03.456Z");
        let same = t + std::time::Duration::from_micros(300);
        assert_eq!(stamps.iso(same), "2026-11-27T01:02:03.456Z");
        let next = t + std::time::Duration::from_millis(1);
        assert_eq!(stamps.iso(next), "2026-11-27T01:02:03.457Z");
    }

    #[test]
    fn digits_collapse_and_length_is_cut_at_a_char_boundary() {
        let n = Normalisation::Digits { max_len: 256 };
        assert_eq!(n.apply("took 153 ms, 9 retries"), "took # ms, # retries");
        assert_eq!(n.apply("v1.2.3"), "v#.#.#");
        assert_eq!(n.apply("١٢"), "١٢", "only ASCII digits are collapsed");
        let short = Normalisation::Digits { max_len: 3 };
        assert_eq!(short.apply("aé€"), "aé");
        assert_eq!(Normalisation::Exact.apply("x 1"), "x 1");
        assert_eq!(n.apply("12ab34"), "#ab#");
        assert_eq!(n.apply("no digits"), "no digits");
        let cut = Normalisation::Digits { max_len: 4 };
        assert_eq!(cut.apply("ab 1234 cd"), "ab #");
        assert_eq!(cut.apply("abcdefgh"), "abcd");
    }
}
