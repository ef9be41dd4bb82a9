#!/bin/sh
# The mesh AI above the budgets it was trained on (issue 25): five held-out geometries meshed
# for real at 1.5M cells, once with the mesh AI's parameters (it answers for its largest
# trained budget, about 390k cells, and the base cell shrinks by the cube root of the
# ratio) and once with the rules' (the baseline), in the same `flowcfd mesh-ai eval`
# invocation. A long benchmark, not CI: about 2 hours on 2 cores.
#
#   sh mesh-ai/budget.sh [OUT_DIR]      # FLOWCFD=path/to/flowcfd optional
set -eu
cd "$(dirname "$0")/.."
FLOWCFD=${FLOWCFD:-$(command -v flowcfd || echo "${CARGO_TARGET_DIR:-target}/debug/flowcfd")}
OUT=${1:-/var/tmp/flowcfd-mesh-ai-budget}
CELLS=${CELLS:-1500000}
G=/usr/share/doc/openfoam-examples/examples/resources/geometry
rm -rf "$OUT/geometries" "$OUT/report"
mkdir -p "$OUT/geometries"
# Three of OpenFOAM's closed geometries and two held-out generated ones (ellipsoid 10, wing 45).
for f in bullet.stl.gz blob.stl.gz DTC-scaled.stl.gz; do
    cp "$G/$f" "$OUT/geometries/"
done
python3 mesh-ai/generate.py --export-stl "$OUT/geometries" --ids 10,45
"$FLOWCFD" mesh-ai eval "$OUT/geometries" --target-cells "$CELLS" --velocity 20 --out "$OUT/report"
