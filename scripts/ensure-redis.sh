#!/usr/bin/env bash
# Makes sure redis-server and redis-cli are on the PATH, installing them when run as root.
# Sourced by the other scripts.
ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
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
}
