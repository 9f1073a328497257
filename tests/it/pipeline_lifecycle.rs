//! Starting, flushing, stopping; no feedback loops; `init()` as a newcomer uses it (in a
//! subprocess, since it installs process-wide state).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use log::Log;
use tracing::{info, instrument, warn};
use tracing_redis::RedisLogger;
use tracing_redis::store::{Clock, ManualClock, Severity, Store};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::{T0, WAIT, builder, recent};
use crate::support::RedisServer;

#[test]
fn dropping_the_guard_writes_what_is_queued() {
    let server = RedisServer::start();
    let (layer, guard) = builder(&server)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let status = guard.status();
    let layer_status = layer.status();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..20 {
            info!("queued {i}");
        }
        assert_eq!(status.get().queued_records, 20);
        drop(guard);
        // After the guard: refused and counted.
        info!("too late");
    });
    assert_eq!(recent(&server, Severity::Info).len(), 20);
    let s = layer_status.get();
    assert_eq!((s.written, s.queued_records), (20, 0));
    assert_eq!(s.dropped.shutdown, 1);
}

#[test]
fn shutdown_gives_up_after_its_timeout_when_redis_is_away() {
    let mut server = RedisServer::start();
    server.kill();
    let (layer, guard) = builder(&server)
        .shutdown_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..5 {
            warn!("lost {i}");
        }
    });
    let start = Instant::now();
    let report = guard.shutdown();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(report.dropped.shutdown, 5, "{report:?}");
    assert_eq!((report.written, report.failed), (0, 0));
}

/// A clock that, when read on the worker thread, emits through `tracing` and `log` as a
/// library called by the worker might.
#[derive(Debug, Clone)]
struct NoisyClock {
    inner: ManualClock,
    dispatch: Arc<OnceLock<tracing::Dispatch>>,
    logger: Arc<OnceLock<RedisLogger>>,
    noisy_calls: Arc<AtomicUsize>,
}

impl Clock for NoisyClock {
    fn now(&self) -> SystemTime {
        if std::thread::current().name() == Some("tracing-redis") {
            self.noisy_calls.fetch_add(1, Ordering::SeqCst);
            if let Some(d) = self.dispatch.get() {
                tracing::dispatcher::with_default(d, || warn!("from the worker"));
            }
            if let Some(l) = self.logger.get() {
                l.log(
                    &log::Record::builder()
                        .level(log::Level::Warn)
                        .args(format_args!("from the worker, through log"))
                        .build(),
                );
            }
        }
        self.inner.now()
    }
}

#[test]
fn events_emitted_on_the_worker_thread_never_reenter_the_queue() {
    let server = RedisServer::start();
    let clock = NoisyClock {
        inner: ManualClock::at_unix(T0),
        dispatch: Arc::default(),
        logger: Arc::default(),
        noisy_calls: Arc::default(),
    };
    let (layer, guard) = builder(&server).clock(clock.clone()).build().unwrap();
    let (logger, _logger_guard) = builder(&server)
        .clock(clock.clone())
        .build_logger()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    clock.dispatch.set(dispatch.clone()).unwrap();
    clock.logger.set(logger).unwrap();

    for round in 1..=3u64 {
        tracing::dispatcher::with_default(&dispatch, || warn!("from the app {round}"));
        let report = guard.flush(WAIT);
        assert!(report.is_complete(), "{report:?}");
        assert_eq!((report.written, report.dropped.total()), (round, 0));
    }
    assert!(
        clock.noisy_calls.load(Ordering::SeqCst) >= 3,
        "the worker did emit"
    );
    let messages: Vec<String> = recent(&server, Severity::Warning)
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        messages,
        ["from the app 3", "from the app 2", "from the app 1"]
    );
}

pub(crate) const CHILD: &str = "TRACING_REDIS_TEST_CHILD";

#[instrument]
fn child_work() {
    info!(answer = 42, "inside child_work");
}

/// Runs one `#[ignore]`d test of this binary in a subprocess with `env`.
pub(crate) fn run_child(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD, "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child {test} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
#[ignore = "run in a subprocess by init_fills_the_keys_of_the_design"]
fn init_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let guard = tracing_redis::init();
    child_work();
    log::warn!("through log {}", 7);
    tracing::debug!("below the default level");
    let again = tracing_redis::try_init().unwrap_err();
    assert_eq!(again.kind(), tracing_redis::ErrorKind::AlreadyInstalled);
    drop(guard);
}

#[test]
fn init_fills_the_keys_of_the_design() {
    let server = RedisServer::start();
    let out = run_child(
        "pipeline_lifecycle::init_child",
        &[("REDIS_URL", &server.url()), ("RUST_LOG", "error")],
    );
    let name = std::env::current_exe()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let store = Store::new();
    let mut con = server.connection();
    let info = store.recent(&mut con, &name, Severity::Info, 10).unwrap();
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].message, "inside child_work");
    assert_eq!(info[0].spans, ["child_work"]);
    let warning = store
        .recent(&mut con, &name, Severity::Warning, 10)
        .unwrap();
    assert_eq!(warning[0].message, "through log 7");
    assert_eq!(
        warning[0].target,
        module_path!(),
        "the log record's own target"
    );
    assert!(
        store
            .recent(&mut con, &name, Severity::Debug, 10)
            .unwrap()
            .is_empty()
    );
    let common = store
        .common(&mut con, &name, Severity::Warning, 10)
        .unwrap();
    assert_eq!(common.current.messages, [("through log #".to_owned(), 1)]);
    let stats = store
        .stats(&mut con, "child_work", "AccessTime")
        .unwrap()
        .unwrap();
    assert_eq!(stats.count, 1);
    // RUST_LOG filters the stderr output only.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("inside child_work"), "{stderr}");
}

#[test]
#[ignore = "run in a subprocess by installed_logger_sets_the_max_level"]
fn logger_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (logger, guard) = tracing_redis::builder()
        .name("logonly")
        .level(tracing_subscriber::filter::LevelFilter::WARN)
        .build_logger()
        .unwrap();
    logger.install().unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Warn);
    log::info!("filtered by max level");
    log::error!("error {}", 1);
    let report = guard.flush(WAIT);
    assert_eq!(report.written, 1);
}

#[test]
fn installed_logger_sets_the_max_level() {
    let server = RedisServer::start();
    run_child(
        "pipeline_lifecycle::logger_child",
        &[("REDIS_URL", &server.url())],
    );
    let store = Store::new();
    let mut con = server.connection();
    let errors = store
        .recent(&mut con, "logonly", Severity::Error, 10)
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "error 1");
    assert!(
        store
            .recent(&mut con, "logonly", Severity::Info, 10)
            .unwrap()
            .is_empty()
    );
}
