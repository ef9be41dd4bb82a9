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
# spend minutes of CPU on OpenFOAM. A second, short pass fuzzes /api/admin/* as the
# administrator, so that those handlers are reached past their 403.
PW=vortex-shedding-42
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
post() { curl -fsS -H 'content-type: application/json' "${@:3}" -d "$2" "$URL$1"; }
# An API token of a new account: it outlives the access token's 15 minutes, and no
# fuzzed logout revokes it.
api_token() {
  post /api/auth/register "{\"email\":\"$1\",\"password\":\"$PW\",\"name\":\"$1\"}" >/dev/null
  local token
  token=$(post /api/auth/login "{\"email\":\"$1\",\"password\":\"$PW\"}" | json_field token)
  post /api/tokens '{"name":"schemathesis"}' -H "authorization: Bearer $token" | json_field token
}
ADMIN=$(api_token admin@example.org)
USER=$(api_token fuzz@example.org)
# The user's data that schemathesis.toml points the operations at.
auth=(-H "authorization: Bearer $USER")
FLOWCFD_PROJECT=$(post /api/projects '{"name":"fuzzed"}' "${auth[@]}" | json_field id)
FLOWCFD_ORG=$(post /api/orgs '{"name":"Fuzzed","slug":"fuzzed"}' "${auth[@]}" | json_field id)
FLOWCFD_GEOMETRY=$(curl -fsS "${auth[@]}" -F "file=@$HERE/../../examples/cube.stl" \
  "$URL/api/projects/$FLOWCFD_PROJECT/geometries" | json_field id)
for _ in $(seq 600); do
  g=$(curl -fsS "${auth[@]}" "$URL/api/geometries/$FLOWCFD_GEOMETRY" | json_field status)
  [ "$g" = pending ] || [ "$g" = processing ] || break
  sleep 0.1
done
[ "$g" = ready ] || { echo "the cube geometry is $g"; exit 1; }
FLOWCFD_CASE=$(post "/api/projects/$FLOWCFD_PROJECT/cases" "{\"name\":\"cube\",\"geometry_id\":\"$FLOWCFD_GEOMETRY\",
  \"flow\":{\"type\":\"external\",\"velocity\":[10,0,0]},\"mesh\":{\"target_cells\":20000}}" "${auth[@]}" | json_field id)
export FLOWCFD_PROJECT FLOWCFD_ORG FLOWCFD_GEOMETRY FLOWCFD_CASE

# Every check but positive_data_acceptance: the document states types, required members
# and the bounds the server keeps, not every domain rule (a name's characters, whether an
# email address is one, a reset link that exists, a case spec's physics). Schema-valid
# input that breaks one is refused with a 4xx problem+json whose detail says what to fix,
# which the other checks hold it to.
# Left out: GET /api/jobs/{id}/ws, a WebSocket handshake, which schemathesis does not
# speak (tests/job_events.rs covers it). Nothing else is: with random ids, logout,
# password-reset confirmation and token revocation touch nothing of this user's.
fuzz() { # SECONDS TOKEN REPORT [st options]
  # From the throw-away directory: st and Hypothesis keep nothing in the checkout.
  (cd "$DIR" && timeout "$1" "$PY" "$HERE/st.py" --config-file "$HERE/schemathesis.toml" run "$URL/api/openapi.json" \
    -H "Authorization: Bearer $2" \
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
    --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-$DIR/report}/$3" "${@:4}")
}
start=$(date +%s)
status=0
# 4 + 1 minutes at the most: the whole run stays under 5.
fuzz 240 "$USER" user || status=$?
fuzz 60 "$ADMIN" admin --include-path-regex '^/api/admin/' || status=$?
echo "schemathesis: $(($(date +%s) - start)) s, exit $status"
if [ "$status" -ne 0 ]; then
  echo "--- the server's log (5xx are logged with their detail):"
  grep -E '"level":"(ERROR|WARN)"|ERROR|panicked' "$DIR/serve.log" | tail -n 40 || true
fi
exit "$status"
