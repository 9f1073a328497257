#!/usr/bin/env bash
# Runs the benchmarks (release build) against a redis-server of their own on a free local
# TCP port, and ends with one line per figure: `<figure> ratio=<number>`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

dir=$(mktemp -d)
pid=""
port=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

# A random port in 20000-49999; the server is ours only if its process id answers there.
answer=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 30000))
  redis-server --port "$candidate" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
  pid=$!
  for _ in $(seq 1 100); do
    answer=$({ redis-cli -p "$candidate" info server 2>/dev/null || true; } | tr -d '\r' |
      sed -n 's/^process_id://p')
    [ -n "$answer" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ "$answer" = "$pid" ]; then
    port=$candidate
    break
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
[ -n "$port" ] || { echo "error: could not start redis-server (log: $dir/redis.log)" >&2; exit 1; }
export BENCH_REDIS_PORT=$port

out="$dir/bench.out"
cargo bench --bench pipeline | tee "$out"
cargo bench --bench config | tee -a "$out"
cargo bench --bench geoip | tee -a "$out"
cargo bench --bench counters | tee -a "$out"

echo
grep ' ratio=' "$out"
