#!/usr/bin/env bash
# Makes sure redis-server and redis-cli are on the PATH, installing them when run as root,
# and that the server ($REDIS_SERVER, else redis-server) is Redis 6.2 or later.
# Sourced by the other scripts.
ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "redis-server not found: installing it with apt-get" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || {
        echo "error: apt-get install redis-server failed" >&2
        return 1
      }
    else
      echo "error: redis-server (>= 6.2) is not installed; install it, e.g. 'sudo apt-get install -y redis-server', or put it on the PATH" >&2
      return 1
    fi
  fi
  check_redis_version
}

# Stops unless the server is at least 6.2: the scripts use ZADD GT/LT and ZMSCORE.
check_redis_version() {
  local bin="${REDIS_SERVER:-redis-server}" out version major minor
  out="$("$bin" --version 2>&1)" || {
    echo "error: '$bin --version' failed: $out" >&2
    return 1
  }
  # "Redis server v=7.0.15 sha=…"
  version="$(printf '%s\n' "$out" | grep -o 'v=[0-9][0-9]*\.[0-9][0-9]*' | head -n 1 | cut -d= -f2 || true)"
  if [ -z "$version" ]; then
    echo "error: cannot read the version of $bin from '$out'; Redis 6.2 or later is needed" >&2
    return 1
  fi
  major="${version%%.*}"
  minor="${version#*.}"
  if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 2 ]; }; then
    echo "error: $bin is Redis $version; tracing-redis needs 6.2 or later (ZADD GT/LT, ZMSCORE): install a newer redis-server or set REDIS_SERVER to one" >&2
    return 1
  fi
}

# Starts a throwaway redis-server (no persistence, temporary directory) on a free local TCP
# port. Sets THROWAWAY_PORT, THROWAWAY_PID and THROWAWAY_DIR; the caller traps EXIT with
# stop_throwaway_redis. A random port can be taken by someone else between choosing and
# binding, so the server counts as ours only when its own process id answers there.
start_throwaway_redis() {
  THROWAWAY_DIR=$(mktemp -d)
  THROWAWAY_PID=""
  THROWAWAY_PORT=""
  local candidate answer
  for _ in $(seq 1 20); do
    candidate=$((20000 + RANDOM % 30000))
    redis-server --port "$candidate" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$THROWAWAY_DIR" --logfile "$THROWAWAY_DIR/redis.log" --daemonize no \
      >/dev/null 2>&1 &
    THROWAWAY_PID=$!
    answer=""
    for _ in $(seq 1 100); do
      answer=$({ redis-cli -p "$candidate" info server 2>/dev/null || true; } | tr -d '\r' |
        sed -n 's/^process_id://p')
      [ -n "$answer" ] && break
      kill -0 "$THROWAWAY_PID" 2>/dev/null || break
      sleep 0.05
    done
    if [ "$answer" = "$THROWAWAY_PID" ]; then
      THROWAWAY_PORT=$candidate
      return 0
    fi
    kill "$THROWAWAY_PID" 2>/dev/null || true
    wait "$THROWAWAY_PID" 2>/dev/null || true
    THROWAWAY_PID=""
  done
  echo "error: could not start redis-server; its log:" >&2
  cat "$THROWAWAY_DIR/redis.log" >&2 2>/dev/null || true
  return 1
}

# Stops the server of start_throwaway_redis and removes its directory.
stop_throwaway_redis() {
  if [ -n "${THROWAWAY_PID:-}" ]; then
    kill "$THROWAWAY_PID" 2>/dev/null || true
    wait "$THROWAWAY_PID" 2>/dev/null || true
  fi
  if [ -n "${THROWAWAY_DIR:-}" ]; then
    rm -rf "$THROWAWAY_DIR"
  fi
}
