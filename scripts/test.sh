#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests, storage tests on
# SQLite and Postgres, HTTP and binary tests, and the browser tests in
# Chromium. Postgres: REBOUND_TEST_POSTGRES_URL (an admin connection string),
# else the server on 127.0.0.1:5432 when it accepts connections. REBOUND_REQUIRE_POSTGRES=1
# turns a missing Postgres into a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --browser

if [[ -z "${REBOUND_TEST_POSTGRES_URL:-}" ]]; then
  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export REBOUND_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
  elif [[ "${REBOUND_REQUIRE_POSTGRES:-}" == 1 ]]; then
    echo "error: REBOUND_REQUIRE_POSTGRES=1 but no Postgres accepts connections on 127.0.0.1:5432 and REBOUND_TEST_POSTGRES_URL is unset" >&2
    exit 1
  else
    echo "note: no Postgres on 127.0.0.1:5432; storage tests run on SQLite only"
  fi
fi
if [[ -n "${REBOUND_TEST_POSTGRES_URL:-}" ]] && command -v psql >/dev/null; then
  # Databases left by an earlier run that was killed mid-test.
  psql "$REBOUND_TEST_POSTGRES_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'rebound\_test\_%'" |
    while read -r name; do psql "$REBOUND_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"; done
fi

scripts/build.sh debug

printf '\n==> Rust tests (unit, storage, HTTP, binary)\n'
cargo test --workspace

printf '\n==> Browser tests (Playwright, Chromium)\n'
target_dir=${CARGO_TARGET_DIR:-target}
export REBOUND_BIN
REBOUND_BIN=$(cd "$target_dir" && pwd)/debug/rebound
(cd end2end && npx playwright test)
