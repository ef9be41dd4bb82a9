//! An organization's logo, printed on the title block of the PDF reports of its projects'
//! jobs: a PNG of at most 512 KB that decodes whole, kept in the object store at
//! `orgs/{id}/logo.png`. Owners and admins set and remove it; every member can read it; to
//! anyone else the organization does not exist (404).
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Org, Role};
use bytes::Bytes;
use serde::Serialize;

/// The largest logo accepted, bytes.
pub const MAX_BYTES: usize = 512 * 1024;

/// The largest side accepted, pixels: a title-block logo is a few centimetres wide, and a
/// small file must not decode into a huge image.
pub const MAX_SIDE: u32 = 4096;

/// What every refusal of a logo tells the user to do.
pub const WHAT_TO_SEND: &str = "upload a PNG of at most 512 KB";

/// Where an org's logo is kept.
pub fn key(org_id: &str) -> String {
    format!("orgs/{org_id}/logo.png")
}

/// A stored logo, as the API answers an upload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogoView {
    pub org_id: String,
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
}

/// Checks that `data` is one whole PNG that decodes within [`MAX_SIDE`]; its size in pixels.
pub fn check_png(data: &[u8]) -> Result<(u32, u32), String> {
    let limits = png::Limits { bytes: 4 * (MAX_SIDE as usize) * (MAX_SIDE as usize) };
    let decoder = png::Decoder::new_with_limits(std::io::Cursor::new(data), limits);
    let mut reader = decoder.read_info().map_err(|e| format!("it is not a PNG ({e})"))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!("it is {w} × {h} pixels; a logo may be at most {MAX_SIDE} pixels on a side"));
    }
    let size = reader.output_buffer_size().ok_or("its image is too large to decode")?;
    let mut buf = vec![0; size];
    // Decoding every row proves the file is whole, not just its header.
    reader.next_frame(&mut buf).map_err(|e| format!("the PNG does not decode ({e})"))?;
    Ok((w, h))
}

/// An org the caller belongs to, which they may change the logo of when `change`.
async fn org(st: &AppState, caller: &Caller, org_id: &str, change: bool) -> AppResult<Org> {
    let o = super::projects::org(st, caller, org_id, false).await?;
    if change && o.role < Role::Admin {
        return Err(AppError::Forbidden(format!(
            "you are a {} of this organization; only its owner or admins can change its logo",
            o.role.as_str()
        )));
    }
    Ok(o)
}

/// Refuses a caller who may not change the org's logo, before their upload is read.
pub async fn may_change(st: &AppState, caller: &Caller, org_id: &str) -> AppResult<()> {
    org(st, caller, org_id, true).await.map(|_| ())
}

/// Sets the org's logo (owners and admins).
#[tracing::instrument(skip_all, fields(org = org_id))]
pub async fn put(st: &AppState, caller: &Caller, org_id: &str, data: Bytes) -> AppResult<LogoView> {
    let o = org(st, caller, org_id, true).await?;
    if data.len() > MAX_BYTES {
        return Err(AppError::TooLarge(format!("the logo is {} KB; {WHAT_TO_SEND}", data.len().div_ceil(1024))));
    }
    let checked = data.clone();
    let (width, height) = tokio::task::spawn_blocking(move || check_png(&checked))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|why| AppError::UnsupportedMedia(format!("the logo was refused: {why}; {WHAT_TO_SEND}")))?;
    let bytes = data.len();
    st.blobs.put(&key(&o.id), data).await?;
    st.store.audit(Some(caller.id()), "org.logo.set", Some(&o.id), "{}", None).await?;
    Ok(LogoView { org_id: o.id, bytes, width, height })
}

/// The org's logo (members).
pub async fn get(st: &AppState, caller: &Caller, org_id: &str) -> AppResult<Bytes> {
    let o = org(st, caller, org_id, false).await?;
    st.blobs.get(&key(&o.id)).await.map_err(|e| match e {
        crate::blob::BlobError::NotFound(_) => AppError::NotFound("logo"),
        other => other.into(),
    })
}

/// Removes the org's logo (owners and admins); removing none is not an error.
pub async fn delete(st: &AppState, caller: &Caller, org_id: &str) -> AppResult<()> {
    let o = org(st, caller, org_id, true).await?;
    st.blobs.delete(&key(&o.id)).await?;
    st.store.audit(Some(caller.id()), "org.logo.delete", Some(&o.id), "{}", None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        wr.write_image_data(&px).unwrap();
        wr.finish().unwrap();
        out
    }

    #[test]
    fn a_png_is_accepted_and_anything_else_refused() {
        assert_eq!(check_png(&png(40, 20)), Ok((40, 20)));
        let e = check_png(b"GIF89a not a png").unwrap_err();
        assert!(e.contains("not a PNG"), "{e}");
        // A PNG cut short: its header reads, its rows do not.
        let whole = png(64, 64);
        let e = check_png(&whole[..whole.len() / 2]).unwrap_err();
        assert!(e.contains("does not decode"), "{e}");
        let e = check_png(&png(MAX_SIDE + 1, 1)).unwrap_err();
        assert!(e.contains("at most 4096 pixels"), "{e}");
    }
}
