//! The report's pictures, drawn by `raster` at 300 dpi: the geometry coloured by surface
//! group, a cut through the mesh near the body, and the results (surface Cp from three
//! camera presets, wall shear stress or y+, a centre-plane |U| slice, streamlines). Each is
//! placed with its caption, a scale bar and, for a field, a colour bar with units.
use super::colormap::Colormap;
use super::input::Facts;
use super::layout::{Block, Canvas, Face, Item};
use super::plot::{colour_bar, scale_bar, PALETTE};
use super::raster::{render, Camera, Image, Layer, Paint, Preset, RenderOptions, Scene};
use super::{ReportError, Units};
use crate::post::extract::{self, PolyData};
use crate::post::geom::{add, dot, norm, scale, sub, V3};
use crate::post::view::{self, Seeds, View};
use crate::post::{Case, FieldSel};

const DPI: f64 = 300.0;

/// Pixels for a width in points at 300 dpi.
fn px(pt: f32) -> u32 {
    (f64::from(pt) / 72.0 * DPI).round() as u32
}

/// A field's colouring: its label with units, the map and the range.
#[derive(Debug, Clone)]
pub struct Colouring {
    pub label: String,
    pub map: Colormap,
    pub lo: f64,
    pub hi: f64,
}

/// One rendered picture and what is needed to read it back.
pub struct Picture {
    pub name: &'static str,
    pub caption: String,
    pub image: Image,
    pub camera: Camera,
    pub colouring: Option<Colouring>,
    /// Legend entries (surface groups).
    pub legend: Vec<(String, [u8; 3])>,
    /// The width it is set at, pt.
    pub width_pt: f32,
}

/// The body and the flow the pictures are framed on.
struct Frame {
    lo: V3,
    hi: V3,
    flow: V3,
    side: V3,
    up: V3,
    length: f64,
}

impl Frame {
    fn centre(&self) -> V3 {
        scale(add(self.lo, self.hi), 0.5)
    }
    /// A box around the body stretched `before`/`after` body lengths along the flow and
    /// `across` lengths each way across it.
    fn region(&self, before: f64, after: f64, across: f64) -> (V3, V3) {
        let c = self.centre();
        let l = self.length;
        let mut pts = Vec::new();
        for a in [-before, after] {
            for b in [-across, across] {
                for d in [-across, across] {
                    pts.push(add(add(add(c, scale(self.flow, a * l)), scale(self.side, b * l)), scale(self.up, d * l)));
                }
            }
        }
        bounds(&pts).unwrap_or((self.lo, self.hi))
    }
}

fn bounds(pts: &[V3]) -> Option<(V3, V3)> {
    let (lo, hi) = crate::geometry::query::bounds(pts.iter().copied());
    (lo[0] <= hi[0]).then_some((lo, hi))
}

fn flow_of(f: &Facts) -> V3 {
    let v: Vec<f64> = f
        .summary
        .as_ref()
        .and_then(|s| s["spec"]["flow"]["velocity"].as_array().cloned())
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    let v = if v.len() == 3 { [v[0], v[1], v[2]] } else { [1.0, 0.0, 0.0] };
    let n = norm(v);
    if n > 0.0 && n.is_finite() {
        scale(v, 1.0 / n)
    } else {
        [1.0, 0.0, 0.0]
    }
}

fn frame(lo: V3, hi: V3, flow: V3) -> Frame {
    let (_, up, side) = crate::foam::physics::directions(flow);
    let length = norm(sub(hi, lo)).max(1e-9) / 3f64.sqrt();
    // directions() gives (drag, lift, lift × drag); the side axis is across the flow.
    Frame { lo, hi, flow, side, up, length }
}

fn opts(headlight: bool) -> RenderOptions {
    RenderOptions { light_offset: if headlight { [0.0, 0.0] } else { [0.2, 0.3] }, ..RenderOptions::default() }
}

/// The surface's groups, coloured, from the case's triangulated surface.
pub fn geometry_picture(f: &Facts, width_pt: f32) -> Option<Picture> {
    let dir = f.case.join("constant/triSurface");
    let file = std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        let n = p.to_string_lossy().to_lowercase();
        n.ends_with(".obj") || n.ends_with(".stl") || n.ends_with(".obj.gz") || n.ends_with(".stl.gz")
    })?;
    let s = crate::geometry::read_file(&file, &crate::geometry::ReadOptions::default()).ok()?;
    let colours: Vec<[u8; 3]> = s.tri_group.iter().map(|&g| PALETTE[g as usize % PALETTE.len()]).collect();
    let (lo, hi) = bounds(&s.points)?;
    let h = width_pt * 0.55;
    let cam = Camera::framed(Preset::Iso, lo, hi, flow_of(f), px(width_pt), px(h), 0.06);
    let mut scene = Scene::new();
    scene.push(Layer::surface(&s.points, &s.tris, Paint::PerElement(&colours)));
    let image = render(&scene, &cam, &opts(false));
    let legend = s.groups.iter().enumerate().map(|(i, g)| (g.clone(), PALETTE[i % PALETTE.len()])).collect();
    Some(Picture {
        name: "geometry",
        caption: format!(
            "The surface as meshed ({}), isometric view, coloured by surface group.",
            file.file_name()?.to_string_lossy()
        ),
        image,
        camera: cam,
        colouring: None,
        legend,
        width_pt,
    })
}

/// The body's wall patches as one surface, with a field: every wall but the moving ground
/// of an external flow (framing on the ground shrinks the body to a speck and puts the
/// streamlines' rake outside the domain).
fn walls(case: &Case, field: Option<&str>) -> Result<PolyData, ReportError> {
    let mut ps = case.select_patches(&[])?;
    if ps.iter().any(|&i| case.mesh.patches[i].name != crate::foam::patches::GROUND) {
        ps.retain(|&i| case.mesh.patches[i].name != crate::foam::patches::GROUND);
    }
    let sel = field.map(FieldSel::parse).transpose()?;
    Ok(extract::surface(case, &ps, sel.as_ref())?)
}

/// Where a plane through `origin` with `normal` cuts the triangles: the body's outline.
fn outline(pd: &PolyData, origin: V3, normal: V3) -> PolyData {
    let mut out = PolyData::default();
    for t in &pd.tris {
        let p = t.map(|i| pd.points[i as usize]);
        let d = p.map(|q| dot(sub(q, origin), normal));
        let mut hits = Vec::new();
        for (a, b) in [(0, 1), (1, 2), (2, 0)] {
            if (d[a] < 0.0) != (d[b] < 0.0) {
                let s = d[a] / (d[a] - d[b]);
                hits.push(add(p[a], scale(sub(p[b], p[a]), s)));
            }
        }
        if hits.len() == 2 {
            let n = out.points.len() as u32;
            out.points.extend(hits);
            out.lines.push(vec![n, n + 1]);
        }
    }
    out
}

/// A cut through the mesh near the body: every cell's outline on the centre plane.
pub fn mesh_cut_picture(f: &Facts, case: &Case, width_pt: f32) -> Result<Picture, ReportError> {
    let body = walls(case, None)?;
    let (lo, hi) = bounds(&body.points).ok_or_else(|| ReportError::BadInput("the result has no wall faces".into()))?;
    let fr = frame(lo, hi, flow_of(f));
    let c = fr.centre();
    let cut = crate::post::cut::cut_edges(case, c, fr.side)?;
    let edge = outline(&body, c, fr.side);
    let (rlo, rhi) = fr.region(0.9, 1.6, 0.75);
    let h = width_pt * 0.55;
    let cam = Camera::looking(fr.side, fr.up, rlo, rhi, px(width_pt), px(h), 0.0);
    let mut scene = Scene::new();
    scene.push(Layer::lines(&cut.points, &cut.lines, Paint::Solid([70, 70, 70]), 1.0));
    scene.push(Layer::lines(&edge.points, &edge.lines, Paint::Solid([200, 30, 30]), 3.0));
    let image = render(&scene, &cam, &opts(false));
    Ok(Picture {
        name: "mesh_cut",
        caption:
            "The mesh on the centre plane across the flow, near the body: each cell's outline, the body's in red; \
                  the layers hug the wall."
                .into(),
        image,
        camera: cam,
        colouring: None,
        legend: Vec::new(),
        width_pt,
    })
}

/// The 99th percentile of finite values (a colour range not set by one corner cell).
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// The results: Cp (front, side, isometric), wall shear stress or y+, the |U| slice and
/// streamlines.
pub fn result_pictures(
    f: &Facts,
    case: &Case,
    mag_u: f64,
    rho: f64,
    units: Units,
    width_pt: f32,
) -> Result<Vec<Picture>, ReportError> {
    let mut out = Vec::new();
    let flow = flow_of(f);
    let mut cp = walls(case, Some("p"))?;
    let (lo, hi) = bounds(&cp.points).ok_or_else(|| ReportError::BadInput("the result has no wall faces".into()))?;
    let fr = frame(lo, hi, flow);
    let q = 0.5 * mag_u * mag_u;
    if let Some((_, v)) = cp.scalars.as_mut() {
        v.iter_mut().for_each(|x| *x /= q.max(1e-30));
    }
    let values = cp.scalars.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
    let cp_lo = percentile(&values, 0.01).max(-3.0).min(0.0);
    let cp_col = Colouring {
        label: "Cp, pressure coefficient (p − p∞)/(½ρU∞²), –".into(),
        map: Colormap::named("coolwarm"),
        lo: cp_lo,
        hi: 1.0,
    };
    for (preset, name, w, what) in [
        (Preset::Front, "cp_front", width_pt * 0.49, "front (looking downstream)"),
        (Preset::Side, "cp_side", width_pt * 0.49, "side"),
        (Preset::Iso, "cp_iso", width_pt, "isometric"),
    ] {
        let h = if w < width_pt { w * 0.8 } else { width_pt * 0.55 };
        let cam = Camera::framed(preset, lo, hi, flow, px(w), px(h), 0.05);
        let mut scene = Scene::new();
        scene.push(Layer::surface(
            &cp.points,
            &cp.tris,
            Paint::Scalar { values: &values, map: cp_col.map, lo: cp_col.lo, hi: cp_col.hi },
        ));
        out.push(Picture {
            name,
            caption: format!("Surface pressure coefficient, {what}."),
            image: render(&scene, &cam, &opts(true)),
            camera: cam,
            colouring: Some(cp_col.clone()),
            legend: Vec::new(),
            width_pt: w,
        });
    }
    // Wall shear stress (Pa, from the kinematic field), or y+ without it.
    let has = |n: &str| case.field_names().iter().any(|(x, _)| x == n);
    let (field, label, factor, cmap) = if has("wallShearStress") {
        ("wallShearStress:mag", "|τw|, wall shear stress magnitude, Pa", rho, "viridis")
    } else if has("yPlus") {
        ("yPlus", "y+, first-cell wall distance, –", 1.0, "viridis")
    } else {
        ("", "", 1.0, "viridis")
    };
    if !field.is_empty() {
        let mut s = walls(case, Some(field))?;
        if let Some((_, v)) = s.scalars.as_mut() {
            v.iter_mut().for_each(|x| *x *= factor);
        }
        let v = s.scalars.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
        let col =
            Colouring { label: label.into(), map: Colormap::named(cmap), lo: 0.0, hi: percentile(&v, 0.99).max(1e-12) };
        let cam = Camera::framed(Preset::Iso, lo, hi, flow, px(width_pt), px(width_pt * 0.55), 0.05);
        let mut scene = Scene::new();
        scene.push(Layer::surface(
            &s.points,
            &s.tris,
            Paint::Scalar { values: &v, map: col.map, lo: col.lo, hi: col.hi },
        ));
        out.push(Picture {
            name: if field == "yPlus" { "yplus" } else { "wall_shear" },
            caption: format!(
                "{} on the walls, isometric (the colour range stops at the 99th percentile).",
                label.split(',').next().unwrap_or(label)
            ),
            image: render(&scene, &cam, &opts(false)),
            camera: cam,
            colouring: Some(col),
            legend: Vec::new(),
            width_pt,
        });
    }
    // The centre-plane slice of |U|: the body is where the plane has no cells.
    let c = fr.centre();
    let slice = view::extract(case, &View::Slice { origin: c, normal: fr.side, field: Some("U:mag".into()) })?;
    // Speeds in m/s, or km/h for automotive units.
    let (uf, uunit) = match units {
        Units::Si => (1.0, "m/s"),
        Units::Automotive => (3.6, "km/h"),
    };
    let sv: Vec<f64> = slice.scalars.as_ref().map(|(_, v)| v.iter().map(|x| x * uf).collect()).unwrap_or_default();
    let u_hi = percentile(&sv, 0.999).max(mag_u * uf);
    let ucol = Colouring {
        label: format!("|U|, velocity magnitude, {uunit}"),
        map: Colormap::named("jet"),
        lo: 0.0,
        hi: u_hi,
    };
    // The Cp surface is the body's geometry too: no second extraction.
    let body = &cp;
    let edge = outline(body, c, fr.side);
    let (rlo, rhi) = fr.region(1.2, 3.0, 1.0);
    let cam = Camera::looking(fr.side, fr.up, rlo, rhi, px(width_pt), px(width_pt * 0.5), 0.0);
    let mut scene = Scene::new();
    scene.push(
        Layer::surface(
            &slice.points,
            &slice.tris,
            Paint::Scalar { values: &sv, map: ucol.map, lo: ucol.lo, hi: ucol.hi },
        )
        .unlit(),
    );
    scene.push(Layer::lines(&edge.points, &edge.lines, Paint::Solid([0, 0, 0]), 2.5));
    out.push(Picture {
        name: "slice",
        caption: "Velocity magnitude on the centre plane across the flow; the body (outlined) is cut out.".into(),
        image: render(&scene, &cam, &opts(false)),
        camera: cam,
        colouring: Some(ucol.clone()),
        legend: Vec::new(),
        width_pt,
    });
    // Streamlines from a square rake upstream, coloured by |U|, over the body in grey.
    let ext = [dot(sub(hi, lo), fr.side).abs(), dot(sub(hi, lo), fr.up).abs()];
    let along = dot(sub(hi, lo), flow).abs();
    let rake = sub(c, scale(flow, 0.5 * along + 0.25 * fr.length));
    let streams = view::extract(
        case,
        &View::Streamlines {
            seeds: Seeds::Plane { origin: rake, normal: flow, size: 1.2 * ext[0].max(ext[1]).max(1e-6) },
            count: 256,
            field: "U".into(),
            color_by: Some("U:mag".into()),
            max_length: Some(8.0 * fr.length),
            direction: "forward".into(),
        },
    )?;
    let lv: Vec<f64> = streams.scalars.as_ref().map(|(_, v)| v.iter().map(|x| x * uf).collect()).unwrap_or_default();
    let (slo, shi) = fr.region(0.8, 2.5, 0.9);
    let cam = Camera::framed(Preset::Iso, slo, shi, flow, px(width_pt), px(width_pt * 0.55), 0.02);
    let mut scene = Scene::new();
    scene.push(Layer::surface(&body.points, &body.tris, Paint::Solid([190, 190, 190])));
    scene.push(Layer::lines(
        &streams.points,
        &streams.lines,
        Paint::Scalar { values: &lv, map: ucol.map, lo: ucol.lo, hi: ucol.hi },
        2.0,
    ));
    out.push(Picture {
        name: "streamlines",
        caption: format!(
            "{} streamlines from a rake upstream of the body, coloured by velocity magnitude, isometric.",
            streams.lines.len()
        ),
        image: render(&scene, &cam, &opts(false)),
        camera: cam,
        colouring: Some(ucol),
        legend: Vec::new(),
        width_pt,
    });
    Ok(out)
}

/// A picture as a block: caption, image, scale bar, colour bar or legend.
pub fn canvas(fonts: &super::layout::Fonts, pic: &Picture) -> Canvas {
    let w = pic.width_pt;
    let h = w * pic.image.height as f32 / pic.image.width.max(1) as f32;
    let mut c = Canvas::new(w, 0.0);
    let cap = fonts.wrap(Face::Regular, 8.0, &pic.caption, w);
    let mut y = 0.0;
    for l in &cap {
        y += 10.0;
        c.text(0.0, y, Face::Regular, 8.0, l.clone(), 0.0);
    }
    y += 4.0;
    let image = krilla::image::Image::from_rgba8(rgba(&pic.image), pic.image.width, pic.image.height);
    c.items.push(Item::Image { x: 0.0, y, w, h, image });
    c.rect(0.0, y, w, h, None, Some(([210, 210, 210], 0.4)));
    let m_per_pt = pic.camera.metres_per_pixel() * f64::from(pic.image.width) / f64::from(w);
    c.items.extend(scale_bar(m_per_pt, w * 0.3, 8.0, y + h - 8.0));
    y += h + 6.0;
    if let Some(col) = &pic.colouring {
        let map = col.map;
        let bar = colour_bar(&move |t| map.rgb(t), col.lo, col.hi, &col.label, w.min(300.0));
        let bh = bar.h;
        c.place((w - w.min(300.0)) / 2.0, y, bar);
        y += bh;
    }
    if !pic.legend.is_empty() {
        let (mut x, max) = (0.0, 24);
        for (name, colour) in pic.legend.iter().take(max) {
            let tw = fonts.width(Face::Regular, 7.0, name);
            if x + tw + 16.0 > w {
                x = 0.0;
                y += 11.0;
            }
            c.rect(x, y + 2.0, 8.0, 7.0, Some(*colour), None);
            c.text(x + 11.0, y + 8.5, Face::Regular, 7.0, name.clone(), 0.0);
            x += tw + 22.0;
        }
        if pic.legend.len() > max {
            c.text(x, y + 8.5, Face::Regular, 7.0, format!("and {} more groups", pic.legend.len() - max), 0.0);
        }
        y += 14.0;
    }
    c.h = y + 4.0;
    c
}

fn rgba(img: &Image) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.rgb.len() / 3 * 4);
    for p in img.rgb.chunks_exact(3) {
        out.extend_from_slice(&[p[0], p[1], p[2], 255]);
    }
    out
}

/// Two pictures side by side as one block.
pub fn pair(fonts: &super::layout::Fonts, a: &Picture, b: &Picture, width: f32) -> Canvas {
    let (ca, cb) = (canvas(fonts, a), canvas(fonts, b));
    let mut c = Canvas::new(width, ca.h.max(cb.h));
    c.place(0.0, 0.0, ca);
    c.place(width - b.width_pt, 0.0, cb);
    c
}

/// The pictures' blocks in order, narrow ones in pairs.
pub fn blocks(fonts: &super::layout::Fonts, pics: &[&Picture], width: f32) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pics.len() {
        if pics[i].width_pt < width * 0.6 && i + 1 < pics.len() && pics[i + 1].width_pt < width * 0.6 {
            out.push(Block::Canvas(pair(fonts, pics[i], pics[i + 1], width)));
            i += 2;
        } else {
            out.push(Block::Canvas(canvas(fonts, pics[i])));
            i += 1;
        }
    }
    out
}
