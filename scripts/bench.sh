#!/usr/bin/env bash
# Runs the benchmarks (release build) against a redis-server of their own on a free local
# TCP port, and ends with one line per figure: `<figure> ratio=<number>`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

trap stop_throwaway_redis EXIT
start_throwaway_redis
export BENCH_REDIS_PORT=$THROWAWAY_PORT

out="$THROWAWAY_DIR/bench.out"
cargo bench --bench pipeline | tee "$out"
cargo bench --bench config | tee -a "$out"
cargo bench --bench geoip | tee -a "$out"
cargo bench --bench counters | tee -a "$out"

echo
grep ' ratio=' "$out"
