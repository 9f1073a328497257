//! Helpers shared by the counter tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use tracing_redis::store::{ManualClock, PRECISIONS, Store};
use tracing_redis::{Guard, RedisLayer};
use tracing_subscriber::prelude::*;

use crate::pipeline_util::builder;
use crate::support::{RedisServer, bench};

/// A dispatcher holding only a layer writing to `server` on `clock`; flushes only when
/// asked, so a test decides what one flush carries.
pub fn dispatch(server: &RedisServer, clock: &ManualClock) -> (tracing::Dispatch, Guard) {
    let (layer, guard) = layer(server, clock);
    (
        tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

/// A layer writing to `server` on `clock`, flushing only when asked.
pub fn layer(server: &RedisServer, clock: &ManualClock) -> (RedisLayer, Guard) {
    builder(server)
        .clock(clock.clone())
        .flush_interval(std::time::Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// Counter `name` at precision `p`: bucket start → count.
pub fn buckets(server: &RedisServer, name: &str, p: u64) -> BTreeMap<i64, i64> {
    Store::new()
        .counter(&mut server.connection(), name, p)
        .unwrap()
        .into_iter()
        .collect()
}

/// The sum of counter `name` at every precision (they must agree).
pub fn total(server: &RedisServer, name: &str) -> i64 {
    let totals: Vec<i64> = PRECISIONS
        .iter()
        .map(|p| buckets(server, name, *p).values().sum())
        .collect();
    assert!(
        totals.windows(2).all(|w| w[0] == w[1]),
        "precisions disagree on `{name}`: {totals:?}"
    );
    totals[0]
}

/// Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
pub fn command_calls(server: &RedisServer) -> HashMap<String, u64> {
    bench::command_calls(&mut server.connection())
}
