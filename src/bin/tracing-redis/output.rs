//! Printing: JSON Lines for `--json`, plain text otherwise. Output errors (a closed pipe)
//! end the command quietly.

use std::io::Write;

use tracing_redis::{Error, Result};

/// Prints one JSON object as one line.
pub fn json_line(value: &serde_json::Value) -> Result<()> {
    line(&value.to_string())
}

/// Prints one line of text.
pub fn line(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| Error::io(e, "writing output"))
}

/// Whether `e` is a write to a closed pipe (`… | head`): the reader has all it wanted.
pub fn is_broken_pipe(e: &Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Whether stdout is a terminal (colour and charts only then).
pub fn is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}
