#!/usr/bin/env python3
"""Summarises data/dataset.jsonl.gz for the model card: geometries per family (the families
of ids from generate.V3_START on apart), open surfaces and their grids, flows, runs, the
solves and their measured y+, layer coverage per layer-controls version and the CPU time
spent.

    python3 mesh-ai/stats.py [DATASET] [--max-id N]   # --max-id: a training snapshot
"""
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families  # noqa: E402
import generate  # noqa: E402


def main():
    args = sys.argv[1:]
    max_id = None
    if "--max-id" in args:
        i = args.index("--max-id")
        max_id = int(args[i + 1])
        del args[i : i + 2]
    path = args[0] if args else generate.DATASET
    recs = [r for r in map(json.loads, generate.records(path)) if max_id is None or r["id"] <= max_id]
    ok = [r for r in recs if "error" not in r]
    fam = collections.Counter(r["family"] for r in ok)
    print(f"{len(recs)} geometries (ids {min(r['id'] for r in recs)}-{max(r['id'] for r in recs)}), "
          f"{len(recs) - len(ok)} without a result (timeout or refused)")
    old = [(k, v) for k, v in sorted(fam.items()) if k not in families.NEW_FAMILIES]
    if old:
        print("families:", ", ".join(f"{k} {v}" for k, v in old))
    new = [(k, v) for k, v in sorted(fam.items()) if k in families.NEW_FAMILIES]
    if new:
        print(f"new families (ids from {generate.V3_START}):", ", ".join(f"{k} {v}" for k, v in new))
    feat = [r for r in ok if "features" in r]
    opened = [r for r in feat if not r["features"]["watertight"]]
    grids = collections.Counter("none" if not r.get("voxels") else r["voxels"].get("kind", "solid") for r in feat)
    print(f"open surfaces: {len(opened)} of {len(feat)} ({len(opened) / max(len(feat), 1):.0%}); "
          "grids: " + ", ".join(f"{k} {v}" for k, v in sorted(grids.items())))
    water = sum(r["flow"]["nu"] < 1e-5 for r in ok)
    internal = sum(r["flow"]["type"] == "internal" for r in ok)
    print(f"flows: air {len(ok) - water}, water {water}; internal {internal}, external {len(ok) - internal}")
    runs = [run for r in ok for run in r["runs"]]
    passed = [run for run in runs if (run.get("result") or {}).get("ok")]
    cells = [run["result"]["cells"] for run in passed]
    print(f"runs: {len(runs)}, {len(passed)} passed checkMesh; cells reached {min(cells)}-{max(cells)}")
    solved = [r for r in ok if any((run.get("result") or run).get("solve_iterations") for run in r["runs"])]
    yplus = [r for r in ok if any((run.get("result") or {}).get("yplus") for run in r["runs"])]
    failed = sum(any((run.get("result") or run).get("solve_error") for run in r["runs"]) for r in solved)
    print(f"solves: {len(solved)} geometries ({failed} failed, mesh kept); measured y+ in {len(yplus)} of {len(ok)} "
          f"({len(yplus) / max(len(ok), 1):.0%})")
    for v in (1, 2):
        cov = collections.defaultdict(list)
        for r in ok:
            if r.get("layer_controls", 1) != v:
                continue
            for run in r["runs"]:
                res = run.get("result") or {}
                n = run["mesh"]["layers"]["count"] if run.get("mesh") else 0
                if n and res.get("layer_coverage") is not None:
                    cov[n].append(res["layer_coverage"])
        if cov:
            print(f"layer controls {v}: " + "; ".join(
                f"{n} layers: {len(c)} runs, median coverage {statistics.median(c):.2f}, "
                f"{sum(x >= 0.85 for x in c) / len(c):.0%} >= 0.85" for n, c in sorted(cov.items())))
    cpu = sum(r.get("cpu_s", 0) for r in recs)
    print(f"CPU: {cpu / 3600:.1f} h, {cpu / len(recs):.0f} s per geometry")


if __name__ == "__main__":
    main()
