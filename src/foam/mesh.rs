//! Meshing dictionaries: blockMesh, surfaceFeatureExtract (ESI) or surfaceFeatures
//! (Foundation), snappyHexMesh, mesh quality, decomposePar.
//!
//! Where the Foundation's snappyHexMesh reads other keys, it gets the spelling of its
//! OpenFOAM-11 tutorials (incompressibleFluid/motorBike): geometry entries named by the
//! surface with a `file`, `insidePoint`, `level` for an `inside` refinement region,
//! `minMedianAxisAngle`, `decomposer`, `convertToMeters`.

use super::dict::{w, Dict, Value, Word};
use super::flavour::Flavour;
use super::patches::{Patch, BACKGROUND, GROUND};
use super::rules::{flow_axis, MeshPlan, CELLS_BETWEEN_LEVELS};
use super::spec::{CaseSpec, FlowKind};
use super::twod::{SYM_BACK, SYM_FRONT};

/// File name of the healed surface under `constant/triSurface`.
pub const SURFACE_FILE: &str = "body.obj";
/// snappyHexMesh geometry name of the surface.
pub const SURFACE_NAME: &str = "body";

fn list(items: impl IntoIterator<Item = Value>) -> Value {
    Value::List(items.into_iter().collect())
}

fn ints(xs: &[i64]) -> Value {
    list(xs.iter().map(|x| Value::Int(*x)))
}

/// `system/blockMeshDict`: one hex block over the plan's domain.
pub fn block_mesh_dict(spec: &CaseSpec, plan: &MeshPlan, flavour: Flavour) -> Dict {
    let (lo, hi) = (plan.domain_min, plan.domain_max);
    let vertices = list(
        [
            [lo[0], lo[1], lo[2]],
            [hi[0], lo[1], lo[2]],
            [hi[0], hi[1], lo[2]],
            [lo[0], hi[1], lo[2]],
            [lo[0], lo[1], hi[2]],
            [hi[0], lo[1], hi[2]],
            [hi[0], hi[1], hi[2]],
            [lo[0], hi[1], hi[2]],
        ]
        .map(Value::Vector),
    );
    let d = plan.divisions;
    let block = Value::Seq(vec![
        w("hex"),
        ints(&[0, 1, 2, 3, 4, 5, 6, 7]),
        ints(&[d[0] as i64, d[1] as i64, d[2] as i64]),
        w("simpleGrading"),
        ints(&[1, 1, 1]),
    ]);
    // Outward faces: xmin, xmax, ymin, ymax, zmin, zmax.
    const FACES: [[i64; 4]; 6] = [[0, 4, 7, 3], [2, 6, 5, 1], [1, 5, 4, 0], [3, 7, 6, 2], [0, 3, 2, 1], [4, 5, 6, 7]];
    let boundary: Vec<(String, &str, Vec<usize>)> = match spec.flow.kind {
        FlowKind::Internal => vec![(BACKGROUND.into(), "patch", (0..6).collect())],
        FlowKind::External => {
            let (ax, sign) = flow_axis(spec.flow.velocity);
            let (up, down) = if sign >= 0.0 { (2 * ax, 2 * ax + 1) } else { (2 * ax + 1, 2 * ax) };
            let lat = 1 - ax;
            let bottom = if spec.flow.ground { (GROUND, "wall") } else { ("bottom", "patch") };
            // 2D: the z faces are the slab's planes, symmetryPlane until createPatch makes
            // them the empty front and back (see `twod`).
            let (top, bottom) = if spec.flow.two_dimensional {
                ((SYM_BACK, "symmetryPlane"), (SYM_FRONT, "symmetryPlane"))
            } else {
                (("top", "patch"), bottom)
            };
            vec![
                ("inlet".into(), "patch", vec![up]),
                ("outlet".into(), "patch", vec![down]),
                ("sides".into(), "patch", vec![2 * lat, 2 * lat + 1]),
                (top.0.into(), top.1, vec![5]),
                (bottom.0.into(), bottom.1, vec![4]),
            ]
        }
    };
    let boundary = list(boundary.into_iter().map(|(name, ty, faces)| {
        let body = Dict::new().set("type", w(ty)).set("faces", list(faces.iter().map(|f| ints(&FACES[*f]))));
        Value::NamedDict(Word::new(name).expect("literal patch name"), body)
    }));
    Dict::new()
        .set(if flavour.is_foundation() { "convertToMeters" } else { "scale" }, 1i64)
        .set("vertices", vertices)
        .set("blocks", list([block]))
        .set("edges", list([]))
        .set("boundary", boundary)
        .set("mergePatchPairs", list([]))
}

/// `system/surfaceFeaturesDict` (Foundation): the same extraction as
/// [`surface_feature_extract_dict`], as one top-level list of surfaces.
pub fn surface_features_dict() -> Dict {
    Dict::new()
        .set("surfaces", list([Value::Str(SURFACE_FILE.into())]))
        .set("includedAngle", 150i64)
        .set("subsetFeatures", Dict::new().set("nonManifoldEdges", false).set("openEdges", true))
        .set("writeObj", false)
}

/// `system/surfaceFeatureExtractDict` (ESI).
pub fn surface_feature_extract_dict() -> Dict {
    let mut d = Dict::new();
    d.push(
        SURFACE_FILE,
        Dict::new()
            .set("extractionMethod", w("extractFromSurface"))
            .set("includedAngle", 150i64)
            .set("subsetFeatures", Dict::new().set("nonManifoldEdges", false).set("openEdges", true))
            .set("writeObj", false),
    );
    d
}

/// `system/meshQualityDict` values (OpenFOAM's defaults, with the motorBike tutorial's
/// `minFaceWeight 0.02`: 0.05 made layer addition on the bike take three times as many
/// iterations), shared with snappyHexMesh. `maxBoundarySkewness` is 4, not the default 20:
/// checkMesh flags any face above 4, and with 20 snappyHexMesh left one or two such wall
/// faces on wings and the bullet (mesh-ai eval), failing checkMesh; with 4 it un-snaps them.
pub fn mesh_quality_dict() -> Dict {
    Dict::new()
        .set("maxNonOrtho", 65i64)
        .set("maxBoundarySkewness", 4i64)
        .set("maxInternalSkewness", 4i64)
        .set("maxConcave", 80i64)
        .set("minVol", 1e-13)
        .set("minTetQuality", 1e-15)
        .set("minArea", -1i64)
        .set("minTwist", 0.02)
        .set("minDeterminant", 0.001)
        .set("minFaceWeight", 0.02)
        .set("minVolRatio", 0.01)
        .set("minTriangleTwist", -1i64)
}

fn levels(l: [u32; 2]) -> Value {
    ints(&[l[0] as i64, l[1] as i64])
}

/// `system/snappyHexMeshDict`.
pub fn snappy_dict(
    plan: &MeshPlan,
    patches: &[Patch],
    location: [f64; 3],
    max_global_cells: u64,
    flavour: Flavour,
) -> Dict {
    let org = flavour.is_foundation();
    let surf: Vec<&Patch> = patches.iter().filter(|p| p.from_surface).collect();
    let mut regions = Dict::new();
    let mut ref_regions = Dict::new();
    for p in &surf {
        regions.insert_word(p.name.clone(), Dict::new().set("name", Value::Word(p.name.clone())));
        let lv =
            plan.group_levels.get(p.name.as_str()).copied().unwrap_or([plan.feature_level, plan.feature_level + 1]);
        ref_regions.insert_word(
            p.name.clone(),
            Dict::new().set("level", levels(lv)).set("patchInfo", Dict::new().set("type", w(p.kind.mesh_type()))),
        );
    }
    let min_level = surf
        .iter()
        .filter_map(|p| plan.group_levels.get(p.name.as_str()))
        .copied()
        .min()
        .unwrap_or([plan.feature_level, plan.feature_level]);
    let mut geometry = Dict::new();
    if org {
        geometry.push(
            SURFACE_NAME,
            Dict::new()
                .set("type", w("triSurfaceMesh"))
                .set("file", Value::Str(SURFACE_FILE.into()))
                .set("regions", regions),
        );
    } else {
        geometry.push(
            SURFACE_FILE,
            Dict::new().set("type", w("triSurfaceMesh")).set("name", w(SURFACE_NAME)).set("regions", regions),
        );
    }
    let mut refinement_regions = Dict::new();
    for (i, b) in plan.boxes.iter().enumerate() {
        let name = Word::new(format!("box{i}")).expect("generated name");
        geometry
            .insert_word(name.clone(), Dict::new().set("type", w("searchableBox")).set("min", b.min).set("max", b.max));
        let region = Dict::new().set("mode", w("inside"));
        let region = if org {
            region.set("level", Value::Int(b.level as i64))
        } else {
            region.set("levels", list([list([Value::Float(1e15), Value::Int(b.level as i64)])]))
        };
        refinement_regions.insert_word(name, region);
    }
    let mut surfaces = Dict::new();
    surfaces.push(
        SURFACE_NAME,
        Dict::new()
            .set("level", levels(min_level))
            .set("regions", ref_regions)
            .set("patchInfo", Dict::new().set("type", w("wall"))),
    );
    let castellated = Dict::new()
        .set("maxLocalCells", max_global_cells as i64)
        .set("maxGlobalCells", max_global_cells as i64)
        .set("minRefinementCells", 10i64)
        .set("maxLoadUnbalance", 0.1)
        .set("nCellsBetweenLevels", CELLS_BETWEEN_LEVELS)
        .set(
            "features",
            list([Value::Dict(
                Dict::new().set("file", Value::Str("body.eMesh".into())).set("level", plan.feature_level),
            )]),
        )
        .set("refinementSurfaces", surfaces)
        .set("resolveFeatureAngle", 30i64)
        .set("refinementRegions", refinement_regions)
        .set(if org { "insidePoint" } else { "locationInMesh" }, location)
        .set("allowFreeStandingZoneFaces", true);
    let snap = Dict::new()
        .set("nSmoothPatch", 3i64)
        .set("tolerance", 2.0)
        .set("nSolveIter", 30i64)
        .set("nRelaxIter", 5i64)
        .set("nFeatureSnapIter", 10i64)
        .set("implicitFeatureSnap", false)
        .set("explicitFeatureSnap", true)
        .set("multiRegionFeatureSnap", false);
    let lp = &plan.layers;
    let mut layer_patches = Dict::new();
    for p in surf.iter().filter(|p| p.kind.is_wall()) {
        layer_patches.insert_word(p.name.clone(), Dict::new().set("nSurfaceLayers", lp.count));
    }
    let layers = Dict::new()
        // Relative to the local cell: one absolute thickness would swamp the cells on
        // curvature-refined levels (the motorBike diverged that way).
        .set("relativeSizes", true)
        .set("layers", layer_patches)
        .set("expansionRatio", lp.expansion_ratio)
        .set("firstLayerThickness", lp.first_layer_thickness / lp.surface_cell_size.max(f64::MIN_POSITIVE))
        .set("minThickness", 0.1)
        .set("nGrow", 0i64)
        .set("featureAngle", lp.feature_angle)
        .set("slipFeatureAngle", 30i64)
        .set("nRelaxIter", 3i64)
        .set("nSmoothSurfaceNormals", 1i64)
        .set("nSmoothNormals", 3i64)
        .set("nSmoothThickness", 10i64)
        .set("maxFaceThicknessRatio", 0.5)
        .set("maxThicknessToMedialRatio", 0.3)
        .set(if org { "minMedianAxisAngle" } else { "minMedialAxisAngle" }, 90i64)
        .set("nBufferCellsNoExtrude", 0i64)
        .set("nLayerIter", 50i64)
        .set("nRelaxedIter", 0i64);
    let mut quality = mesh_quality_dict();
    quality.push("nSmoothScale", 4i64);
    quality.push("errorReduction", 0.75);
    // Layer addition checks the mesh with `relaxed` from its first iteration. On closed bodies
    // that set drops the face-centre tet check: the finite-volume solvers never use that
    // decomposition, and on sharp or coarse patches the check alone removed up to a quarter of
    // the layers (the bullet went from 73 % to 99 % coverage, the DTC hull from 51 % to 84 %).
    // Pyramid volumes, skewness and non-orthogonality are still checked, so checkMesh stays
    // clean. Open or multi-part surfaces keep it (see `LayerPlan::tet_check`).
    let mut relaxed = Dict::new().set("maxNonOrtho", 75i64);
    if !lp.tet_check {
        relaxed.push("minTetQuality", -1e30);
    }
    quality.push("relaxed", relaxed);
    Dict::new()
        .set("castellatedMesh", true)
        .set("snap", true)
        .set("addLayers", lp.count > 0)
        .set("geometry", geometry)
        .set("castellatedMeshControls", castellated)
        .set("snapControls", snap)
        .set("addLayersControls", layers)
        .set("meshQualityControls", quality)
        .set("mergeTolerance", 1e-6)
}

/// `system/decomposeParDict` for `n` ranks (Debian's scotch is a stub, so hierarchical).
pub fn decompose_dict(n: u32, flavour: Flavour) -> Dict {
    let (a, b) = split(n);
    Dict::new()
        .set("numberOfSubdomains", n)
        .set(if flavour.is_foundation() { "decomposer" } else { "method" }, w("hierarchical"))
        .set("hierarchicalCoeffs", Dict::new().set("n", ints(&[a as i64, b as i64, 1])).set("order", w("xyz")))
}

/// Factors `n` into `a × b` with `a ≥ b` as close as possible (more cuts along x).
fn split(n: u32) -> (u32, u32) {
    let mut b = (n as f64).sqrt() as u32;
    while b > 1 && !n.is_multiple_of(b) {
        b -= 1;
    }
    (n / b.max(1), b.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_balanced() {
        assert_eq!(split(1), (1, 1));
        assert_eq!(split(2), (2, 1));
        assert_eq!(split(4), (2, 2));
        assert_eq!(split(6), (3, 2));
        assert_eq!(split(7), (7, 1));
    }
}
