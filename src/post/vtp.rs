//! VTK XML PolyData (`.vtp`) with raw appended binary data, which ParaView opens directly.
use super::extract::PolyData;
use super::le::{self, Le};
use std::io::Write;

/// Writes `pd` as `.vtp`: Float64 points, Int64 connectivity, the scalar as Float32 point
/// data.
pub fn write(pd: &PolyData, w: &mut impl Write) -> std::io::Result<()> {
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let mut push = |bytes: Vec<u8>| -> usize {
        let offset: usize = blobs.iter().map(|b| b.len() + 8).sum();
        blobs.push(bytes);
        offset
    };
    let f64s = |v: &mut dyn Iterator<Item = f64>| v.flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let i64s = |v: &mut dyn Iterator<Item = i64>| v.flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let pts = push(f64s(&mut pd.points.iter().flat_map(|p| p.iter().copied())));
    let scal = pd
        .scalars
        .as_ref()
        .map(|(name, v)| (name.clone(), push(v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect())));
    let polys_c = push(i64s(&mut pd.tris.iter().flat_map(|t| t.iter().map(|&i| i as i64))));
    let polys_o = push(i64s(&mut (1..=pd.tris.len()).map(|i| 3 * i as i64)));
    let lines_c = push(i64s(&mut pd.lines.iter().flat_map(|l| l.iter().map(|&i| i as i64))));
    let mut acc = 0i64;
    let lines_o = push(i64s(&mut pd.lines.iter().map(|l| {
        acc += l.len() as i64;
        acc
    })));
    writeln!(w, r#"<?xml version="1.0"?>"#)?;
    writeln!(w, r#"<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">"#)?;
    writeln!(w, "<PolyData>")?;
    writeln!(
        w,
        r#"<Piece NumberOfPoints="{}" NumberOfVerts="0" NumberOfLines="{}" NumberOfStrips="0" NumberOfPolys="{}">"#,
        pd.points.len(),
        pd.lines.len(),
        pd.tris.len()
    )?;
    if let Some((name, off)) = &scal {
        let name = xml_escape(name);
        writeln!(
            w,
            r#"<PointData Scalars="{name}"><DataArray type="Float32" Name="{name}" format="appended" offset="{off}"/></PointData>"#
        )?;
    }
    writeln!(
        w,
        r#"<Points><DataArray type="Float64" NumberOfComponents="3" format="appended" offset="{pts}"/></Points>"#
    )?;
    writeln!(
        w,
        r#"<Lines><DataArray type="Int64" Name="connectivity" format="appended" offset="{lines_c}"/><DataArray type="Int64" Name="offsets" format="appended" offset="{lines_o}"/></Lines>"#
    )?;
    writeln!(
        w,
        r#"<Polys><DataArray type="Int64" Name="connectivity" format="appended" offset="{polys_c}"/><DataArray type="Int64" Name="offsets" format="appended" offset="{polys_o}"/></Polys>"#
    )?;
    writeln!(w, "</Piece>\n</PolyData>")?;
    write!(w, r#"<AppendedData encoding="raw">_"#)?;
    for b in &blobs {
        w.write_all(&(b.len() as u64).to_le_bytes())?;
        w.write_all(b)?;
    }
    writeln!(w, "</AppendedData>\n</VTKFile>")?;
    Ok(())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Reads back what `write` wrote: (points, triangles, line lengths, scalars). For tests.
pub fn read_back(bytes: &[u8]) -> Option<(Vec<[f64; 3]>, Vec<[i64; 3]>, Vec<f32>)> {
    let tag = br#"<AppendedData encoding="#;
    let start = bytes.windows(tag.len()).position(|w| w == tag)?;
    let data = start + bytes[start..].iter().position(|&c| c == b'_')? + 1;
    let head = std::str::from_utf8(&bytes[..start]).ok()?;
    let attr = |tag: &str| -> Option<usize> {
        let i = head.find(tag)?;
        let rest = &head[i..];
        let o = rest.find("offset=\"")? + 8;
        rest[o..].split('"').next()?.parse().ok()
    };
    let blob = |off: usize| -> Option<&[u8]> {
        let at = data + off;
        let n = u64::read_le(bytes.get(at..at + 8)?) as usize;
        bytes.get(at + 8..at + 8 + n)
    };
    let pts = le::triples::<f64>(blob(attr("<Points>")?)?).collect();
    let polys = le::triples::<i64>(blob(attr("<Polys>")?)?).collect();
    let scal = match attr("<PointData") {
        Some(o) => le::values::<f32>(blob(o)?).collect(),
        None => Vec::new(),
    };
    Some((pts, polys, scal))
}
