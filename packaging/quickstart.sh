#!/usr/bin/env bash
# Quickstart on a fresh Debian/Ubuntu machine: install OpenFOAM, build FlowCFD, run the
# demo (a 1 m cube at 10 m/s, about 40k cells, a minute or two), print the result.
# Node.js and npm build the web UI (web/, bundled into the binary by build.rs; nothing is
# fetched from a CDN at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openfoam openfoam-examples openmpi-bin build-essential curl nodejs npm >/dev/null
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi
out="${1:-demo}"
cargo run --release --locked -- run examples/cube.toml --out "$out" --force
echo "Result: $out/summary.json; the OpenFOAM case (rerun it with ./Allrun) is in $out/case"
echo "The web appliance runs with zero configuration: cargo run --release -- serve  (then open http://127.0.0.1:8080)"
