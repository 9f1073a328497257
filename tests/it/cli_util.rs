//! Running the `tracing-redis` binary against a test server, and reading its output.

use assert_cmd::Command;
use serde_json::Value;

use crate::support::RedisServer;

/// The binary with `--url` pointing at `server` (and no `REDIS_URL` from the environment).
pub fn cli(server: &RedisServer) -> Command {
    cli_at(&server.url())
}

/// The binary with `--url url`.
pub fn cli_at(url: &str) -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tracing-redis");
    cmd.env_remove("REDIS_URL").arg("--url").arg(url);
    cmd
}

/// Runs `cmd` with `args`, expects success, returns stdout.
pub fn stdout(mut cmd: Command, args: &[&str]) -> String {
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cmd` with `--json` and `args`, expects success, parses every line as one JSON object.
pub fn json(mut cmd: Command, args: &[&str]) -> Vec<Value> {
    cmd.arg("--json");
    parse_lines(&stdout(cmd, args))
}

pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

/// Runs `cmd` with `args`, expects exit `code`, returns stderr, which must be one line
/// when the code is 1 (a runtime error).
pub fn fails(mut cmd: Command, args: &[&str], code: i32) -> String {
    let out = cmd.args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    if code == 1 {
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("tracing-redis: "), "{stderr}");
    }
    stderr
}
