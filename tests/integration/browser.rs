//! A headless chromium driven over the DevTools protocol, for tests that use a page as a
//! person does (hover, click) and check what it shows, not only how it looks.
//!
//! The protocol runs on a pipe (`--remote-debugging-pipe`: JSON messages, each ending in a
//! NUL byte, read from fd 3 and written to fd 4). Two FIFOs and `sh` give chromium those
//! descriptors, so the tests need neither a websocket client nor `pre_exec`. Every exchange
//! is async (the app under test serves the page on the same runtime) and has a deadline.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

/// How long one protocol exchange may take.
const EXCHANGE: Duration = Duration::from_secs(30);

/// `chromium` (Debian) or `chromium-browser`, if either runs.
pub fn find_chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok()
    })
}

pub struct Browser {
    child: tokio::process::Child,
    to: pipe::Sender,
    from: pipe::Receiver,
    buf: Vec<u8>,
    next_id: u64,
    /// The attached page's session.
    session: String,
    /// Script exceptions, console errors and browser log errors (CSP refusals among them).
    pub problems: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromium` with one blank page of `width` × `height` CSS pixels.
    pub async fn launch(chromium: &str, width: u32, height: u32) -> Browser {
        let dir = tempfile::tempdir().expect("dir");
        let (to_path, from_path) = (dir.path().join("to"), dir.path().join("from"));
        for p in [&to_path, &from_path] {
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .expect("mkfifo");
            assert!(made.success(), "mkfifo {}", p.display());
        }
        // Opened read-write, neither end waits for chromium nor sees an early end of file.
        let from = pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&from_path)
            .expect("open the pipe from chromium");
        let to = pipe::OpenOptions::new()
            .read_write(true)
            .open_sender(&to_path)
            .expect("open the pipe to chromium");
        let script = format!(
            "exec \"$0\" --headless --no-sandbox --disable-gpu --hide-scrollbars \
             --disable-background-networking --disable-component-update --disable-sync \
             --user-data-dir='{profile}' --remote-debugging-pipe about:blank 3<'{to}' 4>'{from}'",
            profile = dir.path().join("profile").display(),
            to = to_path.display(),
            from = from_path.display(),
        );
        let child = tokio::process::Command::new("sh")
            .args(["-c", &script, chromium])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let mut b = Browser {
            child,
            to,
            from,
            buf: Vec::new(),
            next_id: 1,
            session: String::new(),
            problems: Vec::new(),
            _dir: dir,
        };
        let targets = b.send(None, "Target.getTargets", json!({})).await;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["targetId"].as_str())
            .expect("a page target")
            .to_string();
        let attached = b
            .send(
                None,
                "Target.attachToTarget",
                json!({"targetId": page, "flatten": true}),
            )
            .await;
        b.session = attached["sessionId"].as_str().expect("session").to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            b.page(domain, json!({})).await;
        }
        b.page(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        b
    }

    /// Sends one command and waits for its answer, noting the events that come before it.
    async fn send(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        let answer = tokio::time::timeout(EXCHANGE, async {
            self.to.write_all(&bytes).await.expect("write to chromium");
            loop {
                while let Some(end) = self.buf.iter().position(|b| *b == 0) {
                    let m: Value = serde_json::from_slice(&self.buf[..end]).expect("a message");
                    self.buf.drain(..=end);
                    if m["id"] == id {
                        return m;
                    }
                    self.note(&m);
                }
                let mut chunk = vec![0u8; 65536];
                let n = self
                    .from
                    .read(&mut chunk)
                    .await
                    .expect("read from chromium");
                assert!(n > 0, "chromium closed the pipe");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("chromium did not answer {method} within {EXCHANGE:?}"));
        if let Some(e) = answer.get("error") {
            panic!("{method} failed: {e}");
        }
        answer["result"].clone()
    }

    fn note(&mut self, event: &Value) {
        let p = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.problems.push(format!(
                "exception: {}",
                p["exceptionDetails"]["exception"]["description"]
            )),
            Some("Runtime.consoleAPICalled") if p["type"] == "error" => {
                self.problems.push(format!("console error: {}", p["args"]))
            }
            Some("Log.entryAdded") if p["entry"]["level"] == "error" => {
                self.problems.push(format!("log: {}", p["entry"]["text"]))
            }
            _ => {}
        }
    }

    /// A command to the page.
    async fn page(&mut self, method: &str, params: Value) -> Value {
        let session = Some(self.session.clone());
        self.send(session, method, params).await
    }

    /// Turns the page's JavaScript off, as in a browser without it (the protocol's own
    /// `eval` still works).
    pub async fn disable_scripts(&mut self) {
        self.page(
            "Emulation.setScriptExecutionDisabled",
            json!({"value": true}),
        )
        .await;
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&mut self, url: &str) {
        let r = self.page("Page.navigate", json!({"url": url})).await;
        assert!(r.get("errorText").is_none(), "{url}: {r}");
        self.wait_for("document.readyState === 'complete'").await;
    }

    /// The value of a JavaScript expression in the page (a promise is awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .page(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits (up to 30 s) until `condition` is true in the page.
    pub async fn wait_for(&mut self, condition: &str) {
        let started = std::time::Instant::now();
        while self.eval(&format!("!!({condition})")).await != json!(true) {
            assert!(
                started.elapsed() < EXCHANGE,
                "never true in the page: {condition}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The centre of the first element matching `selector`, in page pixels.
    pub async fn centre(&mut self, selector: &str) -> (f64, f64) {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            s = json!(selector)
        );
        let v = self.eval(&js).await;
        match (v[0].as_f64(), v[1].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => panic!("nothing in the page matches {selector}"),
        }
    }

    /// Moves the mouse to the centre of `selector`, as a person hovering it.
    pub async fn hover(&mut self, selector: &str) {
        let (x, y) = self.centre(selector).await;
        self.mouse("mouseMoved", x, y).await;
    }

    /// Clicks the centre of `selector` with the mouse.
    pub async fn click(&mut self, selector: &str) {
        let (x, y) = self.centre(selector).await;
        self.mouse("mouseMoved", x, y).await;
        self.mouse("mousePressed", x, y).await;
        self.mouse("mouseReleased", x, y).await;
    }

    async fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        let mut params = json!({"type": kind, "x": x, "y": y});
        if kind != "mouseMoved" {
            params["button"] = json!("left");
            params["clickCount"] = json!(1);
        }
        self.page("Input.dispatchMouseEvent", params).await;
    }

    /// A PNG of the viewport, written to `path` and returned.
    pub async fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        let r = self
            .page("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("data"))
            .expect("base64");
        std::fs::write(path, &png).expect("write the screenshot");
        png
    }

    /// Closes chromium and waits for it to exit.
    pub async fn close(mut self) {
        // Chromium may exit before it answers: the command is sent, not waited on.
        let msg = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to.write_all(&bytes).await.expect("write to chromium");
        let exited = tokio::time::timeout(EXCHANGE, self.child.wait()).await;
        assert!(exited.is_ok(), "chromium did not exit");
    }
}
