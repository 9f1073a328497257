//! What the benches share (and the tests, for reading Redis's command statistics): the
//! server a bench runs against, medians, and `INFO commandstats`.

use std::collections::HashMap;

use super::RedisServer;

/// The server a bench runs against: the one on `$BENCH_REDIS_PORT` (see `scripts/bench.sh`),
/// else a throwaway one on TCP, killed when this drops.
pub struct Target {
    pub host: String,
    pub port: u16,
    _server: Option<RedisServer>,
}

impl Target {
    pub fn get() -> Self {
        let host = "127.0.0.1".to_owned();
        if let Some(port) = std::env::var("BENCH_REDIS_PORT")
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
        {
            return Target {
                host,
                port,
                _server: None,
            };
        }
        let server = RedisServer::options().tcp().start();
        Target {
            host,
            port: server.port().expect("a TCP port: started with .tcp()"),
            _server: Some(server),
        }
    }

    /// `redis://<host>:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.host, self.port)
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
pub fn command_calls(con: &mut redis::Connection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    parse_commandstats(&info)
}

/// `cmdstat_hincrby:calls=80,usec=…` lines → {"hincrby": 80}.
pub fn parse_commandstats(info: &str) -> HashMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}
