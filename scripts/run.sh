#!/usr/bin/env bash
# Installs what is missing, builds Rebound in release mode and starts the
# dashboard on http://127.0.0.1:3000 with a SQLite database in ./rebound-data
# and the Heroku sandbox enabled, so a new team can try everything without a
# Heroku account. Monitors may reach private and loopback addresses here,
# for local trials. Extra arguments go to rebound (see `rebound --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
printf '\n==> Starting Rebound; its "listening" line shows the address (http://127.0.0.1:3000 unless --port or --host say otherwise). Ctrl-C stops it.\n'
exec "${CARGO_TARGET_DIR:-target}/release/rebound" --sandbox --allow-private-targets "$@"
