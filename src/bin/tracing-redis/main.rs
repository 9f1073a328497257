//! The `tracing-redis` command-line tool: look at what a service keeps in Redis.
//!
//! Exit codes: 0 on success, 1 with a one-line reason on stderr for any runtime error
//! (unreachable server, wrong key type, …), 2 for usage errors.

mod chart;
mod cli;
mod config;
mod counters;
mod dashboard;
mod geoip;
mod logs;
mod output;
mod paint;
mod parse;
mod stats;
mod status;
mod top;
mod units;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // Prints help/version to stdout (exit 0) or the usage error to stderr (exit 2).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::stdout().flush();
            let msg = e.to_string().replace('\n', " ");
            let _ = writeln!(std::io::stderr(), "tracing-redis: {msg}");
            ExitCode::from(1)
        }
    }
}
