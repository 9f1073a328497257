//! `counters` (the known counters), `counter` (one counter over a window, with a chart on a
//! terminal) and `clean-counters` (the cleaner, once or every minute).

use std::io::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use tracing_redis::Result;
use tracing_redis::query::Query;
use tracing_redis::store::clock::iso_millis;
use tracing_redis::store::{CleanReport, Cleaner};

use crate::cli::Context;
use crate::parse::{self, Precision};
use crate::units::short_duration;
use crate::{chart, output, paint::Paint, units};

/// Rows of bars in the `counter` chart.
const CHART_HEIGHT: usize = 8;

#[derive(Debug, clap::Args)]
pub struct CounterArgs {
    /// The counter's name.
    pub name: String,
    /// Bucket size: 1s, 5s, 1m, 5m, 1h, 5h, 1d, or auto: the finest whose 120 kept buckets
    /// cover --since (5s for 10m, 1m for 1h, 1h for 1d).
    #[arg(long, value_parser = parse::precision, default_value = "auto")]
    pub precision: Precision,
    /// How far back to look: 30s, 10m, 2h, 1d, 1h30m, …
    #[arg(long, value_parser = parse::duration, default_value = "10m")]
    pub since: Duration,
    /// Only the buckets that hold a count (otherwise empty buckets show as 0).
    #[arg(long)]
    pub sparse: bool,
}

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// One pass over every counter, then exit (otherwise one pass a minute until interrupted).
    #[arg(long)]
    pub once: bool,
}

pub fn list(ctx: &Context) -> Result<()> {
    let mut con = ctx.connect()?;
    let counters = Query::new(ctx.store.clone()).counters(&mut con)?;
    if ctx.global.json {
        return counters.iter().try_for_each(|c| {
            output::json_line(&json!({"name": c.name, "precisions": c.precisions}))
        });
    }
    let paint = Paint::for_stdout();
    if counters.is_empty() {
        return output::line(&paint.dim("no known counters"));
    }
    let name_w = counters
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    output::line(&paint.bold(&format!("{:<name_w$}  PRECISIONS", "NAME")))?;
    for c in &counters {
        let precisions: Vec<String> = c.precisions.iter().map(|p| short_duration(*p)).collect();
        output::line(&format!("{:<name_w$}  {}", c.name, precisions.join(" ")))?;
    }
    Ok(())
}

pub fn show(ctx: &Context, args: &CounterArgs) -> Result<()> {
    let mut con = ctx.connect()?;
    let query = Query::new(ctx.store.clone());
    let now = ctx.store.clock().now();
    let since = now.checked_sub(args.since).unwrap_or(UNIX_EPOCH);
    let precision = args.precision.for_window(args.since);
    let points = query.counter_window(&mut con, &args.name, precision, since, now, !args.sparse)?;
    if ctx.global.json {
        return points.iter().try_for_each(|(start, count)| {
            output::json_line(&json!({
                "name": args.name,
                "precision": precision,
                "start": start,
                "time": units::iso(*start),
                "count": count,
            }))
        });
    }
    let paint = Paint::for_stdout();
    output::line(&paint.bold(&format!(
        "{} per {} over the last {}",
        args.name,
        short_duration(precision),
        short_duration(args.since.as_secs())
    )))?;
    let count_w = points
        .iter()
        .map(|(_, c)| c.to_string().len())
        .max()
        .unwrap_or(0);
    for (start, count) in &points {
        output::line(&format!(
            "{}  {count:>count_w$}",
            paint.dim(&units::iso(*start))
        ))?;
    }
    if points.iter().all(|(_, c)| *c == 0) {
        output::line(&paint.dim("no counts in this window"))?;
    }
    if output::is_terminal() {
        let width = crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w));
        output::line("")?;
        for line in chart::render(&args.name, &points, precision, width, CHART_HEIGHT) {
            output::line(&paint.bar(&line))?;
        }
    }
    Ok(())
}

pub fn clean(ctx: &Context, args: &CleanArgs) -> Result<()> {
    let cleaner = Cleaner::new(ctx.store.clone());
    let mut con = ctx.connect()?;
    if args.once {
        let report = cleaner.pass(&mut con, 0)?;
        return print_report(ctx, 0, &report);
    }
    let mut pass = 0u64;
    loop {
        // A cleaner keeps going through outages and bad keys: say what failed, retry next pass.
        match cleaner.pass(&mut con, pass) {
            Ok(report) => {
                print_report(ctx, pass, &report)?;
                pass = pass.wrapping_add(1);
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "tracing-redis: pass {pass}: {e}");
                if e.is_connection()
                    && let Ok(c) = ctx.connect()
                {
                    con = c;
                }
            }
        }
        std::thread::sleep(Cleaner::DEFAULT_INTERVAL);
    }
}

fn print_report(ctx: &Context, pass: u64, r: &CleanReport) -> Result<()> {
    let at = iso_millis(ctx.store.clock().now());
    if ctx.global.json {
        return output::json_line(&json!({
            "pass": pass,
            "at": at,
            "visited": r.visited,
            "buckets_deleted": r.buckets_deleted,
            "forgotten": r.forgotten,
        }));
    }
    output::line(&format!(
        "{at} pass {pass}: visited {} counters, deleted {} buckets, forgot {} idle counters",
        r.visited, r.buckets_deleted, r.forgotten
    ))
}
