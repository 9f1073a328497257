//! Local aggregation really coalesces: Redis's own command statistics show one HINCRBY per
//! (counter, precision, bucket) and one `known:` registration per counter per flush, however
//! many increments were made.

use std::time::Duration;

use tracing_redis::count;
use tracing_redis::store::{ManualClock, PRECISIONS};

use crate::counters_util::{command_calls, dispatch, total};
use crate::pipeline_util::WAIT;
use crate::store_counters::{DAY, t};
use crate::support::RedisServer;
use crate::support::bench::parse_commandstats;

const COUNTERS: usize = 10;
const INCREMENTS: usize = 100_000;

#[test]
fn one_flush_sends_one_hincrby_per_counter_precision_and_bucket() {
    let server = RedisServer::start();
    // Two seconds that share every bucket but the 1-second ones.
    let clock = ManualClock::new(t(DAY + 10));
    let (dispatch, guard) = dispatch(&server, &clock);
    let names: Vec<String> = (0..COUNTERS).map(|i| format!("c{i}")).collect();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut server.connection())
        .unwrap();
    // Two threads (so two shards of the tally) in each of the two seconds.
    for _second in 0..2 {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        for i in 0..INCREMENTS / 4 {
                            count!(names[i % COUNTERS]);
                        }
                    })
                });
            }
        });
        clock.advance(Duration::from_secs(1));
    }
    let report = guard.flush(WAIT);
    assert_eq!(report.dropped.total(), 0, "{report:?}");
    // Each shard's sums reach the batch as their own records (usually two per counter and
    // second here); the batch adds them up before writing. Each increment counts once.
    assert_eq!(report.written, INCREMENTS as u64, "{report:?}");

    let calls = command_calls(&server);
    let buckets_per_counter = 2 + (PRECISIONS.len() - 1);
    assert_eq!(
        calls.get("hincrby"),
        Some(&((COUNTERS * buckets_per_counter) as u64)),
        "{calls:?}"
    );
    assert_eq!(calls.get("zadd"), Some(&(COUNTERS as u64)), "{calls:?}");
    assert_eq!(calls.get("exec"), Some(&1), "one flush: {calls:?}");
    for name in &names {
        assert_eq!(total(&server, name), (INCREMENTS / COUNTERS) as i64);
    }
}

#[test]
fn commandstats_lines_are_read() {
    let info = "# Commandstats\r\ncmdstat_hincrby:calls=80,usec=120,usec_per_call=1.50,\
                rejected_calls=0,failed_calls=0\r\ncmdstat_exec:calls=1,usec=9\r\n";
    let calls = parse_commandstats(info);
    assert_eq!(calls["hincrby"], 80);
    assert_eq!(calls["exec"], 1);
    assert_eq!(calls.len(), 2);
}
