"""The generator's families from id V3_START (503) on, for the shapes the first 503 ids
lacked: thin plates and fins, slender wings, tori and rings, finned rockets, assemblies of
touching parts, open surfaces (CAD exports with gaps) and urban clusters; and the pose of
every external body from that id on: a pitch (angle of attack, about y) besides the yaw
(about z).

Ids below V3_START never come here, so `generate.geometry` reproduces them exactly.
Standard library only, like the rest of the generator.
"""
import math

import shapes

NEW_FAMILIES = ["plate", "slender_wing", "torus", "rocket", "assembly", "open", "urban"]
# The share of ids (after the first cycle through NEW_FAMILIES) that get a new family; the
# rest draw from the old ones, so the old families keep growing with the new poses.
NEW_SHARE = 0.6
MAX_PITCH_DEG = 15.0


def pick(rng, k, old_families):
    """The family of the k-th id from V3_START: the new families in turn first (so a short
    run covers them all), then a new one with probability NEW_SHARE, else an old one."""
    if k < len(NEW_FAMILIES):
        return NEW_FAMILIES[k]
    return rng.choice(NEW_FAMILIES) if rng.random() < NEW_SHARE else rng.choice(old_families)


def pose(rng, groups, ground, params, yaw):
    """Pitches an external body off the ground by -15..15 degrees about y (a positive angle
    of attack lifts the upstream end), then yaws everything by `yaw` about z; records both
    in params."""
    pitch = 0.0 if ground else math.radians(rng.uniform(-MAX_PITCH_DEG, MAX_PITCH_DEG))
    params["aoa_deg"] = round(math.degrees(pitch), 3)
    params["yaw_deg"] = round(math.degrees(yaw), 3)
    return [(g, shapes.rotate(shapes.rotate(t, "y", pitch), "z", yaw)) for g, t in groups]


def _log_uniform(rng, lo, hi):
    return 10 ** rng.uniform(math.log10(lo), math.log10(hi))


def plate(rng, size, params):
    """A thin plate or fin, span (the largest extent) = size, span / chord 1-100, thickness
    0.5-5 % of the chord: a rounded superellipsoid, or a blunt or rounded section lofted
    along the span, sometimes swept and tapered; some stand upright (a fin)."""
    ar = _log_uniform(rng, 1, 100)
    t = _log_uniform(rng, 0.005, 0.05)
    span, chord = size, size / ar
    params.update(aspect_ratio=ar, thickness_ratio=t, chord=chord, span=span)
    if rng.random() < 0.4:
        e2 = rng.choice([rng.uniform(0.1, 0.4), 1.0])  # 1: an elliptic planform (a disc at ar 1)
        params.update(kind="superellipsoid", e2=e2)
        tris = shapes.superellipsoid(chord / 2, span / 2, t * chord / 2, rng.uniform(0.1, 0.4), e2, n=48)
    else:
        sweep = rng.uniform(0, 45) if rng.random() < 0.4 else 0.0
        taper = rng.uniform(0.3, 1.0) if rng.random() < 0.5 else 1.0
        p = None if rng.random() < 0.5 else rng.uniform(2.5, 10)
        params.update(kind="box" if p is None else "rounded", sweep_deg=sweep, taper=taper)
        tris = shapes.wing(0, 0, 0, chord, span, sweep, taper, sections=4 if sweep or taper < 1 else 1,
                           section=shapes.plate_section(t, 24, p))
    if rng.random() < 0.3:
        params["upright"] = True
        tris = shapes.rotate(tris, "x", math.pi / 2)
    return [("plate", shapes.orient(tris))]


def slender_wing(rng, size, params):
    """A NACA 4-digit wing of span / chord 5-100 (span = size)."""
    m, p, t = rng.choice([0, 0.02, 0.04]), rng.choice([0.3, 0.4]), rng.uniform(0.09, 0.18)
    ar = _log_uniform(rng, 5, 100)
    params.update(naca=[m, p, t], chord=size / ar, span=size, aspect_ratio=ar)
    tris = shapes.wing(m, p, t, size / ar, size, rng.uniform(0, 35), rng.uniform(0.3, 1.0), rng.uniform(0, 6),
                       rng.uniform(-3, 3), sections=12)
    return [("wing", shapes.orient(tris))]


def torus(rng, size, params):
    """A torus (circular section) or a washer (rectangular section, from a flat ring to a
    short tube), outer diameter = size, its axis along x, y or z."""
    axis = rng.choice(["x", "y", "z"])
    if rng.random() < 0.5:
        ratio = rng.uniform(0.05, 0.5)  # section radius / ring radius
        major = size / 2 / (1 + ratio)
        params.update(kind="torus", axis=axis, major=major, minor=ratio * major)
        tris = shapes.torus(major, ratio * major, n=64, m=16)
    else:
        outer = size / 2
        inner = outer * rng.uniform(0.3, 0.9)
        height = outer * _log_uniform(rng, 0.05, 1.0)
        params.update(kind="washer", axis=axis, inner=inner, outer=outer, height=height)
        tris = shapes.washer(inner, outer, height, n=64)
    if axis == "x":
        tris = shapes.rotate(tris, "y", math.pi / 2)
    elif axis == "y":
        tris = shapes.rotate(tris, "x", math.pi / 2)
    return [("ring", shapes.orient(tris))]


def rocket(rng, size, params):
    """A body of revolution along x (ogive or cone nose upstream, cylinder, boat tail), length
    = size, with 3 or 4 thin fins on the cylinder near the base, each its own group, their
    roots sunk into the body."""
    length = size
    r = length * rng.uniform(0.03, 0.08)
    nose = r * rng.uniform(2, 6)
    ogive = rng.random() < 0.6
    tail = r * rng.uniform(0.3, 1.5) if rng.random() < 0.7 else 0.0
    r_base = r * rng.uniform(0.6, 0.9) if tail else r
    prof = []
    rho = (r * r + nose * nose) / (2 * r)
    for i in range(9):
        x = nose * i / 8
        rx = math.sqrt(max(rho * rho - (nose - x) ** 2, 0.0)) + r - rho if ogive else r * x / nose
        prof.append((max(rx, 0.0), -length / 2 + x))
    prof.append((r, length / 2 - tail))
    if tail:
        prof.append((0.5 * (r + r_base), length / 2 - tail / 2))
        prof.append((r_base, length / 2))
    prof.append((0.0, length / 2))
    groups = [("body", shapes.lathe(prof, n=40, axis="x"))]
    nf = rng.choice([3, 4])
    root = length * rng.uniform(0.08, 0.18)
    semi = r * rng.uniform(1.0, 3.0)
    sweep, taper = rng.uniform(20, 55), rng.uniform(0.3, 1.0)
    t = rng.uniform(0.02, 0.05)
    p = None if rng.random() < 0.5 else rng.uniform(2.5, 8)
    x0 = length / 2 - tail - root - length * rng.uniform(0, 0.05)
    roll = rng.choice([0.0, math.pi / nf])
    params.update(radius=r, nose=nose, nose_shape="ogive" if ogive else "cone", boat_tail=tail, fins=nf,
                  fin_root=root, fin_span=semi, fin_sweep_deg=sweep, fin_taper=taper, fin_thickness_ratio=t)
    fin = shapes.wing(0, 0, 0, root, semi, sweep, taper, sections=2, half=True, section=shapes.plate_section(t, 16, p))
    fin = shapes.translate(fin, (x0, 0.9 * r, 0.0))
    for k in range(nf):
        groups.append((f"fin{k + 1}", shapes.rotate(fin, "x", roll + 2 * math.pi * k / nf)))
    return [(g, shapes.orient(ts)) for g, ts in groups]


def _part(rng, kind, size):
    a, b, c = (size * rng.uniform(0.1, 0.3) for _ in range(3))
    if kind == "box":
        return shapes.box((-a, -b, -c), (a, b, c))
    if kind == "cylinder":
        prof = [(0, -a), (b, -a), (b, a), (0, a)]
        return shapes.lathe(prof, n=40, axis=rng.choice(["x", "z"]))
    if kind == "ellipsoid":
        return shapes.superellipsoid(a, b, c, n=32)
    e = rng.uniform(0.15, 0.5)
    return shapes.superellipsoid(a, b, c, e, e, n=40)


def assembly(rng, size, params):
    """2-4 boxes, cylinders, ellipsoids and rounded boxes stacked (along z) or side by side
    (along x or y), each touching the last (a third of the joints) or 0-2 % of size from it,
    shifted sideways a little."""
    n = rng.randint(2, 4)
    axis = rng.choice([0, 1, 2])
    cursor, groups, gaps = 0.0, [], []
    for i in range(n):
        tris = _part(rng, rng.choice(["box", "cylinder", "ellipsoid", "rounded_box"]), size)
        lo, hi = shapes.bounds(tris)
        shift = [size * rng.uniform(-0.05, 0.05) for _ in range(3)]
        if i:
            gaps.append(0.0 if rng.random() < 0.35 else size * rng.uniform(0, 0.02))
            cursor += gaps[-1]
        shift[axis] = cursor - lo[axis]
        cursor = shift[axis] + hi[axis]
        groups.append((f"part{i + 1}", shapes.translate(tris, shift)))
    lo, hi = shapes.bounds([t for _, ts in groups for t in ts])
    centre = [-(lo[a] + hi[a]) / 2 for a in range(3)]
    params.update(parts=n, axis="xyz"[axis], gaps=gaps)
    return [(g, shapes.orient(shapes.translate(ts, centre))) for g, ts in groups]


def _panels(rng, size, params):
    """A van-like body of flat panels (slanted front), each inset from its edges so gaps
    separate them, with one or two panels missing."""
    l, w, h = size, size * rng.uniform(0.35, 0.5), size * rng.uniform(0.25, 0.4)
    slant = l * rng.uniform(0.0, 0.25)
    g = l * rng.uniform(0.005, 0.03)
    x0, x1, y0, y1, z0, z1 = -l / 2, l / 2, -w / 2, w / 2, 0.0, h
    xs = x0 + slant  # where the front panel meets the roof
    quads = {
        "floor": [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)],
        "roof": [(xs, y0, z1), (x1, y0, z1), (x1, y1, z1), (xs, y1, z1)],
        "front": [(x0, y0, z0), (x0, y1, z0), (xs, y1, z1), (xs, y0, z1)],
        "rear": [(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)],
        "right": [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (xs, y0, z1)],
        "left": [(x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (xs, y1, z1)],
    }
    missing = rng.sample(sorted(quads), rng.randint(1, 2))
    groups = []
    for name, q in quads.items():
        if name in missing:
            continue
        cx, cy, cz = (sum(p[a] for p in q) / 4 for a in range(3))
        inset = []
        for p in q:  # pull each corner towards the panel's centre by about g
            d = math.sqrt((p[0] - cx) ** 2 + (p[1] - cy) ** 2 + (p[2] - cz) ** 2)
            f = g / d
            inset.append((p[0] + f * (cx - p[0]), p[1] + f * (cy - p[1]), p[2] + f * (cz - p[2]) - h / 2))
        groups.append((name, shapes.panel(inset, 4)))
    params.update(kind="panels", missing=missing, inset=g)
    return groups


def open_surface(rng, size, params):
    """A surface that is not closed: a flat or curved sheet, a spherical shell open at its
    rim, an open half cylinder, a box with one or two faces removed, or a body of panels
    with gaps and missing panels."""
    kind = rng.choice(["sheet", "dome", "half_pipe", "open_box", "panels"])
    if kind == "panels":
        groups = _panels(rng, size, params)
    elif kind == "sheet":
        a = size / 2
        b = a * rng.uniform(0.2, 1.0)
        camber = a * rng.uniform(0, 0.3) if rng.random() < 0.6 else 0.0
        saddle = a * rng.uniform(-0.2, 0.2) if rng.random() < 0.3 else 0.0
        roll = rng.choice([0.0, math.pi / 2, rng.uniform(0, math.pi)])
        params.update(camber=camber, saddle=saddle, roll_deg=math.degrees(roll))
        groups = [("sheet", shapes.rotate(shapes.sheet(a, b, camber, saddle), "x", roll))]
    elif kind == "dome":
        cap = rng.uniform(60, 120)
        turn = rng.choice([0.0, math.pi, math.pi / 2, -math.pi / 2])  # opening down, up, upstream, downstream
        params.update(cap_deg=cap)
        groups = [("dome", shapes.rotate(shapes.dome(size / 2, cap), "y", turn))]
    elif kind == "half_pipe":
        sweep = rng.uniform(90, 270) if rng.random() < 0.5 else 180.0
        tris = shapes.half_pipe(size * rng.uniform(0.1, 0.3), size, sweep)
        tris = shapes.rotate(tris, "x", rng.choice([0.0, math.pi]))
        if rng.random() < 0.5:
            tris = shapes.rotate(tris, "z", math.pi / 2)
        params.update(sweep_deg=sweep)
        groups = [("half_pipe", tris)]
    else:
        dims = [size / 2, size * rng.uniform(0.15, 0.5), size * rng.uniform(0.15, 0.5)]
        removed = rng.sample(shapes.BOX_FACES, rng.randint(1, 2))
        params.update(removed=removed)
        keep = [f for f in shapes.BOX_FACES if f not in removed]
        groups = [("open_box", shapes.box_faces(tuple(-d for d in dims), tuple(dims), keep))]
    params.setdefault("kind", kind)
    assert shapes.free_edges([t for _, ts in groups for t in ts]) > 0, "an open surface came out closed"
    return groups


def urban(rng, size, params):
    """6-20 box buildings on a grid of blocks with streets between them (block pitch =
    size / the longer side's block count), of varied heights with the odd tower."""
    n = rng.randint(6, 20)
    cols = rng.randint(2, 5)
    rows = -(-n // cols)
    pitch = size / max(rows, cols)
    street = pitch * rng.uniform(0.15, 0.4)
    base = pitch * rng.uniform(0.5, 2.0)
    cells = rng.sample([(i, j) for i in range(rows) for j in range(cols)], n)
    groups = []
    for k, (i, j) in enumerate(sorted(cells)):
        lx, ly = ((pitch - street) * rng.uniform(0.6, 1.0) for _ in range(2))
        x = (i - rows / 2) * pitch + rng.uniform(0, pitch - street - lx)
        y = (j - cols / 2) * pitch + rng.uniform(0, pitch - street - ly)
        h = base * 2 ** rng.gauss(0, 0.5) * (rng.uniform(2, 4) if rng.random() < 0.15 else 1.0)
        groups.append((f"building{k + 1}", shapes.box((x, y, 0.0), (x + lx, y + ly, h))))
    params.update(buildings=n, rows=rows, cols=cols, street=street)
    return groups


BUILDERS = {"plate": plate, "slender_wing": slender_wing, "torus": torus, "rocket": rocket, "assembly": assembly,
            "open": open_surface, "urban": urban}


def build(rng, family):
    """(groups, flow type, ground, generator parameters) of a new family, posed."""
    size = 10 ** rng.uniform(-1.3, 1.0)  # 0.05 m … 10 m, as the old families
    params = {"size": size}
    groups = BUILDERS[family](rng, size, params)
    ground = family == "urban"
    # Bodies that have a front (plates, wings, rockets, open shells) mostly face the flow,
    # within 20 degrees; the rest, and half of those, turn all the way round.
    if family in ("torus", "assembly", "urban") or rng.random() < 0.5:
        yaw = rng.uniform(-math.pi, math.pi)
    else:
        yaw = math.radians(rng.uniform(-20, 20))
    return pose(rng, groups, ground, params, yaw), "external", ground, params
