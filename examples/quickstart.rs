//! The quick start: `init()`, the ordinary `tracing` and `log` macros, `#[instrument]` on
//! sync and async functions, and the guard dropped at the end.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example quickstart
//! redis-cli lrange recent:quickstart:info 0 -1
//! redis-cli zrange 'common:{quickstart:warning}' 0 -1 withscores
//! redis-cli zrange 'stats:{handle_request:AccessTime}' 0 -1 withscores
//! redis-cli zrange slowest:AccessTime 0 -1 withscores
//! ```

use std::time::Duration;

use tracing::{debug, error, info, instrument, trace, warn};

#[instrument]
fn load_user(id: u64) -> String {
    debug!(id, "loading user (debug: below the default level)");
    std::thread::sleep(Duration::from_millis(2));
    format!("user-{id}")
}

#[instrument]
async fn handle_request(path: &'static str, user: u64) {
    let name = load_user(user);
    tokio::time::sleep(Duration::from_millis(5)).await;
    info!(path, %name, "request served");
}

fn main() {
    // Redis at $REDIS_URL, else redis://127.0.0.1:6379/; log name "quickstart" (the
    // executable's name). Records wait in the queue if Redis is not up yet.
    let guard = tracing_redis::init();

    trace!("not recorded: below the default level");
    info!(version = env!("CARGO_PKG_VERSION"), "starting");
    for free in [9, 7, 4] {
        warn!(free_gb = free, "disk almost full: {free} GB left");
    }
    error!(code = 502, upstream = "billing", "upstream failed");
    log::warn!("a `log` record, bridged with its own target");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        for user in 0..3 {
            handle_request("/users", user).await;
        }
    });

    let report = guard.flush(Duration::from_secs(5));
    eprintln!(
        "written: {}, dropped: {}, not yet written: {}{}",
        report.written,
        report.dropped.total(),
        report.failed,
        report
            .last_error
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default()
    );
    // Dropping the guard writes anything left and stops the worker.
    drop(guard);
}
