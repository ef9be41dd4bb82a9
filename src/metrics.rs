//! Prometheus metrics: requests by route and status, request durations as a histogram,
//! jobs by state (from the database, so every replica reports the same), PDF reports made
//! and served from the cache. `server` serves them at `/metrics`.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Histogram bucket upper bounds, milliseconds.
const BUCKETS_MS: [f64; 10] = [1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_ms: f64,
    buckets: [u64; BUCKETS_MS.len()],
}

/// Request counters, kept in memory per process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Series>>,
    reports_built: AtomicU64,
    report_cache_hits: AtomicU64,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, ms: f64) {
        *self.requests.lock().expect("metrics").entry((method.into(), route.into(), status)).or_default() += 1;
        let mut d = self.durations.lock().expect("metrics");
        let s = d.entry(route.to_string()).or_default();
        s.count += 1;
        s.sum_ms += ms;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// Counts a PDF report: made now (`built`), or served from the object store.
    pub fn report(&self, built: bool) {
        let c = if built { &self.reports_built } else { &self.report_cache_hits };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str("# HELP flowcfd_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE flowcfd_http_requests_total counter\n");
        for ((m, r, s), n) in self.requests.lock().expect("metrics").iter() {
            let _ =
                writeln!(out, "flowcfd_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}", esc(r));
        }
        out.push_str("# HELP flowcfd_http_request_duration_seconds HTTP request durations by route.\n");
        out.push_str("# TYPE flowcfd_http_request_duration_seconds histogram\n");
        for (r, s) in self.durations.lock().expect("metrics").iter() {
            let r = esc(r);
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "flowcfd_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{}\"}} {}",
                    b / 1000.0,
                    s.buckets[i]
                );
            }
            let _ =
                writeln!(out, "flowcfd_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "flowcfd_http_request_duration_seconds_sum{{route=\"{r}\"}} {}", s.sum_ms / 1000.0);
            let _ = writeln!(out, "flowcfd_http_request_duration_seconds_count{{route=\"{r}\"}} {}", s.count);
        }
        out.push_str("# HELP flowcfd_jobs Simulation jobs by state.\n# TYPE flowcfd_jobs gauge\n");
        for state in ["queued", "preparing", "meshing", "solving", "completed", "failed", "cancelled"] {
            let n = jobs.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "flowcfd_jobs{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP flowcfd_reports_built_total PDF reports made by this process.\n");
        out.push_str("# TYPE flowcfd_reports_built_total counter\n");
        let _ = writeln!(out, "flowcfd_reports_built_total {}", self.reports_built.load(Ordering::Relaxed));
        out.push_str("# HELP flowcfd_report_cache_hits_total PDF reports served from the object store.\n");
        out.push_str("# TYPE flowcfd_report_cache_hits_total counter\n");
        let _ = writeln!(out, "flowcfd_report_cache_hits_total {}", self.report_cache_hits.load(Ordering::Relaxed));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_job_states() {
        let m = Metrics::default();
        m.observe("GET", "/api/projects", 200, 3.0);
        m.observe("GET", "/api/projects", 200, 30.0);
        m.observe("POST", "/api/auth/login", 401, 80.0);
        m.report(true);
        m.report(false);
        m.report(false);
        let t = m.render(&[("queued".into(), 2)]);
        assert!(
            t.contains("flowcfd_http_requests_total{method=\"GET\",route=\"/api/projects\",status=\"200\"} 2"),
            "{t}"
        );
        assert!(
            t.contains("flowcfd_http_request_duration_seconds_bucket{route=\"/api/projects\",le=\"0.005\"} 1"),
            "{t}"
        );
        assert!(t.contains("flowcfd_http_request_duration_seconds_count{route=\"/api/projects\"} 2"), "{t}");
        assert!(
            t.contains("flowcfd_jobs{state=\"queued\"} 2") && t.contains("flowcfd_jobs{state=\"failed\"} 0"),
            "{t}"
        );
        assert!(
            t.contains("flowcfd_reports_built_total 1\n") && t.contains("flowcfd_report_cache_hits_total 2\n"),
            "{t}"
        );
    }
}
