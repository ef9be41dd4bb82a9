//! Blob storage against a real S3-protocol server (moto) on loopback.
mod common;

use bytes::Bytes;
use common::{db, moto, server::TestServer};
use flowcfd::blob::{BlobError, Blobs};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::test]
async fn s3_put_get_stream_presign_delete() {
    let m = moto::start("flowcfd-blobs").await;
    let mut cfg = flowcfd::config::Config::default();
    moto::configure(&m, &mut cfg, "flowcfd-blobs");
    let b = Blobs::from_config(&cfg).unwrap();
    assert_eq!(b.kind(), "s3");
    b.ping().await.unwrap();

    b.put("projects/p/a.txt", Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(&b.get("projects/p/a.txt").await.unwrap()[..], b"hello");
    assert_eq!(b.size("projects/p/a.txt").await.unwrap(), 5);

    // A streamed upload larger than one multipart part.
    let big: Vec<u8> = (0..12_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = b.writer("projects/p/big.bin").await.unwrap();
    for chunk in big.chunks(1 << 20) {
        w.write(chunk).await.unwrap();
    }
    assert_eq!(w.finish().await.unwrap(), big.len() as u64);
    let mut got = Vec::new();
    let mut s = b.stream("projects/p/big.bin").await.unwrap();
    while let Some(c) = s.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert!(got == big, "streamed read returns what was written");

    // Presigned URLs work without credentials.
    let url = b.presigned_get("projects/p/a.txt", std::time::Duration::from_secs(60)).await.unwrap().unwrap();
    assert!(url.as_str().contains("X-Amz-Signature"), "{url}");
    let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"hello");

    assert!(matches!(b.get("projects/p/missing").await, Err(BlobError::NotFound(_))));
    b.delete_prefix("projects/p").await.unwrap();
    assert!(matches!(b.get("projects/p/big.bin").await, Err(BlobError::NotFound(_))));
    b.delete("projects/p/a.txt").await.expect("deleting a missing object is fine");
}

#[tokio::test]
async fn server_keeps_uploads_in_s3() {
    let m = moto::start("flowcfd-app").await;
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| moto::configure(&m, c, "flowcfd-app")).await;
    let r = s.http.get(s.u("/health/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let a = s.user("ada@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "p"}))).await;
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (st, g) = s.upload(&a, p["id"].as_str().unwrap(), "cube.stl", stl.clone()).await;
    assert_eq!(st, 202);
    let gid = g["id"].as_str().unwrap();
    assert_eq!(s.settle(&a, gid).await["status"], "ready");
    let surf = s.http.get(s.u(&format!("/api/geometries/{gid}/surface"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(&surf.bytes().await.unwrap()[..4], b"FCS1");
    // The original is handed out as a presigned S3 URL.
    let r = s.http.get(s.u(&format!("/api/geometries/{gid}/original"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), 307);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&m.endpoint), "{loc}");
    assert_eq!(reqwest::get(&loc).await.unwrap().bytes().await.unwrap().to_vec(), stl);
    assert!(s.dir.path().join("blobs").read_dir().map_or(true, |mut d| d.next().is_none()), "nothing on local disk");
    s.stop().await;
}
