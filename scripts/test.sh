#!/usr/bin/env bash
# Runs the test suite: database tests on PostgreSQL (when reachable), then everything on SQLite.
# Outside CI a missing PostgreSQL or Chromium skips those suites with a note; under CI=true it fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${CARELINE_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
notes=()

pg_ok() {
  CARELINE_TEST_PG_URL="$PG_URL" $BIN/python - <<'PY' >/dev/null 2>&1
import os, psycopg
url = os.environ["CARELINE_TEST_PG_URL"].replace("postgresql+psycopg://", "postgresql://")
psycopg.connect(url, connect_timeout=3).close()
PY
}

if pg_ok; then
  echo "== database tests on PostgreSQL"
  # The browser tests too: live screens wait on LISTEN/NOTIFY there, on SQLite they poll.
  CARELINE_TEST_DB=postgresql $BIN/pytest -m db -q -p no:cacheprovider || exit $?
elif [ "${CI:-}" = "true" ]; then
  echo "error: PostgreSQL does not answer at $PG_URL and CI=true forbids skipping it" >&2
  exit 1
else
  notes+=("SKIPPED the PostgreSQL run: nothing answers at $PG_URL. Start PostgreSQL (see README) or set CARELINE_TEST_PG_URL.")
fi

if ! command -v chromium >/dev/null 2>&1 && [ "${CI:-}" != "true" ]; then
  notes+=("SKIPPED browser tests: no Chromium. Install it with: apt-get install -y chromium")
fi
for n in "${notes[@]}"; do echo "NOTE: $n"; done

echo "== whole suite on SQLite"
exec $BIN/pytest -q -p no:cacheprovider
