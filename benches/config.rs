//! How fast a configuration change reaches another connection's `LiveConfig`.
//!
//! - announced change (`Store::set_config`, max_staleness 60 s, so only the push can bring
//!   it): time from before the write until the reader sees the value, against one `GET`
//!   round trip on the same server;
//! - unannounced change (plain `SET`, max_staleness 200 ms): against `max_staleness`.
//!
//! Run with `cargo bench --bench config`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::RedisServer;
use tracing_redis::config::LiveConfig;
use tracing_redis::store::Store;

const CHANGES: usize = 500;

fn seen(live: &LiveConfig, n: i64) -> bool {
    live.get_value("app", "web")
        .ok()
        .flatten()
        .and_then(|v| v.get("v").and_then(|x| x.as_i64()))
        == Some(n)
}

fn wait(live: &LiveConfig, n: i64) -> Duration {
    let start = Instant::now();
    while !seen(live, n) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "change {n} not seen"
        );
        std::hint::spin_loop();
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn start(server: &RedisServer, max_staleness: Duration) -> LiveConfig {
    let live = LiveConfig::builder(server.client())
        .max_staleness(max_staleness)
        .start()
        .unwrap();
    assert!(live.wait_subscribed(Duration::from_secs(5)));
    live
}

fn main() {
    let server = RedisServer::start();
    let store = Store::new();
    let mut writer = server.connection();
    store
        .set_config(&mut writer, "app", "web", &json!({"v": 0}))
        .unwrap();

    let mut rtt = Vec::with_capacity(CHANGES);
    for _ in 0..CHANGES {
        let t = Instant::now();
        let _: Option<String> = redis::cmd("GET")
            .arg("config:app:web")
            .query(&mut writer)
            .unwrap();
        rtt.push(t.elapsed());
    }
    rtt.sort();

    let live = start(&server, Duration::from_secs(60));
    assert!(seen(&live, 0));
    let mut push = Vec::with_capacity(CHANGES);
    for n in 1..=CHANGES as i64 {
        let t = Instant::now();
        store
            .set_config(&mut writer, "app", "web", &json!({"v": n}))
            .unwrap();
        wait(&live, n);
        push.push(t.elapsed());
    }
    push.sort();
    let (median, rtt_median) = (percentile(&push, 0.5), percentile(&rtt, 0.5));
    println!(
        "config announced change seen by another connection ({CHANGES} changes): median {median:?}, \
         p99 {:?}, max {:?}; GET round trip median {rtt_median:?}",
        percentile(&push, 0.99),
        push[push.len() - 1],
    );
    println!(
        "config push latency / GET round trip ratio={:.2}",
        median.as_secs_f64() / rtt_median.as_secs_f64()
    );
    live.stop();

    let max_staleness = Duration::from_millis(200);
    let live = start(&server, max_staleness);
    let base = CHANGES as i64;
    assert!(seen(&live, base));
    let mut silent = Vec::new();
    for n in base + 1..=base + 10 {
        let t = Instant::now();
        redis::cmd("SET")
            .arg("config:app:web")
            .arg(json!({"v": n}).to_string())
            .exec(&mut writer)
            .unwrap();
        wait(&live, n);
        silent.push(t.elapsed());
    }
    silent.sort();
    let worst = silent[silent.len() - 1];
    println!(
        "config unannounced change (max_staleness {max_staleness:?}, 10 changes): median {:?}, max {worst:?}",
        percentile(&silent, 0.5)
    );
    println!(
        "config unannounced worst / max_staleness ratio={:.2}",
        worst.as_secs_f64() / max_staleness.as_secs_f64()
    );
}
