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
# Scorer plugins are WebAssembly components.
rustup target add wasm32-wasip2 >/dev/null

# The engine, and the plugin workspaces (built for wasm32-wasip2).
WORKSPACES=(Cargo.toml plugins/Cargo.toml plugins/tests/Cargo.toml)

echo "== fmt"
for w in "${WORKSPACES[@]}"; do cargo fmt --all --check --manifest-path "$w"; done
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
for w in plugins/Cargo.toml plugins/tests/Cargo.toml; do
  cargo clippy --workspace --release --target wasm32-wasip2 --manifest-path "$w" -- -D warnings
done
echo "== labelled data"
python3 evals/scoring/validate.py >/dev/null
echo "== build"
# One build of everything, with the same features the tests use.
cargo build --workspace --all-targets
"$CARGO_TARGET_DIR/debug/sparring" plugin build plugins
echo "== browser"
# Browser tests drive Debian's Chromium with playwright-core (no browser download).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd engine/server/tests/browser && npm ci --no-audit --no-fund --silent)
export SPARRING_REQUIRE_BROWSER=1
echo "== models"
"$CARGO_TARGET_DIR/debug/sparring" models pull --quiet smollm2-135m-instruct gemma3-270m multilingual-e5-small
echo "== tests"
cargo test --workspace 2>&1 | tee "${TMPDIR:-/tmp}/sparring-test.log"
echo "== plugin SDK tests (native)"
cargo test --manifest-path plugins/Cargo.toml -p sparring-scorer-sdk 2>&1 | tee -a "${TMPDIR:-/tmp}/sparring-test.log"
