//! `tail` (recent logs, merged across severities, optionally followed) and `common` (the most
//! frequent messages with the hour they were counted in).

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use tracing_redis::Result;
use tracing_redis::query::{CommonRow, LogFilter, Query, TailEntry};
use tracing_redis::store::Severity;

use crate::cli::Context;
use crate::output;
use crate::paint::Paint;
use crate::parse;

/// How often `tail --follow` looks for new entries.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Only this log name [default: every name].
    #[arg(long)]
    pub name: Option<String>,
    /// Only these severities, repeated or comma-separated: trace, debug, info, warning,
    /// error, critical [default: all].
    #[arg(long = "level", value_name = "LEVEL", value_parser = parse::severity,
          value_delimiter = ',', num_args = 1..)]
    pub levels: Vec<Severity>,
    /// How many entries, the newest.
    #[arg(short = 'n', long = "limit", default_value_t = 20)]
    pub n: usize,
    /// Keep printing new entries as they arrive (checks twice a second) until interrupted.
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Only this log name [default: every name].
    #[arg(long)]
    pub name: Option<String>,
    /// Only this severity [default: all].
    #[arg(long, value_parser = parse::severity)]
    pub level: Option<Severity>,
    /// The previous hour's counts instead of the current hour's.
    #[arg(long)]
    pub last: bool,
    /// How many messages, the most frequent.
    #[arg(short = 'n', long = "limit", default_value_t = 20)]
    pub n: usize,
}

fn filter(name: Option<&String>, levels: &[Severity]) -> LogFilter {
    let f = LogFilter::all().levels(levels.iter().copied());
    match name {
        Some(n) => f.name(n.clone()),
        None => f,
    }
}

pub fn tail(ctx: &Context, args: &TailArgs) -> Result<()> {
    let mut con = ctx.connect()?;
    let query = Query::new(ctx.store.clone());
    let filter = filter(args.name.as_ref(), &args.levels);
    let paint = Paint::for_stdout();
    if !args.follow {
        let entries = query.tail(&mut con, &filter, args.n)?;
        if entries.is_empty() && !ctx.global.json {
            return output::line(&paint.dim("no recent logs"));
        }
        return entries.iter().try_for_each(|e| print_entry(ctx, paint, e));
    }
    let (entries, mut cursor) = query.follow(&mut con, &filter, args.n)?;
    entries
        .iter()
        .try_for_each(|e| print_entry(ctx, paint, e))?;
    let mut broken = false;
    loop {
        std::thread::sleep(FOLLOW_POLL);
        match query.tail_since(&mut con, &mut cursor) {
            Ok(entries) => {
                broken = false;
                entries
                    .iter()
                    .try_for_each(|e| print_entry(ctx, paint, e))?;
            }
            // A server restart should not end a follow: say so once and keep trying.
            Err(e) if e.is_connection() => {
                if !broken {
                    warn(&format!("{e}; retrying"));
                    broken = true;
                }
                if let Ok(c) = ctx.connect() {
                    con = c;
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A note on stderr that does not end the command.
fn warn(text: &str) {
    let _ = writeln!(std::io::stderr(), "tracing-redis: {text}");
}

fn print_entry(ctx: &Context, paint: Paint, e: &TailEntry) -> Result<()> {
    if ctx.global.json {
        return output::json_line(&entry_json(e));
    }
    let mut text = format!(
        "{} {} {}: {}",
        paint.dim(if e.entry.ts.is_empty() {
            "-"
        } else {
            &e.entry.ts
        }),
        paint.level(e.level, &format!("{:<8}", e.level.as_str())),
        e.name,
        e.entry.message
    );
    for (k, v) in &e.entry.fields {
        text.push_str(&format!(" {k}={v}"));
    }
    if !e.entry.spans.is_empty() {
        text.push_str(&paint.dim(&format!(" [{}]", e.entry.spans.join(" > "))));
    }
    output::line(&text)
}

/// The entry as stored, with the log's name and severity; unknown fields are kept.
fn entry_json(e: &TailEntry) -> Value {
    let mut value = match serde_json::from_str::<Value>(&e.raw) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => serde_json::to_value(&e.entry).unwrap_or_else(|_| json!({})),
    };
    if let Value::Object(map) = &mut value {
        map.insert("name".into(), json!(e.name));
        map.insert("level".into(), json!(e.level.as_str()));
    }
    value
}

pub fn common(ctx: &Context, args: &CommonArgs) -> Result<()> {
    let mut con = ctx.connect()?;
    let query = Query::new(ctx.store.clone());
    let levels: Vec<Severity> = args.level.into_iter().collect();
    let rows = query.common(
        &mut con,
        &filter(args.name.as_ref(), &levels),
        args.last,
        args.n,
    )?;
    let this_hour = query.current_hour();
    if ctx.global.json {
        return rows.iter().try_for_each(|r| {
            output::json_line(&json!({
                "name": r.name,
                "level": r.level.as_str(),
                "hour": r.hour,
                "this_hour": r.hour.as_deref() == Some(this_hour.as_str()),
                "count": r.count,
                "message": r.message,
            }))
        });
    }
    let paint = Paint::for_stdout();
    if rows.is_empty() {
        let which = if args.last {
            "the last hour"
        } else {
            "this hour"
        };
        return output::line(&paint.dim(&format!("no common logs for {which}")));
    }
    print_common(paint, &rows, &this_hour)
}

fn print_common(paint: Paint, rows: &[CommonRow], this_hour: &str) -> Result<()> {
    let hour = |r: &CommonRow| -> String {
        match r.hour.as_deref() {
            Some(h) if h == this_hour => format!("{h} (this hour)"),
            Some(h) => h.to_owned(),
            None => "-".to_owned(),
        }
    };
    let count_w = rows
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(0)
        .max(5);
    let name_w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let hour_w = rows
        .iter()
        .map(|r| hour(r).len())
        .max()
        .unwrap_or(0)
        .max(10);
    output::line(&paint.bold(&format!(
        "{:>count_w$}  {:<8} {:<name_w$}  {:<hour_w$}  MESSAGE",
        "COUNT", "LEVEL", "NAME", "HOUR (UTC)"
    )))?;
    for r in rows {
        output::line(&format!(
            "{:>count_w$}  {} {:<name_w$}  {}  {}",
            r.count,
            paint.level(r.level, &format!("{:<8}", r.level.as_str())),
            r.name,
            paint.dim(&format!("{:<hour_w$}", hour(r))),
            r.message.replace('\n', "⏎")
        ))?;
    }
    Ok(())
}
