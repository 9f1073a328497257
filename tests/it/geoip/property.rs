//! For random ranges and random addresses, the Redis lookup agrees with an in-memory
//! reference (a sorted `Vec` and a binary search) on every address, IPv4 and IPv6. Ranges
//! crowd small regions (and the ends of each space) so that adjacency, gaps and overlaps
//! are common.

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::{Geo, g2_blocks, g2_locations, legacy_blocks, legacy_locations};

const CASES: u32 = 64;
const CITIES: [&str; 4] = ["1", "2", "3", "4"];

/// The reference: rows in file order → kept ranges, sorted (a row overlapping one kept
/// before it, by start then file order, is dropped), and a binary search.
struct Reference<T> {
    kept: Vec<(T, T, usize)>,
    dropped: usize,
}

impl<T: Copy + Ord> Reference<T> {
    fn new(rows: &[(T, T, usize)]) -> Self {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (rows[i].0, i));
        let mut kept: Vec<(T, T, usize)> = Vec::new();
        for i in order {
            match kept.last() {
                Some(&(_, end, _)) if rows[i].0 <= end => {}
                _ => kept.push(rows[i]),
            }
        }
        Reference {
            dropped: rows.len() - kept.len(),
            kept,
        }
    }

    fn find(&self, ip: T) -> Option<usize> {
        let after = self.kept.partition_point(|&(start, _, _)| start <= ip);
        let &(_, end, city) = self.kept.get(after.checked_sub(1)?)?;
        (ip <= end).then_some(city)
    }

    /// Every start and end of a row, and the addresses next to them.
    fn edges(
        rows: &[(T, T, usize)],
        pred: impl Fn(T) -> Option<T>,
        succ: impl Fn(T) -> Option<T>,
    ) -> Vec<T> {
        rows.iter()
            .flat_map(|&(s, e, _)| [pred(s), Some(s), Some(e), succ(e)])
            .flatten()
            .collect()
    }
}

fn locations() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    CITIES.iter().map(|id| (*id, "DE", "", "X")).collect()
}

/// Checks every address of `probes` against the reference, in one batch.
fn check<T: Copy + Ord + std::fmt::Debug>(
    geo: &mut Geo,
    reference: &Reference<T>,
    probes: &[T],
    text: impl Fn(T) -> String,
) -> Result<(), TestCaseError> {
    let texts: Vec<String> = probes.iter().map(|&p| text(p)).collect();
    let got = geo.store.find_cities_by_ip(&mut geo.con, &texts).unwrap();
    for ((&ip, t), city) in probes.iter().zip(&texts).zip(got) {
        let want = reference.find(ip).map(|c| CITIES[c]);
        prop_assert_eq!(city.as_ref().map(|c| c.id.as_str()), want, "{}", t);
    }
    Ok(())
}

/// A start crowded near 0, near the end of the space, or in a small window.
fn v4_start() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..300,
        (u32::MAX - 300)..=u32::MAX,
        0x0a00_0000u32..0x0a00_0200,
        any::<u32>()
    ]
}

#[test]
fn ipv4_ranges_agree_with_a_sorted_vec_reference() {
    let geo = RefCell::new(Geo::new());
    let rows = prop::collection::vec((v4_start(), 0u32..40, 0..CITIES.len()), 0..30);
    let extra = prop::collection::vec(v4_start(), 0..30);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(rows, extra), |(rows, extra)| {
            let geo = &mut *geo.borrow_mut();
            redis::cmd("FLUSHALL").exec(&mut geo.con).unwrap();
            let rows: Vec<(u32, u32, usize)> = rows
                .into_iter()
                .map(|(s, len, c)| (s, s.saturating_add(len), c))
                .collect();
            let file: Vec<(u32, u32, &str)> =
                rows.iter().map(|&(s, e, c)| (s, e, CITIES[c])).collect();
            let reference = Reference::new(&rows);
            let mut probes = Reference::edges(&rows, |a| a.checked_sub(1), |a| a.checked_add(1));
            probes.extend(extra);
            probes.extend([0, u32::MAX]);
            match geo.try_import(legacy_locations(&locations()), &[&legacy_blocks(&file)]) {
                Ok(report) => {
                    prop_assert_eq!(report.ipv4_ranges as usize, reference.kept.len());
                    prop_assert_eq!(report.bad_rows as usize, reference.dropped);
                }
                Err(e) => prop_assert!(rows.is_empty() && e.is_malformed(), "{}", e),
            }
            check(geo, &reference, &probes, |a| Ipv4Addr::from(a).to_string())
        })
        .unwrap();
}

/// A network base crowded near `::`, near the end of the space, or inside `2001:db8::/96`.
fn v6_base() -> impl Strategy<Value = u128> {
    let doc = 0x2001_0db8u128 << 96;
    prop_oneof![
        0u128..2048,
        (u128::MAX - 2048)..=u128::MAX,
        (doc..doc + 4096),
        any::<u128>()
    ]
}

#[test]
fn ipv6_networks_agree_with_a_sorted_vec_reference() {
    let geo = RefCell::new(Geo::new());
    let rows = prop::collection::vec((v6_base(), 118u8..=128, 0..CITIES.len()), 0..30);
    let extra = prop::collection::vec(v6_base(), 0..30);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(rows, extra), |(rows, extra)| {
            let geo = &mut *geo.borrow_mut();
            redis::cmd("FLUSHALL").exec(&mut geo.con).unwrap();
            let rows: Vec<(u128, u128, usize)> = rows
                .into_iter()
                .map(|(base, prefix, c)| {
                    let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                    (base & !host, base | host, c)
                })
                .collect();
            let nets: Vec<String> = rows
                .iter()
                .map(|&(s, e, _)| {
                    format!(
                        "{}/{}",
                        Ipv6Addr::from(s),
                        128 - (e - s + 1).trailing_zeros()
                    )
                })
                .collect();
            let file: Vec<(&str, &str)> = nets
                .iter()
                .zip(&rows)
                .map(|(n, &(_, _, c))| (n.as_str(), CITIES[c]))
                .collect();
            let reference = Reference::new(&rows);
            let mut probes = Reference::edges(&rows, |a| a.checked_sub(1), |a| a.checked_add(1));
            probes.extend(extra);
            probes.extend([0, u128::MAX]);
            match geo.try_import(g2_locations(&locations()), &[&g2_blocks(&file)]) {
                Ok(report) => {
                    prop_assert_eq!(report.ipv6_ranges as usize, reference.kept.len());
                    prop_assert_eq!(report.bad_rows as usize, reference.dropped);
                }
                Err(e) => prop_assert!(rows.is_empty() && e.is_malformed(), "{}", e),
            }
            check(geo, &reference, &probes, |a| Ipv6Addr::from(a).to_string())
        })
        .unwrap();
}
