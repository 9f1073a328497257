#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, integration and doc tests, each test on its
# own throwaway redis-server. Installs redis-server first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
cargo test --all-features
