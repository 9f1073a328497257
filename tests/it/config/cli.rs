//! `tracing-redis config get|set` and `maintenance on|off|status`.

use predicates::prelude::*;
use serde_json::{Value, json};
use tracing_redis::store::Store;

use crate::support::RedisServer;

fn cli(server: &RedisServer) -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tracing-redis");
    cmd.env_remove("REDIS_URL").args(["--url", &server.url()]);
    cmd
}

fn stored(server: &RedisServer, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut server.connection())
        .unwrap()
}

fn json_out(output: &[u8]) -> Value {
    let text = std::str::from_utf8(output).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    serde_json::from_str(text).unwrap()
}

#[test]
fn set_then_get() {
    let server = RedisServer::start();
    cli(&server)
        .args([
            "config",
            "set",
            "app",
            "web",
            r#"{"workers": 4, "name": "w"}"#,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("set `config:app:web`"));
    let value: Value = serde_json::from_str(&stored(&server, "config:app:web").unwrap()).unwrap();
    assert_eq!(value, json!({"workers": 4, "name": "w"}));

    cli(&server)
        .args(["config", "get", "app", "web"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"workers\": 4"));
    let out = cli(&server)
        .args(["--json", "config", "get", "app", "web"])
        .assert()
        .success();
    let got = json_out(&out.get_output().stdout);
    assert_eq!(got["key"], "config:app:web");
    assert_eq!(got["type"], "app");
    assert_eq!(got["config"], json!({"workers": 4, "name": "w"}));
}

#[test]
fn set_announces_and_json_output_says_to_how_many() {
    let server = RedisServer::start();
    let mut sub = server.connection();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("ns:config-changed").unwrap();
    let out = cli(&server)
        .args([
            "--namespace",
            "ns",
            "--json",
            "config",
            "set",
            "redis",
            "logs",
        ])
        .arg(r#"{"url":"redis://10.0.0.5:6379/2"}"#)
        .assert()
        .success();
    let got = json_out(&out.get_output().stdout);
    assert_eq!(got["key"], "ns:config:redis:logs");
    assert_eq!(got["announced_to"], 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_payload::<String>().unwrap(), "ns:config:redis:logs");
}

#[test]
fn rejected_values_leave_the_stored_one_untouched() {
    let server = RedisServer::start();
    let mut con = server.connection();
    Store::new()
        .set_config(&mut con, "redis", "logs", &json!({"db": 1}))
        .unwrap();
    let before = stored(&server, "config:redis:logs");
    for bad in ["{db: 2}", "[1]", "3", ""] {
        cli(&server)
            .args(["config", "set", "redis", "logs", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("JSON"));
    }
    // Valid JSON, but not a connection.
    cli(&server)
        .args(["config", "set", "redis", "logs", r#"{"hots": "h"}"#])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("`config:redis:logs`").and(predicate::str::contains("hots")),
        );
    cli(&server)
        .args([
            "config",
            "set",
            "redis",
            "logs",
            r#"{"url": "redis://h/1", "db": 2}"#,
        ])
        .assert()
        .code(1);
    assert_eq!(stored(&server, "config:redis:logs"), before);
}

#[test]
fn get_reports_missing_and_malformed_values() {
    let server = RedisServer::start();
    cli(&server)
        .args(["config", "get", "app", "web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no configuration at `config:app:web`",
        ));
    redis::cmd("SET")
        .arg("config:app:web")
        .arg("{oops")
        .exec(&mut server.connection())
        .unwrap();
    cli(&server)
        .args(["config", "get", "app", "web"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("`config:app:web`")
                .and(predicate::str::contains("not valid JSON")),
        );
}

#[test]
fn maintenance_on_status_off() {
    let server = RedisServer::start();
    cli(&server)
        .args(["maintenance", "status"])
        .assert()
        .success()
        .stdout("maintenance: off\n");
    cli(&server)
        .args(["maintenance", "on"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("maintenance: on ("));
    assert!(
        Store::new()
            .is_under_maintenance(&mut server.connection())
            .unwrap()
    );
    let out = cli(&server)
        .args(["--json", "maintenance", "status"])
        .assert()
        .success();
    let got = json_out(&out.get_output().stdout);
    assert_eq!(got["maintenance"], true);
    assert!(
        got["value"].as_str().is_some_and(|v| !v.is_empty()),
        "{got}"
    );
    cli(&server)
        .args(["maintenance", "off"])
        .assert()
        .success()
        .stdout("maintenance: off\n");
    assert_eq!(stored(&server, "is-under-maintenance"), None);
    let out = cli(&server)
        .args(["--json", "maintenance", "status"])
        .assert()
        .success();
    assert_eq!(
        json_out(&out.get_output().stdout),
        json!({"maintenance": false, "value": null})
    );
}

#[test]
fn unreachable_server_is_a_runtime_error() {
    let mut server = RedisServer::start();
    server.kill();
    cli(&server)
        .args(["maintenance", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("tracing-redis: "));
}
