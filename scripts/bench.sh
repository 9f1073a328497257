#!/usr/bin/env bash
# Every bench, each on its own throwaway redis-server; figures go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

cargo bench --bench config
