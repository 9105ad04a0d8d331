#!/usr/bin/env bash
# Installs what building Rebound needs and is missing: the wasm32 target, the
# wasm-bindgen CLI matching Cargo.lock, and the npm packages of end2end/
# (wasm-opt from binaryen, Playwright). With --browser it also installs
# Debian's Chromium for the browser tests. Every tool comes from crates.io,
# npm or Debian; nothing is downloaded from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=false
[[ "${1:-}" == "--browser" ]] && want_browser=true

step() { printf '\n==> %s\n' "$*"; }

for tool in cargo rustup npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed. Install Rust with rustup and Node.js 20 with npm first." >&2
    exit 1
  fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  step "Installing wasm-bindgen-cli $bindgen_version (about 2 minutes)"
  # Without --locked: the CLI's own lock file pins crate versions that
  # crates.io mirrors do not always serve.
  cargo install wasm-bindgen-cli --version "=$bindgen_version"
fi

if [[ ! -x end2end/node_modules/.bin/wasm-opt || end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]]; then
  step "Installing end2end npm packages (binaryen, Playwright)"
  (cd end2end && npm ci --no-audit --no-fund)
fi

if $want_browser && [[ ! -x /usr/bin/chromium ]]; then
  step "Installing Chromium from Debian"
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
fi
