//! The real-server test harness: every test starts its own `redis-server` on a unix socket
//! in a temporary directory (TCP only on request), without persistence unless asked, and the
//! server is killed and reaped when the handle drops. When a test panics, the server's log is
//! printed with the panic.
#![allow(dead_code)]

pub mod bench;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a test server is started.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `--appendonly yes --appendfsync always` instead of no persistence at all.
    pub aof: bool,
    /// Also listen on a free TCP port of 127.0.0.1.
    pub tcp: bool,
}

impl ServerOptions {
    pub fn aof(mut self) -> Self {
        self.aof = true;
        self
    }

    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    pub fn start(self) -> RedisServer {
        RedisServer::start_with(self)
    }
}

/// A `redis-server` of one test.
pub struct RedisServer {
    dir: tempfile::TempDir,
    socket: PathBuf,
    port: Option<u16>,
    opts: ServerOptions,
    child: Option<Child>,
}

/// The server binary: `$REDIS_SERVER`, else `redis-server` on the PATH.
pub fn redis_server_bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding an ephemeral port");
    listener.local_addr().expect("local address").port()
}

impl RedisServer {
    /// A server on a unix socket, no persistence.
    pub fn start() -> Self {
        Self::start_with(ServerOptions::default())
    }

    /// Options for a server started with [`ServerOptions::start`].
    pub fn options() -> ServerOptions {
        ServerOptions::default()
    }

    pub fn start_with(opts: ServerOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("trs")
            .tempdir()
            .expect("creating a temp dir for redis-server");
        let socket = dir.path().join("redis.sock");
        let port = opts.tcp.then(free_port);
        let mut server = RedisServer {
            dir,
            socket,
            port,
            opts,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let dir = self.dir.path();
        let mut cmd = Command::new(redis_server_bin());
        cmd.arg("--port")
            .arg(self.port.unwrap_or(0).to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--unixsocket")
            .arg(&self.socket)
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.opts.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start `{}` ({e}); install it with `apt-get install -y redis-server` \
                 or set REDIS_SERVER",
                redis_server_bin()
            )
        });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let client = self.client();
        loop {
            if let Ok(mut con) = client.get_connection() {
                // While loading the AOF the server answers LOADING; wait until PING works.
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("redis-server exited with {status}\n{}", self.log());
            }
            if Instant::now() > deadline {
                panic!("redis-server did not answer within 15 s\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `redis+unix:///…/redis.sock`.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// `redis://127.0.0.1:<port>/` for a server started with [`ServerOptions::tcp`].
    pub fn tcp_url(&self) -> String {
        let port = self
            .port
            .expect("server started without TCP; use RedisServer::options().tcp()");
        format!("redis://127.0.0.1:{port}/")
    }

    /// The TCP port of a server started with [`ServerOptions::tcp`].
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid unix socket URL")
    }

    pub fn connection(&self) -> redis::Connection {
        self.client()
            .get_connection()
            .unwrap_or_else(|e| panic!("connecting to the test server: {e}\n{}", self.log()))
    }

    /// Kills the server (SIGKILL) and reaps it; the socket stops answering.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Starts the server again on the same socket, port and data directory (after [`kill`]).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.spawn();
    }

    /// SIGKILL, then start again on the same socket and data dir.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The server's log file.
    pub fn log(&self) -> String {
        let path = self.dir.path().join("redis.log");
        match std::fs::read_to_string(&path) {
            Ok(s) => format!("--- redis-server log ({}) ---\n{s}", path.display()),
            Err(e) => format!("--- no redis-server log at {}: {e}", path.display()),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
        self.kill();
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held. For waiting on
/// a condition in Redis written by a background thread, never as a fixed sleep.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A sorted set's members with their scores, lowest first (`ZRANGE key 0 -1 WITHSCORES`).
pub fn zset(con: &mut redis::Connection, key: &str) -> Vec<(String, f64)> {
    redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(con)
        .unwrap_or_else(|e| panic!("ZRANGE {key} WITHSCORES: {e}"))
}
