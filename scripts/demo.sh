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

# redis-cli at URL $1: redis:// URLs go with -u, unix sockets with -s.
redis_cli_at() {
  local url=$1
  shift
  case "$url" in
    redis+unix://* | unix://*)
      local path=${url#*://}
      redis-cli -s "${path%%\?*}" "$@"
      ;;
    *) redis-cli -u "$url" "$@" ;;
  esac
}
ping() { redis_cli_at "$1" ping >/dev/null 2>&1; }

if [ -n "${REDIS_URL:-}" ] && ping "$REDIS_URL"; then
  echo "using Redis at $REDIS_URL" >&2
else
  if [ -n "${REDIS_URL:-}" ]; then
    echo "REDIS_URL=$REDIS_URL does not answer; starting a throwaway redis-server" >&2
  fi
  trap stop_throwaway_redis EXIT
  trap 'exit 130' INT TERM
  start_throwaway_redis
  export REDIS_URL="redis://127.0.0.1:$THROWAWAY_PORT/"
  echo "started a throwaway redis-server at $REDIS_URL" >&2
fi

cargo build --quiet --example demo --bin tracing-redis
target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target=${target:-target}
cli() { "$target/debug/tracing-redis" --namespace demo "$@"; }

# A fresh run each time: forget what an earlier demo wrote (only keys under `demo:`).
redis_cli_at "$REDIS_URL" --scan --pattern 'demo:*' | while IFS= read -r key; do
  redis_cli_at "$REDIS_URL" del "$key" >/dev/null
done

echo "== running the demo service for ${DEMO_SECONDS:-10} s (namespace demo)"
RUST_LOG=${RUST_LOG:-off} "$target/debug/examples/demo"

section() { printf '\n== %s\n' "$*"; }
section "tracing-redis --namespace demo tail -n 12      (recent logs, newest last)"
cli tail -n 12
section "tracing-redis --namespace demo common --level warning -n 8   (most frequent this hour)"
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
