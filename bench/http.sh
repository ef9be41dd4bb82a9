#!/usr/bin/env bash
# Appliance load benchmark (not a test): sign-in plus project listing (one request in
# LOGIN_EVERY, default 1000, is a sign-in; the rest list 20 projects), 200 connections for
# DURATION (default 60 s), against SQLite and against PostgreSQL, each preceded by a
# /health/live baseline in the same invocation. Loopback only.
#   bench/http.sh [DURATION]      e.g. bench/http.sh 60s
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-60s}"
CONNS="${CONNS:-200}"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/flowcfd-release}"
cargo build --release --locked -q
BIN="$CARGO_TARGET_DIR/release/flowcfd"
WORK=$(mktemp -d /tmp/flowcfd-bench-http.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ulimit -n 65536 2>/dev/null || true

# PostgreSQL in a throw-away cluster.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGPORT=$(free_port)
mkdir -p "$WORK/pg" && chown postgres: "$WORK/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U flowcfd >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
PIDS+=("$(head -n 1 "$WORK/pg/data/postmaster.pid")")

export BENCH_EMAIL=bench@example.org BENCH_PASSWORD=laminar-wake-2026
for backend in sqlite postgres; do
  PORT=$(free_port)
  DB="sqlite://$WORK/$backend/flowcfd.db"
  [ "$backend" = postgres ] && DB="postgres://flowcfd@127.0.0.1:$PGPORT/postgres"
  FLOWCFD_LIMITS__AUTH_PER_MINUTE=100000000 FLOWCFD_LOG__FILTER=warn \
    "$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$WORK/$backend" --database-url "$DB" >"$WORK/$backend.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do curl -sS --fail-with-body "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
  URL="http://127.0.0.1:$PORT"
  curl -sS --fail-with-body -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench\"}" "$URL/api/auth/register"
  TOKEN=$(curl -sS --fail-with-body -H 'content-type: application/json' -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" \
    "$URL/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  for i in $(seq 20); do
    curl -sS --fail-with-body -o /dev/null -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d "{\"name\":\"project $i\",\"description\":\"load benchmark\"}" "$URL/api/projects"
  done
  export BENCH_TOKEN="$TOKEN"
  base=$(wrk -t"${WRK_THREADS:-2}" -c"$CONNS" -d"$DURATION" -s bench/health.lua "$URL/health/live" | tail -n 1)
  load=$(wrk -t"${WRK_THREADS:-2}" -c"$CONNS" -d"$DURATION" -s bench/login_and_list.lua "$URL" | tail -n 1)
  python3 - "$backend" "$base" "$load" <<'PY'
import json, sys
backend, base, load = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
errs = sum(load["errors"].values())
print(f"{backend:9s} login+list: p50 {load['p50_ms']:.1f} ms  p95 {load['p95_ms']:.1f} ms  p99 {load['p99_ms']:.1f} ms  "
      f"{load['rps']:.0f} req/s  errors {errs}   | /health/live baseline p95 {base['p95_ms']:.1f} ms  "
      f"ratio p95 {load['p95_ms'] / max(base['p95_ms'], 1e-9):.1f}x   target p95 < 50 ms: {'met' if load['p95_ms'] < 50 and errs == 0 else 'MISSED'}")
print(json.dumps({"backend": backend, "baseline_health": base, "login_and_list": load}))
PY
done
