//! Every store technique, called directly: recent and common logs, counters with one cleaner
//! pass, statistics, slowest contexts and the `access_time` guard. Prints what it wrote.
//!
//! Uses `$REDIS_URL` (default `redis://127.0.0.1:6379/`) and writes only under the namespace
//! `example`, which it clears first so every run prints the same counts.
//!
//! ```sh
//! cargo run --example store
//! ```

use std::time::Duration;

use tracing_redis::store::{Cleaner, Severity, Store, Summary};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const NAMESPACE: &str = "example";

fn main() -> Result<()> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let client = redis::Client::open(url.as_str())?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let store = Store::new().with_namespace(NAMESPACE)?;
    let cleared = clear_namespace(&mut con)?;
    println!("Redis at {url}, namespace `{NAMESPACE}` ({cleared} old keys cleared)\n");

    // Recent logs: a capped list per name and severity, newest first.
    store.log_recent(&mut con, "web", Severity::Info, "server started")?;
    store.log_recent(&mut con, "web", Severity::Info, "GET / 200")?;
    store.log_recent(&mut con, "web", Severity::Error, "database unreachable")?;
    println!(
        "recent log `{}`:",
        store.keys().recent("web", Severity::Info)?
    );
    for entry in store.recent(&mut con, "web", Severity::Info, 10)? {
        println!("  {}  {}", entry.ts, entry.message);
    }

    // Common logs: occurrences of each message in the current UTC hour.
    for (message, times) in [("disk 91% full", 3), ("slow query", 5), ("retrying", 1)] {
        for _ in 0..times {
            store.log_common(&mut con, "web", Severity::Warning, message)?;
        }
    }
    let common = store.common(&mut con, "web", Severity::Warning, 2)?;
    println!(
        "\ncommon log `{}`, top 2 of the hour starting {}:",
        store.keys().common("web", Severity::Warning)?,
        common.current.start.as_deref().unwrap_or("-")
    );
    for (message, n) in &common.current.messages {
        println!("  {n:>3}  {message}");
    }
    println!(
        "  previous set ({}): {} messages",
        common.last.start.as_deref().unwrap_or("none yet"),
        common.last.messages.len()
    );

    // Counters: every increment lands in a bucket at each of the 7 precisions.
    for _ in 0..4 {
        store.incr_counter(&mut con, "requests", 1)?;
    }
    store.incr_counter(&mut con, "errors", 2)?;
    println!("\ncounters:");
    for precision in [1, 60, 86_400] {
        println!(
            "  requests @ {precision:>5} s: {:?}",
            store.counter(&mut con, "requests", precision)?
        );
    }
    println!(
        "  known: {} counters (name × precision)",
        store.known_counters(&mut con)?.len()
    );
    let report = Cleaner::new(store.clone()).pass(&mut con, 0)?;
    println!(
        "  one cleaner pass: visited {}, deleted {} old buckets, forgot {} idle counters",
        report.visited, report.buckets_deleted, report.forgotten
    );

    // Statistics: count, sum, sum of squares, min and max per context and type, this hour.
    for v in [0.8, 1.1, 0.95] {
        store.update_stats(&mut con, "disk", "Gauge", v)?;
    }
    let mut batch = Summary::one(1.2)?;
    batch.add(0.7)?;
    let stats = store.update_stats_batch(&mut con, "disk", "Gauge", &batch)?;
    println!(
        "\nstatistics `{}`: count {}, mean {:.3}, stddev {:.3}, min {}, max {}",
        store.keys().stats("disk", "Gauge")?,
        stats.count,
        stats.mean(),
        stats.stddev(),
        stats.min,
        stats.max
    );

    // Slowest: each timing also sets the context's mean in `slowest:<type>`.
    for (context, seconds) in [
        ("GET /", 0.012),
        ("GET /search", 0.250),
        ("POST /login", 0.090),
    ] {
        store.record_timing(&mut con, context, "AccessTime", seconds)?;
    }
    {
        // The guard records the time until it is dropped, also on an early return or a panic.
        let _timer = store.access_time(&mut con, "GET /report");
        std::thread::sleep(Duration::from_millis(30));
    }
    println!("\nslowest `{}`:", store.keys().slowest("AccessTime")?);
    for (context, mean) in store.slowest(&mut con, "AccessTime", 3)? {
        println!("  {:>7.1} ms  {context}", mean * 1000.0);
    }
    Ok(())
}

/// Deletes the keys of the example's namespace left by an earlier run.
fn clear_namespace(con: &mut redis::Connection) -> Result<usize> {
    let mut cursor = 0u64;
    let mut cleared = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{NAMESPACE}:*"))
            .arg("COUNT")
            .arg(500)
            .query(con)?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).exec(con)?;
            cleared += keys.len();
        }
        if next == 0 {
            return Ok(cleared);
        }
        cursor = next;
    }
}
