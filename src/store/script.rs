//! The Lua scripts, loaded once with `include_str!`, and a call type that either runs a
//! script directly (EVALSHA, reloaded on NOSCRIPT) or queues it into a MULTI/EXEC pipeline
//! (EVALSHA only, so the scripts must be loaded first: see [`load_all`]).

use std::sync::LazyLock;

use redis::{ConnectionLike, FromRedisValue, Pipeline, Script};

// Both rotated techniques share the hourly rotation: `rotate.lua` opens each script.
pub(crate) static ROTATE_COMMON: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("scripts/rotate.lua"),
        include_str!("scripts/rotate_common.lua")
    ))
});
pub(crate) static ROTATE_STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("scripts/rotate.lua"),
        include_str!("scripts/rotate_stats.lua")
    ))
});
pub(crate) static CLEAN_COUNTER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/clean_counter.lua")));

/// `SCRIPT LOAD`s every script of the crate, so EVALSHA inside a MULTI/EXEC cannot fail with
/// NOSCRIPT. Call it on every (re)connect.
pub(crate) fn load_all(con: &mut dyn ConnectionLike) -> redis::RedisResult<()> {
    for script in [&*ROTATE_COMMON, &*ROTATE_STATS, &*CLEAN_COUNTER] {
        script.load(con)?;
    }
    Ok(())
}

/// One call of one script, built once and either invoked or queued.
#[derive(Debug, Clone)]
pub(crate) struct ScriptCall {
    script: &'static Script,
    keys: Vec<String>,
    args: Vec<String>,
}

impl ScriptCall {
    pub(crate) fn new(script: &'static Script, keys: Vec<String>, args: Vec<String>) -> Self {
        ScriptCall { script, keys, args }
    }

    /// Runs the script now (EVALSHA, falling back to loading it on NOSCRIPT).
    pub(crate) fn invoke<T: FromRedisValue>(
        &self,
        con: &mut dyn ConnectionLike,
    ) -> redis::RedisResult<T> {
        let mut inv = self.script.prepare_invoke();
        for k in &self.keys {
            inv.key(k);
        }
        for a in &self.args {
            inv.arg(a);
        }
        inv.invoke(con)
    }

    /// The keys the call declares.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Appends the call to `pipe` as EVALSHA.
    pub(crate) fn queue(&self, pipe: &mut Pipeline) {
        pipe.cmd("EVALSHA")
            .arg(self.script.get_hash())
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
    }
}

/// Formats a float so that Redis (strtod) and Lua (tonumber) read back exactly the same value.
pub(crate) fn float_arg(v: f64) -> String {
    format!("{v:?}")
}
