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
