#!/bin/sh
# The model card's evaluation, reproducible, on the held-out evaluation set (50 geometries):
# - OpenFOAM's own 7 geometries (openfoam-examples, resources/geometry);
# - the generated ones that training holds out (id % 7 == 3), as
#   `generate.held_out_eval_ids` lists them: the first 8 external-flow ones of the dataset
#   below id 503, and the first 5 of each new family from id 503 on (exported from their
#   ids with `generate.py --export-stl`, generated into the dataset yet or not).
# Then `flowcfd mesh-ai eval` meshes each for real with the mesh AI's and the rules'
# parameters, 40,000 cells, 20 m/s of air (mesh only) into $OUT/report, and meshes and
# solves the 7 OpenFOAM ones for 200 iterations (`--solve 200`, the measured y+) into
# $OUT/report-solve200. eval.md and eval.json in each (per geometry, per family, and in all;
# the family is the generator's, from the file name, "openfoam" for OpenFOAM's 7); the
# tables go into MODEL_CARD.md.
#
#   sh mesh-ai/eval.sh [OUT_DIR]      # FLOWCFD=path/to/flowcfd optional
#
# Time on 2 cores: the mesh-only pass took 20 minutes for the 50 geometries with both
# sources (2026-12-07); a 200-iteration solve at 40k cells takes a few minutes, so another
# 20-40 minutes for the 7 solved with both sources. Under an hour in all.
set -eu
cd "$(dirname "$0")/.."
FLOWCFD=${FLOWCFD:-$(command -v flowcfd || echo "${CARGO_TARGET_DIR:-target}/debug/flowcfd")}
OUT=${1:-/var/tmp/flowcfd-mesh-ai-eval}
G=/usr/share/doc/openfoam-examples/examples/resources/geometry
rm -rf "$OUT/geometries" "$OUT/openfoam" "$OUT/report" "$OUT/report-solve200"
mkdir -p "$OUT/geometries" "$OUT/openfoam"
# heldout.py reads this list (and G above) for its near-copy check: keep the loop's form.
for f in motorBike.obj.gz DTC-scaled.stl.gz blob.stl.gz bullet.stl.gz flange.stl.gz building_wtc2.obj.gz \
    wigley-scaled-oriented.stl.gz; do
    cp "$G/$f" "$OUT/openfoam/"
    cp "$G/$f" "$OUT/geometries/"
done
IDS=$(python3 - <<'PY'
import json, sys
sys.path.insert(0, "mesh-ai")
import generate
print(",".join(map(str, generate.held_out_eval_ids(json.loads(l)["id"] for l in generate.records(generate.DATASET)))))
PY
)
python3 mesh-ai/generate.py --export-stl "$OUT/geometries" --ids "$IDS"
"$FLOWCFD" mesh-ai eval "$OUT/geometries" --target-cells 40000 --velocity 20 --out "$OUT/report"
"$FLOWCFD" mesh-ai eval "$OUT/openfoam" --target-cells 40000 --velocity 20 --solve 200 --out "$OUT/report-solve200"
