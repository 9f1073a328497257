//! The `metrics` facade: counters, histograms and gauges with labels reach Redis, through a
//! local recorder in-process and through `install_recorder(true)` in a subprocess.

use std::time::Duration;

use metrics::{counter, gauge, histogram};
use tracing_redis::count;
use tracing_redis::store::{ManualClock, Store};

use crate::counters_util::{buckets, total};
use crate::pipeline_lifecycle::{CHILD, run_child};
use crate::pipeline_util::{WAIT, builder};
use crate::store_counters::{DAY, t};
use crate::support::RedisServer;

#[test]
fn a_metrics_user_sees_counters_histograms_and_gauges_with_labels() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (recorder, guard) = builder(&server)
        .clock(clock.clone())
        .flush_interval(Duration::from_secs(3600))
        .build_recorder()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        counter!("http.requests", "method" => "GET", "code" => "200").increment(3);
        let kept = counter!("http.requests", "code" => "200", "method" => "GET");
        kept.increment(2);
        counter!("http.requests", "method" => "POST", "code" => "500").increment(1);
        histogram!("latency", "route" => "/a").record(0.5);
        histogram!("latency", "route" => "/a").record(1.5);
        gauge!("queue.depth").set(10.0);
        gauge!("queue.depth").increment(5.0);
        gauge!("queue.depth").decrement(3.0);
        // Totals: 10, then 15 (+5), then 4 (a restart of the source: +4).
        counter!("cpu.ticks").absolute(10);
        counter!("cpu.ticks").absolute(15);
        counter!("cpu.ticks").absolute(15);
        counter!("cpu.ticks").absolute(4);
        clock.advance(Duration::from_secs(1));
        counter!("http.requests", "method" => "GET", "code" => "200").increment(1);
    });
    let report = guard.flush(WAIT);
    assert_eq!(report.dropped.total(), 0, "{report:?}");

    assert_eq!(total(&server, "http.requests;code=200;method=GET"), 6);
    assert_eq!(
        buckets(&server, "http.requests;code=200;method=GET", 1),
        [(DAY as i64, 5), (DAY as i64 + 1, 1)].into()
    );
    assert_eq!(total(&server, "http.requests;code=500;method=POST"), 1);
    assert_eq!(total(&server, "cpu.ticks"), 19);

    let store = Store::new();
    let mut con = server.connection();
    let latency = store
        .stats(&mut con, "latency;route=/a", "Histogram")
        .unwrap()
        .unwrap();
    assert_eq!((latency.count, latency.sum), (2, 2.0));
    assert_eq!((latency.min, latency.max), (0.5, 1.5));
    assert_eq!(
        store.slowest(&mut con, "Histogram", 10).unwrap(),
        [("latency;route=/a".to_owned(), 1.0)]
    );
    let depth = store
        .stats(&mut con, "queue.depth", "Gauge")
        .unwrap()
        .unwrap();
    assert_eq!((depth.count, depth.sum), (3, 10.0 + 15.0 + 12.0));
    assert_eq!((depth.min, depth.max), (10.0, 15.0));
    assert!(
        store.slowest(&mut con, "Gauge", 10).unwrap().is_empty(),
        "gauges have no slowest list"
    );
}

#[test]
fn the_recorder_of_a_layer_shares_its_pipeline_and_drops_beyond_capacity() {
    let server = RedisServer::start();
    let clock = ManualClock::new(t(DAY));
    let (layer, guard) = builder(&server)
        .clock(clock)
        .flush_interval(Duration::from_secs(3600))
        .counter_capacity(1)
        .build()
        .unwrap();
    let recorder = layer.recorder();
    metrics::with_local_recorder(&recorder, || {
        gauge!("one").set(1.0);
        gauge!("two").set(2.0); // a second gauge to remember: refused
        counter!("c").absolute(3);
        counter!("d").absolute(3); // a second total to remember: refused
    });
    let report = layer.status().get();
    assert_eq!(report.dropped.counters_full, 2, "{report:?}");
    let report = guard.flush(WAIT);
    assert_eq!(report.written, 2, "the gauge sample and the counter");
    assert_eq!(total(&server, "c"), 3);
}

#[test]
#[ignore = "run in a subprocess by try_init_installs_the_recorder_on_request"]
fn install_recorder_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let guard = tracing_redis::builder()
        .name("metered")
        .clock(ManualClock::new(t(DAY)))
        .install_recorder(true)
        .try_init()
        .unwrap();
    counter!("global.metrics", "via" => "metrics").increment(2);
    count!("global.macro");
    let report = guard.flush(WAIT);
    assert_eq!((report.written, report.dropped.total()), (2, 0));
    let (recorder, _second) = tracing_redis::builder().build_recorder().unwrap();
    let err = recorder.install().unwrap_err();
    assert_eq!(err.kind(), tracing_redis::ErrorKind::AlreadyInstalled);
}

#[test]
fn try_init_installs_the_recorder_on_request() {
    let server = RedisServer::start();
    run_child(
        "counters_metrics::install_recorder_child",
        &[("REDIS_URL", &server.url()), ("RUST_LOG", "error")],
    );
    assert_eq!(total(&server, "global.metrics;via=metrics"), 2);
    assert_eq!(total(&server, "global.macro"), 1);
}

#[test]
fn gauges_and_totals_stay_exact_across_threads() {
    const THREADS: u64 = 4;
    const STEPS: u64 = 250;
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::new(t(DAY)))
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let recorder = layer.recorder();
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    for step in 1..=STEPS {
                        gauge!("depth").increment(1.0);
                        counter!("ticks", "thread" => thread.to_string()).absolute(step);
                        counter!("shared.ticks").absolute(step);
                        counter!("hits").increment(1);
                    }
                });
            });
        }
    });
    let report = guard.flush(WAIT);
    assert_eq!(report.dropped.total(), 0, "{report:?}");

    // Every increment of the gauge took it one higher: its samples are 1, 2, …, n.
    let n = THREADS * STEPS;
    let depth = Store::new()
        .stats(&mut server.connection(), "depth", "Gauge")
        .unwrap()
        .unwrap();
    assert_eq!((depth.count, depth.sum), (n, (n * (n + 1) / 2) as f64));
    assert_eq!((depth.min, depth.max), (1.0, n as f64));
    for thread in 0..THREADS {
        assert_eq!(
            total(&server, &format!("ticks;thread={thread}")),
            STEPS as i64
        );
    }
    // Totals of several sources interleave: each drop counts as a restart, so the sum is at
    // least the last total and at most every total counted in full.
    let shared = total(&server, "shared.ticks");
    assert!(
        (STEPS as i64..=(THREADS * STEPS * (STEPS + 1) / 2) as i64).contains(&shared),
        "{shared}"
    );
    assert_eq!(total(&server, "hits"), n as i64);
}

#[test]
fn keys_past_the_handle_cache_still_count_but_remember_nothing() {
    // The recorder keeps the handles of 1,024 keys at least, here also at most.
    const KEPT: usize = 1_024;
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .clock(ManualClock::new(t(DAY)))
        .flush_interval(Duration::from_secs(3600))
        .counter_capacity(KEPT)
        .build()
        .unwrap();
    let recorder = layer.recorder();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..KEPT {
            histogram!("h", "i" => i.to_string()).record(1.0);
        }
        counter!("late").increment(2);
        counter!("late").increment(3);
        histogram!("late.histogram").record(2.0);
        gauge!("late.gauge").set(1.0); // nowhere to remember it: dropped
        counter!("late.total").absolute(5); // the same
        gauge!("h", "i" => "7").set(3.0); // a kept key remembers its gauge
        gauge!("h", "i" => "7").increment(1.0);
    });
    assert!(
        format!("{recorder:?}").contains(&format!("cached_keys: {KEPT}")),
        "{recorder:?}"
    );
    let report = guard.flush(WAIT);
    assert_eq!(report.dropped.counters_full, 2, "{report:?}");
    assert_eq!(report.dropped.total(), 2, "{report:?}");
    assert_eq!(total(&server, "late"), 5);
    assert_eq!(total(&server, "late.total"), 0);
    let store = Store::new();
    let mut con = server.connection();
    let late = store
        .stats(&mut con, "late.histogram", "Histogram")
        .unwrap();
    assert_eq!(late.map(|s| s.count), Some(1));
    assert!(
        store
            .stats(&mut con, "late.gauge", "Gauge")
            .unwrap()
            .is_none()
    );
    let gauge = store.stats(&mut con, "h;i=7", "Gauge").unwrap().unwrap();
    assert_eq!((gauge.count, gauge.min, gauge.max), (2, 3.0, 4.0));
}
