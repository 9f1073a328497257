//! All key building, in one place: the key schema of the crate's documentation.
//!
//! Names (log names, contexts, counter names, components, config types) may hold any text.
//! When a key is built, `%`, `{`, `}` and control characters are percent-encoded (`%25`,
//! `%7B`, `%7D`, `%0A`, …) so keys stay unambiguous and Cluster hash tags intact; readers use
//! the same encoding, so every name round-trips. Empty names are an error.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::store::severity::Severity;

/// Percent-encodes `%`, `{`, `}` and control characters of a name for use inside a key.
///
/// `what` names the argument in the error for an empty name ("log name", "context", …).
///
/// ```
/// use tracing_redis::store::keys::encode_name;
///
/// assert_eq!(encode_name("GET /users/{id}", "context").unwrap(), "GET /users/%7Bid%7D");
/// assert_eq!(encode_name("100%\n", "context").unwrap(), "100%25%0A");
/// assert!(encode_name("", "context").is_err());
/// ```
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `name` is empty.
pub fn encode_name<'a>(name: &'a str, what: &str) -> Result<Cow<'a, str>> {
    if name.is_empty() {
        return Err(Error::invalid_input(format!("{what} must not be empty")));
    }
    if !name.chars().any(needs_encoding) {
        return Ok(Cow::Borrowed(name));
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if needs_encoding(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    Ok(Cow::Owned(out))
}

/// Reverses [`encode_name`]. Sequences that are not valid percent-escapes are kept as they
/// are, so decoding never fails.
///
/// ```
/// use tracing_redis::store::keys::{decode_name, encode_name};
///
/// let name = "a{b}%c\td";
/// assert_eq!(decode_name(&encode_name(name, "name").unwrap()), name);
/// ```
pub fn decode_name(encoded: &str) -> Cow<'_, str> {
    if !encoded.contains('%') {
        return Cow::Borrowed(encoded);
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn needs_encoding(c: char) -> bool {
    matches!(c, '%' | '{' | '}') || c.is_control()
}

/// Builds every key of the schema under an optional namespace.
///
/// Namespace `ns` gives `ns:recent:…`, `ns:known:` and so on; without one, keys start with the
/// technique (`recent:…`). Cheap to clone.
///
/// ```
/// use tracing_redis::store::keys::Keys;
/// use tracing_redis::store::Severity;
///
/// let keys = Keys::new(Some("demo")).unwrap();
/// assert_eq!(keys.recent("web", Severity::Info).unwrap(), "demo:recent:web:info");
/// assert_eq!(keys.common("web", Severity::Warning).unwrap(), "demo:common:{web:warning}");
/// assert_eq!(Keys::default().known(), "known:");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `namespace` (none for `None`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty namespace
    /// (use `None` for no namespace).
    pub fn new(namespace: Option<&str>) -> Result<Self> {
        let prefix = match namespace {
            None => String::new(),
            Some(ns) => format!("{}:", encode_name(ns, "namespace")?),
        };
        Ok(Keys { prefix })
    }

    /// The namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.prefix.strip_suffix(':')
    }

    /// The prefix every key starts with: `"ns:"`, or `""` without a namespace.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `P:recent:<name>:<severity>`: the capped list of recent log entries.
    pub fn recent(&self, name: &str, severity: Severity) -> Result<String> {
        let name = encode_name(name, "log name")?;
        Ok(format!("{}recent:{name}:{severity}", self.prefix))
    }

    /// `P:common:{<name>:<severity>}`: this hour's message counts.
    pub fn common(&self, name: &str, severity: Severity) -> Result<String> {
        let name = encode_name(name, "log name")?;
        Ok(format!("{}common:{{{name}:{severity}}}", self.prefix))
    }

    /// `P:count:<precision>:<name>`: a counter's buckets at one precision.
    pub fn counter(&self, precision: u64, name: &str) -> Result<String> {
        let name = encode_name(name, "counter name")?;
        Ok(format!("{}count:{precision}:{name}", self.prefix))
    }

    /// The member of `known:` for a counter: `<precision>:<name>` (no namespace).
    pub fn known_member(precision: u64, name: &str) -> Result<String> {
        let name = encode_name(name, "counter name")?;
        Ok(format!("{precision}:{name}"))
    }

    /// Turns a `known:` member back into the counter's key.
    pub fn counter_from_known(&self, member: &str) -> String {
        format!("{}count:{member}", self.prefix)
    }

    /// `P:known:`: every counter at every precision, all score 0.
    pub fn known(&self) -> String {
        format!("{}known:", self.prefix)
    }

    /// `P:stats:{<context>:<type>}`: count, sum, sumsq, min and max of this hour.
    pub fn stats(&self, context: &str, kind: &str) -> Result<String> {
        let context = encode_name(context, "context")?;
        let kind = encode_name(kind, "statistics type")?;
        Ok(format!("{}stats:{{{context}:{kind}}}", self.prefix))
    }

    /// `P:slowest:<type>`: contexts by mean, the 100 highest.
    pub fn slowest(&self, kind: &str) -> Result<String> {
        let kind = encode_name(kind, "statistics type")?;
        Ok(format!("{}slowest:{kind}", self.prefix))
    }

    /// `P:ip2cityid:`: the IPv4 range starts.
    pub fn ip2cityid(&self) -> String {
        format!("{}ip2cityid:", self.prefix)
    }

    /// `P:ip2cityid:v6`: the IPv6 range starts.
    pub fn ip2cityid_v6(&self) -> String {
        format!("{}ip2cityid:v6", self.prefix)
    }

    /// `P:cityid2city:`: city id → JSON `[city, region, country, extra?]`.
    pub fn cityid2city(&self) -> String {
        format!("{}cityid2city:", self.prefix)
    }

    /// `P:importing:{<live>}:<token>`: where an import loads `live` (a full key built here)
    /// before renaming it over the live key, so readers never see a half-loaded set. The
    /// hash tag keeps both in one Cluster slot, as RENAME requires.
    ///
    /// ```
    /// use tracing_redis::store::keys::Keys;
    ///
    /// let keys = Keys::new(Some("app")).unwrap();
    /// let staging = keys.importing(&keys.ip2cityid(), "42");
    /// assert_eq!(staging, "app:importing:{app:ip2cityid:}:42");
    /// ```
    pub fn importing(&self, live: &str, token: &str) -> String {
        format!("{}importing:{{{live}}}:{token}", self.prefix)
    }

    /// `P:config:<type>:<component>`: a component's JSON configuration.
    pub fn config(&self, kind: &str, component: &str) -> Result<String> {
        let kind = encode_name(kind, "config type")?;
        let component = encode_name(component, "component")?;
        Ok(format!("{}config:{kind}:{component}", self.prefix))
    }

    /// `P:is-under-maintenance`: non-empty means yes.
    pub fn maintenance(&self) -> String {
        format!("{}is-under-maintenance", self.prefix)
    }

    /// `P:config-changed`: the pub/sub channel that carries the key of a changed config.
    pub fn config_changed_channel(&self) -> String {
        format!("{}config-changed", self.prefix)
    }
}

/// The companion keys of an hourly-rotated set (`common:` and `stats:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The current hour's set.
    pub current: String,
    /// `:start`, the ISO-8601 start of the current hour.
    pub start: String,
    /// `:last`, the previous set.
    pub last: String,
    /// `:pstart`, the previous set's start.
    pub pstart: String,
}

impl Rotated {
    /// The four keys of the rotated set `current`.
    pub fn of(current: String) -> Self {
        Rotated {
            start: format!("{current}:start"),
            last: format!("{current}:last"),
            pstart: format!("{current}:pstart"),
            current,
        }
    }
}

/// Patterns and parsers for readers that discover keys with `SCAN` (the query API).
impl Keys {
    /// A `SCAN MATCH` pattern for every recent-log list: `P:recent:*`, with glob
    /// metacharacters of the namespace escaped.
    pub fn recent_pattern(&self) -> String {
        format!("{}recent:*", glob_escape(&self.prefix))
    }

    /// Splits a recent-log key `P:recent:<name>:<severity>` into its decoded name and
    /// severity; `None` for any other key. The severity is the part after the last `:`,
    /// so names may hold colons.
    ///
    /// ```
    /// use tracing_redis::store::keys::Keys;
    /// use tracing_redis::store::Severity;
    ///
    /// let keys = Keys::new(Some("ns")).unwrap();
    /// let key = keys.recent("a:b{c}", Severity::Error).unwrap();
    /// assert_eq!(keys.parse_recent(&key), Some(("a:b{c}".to_owned(), Severity::Error)));
    /// assert_eq!(keys.parse_recent("ns:recent:x:loud"), None);
    /// ```
    pub fn parse_recent(&self, key: &str) -> Option<(String, Severity)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix("recent:")?;
        split_name_severity(rest)
    }

    /// A `SCAN MATCH` pattern for every common-log key: `P:common:{*`.
    pub fn common_pattern(&self) -> String {
        format!("{}common:{{*", glob_escape(&self.prefix))
    }

    /// `SCAN MATCH` patterns covering every key of each technique, by technique: `recent`,
    /// `common`, `counters`, `stats`, `slowest`, `geoip`, `config` (what `tracing-redis
    /// status` counts). A single key such as `P:known:` is a pattern matching only itself.
    ///
    /// ```
    /// use tracing_redis::store::keys::Keys;
    ///
    /// let keys = Keys::new(Some("ns")).unwrap();
    /// let patterns = keys.technique_patterns();
    /// assert_eq!(patterns[2], ("counters", vec!["ns:count:*".to_owned(), "ns:known:".to_owned()]));
    /// ```
    pub fn technique_patterns(&self) -> [(&'static str, Vec<String>); 7] {
        let p = glob_escape(&self.prefix);
        let exact = |key: String| glob_escape(&key);
        [
            ("recent", vec![self.recent_pattern()]),
            ("common", vec![self.common_pattern()]),
            ("counters", vec![format!("{p}count:*"), exact(self.known())]),
            ("stats", vec![format!("{p}stats:*")]),
            ("slowest", vec![format!("{p}slowest:*")]),
            (
                "geoip",
                vec![format!("{p}ip2cityid:*"), exact(self.cityid2city())],
            ),
            (
                "config",
                vec![format!("{p}config:*"), exact(self.maintenance())],
            ),
        ]
    }

    /// The decoded name and severity of a common-log set key, `P:common:{<name>:<severity>}`
    /// or its `:last`; `None` for any other key (`:start`, `:pstart`, foreign keys).
    ///
    /// ```
    /// use tracing_redis::store::keys::Keys;
    /// use tracing_redis::store::Severity;
    ///
    /// let keys = Keys::default();
    /// let key = keys.common("web", Severity::Warning).unwrap();
    /// assert_eq!(keys.parse_common(&key), Some(("web".to_owned(), Severity::Warning)));
    /// assert_eq!(keys.parse_common(&format!("{key}:last")).unwrap().0, "web");
    /// assert_eq!(keys.parse_common(&format!("{key}:start")), None);
    /// ```
    pub fn parse_common(&self, key: &str) -> Option<(String, Severity)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix("common:{")?;
        let inner = rest
            .strip_suffix('}')
            .or_else(|| rest.strip_suffix("}:last"))?;
        split_name_severity(inner)
    }
}

fn split_name_severity(encoded: &str) -> Option<(String, Severity)> {
    let (name, severity) = encoded.rsplit_once(':')?;
    let severity = Severity::ALL.into_iter().find(|s| s.as_str() == severity)?;
    if name.is_empty() || name.contains(['{', '}']) {
        return None;
    }
    Some((decode_name(name).into_owned(), severity))
}

/// Escapes the glob metacharacters of a literal, for `SCAN MATCH`.
pub fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_awkward_names() {
        for name in [
            "plain",
            "a{b}",
            "%7B",
            "new\nline",
            "tab\t",
            "ünï",
            "%",
            "x%zz",
            "\u{7f}",
        ] {
            let enc = encode_name(name, "n").unwrap();
            assert!(!enc.contains(['{', '}', '\n', '\t']), "{enc}");
            assert_eq!(decode_name(&enc), name, "{name:?} via {enc:?}");
        }
    }

    #[test]
    fn decoding_keeps_invalid_escapes() {
        assert_eq!(decode_name("100%"), "100%");
        assert_eq!(decode_name("%zz"), "%zz");
        assert_eq!(decode_name("%4"), "%4");
    }

    #[test]
    fn empty_names_are_rejected_with_their_role() {
        let err = Keys::default().stats("", "AccessTime").unwrap_err();
        assert!(err.is_invalid_input());
        assert!(err.to_string().contains("context"), "{err}");
        assert!(Keys::new(Some("")).is_err());
    }

    #[test]
    fn namespaced_keys() {
        let k = Keys::new(Some("ns")).unwrap();
        assert_eq!(k.namespace(), Some("ns"));
        assert_eq!(k.counter(60, "hits").unwrap(), "ns:count:60:hits");
        assert_eq!(Keys::known_member(60, "hits").unwrap(), "60:hits");
        assert_eq!(k.counter_from_known("60:hits"), "ns:count:60:hits");
        assert_eq!(
            k.stats("a}b", "AccessTime").unwrap(),
            "ns:stats:{a%7Db:AccessTime}"
        );
        assert_eq!(k.config("redis", "logs").unwrap(), "ns:config:redis:logs");
        assert_eq!(k.maintenance(), "ns:is-under-maintenance");
        let r = Rotated::of(k.common("app", Severity::Error).unwrap());
        assert_eq!(r.pstart, "ns:common:{app:error}:pstart");
    }

    #[test]
    fn patterns_escape_the_namespace_and_parsers_reject_companions() {
        let k = Keys::new(Some("a*b")).unwrap();
        assert_eq!(k.recent_pattern(), "a\\*b:recent:*");
        assert_eq!(k.common_pattern(), "a\\*b:common:{*");
        let all = k.technique_patterns();
        assert_eq!(all[6].1, ["a\\*b:config:*", "a\\*b:is-under-maintenance"]);
        assert_eq!(
            k.parse_recent("a*b:recent:x%7By:info"),
            Some(("x{y".into(), Severity::Info))
        );
        assert_eq!(k.parse_recent("other:recent:x:info"), None);
        assert_eq!(k.parse_recent("a*b:recent::info"), None);
        assert_eq!(k.parse_common("a*b:common:{x:error}:pstart"), None);
        assert_eq!(
            k.parse_common("a*b:common:{x:error}:last"),
            Some(("x".into(), Severity::Error))
        );
    }
}
