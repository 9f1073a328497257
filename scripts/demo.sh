#!/usr/bin/env bash
# The demo: a simulated web service runs for about 10 s (DEMO_SECONDS) writing under the
# namespace `demo`, then the `tracing-redis` views show what landed: recent logs, common
# logs, a counter, the slowest contexts and one context's statistics.
# Redis: `$REDIS_URL` when it is set and answers, otherwise a throwaway redis-server on a free
# port (no persistence, temporary directory) that is stopped at the end. Installs
# redis-server first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

# redis-cli takes redis:// URLs with -u, unix sockets with -s.
ping() {
  case "$1" in
    redis+unix://* | unix://*)
      local path=${1#*://}
      redis-cli -s "${path%%\?*}" ping
      ;;
    *) redis-cli -u "$1" ping ;;
  esac >/dev/null 2>&1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 20000))
}

if [ -n "${REDIS_URL:-}" ] && ping "$REDIS_URL"; then
  echo "using Redis at $REDIS_URL" >&2
else
  if [ -n "${REDIS_URL:-}" ]; then
    echo "REDIS_URL=$REDIS_URL does not answer; starting a throwaway redis-server" >&2
  fi
  dir=$(mktemp -d)
  pid=
  cleanup() {
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  # A port taken between choosing and binding makes the server exit: try another one.
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
      --logfile "$dir/redis.log" --daemonize no >/dev/null 2>&1 &
    pid=$!
    url="redis://127.0.0.1:$port/"
    for _ in $(seq 1 200); do
      if ping "$url" || ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      sleep 0.05
    done
    if ping "$url"; then
      break
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  done
  if [ -z "$pid" ]; then
    echo "error: could not start redis-server; its log:" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
  fi
  export REDIS_URL="$url"
  echo "started a throwaway redis-server at $REDIS_URL" >&2
fi

cargo build --quiet --example demo --bin tracing-redis
target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target=${target:-target}
cli() { "$target/debug/tracing-redis" --namespace demo "$@"; }

# A fresh run each time: forget what an earlier demo wrote (only keys under `demo:`).
redis_cli() {
  case "$REDIS_URL" in
    redis+unix://* | unix://*) local path=${REDIS_URL#*://}; redis-cli -s "${path%%\?*}" "$@" ;;
    *) redis-cli -u "$REDIS_URL" "$@" ;;
  esac
}
redis_cli --scan --pattern 'demo:*' | while IFS= read -r key; do
  redis_cli del "$key" >/dev/null
done

echo "== running the demo service for ${DEMO_SECONDS:-10} s (namespace demo)"
RUST_LOG=${RUST_LOG:-off} "$target/debug/examples/demo"

section() { printf '\n== %s\n' "$*"; }
section "tracing-redis --namespace demo tail -n 12      (recent logs, newest last)"
cli tail -n 12
section "tracing-redis --namespace demo common -n 8     (most frequent warnings this hour)"
cli common --level warning -n 8
section "tracing-redis --namespace demo common --level error -n 5"
cli common --level error -n 5
section "tracing-redis --namespace demo counters"
cli counters
section "tracing-redis --namespace demo counter 'requests;route=GET /;status=200' --precision 1s --since 12s"
cli counter 'requests;route=GET /;status=200' --precision 1s --since 12s
section "tracing-redis --namespace demo slowest          (contexts by mean access time)"
cli slowest -n 10
section "tracing-redis --namespace demo stats 'POST /orders'"
cli stats 'POST /orders'
section "tracing-redis --namespace demo slowest --type Histogram   (metrics histograms)"
cli slowest --type Histogram -n 5
