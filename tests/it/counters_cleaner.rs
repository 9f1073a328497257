//! The cleaner started from the builder: it trims with the pipeline's URL, namespace and
//! clock, and the guard stops it promptly. (The cleaner's cutoff, pass skipping and
//! concurrency are tested in `store_cleaner`.)

use std::time::{Duration, Instant};

use tracing_redis::store::{Cleaner, ManualClock, Store};

use crate::counters_util::buckets;
use crate::pipeline_util::{WAIT, builder};
use crate::store_counters::{DAY, t};
use crate::support::{RedisServer, wait_until};

#[test]
fn the_builder_starts_a_cleaner_that_trims_and_stops_with_the_guard() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let store = Store::new()
        .with_namespace("ns")
        .unwrap()
        .with_clock(clock.clone());
    let mut con = server.connection();
    // At precision 1 the cleaner keeps buckets after now − 120 s.
    store
        .incr_counter_at(&mut con, "old", 1, t(DAY - 120))
        .unwrap();
    store
        .incr_counter_at(&mut con, "old", 1, t(DAY - 119))
        .unwrap();

    let (_layer, guard) = builder(&server)
        .namespace("ns")
        .clock(clock)
        .cleaner(true)
        .build()
        .unwrap();
    let key_store = Store::new().with_namespace("ns").unwrap();
    let trimmed = wait_until(WAIT, || {
        key_store
            .counter(&mut server.connection(), "old", 1)
            .unwrap()
            .len()
            == 1
    });
    assert!(trimmed, "the cleaner's first pass runs at once");
    assert_eq!(
        key_store.counter(&mut con, "old", 1).unwrap(),
        [(DAY as i64 - 119, 1)]
    );
    assert!(buckets(&server, "old", 1).is_empty(), "namespace respected");

    // The next pass is a minute away: stopping must not wait for it.
    let start = Instant::now();
    drop(guard);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let only_ours = wait_until(WAIT, || {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        list.lines().count() == 1
    });
    assert!(only_ours, "the cleaner's connection closes with its thread");
}

#[test]
fn stopping_ends_a_pass_between_counters() {
    let server = RedisServer::start();
    let mut con = server.connection();
    // Idle counters: each is forgotten when visited, so `known:` shows the pass's progress.
    const N: usize = 50_000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(5_000) {
        let mut zadd = redis::cmd("ZADD");
        zadd.arg("known:");
        for i in chunk {
            zadd.arg(0).arg(format!("1:idle{i}"));
        }
        zadd.exec(&mut con).unwrap();
    }
    let known = |con: &mut redis::Connection| -> usize {
        redis::cmd("ZCARD").arg("known:").query(con).unwrap()
    };
    let handle = Cleaner::new(Store::new()).spawn(server.client()).unwrap();
    assert!(wait_until(WAIT, || known(&mut con) < N), "the pass started");
    let start = Instant::now();
    handle.stop();
    let took = start.elapsed();
    let left = known(&mut con);
    eprintln!("cleaner stopped in {took:?} with {left} of {N} counters not visited");
    assert!(left > N / 2, "the stop waited for the pass: {left} left");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
