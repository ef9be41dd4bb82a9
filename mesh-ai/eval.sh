#!/bin/sh
# The model card's evaluation, reproducible: OpenFOAM's own geometries (openfoam-examples,
# resources/geometry) and the generated geometries that training holds out (id % 7 == 3,
# external-flow families, from the dataset), each meshed for real with the mesh AI's and
# the rules' parameters by `flowcfd mesh-ai eval`. The table goes into MODEL_CARD.md.
#
#   sh mesh-ai/eval.sh [OUT_DIR]      # FLOWCFD=path/to/flowcfd optional; ~15 CPU minutes
set -eu
cd "$(dirname "$0")/.."
FLOWCFD=${FLOWCFD:-$(command -v flowcfd || echo "${CARGO_TARGET_DIR:-target}/debug/flowcfd")}
OUT=${1:-/var/tmp/flowcfd-mesh-ai-eval}
G=/usr/share/doc/openfoam-examples/examples/resources/geometry
rm -rf "$OUT/geometries" "$OUT/report"
mkdir -p "$OUT/geometries"
for f in motorBike.obj.gz DTC-scaled.stl.gz blob.stl.gz bullet.stl.gz flange.stl.gz building_wtc2.obj.gz \
    wigley-scaled-oriented.stl.gz; do
    cp "$G/$f" "$OUT/geometries/"
done
# The first 8 held-out external geometries of the dataset.
IDS=$(python3 - <<'PY'
import gzip, json, sys
sys.path.insert(0, "mesh-ai")
import generate
ids = sorted(json.loads(l)["id"] for l in generate.records(generate.DATASET))
held = [i for i in ids if i % 7 == 3 and generate.geometry(i)[3] == "external"]
print(",".join(str(i) for i in held[:8]))
PY
)
python3 mesh-ai/generate.py --export-stl "$OUT/geometries" --ids "$IDS"
"$FLOWCFD" mesh-ai eval "$OUT/geometries" --target-cells 40000 --velocity 20 --out "$OUT/report"
