//! Counter benchmarks. Each figure is a ratio against a baseline measured in the same run.
//!
//! 1. `count_vs_metrics_debugging_{1,2}t`: the time one `count!("bench.hits")` takes on the
//!    caller's thread (this crate's layer installed as the global subscriber), over one
//!    `metrics::counter!("bench.hits").increment(1)` into `metrics-util`'s in-memory
//!    `DebuggingRecorder` (installed as the global recorder). Target ≤ 1.0.
//! 2. `commands_vs_book`: Redis commands the book's `update_counter` sends for 1,000,000
//!    increments to 10 counters (14 per increment: a ZADD to `known:` and an HINCRBY at each
//!    of the 7 precisions), over the commands this crate sends for the same increments made
//!    within one second at the default flush interval, counted by Redis itself
//!    (`INFO commandstats` after `CONFIG RESETSTAT`). Target ≥ 10,000.
//!
//! Uses the server on `$BENCH_REDIS_PORT` (see `scripts/bench.sh`), else starts its own.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::bench::{Target, command_calls, median};
use tracing_redis::count;
use tracing_redis::store::Store;
use tracing_subscriber::prelude::*;

const CALLER_INCREMENTS: u64 = 200_000;
const CALLER_ROUNDS: usize = 15;
const BURST: usize = 1_000_000;
const BURST_COUNTERS: [&str; 10] = [
    "bench.c0", "bench.c1", "bench.c2", "bench.c3", "bench.c4", "bench.c5", "bench.c6", "bench.c7",
    "bench.c8", "bench.c9",
];
/// Commands the book's `update_counter` sends per increment.
const BOOK_COMMANDS: u64 = 14;
const WAIT: Duration = Duration::from_secs(60);

/// Nanoseconds per increment on the callers' threads, averaged over `threads` threads; with
/// `local`, each thread runs its increments under `metrics::with_local_recorder(local, …)`.
fn round(threads: usize, local: Option<&(dyn metrics::Recorder + Sync)>, increment: fn()) -> f64 {
    let barrier = Arc::new(Barrier::new(threads));
    let run = || {
        let start = Instant::now();
        for _ in 0..CALLER_INCREMENTS {
            increment();
        }
        start.elapsed()
    };
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                s.spawn(move || {
                    barrier.wait();
                    match local {
                        Some(recorder) => metrics::with_local_recorder(recorder, run),
                        None => run(),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total.as_nanos() as f64 / (CALLER_INCREMENTS as f64 * threads as f64)
}

fn ours() {
    count!("bench.hits");
}

fn baseline() {
    metrics::counter!("bench.hits").increment(1);
}

fn metrics_plain() {
    metrics::counter!("bench.metrics").increment(1);
}

fn metrics_labelled() {
    metrics::counter!("bench.metrics", "route" => "/a", "code" => "200").increment(1);
}

/// Medians of alternating rounds of `a` and `b`, in nanoseconds per increment.
fn compare(
    threads: usize,
    (local_a, a): (Option<&(dyn metrics::Recorder + Sync)>, fn()),
    (local_b, b): (Option<&(dyn metrics::Recorder + Sync)>, fn()),
    guard: &tracing_redis::Guard,
) -> (f64, f64) {
    round(threads, local_a, a);
    round(threads, local_b, b);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..CALLER_ROUNDS {
        xs.push(round(threads, local_a, a));
        ys.push(round(threads, local_b, b));
    }
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    (median(xs), median(ys))
}

/// (ours, baseline) in nanoseconds per increment, medians of alternating rounds.
fn caller_cost(threads: usize, guard: &tracing_redis::Guard) -> (f64, f64) {
    compare(threads, (None, ours), (None, baseline), guard)
}

/// (commands sent, seconds the increments took) for one burst of increments.
fn burst(target: &Target, store: &Store, guard: &tracing_redis::Guard) -> (u64, f64) {
    let mut con = target.connection();
    // Start at the beginning of a second, so that the burst stays within one.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 1_000_000,
    ));
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut con)
        .unwrap();
    let start = Instant::now();
    for i in 0..BURST {
        count!(BURST_COUNTERS[i % BURST_COUNTERS.len()]);
    }
    let took = start.elapsed().as_secs_f64();
    let report = guard.flush(WAIT);
    assert!(report.is_complete(), "{report:?}");
    let calls = command_calls(&mut con);
    // Everything but this connection's own INFO and CONFIG.
    let sent: u64 = calls
        .iter()
        .filter(|(name, _)| !name.starts_with("info") && !name.starts_with("config"))
        .map(|(_, n)| n)
        .sum();
    let total: i64 = BURST_COUNTERS
        .iter()
        .map(|name| {
            store
                .counter(&mut con, name, 1)
                .unwrap()
                .iter()
                .map(|(_, c)| c)
                .sum::<i64>()
        })
        .sum();
    assert_eq!(total, BURST as i64, "every increment reached Redis");
    for name in BURST_COUNTERS {
        redis::cmd("DEL")
            .arg(store.keys().counter(1, name).unwrap())
            .exec(&mut con)
            .unwrap();
    }
    (sent, took)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let target = Target::get();
    let idle = median((0..CALLER_ROUNDS).map(|_| round(1, None, ours)).collect());
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let namespace = format!("counters-bench-{run}");
    let (layer, guard) = tracing_redis::builder()
        .url(target.url())
        .name("bench")
        .namespace(namespace.as_str())
        .build()
        .unwrap();
    let recorder = layer.recorder();
    tracing_subscriber::registry().with(layer).init();
    let debugging = DebuggingRecorder::new();
    let snapshotter = debugging.snapshotter();
    debugging.install().unwrap();
    let store = Store::new().with_namespace(&namespace).unwrap();

    println!("count! with nothing installed: {idle:.1} ns/increment");
    let (ours1, base1) = caller_cost(1, &guard);
    println!(
        "caller cost, 1 thread: {ours1:.1} ns/increment vs {base1:.1} ns (metrics + DebuggingRecorder)"
    );
    let (ours2, base2) = caller_cost(2, &guard);
    println!(
        "caller cost, 2 threads: {ours2:.1} ns/increment vs {base2:.1} ns (metrics + DebuggingRecorder)"
    );
    let rounds = (CALLER_ROUNDS as u64 + 1) * CALLER_INCREMENTS * 3;
    let theirs: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(_, _, _, v)| match v {
            DebugValue::Counter(n) => Some(n),
            _ => None,
        })
        .sum();
    assert_eq!(theirs, rounds, "the baseline counted every increment");
    let hits: i64 = store
        .counter(&mut target.connection(), "bench.hits", 86_400)
        .unwrap()
        .iter()
        .map(|(_, c)| c)
        .sum();
    assert_eq!(hits, rounds as i64, "every increment of ours reached Redis");
    assert_eq!(guard.status().dropped().total(), 0);

    // `metrics::counter!` through this crate's recorder and through a `DebuggingRecorder`,
    // both local to the measuring threads: what a `metrics` user pays per increment.
    let local_debugging = DebuggingRecorder::new();
    for (what, increment) in [
        ("", metrics_plain as fn()),
        (" with 2 labels", metrics_labelled),
    ] {
        for threads in [1, 2] {
            let (a, b) = compare(
                threads,
                (Some(&recorder), increment),
                (Some(&local_debugging), increment),
                &guard,
            );
            println!(
                "metrics::counter!{what}, {threads} thread(s): {a:.1} ns/increment through \
                 RedisRecorder vs {b:.1} ns through DebuggingRecorder (ratio {:.2})",
                a / b
            );
        }
    }
    for name in ["bench.metrics", "bench.metrics;code=200;route=/a"] {
        let n: i64 = store
            .counter(&mut target.connection(), name, 86_400)
            .unwrap()
            .iter()
            .map(|(_, c)| c)
            .sum();
        assert_eq!(
            n, rounds as i64,
            "every increment of `{name}` reached Redis"
        );
    }
    assert_eq!(guard.status().dropped().total(), 0);

    let mut commands = Vec::new();
    for _ in 0..3 {
        let (sent, took) = burst(&target, &store, &guard);
        println!(
            "{BURST} increments to {} counters in {:.0} ms: {sent} Redis commands (the book: {})",
            BURST_COUNTERS.len(),
            took * 1e3,
            BURST as u64 * BOOK_COMMANDS
        );
        commands.push(sent as f64);
    }
    let sent = median(commands);

    println!("count_vs_metrics_debugging_1t ratio={:.2}", ours1 / base1);
    println!("count_vs_metrics_debugging_2t ratio={:.2}", ours2 / base2);
    println!(
        "commands_vs_book ratio={:.0}",
        (BURST as u64 * BOOK_COMMANDS) as f64 / sent
    );
}
