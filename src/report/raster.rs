//! The software rasterizer (being written).
