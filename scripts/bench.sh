#!/usr/bin/env bash
# Runs the benchmarks. Each prints `<figure> ratio=<number>` lines, measured against a
# baseline on the same server in the same run; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

# --- geoip: IP → city import and batch lookups (BENCHMARKS.md, "IP lookup") ---
cargo bench --bench geoip
# --- end geoip ---
