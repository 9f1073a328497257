//! The `tracing-redis` command-line tool.
fn main() {}
