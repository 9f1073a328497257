//! `tracing-redis status` and the exit codes every subcommand shares.

use assert_cmd::Command;
use tracing_redis::store::{Severity, Store};

use crate::support::RedisServer;

fn cli() -> Command {
    let mut cmd = Command::cargo_bin("tracing-redis").unwrap();
    cmd.env_remove("REDIS_URL");
    cmd
}

/// One key set of every store technique under `store`'s namespace.
fn write_some(store: &Store, con: &mut redis::Connection) {
    store
        .log_recent(con, "web", Severity::Info, "hello")
        .unwrap();
    store
        .log_recent(con, "web", Severity::Error, "boom")
        .unwrap();
    store
        .log_common(con, "web", Severity::Warning, "slow")
        .unwrap();
    store.incr_counter(con, "hits", 1).unwrap();
    store
        .record_timing(con, "GET /", "AccessTime", 0.1)
        .unwrap();
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().clone();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_counts_keys_per_technique_within_the_namespace() {
    let server = RedisServer::start();
    let mut con = server.connection();
    write_some(&Store::new().with_namespace("app").unwrap(), &mut con);
    // Keys outside the namespace are not counted.
    write_some(&Store::new(), &mut con);
    write_some(&Store::new().with_namespace("other").unwrap(), &mut con);

    let out = stdout_of(
        cli()
            .args(["--json", "--namespace", "app", "status", "--url"])
            .arg(server.url()),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "JSON Lines: {out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["reachable"], true);
    assert_eq!(v["url"], server.url());
    assert_eq!(v["namespace"], "app");
    assert!(v["version"].as_str().unwrap().starts_with('7'), "{v}");
    let want = serde_json::json!({
        "recent": 2,
        "common": 2,     // the set and its :start
        "counters": 8,   // 7 precisions and known:
        "stats": 2,      // the set and its :start
        "slowest": 1,
        "geoip": 0,
        "config": 0,
    });
    assert_eq!(v["keys"], want);

    let out = stdout_of(cli().args(["status", "--json", "--url"]).arg(server.url()));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["namespace"], serde_json::Value::Null);
    assert_eq!(v["keys"], want, "no namespace: only the unprefixed keys");
}

#[test]
fn human_output_names_server_version_and_counts() {
    let server = RedisServer::start();
    let mut con = server.connection();
    write_some(&Store::new().with_namespace("app").unwrap(), &mut con);

    let out = stdout_of(
        cli()
            .args(["status", "--namespace", "app", "--url"])
            .arg(server.url()),
    );
    assert!(
        out.contains(&server.url()) && out.contains("reachable"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("version") && l.contains('7')),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "namespace app"), "{out}");
    for (technique, n) in [("recent", 2), ("counters", 8), ("slowest", 1), ("geoip", 0)] {
        assert!(
            out.lines().any(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(technique) && words.next() == Some(&n.to_string())
            }),
            "{technique} {n} in\n{out}"
        );
    }
    assert!(!out.trim_start().starts_with('{'), "not JSON: {out}");
}

#[test]
fn url_falls_back_to_redis_url() {
    let server = RedisServer::start();
    let out = stdout_of(
        cli()
            .env("REDIS_URL", server.url())
            .args(["--json", "status"]),
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["url"], server.url());
    assert_eq!(v["reachable"], true);
    // --url wins over the variable.
    let out = stdout_of(
        cli()
            .env("REDIS_URL", "redis+unix:///nonexistent/redis.sock")
            .args(["--json", "status", "--url"])
            .arg(server.url()),
    );
    assert!(out.contains("\"reachable\":true"), "{out}");
}

fn assert_runtime_error(cmd: &mut Command, mention: &str) {
    let out = cmd.assert().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("tracing-redis: "), "{stderr}");
    assert!(
        stderr.contains(mention),
        "{stderr} should mention {mention}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unreachable_server_exits_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis+unix://{}/missing.sock", dir.path().display());
    assert_runtime_error(cli().args(["status", "--url", &url]), "missing.sock");
    assert_runtime_error(
        cli().args(["--json", "status", "--url", &url]),
        "cannot connect",
    );
}

#[test]
fn bad_url_exits_1_with_one_line() {
    assert_runtime_error(cli().args(["status", "--url", "nonsense://x"]), "--url");
    assert_runtime_error(cli().args(["status", "--url", ""]), "--url");
}

#[test]
fn a_refused_command_exits_1() {
    // `status` reads no key contents (so meets no WRONGTYPE); a server refusing a command is
    // its other runtime failure.
    let server = RedisServer::start();
    let mut con = server.connection();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-info")
        .exec(&mut con)
        .unwrap();
    assert_runtime_error(cli().args(["status", "--url"]).arg(server.url()), "INFO");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["nosuchcommand"][..],
        &["status", "--bogus"][..],
        &["status", "--url"][..],
    ] {
        let out = cli().args(args).assert().code(2).get_output().clone();
        assert!(!out.stderr.is_empty(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Help and version are not errors.
    let out = stdout_of(cli().arg("--help"));
    assert!(out.contains("status"), "{out}");
    cli().arg("--version").assert().success();
}

#[test]
fn empty_namespace_is_a_runtime_error() {
    let server = RedisServer::start();
    assert_runtime_error(
        cli()
            .args(["status", "--namespace", "", "--url"])
            .arg(server.url()),
        "namespace",
    );
}

#[test]
fn passwords_in_the_url_are_hidden_in_output_and_errors() {
    let server = RedisServer::start();
    redis::cmd("ACL")
        .arg(&["SETUSER", "app", "on", ">s3cret", "~*", "+@all"])
        .exec(&mut server.connection())
        .unwrap();
    let url = format!("{}?user=app&pass=s3cret", server.url());
    let out = stdout_of(cli().args(["status", "--json", "--url", &url]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["reachable"], true);
    assert_eq!(
        v["url"].as_str().unwrap(),
        format!("{}?user=app&pass=***", server.url())
    );
    let out = stdout_of(cli().args(["status", "--url", &url]));
    assert!(!out.contains("s3cret") && out.contains("pass=***"), "{out}");

    let wrong = format!("{}?user=app&pass=b4dpw", server.url());
    let out = cli().args(["status", "--url", &wrong]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("b4dpw") && err.contains("pass=***"), "{err}");
    let out = cli()
        .args(["status", "--url", "nope://u:s3cret@h/"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("s3cret") && err.contains("u:***@h"), "{err}");
}
