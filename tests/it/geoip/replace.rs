//! Re-imports replace the whole data set in one step for readers; failed imports leave it
//! alone; batch lookups answer in order with a constant number of commands.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_redis::ErrorKind;
use tracing_redis::store::Store;
use tracing_redis::store::geoip::GeoipImport;

use super::{Geo, g2_blocks, g2_locations, legacy_blocks, legacy_locations};

fn ttl(geo: &mut Geo, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query(&mut geo.con).unwrap()
}

#[test]
fn a_reimport_replaces_every_key_and_leaves_no_staging_keys() {
    let mut geo = Geo::new();
    let blocks = g2_blocks(&[("1.0.0.0/8", "10"), ("2001:db8::/32", "11")]);
    geo.import(
        g2_locations(&[("10", "DE", "", "A"), ("11", "FR", "", "B")]),
        &[&blocks],
    );
    assert_eq!(geo.id("2001:db8::1").as_deref(), Some("11"));
    assert_eq!(geo.keys(), ["cityid2city:", "ip2cityid:", "ip2cityid:v6"]);

    let report = geo.import(
        legacy_locations(&[("7", "IT", "", "C")]),
        &[&legacy_blocks(&[(0x0200_0000, 0x02ff_ffff, "7")])],
    );
    assert_eq!((report.ipv4_ranges, report.ipv6_ranges), (1, 0));
    assert_eq!(geo.id("1.2.3.4"), None);
    assert_eq!(geo.id("2.3.4.5").as_deref(), Some("7"));
    assert_eq!(geo.id("2001:db8::1"), None);
    // The IPv6 index went with the old data set; only the new cities remain.
    assert_eq!(geo.keys(), ["cityid2city:", "ip2cityid:"]);
    let cities: Vec<String> = redis::cmd("HKEYS")
        .arg("cityid2city:")
        .query(&mut geo.con)
        .unwrap();
    assert_eq!(cities, ["7"]);
    assert_eq!(ttl(&mut geo, "ip2cityid:"), -1);
    assert_eq!(ttl(&mut geo, "cityid2city:"), -1);
}

#[test]
fn a_failed_reimport_leaves_the_data_as_it_was() {
    let mut geo = Geo::new();
    geo.import(
        g2_locations(&[("1", "DE", "", "A")]),
        &[&g2_blocks(&[("1.0.0.0/8", "1")])],
    );
    let before = geo.zset("ip2cityid:");
    let err = geo
        .try_import(
            g2_locations(&[("2", "FR", "", "B")]),
            &[&g2_blocks(&[("1.0.0.0/8", "9")])],
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(geo.zset("ip2cityid:"), before);
    assert_eq!(geo.city("1.1.1.1").unwrap().city.as_deref(), Some("A"));
    assert_eq!(geo.keys(), ["cityid2city:", "ip2cityid:"]);
}

#[test]
fn readers_see_the_old_data_set_or_the_new_one_never_a_mix_or_nothing() {
    let mut geo = Geo::new();
    geo.import(
        g2_locations(&[("a", "DE", "", "A")]),
        &[&g2_blocks(&[("10.0.0.0/8", "a")])],
    );
    // The new data set: 4,096 /20 networks of city `b`, written in many small batches.
    let nets: Vec<String> = (0..4096u32)
        .map(|i| format!("{}/20", std::net::Ipv4Addr::from(0x0a00_0000 + (i << 12))))
        .collect();
    let rows: Vec<(&str, &str)> = nets.iter().map(|n| (n.as_str(), "b")).collect();
    let locations = geo.file(g2_locations(&[("b", "FR", "", "B")]));
    let blocks = geo.file(g2_blocks(&rows));
    let import = GeoipImport::new(locations).blocks(blocks).batch_size(50);
    let done = AtomicBool::new(false);
    let probes = ["10.0.0.1", "10.128.0.1", "10.255.255.255"];
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut con = geo.server.connection();
            let store = Store::new();
            let (mut seen_new, mut lookups) = (false, 0);
            loop {
                let finished = done.load(Ordering::SeqCst);
                let got = store.find_cities_by_ip(&mut con, &probes).unwrap();
                let ids: Vec<&str> = got
                    .iter()
                    .map(|c| c.as_ref().map_or("none", |c| c.id.as_str()))
                    .collect();
                assert!(
                    ids == ["a"; 3] || ids == ["b"; 3],
                    "lookup {lookups}: {ids:?}"
                );
                assert!(
                    !(seen_new && ids[0] == "a"),
                    "back to the old data: {ids:?}"
                );
                seen_new |= ids[0] == "b";
                lookups += 1;
                if finished {
                    return (seen_new, lookups);
                }
            }
        });
        let report = geo.store.import_geoip(&mut geo.con, &import).unwrap();
        assert_eq!(report.ipv4_ranges, 4096);
        done.store(true, Ordering::SeqCst);
        let (seen_new, lookups) = reader.join().unwrap();
        assert!(seen_new && lookups > 1, "{lookups} lookups");
    });
}

fn commandstats(geo: &mut Geo) -> String {
    redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut geo.con)
        .unwrap()
}

fn calls(stats: &str, command: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn batch_lookups_answer_in_order_with_one_hmget() {
    let mut geo = Geo::new();
    let blocks = g2_blocks(&[
        ("1.0.0.0/8", "1"),
        ("3.0.0.0/8", "2"),
        ("2001:db8::/32", "3"),
    ]);
    geo.import(
        g2_locations(&[
            ("1", "DE", "", "A"),
            ("2", "FR", "", "B"),
            ("3", "IT", "", "C"),
        ]),
        &[&blocks],
    );
    let ips: Vec<String> = (0..3000u32)
        .map(|i| match i % 5 {
            0 => format!("1.0.{}.{}", i / 256 % 256, i % 256),
            1 => format!("2.0.0.{}", i % 256),
            2 => format!("3.{}.0.1", i % 256),
            3 => format!("2001:db8::{i:x}"),
            _ => format!("::ffff:1.2.3.{}", i % 256),
        })
        .collect();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut geo.con)
        .unwrap();
    let batch = geo.store.find_cities_by_ip(&mut geo.con, &ips).unwrap();
    let stats = commandstats(&mut geo);
    assert_eq!(calls(&stats, "hmget"), 1, "{stats}");
    assert_eq!(calls(&stats, "zrevrangebyscore"), 2400, "{stats}");
    assert_eq!(calls(&stats, "zrevrangebylex"), 600, "{stats}");
    assert_eq!(batch.len(), ips.len());
    for (ip, city) in ips.iter().zip(&batch).step_by(7) {
        assert_eq!(city, &geo.city(ip), "{ip}");
    }
    let names: Vec<Option<&str>> = batch[..5]
        .iter()
        .map(|c| c.as_ref().and_then(|c| c.city.as_deref()))
        .collect();
    assert_eq!(names, [Some("A"), None, Some("B"), Some("C"), Some("A")]);
    let empty: [&str; 0] = [];
    assert!(
        geo.store
            .find_cities_by_ip(&mut geo.con, &empty)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn invalid_address_text_is_an_error_naming_it_before_anything_is_sent() {
    let mut geo = Geo::new();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut geo.con)
        .unwrap();
    for bad in [
        "bogus",
        "1.2.3",
        "256.1.1.1",
        "",
        "::g",
        " 1.2.3.4",
        "1.2.3.4/8",
    ] {
        let err = geo
            .store
            .find_cities_by_ip(&mut geo.con, &["1.2.3.4", bad])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        let err = geo.store.find_city_by_ip(&mut geo.con, bad).unwrap_err();
        assert!(err.is_invalid_input());
    }
    let stats = commandstats(&mut geo);
    assert_eq!(calls(&stats, "zrevrangebyscore"), 0, "{stats}");
}

#[test]
fn namespaced_store_uses_its_own_keys() {
    let mut geo = Geo::new();
    geo.store = Store::new().with_namespace("app").unwrap();
    geo.import(
        g2_locations(&[("1", "DE", "", "A")]),
        &[&g2_blocks(&[("1.0.0.0/8", "1")])],
    );
    assert_eq!(geo.keys(), ["app:cityid2city:", "app:ip2cityid:"]);
    assert_eq!(geo.id("1.2.3.4").as_deref(), Some("1"));
    assert_eq!(
        Store::new()
            .find_city_by_ip(&mut geo.con, "1.2.3.4")
            .unwrap(),
        None
    );
}

#[test]
fn keys_of_another_type_are_redis_errors_naming_them() {
    let mut geo = Geo::new();
    redis::cmd("SET")
        .arg("ip2cityid:")
        .arg("x")
        .exec(&mut geo.con)
        .unwrap();
    let err = geo
        .store
        .find_city_by_ip(&mut geo.con, "1.2.3.4")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redis);
    assert!(
        err.to_string().contains("ip2cityid:") && err.to_string().contains("WRONGTYPE"),
        "{err}"
    );
    // An import replaces it whatever its type.
    geo.import(
        g2_locations(&[("1", "DE", "", "A")]),
        &[&g2_blocks(&[("1.0.0.0/8", "1")])],
    );
    assert_eq!(geo.id("1.2.3.4").as_deref(), Some("1"));
}
