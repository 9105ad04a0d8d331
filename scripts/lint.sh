#!/usr/bin/env bash
# Formatting and lints, for both halves of the app: the server (ssr) and the
# browser bundle (hydrate). Warnings fail.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy -p server --all-targets -- -D warnings
cargo clippy -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings
