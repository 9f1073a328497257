//! The `top` dashboard: a snapshot read from a real server, drawn into ratatui's test
//! backend at 80×24, the smallest terminal it must be usable in.

#[allow(dead_code)]
#[path = "../../src/bin/tracing-redis/dashboard.rs"]
mod dashboard;
#[allow(dead_code)]
#[path = "../../src/bin/tracing-redis/units.rs"]
mod units;

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tracing_redis::query::Query;
use tracing_redis::store::{Clock, ManualClock, Severity, Store};

use crate::support::RedisServer;
use dashboard::{Options, Snapshot, State};

fn draw(snap: &Snapshot, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| dashboard::render(f, snap)).unwrap();
    let buf = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

fn options() -> Options {
    Options {
        counter: None,
        precision: 5,
        kind: "AccessTime".into(),
        source: "redis://test/".into(),
    }
}

#[test]
fn a_frame_shows_every_panel_with_data_at_80x24() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = ManualClock::at_unix(1_795_741_323.0); // 2026-11-27T01:02:03Z
    let store = Store::new().with_clock(clock.clone());
    for i in 0..12 {
        store
            .log_recent(&mut con, "web", Severity::Info, &format!("request {i}"))
            .unwrap();
        clock.advance(Duration::from_millis(1));
    }
    store
        .log_recent(&mut con, "web", Severity::Error, "user lookup failed")
        .unwrap();
    for _ in 0..3 {
        store
            .log_common(&mut con, "web", Severity::Warning, "disk almost full")
            .unwrap();
    }
    store.incr_counter(&mut con, "zz-other", 1).unwrap();
    let now = clock.now();
    store
        .incr_counter_at(&mut con, "hits", 12, now - Duration::from_secs(20))
        .unwrap();
    store.incr_counter_at(&mut con, "hits", 3, now).unwrap();
    store
        .record_timing(&mut con, "GET /users", "AccessTime", 0.25)
        .unwrap();
    store
        .record_timing(&mut con, "GET /", "AccessTime", 0.002)
        .unwrap();

    let query = Query::new(store);
    let snap = dashboard::fetch(&query, &mut con, &options(), &mut State::default()).unwrap();
    assert_eq!(
        snap.counter.as_ref().unwrap().name,
        "hits",
        "the first known counter"
    );
    assert_eq!(snap.counter.as_ref().unwrap().points.len(), 120);

    let rows = draw(&snap, 80, 24);
    let screen = rows.join("\n");
    for expected in [
        "tracing-redis top",
        "redis://test/",
        "01:02:03 UTC",
        "q quits",
        "Recent logs",
        "Common messages, this hour",
        "Counter hits per 5s",
        "Slowest, AccessTime",
        // Data of each panel: the newest log entry, a common message with its count, the
        // chart's top label and time axis, a slowest context with its mean.
        "ERRO web: user lookup failed",
        "3 WARN web: disk almost full",
        "12",
        "01:02:00",
        "250.0 ms",
        "GET /users",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
    // The oldest entries give way to the newest in a short panel.
    assert!(!screen.contains("request 0"), "{screen}");
    assert!(screen.contains("request 11"), "{screen}");
    // The chart drew something.
    assert!(
        screen
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{screen}"
    );
}

#[test]
fn an_empty_store_and_an_error_still_draw_every_panel() {
    let snap = Snapshot {
        source: "redis://test/".into(),
        kind: "AccessTime".into(),
        error: Some("connection error: gone".into()),
        ..Snapshot::default()
    };
    let screen = draw(&snap, 80, 24).join("\n");
    for expected in [
        "connection error: gone",
        "Recent logs",
        "no recent logs",
        "no common messages",
        "no counters yet",
        "no timings",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
}

#[test]
fn a_chosen_counter_is_charted_even_when_empty() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let query = Query::new(Store::new().with_clock(ManualClock::at_unix(1_795_741_323.0)));
    let opts = Options {
        counter: Some("errors".into()),
        precision: 60,
        ..options()
    };
    let snap = dashboard::fetch(&query, &mut con, &opts, &mut State::default()).unwrap();
    let series = snap.counter.as_ref().unwrap();
    assert!(series.points.iter().all(|p| p.1 == 0));
    let screen = draw(&snap, 80, 24).join("\n");
    assert!(screen.contains("Counter errors per 1m"), "{screen}");
}

#[test]
fn a_refresh_adds_what_was_written_since() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let clock = ManualClock::at_unix(1_795_741_323.0);
    let store = Store::new().with_clock(clock.clone());
    store
        .log_recent(&mut con, "web", Severity::Info, "first")
        .unwrap();
    store
        .log_common(&mut con, "web", Severity::Warning, "full")
        .unwrap();
    let query = Query::new(store.clone());
    let mut state = State::default();
    let snap = dashboard::fetch(&query, &mut con, &options(), &mut state).unwrap();
    assert_eq!(snap.tail.len(), 1);

    clock.advance(Duration::from_millis(1));
    store
        .log_recent(&mut con, "web", Severity::Warning, "second")
        .unwrap();
    store
        .log_common(&mut con, "web", Severity::Warning, "full")
        .unwrap();
    let snap = dashboard::fetch(&query, &mut con, &options(), &mut state).unwrap();
    let tail: Vec<&str> = snap.tail.iter().map(|e| e.entry.message.as_str()).collect();
    assert_eq!(tail, ["first", "second"]);
    assert_eq!(snap.common[0].count, 2);
    let screen = draw(&snap, 80, 24).join("\n");
    assert!(screen.contains("WARN web: second"), "{screen}");
}
