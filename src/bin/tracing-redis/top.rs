//! `top`: the live dashboard in the terminal. The data and drawing live in `dashboard`; this
//! is the loop around them: refresh every second, redraw on resize, quit on `q`, Esc or
//! Ctrl-C, and always give the terminal back.

use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::DefaultTerminal;
use tracing_redis::query::Query;
use tracing_redis::{Error, Result};

use crate::cli::Context;
use crate::dashboard::{self, Options, Snapshot, State};
use crate::output;
use crate::parse::{self, Precision};
use crate::units::ACCESS_TIME;

/// How often the dashboard reads Redis again.
const REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// The counter to chart [default: the first known counter].
    #[arg(long)]
    pub counter: Option<String>,
    /// The chart's bucket size (1s, 5s, 1m, …); the chart shows 120 buckets.
    #[arg(long, value_parser = parse::precision, default_value = "5s")]
    pub precision: Precision,
    /// The statistics type of the slowest panel.
    #[arg(long = "type", value_name = "TYPE", default_value = ACCESS_TIME)]
    pub kind: String,
}

pub fn run(ctx: &Context, args: &TopArgs) -> Result<()> {
    if ctx.global.json {
        return Err(Error::invalid_input(
            "top has no JSON view; use tail, common, counter, stats or slowest with --json",
        ));
    }
    if !output::is_terminal() {
        return Err(Error::invalid_input(
            "top needs a terminal on stdout; use tail, common, counter, stats or slowest instead",
        ));
    }
    let mut con = ctx.connect()?;
    let query = Query::new(ctx.store.clone());
    let source = match ctx.store.keys().namespace() {
        Some(ns) => format!("{} ns {ns}", ctx.url()),
        None => ctx.url(),
    };
    let mut opts = Options {
        counter: args.counter.clone(),
        // `auto` has no window to fit here: the 5 s default.
        precision: args.precision.for_window(Duration::from_secs(600)),
        kind: args.kind.clone(),
        source,
    };
    let mut terminal = ratatui::try_init().map_err(|e| Error::io(e, "setting up the terminal"))?;
    let result = run_loop(&mut terminal, ctx, &query, &mut con, &mut opts);
    ratatui::restore();
    result
}

fn run_loop(
    terminal: &mut DefaultTerminal,
    ctx: &Context,
    query: &Query,
    con: &mut redis::Connection,
    opts: &mut Options,
) -> Result<()> {
    let mut snap = Snapshot {
        source: opts.source.clone(),
        kind: opts.kind.clone(),
        ..Snapshot::default()
    };
    let mut state = State::default();
    let draw_err = |e: std::io::Error| Error::io(e, "drawing the dashboard");
    loop {
        match dashboard::fetch(query, con, opts, &mut state) {
            Ok(s) => {
                // Stick to the counter first charted even if others appear before it.
                if opts.counter.is_none() {
                    opts.counter = s.counter.as_ref().map(|c| c.name.clone());
                }
                snap = s;
            }
            // Keep showing the last data under the error; reconnect after an outage.
            Err(e) => {
                snap.error = Some(e.to_string());
                if e.is_connection()
                    && let Ok(c) = ctx.connect()
                {
                    *con = c;
                }
            }
        }
        terminal
            .draw(|f| dashboard::render(f, &snap))
            .map_err(draw_err)?;
        let deadline = Instant::now() + REFRESH;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if !event::poll(left).map_err(|e| Error::io(e, "reading the keyboard"))? {
                break;
            }
            match event::read().map_err(|e| Error::io(e, "reading the keyboard"))? {
                Event::Key(key) if quits(&key) => return Ok(()),
                Event::Resize(..) => {
                    terminal
                        .draw(|f| dashboard::render(f, &snap))
                        .map_err(draw_err)?;
                }
                _ => {}
            }
        }
    }
}

fn quits(key: &KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && match key.code {
            KeyCode::Char('q') | KeyCode::Esc => true,
            KeyCode::Char('c') => key.modifiers.contains(KeyModifiers::CONTROL),
            _ => false,
        }
}
