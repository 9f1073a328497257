//! Exit codes and messages: an unreachable server and keys of the wrong type end a command
//! with 1 and one line on stderr; bad arguments with 2 and what is accepted.

use std::time::{Duration, Instant};

use tracing_redis::store::Store;

use crate::cli_util::{cli, cli_at, fails};
use crate::support::RedisServer;

/// Every read command, with the arguments it needs.
const COMMANDS: [&[&str]; 8] = [
    &["tail"],
    &["common"],
    &["counters"],
    &["counter", "hits", "--precision", "1m"],
    &["stats", "ctx"],
    &["slowest"],
    &["clean-counters", "--once"],
    &["tail", "--follow"],
];

#[test]
fn an_unreachable_server_ends_every_command_with_one_line() {
    // A socket that does not exist: no other test can start a server there (a freed TCP
    // port could be taken by one of the servers started in parallel).
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis+unix://{}", dir.path().join("absent.sock").display());
    for args in COMMANDS {
        let err = fails(cli_at(&url), args, 1);
        assert!(
            err.starts_with(&format!(
                "tracing-redis: connection error: cannot connect to {url}"
            )),
            "{args:?}: {err}"
        );
    }
    let err = fails(cli_at("redis+unix:///nonexistent/redis.sock"), &["tail"], 1);
    assert!(err.contains("/nonexistent/redis.sock"), "{err}");
}

#[test]
fn a_server_that_stops_answering_ends_the_command() {
    let server = RedisServer::start();
    let mut con = server.connection();
    Store::new().incr_counter(&mut con, "hits", 1).unwrap();
    // Writes (the cleaning script) wait until the pause ends: long after the command's
    // own timeout; reads still answer, so connecting and listing counters work.
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "120000", "WRITE"])
        .exec(&mut con)
        .unwrap();
    let start = Instant::now();
    let mut cmd = cli(&server);
    cmd.timeout(Duration::from_secs(60));
    let err = fails(cmd, &["clean-counters", "--once"], 1);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
    assert!(err.contains("connection error: cleaning `count:"), "{err}");
    redis::cmd("CLIENT").arg("UNPAUSE").exec(&mut con).unwrap();
}

#[test]
fn a_key_of_the_wrong_type_names_the_key() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let cases: [(&str, &[&str]); 7] = [
        ("recent:x:info", &["tail"]),
        ("common:{x:error}", &["common"]),
        ("count:60:hits", &["counter", "hits", "--precision", "1m"]),
        ("stats:{ctx:AccessTime}", &["stats", "ctx"]),
        ("slowest:AccessTime", &["slowest"]),
        ("known:", &["counters"]),
        ("known:", &["clean-counters", "--once"]),
    ];
    for (key, args) in cases {
        redis::cmd("SET")
            .arg(key)
            .arg("not mine")
            .exec(&mut con)
            .unwrap();
        let err = fails(cli(&server), args, 1);
        assert!(err.contains("WRONGTYPE"), "{args:?}: {err}");
        assert!(err.contains(&format!("`{key}`")), "{args:?}: {err}");
        redis::cmd("DEL").arg(key).exec(&mut con).unwrap();
    }
    // The same through --follow, once running.
    redis::cmd("SET")
        .arg("recent:y:info")
        .arg("x")
        .exec(&mut con)
        .unwrap();
    let err = fails(cli(&server), &["tail", "--follow", "--name", "y"], 1);
    assert!(
        err.contains("WRONGTYPE") && err.contains("recent:y:info"),
        "{err}"
    );
}

#[test]
fn bad_arguments_are_usage_errors_that_say_what_is_accepted() {
    let server = RedisServer::start();
    let cases: [(&[&str], &str); 10] = [
        (
            &["tail", "--level", "loud"],
            "expected trace, debug, info, warning, error or critical",
        ),
        (&["common", "--level", "loud"], "unknown severity \"loud\""),
        (
            &["counter", "hits", "--precision", "7s"],
            "expected auto or one of 1s, 5s, 1m, 5m, 1h, 5h, 1d",
        ),
        (
            &["counter", "hits", "--since", "10x"],
            "invalid duration \"10x\"",
        ),
        (
            &["counter", "hits", "--since", "0"],
            "expected e.g. 30s, 10m, 2h, 1d",
        ),
        (&["counter"], "<NAME>"),
        (&["stats"], "<CONTEXT>"),
        (&["slowest", "-n", "many"], "invalid digit"),
        (&["top", "--precision", "2m"], "unknown precision \"2m\""),
        (&["nosuch"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let err = fails(cli(&server), args, 2);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn top_needs_a_terminal_and_has_no_json_view() {
    let server = RedisServer::start();
    let err = fails(cli(&server), &["top"], 1);
    assert!(err.contains("top needs a terminal"), "{err}");
    let err = fails(cli(&server), &["--json", "top"], 1);
    assert!(err.contains("top has no JSON view"), "{err}");
}
