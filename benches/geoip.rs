//! IP → city throughput against the same server's ceilings, measured in the same run:
//!
//! - GeoLite2 rows imported per second (parse, sort, write, swap) vs. `redis-benchmark -P 64`
//!   single-member ZADDs per second;
//! - addresses looked up per second in batches (index and cities) vs. `redis-benchmark -P 64`
//!   ZREVRANGEBYSCORE on the imported index, and vs. a bare pipeline of the same
//!   ZREVRANGEBYSCOREs sent by this crate's Redis client on one connection.
//!
//! Each figure is the best of a few rounds, so that other load on the machine hurts the
//! ratios as little as possible. `GEOIP_BENCH_ROWS` sets the number of IPv4 rows (default
//! 1,000,000; a quarter as many IPv6 rows come on top).

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing_redis::store::Store;
use tracing_redis::store::geoip::GeoipImport;

use support::RedisServer;

const LOCATIONS: u32 = 20_000;
const LOOKUP_BATCH: usize = 10_000;
const ROUNDS: usize = 3;
const ROUND: Duration = Duration::from_secs(2);

fn main() {
    let rows: u32 = std::env::var("GEOIP_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (v4_end, v6_end) = write_data(&path("loc.csv"), &path("v4.csv"), &path("v6.csv"), rows);

    let server = RedisServer::start();
    let mut con = server.connection();
    let store = Store::new();
    let import = GeoipImport::new(path("loc.csv"))
        .blocks(path("v4.csv"))
        .blocks(path("v6.csv"));
    let mut best_import = 0f64;
    for _ in 0..2 {
        let t = Instant::now();
        let report = store.import_geoip(&mut con, &import).unwrap();
        let total = report.ipv4_ranges + report.ipv6_ranges;
        assert_eq!(total, u64::from(rows + rows / 4));
        best_import = best_import.max(total as f64 / t.elapsed().as_secs_f64());
        println!(
            "geoip import: {total} rows, {} cities, {} gap markers in {:.2} s",
            report.cities,
            report.gap_markers,
            t.elapsed().as_secs_f64()
        );
    }
    let zadd = (0..ROUNDS)
        .map(|_| {
            redis::cmd("DEL").arg("myzset").exec(&mut con).unwrap();
            redis_benchmark(&server, &["-r", "100000000", "-t", "zadd"])
        })
        .fold(0f64, f64::max);
    redis::cmd("DEL").arg("myzset").exec(&mut con).unwrap();
    println!("geoip import {best_import:.0} rows/s; redis-benchmark -P 64 ZADD {zadd:.0}/s");
    println!(
        "geoip import rows/s vs redis-benchmark ZADD ratio={:.2}",
        best_import / zadd
    );

    let mut rng = StdRng::seed_from_u64(7);
    let v4: Vec<Vec<String>> = (0..8)
        .map(|_| {
            (0..LOOKUP_BATCH)
                .map(|_| Ipv4Addr::from(rng.random_range(1 << 24..v4_end)).to_string())
                .collect()
        })
        .collect();
    let v6: Vec<Vec<String>> = (0..8)
        .map(|_| {
            (0..LOOKUP_BATCH)
                .map(|_| Ipv6Addr::from(rng.random_range(V6_START..v6_end)).to_string())
                .collect()
        })
        .collect();
    let (mut ours4, mut ours6, mut bare4, mut bare6, mut ceiling) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for _ in 0..ROUNDS {
        ours4 = ours4.max(per_sec(&v4, |b| {
            store.find_cities_by_ip(&mut con, b).unwrap().len()
        }));
        bare4 = bare4.max(per_sec(&v4, |b| bare_pipeline(&mut con, b)));
        ours6 = ours6.max(per_sec(&v6, |b| {
            store.find_cities_by_ip(&mut con, b).unwrap().len()
        }));
        bare6 = bare6.max(per_sec(&v6, |b| bare_pipeline(&mut con, b)));
        // Probes spread over the covered addresses, like the lookups' (past the last range
        // every search would walk the same, cache-hot path).
        ceiling = ceiling.max(redis_benchmark(
            &server,
            &[
                "-r",
                &v4_end.to_string(),
                "ZREVRANGEBYSCORE",
                "ip2cityid:",
                "__rand_int__",
            ]
            .into_iter()
            .chain(["0", "LIMIT", "0", "1"])
            .collect::<Vec<_>>(),
        ));
    }
    println!(
        "geoip batch lookups ({LOOKUP_BATCH} per batch): IPv4 {ours4:.0}/s, IPv6 {ours6:.0}/s; \
         bare pipeline ZREVRANGEBYSCORE {bare4:.0}/s, ZREVRANGEBYLEX {bare6:.0}/s; \
         redis-benchmark -P 64 ZREVRANGEBYSCORE {ceiling:.0}/s"
    );
    println!(
        "geoip batch lookups/s vs redis-benchmark ZREVRANGEBYSCORE ratio={:.2}",
        ours4 / ceiling
    );
    println!(
        "geoip batch lookups/s vs bare client pipeline ZREVRANGEBYSCORE ratio={:.2}",
        ours4 / bare4
    );
    println!(
        "geoip IPv6 batch lookups/s vs bare client pipeline ZREVRANGEBYLEX ratio={:.2}",
        ours6 / bare6
    );
}

/// Addresses per second that `f` handles, cycling through `batches` for one round.
fn per_sec(batches: &[Vec<String>], mut f: impl FnMut(&[String]) -> usize) -> f64 {
    let (mut done, t) = (0usize, Instant::now());
    for batch in batches.iter().cycle() {
        done += f(batch);
        if t.elapsed() >= ROUND {
            break;
        }
    }
    done as f64 / t.elapsed().as_secs_f64()
}

/// The index probes alone, as a bare pipeline: the client's own ceiling on one connection.
fn bare_pipeline(con: &mut redis::Connection, batch: &[String]) -> usize {
    let mut pipe = redis::pipe();
    for ip in batch {
        match ip.parse::<std::net::IpAddr>().unwrap() {
            std::net::IpAddr::V4(a) => pipe
                .cmd("ZREVRANGEBYSCORE")
                .arg("ip2cityid:")
                .arg(u32::from(a))
                .arg(0),
            std::net::IpAddr::V6(a) => pipe
                .cmd("ZREVRANGEBYLEX")
                .arg("ip2cityid:v6")
                .arg(format!("({:032x};", u128::from(a)))
                .arg("-"),
        }
        .arg("LIMIT")
        .arg(0)
        .arg(1);
    }
    let replies: Vec<redis::Value> = pipe.query(con).unwrap();
    replies.len()
}

/// Requests per second of `redis-benchmark -P 64` (50 clients) with `args`.
fn redis_benchmark(server: &RedisServer, args: &[&str]) -> f64 {
    let out = Command::new("redis-benchmark")
        .arg("-s")
        .arg(server.socket())
        .args(["-P", "64", "-n", "2000000", "--csv"])
        .args(args)
        .output()
        .expect("running redis-benchmark (installed with redis-server)");
    let text = String::from_utf8_lossy(&out.stdout);
    // `"test","rps",…` then `"ZADD","1234567.00",…`.
    text.lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

const V6_START: u128 = 0x2001_0db8 << 96;

/// A GeoLite2-shaped data set: `rows` IPv4 and `rows / 4` IPv6 networks of random sizes, in
/// order, one in four followed by a gap, each of one of `LOCATIONS` cities with a postal code
/// and coordinates like the real files. Returns the end of each covered space.
fn write_data(locations: &Path, v4: &Path, v6: &Path, rows: u32) -> (u32, u128) {
    let mut rng = StdRng::seed_from_u64(42);
    let mut s = String::from(
        "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,\
         subdivision_1_iso_code,subdivision_1_name,subdivision_2_iso_code,subdivision_2_name,\
         city_name,metro_code,time_zone,is_in_european_union\n",
    );
    for id in 0..LOCATIONS {
        let _ = writeln!(
            s,
            "{},en,EU,Europe,DE,Germany,BE,\"Region {}\",,,\"City {id}\",,Europe/Berlin,1",
            1_000_000 + id,
            id % 16
        );
    }
    std::fs::write(locations, &s).unwrap();
    let header = "network,geoname_id,registered_country_geoname_id,\
        represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,\
        latitude,longitude,accuracy_radius,is_anycast\n";
    let row = |s: &mut String, net: String, rng: &mut StdRng| {
        let id = rng.random_range(0..LOCATIONS);
        let _ = writeln!(
            s,
            "{net},{},2921044,,0,0,{},{:.4},{:.4},20,0",
            1_000_000 + id,
            10_000 + id * 3 + rng.random_range(0..3),
            47.0 + f64::from(id % 500) / 100.0,
            6.0 + f64::from(id / 500) / 10.0,
        );
    };
    let mut s = String::from(header);
    let mut at: u32 = 1 << 24;
    for _ in 0..rows {
        let size = 1u32 << rng.random_range(4..=8);
        at = at.next_multiple_of(size);
        let net = format!("{}/{}", Ipv4Addr::from(at), 32 - size.trailing_zeros());
        row(&mut s, net, &mut rng);
        at += size * if rng.random_range(0..4) == 0 { 2 } else { 1 };
    }
    std::fs::write(v4, &s).unwrap();
    let mut s = String::from(header);
    let mut at6 = V6_START;
    for _ in 0..rows / 4 {
        let size = 1u128 << rng.random_range(64..=80);
        at6 = at6.next_multiple_of(size);
        let net = format!("{}/{}", Ipv6Addr::from(at6), 128 - size.trailing_zeros());
        row(&mut s, net, &mut rng);
        at6 += size * if rng.random_range(0..4) == 0 { 2 } else { 1 };
    }
    std::fs::write(v6, &s).unwrap();
    (at, at6)
}
