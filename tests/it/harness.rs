//! The harness itself: servers are isolated, restartable, persistent on request.

use crate::support::RedisServer;

#[test]
fn servers_are_isolated() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    let (mut ca, mut cb) = (a.connection(), b.connection());
    redis::cmd("SET").arg("k").arg("a").exec(&mut ca).unwrap();
    let got: Option<String> = redis::cmd("GET").arg("k").query(&mut cb).unwrap();
    assert_eq!(got, None);
}

#[test]
fn aof_server_keeps_data_across_sigkill() {
    let mut s = RedisServer::options().aof().start();
    let mut con = s.connection();
    redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
    s.restart();
    let got: Option<String> = redis::cmd("GET")
        .arg("k")
        .query(&mut s.connection())
        .unwrap();
    assert_eq!(got.as_deref(), Some("v"));
}

#[test]
fn plain_server_forgets_on_restart_and_tcp_works() {
    let mut s = RedisServer::options().tcp().start();
    let mut con = redis::Client::open(s.tcp_url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("SET").arg("k").arg("v").exec(&mut con).unwrap();
    s.restart();
    let got: Option<String> = redis::cmd("GET")
        .arg("k")
        .query(&mut s.connection())
        .unwrap();
    assert_eq!(got, None);
    assert!(s.log().contains("Ready to accept connections"));
}
