//! Arguments shared by every subcommand, and dispatch.

use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_redis::store::Store;
use tracing_redis::{Error, Result, redact_url};

use crate::{config, counters, geoip, logs, stats, status, top};

/// Look at what a service keeps in Redis: logs, counters, statistics, IP data, configuration.
#[derive(Debug, Parser)]
#[command(name = "tracing-redis", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every subcommand shares.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Redis URL (`redis://`, `redis+unix://`).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/"
    )]
    pub url: String,
    /// Namespace the keys live under (`NS:recent:…`).
    #[arg(long, global = true)]
    pub namespace: Option<String>,
    /// Print JSON Lines (one object per line) instead of the human view.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Whether the server is reachable, its version, and how many keys each technique holds.
    Status,
    /// Recent logs, newest last, merged across severities by time.
    Tail(logs::TailArgs),
    /// The most frequent messages of the common logs, with the hour they were counted in.
    Common(logs::CommonArgs),
    /// The known counters and the precisions each is kept at.
    Counters,
    /// One counter's values over a time window (a chart on a terminal).
    Counter(counters::CounterArgs),
    /// Trim counters to their last 120 buckets and forget idle ones.
    CleanCounters(counters::CleanArgs),
    /// A context's statistics (count, mean, stddev, min, max), this hour and the last.
    Stats(stats::StatsArgs),
    /// The slowest contexts by mean.
    Slowest(stats::SlowestArgs),
    /// A live dashboard: recent logs, common messages, a counter, the slowest contexts.
    Top(top::TopArgs),
    /// Read or change a component's configuration (`config:TYPE:COMPONENT`).
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Put the service into maintenance, take it out, or show whether it is.
    #[command(subcommand)]
    Maintenance(config::MaintenanceCommand),
    /// IP → city: import GeoLite2 or legacy GeoLiteCity CSV files, look addresses up.
    Geoip {
        #[command(subcommand)]
        command: geoip::GeoipCommand,
    },
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(cli.global)?;
    match cli.command {
        Command::Status => status::run(&ctx),
        Command::Tail(args) => logs::tail(&ctx, &args),
        Command::Common(args) => logs::common(&ctx, &args),
        Command::Counters => counters::list(&ctx),
        Command::Counter(args) => counters::show(&ctx, &args),
        Command::CleanCounters(args) => counters::clean(&ctx, &args),
        Command::Stats(args) => stats::stats(&ctx, &args),
        Command::Slowest(args) => stats::slowest(&ctx, &args),
        Command::Top(args) => top::run(&ctx, &args),
        Command::Config(command) => config::run(&ctx, command),
        Command::Maintenance(command) => config::maintenance(&ctx, command),
        Command::Geoip { command } => geoip::run(&ctx, command),
    }
}

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may wait for its reply (or for its write) once connected.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What every subcommand gets: the flags, the store for the namespace, and a client.
pub struct Context {
    pub global: Global,
    pub store: Store,
    pub client: redis::Client,
}

impl Context {
    fn new(global: Global) -> Result<Self> {
        let store = match &global.namespace {
            Some(ns) => Store::new().with_namespace(ns)?,
            None => Store::new(),
        };
        let client = redis::Client::open(global.url.as_str()).map_err(|e| {
            let url = redact_url(&global.url);
            Error::invalid_input(format!("invalid --url {url:?}: {e}"))
        })?;
        Ok(Context {
            global,
            store,
            client,
        })
    }

    /// A connection with timeouts, so that a server that is unreachable or stops answering
    /// ends the command instead of hanging it. Commands that follow (`tail --follow`, `top`)
    /// poll between short requests, so the timeouts never cut their waits.
    pub fn connect(&self) -> Result<redis::Connection> {
        let failed = |e| Error::redis(e, format!("cannot connect to {}", self.url()));
        let con = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(failed)?;
        con.set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| con.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(failed)?;
        Ok(con)
    }

    /// The `--url`, with any password hidden, for messages and views.
    pub fn url(&self) -> String {
        redact_url(&self.global.url)
    }
}
