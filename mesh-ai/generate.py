#!/usr/bin/env python3
"""The mesh AI's dataset: procedural geometries meshed for real.

For each geometry (random family, proportions, orientation and flow conditions; closed
and watertight up to id 502, from V3_START = 503 on also thin plates, tori, finned rockets,
touching assemblies, urban clusters and open surfaces, see families.py) this:
1. asks `flowcfd mesh-ai predict` what the rules propose for a random cell budget, and
   `flowcfd mesh-ai voxelize` for the 64³ occupancy grid (the same code the server runs at
   inference, so training and inference see identical grids);
2. meshes it for real a few times (`flowcfd run --mesh-only`: blockMesh, snappyHexMesh,
   checkMesh, with the project's own case builder), at the rules' parameters and at random
   perturbations of them (base cell size ×2^±0.6, surface level ±1 with the base coarser
   for a finer level and finer for a coarser one, layer settings; most
   perturbed runs skip the costly layer addition), so the model sees how parameters map to
   outcomes;
3. appends one JSON line to data/dataset.jsonl.gz: the geometry's features and grid, the
   flow, and per run the parameters and the outcome (cells, checkMesh verdict and failed
   checks, layer coverage, estimated y+, seconds).

With `--solve N` the first run (the rules' parameters) also solves, N iterations, and
records the measured y+ (summary.json's `mesh.yplus`) and the force coefficients.

It resumes where it stopped (geometry ids are dense and each one's random seed is its id)
and appends gzip members, so generation can span sessions. CPU seconds are recorded.

    python3 mesh-ai/generate.py --count 500 [--flowcfd PATH] [--runs 3] [--solve 100]
"""
import argparse
import gzip
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families  # noqa: E402
import shapes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATASET = os.path.join(HERE, "data", "dataset.jsonl.gz")
# snappyHexMesh's layer controls the runs were meshed with (`src/foam/mesh.rs`): 1 (absent
# from the record) for ids up to 330 but 116, 118 and 119 (the layer checks used the
# face-centre tet quality), 2 after (layer addition checks with `relaxed`, which skips it). Layer coverage is only comparable within
# one version; the cell counts, levels and boxes are not affected.
LAYER_CONTROLS = 2
FAMILIES = ["ellipsoid", "rounded_box", "cylinder", "cone", "wing", "car", "buildings", "pipe", "bend", "union"]
# The first id of the widened generator (families.py): new families, a pitch for external
# bodies off the ground, and some larger budgets. Ids below it are made exactly as before.
V3_START = 503
# snappyHexMesh's meshing steps (a solve that failed in one of them has no mesh to keep).
MESH_STEPS = {"blockMesh", "surfaceFeatureExtract", "surfaceFeatures", "snappyHexMesh", "checkMesh"}
# Seconds a solving run may take (the 300k-cell budgets with a few hundred iterations).
SOLVE_TIMEOUT = 3600


def rotate_z(groups, ang):
    c, s = math.cos(ang), math.sin(ang)
    r = lambda p: (c * p[0] - s * p[1], s * p[0] + c * p[1], p[2])
    return [(g, [tuple(r(p) for p in t) for t in tris]) for g, tris in groups]


def primitive(rng, kind, size):
    a = size * rng.uniform(0.3, 0.6)
    if kind == "ellipsoid":
        return shapes.superellipsoid(a, a * rng.uniform(0.3, 1.0), a * rng.uniform(0.3, 1.0), n=rng.choice([32, 48]))
    if kind == "rounded_box":
        e = rng.uniform(0.15, 0.5)
        return shapes.superellipsoid(a, a * rng.uniform(0.3, 1.0), a * rng.uniform(0.2, 1.0), e, e, n=48)
    if kind == "cylinder":
        r, l = a * rng.uniform(0.2, 0.6), a * rng.uniform(1.0, 2.0)
        prof = [(0, -l / 2), (r, -l / 2), (r, l / 2), (0, l / 2)]
        return shapes.lathe(prof, n=40, axis=rng.choice(["x", "z"]))
    if kind == "cone":
        r, l = a * rng.uniform(0.3, 0.7), a * rng.uniform(1.0, 2.0)
        prof = [(0, -l / 2), (r, -l / 2), (r * rng.uniform(0.0, 0.3) + 1e-3 * a, l / 2), (0, l / 2)]
        return shapes.lathe(prof, n=40, axis=rng.choice(["x", "z"]))
    raise ValueError(kind)


def build(rng, family, v3=False):
    """(groups, flow type, ground, generator parameters); `v3` (ids from V3_START) adds a
    pitch to external bodies off the ground and records the angles."""
    size = 10 ** rng.uniform(-1.3, 1.0)  # 0.05 m … 10 m bodies
    params = {"size": size}
    if family in ("ellipsoid", "rounded_box", "cylinder", "cone"):
        tris = primitive(rng, family, size)
        groups = [("body", tris)]
        ground = False
    elif family == "wing":
        m, p, t = rng.choice([0, 0.02, 0.04]), rng.choice([0.3, 0.4]), rng.uniform(0.09, 0.18)
        chord = size * rng.uniform(0.15, 0.4)
        span = size
        params.update(naca=[m, p, t], chord=chord, span=span)
        tris = shapes.wing(m, p, t, chord, span, rng.uniform(0, 30), rng.uniform(0.3, 1.0), rng.uniform(0, 6), rng.uniform(-3, 3))
        groups = [("wing", tris)]
        ground = False
    elif family == "car":
        l = size
        body = shapes.superellipsoid(0.5 * l, 0.22 * l * rng.uniform(0.8, 1.1), 0.12 * l, 0.3, 0.3, n=48, centre=(0, 0, 0.16 * l))
        cabin = shapes.superellipsoid(0.25 * l, 0.18 * l, 0.1 * l * rng.uniform(0.8, 1.2), 0.4, 0.4, n=40, centre=(-0.05 * l * rng.uniform(0, 2), 0, 0.3 * l))
        groups = [("body", body), ("cabin", cabin)]
        ground = True
    elif family == "buildings":
        groups = []
        k = rng.randint(2, 6)
        for i in range(k):
            w = size * rng.uniform(0.1, 0.3)
            x, y = size * rng.uniform(-0.5, 0.5), size * rng.uniform(-0.5, 0.5)
            h = size * rng.uniform(0.2, 0.9)
            ok = all(abs(x - g[2][0]) > w + g[2][2] or abs(y - g[2][1]) > w + g[2][2] for g in groups)
            if ok:
                groups.append((f"building{len(groups) + 1}", shapes.box((x - w, y - w, 0), (x + w, y + w, h)), (x, y, w)))
        groups = [(g[0], g[1]) for g in groups]
        ground = True
    elif family == "pipe":
        r, l = size * rng.uniform(0.03, 0.1), size
        return shapes.orient_all(shapes.tube([(0, 0, 0), (l / 3, 0, 0), (2 * l / 3, 0, 0), (l, 0, 0)], r)), "internal", False, {**params, "radius": r}
    elif family == "bend":
        r, rb = size * rng.uniform(0.03, 0.08), size * rng.uniform(0.15, 0.3)
        l1, l2 = size * rng.uniform(0.2, 0.5), size * rng.uniform(0.2, 0.5)
        ang = math.radians(rng.choice([45, 60, 90]))
        path = [(0, 0, 0), (l1, 0, 0)]
        for i in range(1, 13):
            a = ang * i / 12
            path.append((l1 + rb * math.sin(a), rb * (1 - math.cos(a)), 0))
        end = path[-1]
        path.append((end[0] + l2 * math.cos(ang), end[1] + l2 * math.sin(ang), 0))
        return shapes.orient_all(shapes.tube(path, r)), "internal", False, {**params, "radius": r, "bend_deg": math.degrees(ang)}
    elif family == "union":
        groups = []
        for i in range(rng.randint(2, 3)):
            kind = rng.choice(["ellipsoid", "rounded_box", "cylinder", "cone"])
            tris = primitive(rng, kind, size * rng.uniform(0.5, 1.0))
            off = [size * rng.uniform(-0.25, 0.25) for _ in range(3)]
            groups.append((f"part{i + 1}", [tuple((p[0] + off[0], p[1] + off[1], p[2] + off[2]) for p in t) for t in tris]))
        ground = False
    else:
        raise ValueError(family)
    groups = [(g, shapes.orient(t)) for g, t in groups]
    yaw = rng.uniform(-math.pi, math.pi) if family != "car" else rng.uniform(-0.2, 0.2)
    if v3:
        return families.pose(rng, groups, ground, params, yaw), "external", ground, params
    return rotate_z(groups, yaw), "external", ground, params


def run(cmd, timeout=600):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def case_toml(stl, flow, velocity, nu, ground, target_cells, yplus, mesh, groups, solve=0):
    """The case file; `solve` > 0 solves that many iterations instead of stopping after
    checkMesh."""
    lines = [] if solve else ["mesh_only = true"]
    lines += [f'geometry = "{stl}"', "[flow]", f'type = "{flow}"', f"velocity = [{velocity:.6g}, 0.0, 0.0]"]
    if ground:
        lines.append("ground = true")
    lines += ["[fluid]", f"nu = {nu:.6g}", "[mesh]", f"target_cells = {int(target_cells)}"]
    for k in ("base_cell_size", "feature_level"):
        if k in mesh:
            lines.append(f"{k} = {mesh[k]}")
    if "surface_level" in mesh:
        lines.append(f"surface_level = [{mesh['surface_level'][0]}, {mesh['surface_level'][1]}]")
    lines += ["[mesh.layers]", f"target_yplus = {yplus:.4g}"]
    for k in ("count", "expansion_ratio", "first_layer_thickness"):
        if k in mesh.get("layers", {}):
            lines.append(f"{k} = {mesh['layers'][k]}")
    if solve:
        # flowcfd stops a stuck solver itself before the generator's own timeout.
        lines += ["[solver]", f"iterations = {int(solve)}", f"step_timeout_s = {SOLVE_TIMEOUT - 300}"]
    if flow == "internal":
        lines += ["[boundaries.inlet]", 'type = "velocity_inlet"', "[boundaries.outlet]", 'type = "pressure_outlet"']
    return "\n".join(lines) + "\n"


def geometry(gid):
    """Geometry `gid` exactly as the dataset has it: (rng after it, family, groups, flow,
    ground, generator parameters)."""
    rng = random.Random(gid)
    if gid >= V3_START:
        family = families.pick(rng, gid - V3_START, FAMILIES)
        if family in families.BUILDERS:
            groups, flow, ground, params = families.build(rng, family)
        else:
            groups, flow, ground, params = build(rng, family, v3=True)
        return rng, family, groups, flow, ground, params
    family = FAMILIES[gid % len(FAMILIES)] if gid < 2 * len(FAMILIES) else rng.choice(FAMILIES)
    groups, flow, ground, params = build(rng, family)
    return rng, family, groups, flow, ground, params


def held_out_eval_ids(dataset_ids, old=8, per_family=5):
    """The generated geometries of the held-out evaluation (eval.sh, heldout.py), in a fixed
    order: the first `old` held-out (id % 7 == 3) external-flow ids of `dataset_ids` below
    V3_START, then per family of families.NEW_FAMILIES the first `per_family` held-out ids
    from V3_START on (whether generated yet or not: `--export-stl` makes them from the id).

    A family is found without building the shape: the same draws as `geometry(gid)` up to
    its family choice. Only pipes and bends have internal flow."""
    def family(gid):
        rng = random.Random(gid)
        if gid >= V3_START:
            return families.pick(rng, gid - V3_START, FAMILIES)
        return FAMILIES[gid % len(FAMILIES)] if gid < 2 * len(FAMILIES) else rng.choice(FAMILIES)

    held = [i for i in sorted(set(dataset_ids)) if i < V3_START and i % 7 == 3 and family(i) not in ("pipe", "bend")]
    out = held[:old]
    found = {f: [] for f in families.NEW_FAMILIES}
    gid = V3_START + (3 - V3_START) % 7
    while any(len(v) < per_family for v in found.values()):
        f = family(gid)
        if f in found and len(found[f]) < per_family:
            found[f].append(gid)
        gid += 7
    return out + [i for f in families.NEW_FAMILIES for i in found[f]]


def one(gid, flowcfd, runs, work, solve=0):
    rng, family, groups, flow, ground, params = geometry(gid)
    stl = os.path.join(work, "geometry.stl")
    shapes.write_stl(stl, groups)
    water = rng.random() < 0.25
    nu = 1.004e-6 if water else 1.5e-5
    velocity = 10 ** rng.uniform(-0.3, 0.7) if water else 10 ** rng.uniform(0.3, 1.8)
    yplus = 10 ** rng.uniform(math.log10(30), math.log10(300))
    # From V3_START on, about one geometry in ten gets a larger budget, 100k-300k cells.
    cells = (100000, 300000) if gid >= V3_START and rng.random() < 0.1 else (10000, 80000)
    target = int(10 ** rng.uniform(math.log10(cells[0]), math.log10(cells[1])) // 1000 * 1000)
    rec = {"id": gid, "family": family, "params": params, "flow": {"type": flow, "velocity": velocity, "nu": nu, "ground": ground},
           "target_yplus": yplus, "target_cells": target, "groups": [g for g, _ in groups], "runs": [],
           "layer_controls": LAYER_CONTROLS}
    code, out, err = run([flowcfd, "geometry", stl])
    if code != 0:
        return {**rec, "error": f"geometry: {err.strip()[-300:]}"}
    rep = json.loads(out)
    rec["features"] = {k: rep["analysis"][k] for k in ("bbox_min", "bbox_max", "area", "volume", "characteristic_length", "watertight", "frontal_area") if k in rep["analysis"]}
    code, out, err = run([flowcfd, "mesh-ai", "voxelize", "--geometry", stl, "--size", "64"])
    if code == 0:
        rec["voxels"] = json.loads(out)  # as flowcfd gives it, `kind` (solid or shell) included
    else:
        # An open surface, say, with a flowcfd whose grid needs a closed solid: the runs
        # are still worth having.
        rec["voxels"] = None
        rec["voxel_error"] = err.strip()[-300:]
    settings = [{}]  # the rules' own parameters first
    for _ in range(runs - 1):
        level = rng.choice([-1, 0, 0, 1])
        # A finer surface level goes with a coarser base (and the reverse): the combinations
        # vary while the cell count stays within reach (a finer level alone can give 10x).
        lo, hi = {-1: (-0.6, 0.0), 0: (-0.6, 0.6), 1: (0.0, 0.6)}[level]
        settings.append({"scale": 2 ** rng.uniform(lo, hi), "level": level,
                         # Castellation and snapping are cheap, layer addition is not: most
                         # perturbed runs go without layers (None keeps the rules' layers).
                         "layers": rng.choice([0, 0, None, 1, 2, 3, 5]), "expansion": rng.uniform(1.1, 1.3),
                         # The last layer as a fraction of the surface cell it meets, in and
                         # around the range the layer plans end in (0.25-0.4). Left to the
                         # rules, a count's first layer comes from y+ and is often too thin
                         # for snappyHexMesh's minThickness, which says nothing useful.
                         "last": rng.uniform(0.2, 0.6)})
    case = lambda mesh, n: case_toml("geometry.stl", flow, velocity, nu, ground, target, yplus, mesh, groups, n)
    rules = None
    for k, s in enumerate(settings):
        mesh = {}
        if s and rules:
            mesh["base_cell_size"] = round(rules["base_cell_size"] * s["scale"], 6)
            lv = max(0, rules["surface_refinement"][0] + s["level"])
            mesh["surface_level"] = [lv, lv + 1]
            if s["layers"] is not None:
                mesh["layers"] = {"count": s["layers"], "expansion_ratio": round(s["expansion"], 3)}
                if s["layers"] > 0:
                    surface_cell = mesh["base_cell_size"] / 2 ** lv
                    first = s["last"] * surface_cell / s["expansion"] ** (s["layers"] - 1)
                    mesh["layers"]["first_layer_thickness"] = float(f"{first:.6g}")
        n = solve if k == 0 else 0  # only the rules' run solves; perturbed runs stay mesh-only
        entry, plan = mesh_run(flowcfd, work, case(mesh, n), s, mesh, n)
        if n and "error" in entry and entry.get("failed_step") not in MESH_STEPS:
            # The mesh was made and the solve failed (diverged, say): mesh again without
            # solving, to keep the mesh's result, and record why the solve failed.
            failed = entry
            entry, plan = mesh_run(flowcfd, work, case(mesh, 0), s, mesh, 0)
            (entry.get("result") or entry).update(solve_iterations=n, solve_error=failed["error"], solve_log=failed.get("error_log"),
                                                  solve_seconds=failed["seconds"])
        entry.pop("failed_step", None)
        rec["runs"].append(entry)
        if plan is None and rules is None:
            break
        if rules is None:
            levels = [v for v in plan["group_levels"].values()]
            rules = {"base_cell_size": plan["base_cell_size"], "surface_refinement": [min(l[0] for l in levels), max(l[1] for l in levels)]}
    return rec


def mesh_run(flowcfd, work, toml, setting, mesh, solve):
    """One `flowcfd run` of the case text `toml`: (the run's entry for the record, the plan
    it used or None)."""
    with open(os.path.join(work, "case.toml"), "w") as f:
        f.write(toml)
    out_dir = os.path.join(work, "out")
    t0 = time.time()
    code, out, err = run([flowcfd, "run", os.path.join(work, "case.toml"), "--out", out_dir, "--force", "--mesh-params", "rules"],
                         timeout=SOLVE_TIMEOUT if solve else 600)
    secs = time.time() - t0
    sm = read_json(os.path.join(out_dir, "summary.json")) if code == 0 else None
    if sm is None:
        msg = err.strip().splitlines()[-1:] if err.strip() else ["no summary"]
        entry = {"setting": setting, "mesh": mesh, "error": msg[0][-300:], "seconds": round(secs, 2)}
        failure = read_json(os.path.join(out_dir, "failure.json")) if solve else None
        if failure:
            # failure.json says which step failed and why (its first line), then the log's
            # last lines.
            why, _, log = str(failure.get("error") or entry["error"]).partition("\n")
            entry.update(solve_iterations=solve, failed_step=failure.get("step"), error=why[:300], error_log=log[-400:])
        shutil.rmtree(out_dir, ignore_errors=True)
        return entry, None
    m = sm["mesh"]
    plan = m["plan"]
    used = {"base_cell_size": plan["base_cell_size"], "group_levels": plan["group_levels"], "feature_level": plan["feature_level"],
            "boxes": plan["boxes"], "layers": {k: plan["layers"][k] for k in ("count", "expansion_ratio", "first_layer_thickness", "estimated_yplus")},
            "estimated_cells": plan["estimated_cells"], "divisions": plan["divisions"]}
    result = {"cells": m["cells"], "ok": m["ok"], "failed_checks": m["failed_checks"], "layer_coverage": m["layer_coverage"],
              "max_non_orthogonality": m["max_non_orthogonality"], "max_skewness": m["max_skewness"], "seconds": round(secs, 2)}
    if solve:
        f = sm.get("forces") or {}
        result.update(solve_iterations=solve, yplus=m.get("yplus"),
                      solve={k: (sm.get("solve") or {}).get(k) for k in ("iterations", "converged", "execution_s")},
                      forces={k: f.get(k) for k in ("Cd", "Cl", "Cs", "CmPitch")}, timing=sm.get("timing"))
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"setting": setting, "mesh": used, "result": result}, plan


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def records(path):
    """The file's records; a last gzip member cut off by a kill is skipped."""
    if not os.path.exists(path):
        return
    with gzip.open(path, "rt") as f:
        try:
            for line in f:
                yield line
        except (EOFError, OSError):
            return


def existing_ids(path):
    return {json.loads(line)["id"] for line in records(path)}


def timed(job):
    """One geometry in its own temporary directory, with its CPU and wall seconds."""
    gid, flowcfd, runs, solve = job
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="flowcfd-meshai-") as work:
        try:
            rec = one(gid, flowcfd, runs, work, solve)
        except subprocess.TimeoutExpired as e:
            rec = {"id": gid, "error": f"timeout: {e.cmd[:3]}"}
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec["cpu_s"] = round((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime), 1)
    rec["wall_s"] = round(time.time() - t0, 1)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=500,
                    help="ids --start to --start + count - 1 (those already in --out are skipped; with --start 0, the geometries in the file when done)")
    ap.add_argument("--start", type=int, default=0, help="first id (a second machine takes a disjoint range)")
    ap.add_argument("--runs", type=int, default=3, help="meshing runs per geometry")
    ap.add_argument("--solve", type=int, default=0, metavar="N",
                    help="the first run (the rules' parameters) also solves N iterations and records the measured y+ and forces (0: mesh only)")
    ap.add_argument("--workers", type=int, default=1, help="geometries meshed at once (each run is serial)")
    ap.add_argument("--out", default=DATASET, help="the dataset file appended to")
    ap.add_argument("--flowcfd", default=shutil.which("flowcfd") or "target/release/flowcfd")
    ap.add_argument("--export-stl", metavar="DIR", help="write the STL of each id in --ids to DIR (no meshing), e.g. the held-out set")
    ap.add_argument("--ids", default="", help="comma-separated ids for --export-stl")
    args = ap.parse_args()
    if args.export_stl:
        os.makedirs(args.export_stl, exist_ok=True)
        for gid in [int(x) for x in args.ids.split(",") if x.strip()]:
            _, family, groups, flow, _, _ = geometry(gid)
            path = os.path.join(args.export_stl, f"{family}-{gid}.stl")
            shapes.write_stl(path, groups)
            print(f"{path} ({flow} flow)")
        return
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    done = existing_ids(args.out)
    todo = [i for i in range(args.start, args.start + args.count) if i not in done]
    print(f"{len(done)} geometries in {args.out}; {len(todo)} to go", flush=True)
    jobs = [(gid, args.flowcfd, args.runs, args.solve) for gid in todo]
    # Workers mesh; only this process appends, one whole gzip member per geometry, so a
    # kill loses at most the geometries in flight.
    with multiprocessing.Pool(args.workers) as pool:
        for rec in pool.imap_unordered(timed, jobs):
            with gzip.open(args.out, "at") as f:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            cells = [r["result"]["cells"] for r in rec.get("runs", []) if "result" in r]
            print(f"#{rec['id']} {rec.get('family')}: target {rec.get('target_cells')}, cells {cells}, {rec['cpu_s']} CPU s"
                  + (f", error: {rec['error']}" if "error" in rec else ""), flush=True)


if __name__ == "__main__":
    main()
