//! The report's pictures, drawn by `raster` (being connected): the geometry by group, a cut
//! through the mesh, and the results.
use super::input::Facts;
use super::layout::Block;
use super::{ReportError, Units};

pub fn geometry(_f: &Facts, _case: Option<&crate::post::Case>, _width: f32) -> Vec<Block> {
    Vec::new()
}

pub fn mesh_cut(_f: &Facts, _case: Option<&crate::post::Case>, _width: f32) -> Vec<Block> {
    Vec::new()
}

pub fn results(_f: &Facts, _case: &crate::post::Case, _units: Units, _width: f32) -> Result<Vec<Block>, ReportError> {
    Ok(Vec::new())
}
