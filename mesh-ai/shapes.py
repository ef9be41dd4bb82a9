"""Procedural geometries for the mesh AI's dataset: closed, watertight solids, and (the
builders under "Open surfaces") sheets and shells with free edges.

Every builder returns a list of (group name, triangles) where a triangle is three (x, y, z)
tuples in metres, counter-clockwise seen from outside. z is up and the flow runs along +x.
Only the standard library is used, so the generator runs anywhere Python 3 does.
"""
import math

Tri = tuple


def _grid_surface(f, nu, nv):
    """A closed surface from f(u, v), u periodic in [0, 1), v in [0, 1] with poles at v = 0
    and v = 1 (f must map each pole row to a single point)."""
    south = f(0.0, 0.0)
    north = f(0.0, 1.0)
    rows = [[f(j / nu, i / nv) for j in range(nu)] for i in range(1, nv)]
    tris = []
    for j in range(nu):
        j2 = (j + 1) % nu
        tris.append((south, rows[0][j2], rows[0][j]))
        tris.append((north, rows[-1][j], rows[-1][j2]))
    return tris + _rings(rows)


def _rings(rings):
    """Quads between consecutive closed rings of equal length, two triangles each, wound so
    that the outside is on the left of a ring's direction of travel."""
    tris = []
    for a, b in zip(rings, rings[1:]):
        n = len(a)
        for j in range(n):
            j2 = (j + 1) % n
            tris.append((a[j], a[j2], b[j2]))
            tris.append((a[j], b[j2], b[j]))
    return tris


def _c(w, m):
    c = math.cos(w)
    return math.copysign(abs(c) ** m, c)


def _s(w, m):
    s = math.sin(w)
    return math.copysign(abs(s) ** m, s)


def superellipsoid(a, b, c, e1=1.0, e2=1.0, n=40, centre=(0.0, 0.0, 0.0)):
    """|x/a|^(2/e2) + |y/b|^(2/e2) ... : e = 1 is an ellipsoid, small e a box with rounded
    edges."""
    cx, cy, cz = centre

    def f(u, v):
        th = -math.pi / 2 + math.pi * v
        ph = -math.pi + 2 * math.pi * u
        return (cx + a * _c(th, e1) * _c(ph, e2), cy + b * _c(th, e1) * _s(ph, e2), cz + c * _s(th, e1))

    return _grid_surface(f, n, max(8, n // 2))


def lathe(profile, n=40, axis="x", centre=(0.0, 0.0, 0.0)):
    """A surface of revolution of profile [(r, s), …] with r = 0 at both ends, about an axis
    through `centre` along x or z."""
    cx, cy, cz = centre
    pts = profile

    def f(u, v):
        # v picks a point along the profile (linear in index), u the angle.
        t = v * (len(pts) - 1)
        i = min(int(t), len(pts) - 2)
        w = t - i
        r = pts[i][0] * (1 - w) + pts[i + 1][0] * w
        s = pts[i][1] * (1 - w) + pts[i + 1][1] * w
        ang = 2 * math.pi * u
        if axis == "x":
            return (cx + s, cy + r * math.cos(ang), cz + r * math.sin(ang))
        return (cx + r * math.cos(ang), cy - r * math.sin(ang), cz + s)

    return _grid_surface(f, n, 2 * (len(pts) - 1) * max(1, 12 // (len(pts) - 1)))


def naca4(m, p, t, n=40):
    """Upper and lower surface points of a NACA 4-digit section (chord 1), from the leading
    to the trailing edge at the same x stations (cosine spacing), closed trailing edge."""
    up, lo = [], []
    for i in range(n + 1):
        x = 0.5 * (1 - math.cos(math.pi * i / n))
        yt = 5 * t * (0.2969 * math.sqrt(x) - 0.1260 * x - 0.3516 * x**2 + 0.2843 * x**3 - 0.1036 * x**4)
        if m > 0 and x < p:
            yc, dy = m / p**2 * (2 * p * x - x * x), 2 * m / p**2 * (p - x)
        elif m > 0:
            yc, dy = m / (1 - p) ** 2 * ((1 - 2 * p) + 2 * p * x - x * x), 2 * m / (1 - p) ** 2 * (p - x)
        else:
            yc, dy = 0.0, 0.0
        th = math.atan(dy)
        up.append((x - yt * math.sin(th), yc + yt * math.cos(th)))
        lo.append((x + yt * math.sin(th), yc - yt * math.cos(th)))
    return up, lo


def wing(m, p, t, chord, span, sweep_deg=0.0, taper=1.0, dihedral_deg=0.0, twist_deg=0.0, n=30, sections=8,
         section=None, half=False):
    """A straight, tapered or swept wing along y (root at y = 0, both halves), closed by
    its tip sections. `section` replaces the NACA section with (upper, lower) points of n + 1
    each (`plate_section`); `half` builds one half, from the root at y = 0 to y = span."""
    up, lo = section if section else naca4(m, p, t, n)
    n = len(up) - 1
    secs = []
    for k in range(sections + 1):
        eta = k / sections if half else -1 + 2 * k / sections  # -1 … 1 across the span
        y = (span if half else 0.5 * span) * eta
        c = chord * (1 - (1 - taper) * abs(eta))
        x0 = abs(y) * math.tan(math.radians(sweep_deg))
        z0 = abs(y) * math.tan(math.radians(dihedral_deg))
        tw = math.radians(twist_deg) * abs(eta)
        def place(q):
            xs, zs = q[0] * c, q[1] * c
            return (x0 + xs * math.cos(tw) + zs * math.sin(tw), y, z0 - xs * math.sin(tw) + zs * math.cos(tw))
        secs.append(([place(q) for q in up], [place(q) for q in lo]))
    tris = []
    for k in range(sections):
        (ua, la), (ub, lb) = secs[k], secs[k + 1]
        for i in range(n):
            tris.append((ua[i], ub[i], ub[i + 1]))
            tris.append((ua[i], ub[i + 1], ua[i + 1]))
            tris.append((la[i], la[i + 1], lb[i + 1]))
            tris.append((la[i], lb[i + 1], lb[i]))
    # Tips: strips between upper and lower points at the same stations (the leading and
    # trailing points are shared, so the first and last strips are triangles).
    for (u, l), flip in ((secs[0], False), (secs[-1], True)):
        for i in range(n):
            quad = [(u[i], u[i + 1], l[i + 1]), (u[i], l[i + 1], l[i])]
            for q in quad:
                if q[0] == q[1] or q[1] == q[2] or q[0] == q[2]:
                    continue
                tris.append(q if not flip else (q[0], q[2], q[1]))
    return tris


def box(lo, hi):
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0), (x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]
    faces = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    tris = []
    for a, b, c, d in faces:
        tris.append((v[a], v[b], v[c]))
        tris.append((v[a], v[c], v[d]))
    return tris


def tube(path, radius, n=24, caps=("inlet", "outlet")):
    """A closed tube of `radius` along a polyline path [(x, y, z), …] (a pipe or a bend),
    with its end caps as separate groups. Returns [(group, tris)]."""
    rings = []
    for k, p in enumerate(path):
        a = path[max(k - 1, 0)]
        b = path[min(k + 1, len(path) - 1)]
        d = [b[i] - a[i] for i in range(3)]
        ln = math.sqrt(sum(x * x for x in d))
        d = [x / ln for x in d]
        ref = (0.0, 0.0, 1.0) if abs(d[2]) < 0.9 else (1.0, 0.0, 0.0)
        e1 = [d[1] * ref[2] - d[2] * ref[1], d[2] * ref[0] - d[0] * ref[2], d[0] * ref[1] - d[1] * ref[0]]
        l1 = math.sqrt(sum(x * x for x in e1))
        e1 = [x / l1 for x in e1]
        e2 = [d[1] * e1[2] - d[2] * e1[1], d[2] * e1[0] - d[0] * e1[2], d[0] * e1[1] - d[1] * e1[0]]
        rings.append([tuple(p[i] + radius * (math.cos(2 * math.pi * j / n) * e1[i] + math.sin(2 * math.pi * j / n) * e2[i]) for i in range(3)) for j in range(n)])
    # The rings turn the other way round the path than the grid's rows: reverse the winding.
    wall = [(a, c, b) for a, b, c in _rings(rings)]
    start = tuple(path[0])
    end = tuple(path[-1])
    cap_in = [(start, rings[0][j], rings[0][(j + 1) % n]) for j in range(n)]
    cap_out = [(end, rings[-1][(j + 1) % n], rings[-1][j]) for j in range(n)]
    return [(caps[0], cap_in), ("wall", wall), (caps[1], cap_out)]


def orient(tris):
    """Flips every triangle when the signed volume is negative (inside-out)."""
    vol = 0.0
    for a, b, c in tris:
        vol += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6
    return tris if vol >= 0 else [(a, c, b) for a, b, c in tris]


def orient_all(groups):
    """Like `orient`, for one closed surface split into several groups (a tube and its caps)."""
    tris = [t for _, ts in groups for t in ts]
    if orient(tris) is tris:
        return groups
    return [(g, [(a, c, b) for a, b, c in ts]) for g, ts in groups]


def plate_section(t, n=30, p=None):
    """(upper, lower) points, n + 1 each, of a flat plate section of chord 1 and thickness
    t, for `wing(section=...)`: blunt (a box) when p is None, else a superellipse
    |2x - 1|^p + |y / (t/2)|^p = 1 (rounded edges, sharper corners as p grows)."""
    h = t / 2
    if p is None:
        # The blunt ends bulge by a fifth of the half-thickness: with the end point in
        # line with the corners, a tip triangle would have no area.
        xs = [k / (n - 2) for k in range(n - 1)]
        up = [(-0.2 * h, 0.0)] + [(x, h) for x in xs] + [(1.0 + 0.2 * h, 0.0)]
    else:
        up = []
        for i in range(n + 1):
            x = 0.5 * (1 - math.cos(math.pi * i / n))
            up.append((x, h * max(0.0, 1 - abs(2 * x - 1) ** p) ** (1 / p)))
    return up, [(x, -y) for x, y in up]


def revolve_loop(loop, n=48):
    """A closed surface of revolution about z of a closed profile loop [(r, z), …] that
    keeps off the axis (r > 0): a torus from a circle, a washer from a rectangle."""
    rings = []
    for r, z in loop:
        rings.append([(r * math.cos(2 * math.pi * i / n), r * math.sin(2 * math.pi * i / n), z) for i in range(n)])
    return orient(_rings(rings + rings[:1]))


def torus(major, minor, n=48, m=16):
    """A torus about z with a circular section."""
    return revolve_loop([(major + minor * math.cos(2 * math.pi * j / m), minor * math.sin(2 * math.pi * j / m)) for j in range(m)], n)


def washer(inner, outer, height, n=48):
    """A ring about z with a rectangular section (an annulus of some height)."""
    return revolve_loop([(inner, -height / 2), (outer, -height / 2), (outer, height / 2), (inner, height / 2)], n)


def rotate(tris, axis, ang):
    """Triangles rotated by `ang` radians about the x, y or z axis through the origin
    (right-handed: about y, a positive angle lifts the -x end)."""
    c, s = math.cos(ang), math.sin(ang)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]

    def r(p):
        q = list(p)
        q[i], q[j] = c * p[i] - s * p[j], s * p[i] + c * p[j]
        return tuple(q)

    return [tuple(r(p) for p in t) for t in tris]


def translate(tris, d):
    return [tuple((p[0] + d[0], p[1] + d[1], p[2] + d[2]) for p in t) for t in tris]


def bounds(tris):
    """(lower corner, upper corner) of the triangles."""
    pts = [p for t in tris for p in t]
    return tuple(min(p[a] for p in pts) for a in range(3)), tuple(max(p[a] for p in pts) for a in range(3))


def free_edges(tris):
    """Edges used by exactly one triangle: none on a closed surface. Points closer than
    1e-7 of the bounding box are one and the triangles they collapse are dropped (flowcfd
    welds and drops them too), so that rounding in a rotation does not open a seam."""
    lo, hi = bounds(tris)
    tol = 1e-7 * max(hi[a] - lo[a] for a in range(3))
    count = {}
    for t in tris:
        a, b, c = (tuple(round(x / tol) for x in p) for p in t)
        if a == b or b == c or a == c:
            continue
        for a, b in ((a, b), (b, c), (c, a)):
            key = (min(a, b), max(a, b))
            count[key] = count.get(key, 0) + 1
    return sum(1 for v in count.values() if v == 1)


# Open surfaces: zero thickness, with free edges (CAD exports with missing faces).


def _patch(f, nu, nv):
    """An open grid surface from f(u, v), u and v in [0, 1]."""
    g = [[f(j / nu, i / nv) for j in range(nu + 1)] for i in range(nv + 1)]
    tris = []
    for i in range(nv):
        for j in range(nu):
            tris.append((g[i][j], g[i][j + 1], g[i + 1][j + 1]))
            tris.append((g[i][j], g[i + 1][j + 1], g[i + 1][j]))
    return tris


def sheet(a, b, camber=0.0, saddle=0.0, n=24):
    """A sheet over [-a, a] x [-b, b] in the x-y plane: flat, cambered along x (a sail, a
    canopy) and/or twisted into a saddle (z = saddle * x y / (a b))."""
    def f(u, v):
        x, y = a * (2 * u - 1), b * (2 * v - 1)
        return (x, y, camber * (1 - (x / a) ** 2) + saddle * x * y / (a * b))

    return _patch(f, n, max(4, int(n * min(1.0, b / a) + 0.5)))


def dome(radius, cap_deg=90.0, n=40):
    """A spherical shell about +z, open at its rim: a hemisphere at 90 degrees, a shallower
    cap below."""
    rows = max(4, int(n * cap_deg / 180 + 0.5))
    pole = (0.0, 0.0, radius)
    rings = []
    for i in range(1, rows + 1):
        th = math.radians(cap_deg) * i / rows
        rings.append([(radius * math.sin(th) * math.cos(2 * math.pi * j / n), radius * math.sin(th) * math.sin(2 * math.pi * j / n),
                       radius * math.cos(th)) for j in range(n)])
    fan = [(pole, rings[0][j], rings[0][(j + 1) % n]) for j in range(n)]
    return fan + [(a, c, b) for a, b, c in _rings(rings)]


def half_pipe(radius, length, sweep_deg=180.0, n=24):
    """An open circular arc of `sweep_deg` extruded along x: a gutter, a cowling."""
    def f(u, v):
        th = math.radians(sweep_deg) * (u - 0.5)
        return (length * (v - 0.5), radius * math.sin(th), -radius * math.cos(th))

    return _patch(f, n, max(2, int(n * length / (radius * math.radians(sweep_deg)) + 0.5)))


# `box` makes its faces in this order (-z, +z, -y, +x, +y, -x); the flow runs along +x.
BOX_FACES = ("bottom", "top", "right", "rear", "left", "front")


def box_faces(lo, hi, keep):
    """The faces of `box(lo, hi)` named in `keep` (see BOX_FACES): an open box when some
    are left out."""
    tris = box(lo, hi)
    return [t for k, name in enumerate(BOX_FACES) if name in keep for t in tris[2 * k : 2 * k + 2]]


def panel(corners, n=4):
    """A flat quadrilateral panel (corners in order), split n x n."""
    a, b, c, d = corners

    def f(u, v):
        return tuple((1 - u) * (1 - v) * a[i] + u * (1 - v) * b[i] + u * v * c[i] + (1 - u) * v * d[i] for i in range(3))

    return _patch(f, n, n)


def write_stl(path, groups):
    with open(path, "w") as f:
        for name, tris in groups:
            f.write(f"solid {name}\n")
            for a, b, c in tris:
                f.write(" facet normal 0 0 0\n  outer loop\n")
                for p in (a, b, c):
                    f.write(f"   vertex {p[0]:.7g} {p[1]:.7g} {p[2]:.7g}\n")
                f.write("  endloop\n endfacet\n")
            f.write(f"endsolid {name}\n")
