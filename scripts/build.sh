#!/usr/bin/env bash
# Builds the browser bundle into target/site, then the rebound binary that
# embeds it. Usage: scripts/build.sh [release|debug]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-release}
target_dir=${CARGO_TARGET_DIR:-target}
site=target/site

printf '\n==> Building the browser bundle\n'
cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features \
  --features hydrate --profile wasm-release
rm -rf "$site"
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name rebound \
  "$target_dir/wasm32-unknown-unknown/wasm-release/app.wasm"
# Leptos loads pkg/rebound.wasm (LEPTOS_OUTPUT_NAME, set in .cargo/config.toml).
mv "$site/pkg/rebound_bg.wasm" "$site/pkg/rebound.wasm"
end2end/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int \
  -o "$site/pkg/rebound.wasm" "$site/pkg/rebound.wasm"
cp style/main.css "$site/pkg/rebound.css"
cp -R public/. "$site/"
node scripts/compress.mjs "$site"

printf '\n==> Building the rebound binary (%s)\n' "$profile"
if [[ "$profile" == release ]]; then
  cargo build -p server --release
  echo "Built $target_dir/release/rebound"
else
  cargo build -p server
  echo "Built $target_dir/debug/rebound"
fi
