#!/usr/bin/env bash
# Conformance and fuzzing of the API against its own OpenAPI document (issue 24):
# schemathesis runs every operation of /api/openapi.json against a running `flowcfd serve`,
# signed in as an ordinary user, and fails on a 5xx, a status, content type, header or body
# that the document does not allow (errors must be application/problem+json), and on bad
# input that is accepted. Every failure it found is a regression test in tests/openapi.rs.
#
#   tests/schemathesis/run.sh FLOWCFD_BIN [PYTHON]
#
# FLOWCFD_BIN is the debug binary `cargo test` builds (.ci/test passes it): CI builds no
# release binary (that would add many minutes), and the debug build's overflow checks
# turn arithmetic slips into 5xx that schemathesis reports. PYTHON is the interpreter of
# the environment schemathesis 4.32.5 is installed in (.ci/test's); it runs `st` through
# st.py (a workaround for a CPython bug, see there). The server gets a throw-away data directory and SQLite
# database on a free loopback port and is stopped by its PID. Bounded: at most 50 examples
# per operation, 10 s per request, and 5 minutes for the whole run. Reproduce one failure
# with the `curl` line schemathesis prints, or rerun with `--seed` from its summary.
set -euo pipefail
BIN=${1:?usage: tests/schemathesis/run.sh FLOWCFD_BIN [PYTHON]}
PY=${2:-python3}
BIN=$(realpath "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/flowcfd-schemathesis.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
# The sign-in rate limit is per address; every request here comes from 127.0.0.1, and a
# limit of 20 a minute would turn most auth examples into 429s that test nothing.
(cd "$DIR" && FLOWCFD_LIMITS__AUTH_PER_MINUTE=100000 exec "$BIN" serve --bind "127.0.0.1:$PORT" \
  --data-dir "$DIR/data" >"$DIR/serve.log" 2>&1) &
PID=$!
for _ in $(seq 300); do
  curl -fsS "$URL/health/ready" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { echo "flowcfd serve did not start:"; cat "$DIR/serve.log"; exit 1; }
  sleep 0.1
done

# The first account becomes the server's administrator: a throw-away one takes that, so
# the fuzzed user is an ordinary one. That is who the API must hold up against, and it
# keeps the run from starting validation runs (server administrators only), which would
# spend minutes of CPU on OpenFOAM.
PW=vortex-shedding-42
post() { curl -fsS -H 'content-type: application/json' -d "$2" "$URL$1"; }
post /api/auth/register "{\"email\":\"admin@example.org\",\"password\":\"$PW\",\"name\":\"Admin\"}" >/dev/null
post /api/auth/register "{\"email\":\"fuzz@example.org\",\"password\":\"$PW\",\"name\":\"Fuzz\"}" >/dev/null
TOKEN=$(post /api/auth/login "{\"email\":\"fuzz@example.org\",\"password\":\"$PW\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
# An API token: it outlives the access token's 15 minutes, and no fuzzed logout revokes it.
APITOKEN=$(curl -fsS -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"schemathesis"}' "$URL/api/tokens" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

start=$(date +%s)
# Every check but positive_data_acceptance: the document states types, required members
# and the bounds the server keeps, not every domain rule (a name's characters, whether an
# email address is one, a reset link that exists, a case spec's physics). Schema-valid
# input that breaks one is refused with a 4xx problem+json whose detail says what to fix,
# which the other checks hold it to.
# Left out: GET /api/jobs/{id}/ws, a WebSocket handshake, which schemathesis does not
# speak (tests/job_events.rs covers it). Nothing else is: with random ids, logout,
# password-reset confirmation and token revocation touch nothing of this user's.
status=0
# From the throw-away directory: st and Hypothesis keep nothing in the checkout.
(cd "$DIR" && timeout 300 "$PY" "$HERE/st.py" run "$URL/api/openapi.json" \
  -H "Authorization: Bearer $APITOKEN" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing \
  --max-examples 50 \
  --request-timeout 10 \
  --workers 4 \
  --seed 24 \
  --exclude-path '/api/jobs/{id}/ws' \
  --suppress-health-check all \
  --generation-database none \
  --no-color \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-$DIR/report}") || status=$?
echo "schemathesis: $(($(date +%s) - start)) s, exit $status"
if [ "$status" -ne 0 ]; then
  echo "--- the server's log (5xx are logged with their detail):"
  grep -E '"level":"(ERROR|WARN)"|ERROR|panicked' "$DIR/serve.log" | tail -n 40 || true
fi
exit "$status"
