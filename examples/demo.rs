//! The demo: a small simulated web service writing everything tracing-redis keeps, under the
//! namespace `demo` so it never mixes with a real application's keys on a shared server.
//!
//! Requests are handled by `#[instrument]`ed functions with random latency (span timings →
//! statistics and the slowest contexts); some fail with warnings and errors (recent and common
//! logs); every request is counted per route and status (`count!`), and a few `metrics`
//! facade calls feed counters, histograms and gauges.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example demo   # DEMO_SECONDS=10 by default
//! tracing-redis --namespace demo tail
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
use tracing::{debug, error, info, instrument, warn};

/// Routes of the simulated service, with their typical latency in milliseconds.
const ROUTES: [(&str, u64); 4] = [
    ("GET /", 2),
    ("GET /users/{id}", 6),
    ("POST /orders", 15),
    ("GET /search", 25),
];

#[instrument(skip_all, fields(context = route))]
fn handle_request(route: &'static str, base_ms: u64, user: u64) -> u16 {
    let mut rng = rand::rng();
    let status = match route {
        "POST /orders" => place_order(user, &mut rng),
        "GET /search" => search(rng.random_range(1..5), &mut rng),
        _ => {
            query_db(base_ms / 2 + rng.random_range(0..=base_ms));
            200
        }
    };
    tracing_redis::count!(format!("requests;route={route};status={status}"));
    metrics::histogram!("demo.response_kb", "route" => route).record(rng.random_range(1.0..64.0));
    status
}

#[instrument(skip(rng))]
fn place_order(user: u64, rng: &mut impl Rng) -> u16 {
    query_db(rng.random_range(5..20));
    match rng.random_range(0..100) {
        0..=4 => {
            error!(user, "order failed: payment declined for user {user}");
            402
        }
        5..=14 => {
            warn!(
                user,
                "payment provider slow, retried after {} ms",
                rng.random_range(100..300)
            );
            201
        }
        _ => {
            info!(user, "order placed");
            201
        }
    }
}

#[instrument(skip(rng))]
fn search(terms: u32, rng: &mut impl Rng) -> u16 {
    for _ in 0..terms {
        query_db(rng.random_range(3..12));
    }
    if rng.random_range(0..100) < 8 {
        warn!(
            terms,
            "search index stale: {} s behind",
            rng.random_range(30..90)
        );
    }
    if rng.random_range(0..200) == 0 {
        error!("search backend timed out after 500 ms");
        return 504;
    }
    200
}

#[instrument]
fn query_db(ms: u64) {
    debug!(ms, "query");
    thread::sleep(Duration::from_millis(ms));
}

fn main() {
    let seconds: u64 = std::env::var("DEMO_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    // $REDIS_URL, else redis://127.0.0.1:6379/; keys under `demo:`; the log name "demo";
    // `metrics` macros feed Redis too.
    let guard = match tracing_redis::builder()
        .namespace("demo")
        .name("demo")
        .install_recorder(true)
        .try_init()
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::exit(1);
        }
    };
    info!(seconds, workers = 4, "demo service starting");

    let served = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let served = served.clone();
            thread::spawn(move || {
                let mut rng = rand::rng();
                while Instant::now() < deadline {
                    let (route, base_ms) = ROUTES[rng.random_range(0..ROUTES.len())];
                    let status = handle_request(route, base_ms, rng.random_range(1..500));
                    served.fetch_add(1, Ordering::Relaxed);
                    metrics::gauge!("demo.in_flight", "worker" => worker.to_string())
                        .set(f64::from(rng.random_range(0..8u32)));
                    if status >= 500 {
                        tracing_redis::count!("errors");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let served = served.load(Ordering::Relaxed);
    info!(served, "demo service stopping");

    let report = guard.shutdown();
    eprintln!(
        "demo: {served} requests in {seconds} s; records written: {}, dropped: {}",
        report.written,
        report.dropped.total()
    );
    if !report.is_complete() {
        eprintln!(
            "demo: not everything reached Redis: {}",
            report.last_error.unwrap_or_default()
        );
        std::process::exit(1);
    }
}
