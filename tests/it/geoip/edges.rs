//! Every edge of a lookup: first and last address of each range and the addresses around
//! them, gaps, adjacent ranges, the first and last address of each space, IPv4-mapped IPv6;
//! and the exact members the importer writes (the key schema is a data contract).

use std::net::Ipv4Addr;

use super::{Geo, g2_blocks, g2_locations, legacy_blocks, legacy_locations};

/// CIDR-aligned IPv4 ranges (so both formats can express them), written out of order:
/// adjacent ranges, a single address, gaps, the first and the last address of the space.
const V4: [(u32, u32, &str); 6] = [
    (34, 35, "5"),
    (0, 7, "1"),
    (8, 15, "2"),
    (32, 32, "3"),
    (33, 33, "4"),
    (0xffff_fff8, 0xffff_ffff, "6"),
];

fn ip4(n: u32) -> String {
    Ipv4Addr::from(n).to_string()
}

fn cidr4(start: u32, end: u32) -> String {
    let size = u64::from(end - start) + 1;
    assert!(size.is_power_of_two() && u64::from(start) % size == 0);
    format!("{}/{}", ip4(start), 32 - size.trailing_zeros())
}

fn locations() -> [(&'static str, &'static str, &'static str, &'static str); 6] {
    ["1", "2", "3", "4", "5", "6"].map(|id| (id, "DE", "Berlin", "Berlin"))
}

/// What every IPv4 address around the ranges of [`V4`] must give.
fn check_v4_edges(geo: &mut Geo) {
    let expected: [(u32, Option<&str>); 16] = [
        (0, Some("1")),
        (7, Some("1")),
        (8, Some("2")),
        (15, Some("2")),
        (16, None),
        (31, None),
        (32, Some("3")),
        (33, Some("4")),
        (34, Some("5")),
        (35, Some("5")),
        (36, None),
        (0x0102_0304, None),
        (0xffff_fff7, None),
        (0xffff_fff8, Some("6")),
        (0xffff_fffe, Some("6")),
        (0xffff_ffff, Some("6")),
    ];
    for (n, want) in expected {
        assert_eq!(geo.id(&ip4(n)).as_deref(), want, "{}", ip4(n));
        let mapped = format!("::ffff:{}", ip4(n));
        assert_eq!(geo.id(&mapped).as_deref(), want, "{mapped}");
    }
}

#[test]
fn legacy_ipv4_edges() {
    let mut geo = Geo::new();
    let report = geo.import(legacy_locations(&locations()), &[&legacy_blocks(&V4)]);
    assert_eq!(
        (report.ipv4_ranges, report.gap_markers, report.bad_rows),
        (6, 2, 0)
    );
    check_v4_edges(&mut geo);
    // The data contract: `<cityid>_<row>` at the start, `_<row>` after a gap, none after the
    // last address of the space nor between adjacent ranges.
    let members = geo.zset("ip2cityid:");
    let want: Vec<(String, f64)> = [
        ("1_0", 0.0),
        ("2_1", 8.0),
        ("_2", 16.0),
        ("3_3", 32.0),
        ("4_4", 33.0),
        ("5_5", 34.0),
        ("_6", 36.0),
        ("6_7", 4_294_967_288.0),
    ]
    .map(|(m, s)| (m.to_owned(), s))
    .into();
    assert_eq!(members, want);
}

#[test]
fn geolite2_ipv4_edges() {
    let mut geo = Geo::new();
    let nets: Vec<(String, &str)> = V4.iter().map(|&(s, e, id)| (cidr4(s, e), id)).collect();
    let rows: Vec<(&str, &str)> = nets.iter().map(|(n, id)| (n.as_str(), *id)).collect();
    let report = geo.import(g2_locations(&locations()), &[&g2_blocks(&rows)]);
    assert_eq!(
        (report.ipv4_ranges, report.gap_markers, report.bad_rows),
        (6, 2, 0)
    );
    check_v4_edges(&mut geo);
}

#[test]
fn nothing_before_the_first_range_nor_after_the_last() {
    let mut geo = Geo::new();
    let blocks = legacy_blocks(&[(100, 199, "1"), (300, 300, "2")]);
    let report = geo.import(legacy_locations(&locations()), &[&blocks]);
    assert_eq!(report.gap_markers, 2);
    for (n, want) in [
        (0, None),
        (99, None),
        (100, Some("1")),
        (199, Some("1")),
        (200, None),
        (300, Some("2")),
        (301, None),
        (u32::MAX, None),
    ] {
        assert_eq!(geo.id(&ip4(n)).as_deref(), want, "{}", ip4(n));
    }
}

#[test]
fn geolite2_ipv6_edges() {
    let mut geo = Geo::new();
    let blocks = g2_blocks(&[
        ("2001:db8::/32", "4"),
        ("::/127", "1"),
        ("::2/127", "2"),
        ("::10/124", "3"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "5"),
    ]);
    let report = geo.import(g2_locations(&locations()), &[&blocks]);
    assert_eq!(
        (report.ipv6_ranges, report.gap_markers, report.bad_rows),
        (5, 3, 0)
    );
    for (ip, want) in [
        ("::", Some("1")),
        ("::1", Some("1")),
        ("::2", Some("2")),
        ("::3", Some("2")),
        ("::4", None),
        ("::f", None),
        ("::10", Some("3")),
        ("::1f", Some("3")),
        ("::20", None),
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:db8::", Some("4")),
        ("2001:db8:1234::1", Some("4")),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Some("4")),
        ("2001:db9::", None),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", None),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", Some("5")),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("5")),
    ] {
        assert_eq!(geo.id(ip).as_deref(), want, "{ip}");
    }
    let members: Vec<String> = geo
        .zset("ip2cityid:v6")
        .into_iter()
        .map(|(m, s)| {
            assert_eq!(s, 0.0);
            m
        })
        .collect();
    let hex = |s: &str| {
        format!(
            "{:032x}",
            s.parse::<std::net::Ipv6Addr>().unwrap().to_bits()
        )
    };
    assert_eq!(
        members,
        [
            format!("{}:1", hex("::")),
            format!("{}:2", hex("::2")),
            format!("{}:", hex("::4")),
            format!("{}:3", hex("::10")),
            format!("{}:", hex("::20")),
            format!("{}:4", hex("2001:db8::")),
            format!("{}:", hex("2001:db9::")),
            format!("{}:5", hex("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")),
        ]
    );
    assert_eq!(geo.zset("ip2cityid:"), []);
}

#[test]
fn ipv4_mapped_addresses_and_networks_use_the_ipv4_index() {
    let mut geo = Geo::new();
    let v4 = g2_blocks(&[("1.2.3.0/24", "1")]);
    let v6 = g2_blocks(&[("::ffff:5.6.7.0/120", "2"), ("::/96", "3")]);
    let report = geo.import(g2_locations(&locations()), &[&v4, &v6]);
    assert_eq!((report.ipv4_ranges, report.ipv6_ranges), (2, 1));
    assert_eq!(geo.id("::ffff:1.2.3.4").as_deref(), Some("1"));
    assert_eq!(geo.id("::FFFF:1.2.3.255").as_deref(), Some("1"));
    assert_eq!(geo.id("::ffff:102:304").as_deref(), Some("1"));
    assert_eq!(geo.id("::ffff:1.2.4.0").as_deref(), None);
    assert_eq!(geo.id("5.6.7.8").as_deref(), Some("2"));
    assert_eq!(geo.id("::ffff:5.6.7.8").as_deref(), Some("2"));
    // IPv4-compatible (`::a.b.c.d`, deprecated) is an IPv6 address like any other.
    assert_eq!(geo.id("::1.2.3.4").as_deref(), Some("3"));
    assert_eq!(geo.id("1.2.2.255").as_deref(), None);
}

#[test]
fn typed_addresses_give_the_same_answers_as_text() {
    let mut geo = Geo::new();
    let blocks = g2_blocks(&[("10.0.0.0/8", "1"), ("2001:db8::/32", "2")]);
    geo.import(g2_locations(&locations()), &[&blocks]);
    let store = geo.store.clone();
    let v4: std::net::IpAddr = "10.1.2.3".parse().unwrap();
    let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mapped: std::net::Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
    let got = |ip: Option<tracing_redis::store::geoip::City>| ip.map(|c| c.id);
    assert_eq!(
        got(store.find_city_by_ip(&mut geo.con, v4).unwrap()).as_deref(),
        Some("1")
    );
    assert_eq!(
        got(store.find_city_by_ip(&mut geo.con, v6).unwrap()).as_deref(),
        Some("2")
    );
    assert_eq!(
        got(store.find_city_by_ip(&mut geo.con, mapped).unwrap()).as_deref(),
        Some("1")
    );
    let owned = String::from("2001:db8::ff");
    assert_eq!(
        got(store.find_city_by_ip(&mut geo.con, &owned).unwrap()).as_deref(),
        Some("2")
    );
}
