#!/usr/bin/env python3
"""Summarises data/dataset.jsonl.gz for the model card: geometries per family, flows,
runs, layer coverage per layer-controls version and the CPU time spent.

    python3 mesh-ai/stats.py [DATASET] [--max-id N]   # --max-id: a training snapshot
"""
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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
    print("families:", ", ".join(f"{k} {v}" for k, v in sorted(fam.items())))
    water = sum(r["flow"]["nu"] < 1e-5 for r in ok)
    internal = sum(r["flow"]["type"] == "internal" for r in ok)
    print(f"flows: air {len(ok) - water}, water {water}; internal {internal}, external {len(ok) - internal}")
    runs = [run for r in ok for run in r["runs"]]
    passed = [run for run in runs if (run.get("result") or {}).get("ok")]
    cells = [run["result"]["cells"] for run in passed]
    print(f"runs: {len(runs)}, {len(passed)} passed checkMesh; cells reached {min(cells)}-{max(cells)}")
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
