//! A real `flowcfd serve` on a loopback port, for the appliance tests.
#![allow(dead_code)]

use flowcfd::config::{Config, Overrides};
use flowcfd::server::Running;
use serde_json::{json, Value};

pub struct TestServer {
    pub url: String,
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// A strong password for test accounts.
pub const PW: &str = "vortex-shedding-42";

impl TestServer {
    /// Starts a server on port 0 against `database_url`; `tweak` adjusts the configuration.
    pub async fn start(database_url: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let over = Overrides {
            bind: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            database_url: Some(database_url.to_string()),
            config_file: Some(dir.path().join("none.toml")).filter(|p| p.exists()),
        };
        let mut cfg = Config::load_from(&over, Vec::<(String, String)>::new()).unwrap();
        cfg.jobs.flowcfd_bin = Some(env!("CARGO_BIN_EXE_flowcfd").into());
        tweak(&mut cfg);
        let running = flowcfd::server::start(cfg).await.expect("server starts");
        let url = format!("http://{}", running.addr);
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestServer { url, running: Some(running), dir, http }
    }

    pub fn u(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Registers and signs in; returns the access token.
    pub async fn user(&self, email: &str) -> String {
        sign_up(&self.http, &self.url, email).await
    }

    /// Signs a registered user in through the sign-in form; returns the `cookie` header
    /// value of the browser session.
    pub async fn session(&self, email: &str) -> String {
        let r = self.http.get(self.u("/login")).send().await.unwrap();
        let pre = cookie_of(&r, "flowcfd_pre").expect("pre-session cookie");
        let r = self
            .http
            .post(self.u("/login"))
            .header("cookie", format!("flowcfd_pre={pre}"))
            .form(&[("csrf", pre.as_str()), ("email", email), ("password", PW)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "sign-in form for {email}");
        format!("flowcfd_session={}", cookie_of(&r, "flowcfd_session").expect("session cookie"))
    }

    /// A page with a session cookie: (status, HTML).
    pub async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let r = self.http.get(self.u(path)).header("cookie", cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn login(&self, email: &str) -> Value {
        let r = self
            .http
            .post(self.u("/api/auth/login"))
            .json(&json!({"email": email, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A request with a bearer token; returns (status, JSON body or Null).
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, self.u(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads a file to a project; returns (status, body).
    pub async fn upload(&self, token: &str, project: &str, name: &str, data: Vec<u8>) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(data).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let r = self
            .http
            .post(self.u(&format!("/api/projects/{project}/geometries")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Polls a geometry until it leaves pending/processing (at most 60 s).
    pub async fn settle(&self, token: &str, id: &str) -> Value {
        for _ in 0..600 {
            let (s, g) = self.call("GET", &format!("/api/geometries/{id}"), token, None).await;
            assert_eq!(s, 200, "{g}");
            if g["status"] != "pending" && g["status"] != "processing" {
                return g;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("geometry {id} did not finish processing in 60 s");
    }

    /// A project with the cube example uploaded (and ready) and one external-aero case of
    /// `cells` and `iterations`: (project id, geometry id, case id).
    pub async fn cube_case(&self, token: &str, cells: u64, iterations: u32) -> (String, String, String) {
        let (_, p) = self.call("POST", "/api/projects", token, Some(json!({"name": "cube"}))).await;
        let pid = p["id"].as_str().unwrap().to_string();
        let stl = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cube.stl")).unwrap();
        let (_, g) = self.upload(token, &pid, "cube.stl", stl).await;
        let gid = g["id"].as_str().unwrap().to_string();
        assert_eq!(self.settle(token, &gid).await["status"], "ready");
        let body = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                          "mesh": {"target_cells": cells}, "solver": {"iterations": iterations}});
        let (st, c) = self.call("POST", &format!("/api/projects/{pid}/cases"), token, Some(body)).await;
        assert_eq!(st, 201, "{c}");
        let cid = c["id"].as_str().unwrap().to_string();
        (pid, gid, cid)
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
    }
}

/// The value of cookie `name` set by a response.
pub fn cookie_of(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (kv, _) = c.split_once(';').unwrap_or((c, ""));
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// Registers `email` (password [`PW`]) on the server at `url` and signs in; returns the
/// access token. For tests that run `flowcfd serve` as a child process.
pub async fn sign_up(http: &reqwest::Client, url: &str, email: &str) -> String {
    let name = email.split('@').next().unwrap();
    let r = http
        .post(format!("{url}/api/auth/register"))
        .json(&json!({"email": email, "password": PW, "name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "register {email}: {}", r.text().await.unwrap());
    let r =
        http.post(format!("{url}/api/auth/login")).json(&json!({"email": email, "password": PW})).send().await.unwrap();
    assert_eq!(r.status(), 200, "sign in {email}");
    let login: Value = r.json().await.unwrap();
    login["token"].as_str().unwrap().to_string()
}
