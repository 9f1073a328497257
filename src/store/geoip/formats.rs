//! The CSV files the importer understands, recognised by their header row: GeoLite2 City
//! (UTF-8, networks in CIDR) and the legacy GeoLiteCity (Latin-1, inclusive integer ranges,
//! a copyright line before the header). Columns are found by name, so extra or reordered
//! columns (`is_anycast`, …) do not matter.

use std::borrow::Cow;
use std::fmt;

use csv::ByteRecord;
use ipnet::IpNet;
use serde_json::{Map, Value};

/// The family of CSV files a data set is written in, detected from the headers.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeoipFormat {
    /// MaxMind GeoLite2 City: `…-City-Blocks-IPv4.csv`, `…-City-Blocks-IPv6.csv` (networks in
    /// CIDR) and `…-City-Locations-<locale>.csv`, UTF-8, geoname ids as city ids.
    GeoLite2,
    /// The legacy GeoLiteCity: `GeoLiteCity-Blocks.csv` (`startIpNum,endIpNum,locId`,
    /// inclusive) and `GeoLiteCity-Location.csv`, Latin-1, location ids as city ids.
    Legacy,
}

impl fmt::Display for GeoipFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeoipFormat::GeoLite2 => "GeoLite2",
            GeoipFormat::Legacy => "legacy GeoLiteCity",
        })
    }
}

impl GeoipFormat {
    /// Decodes one field: GeoLite2 is UTF-8 (invalid bytes replaced), legacy files Latin-1,
    /// where every byte is the code point of the same value.
    pub(crate) fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            GeoipFormat::GeoLite2 => String::from_utf8_lossy(bytes),
            GeoipFormat::Legacy => match std::str::from_utf8(bytes) {
                Ok(s) if s.is_ascii() => Cow::Borrowed(s),
                _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            },
        }
    }
}

/// How an optional column is stored in the extra object of a city.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtraKind {
    Text,
    /// A JSON number when the text parses as a finite number, the text otherwise.
    Number,
}

/// An optional column copied into the extra object under `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extra {
    pub name: &'static str,
    pub column: usize,
    pub kind: ExtraKind,
}

/// Where a blocks file keeps the range of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeColumns {
    /// GeoLite2: one CIDR network.
    Network(usize),
    /// Legacy: inclusive first and last address, as integers (or dotted IPv4 text).
    StartEnd(usize, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlocksLayout {
    pub format: GeoipFormat,
    pub range: RangeColumns,
    pub id: usize,
    /// GeoLite2's `registered_country_geoname_id`, used when `geoname_id` is empty.
    pub fallback_id: Option<usize>,
    pub extras: Vec<Extra>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocationsLayout {
    pub format: GeoipFormat,
    pub id: usize,
    pub city: usize,
    pub region: Option<usize>,
    pub country: usize,
    pub extras: Vec<Extra>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    Blocks(BlocksLayout),
    Locations(LocationsLayout),
}

/// What the importer says it expects when a header is not recognised.
pub(crate) const EXPECTED_HEADERS: &str = "expected a GeoLite2 City CSV header \
    (`network,geoname_id,…` or `geoname_id,locale_code,…`) or a legacy GeoLiteCity one \
    (`startIpNum,endIpNum,locId` or `locId,country,region,city,…`)";

/// Recognises a header row, or `None` when `record` is not one (a copyright line, data).
pub(crate) fn detect(record: &ByteRecord) -> Option<Layout> {
    let names: Vec<String> = record
        .iter()
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase()
        })
        .collect();
    let col = |name: &str| names.iter().position(|n| n == name);
    let present = |specs: &[(&'static str, &str, ExtraKind)]| -> Vec<Extra> {
        specs
            .iter()
            .filter_map(|&(name, header, kind)| {
                col(header).map(|column| Extra { name, column, kind })
            })
            .collect()
    };
    use ExtraKind::{Number, Text};
    if let (Some(network), Some(id)) = (col("network"), col("geoname_id")) {
        return Some(Layout::Blocks(BlocksLayout {
            format: GeoipFormat::GeoLite2,
            range: RangeColumns::Network(network),
            id,
            fallback_id: col("registered_country_geoname_id"),
            extras: present(&[
                ("postal_code", "postal_code", Text),
                ("latitude", "latitude", Number),
                ("longitude", "longitude", Number),
            ]),
        }));
    }
    if let (Some(id), Some(city), Some(country)) =
        (col("geoname_id"), col("city_name"), col("country_iso_code"))
    {
        return Some(Layout::Locations(LocationsLayout {
            format: GeoipFormat::GeoLite2,
            id,
            city,
            region: col("subdivision_1_name"),
            country,
            extras: present(&[("time_zone", "time_zone", Text)]),
        }));
    }
    if let (Some(start), Some(end), Some(id)) = (col("startipnum"), col("endipnum"), col("locid")) {
        return Some(Layout::Blocks(BlocksLayout {
            format: GeoipFormat::Legacy,
            range: RangeColumns::StartEnd(start, end),
            id,
            fallback_id: None,
            extras: Vec::new(),
        }));
    }
    if let (Some(id), Some(city), Some(country)) = (col("locid"), col("city"), col("country")) {
        return Some(Layout::Locations(LocationsLayout {
            format: GeoipFormat::Legacy,
            id,
            city,
            region: col("region"),
            country,
            extras: present(&[
                ("postal_code", "postalcode", Text),
                ("latitude", "latitude", Number),
                ("longitude", "longitude", Number),
                ("metro_code", "metrocode", Text),
                ("area_code", "areacode", Text),
            ]),
        }));
    }
    None
}

/// The extra object of one row: its non-empty optional columns.
pub(crate) fn extras(
    format: GeoipFormat,
    extras: &[Extra],
    record: &ByteRecord,
) -> Map<String, Value> {
    let mut map = Map::new();
    for extra in extras {
        let text = format.decode(record.get(extra.column).unwrap_or_default());
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value = match extra.kind {
            ExtraKind::Number => match text.parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n)
                    .map_or_else(|| Value::String(text.to_owned()), Value::Number),
                _ => Value::String(text.to_owned()),
            },
            ExtraKind::Text => Value::String(text.to_owned()),
        };
        map.insert(extra.name.to_owned(), value);
    }
    map
}

/// An inclusive range of addresses, in the index it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    V4(u32, u32),
    V6(u128, u128),
}

/// The range of a CIDR network. Networks inside `::ffff:0:0/96` are IPv4-mapped and go to
/// the IPv4 index, which is where lookups of `::ffff:a.b.c.d` go. Host bits are ignored.
pub(crate) fn parse_network(text: &str) -> Result<Span, String> {
    let net: IpNet = text
        .trim()
        .parse()
        .map_err(|_| format!("unparsable network {text:?}: expected CIDR like 1.2.3.0/24"))?;
    Ok(match net {
        IpNet::V4(n) => Span::V4(n.network().into(), n.broadcast().into()),
        IpNet::V6(n) => {
            let (start, end) = (u128::from(n.network()), u128::from(n.broadcast()));
            match (
                n.network().to_ipv4_mapped(),
                n.broadcast().to_ipv4_mapped(),
                n.prefix_len() >= 96,
            ) {
                (Some(s), Some(e), true) => Span::V4(s.into(), e.into()),
                _ => Span::V6(start, end),
            }
        }
    })
}

/// The inclusive range `first..=last` of a legacy row.
pub(crate) fn parse_start_end(first: &str, last: &str) -> Result<Span, String> {
    let (start, end) = (parse_v4(first)?, parse_v4(last)?);
    if start > end {
        return Err(format!("reversed range: {first} > {last}"));
    }
    Ok(Span::V4(start, end))
}

fn parse_v4(text: &str) -> Result<u32, String> {
    let text = text.trim();
    text.parse::<u32>()
        .or_else(|_| text.parse::<std::net::Ipv4Addr>().map(u32::from))
        .map_err(|_| {
            format!("unparsable address {text:?}: expected an integer below 2^32 or a.b.c.d")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn headers_are_recognised_by_column_names() {
        let blocks = rec(&[
            "\u{feff}network",
            "geoname_id",
            "registered_country_geoname_id",
            "represented_country_geoname_id",
            "is_anonymous_proxy",
            "is_satellite_provider",
            "postal_code",
            "latitude",
            "longitude",
            "accuracy_radius",
            "is_anycast",
        ]);
        let Some(Layout::Blocks(b)) = detect(&blocks) else {
            panic!("not blocks")
        };
        assert_eq!(b.range, RangeColumns::Network(0));
        assert_eq!((b.id, b.fallback_id, b.extras.len()), (1, Some(2), 3));
        let legacy = rec(&["startIpNum", "endIpNum", "locId"]);
        assert!(
            matches!(detect(&legacy), Some(Layout::Blocks(b)) if b.format == GeoipFormat::Legacy)
        );
        let loc = rec(&[
            "locId",
            "country",
            "region",
            "city",
            "postalCode",
            "latitude",
        ]);
        let Some(Layout::Locations(l)) = detect(&loc) else {
            panic!("not locations")
        };
        assert_eq!(
            (l.format, l.city, l.extras.len()),
            (GeoipFormat::Legacy, 3, 2)
        );
        assert_eq!(detect(&rec(&["Copyright (c) 2012 MaxMind LLC."])), None);
    }

    #[test]
    fn latin1_maps_each_byte_to_its_code_point() {
        assert_eq!(GeoipFormat::Legacy.decode(b"S\xe3o Paulo"), "São Paulo");
        assert_eq!(GeoipFormat::Legacy.decode(b"plain"), "plain");
        assert_eq!(GeoipFormat::GeoLite2.decode("São".as_bytes()), "São");
    }

    #[test]
    fn networks_and_mapped_networks() {
        assert_eq!(
            parse_network("1.2.3.0/24"),
            Ok(Span::V4(0x0102_0300, 0x0102_03ff))
        );
        assert_eq!(
            parse_network("::ffff:1.2.3.0/120"),
            Ok(Span::V4(0x0102_0300, 0x0102_03ff))
        );
        assert_eq!(parse_network("::/0"), Ok(Span::V6(0, u128::MAX)));
        assert!(parse_network("1.2.3.0").is_err());
        assert!(parse_network("1.2.3.0/33").is_err());
    }

    #[test]
    fn legacy_ranges() {
        assert_eq!(
            parse_start_end("16777216", "1.0.0.255"),
            Ok(Span::V4(16_777_216, 16_777_471))
        );
        assert!(parse_start_end("5", "4").unwrap_err().contains("reversed"));
        assert!(parse_start_end("4294967296", "4294967296").is_err());
    }
}
