//! Little-endian numbers from raw bytes: the one decoder for OpenFOAM's binary list bodies
//! (`reader`), VTK's raw appended data (`vtp`) and the viewer's stream (`chunk`), which all
//! store them this way.

/// A number stored as `N` little-endian bytes.
pub(crate) trait Le: Sized {
    const N: usize;
    /// Decodes the first `N` bytes of `b` (callers hand it whole chunks).
    fn read_le(b: &[u8]) -> Self;
}

macro_rules! le {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const N: usize = std::mem::size_of::<$t>();
            #[inline]
            fn read_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b[..Self::N].try_into().expect("a whole chunk"))
            }
        }
    )*};
}
le!(f32, f64, i32, i64, u32, u64);

/// Every whole value in `raw`; a trailing partial one is ignored, as `chunks_exact` does.
pub(crate) fn values<'a, T: Le + 'a>(raw: &'a [u8]) -> impl Iterator<Item = T> + 'a {
    raw.chunks_exact(T::N).map(T::read_le)
}

/// Every whole triple in `raw` (points, triangles).
pub(crate) fn triples<'a, T: Le + 'a>(raw: &'a [u8]) -> impl Iterator<Item = [T; 3]> + 'a {
    raw.chunks_exact(3 * T::N).map(|c| [0, 1, 2].map(|k| T::read_le(&c[k * T::N..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_whole_values_and_triples() {
        let raw: Vec<u8> = [1.5f64, -2.0, 3.25].iter().flat_map(|x| x.to_le_bytes()).chain([9u8]).collect();
        assert_eq!(values::<f64>(&raw).collect::<Vec<_>>(), vec![1.5, -2.0, 3.25]);
        assert_eq!(triples::<f64>(&raw).collect::<Vec<_>>(), vec![[1.5, -2.0, 3.25]]);
        let raw: Vec<u8> = [-7i32, 8].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(values::<i32>(&raw).collect::<Vec<_>>(), vec![-7, 8]);
        assert_eq!(u64::read_le(&42u64.to_le_bytes()), 42);
        assert_eq!(values::<f32>(&0.5f32.to_le_bytes()).next(), Some(0.5));
    }
}
