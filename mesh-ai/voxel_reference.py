#!/usr/bin/env python3
"""The voxelisation of src/meshai/voxel.rs, re-implemented in plain Python with the same
arithmetic, as the reference the Rust parity test compares against.

    python3 mesh-ai/voxel_reference.py FILE.stl N > grid.txt

prints N, then one line per (x, y) column with the z indices that are occupied. Reads ASCII
STL (the generator's and the test fixtures' form)."""
import math
import sys

JITTER = (0.0001372, 0.0002917)


def read_ascii_stl(path):
    tris, cur = [], []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "vertex":
                cur.append((float(w[1]), float(w[2]), float(w[3])))
                if len(cur) == 3:
                    tris.append(tuple(cur))
                    cur = []
    return tris


def voxelize(tris, n):
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    for t in tris:
        for p in t:
            for a in range(3):
                lo[a] = min(lo[a], p[a])
                hi[a] = max(hi[a], p[a])
    ext = max(hi[a] - lo[a] for a in range(3))
    h = ext / n
    org = [0.5 * (lo[a] + hi[a]) - 0.5 * ext for a in range(3)]
    hits = [[] for _ in range(n * n)]
    for p in tris:
        x0, x1 = min(q[0] for q in p), max(q[0] for q in p)
        y0, y1 = min(q[1] for q in p), max(q[1] for q in p)
        i0 = int(max(math.ceil((x0 - org[0]) / h - 0.5 - JITTER[0]), 0.0))
        i1 = min(math.floor((x1 - org[0]) / h - 0.5 - JITTER[0]), n - 1.0)
        j0 = int(max(math.ceil((y0 - org[1]) / h - 0.5 - JITTER[1]), 0.0))
        j1 = min(math.floor((y1 - org[1]) / h - 0.5 - JITTER[1]), n - 1.0)
        if i1 < 0 or j1 < 0:
            continue
        d = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1])
        if d == 0.0:
            continue
        for i in range(i0, int(i1) + 1):
            x = org[0] + (i + 0.5 + JITTER[0]) * h
            for j in range(j0, int(j1) + 1):
                y = org[1] + (j + 0.5 + JITTER[1]) * h
                l1 = ((x - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (y - p[0][1])) / d
                l2 = ((p[1][0] - p[0][0]) * (y - p[0][1]) - (x - p[0][0]) * (p[1][1] - p[0][1])) / d
                l0 = 1.0 - l1 - l2
                if l0 >= 0.0 and l1 >= 0.0 and l2 >= 0.0:
                    hits[i * n + j].append(l0 * p[0][2] + l1 * p[1][2] + l2 * p[2][2])
    cols = []
    for col, zs in enumerate(hits):
        ks = []
        if zs and len(zs) % 2 == 0:
            zs.sort()
            for a, b in zip(zs[0::2], zs[1::2]):
                k0 = int(max(math.ceil((a - org[2]) / h - 0.5), 0.0))
                k1 = math.floor((b - org[2]) / h - 0.5)
                if k1 < 0:
                    continue
                ks.extend(range(k0, min(int(k1), n - 1) + 1))
        cols.append(sorted(set(ks)))
    return cols


if __name__ == "__main__":
    path, n = sys.argv[1], int(sys.argv[2])
    cols = voxelize(read_ascii_stl(path), n)
    print(n)
    for ks in cols:
        print(" ".join(map(str, ks)))
