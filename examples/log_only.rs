//! For applications that use `log` alone: a `log::Log` backend, no `tracing` subscriber.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example log_only
//! redis-cli lrange recent:log_only:warning 0 -1
//! redis-cli zrange 'common:{log_only:warning}' 0 -1 withscores
//! ```

use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (logger, guard) = tracing_redis::builder().name("log_only").build_logger()?;
    // Sets the global logger and `log::set_max_level` (INFO unless `.level(…)` says otherwise).
    logger.install()?;

    log::debug!("not recorded: below the level");
    log::info!("service started");
    for attempt in 1..=3 {
        log::warn!("retrying connection to the payment provider (attempt {attempt})");
    }
    log::error!(target: "payments", "gave up after {} attempts", 3);

    // `log::logger().flush()` also waits for the queue, up to the shutdown timeout.
    let report = guard.flush(Duration::from_secs(5));
    eprintln!(
        "written: {}, dropped: {}, not yet written: {}",
        report.written,
        report.dropped.total(),
        report.failed
    );
    Ok(())
}
