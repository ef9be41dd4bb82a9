#!/bin/sh
# Reproduces mesh-ai/model (the model built into flowcfd) from data/dataset.jsonl.gz, then
# writes model/expected.json (ONNX Runtime's outputs on a fixture) for the Rust parity test.
# CPU only; three networks (seeds 0, 1, 2, exported as their mean), about 10 minutes each
# for 500 geometries on 2 cores. Rebuild flowcfd afterwards
# (cargo build) to embed the new model, and rerun mesh-ai eval for the model card.
#
#   sh mesh-ai/train.sh            # FLOWCFD=path/to/flowcfd, FLOWCFD_TORCH_VENV=dir optional
set -eu
cd "$(dirname "$0")/.."
VENV=${FLOWCFD_TORCH_VENV:-/var/tmp/flowcfd-torch}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -r mesh-ai/requirements.txt
fi
FLOWCFD=${FLOWCFD:-$(command -v flowcfd || echo "${CARGO_TARGET_DIR:-target}/debug/flowcfd")}
"$VENV/bin/python" mesh-ai/train.py --epochs 150 --width 16 --pool 2 --seeds 0,1,2 --out mesh-ai/model
# Raw features: log10 Re, log10 cells, log10 y+, internal, ground, aspect ratios, area/volume^(2/3), open.
"$VENV/bin/python" mesh-ai/parity_fixture.py mesh-ai/model tests/fixtures/meshai/car.stl "$FLOWCFD" "6.2,4.5,1.7,0,1,0.45,0.3,6.5,0"
