#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, integration and doc tests, each test on its
# own throwaway redis-server. Installs redis-server first when it is missing, and the rustfmt
# and clippy components when rustup can.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-redis.sh
ensure_redis

# Whether `cargo fmt` and `cargo clippy` both run.
have_lint_tools() {
  cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1
}
if ! have_lint_tools; then
  if command -v rustup >/dev/null 2>&1; then
    echo "cargo fmt or cargo clippy is missing: running 'rustup component add rustfmt clippy'" >&2
    rustup component add rustfmt clippy ||
      echo "'rustup component add rustfmt clippy' failed (no network?)" >&2
  fi
  if ! have_lint_tools; then
    echo "error: cargo fmt and cargo clippy are needed: install them with 'rustup component add rustfmt clippy' (or your distribution's rustfmt and clippy packages)" >&2
    exit 1
  fi
fi

cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
cargo test --all-features
