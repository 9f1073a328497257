//! What readers of a `LiveConfig` get: bad values, typed access, the maintenance flag,
//! whole values under concurrent changes, and what stopping leaves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tracing_redis::config::LiveConfig;
use tracing_redis::store::Store;

use super::{DEADLINE, live, time_until, v};
use crate::support::{RedisServer, wait_until};

#[test]
fn a_malformed_value_keeps_the_last_good_config_and_is_reported() {
    let server = RedisServer::start();
    let store = Store::new();
    let live = live(&server, store.clone(), Duration::from_secs(60));
    let mut con = server.connection();
    store
        .set_config(&mut con, "app", "web", &json!({"v": 1}))
        .unwrap();
    assert!(wait_until(DEADLINE, || v(&live) == Some(1)));
    assert!(live.error("app", "web").is_none());

    redis::cmd("SET")
        .arg("config:app:web")
        .arg("{v: 2")
        .exec(&mut con)
        .unwrap();
    store
        .publish_config_changed(&mut con, "config:app:web")
        .unwrap();
    assert!(wait_until(DEADLINE, || live.error("app", "web").is_some()));
    let err = live.error("app", "web").unwrap();
    assert!(err.is_malformed(), "{err}");
    assert!(err.to_string().contains("`config:app:web`"), "{err}");
    assert_eq!(v(&live), Some(1), "the last good value is kept");
    let problems = live.status().problems;
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("config:app:web"), "{problems:?}");

    store
        .set_config(&mut con, "app", "web", &json!({"v": 3}))
        .unwrap();
    assert!(wait_until(DEADLINE, || v(&live) == Some(3)));
    assert!(live.error("app", "web").is_none());
    assert!(live.status().problems.is_empty());
}

#[test]
fn a_value_that_was_never_good_reads_as_an_error_naming_the_key() {
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("SET")
        .arg("config:app:web")
        .arg("[1,2]")
        .exec(&mut con)
        .unwrap();
    redis::cmd("HSET")
        .arg("config:app:hash")
        .arg("f")
        .arg("v")
        .exec(&mut con)
        .unwrap();
    let live = live(&server, Store::new(), Duration::from_secs(60));
    let err = live.get_value("app", "web").unwrap_err();
    assert!(
        err.is_malformed() && err.message().contains("`config:app:web`"),
        "{err}"
    );
    let err = live.get_value("app", "hash").unwrap_err();
    assert!(
        err.is_wrong_type() || err.message().contains("config:app:hash"),
        "{err}"
    );
    assert!(live.get_value("", "web").unwrap_err().is_invalid_input());
}

#[test]
fn typed_access_deserialises_and_names_the_key_on_mismatch() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Web {
        workers: u32,
        #[serde(default)]
        name: String,
    }
    let server = RedisServer::start();
    let store = Store::new().with_namespace("ns").unwrap();
    let mut con = server.connection();
    store
        .set_config(&mut con, "app", "web", &json!({"workers": 4}))
        .unwrap();
    store
        .set_config(&mut con, "app", "bad", &json!({"workers": "many"}))
        .unwrap();
    // Another namespace's value is not this one's.
    Store::new()
        .set_config(&mut con, "app", "web", &json!({"workers": 9}))
        .unwrap();
    let live = live(&server, store, Duration::from_secs(60));
    let web: Option<Web> = live.get("app", "web").unwrap();
    assert_eq!(
        web,
        Some(Web {
            workers: 4,
            name: String::new()
        })
    );
    assert_eq!(live.get::<Web>("app", "missing").unwrap(), None);
    let err = live.get::<Web>("app", "bad").unwrap_err();
    assert!(
        err.is_malformed() && err.message().contains("`ns:config:app:bad`"),
        "{err}"
    );
}

#[test]
fn maintenance_follows_code_and_unannounced_writers() {
    let server = RedisServer::start();
    let store = Store::new();
    let live = live(&server, store.clone(), Duration::from_millis(200));
    let mut con = server.connection();
    assert!(!live.is_under_maintenance().unwrap());
    store.set_maintenance(&mut con, true).unwrap();
    assert!(time_until(DEADLINE, || live.is_under_maintenance().unwrap()).is_some());
    assert!(store.is_under_maintenance(&mut con).unwrap());
    store.set_maintenance(&mut con, false).unwrap();
    assert!(time_until(DEADLINE, || !live.is_under_maintenance().unwrap()).is_some());
    // Without a notice it arrives by revalidation; an empty value means off.
    redis::cmd("SET")
        .arg("is-under-maintenance")
        .arg("yes")
        .exec(&mut con)
        .unwrap();
    assert!(wait_until(DEADLINE, || live
        .is_under_maintenance()
        .unwrap()));
    redis::cmd("SET")
        .arg("is-under-maintenance")
        .arg("")
        .exec(&mut con)
        .unwrap();
    assert!(wait_until(DEADLINE, || !live
        .is_under_maintenance()
        .unwrap()));
}

#[test]
fn readers_never_see_a_torn_value() {
    #[derive(Deserialize)]
    struct Pair {
        a: u64,
        b: u64,
    }
    const CHANGES: u64 = 300;
    let server = RedisServer::start();
    let store = Store::new();
    let live = live(&server, store.clone(), Duration::from_millis(50));
    let mut con = server.connection();
    store
        .set_config(&mut con, "app", "pair", &json!({"a": 0, "b": 0}))
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (live, done) = (live.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut last, mut reads) = (0, 0u64);
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    if let Some(p) = live.get::<Pair>("app", "pair").unwrap() {
                        assert_eq!(p.a, p.b, "torn value");
                        assert!(p.a >= last, "went back from {last} to {}", p.a);
                        last = p.a;
                        reads += 1;
                        if last == CHANGES && done.load(Ordering::SeqCst) {
                            return reads;
                        }
                    }
                }
                panic!("reader stuck at {last}");
            })
        })
        .collect();
    for n in 1..=CHANGES {
        store
            .set_config(&mut con, "app", "pair", &json!({"a": n, "b": n}))
            .unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

#[test]
fn stopping_ends_the_thread_promptly_and_keeps_values() {
    let server = RedisServer::start();
    let store = Store::new();
    let live = live(&server, store.clone(), Duration::from_secs(60));
    store
        .set_config(&mut server.connection(), "app", "web", &json!({"v": 1}))
        .unwrap();
    assert!(wait_until(DEADLINE, || v(&live) == Some(1)));
    let start = Instant::now();
    live.stop();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(!live.status().subscribed);
    assert_eq!(v(&live), Some(1));
    let mut con = server.connection();
    let subscribers: Vec<redis::Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("config-changed")
        .query(&mut con)
        .unwrap();
    assert_eq!(subscribers.get(1), Some(&redis::Value::Int(0)));
}

#[test]
fn invalid_settings_are_rejected() {
    let server = RedisServer::start();
    let err = LiveConfig::builder(server.client())
        .max_staleness(Duration::ZERO)
        .start()
        .unwrap_err();
    assert!(
        err.is_invalid_input() && err.message().contains("max_staleness"),
        "{err}"
    );
    let err = LiveConfig::builder(server.client())
        .reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))
        .start()
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}

#[test]
fn first_reads_give_up_within_the_io_timeout_when_redis_stops_answering() {
    const READERS: usize = 6;
    let io_timeout = Duration::from_millis(300);
    let server = RedisServer::start();
    let live = LiveConfig::builder(server.client())
        .max_staleness(Duration::from_millis(500))
        .io_timeout(io_timeout)
        .start()
        .unwrap();
    assert!(live.wait_subscribed(DEADLINE), "{:?}", live.status());
    // Connects the loader, so the reads below hang on Redis, not on connecting.
    assert_eq!(live.get_value("app", "warm").unwrap(), None);
    let mut con = server.connection();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2_000)
        .arg("ALL")
        .exec(&mut con)
        .unwrap();
    let barrier = Barrier::new(READERS);
    let took: Vec<(Duration, bool)> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|i| {
                let (live, barrier) = (&live, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let read = live.get_value("app", &format!("c{i}"));
                    (start.elapsed(), read.is_err())
                })
            })
            .collect();
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(took.iter().all(|(_, failed)| *failed), "{took:?}");
    let slowest = took.iter().map(|(t, _)| *t).max().unwrap();
    // One read in flight and one wait, each bounded by the timeout; in a queue the last of
    // six readers would wait six timeouts.
    assert!(
        slowest < 2 * io_timeout + Duration::from_millis(300),
        "{took:?}"
    );
    eprintln!("{READERS} first reads on a paused server: the slowest failed after {slowest:?}");
    // Later reads get the error from memory.
    for i in 0..READERS {
        let start = Instant::now();
        assert!(live.get_value("app", &format!("c{i}")).is_err());
        assert!(start.elapsed() < io_timeout / 3, "{:?}", start.elapsed());
    }
    // Once Redis answers again (the pause ends), the background thread reads every key the
    // readers gave up on.
    for i in 0..READERS {
        assert!(
            wait_until(DEADLINE, || live
                .get_value("app", &format!("c{i}"))
                .is_ok_and(|v| v.is_none())),
            "{:?}",
            live.status()
        );
    }
}
