//! The `top` dashboard apart from the terminal: [`fetch`] reads a [`Snapshot`] through the
//! query API, [`render`] draws one into any ratatui frame (a real terminal, or a test
//! backend). Uses only the library, ratatui and the sibling `units` module.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};
use redis::ConnectionLike;
use tracing_redis::Result;
use tracing_redis::query::{CommonRow, LogFilter, Query, TailCursor, TailEntry};
use tracing_redis::store::Severity;
use tracing_redis::store::clock::iso_millis;

use super::units;

/// Recent entries kept (more than a terminal shows).
const TAIL_ROWS: usize = 100;
/// Common messages and slowest contexts read per refresh.
const LIST_ROWS: usize = 50;
/// Refreshes between two scans for common logs.
const RESCAN_EVERY: u64 = 10;
/// Buckets in the counter chart's window.
const WINDOW_BUCKETS: u64 = 120;

/// What to show.
#[derive(Debug, Clone)]
pub struct Options {
    /// The counter to chart; the first known one when `None`.
    pub counter: Option<String>,
    /// The chart's bucket size in seconds.
    pub precision: u64,
    /// The statistics type of the slowest panel.
    pub kind: String,
    /// Where the data comes from (URL, namespace), for the header.
    pub source: String,
}

/// A counter's recent buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSeries {
    pub name: String,
    pub precision: u64,
    /// (bucket start, count), oldest first, empty buckets as 0.
    pub points: Vec<(i64, i64)>,
}

/// Everything one frame shows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// When it was read (the header's clock).
    pub at: Option<SystemTime>,
    pub source: String,
    pub tail: Vec<TailEntry>,
    pub common: Vec<CommonRow>,
    pub counter: Option<CounterSeries>,
    pub kind: String,
    pub slowest: Vec<(String, f64)>,
    /// Why the last refresh failed, shown in the header over the previous data.
    pub error: Option<String>,
}

/// What the dashboard keeps between refreshes so that each reads little: the recent logs
/// followed with their newest entries, and the common logs found by the last scan.
#[derive(Debug, Default)]
pub struct State {
    cursor: Option<TailCursor>,
    tail: VecDeque<TailEntry>,
    common_logs: Vec<(String, Severity)>,
    refreshes: u64,
}

/// Reads one snapshot, carrying `state` over from the previous one.
pub fn fetch(
    query: &Query,
    con: &mut dyn ConnectionLike,
    opts: &Options,
    state: &mut State,
) -> Result<Snapshot> {
    let at = query.store().clock().now();
    match &mut state.cursor {
        Some(cursor) => state.tail.extend(query.tail_since(con, cursor)?),
        None => {
            let (entries, cursor) = query.follow(con, &LogFilter::all(), TAIL_ROWS)?;
            state.tail = entries.into();
            state.cursor = Some(cursor);
        }
    }
    let excess = state.tail.len().saturating_sub(TAIL_ROWS);
    state.tail.drain(..excess);
    if state.refreshes.is_multiple_of(RESCAN_EVERY) {
        state.common_logs = query.common_logs(con, &LogFilter::all())?;
    }
    state.refreshes += 1;
    let common = query.common_in(con, &state.common_logs, false, LIST_ROWS)?;
    let name = match &opts.counter {
        Some(name) => Some(name.clone()),
        None => query.counters(con)?.into_iter().next().map(|c| c.name),
    };
    let counter = match name {
        Some(name) => {
            let window = Duration::from_secs(opts.precision * (WINDOW_BUCKETS - 1));
            let since = at.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
            let points = query.counter_window(con, &name, opts.precision, since, at, true)?;
            Some(CounterSeries {
                name,
                precision: opts.precision,
                points,
            })
        }
        None => None,
    };
    let slowest = query.slowest(con, &opts.kind, LIST_ROWS)?;
    Ok(Snapshot {
        at: Some(at),
        source: opts.source.clone(),
        tail: state.tail.iter().cloned().collect(),
        common,
        counter,
        kind: opts.kind.clone(),
        slowest,
        error: None,
    })
}

/// Draws `snap` over the whole frame: a header line, the recent logs, and below them the
/// common messages and slowest contexts beside the counter chart.
pub fn render(frame: &mut Frame, snap: &Snapshot) {
    let [header, logs, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(40),
        Constraint::Fill(1),
    ])
    .areas(frame.area());
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let [common, slowest] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    render_header(frame, header, snap);
    render_logs(frame, logs, snap);
    render_common(frame, common, snap);
    render_slowest(frame, slowest, snap);
    render_counter(frame, right, snap);
}

fn render_header(frame: &mut Frame, area: Rect, snap: &Snapshot) {
    let time = snap
        .at
        .map(|t| units::time_of_day(&iso_millis(t)).to_owned() + " UTC")
        .unwrap_or_default();
    let mut spans = vec![
        Span::styled(
            "tracing-redis top",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" · {} · {time} · q quits", snap.source)),
    ];
    if let Some(e) = &snap.error {
        spans.push(Span::styled(format!(" · {e}"), Style::new().fg(Color::Red)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn level_style(level: Severity) -> Style {
    let color = match level {
        Severity::Trace => Color::DarkGray,
        Severity::Debug => Color::Blue,
        Severity::Info => Color::Green,
        Severity::Warning => Color::Yellow,
        Severity::Error | Severity::Critical => Color::Red,
    };
    Style::new().fg(color)
}

/// Four letters, so columns line up.
fn level_tag(level: Severity) -> String {
    format!("{:<4}", &level.as_str()[..4.min(level.as_str().len())]).to_uppercase()
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn render_logs(frame: &mut Frame, area: Rect, snap: &Snapshot) {
    let block = Block::bordered().title(" Recent logs ");
    let rows = usize::from(block.inner(area).height);
    let skip = snap.tail.len().saturating_sub(rows);
    let lines: Vec<Line> = snap.tail[skip..]
        .iter()
        .map(|e| {
            Line::from(vec![
                Span::styled(units::time_of_day(&e.entry.ts).to_owned(), dim()),
                Span::raw(" "),
                Span::styled(level_tag(e.level), level_style(e.level)),
                Span::raw(format!(" {}: {}", e.name, e.entry.message)),
            ])
        })
        .collect();
    let lines = placeholder(lines, "no recent logs");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_common(frame: &mut Frame, area: Rect, snap: &Snapshot) {
    let block = Block::bordered().title(" Common messages, this hour ");
    let rows = usize::from(block.inner(area).height);
    let count_w = snap
        .common
        .iter()
        .take(rows)
        .map(|r| r.count.to_string().len())
        .max();
    let lines: Vec<Line> = snap
        .common
        .iter()
        .take(rows)
        .map(|r| {
            Line::from(vec![
                Span::raw(format!("{:>w$} ", r.count, w = count_w.unwrap_or(0))),
                Span::styled(level_tag(r.level), level_style(r.level)),
                Span::raw(format!(" {}: {}", r.name, r.message.replace('\n', "⏎"))),
            ])
        })
        .collect();
    let lines = placeholder(lines, "no common messages");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_slowest(frame: &mut Frame, area: Rect, snap: &Snapshot) {
    let block = Block::bordered().title(format!(" Slowest, {} ", snap.kind));
    let rows = usize::from(block.inner(area).height);
    let max = snap.slowest.iter().map(|(_, m)| *m).fold(0.0_f64, f64::max);
    let values: Vec<String> = snap
        .slowest
        .iter()
        .take(rows)
        .map(|(_, m)| units::value(&snap.kind, *m))
        .collect();
    let value_w = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    let lines: Vec<Line> = snap
        .slowest
        .iter()
        .zip(&values)
        .map(|((context, mean), value)| {
            Line::from(vec![
                Span::raw(format!("{value:>value_w$} ")),
                Span::styled(
                    format!("{:<8}", units::bar(*mean, max, 8)),
                    Style::new().fg(Color::Cyan),
                ),
                Span::raw(format!(" {context}")),
            ])
        })
        .collect();
    let lines = placeholder(lines, "no timings");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_counter(frame: &mut Frame, area: Rect, snap: &Snapshot) {
    let Some(series) = &snap.counter else {
        let block = Block::bordered().title(" Counter ");
        frame.render_widget(Paragraph::new("no counters yet").block(block), area);
        return;
    };
    let title = format!(
        " Counter {} per {} ",
        series.name,
        units::short_duration(series.precision)
    );
    let block = Block::bordered().title(title);
    let (Some(&(first, _)), Some(&(last, _))) = (series.points.first(), series.points.last())
    else {
        frame.render_widget(Paragraph::new("no data").block(block), area);
        return;
    };
    let data: Vec<(f64, f64)> = series
        .points
        .iter()
        .map(|&(t, c)| (t as f64, c as f64))
        .collect();
    let max = series
        .points
        .iter()
        .map(|&(_, c)| c)
        .max()
        .unwrap_or(0)
        .max(1);
    let min = series
        .points
        .iter()
        .map(|&(_, c)| c)
        .min()
        .unwrap_or(0)
        .min(0);
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Cyan))
        .data(&data);
    let x_axis = Axis::default()
        .style(dim())
        .bounds([first as f64, last.max(first + 1) as f64])
        .labels([
            units::bucket_label(first, series.precision),
            units::bucket_label(last, series.precision),
        ]);
    let y_axis = Axis::default()
        .style(dim())
        .bounds([min as f64, max as f64])
        .labels([min.to_string(), max.to_string()]);
    let chart = Chart::new(vec![dataset])
        .block(block)
        .x_axis(x_axis)
        .y_axis(y_axis);
    frame.render_widget(chart, area);
}

fn placeholder<'a>(lines: Vec<Line<'a>>, empty: &'a str) -> Vec<Line<'a>> {
    if lines.is_empty() {
        vec![Line::styled(empty, dim())]
    } else {
        lines
    }
}
