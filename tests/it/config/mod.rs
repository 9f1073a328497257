//! Live configuration on real servers: push invalidation, revalidation and recovery here;
//! what readers get (bad values, typed access, maintenance, torn reads), the registry and
//! the CLI in their own files.

#[cfg(feature = "cli")]
mod cli;
mod reads;
mod registry;

use std::time::{Duration, Instant};

use serde_json::json;
use tracing_redis::config::LiveConfig;
use tracing_redis::store::{ManualClock, Store};

use crate::support::{RedisServer, wait_until};

pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

pub(crate) fn live(server: &RedisServer, store: Store, max_staleness: Duration) -> LiveConfig {
    let live = LiveConfig::builder(server.client())
        .store(store)
        .max_staleness(max_staleness)
        .start()
        .unwrap();
    assert!(live.wait_subscribed(DEADLINE), "{:?}", live.status());
    live
}

/// Polls `cond` (sleeping between polls, so the background thread it waits on gets the CPU)
/// until it holds; returns how long it took, to within a poll.
pub(crate) fn time_until(deadline: Duration, cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    wait_until(deadline, cond).then(|| start.elapsed())
}

pub(crate) fn v(live: &LiveConfig) -> Option<i64> {
    live.get_value("app", "web")
        .unwrap()
        .and_then(|v| v.get("v").and_then(|n| n.as_i64()))
}

#[test]
fn published_changes_are_seen_in_milliseconds_with_a_long_max_staleness() {
    let server = RedisServer::start();
    let store = Store::new();
    let mut writer = server.connection();
    store
        .set_config(&mut writer, "app", "web", &json!({"v": 0}))
        .unwrap();
    let live = live(&server, store.clone(), Duration::from_secs(60));
    assert_eq!(v(&live), Some(0));
    let mut latencies = Vec::new();
    for i in 1..=20 {
        let start = Instant::now();
        store
            .set_config(&mut writer, "app", "web", &json!({"v": i}))
            .unwrap();
        let seen = time_until(DEADLINE, || v(&live) == Some(i));
        assert!(
            seen.is_some(),
            "change {i} not seen within 5 s: {:?}",
            live.status()
        );
        latencies.push(start.elapsed());
    }
    latencies.sort();
    eprintln!(
        "config push latency: median {:?}, max {:?} (20 changes)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    let status = live.status();
    assert_eq!(status.reloads, 1, "only the initial reload: {status:?}");
    assert!(status.notices >= 20, "{status:?}");
}

#[test]
fn a_change_made_by_another_process_arrives_by_push() {
    let server = RedisServer::start();
    let live = live(&server, Store::new(), Duration::from_secs(60));
    assert_eq!(v(&live), None);
    let start = Instant::now();
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tracing-redis"))
        .args([
            "--url",
            &server.url(),
            "config",
            "set",
            "app",
            "web",
            r#"{"v":7}"#,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let seen = time_until(DEADLINE, || v(&live) == Some(7));
    assert!(seen.is_some(), "{:?}", live.status());
    eprintln!(
        "config change by `tracing-redis config set` seen {:?} after spawning it",
        start.elapsed()
    );
}

#[test]
fn an_unannounced_set_is_seen_within_max_staleness() {
    let server = RedisServer::start();
    let max_staleness = Duration::from_millis(200);
    let live = live(&server, Store::new(), max_staleness);
    assert_eq!(v(&live), None);
    let notices = live.status().notices;
    let mut con = server.connection();
    let start = Instant::now();
    redis::cmd("SET")
        .arg("config:app:web")
        .arg(r#"{"v":1}"#)
        .exec(&mut con)
        .unwrap();
    let seen = time_until(DEADLINE, || v(&live) == Some(1)).expect("never seen");
    eprintln!("unannounced SET seen after {seen:?} (max_staleness {max_staleness:?})");
    // One reload period, plus slack for a loaded machine.
    assert!(
        start.elapsed() < max_staleness + Duration::from_millis(500),
        "{seen:?}"
    );
    assert_eq!(live.status().notices, notices, "no notice was sent");
}

#[test]
fn revalidation_follows_the_store_clock() {
    let server = RedisServer::start();
    let clock = ManualClock::at_unix(1_000_000.0);
    let store = Store::new().with_clock(clock.clone());
    let live = live(&server, store.clone(), Duration::from_secs(60));
    let mut con = server.connection();
    assert_eq!(v(&live), None);
    assert_eq!(live.get_value("app", "other").unwrap(), None);
    redis::cmd("SET")
        .arg("config:app:web")
        .arg(r#"{"v":1}"#)
        .exec(&mut con)
        .unwrap();
    // An announced change made after the silent one has been handled: the thread is alive,
    // yet the silent one is not seen while the clock stands still.
    store
        .set_config(&mut con, "app", "other", &json!({"x": 1}))
        .unwrap();
    assert!(wait_until(DEADLINE, || live
        .get_value("app", "other")
        .unwrap()
        .is_some()));
    assert_eq!(v(&live), None);
    let reloads = live.status().reloads;
    clock.advance(Duration::from_secs(61));
    assert!(
        wait_until(DEADLINE, || v(&live) == Some(1)),
        "{:?}",
        live.status()
    );
    let status = live.status();
    assert!(status.reloads > reloads, "{status:?}");
    assert_eq!(
        status.last_reload.map(|t| t >= clock_now(&clock)),
        Some(true)
    );
}

fn clock_now(clock: &ManualClock) -> std::time::SystemTime {
    use tracing_redis::store::Clock;
    clock.now()
}

#[test]
fn the_subscriber_recovers_after_its_connection_is_killed() {
    let server = RedisServer::start();
    let store = Store::new();
    let live = live(&server, store.clone(), Duration::from_secs(60));
    let mut con = server.connection();
    assert_eq!(v(&live), None);
    // Changed without notice, then the subscription is killed: only the reload after
    // reconnecting can bring this value in (max_staleness is a minute).
    redis::cmd("SET")
        .arg("config:app:web")
        .arg(r#"{"v":1}"#)
        .exec(&mut con)
        .unwrap();
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut con)
        .unwrap();
    assert_eq!(killed, 1);
    assert!(
        wait_until(DEADLINE, || live.status().subscriptions >= 2),
        "{:?}",
        live.status()
    );
    assert!(
        wait_until(DEADLINE, || v(&live) == Some(1)),
        "{:?}",
        live.status()
    );
    let start = Instant::now();
    store
        .set_config(&mut con, "app", "web", &json!({"v": 2}))
        .unwrap();
    let seen = time_until(DEADLINE, || v(&live) == Some(2)).expect("not seen after reconnect");
    eprintln!(
        "after reconnecting, a published change was seen in {:?}",
        start.elapsed()
    );
    assert!(seen < Duration::from_secs(2), "{seen:?}");
}

#[test]
fn the_subscriber_survives_a_server_restart() {
    let mut server = RedisServer::start();
    let store = Store::new();
    let live = LiveConfig::builder(server.client())
        .store(store.clone())
        .max_staleness(Duration::from_secs(60))
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100))
        .start()
        .unwrap();
    assert!(live.wait_subscribed(DEADLINE));
    assert_eq!(v(&live), None);
    server.kill();
    assert!(wait_until(DEADLINE, || !live.status().subscribed));
    assert!(live.status().last_error.is_some());
    assert_eq!(
        v(&live),
        None,
        "reads keep working while the server is down"
    );
    server.start_again();
    assert!(live.wait_subscribed(DEADLINE), "{:?}", live.status());
    store
        .set_config(&mut server.connection(), "app", "web", &json!({"v": 3}))
        .unwrap();
    assert!(time_until(DEADLINE, || v(&live) == Some(3)).is_some());
}
