//! Printing: JSON Lines for `--json`, plain text otherwise. Output errors (a closed pipe)
//! end the command quietly.

use std::io::Write;

use tracing_redis::{Error, ErrorKind, Result};

/// Prints one JSON object as one line.
pub fn json_line(value: &serde_json::Value) -> Result<()> {
    line(&value.to_string())
}

/// Prints one line of text.
pub fn line(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| Error::new(ErrorKind::Io, format!("writing output: {e}")))
}

/// Whether stdout is a terminal (colour and charts only then).
pub fn is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}
