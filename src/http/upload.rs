//! Multipart uploads shared by the API and the pages: a geometry file (with an optional
//! `scale` before it and the browser-tessellated CAD original after it) streamed to the
//! object store, with rejections that say what to send instead.
use crate::error::{AppError, AppResult};
use crate::service::{geometries, Caller};
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use futures_util::StreamExt;

/// A broken or oversized multipart body as a problem.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge("the upload is larger than limits.max_upload_bytes".into())
    } else {
        AppError::BadRequest(format!(
            "the upload was cut off or is not valid multipart ({}); send it again",
            e.body_text()
        ))
    }
}

/// A request that is not multipart as a problem.
pub fn multipart_rejection(r: MultipartRejection) -> AppError {
    AppError::UnsupportedMedia(format!(
        "send the file as multipart/form-data with a field named \"file\" ({})",
        r.body_text()
    ))
}

/// Reads multipart fields until `file`, taking a `scale` field met on the way; streams
/// the file to the store.
pub async fn upload_multipart(
    st: &AppState,
    c: &Caller,
    project_id: &str,
    mut scale: f64,
    mut mp: Multipart,
) -> AppResult<crate::store::Geometry> {
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let body = field.map(|r| r.map_err(multipart_error));
                let g = geometries::upload(st, c, project_id, &name, scale, Box::pin(body)).await?;
                // A STEP or IGES original that the browser tessellated follows the surface.
                return match mp.next_field().await.map_err(multipart_error)? {
                    Some(cad) if cad.name() == Some("cad") => {
                        let cad_name = cad.file_name().unwrap_or("model.step").to_string();
                        let body = cad.map(|r| r.map_err(multipart_error));
                        match geometries::attach_cad(st, &g, &cad_name, Box::pin(body)).await {
                            Ok(g) => Ok(g),
                            Err(e) => {
                                // All or nothing: no surface without the original it came with.
                                let _ = geometries::delete(st, c, &g.id).await;
                                Err(e)
                            }
                        }
                    }
                    _ => Ok(g),
                };
            }
            Some("scale") => {
                let t = field.text().await.map_err(multipart_error)?;
                if !t.trim().is_empty() {
                    scale = t.trim().parse().map_err(|_| {
                        AppError::Validation(format!("scale {t:?}: expected a number such as 0.001 for millimetres"))
                    })?;
                }
            }
            _ => {}
        }
    }
    Err(AppError::Validation("the form has no field named \"file\"".into()))
}
