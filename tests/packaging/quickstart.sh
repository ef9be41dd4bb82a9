#!/usr/bin/env bash
# packaging/quickstart.sh from a fresh clone. Its install decisions: on this machine, where
# everything is present (Node.js from nodesource), it must ask apt for nothing, in
# particular not for nodejs or npm; on the same machine with node and npm hidden from PATH
# it must ask for exactly nodejs and npm. Then, given a flowcfd binary, the rest of it:
# the cube demo, which must print Cd (about 40 s). Only the release compile is skipped
# (half an hour on two cores; the release checklist runs the quickstart whole).
#   tests/packaging/quickstart.sh [FLOWCFD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "quickstart.sh test: FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/flowcfd-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A fresh clone of the committed tree (what a new user gets), not this working copy.
git clone -q --no-hardlinks "$PWD" "$work/clone"
qs="$work/clone/packaging/quickstart.sh"

out=$("$qs" --dry-run)
grep -qx 'would install (apt): nothing' <<<"$out" || fail "on this machine it would install: $out"
grep -qx 'would install (rustup): nothing' <<<"$out" || fail "it would install Rust beside $(command -v cargo): $out"

# The same machine without node and npm: every command on PATH but those, linked into
# one folder.
mkdir "$work/bin"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n=${f##*/}
    case "$n" in node|nodejs|npm|npx) continue ;; esac
    [ -x "$f" ] && [ ! -e "$work/bin/$n" ] && ln -s "$f" "$work/bin/$n"
  done
done
out=$(PATH="$work/bin" "$qs" --dry-run)
grep -qx 'would install (apt): nodejs npm' <<<"$out" || fail "without node on PATH it would install: $out"

# An unknown option is refused with a message, not run as an output folder.
if "$qs" --bogus >/dev/null 2>"$work/err"; then fail "--bogus was accepted"; fi
grep -q "unknown option --bogus" "$work/err" || fail "no message for --bogus: $(cat "$work/err")"

if [ -n "${1:-}" ]; then
  "$qs" --bin "$1" "$work/demo" >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; fail "the demo failed"; }
  grep -Eq '^Cd = [0-9]+\.[0-9]+' "$work/demo.log" || { cat "$work/demo.log"; fail "the demo printed no Cd"; }
  [ -f "$work/demo/summary.json" ] && [ -x "$work/demo/case/Allrun" ] || fail "no summary.json or case/Allrun"
  echo "quickstart.sh test: demo $(grep -E '^Cd = ' "$work/demo.log")"
fi
echo "quickstart.sh test: ok (fresh clone: installs nothing here; nodejs npm when node is missing)"
