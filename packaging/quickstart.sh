#!/usr/bin/env bash
# Quickstart on a fresh Debian/Ubuntu machine: install what is missing (OpenFOAM, Open MPI,
# a C toolchain, Node.js and npm for the web UI, Rust), build FlowCFD, run the demo (a 1 m
# cube at 10 m/s, about 40k cells, a minute or two) and print its drag coefficient.
#   packaging/quickstart.sh [OUT_DIR]     (default: demo)
#   packaging/quickstart.sh --dry-run     print what would be installed, change nothing
#   packaging/quickstart.sh --bin PATH    use a flowcfd binary already built (no cargo build)
# Only what is missing is installed (packaging/need.sh): a Node.js or OpenFOAM that came
# from elsewhere is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=packaging/need.sh
. packaging/need.sh

dry=0
out=demo
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run|--print-install) dry=1 ;;
    --bin) bin=${2:?--bin needs the path of a flowcfd binary}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "quickstart.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
[ -z "$bin" ] || [ -x "$bin" ] || { echo "quickstart.sh: --bin $bin is not an executable" >&2; exit 2; }

# With --bin, nothing is compiled: only what running cases needs.
if [ -n "$bin" ]; then kinds=(run); else kinds=(run build); fi
mapfile -t need < <(flowcfd_need "${kinds[@]}")
have_cargo=1
[ -n "$bin" ] || command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || have_cargo=0
if [ $dry = 1 ]; then
  echo "would install (apt): ${need[*]:-nothing}"
  if [ $have_cargo = 0 ]; then echo "would install (rustup): Rust"; else echo "would install (rustup): nothing"; fi
  exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ $have_cargo = 0 ]; then
  # rustup.rs is the Rust project's installer; Debian's rustc is older than FlowCFD needs.
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "$bin" ]; then
  cargo build --release --locked --bin flowcfd
  bin="${CARGO_TARGET_DIR:-target}/release/flowcfd"
fi
"$bin" run examples/cube.toml --out "$out" --force
if command -v python3 >/dev/null; then
  cd_value=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["forces"]["Cd"])' "$out/summary.json")
else
  cd_value=$(grep -o '"Cd": *[-0-9.eE+]*' "$out/summary.json" | head -n 1 | sed 's/.*: *//')
fi
[ -n "$cd_value" ] || { echo "no Cd in $out/summary.json" >&2; exit 1; }
echo "Cd = $cd_value  (the 1 m cube at 10 m/s; $out/summary.json has the rest)"
echo "The OpenFOAM case (rerun it with ./Allrun) is in $out/case"
echo "The web appliance runs with zero configuration: $bin serve  (then open http://127.0.0.1:8080)"
