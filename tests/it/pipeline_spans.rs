//! Closed spans become timing samples; filters compose as `tracing-subscriber` users expect.

use std::time::Duration;

use tracing::{debug_span, info, info_span, instrument, warn};
use tracing_redis::store::{ManualClock, Severity, Store};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder, recent};
use crate::support::RedisServer;

fn stats(server: &RedisServer, context: &str) -> Option<(u64, f64)> {
    Store::new()
        .stats(&mut server.connection(), context, "AccessTime")
        .unwrap()
        .map(|s| (s.count, s.sum))
}

#[instrument(skip(clock))]
fn outer(clock: &ManualClock) {
    clock.advance(Duration::from_millis(250));
    inner(clock);
}

#[instrument(skip(clock))]
fn inner(clock: &ManualClock) {
    clock.advance(Duration::from_millis(125));
    info!("inside");
}

#[instrument(skip(clock))]
async fn fetch(clock: ManualClock) {
    clock.advance(Duration::from_millis(500));
    tokio::task::yield_now().await;
    clock.advance(Duration::from_millis(500));
}

#[instrument(skip(clock))]
async fn never_finishes(clock: ManualClock) {
    clock.advance(Duration::from_secs(3));
    std::future::pending::<()>().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn instrument_times_sync_and_async_functions() {
    let server = RedisServer::start();
    let clock = ManualClock::at_unix(T0);
    let (layer, guard) = builder(&server).clock(clock.clone()).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        outer(&clock);
        runtime().block_on(fetch(clock.clone()));
        runtime().block_on(async {
            let cut = tokio::time::timeout(Duration::from_millis(1), never_finishes(clock.clone()));
            assert!(cut.await.is_err(), "the future was dropped unfinished");
        });
        // Time passing after the drop does not count.
        clock.advance(Duration::from_secs(60));
    });
    let report = guard.flush(WAIT);
    assert_eq!(
        (report.written, report.dropped.total()),
        (5, 0),
        "{report:?}"
    );
    assert_eq!(stats(&server, "outer"), Some((1, 0.375)));
    assert_eq!(stats(&server, "inner"), Some((1, 0.125)));
    assert_eq!(stats(&server, "fetch"), Some((1, 1.0)));
    assert_eq!(stats(&server, "never_finishes"), Some((1, 3.0)));
    let slowest = Store::new()
        .slowest(&mut server.connection(), "AccessTime", 10)
        .unwrap();
    let names: Vec<&str> = slowest.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["never_finishes", "fetch", "outer", "inner"]);
    assert_eq!(recent(&server, Severity::Info)[0].spans, ["outer", "inner"]);
}

#[test]
fn context_field_names_the_timing() {
    let server = RedisServer::start();
    let clock = ManualClock::at_unix(T0);
    let (layer, guard) = builder(&server).clock(clock.clone()).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let a = info_span!("handler", context = "GET /users/{id}");
        clock.advance(Duration::from_millis(500));
        drop(a);
        let b = info_span!("handler", context = tracing::field::Empty);
        b.record("context", "POST /orders");
        clock.advance(Duration::from_secs(2));
        drop(b);
    });
    assert!(guard.flush(WAIT).is_complete());
    assert_eq!(stats(&server, "GET /users/{id}"), Some((1, 0.5)));
    assert_eq!(stats(&server, "POST /orders"), Some((1, 2.0)));
    assert_eq!(stats(&server, "handler"), None);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("stats:*")
        .query(&mut server.connection())
        .unwrap();
    assert!(
        keys.contains(&"stats:{GET /users/%7Bid%7D:AccessTime}".to_owned()),
        "{keys:?}"
    );
}

#[test]
fn timing_filter_chooses_the_spans() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let (custom, custom_guard) = builder(&server)
        .timing_filter(|meta| meta.name().starts_with("db_"))
        .build()
        .unwrap();
    let (off, off_guard) = builder(&server)
        .timing_level(LevelFilter::OFF)
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        drop(info_span!("timed"));
        drop(debug_span!("below_info"));
    });
    tracing::subscriber::with_default(tracing_subscriber::registry().with(custom), || {
        drop(debug_span!("db_query"));
        drop(info_span!("not_db"));
    });
    tracing::subscriber::with_default(tracing_subscriber::registry().with(off), || {
        drop(info_span!("never"));
    });
    for g in [&guard, &custom_guard, &off_guard] {
        assert!(g.flush(WAIT).is_complete());
    }
    assert_eq!(stats(&server, "timed").map(|s| s.0), Some(1));
    assert_eq!(stats(&server, "below_info"), None);
    assert_eq!(stats(&server, "db_query").map(|s| s.0), Some(1));
    assert_eq!(stats(&server, "not_db"), None);
    assert_eq!(stats(&server, "never"), None);
}

#[test]
fn per_layer_filters_apply_to_this_layer_only() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(layer.with_filter(LevelFilter::WARN))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(LevelFilter::TRACE),
        );
    tracing::subscriber::with_default(subscriber, || {
        let _span = info_span!("filtered_out").entered();
        info!("not for redis");
        warn!("for redis");
    });
    assert!(guard.flush(WAIT).is_complete());
    assert!(recent(&server, Severity::Info).is_empty());
    let w = recent(&server, Severity::Warning);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].spans.is_empty(),
        "the span is not enabled for this layer"
    );
    assert_eq!(stats(&server, "filtered_out"), None);
}

#[test]
fn fmt_layer_filters_do_not_hide_events_from_this_layer() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(layer).with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(LevelFilter::ERROR),
    );
    tracing::subscriber::with_default(subscriber, || info!("still here"));
    assert!(guard.flush(WAIT).is_complete());
    assert_eq!(recent(&server, Severity::Info).len(), 1);
}

#[test]
fn env_filter_composes_globally_and_per_layer() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("warn,special=debug"))
        .with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!(target: "special", "special debug");
        tracing::debug!(target: "other", "other debug");
        tracing::info!("plain info");
        tracing::warn!("plain warning");
    });
    assert!(guard.flush(WAIT).is_complete());
    let debug = recent(&server, Severity::Debug);
    assert_eq!(debug.len(), 1);
    assert_eq!(debug[0].target, "special");
    assert!(recent(&server, Severity::Info).is_empty());
    assert_eq!(recent(&server, Severity::Warning).len(), 1);

    let (layer, guard) = builder(&server).name("per_layer").build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(layer.with_filter(EnvFilter::new("error")))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("not an error");
        tracing::error!("an error");
    });
    assert_eq!(guard.flush(WAIT).written, 1);
    let store = Store::new();
    let mut con = server.connection();
    assert_eq!(
        store
            .recent(&mut con, "per_layer", Severity::Error, 10)
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .recent(&mut con, "per_layer", Severity::Warning, 10)
            .unwrap()
            .is_empty()
    );
}
