//! How numbers and times read in the human views and the dashboard. Depends on nothing else
//! in the tool, so the dashboard (and its tests) can use it alone.

use chrono::{DateTime, Utc};

/// The statistics type whose samples are seconds.
pub const ACCESS_TIME: &str = "AccessTime";

/// A statistic of type `kind`: durations for `AccessTime` (seconds), plain numbers otherwise.
pub fn value(kind: &str, v: f64) -> String {
    if kind == ACCESS_TIME {
        seconds(v)
    } else {
        number(v)
    }
}

/// Seconds as `850 µs`, `12.3 ms`, `1.50 s`.
pub fn seconds(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0 s".to_owned()
    } else if a < 1e-3 {
        format!("{:.0} µs", v * 1e6)
    } else if a < 1.0 {
        format!("{:.1} ms", v * 1e3)
    } else {
        format!("{v:.2} s")
    }
}

/// A number with at most three decimals and no trailing zeros.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Unix seconds in UTC with `format` (chrono's strftime); the raw number if out of range.
pub fn unix_time(secs: i64, format: &str) -> String {
    match DateTime::<Utc>::from_timestamp(secs, 0) {
        Some(t) => t.format(format).to_string(),
        None => secs.to_string(),
    }
}

/// Unix seconds as ISO-8601 UTC: `2026-11-27T01:02:05Z`.
pub fn iso(secs: i64) -> String {
    unix_time(secs, "%Y-%m-%dT%H:%M:%SZ")
}

/// A short time label for buckets of `precision` seconds: time of day below an hour, day and
/// time below a day, the date otherwise.
pub fn bucket_label(secs: i64, precision: u64) -> String {
    let format = match precision {
        0..60 => "%H:%M:%S",
        60..86_400 => "%m-%d %H:%M",
        _ => "%Y-%m-%d",
    };
    unix_time(secs, format)
}

/// The time of day of an ISO timestamp (`2026-11-27T01:02:03.456Z` → `01:02:03`), or the
/// text as it is when it has no such shape.
pub fn time_of_day(ts: &str) -> &str {
    ts.get(11..19).unwrap_or(ts)
}

/// The shortest way to write `secs` with one unit: `5s`, `1m`, `5h`, `1d`, `90s`.
pub fn short_duration(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// A bar of `value` against `max` over `width` cells, in eighths; at least a sliver for any
/// positive value.
pub fn bar(value: f64, max: f64, width: usize) -> String {
    if !(value > 0.0 && max > 0.0) {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * (width * 8) as f64)
        .round()
        .max(1.0) as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push([' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(seconds(0.0123), "12.3 ms");
        assert_eq!(seconds(0.00085), "850 µs");
        assert_eq!(seconds(1.5), "1.50 s");
        assert_eq!(value("Histogram", 2.5), "2.5");
        assert_eq!(value("Gauge", 3.0), "3");
        assert_eq!(number(1.0 / 3.0), "0.333");
        assert_eq!(iso(1_795_741_325), "2026-11-27T01:02:05Z");
        assert_eq!(bucket_label(1_795_741_325, 5), "01:02:05");
        assert_eq!(bucket_label(1_795_741_325, 300), "11-27 01:02");
        assert_eq!(bucket_label(1_795_741_325, 86_400), "2026-11-27");
        assert_eq!(time_of_day("2026-11-27T01:02:03.456Z"), "01:02:03");
        assert_eq!(time_of_day("raw"), "raw");
        assert_eq!(short_duration(5), "5s");
        assert_eq!(short_duration(18_000), "5h");
        assert_eq!(short_duration(90), "90s");
    }

    #[test]
    fn bars_scale_to_the_largest() {
        assert_eq!(bar(10.0, 10.0, 4), "████");
        assert_eq!(bar(5.0, 10.0, 4), "██");
        assert_eq!(bar(1.0, 16.0, 2), "▏");
        assert_eq!(bar(0.001, 1000.0, 4), "▏");
        assert_eq!(bar(0.0, 10.0, 4), "");
        assert_eq!(bar(f64::NAN, 10.0, 4), "");
    }
}
