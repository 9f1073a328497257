//! The counter cleaner: the cutoff, pass skipping, forgetting idle counters, several
//! cleaners and writers at once, and loops that stop promptly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use redis::Connection;
use tracing_redis::store::{CleanReport, Cleaner, ManualClock, PRECISIONS, StopSignal, Store};

use crate::store_counters::{DAY, exists, hash, t};

use crate::support::{RedisServer, wait_until, zset};

/// Writes one count in the bucket at the cutoff and one in the next, at every precision.
fn buckets_around_cutoff(store: &Store, con: &mut Connection, now: u64) {
    for p in PRECISIONS {
        let cutoff = now - 120 * p;
        // Written straight to the hash so each precision gets exactly these two buckets.
        let key = store.keys().counter(p, "c").unwrap();
        for b in [cutoff, cutoff + p] {
            redis::cmd("HINCRBY")
                .arg(&key)
                .arg(b)
                .arg(1)
                .exec(con)
                .unwrap();
        }
        redis::cmd("ZADD")
            .arg(store.keys().known())
            .arg(0)
            .arg(format!("{p}:c"))
            .exec(con)
            .unwrap();
    }
}

#[test]
fn cleaner_deletes_the_bucket_at_the_cutoff_and_keeps_the_next() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    buckets_around_cutoff(&store, &mut con, now);

    let report = Cleaner::new(store.clone()).pass(&mut con, 0).unwrap();

    assert_eq!(report.visited, 7);
    assert_eq!(report.buckets_deleted, 7);
    assert_eq!(report.forgotten, 0);
    for p in PRECISIONS {
        let cutoff = (now - 120 * p) as i64;
        assert_eq!(
            hash(&mut con, &format!("count:{p}:c")),
            BTreeMap::from([(cutoff + p as i64, 1)]),
            "precision {p}"
        );
    }
    assert_eq!(zset(&mut con, "known:").len(), 7);
}

#[test]
fn passes_visit_a_precision_every_max_1_p_over_60_passes() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    let cleaner = Cleaner::new(store.clone());
    // pass → precisions it visits
    let cases: [(u64, &[u64]); 6] = [
        (1, &[1, 5, 60]),
        (5, &[1, 5, 60, 300]),
        (60, &[1, 5, 60, 300, 3600]),
        (300, &[1, 5, 60, 300, 3600, 18_000]),
        (1440, &[1, 5, 60, 300, 3600, 86_400]),
        (0, &PRECISIONS),
    ];
    for (pass, visited) in cases {
        redis::cmd("FLUSHALL").exec(&mut con).unwrap();
        buckets_around_cutoff(&store, &mut con, now);
        let report = cleaner.pass(&mut con, pass).unwrap();
        assert_eq!(report.visited, visited.len() as u64, "pass {pass}");
        assert_eq!(report.buckets_deleted, visited.len() as u64, "pass {pass}");
        for p in PRECISIONS {
            let left = hash(&mut con, &format!("count:{p}:c")).len();
            let want = if visited.contains(&p) { 1 } else { 2 };
            assert_eq!(left, want, "pass {pass}, precision {p}");
        }
    }
}

#[test]
fn a_counter_idle_for_120_p_leaves_known() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = ManualClock::new(t(DAY));
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(clock.clone());
    store.incr_counter(&mut con, "idle", 1).unwrap();
    let cleaner = Cleaner::new(store.clone());

    for p in PRECISIONS {
        let member = format!("{p}:idle");
        let in_known =
            |con: &mut Connection| zset(con, "ns:known:").iter().any(|(m, _)| *m == member);
        // One second short of 120·p: the bucket stays, and so does the counter.
        clock.set(t(DAY + 120 * p - 1));
        cleaner.pass(&mut con, 0).unwrap();
        assert!(in_known(&mut con), "precision {p} forgotten too early");
        assert_eq!(hash(&mut con, &format!("ns:count:{p}:idle")).len(), 1);
        clock.set(t(DAY + 120 * p));
        let report = cleaner.pass(&mut con, 0).unwrap();
        assert!(report.forgotten >= 1, "precision {p}: {report:?}");
        assert!(!in_known(&mut con), "precision {p} still known");
        assert!(!exists(&mut con, &format!("ns:count:{p}:idle")));
    }
    assert!(!exists(&mut con, "ns:known:"));
    assert!(store.known_counters(&mut con).unwrap().is_empty());
    // Nothing left: a pass is a no-op.
    assert_eq!(cleaner.pass(&mut con, 0).unwrap(), CleanReport::default());
}

#[test]
fn two_cleaners_and_writers_at_once_keep_counts_and_known_consistent() {
    const COUNTERS: usize = 90; // 630 members of known:, more than one page of the walk
    const WRITERS: usize = 2;
    const WRITES: usize = 600;
    let server = RedisServer::start();
    let now = DAY + 200 * 86_400;
    let clock = ManualClock::new(t(now));
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(clock.clone());
    let mut con = server.connection();
    // Old data everywhere, older than the cutoff at every precision.
    for i in 0..COUNTERS {
        store
            .incr_counter_at(&mut con, &format!("c{i}"), 1, t(now - 121 * 86_400))
            .unwrap();
    }

    let barrier = Arc::new(Barrier::new(WRITERS + 2));
    let mut threads = Vec::new();
    // Writers: recent counts into even counters only; odd ones stay idle and must go.
    let mut expected: BTreeMap<(u64, String), BTreeMap<i64, i64>> = BTreeMap::new();
    for w in 0..WRITERS {
        let mut plan = Vec::new();
        for k in 0..WRITES {
            let name = format!("c{}", (k * 7 + w * 3) % COUNTERS / 2 * 2);
            let at = now - (k as u64 * 13 + w as u64) % 100;
            plan.push((name.clone(), at));
            for p in PRECISIONS {
                *expected
                    .entry((p, name.clone()))
                    .or_default()
                    .entry((at / p * p) as i64)
                    .or_default() += 1;
            }
        }
        let (client, store, barrier) = (server.client(), store.clone(), barrier.clone());
        threads.push(std::thread::spawn(move || {
            let mut con = client.get_connection().unwrap();
            barrier.wait();
            for (name, at) in plan {
                store.incr_counter_at(&mut con, &name, 1, t(at)).unwrap();
            }
            CleanReport::default()
        }));
    }
    for _ in 0..2 {
        let (client, store, barrier) = (server.client(), store.clone(), barrier.clone());
        threads.push(std::thread::spawn(move || {
            let mut con = client.get_connection().unwrap();
            let cleaner = Cleaner::new(store);
            barrier.wait();
            let mut total = CleanReport::default();
            for _ in 0..3 {
                let r = cleaner.pass(&mut con, 0).unwrap();
                total.buckets_deleted += r.buckets_deleted;
                total.forgotten += r.forgotten;
            }
            total
        }));
    }
    let reports: Vec<CleanReport> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Each old bucket is deleted by exactly one cleaner.
    let deleted: u64 = reports.iter().map(|r| r.buckets_deleted).sum();
    assert_eq!(deleted, (COUNTERS * PRECISIONS.len()) as u64);
    // A last pass after the writers finished settles the counters they never touched.
    Cleaner::new(store.clone()).pass(&mut con, 0).unwrap();

    let members: BTreeSet<String> = zset(&mut con, "ns:known:")
        .into_iter()
        .map(|(m, score)| {
            assert_eq!(score, 0.0);
            m
        })
        .collect();
    let mut non_empty = BTreeSet::new();
    for i in 0..COUNTERS {
        for p in PRECISIONS {
            let name = format!("c{i}");
            let got = hash(&mut con, &format!("ns:count:{p}:{name}"));
            let want = expected.remove(&(p, name.clone())).unwrap_or_default();
            assert_eq!(got, want, "count:{p}:{name}");
            if !got.is_empty() {
                non_empty.insert(format!("{p}:{name}"));
            }
        }
    }
    assert!(expected.is_empty());
    assert!(!non_empty.is_empty());
    assert_eq!(
        members, non_empty,
        "known: lists exactly the non-empty counters"
    );
}

#[test]
fn the_spawned_cleaner_runs_at_once_and_stops_promptly() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    buckets_around_cutoff(&store, &mut con, now);

    let handle = Cleaner::new(store)
        .interval(Duration::from_secs(60))
        .spawn(server.client())
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || {
            hash(&mut con, "count:86400:c").len() == 1
        }),
        "the first pass runs without waiting an interval"
    );
    let started = Instant::now();
    handle.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn run_stops_promptly_and_reports_failed_passes() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    buckets_around_cutoff(&store, &mut con, now);
    // A counter key of the wrong type makes every pass fail; the loop goes on.
    plant_wrong_type_counter(&mut con, "60:bad");

    let stop = StopSignal::default();
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let thread = {
        let (stop, errors, client) = (stop.clone(), errors.clone(), server.client());
        std::thread::spawn(move || {
            let mut con = client.get_connection().unwrap();
            Cleaner::new(store)
                .interval(Duration::from_secs(60))
                .run(&mut con, &stop, |e| errors.lock().unwrap().push(e));
        })
    };
    assert!(wait_until(Duration::from_secs(10), || !errors
        .lock()
        .unwrap()
        .is_empty()));
    assert!(!stop.is_stopped());
    let started = Instant::now();
    stop.stop();
    thread.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(stop.is_stopped());
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "one pass in well under a minute");
    assert!(errors[0].is_wrong_type(), "{}", errors[0]);
    assert!(
        errors[0].to_string().contains("count:60:bad"),
        "{}",
        errors[0]
    );
}

#[test]
fn the_spawned_cleaner_reconnects_after_a_server_restart() {
    let mut server = RedisServer::start();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    let handle = Cleaner::new(store.clone())
        .interval(Duration::from_millis(20))
        .spawn(server.client())
        .unwrap();
    server.kill();
    assert!(wait_until(Duration::from_secs(10), || handle.errors().0 >= 2));
    let (_, last) = handle.errors();
    assert!(last.is_some_and(|m| !m.is_empty()));
    server.start_again();
    let mut con = server.connection();
    buckets_around_cutoff(&store, &mut con, now);
    assert!(
        wait_until(Duration::from_secs(10), || {
            hash(&mut con, "count:1:c").len() == 1
        }),
        "the cleaner works again once the server is back"
    );
    let started = Instant::now();
    drop(handle);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_key_of_another_type_does_not_stop_the_pass() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let now = DAY + 200 * 86_400;
    let store = Store::new().with_clock(ManualClock::new(t(now)));
    buckets_around_cutoff(&store, &mut con, now);
    // Sorts before every `<p>:c` member, so it is visited first.
    plant_wrong_type_counter(&mut con, "1:!bad");

    let err = Cleaner::new(store).pass(&mut con, 0).unwrap_err();

    assert!(err.is_wrong_type(), "{err}");
    assert!(err.to_string().contains("count:1:!bad"), "{err}");
    for p in PRECISIONS {
        assert_eq!(
            hash(&mut con, &format!("count:{p}:c")).len(),
            1,
            "precision {p}"
        );
    }
}

/// Registers `member` in `known:` while its counter key holds a string: every clean of it fails.
fn plant_wrong_type_counter(con: &mut Connection, member: &str) {
    redis::cmd("SET")
        .arg(format!("count:{member}"))
        .arg("x")
        .exec(con)
        .unwrap();
    redis::cmd("ZADD")
        .arg("known:")
        .arg(0)
        .arg(member)
        .exec(con)
        .unwrap();
}
