//! The viewer's colormaps (filled in by the rasterizer work).
