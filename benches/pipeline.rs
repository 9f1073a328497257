//! Pipeline benchmarks. Each figure is a ratio against a baseline measured in the same run,
//! because one Redis round trip costs very different times depending on where the client
//! lands on a shared machine.
//!
//! 1. `caller_cost_vs_appender_{1,2}t`: the time one `info!("user {} logged in", i)` takes
//!    on the caller's thread through this layer, over the same through
//!    `tracing_subscriber::fmt` writing to `tracing_appender::non_blocking(io::sink())`.
//! 2. `delivered_vs_redis_benchmark`: warning events, each one of 1,000 distinct messages
//!    chosen uniformly at random, delivered
//!    per second in blocking mode (the clock stops when Redis has acknowledged all N, and the
//!    common-log scores are then checked to sum to N; a run with a drop is void), over
//!    `redis-benchmark -P 64 -t lpush` with the same payload size on the same server.
//! 3. `delivered_vs_book`: the same rate over one round trip per event (LPUSH + LTRIM +
//!    ZINCRBY in one MULTI/EXEC: fewer round trips than the book's WATCH loop needs).
//!
//! Uses the server on `$BENCH_REDIS_PORT` (see `scripts/bench.sh`), else starts its own.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use support::bench::{Target, median};
use tracing::{info, warn};
use tracing_redis::Overflow;
use tracing_redis::store::{LogEntry, Severity};
use tracing_subscriber::prelude::*;

const CALLER_EVENTS: u64 = 20_000;
const CALLER_ROUNDS: usize = 15;
const DELIVERED_EVENTS: usize = 300_000;
const DELIVERED_RUNS: usize = 5;
const BOOK_EVENTS: usize = 10_000;
const DISTINCT: usize = 1_000;

/// Nanoseconds per event on the callers' threads, averaged over `threads` threads.
fn caller_round(dispatch: &tracing::Dispatch, threads: usize) -> f64 {
    let barrier = Arc::new(Barrier::new(threads));
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                s.spawn(move || {
                    tracing::dispatcher::with_default(dispatch, || {
                        barrier.wait();
                        let start = Instant::now();
                        for i in 0..CALLER_EVENTS {
                            info!("user {} logged in", i);
                        }
                        start.elapsed()
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total.as_nanos() as f64 / (CALLER_EVENTS as f64 * threads as f64)
}

/// (ours, baseline) in nanoseconds per event.
fn caller_cost(target: &Target, threads: usize) -> (f64, f64) {
    let (layer, guard) = tracing_redis::builder()
        .url(target.url())
        .name("bench")
        .namespace("caller")
        .build()
        .unwrap();
    let ours = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let (writer, _appender_guard) = tracing_appender::non_blocking(std::io::sink());
    let errors = writer.error_counter();
    let baseline = tracing::Dispatch::new(
        tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_writer(writer)),
    );
    caller_round(&ours, threads);
    caller_round(&baseline, threads);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..CALLER_ROUNDS {
        a.push(caller_round(&ours, threads));
        let report = guard.flush(Duration::from_secs(60));
        assert!(report.is_complete(), "{report:?}");
        b.push(caller_round(&baseline, threads));
        // Let the appender's worker drain its channel (outside the measurement).
        std::thread::sleep(Duration::from_millis(30));
    }
    let dropped = guard.status().dropped().total();
    assert_eq!(
        dropped, 0,
        "our queue dropped records: the figure would flatter us"
    );
    assert_eq!(errors.dropped_lines(), 0, "the appender dropped lines");
    (median(a), median(b))
}

fn messages() -> Vec<String> {
    // Letters, not digits: the common log collapses digit runs, and these must stay distinct.
    (0..DISTINCT)
        .map(|k| {
            let w: String = [k / 676, (k / 26) % 26, k % 26]
                .iter()
                .map(|d| (b'a' + *d as u8) as char)
                .collect();
            format!("cache miss for key {w} on the primary shard")
        })
        .collect()
}

/// Uniformly chosen message indices (xorshift64*: deterministic, cheap, no dependency).
struct Pick(u64);

impl Pick {
    fn new(seed: u64) -> Self {
        Pick(0x9E37_79B9_7F4A_7C15 ^ (seed + 1))
    }

    fn next(&mut self) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % DISTINCT
    }
}

fn zsum(con: &mut redis::Connection, key: &str) -> f64 {
    let v: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(con)
        .unwrap();
    v.iter().map(|(_, s)| s).sum()
}

/// Warning events delivered per second, blocking mode.
fn delivered_rate(
    target: &Target,
    messages: &Arc<Vec<String>>,
    run: usize,
    batch: usize,
) -> Option<f64> {
    let ns = format!("deliver{run}");
    let (layer, guard) = tracing_redis::builder()
        .url(target.url())
        .name("bench")
        .namespace(&ns)
        .overflow(Overflow::Block(Duration::from_secs(60)))
        .batch_size(batch)
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let status = guard.status();
    let msgs = Arc::clone(messages);
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            let mut pick = Pick::new(run as u64);
            for _ in 0..DELIVERED_EVENTS {
                warn!("{}", msgs[pick.next()]);
            }
        });
    });
    while status.get().written + status.dropped().total() < DELIVERED_EVENTS as u64 {
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    let sum = zsum(
        &mut target.connection(),
        &format!("{ns}:common:{{bench:warning}}"),
    );
    if status.dropped().total() > 0 || sum != DELIVERED_EVENTS as f64 {
        eprintln!(
            "run {run} void: {:?}, common scores sum to {sum}",
            status.get()
        );
        return None;
    }
    Some(DELIVERED_EVENTS as f64 / elapsed.as_secs_f64())
}

/// `redis-benchmark -P 64 -t lpush` requests per second with `size`-byte values.
fn lpush_ceiling(target: &Target, size: usize) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", &target.host, "-p", &target.port.to_string()])
        .args([
            "-P",
            "64",
            "-t",
            "lpush",
            "-n",
            "200000",
            "-d",
            &size.to_string(),
        ])
        .arg("--csv")
        .output()
        .expect("redis-benchmark on the PATH (it comes with redis-server)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find(|l| l.starts_with("\"LPUSH"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("cannot read redis-benchmark output:\n{text}"));
    redis::cmd("DEL")
        .arg("mylist")
        .exec(&mut target.connection())
        .unwrap();
    rps
}

/// Events per second with one round trip per event.
fn book_rate(target: &Target, messages: &[String]) -> f64 {
    let mut con = target.connection();
    let mut pick = Pick::new(0);
    let start = Instant::now();
    for _ in 0..BOOK_EVENTS {
        let msg = &messages[pick.next()];
        let entry = LogEntry::new(SystemTime::now(), Severity::Warning, "pipeline", msg);
        redis::pipe()
            .atomic()
            .cmd("LPUSH")
            .arg("book:recent:bench:warning")
            .arg(entry.to_json())
            .ignore()
            .cmd("LTRIM")
            .arg("book:recent:bench:warning")
            .arg(0)
            .arg(99)
            .ignore()
            .cmd("ZINCRBY")
            .arg("book:common:{bench:warning}")
            .arg(1)
            .arg(msg)
            .ignore()
            .exec(&mut con)
            .unwrap();
    }
    BOOK_EVENTS as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let target = Target::get();
    redis::cmd("FLUSHALL")
        .exec(&mut target.connection())
        .unwrap();

    let (ours1, base1) = caller_cost(&target, 1);
    println!(
        "caller cost, 1 thread: {ours1:.0} ns/event vs {base1:.0} ns/event (fmt + non_blocking)"
    );
    let (ours2, base2) = caller_cost(&target, 2);
    println!(
        "caller cost, 2 threads: {ours2:.0} ns/event vs {base2:.0} ns/event (fmt + non_blocking)"
    );

    // Interleaved, so that the three see the same machine.
    let messages = Arc::new(messages());
    let payload = LogEntry::new(
        SystemTime::now(),
        Severity::Warning,
        "pipeline",
        &messages[0],
    )
    .to_json()
    .len();
    let (mut rates, mut ceilings, mut books) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..DELIVERED_RUNS {
        rates.extend(delivered_rate(
            &target,
            &messages,
            run,
            tracing_redis::DEFAULT_BATCH_SIZE,
        ));
        ceilings.push(lpush_ceiling(&target, payload));
        books.push(book_rate(&target, &messages));
    }
    assert!(!rates.is_empty(), "every delivery run was void");
    let (delivered, ceiling, book) = (median(rates), median(ceilings), median(books));
    println!(
        "delivered: {delivered:.0} events/s; redis-benchmark -P 64 lpush ({payload} B): {ceiling:.0}/s; one round trip per event: {book:.0} events/s"
    );
    // Not a figure: how much the batch size matters when 1,000 messages share each flush.
    let bigger: Vec<f64> = (0..3)
        .filter_map(|run| delivered_rate(&target, &messages, DELIVERED_RUNS + run, 4_096))
        .collect();
    if !bigger.is_empty() {
        let bigger = median(bigger);
        println!(
            "with batch_size(4096): {bigger:.0} events/s ({:.2}x the lpush ceiling, {:.1}x one round trip per event)",
            bigger / ceiling,
            bigger / book
        );
    }

    println!("caller_cost_vs_appender_1t ratio={:.2}", ours1 / base1);
    println!("caller_cost_vs_appender_2t ratio={:.2}", ours2 / base2);
    println!(
        "delivered_vs_redis_benchmark ratio={:.2}",
        delivered / ceiling
    );
    println!("delivered_vs_book ratio={:.1}", delivered / book);
}
