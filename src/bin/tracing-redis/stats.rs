//! `stats` (one context's statistics, this hour and the last) and `slowest` (contexts by
//! mean, with bars).

use serde_json::json;
use tracing_redis::Result;
use tracing_redis::query::{HourStats, Query};

use crate::cli::Context;
use crate::units::{self, ACCESS_TIME};
use crate::{output, paint::Paint};

/// The widest bar of `slowest`.
const BAR_WIDTH: usize = 30;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The context (for timings: the span name or its `context` field).
    pub context: String,
    /// The statistics type: AccessTime (seconds), Histogram, Gauge, …
    #[arg(long = "type", value_name = "TYPE", default_value = ACCESS_TIME)]
    pub kind: String,
}

#[derive(Debug, clap::Args)]
pub struct SlowestArgs {
    /// How many contexts, the slowest.
    #[arg(short = 'n', long = "limit", default_value_t = 10)]
    pub n: usize,
    /// The statistics type.
    #[arg(long = "type", value_name = "TYPE", default_value = ACCESS_TIME)]
    pub kind: String,
}

pub fn stats(ctx: &Context, args: &StatsArgs) -> Result<()> {
    let mut con = ctx.connect()?;
    let query = Query::new(ctx.store.clone());
    let report = query.stats(&mut con, &args.context, &args.kind)?;
    let periods = [("current", &report.current), ("last", &report.last)];
    if ctx.global.json {
        for (period, hour) in periods {
            let Some(h) = hour else { continue };
            output::json_line(&json!({
                "context": args.context,
                "type": args.kind,
                "period": period,
                "start": h.start,
                "count": h.stats.count,
                "mean": h.stats.mean(),
                "stddev": h.stats.stddev(),
                "min": h.stats.min,
                "max": h.stats.max,
                "sum": h.stats.sum,
                "sumsq": h.stats.sumsq,
            }))?;
        }
        return Ok(());
    }
    let paint = Paint::for_stdout();
    output::line(&paint.bold(&format!("{} ({})", args.context, args.kind)))?;
    if report.current.is_none() && report.last.is_none() {
        return output::line(&paint.dim("no statistics"));
    }
    let this_hour = query.current_hour();
    output::line(&paint.bold(&format!(
        "{:<8} {:<19} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "", "HOUR (UTC)", "COUNT", "MEAN", "STDDEV", "MIN", "MAX"
    )))?;
    for (period, hour) in periods {
        output::line(&stats_row(
            paint,
            &args.kind,
            period,
            hour.as_ref(),
            &this_hour,
        ))?;
    }
    Ok(())
}

fn stats_row(
    paint: Paint,
    kind: &str,
    period: &str,
    hour: Option<&HourStats>,
    this_hour: &str,
) -> String {
    let Some(h) = hour else {
        return format!("{period:<8} {}", paint.dim("no data"));
    };
    let start = h.start.as_deref().unwrap_or("-");
    let note = if start == this_hour {
        " (this hour)"
    } else {
        ""
    };
    let s = &h.stats;
    let v = |x: f64| units::value(kind, x);
    format!(
        "{period:<8} {} {:>8} {:>10} {:>10} {:>10} {:>10}{}",
        paint.dim(&format!("{start:<19}")),
        s.count,
        v(s.mean()),
        v(s.stddev()),
        v(s.min),
        v(s.max),
        paint.dim(note)
    )
}

pub fn slowest(ctx: &Context, args: &SlowestArgs) -> Result<()> {
    let mut con = ctx.connect()?;
    let rows = Query::new(ctx.store.clone()).slowest(&mut con, &args.kind, args.n)?;
    if ctx.global.json {
        return rows
            .iter()
            .enumerate()
            .try_for_each(|(i, (context, mean))| {
                output::json_line(&json!({
                    "rank": i + 1,
                    "context": context,
                    "type": args.kind,
                    "mean": mean,
                }))
            });
    }
    let paint = Paint::for_stdout();
    if rows.is_empty() {
        return output::line(&paint.dim(&format!("no {} statistics", args.kind)));
    }
    let max = rows.iter().map(|(_, m)| *m).fold(0.0_f64, f64::max);
    let name_w = rows
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    let values: Vec<String> = rows
        .iter()
        .map(|(_, m)| units::value(&args.kind, *m))
        .collect();
    let value_w = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    for (i, ((context, mean), value)) in rows.iter().zip(&values).enumerate() {
        output::line(&format!(
            "{:>3}  {context:<name_w$}  {value:>value_w$}  {}",
            i + 1,
            paint.bar(&units::bar(*mean, max, BAR_WIDTH))
        ))?;
    }
    Ok(())
}
