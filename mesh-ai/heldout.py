#!/usr/bin/env python3
"""Held-out near-copy check: is any training geometry a near-copy of a held-out one?

The held-out geometries are the evaluation's 50 and the rest of the dataset's held-out ids:
- OpenFOAM's 7 geometries that `eval.sh` meshes (read from eval.sh, so the two lists
  cannot part);
- the generated geometries of the evaluation, `generate.held_out_eval_ids` (eval.sh runs the
  same function): the dataset's first 8 external-flow ids with id % 7 == 3 below 503, and
  the first 5 such ids of each new family from 503 on. Those not in the dataset yet are
  made from their ids (deterministic) and measured here with flowcfd;
- every other dataset id with id % 7 == 3 (train.py's rule).
For each, this finds the nearest training geometry (the dataset's other ids) by shape and
lists the training ids that are near-copies in data/near_copies.json, which train.py drops
from its training split.

Shape is the 64³ occupancy grid (`flowcfd mesh-ai voxelize`, recorded per geometry) and two
scalars: the aspect ratios (middle / largest and smallest / largest extent) and area /
volume^(2/3). Grids are compared in two frames:
- as recorded, the model's own input frame (a cube of the largest bounding-box extent,
  centred on the box): IoU of the 64³ grids, with the bounding box's aspect ratios;
- in principal axes: each grid turned to the principal axes of its occupied cells and
  scaled by its largest extent along them, so a copy that is only yawed or pitched
  differently still matches. IoU at 32³, the best of the 48 axis flips and swaps; a 16³
  pass over every training grid keeps the best few for it. Aspect ratios are those of the
  extents along the principal axes.
A near-copy has IoU >= 0.9 and both aspect ratios within 5 %, in either frame. Grids of
different kinds (a solid and an open surface's shell) are not compared; a held-out
geometry without a grid gets its nearest training geometry by the scalars alone.

    python3 mesh-ai/heldout.py [--data DATASET] [--flowcfd PATH] [--out data/near_copies.json]

Standard library only (and flowcfd); about a minute of CPU for 500 geometries and the
evaluation's 35 made from their ids.
"""
import argparse
import base64
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (the dataset's reader and the evaluation's ids)
import shapes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IOU_MIN = 0.9
ASPECT_TOL = 0.05
# The 16³ pass hands to the 32³ one every training grid whose best 16³ IoU reaches
# PREFILTER (coarse grids score higher than fine ones), and at least the best NEAREST.
PREFILTER = 0.8
NEAREST = 3
# The 48 axis permutations and sign flips (the cube's symmetries, mirror images included).
VARIANTS = [(p, s) for p in itertools.permutations(range(3)) for s in itertools.product((1, -1), repeat=3)]
# Per byte of a packed grid (8 cells along z, the first in the high bit): the set bits'
# offsets, and (pair, count) of the bits set in each of its four pairs of cells.
BITS = [[k for k in range(8) if b >> (7 - k) & 1] for b in range(256)]
PAIRS = [[(p, c) for p in range(4) for c in [sum(1 for k in BITS[b] if k // 2 == p)] if c] for b in range(256)]


class Shape:
    """One geometry's grid and scalars, and its grid in principal axes."""

    def __init__(self, name, family, features, voxels):
        self.name, self.family = name, family
        ext = sorted((features["bbox_max"][a] - features["bbox_min"][a] for a in range(3)), reverse=True)
        self.aspects = (ext[1] / ext[0], ext[2] / ext[0])
        vol = features.get("volume")
        self.area_volume = features["area"] / vol ** (2 / 3) if vol else None
        self.kind = (voxels or {}).get("kind", "solid")
        self.raw = base64.b64decode(voxels["bits"]) if voxels and voxels.get("bits") else None
        self.n = voxels["size"] if self.raw else 0
        self.bits = int.from_bytes(self.raw, "big") if self.raw else 0
        self.occupied = self.bits.bit_count()
        if not self.occupied:
            self.raw = None
            return
        coarse = self._coarse()
        self._principal(coarse)
        self.grid16 = self._splat(16, coarse)
        self.bits16 = bitset(self.grid16, 16)
        self._grid32 = None

    def _coarse(self):
        """Occupied 2x2x2 blocks as (centre, cells occupied): an eighth of the points for
        the moments and the 16³ grid, read a byte at a time."""
        n, blocks = self.n, {}
        for b, byte in enumerate(self.raw):
            if byte:
                ij, m = divmod(b, n // 8)
                i, j = divmod(ij, n)
                for p, c in PAIRS[byte]:
                    key = (i >> 1, j >> 1, 4 * m + p)
                    blocks[key] = blocks.get(key, 0) + c
        return [((2 * a + 1, 2 * b + 1, 2 * c + 1), w) for (a, b, c), w in blocks.items()]

    def _principal(self, pts):
        s = [0.0] * 10  # weight, x, y, z, xx, yy, zz, xy, xz, yz
        for (x, y, z), w in pts:
            s[0] += w
            s[1] += w * x
            s[2] += w * y
            s[3] += w * z
            s[4] += w * x * x
            s[5] += w * y * y
            s[6] += w * z * z
            s[7] += w * x * y
            s[8] += w * x * z
            s[9] += w * y * z
        t = s[0]
        c = [s[1] / t, s[2] / t, s[3] / t]
        xy = lambda k, a, b: s[k] / t - c[a] * c[b]
        cov = [[xy(4, 0, 0), xy(7, 0, 1), xy(8, 0, 2)], [xy(7, 0, 1), xy(5, 1, 1), xy(9, 1, 2)], [xy(8, 0, 2), xy(9, 1, 2), xy(6, 2, 2)]]
        self.centre, self.axes = c, eigenvectors(cov)
        lo, hi = [math.inf] * 3, [-math.inf] * 3
        for p, _ in pts:
            q = self._turn(p)
            for a in range(3):
                lo[a], hi[a] = min(lo[a], q[a] - 1), max(hi[a], q[a] + 1)
        ext = [hi[a] - lo[a] for a in range(3)]
        self.mid = [(hi[a] + lo[a]) / 2 for a in range(3)]
        self.scale = max(ext)
        e = sorted(ext, reverse=True)
        self.principal_aspects = (e[1] / e[0], e[2] / e[0])

    def _turn(self, p):
        d = [p[a] - self.centre[a] for a in range(3)]
        return [sum(self.axes[r][a] * d[a] for a in range(3)) for r in range(3)]

    def _splat(self, g, pts):
        """The set of g³ cells (in principal axes) that the points fall in."""
        cells = set()
        for p, _ in pts:
            q = self._turn(p)
            cells.add(tuple(min(g - 1, max(0, int((q[a] - self.mid[a]) / self.scale * g + g / 2))) for a in range(3)))
        return cells

    def grid32(self):
        """The 32³ grid in principal axes, from every occupied cell (kept once made)."""
        if self._grid32 is not None:
            return self._grid32
        g, n = 32, self.n
        f = g / self.scale
        # Cell r along principal axis r of the cell centre p: axes[r]·p * f + off[r].
        (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = ([x * f for x in row] for row in self.axes)
        off = [g / 2 - (sum(self.axes[r][a] * self.centre[a] for a in range(3)) + self.mid[r]) * f for r in range(3)]
        cells = set()
        for b, byte in enumerate(self.raw):
            if byte:
                ij, m = divmod(b, n // 8)
                i, j = divmod(ij, n)
                x, y = i + 0.5, j + 0.5
                u, v, w = a0 * x + a1 * y + off[0], b0 * x + b1 * y + off[1], c0 * x + c1 * y + off[2]
                for k in BITS[byte]:
                    z = 8 * m + k + 0.5
                    cells.add((min(g - 1, max(0, int(u + a2 * z))), min(g - 1, max(0, int(v + b2 * z))), min(g - 1, max(0, int(w + c2 * z)))))
        self._grid32 = cells
        return cells


def eigenvectors(m):
    """Rows: the unit eigenvectors of the symmetric 3x3 matrix m, largest eigenvalue first
    (Jacobi rotations)."""
    a = [row[:] for row in m]
    v = [[float(i == j) for j in range(3)] for i in range(3)]
    for _ in range(50):
        off = max((abs(a[p][q]), p, q) for p in range(3) for q in range(p + 1, 3))
        if off[0] < 1e-12 * (abs(a[0][0]) + abs(a[1][1]) + abs(a[2][2]) + 1e-30):
            break
        _, p, q = off
        th = 0.5 * math.atan2(2 * a[p][q], a[q][q] - a[p][p])
        c, s = math.cos(th), math.sin(th)
        for k in range(3):  # a <- a J, then a <- J^T a, v <- v J
            a[k][p], a[k][q] = c * a[k][p] - s * a[k][q], s * a[k][p] + c * a[k][q]
        for k in range(3):
            a[p][k], a[q][k] = c * a[p][k] - s * a[q][k], s * a[p][k] + c * a[q][k]
        for k in range(3):
            v[k][p], v[k][q] = c * v[k][p] - s * v[k][q], s * v[k][p] + c * v[k][q]
    order = sorted(range(3), key=lambda i: -a[i][i])
    return [[v[k][i] for k in range(3)] for i in order]


def bitset(cells, g):
    buf = bytearray(g * g * g // 8)
    for i, j, k in cells:
        idx = (i * g + j) * g + k
        buf[idx >> 3] |= 0x80 >> (idx & 7)
    return int.from_bytes(buf, "big")


def variants(cells, g):
    """The 48 bitsets of the cells turned and mirrored by VARIANTS."""
    out = []
    for perm, sign in VARIANTS:
        out.append(bitset([tuple(c[perm[a]] if sign[a] > 0 else g - 1 - c[perm[a]] for a in range(3)) for c in cells], g))
    return out


def iou(a, b, na, nb):
    inter = (a & b).bit_count()
    return inter / (na + nb - inter) if na + nb - inter else 0.0


def close(a, b):
    return all(abs(math.log(max(x, 1e-9) / max(y, 1e-9))) <= math.log(1 + ASPECT_TOL) for x, y in zip(a, b))


def scalar_distance(h, t):
    pairs = list(zip(h.aspects, t.aspects))
    if h.area_volume and t.area_volume:
        pairs.append((h.area_volume, t.area_volume))
    return math.sqrt(sum(math.log(max(x, 1e-9) / max(y, 1e-9)) ** 2 for x, y in pairs))


def compare(h, train):
    """The nearest training shape to h and every near-copy of it: (nearest row, [rows])."""
    same = [t for t in train if t.raw is not None and t.kind == h.kind and t.n == h.n] if h.raw is not None else []
    if not same:
        best = min(train, key=lambda t: scalar_distance(h, t))
        return {"train": best, "iou_model": None, "iou_principal": None}, []
    v16 = variants(h.grid16, 16)
    n16 = len(h.grid16)
    scored = []
    for t in same:
        s = [iou(v, t.bits16, n16, len(t.grid16)) for v in v16]
        scored.append((max(s), t, sorted(range(len(s)), key=lambda i: -s[i])[:3]))
    scored.sort(key=lambda x: -x[0])
    h32 = h.grid32()
    principal, rows = {}, []
    for k, (s16, t, best_variants) in enumerate(scored):
        if k >= NEAREST and s16 < PREFILTER:
            break
        t32 = bitset(t.grid32(), 32)
        principal[t.name] = max(iou(bitset(turn(h32, VARIANTS[i], 32), 32), t32, len(h32), len(t.grid32())) for i in best_variants)
    for t in same:
        model = iou(h.bits, t.bits, h.occupied, t.occupied)
        pr = principal.get(t.name)
        row = {"train": t, "iou_model": model, "iou_principal": pr}
        frames = []
        if model >= IOU_MIN and close(h.aspects, t.aspects):
            frames.append("model")
        if pr is not None and pr >= IOU_MIN and close(h.principal_aspects, t.principal_aspects):
            frames.append("principal")
        row["frames"] = frames
        rows.append(row)
    nearest = max(rows, key=lambda r: max(r["iou_model"], r["iou_principal"] or 0))
    return nearest, [r for r in rows if r["frames"]]


def turn(cells, variant, g):
    perm, sign = variant
    return [tuple(c[perm[a]] if sign[a] > 0 else g - 1 - c[perm[a]] for a in range(3)) for c in cells]


def measured(flowcfd, name, family, path):
    """A surface file's Shape from `flowcfd geometry` and `flowcfd mesh-ai voxelize`, as
    generate.py records them; None (and a message) when flowcfd cannot read it."""
    g = subprocess.run([flowcfd, "geometry", path], capture_output=True, text=True, timeout=600)
    if g.returncode != 0:
        print(f"{name}: flowcfd geometry failed: {g.stderr.strip()[-200:]}", file=sys.stderr)
        return None
    v = subprocess.run([flowcfd, "mesh-ai", "voxelize", "--geometry", path, "--size", "64"], capture_output=True, text=True, timeout=600)
    voxels = json.loads(v.stdout) if v.returncode == 0 else None
    return Shape(name, family, json.loads(g.stdout)["analysis"], voxels)


def openfoam_shapes(flowcfd):
    """OpenFOAM's evaluation geometries, as eval.sh names them, measured by flowcfd."""
    text = open(os.path.join(HERE, "eval.sh")).read()
    folder = re.search(r"^G=(\S+)", text, re.M).group(1)
    names = re.search(r"for f in (.*?); do", text, re.S).group(1).replace("\\\n", " ").split()
    return [s for s in (measured(flowcfd, name, "openfoam", os.path.join(folder, name)) for name in names) if s]


def generated_shapes(flowcfd, ids):
    """Generated geometries not in the dataset (yet), made from their ids as `generate.py
    --export-stl` makes them and measured by flowcfd."""
    out = []
    with tempfile.TemporaryDirectory(prefix="flowcfd-heldout-") as work:
        for gid in ids:
            _, family, groups, _, _, _ = generate.geometry(gid)
            path = os.path.join(work, f"{family}-{gid}.stl")
            shapes.write_stl(path, groups)
            s = measured(flowcfd, str(gid), family, path)
            if s:
                out.append(s)
    return out


def fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=generate.DATASET)
    ap.add_argument("--flowcfd", default=os.environ.get("FLOWCFD") or shutil.which("flowcfd") or "target/debug/flowcfd")
    ap.add_argument("--no-openfoam", action="store_true", help="leave out OpenFOAM's geometries")
    ap.add_argument("--out", default=os.path.join(HERE, "data", "near_copies.json"))
    args = ap.parse_args()
    t0 = time.time()
    everything = list(map(json.loads, generate.records(args.data)))
    recs = [r for r in everything if "features" in r]
    by_id = {r["id"]: Shape(str(r["id"]), r["family"], r["features"], r.get("voxels")) for r in recs}
    train = [s for i, s in by_id.items() if i % 7 != 3]
    held = [s for i, s in sorted(by_id.items()) if i % 7 == 3]
    # The same ids as eval.sh's (from every record, as it reads them).
    eval_ids = generate.held_out_eval_ids(r["id"] for r in everything)
    missing = [i for i in eval_ids if i not in by_id]
    held += generated_shapes(args.flowcfd, missing)
    evaluation = [str(i) for i in eval_ids]
    if not args.no_openfoam:
        of = openfoam_shapes(args.flowcfd)
        held += of
        evaluation = [s.name for s in of] + evaluation
    print(f"{len(recs)} geometries: {len(train)} training, {len(held)} held out ({len(evaluation)} in the evaluation, "
          f"{len(missing)} of them made from their ids, not in the dataset); read and measured in {time.time() - t0:.0f} s")
    print(f"{'held out':<30} {'family':<12} {'nearest':>7} {'family':<12} {'IoU model':>9} {'IoU princ.':>10} "
          f"{'aspects held / nearest':<24} {'A/V^2/3':<12} near-copies")
    pairs, by_scalars = [], []
    for h in held:
        nearest, copies = compare(h, train)
        if nearest["iou_model"] is None:
            by_scalars.append(h.name if h.raw is None else f"{h.name} ({h.kind} grid)")
        t = nearest["train"]
        asp = f"{h.aspects[0]:.2f},{h.aspects[1]:.2f} / {t.aspects[0]:.2f},{t.aspects[1]:.2f}"
        av = f"{fmt(h.area_volume, '.1f')} / {fmt(t.area_volume, '.1f')}"
        print(f"{h.name:<30} {h.family:<12} {t.name:>7} {t.family:<12} {fmt(nearest['iou_model']):>9} "
              f"{fmt(nearest['iou_principal']):>10} {asp:<24} {av:<12} {','.join(c['train'].name for c in copies) or '-'}")
        for c in copies:
            pairs.append({"train_id": int(c["train"].name), "heldout": h.name, "frames": c["frames"],
                          "iou_model": round(c["iou_model"], 4), "iou_principal": None if c["iou_principal"] is None else round(c["iou_principal"], 4)})
    drop = sorted({p["train_id"] for p in pairs})
    print(f"\n{len({p['heldout'] for p in pairs})} of {len(held)} held-out geometries have near-copies in training: "
          f"{len(drop)} training ids to drop ({', '.join(map(str, drop)) or 'none'}). "
          f"Compared by the scalars only (no grid, or no training grid of its kind): {', '.join(by_scalars) or 'none'}. "
          f"{time.time() - t0:.0f} s.")
    doc = {"criterion": f"IoU >= {IOU_MIN} and both aspect ratios within {ASPECT_TOL:.0%}, as recorded (64³) or in "
                        "principal axes (32³); see heldout.py",
           "geometries": len(recs), "evaluation": evaluation, "heldout": [h.name for h in held], "drop_ids": drop}
    with open(args.out, "w") as f:  # one line per key and per pair, for readable diffs
        f.write("{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n" for k, v in doc.items()))
        f.write(' "pairs": [\n' + ",\n".join("  " + json.dumps(p) for p in pairs) + "\n ]\n}\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
