//! A webhook receiver on loopback: records each request and answers 500 to the first few.
use axum::http::{HeaderMap, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver saw: (headers, body) per request.
pub type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver at `http://127.0.0.1:PORT/hook` that answers 500 to its first `fail_first`
/// requests, then 204.
pub async fn receiver(fail_first: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = s2.clone();
            async move {
                let mut v = seen.lock().unwrap();
                v.push((headers, body));
                if v.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

/// Waits until `n` requests arrived (at most `secs`); all of them.
pub async fn wait_seen(seen: &Seen, n: usize, secs: u64) -> Vec<(HeaderMap, String)> {
    let t0 = Instant::now();
    loop {
        let v = seen.lock().unwrap().clone();
        if v.len() >= n {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(secs), "{} of {n} requests arrived", v.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first event of type `kind` received, parsed (waits at most `secs`).
pub async fn event_of(seen: &Seen, kind: &str, secs: u64) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let v = seen.lock().unwrap().clone();
        if let Some(e) =
            v.iter().filter_map(|(_, b)| serde_json::from_str::<serde_json::Value>(b).ok()).find(|e| e["type"] == kind)
        {
            return e;
        }
        assert!(t0.elapsed() < Duration::from_secs(secs), "no {kind} event in {} requests", v.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
