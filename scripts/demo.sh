#!/usr/bin/env bash
# Runs the store example against Redis: `$REDIS_URL` when it is set and answers, otherwise a
# throwaway redis-server on a free port (no persistence, temporary directory) that is stopped
# at the end. Installs redis-server first when it is missing.
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

cargo run --quiet --example store
