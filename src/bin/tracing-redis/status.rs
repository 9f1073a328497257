//! `status`: is the server reachable, which version, how many keys per technique.

use serde_json::json;
use tracing_redis::Result;
use tracing_redis::query::scan;
use tracing_redis::store::keys::Keys;

use crate::cli::Context;
use crate::output;

pub fn run(ctx: &Context) -> Result<()> {
    let mut con = ctx.connect()?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut con)
        .map_err(|e| tracing_redis::Error::redis(e, "INFO server"))?;
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let counts = count_keys(&mut con, ctx.store.keys())?;
    if ctx.global.json {
        let mut keys = serde_json::Map::new();
        for (name, n) in &counts {
            keys.insert((*name).to_owned(), json!(n));
        }
        output::json_line(&json!({
            "reachable": true,
            "url": ctx.url(),
            "version": version,
            "namespace": ctx.store.keys().namespace(),
            "keys": keys,
        }))
    } else {
        output::line(&format!("server    {} (reachable)", ctx.url()))?;
        output::line(&format!("version   {version}"))?;
        if let Some(ns) = ctx.store.keys().namespace() {
            output::line(&format!("namespace {ns}"))?;
        }
        for (name, n) in &counts {
            output::line(&format!("{name:<9} {n} keys"))?;
        }
        Ok(())
    }
}

/// Counts keys per technique with SCAN (never KEYS, which blocks the server).
fn count_keys(con: &mut redis::Connection, keys: &Keys) -> Result<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
    for (name, patterns) in keys.technique_patterns() {
        let mut n = 0u64;
        for pattern in &patterns {
            n += scan(con, pattern)?.len() as u64;
        }
        out.push((name, n));
    }
    Ok(out)
}
