#!/usr/bin/env bash
# All of sparring's tests, on a fresh machine: formatting, lints, and every test
# including the ones that run real models (pulled once into a shared cache).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparring/target}"
export SPARRING_HOME="${SPARRING_HOME:-$HOME/.cache/sparring/home}"
# Tests that need a model fail instead of skipping when it is missing.
export SPARRING_REQUIRE_MODELS=1
export CARGO_TERM_COLOR=never

rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== fmt"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== build"
# One build of everything, with the same features the tests use.
cargo build --workspace --all-targets
echo "== models"
"$CARGO_TARGET_DIR/debug/sparring" models pull --quiet smollm2-135m-instruct gemma3-270m
echo "== tests"
cargo test --workspace 2>&1 | tee "${TMPDIR:-/tmp}/sparring-test.log"
