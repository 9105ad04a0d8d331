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
if [[ -n "${REBOUND_TEST_POSTGRES_URL:-}" ]]; then
  echo "Postgres storage tests use $REBOUND_TEST_POSTGRES_URL"
  if command -v psql >/dev/null; then
    # Databases left by runs that were killed mid-test. Names start with
    # their creation time (rebound_test_<epoch seconds>_...); only those older
    # than three hours are dropped, so a run in progress elsewhere is safe.
    # Older names had a process id there instead (rebound_test_<pid>_...),
    # which cannot tell a live run from a dead one, so those are kept.
    cutoff=$(( $(date +%s) - 3 * 3600 ))
    psql "$REBOUND_TEST_POSTGRES_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'rebound\_test\_%'" |
      while read -r name; do
        created=$(cut -d_ -f3 <<<"$name")
        if [[ "$created" =~ ^[0-9]{10,}$ && "$created" -lt "$cutoff" ]]; then
          echo "Dropping $name, left by an earlier run"
          psql "$REBOUND_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
        fi
      done
  fi
fi

scripts/build.sh debug

printf '\n==> Rust tests (unit, storage, HTTP, binary)\n'
cargo test --workspace

printf '\n==> Browser tests (Playwright, Chromium)\n'
target_dir=${CARGO_TARGET_DIR:-target}
export REBOUND_BIN
REBOUND_BIN=$(cd "$target_dir" && pwd)/debug/rebound
(cd end2end && npx playwright test)
